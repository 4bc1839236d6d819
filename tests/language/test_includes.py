"""``include:`` through ``outflow --lint`` and ``--list``: what an included
file brings in, prefixes, and every problem located in the file it is in
(file:line:col, the line and a caret)."""

from __future__ import annotations

from pathlib import Path

from outflowtest import make_project, outflow

MAKE = """\
task make(n: int = 3) -> (n2: int):
    run:
        return n * 2
"""

SHOW = """\
task show(n2: int):
    run:
        print(n2)

workflow pipeline: make | show
"""


def lint_error(project: Path) -> str:
    done = outflow(project, "--lint", check=2)
    assert done.stdout == ""
    return done.stderr


def test_included_tasks_and_workflows_join_the_model(tmp_path: Path) -> None:
    p = make_project(
        tmp_path / "p",
        'include: "rules/make.of"\n\nworkflow all: pipeline\n',
        {"rules/make.of": 'include: "show.of"\n\n' + MAKE, "rules/show.of": SHOW},
    )
    outflow(p, "--lint")
    listed = outflow(p, "--list").stdout
    assert listed.splitlines()[:4] == [
        "Workflows:",
        "  all  (default)",
        "  pipeline  (from rules/show.of)",
        "",
    ]
    assert "  make(n: int) -> (n2: int)  (from rules/make.of)" in listed
    assert "  show(n2: int)  (from rules/show.of)" in listed


def test_a_prefix_names_tasks_and_workflows_and_their_stages(tmp_path: Path) -> None:
    p = make_project(
        tmp_path / "p",
        'include: "rules/make.of" as one\n'
        'include: "rules/make.of" as two\n\n'
        "workflow all: (one_pipeline, two_pipeline)\n",
        {"rules/make.of": MAKE + "\n" + SHOW},
    )
    outflow(p, "--lint")
    listed = outflow(p, "--list").stdout.splitlines()
    tasks = listed[listed.index("Tasks:") + 1 :]
    assert tasks == [
        "  one_make(n: int) -> (n2: int)  (from rules/make.of)",
        "  one_show(n2: int)  (from rules/make.of)",
        "  two_make(n: int) -> (n2: int)  (from rules/make.of)",
        "  two_show(n2: int)  (from rules/make.of)",
    ]
    # The unprefixed names are not defined.
    (p / "Outflowfile").write_text('include: "rules/make.of" as one\n\nworkflow all: pipeline\n')
    assert "unknown" in lint_error(p)


def test_syntax_error_in_an_included_file_is_located_there(tmp_path: Path) -> None:
    p = make_project(
        tmp_path / "p",
        'include: "rules/a.of"\n\ntask t():\n    shell: "true"\n',
        {"rules/a.of": 'include: "b.of"\n', "rules/b.of": "task broken(:\n    shell: 'x'\n"},
    )
    assert lint_error(p) == (
        f"{p}/rules/b.of:1:13: expected a name in the parameter list, found ':'\n"
        "    task broken(:\n"
        "                ^\n"
    )


def test_check_error_in_an_included_file_is_located_there(tmp_path: Path) -> None:
    p = make_project(
        tmp_path / "p",
        'include: "rules/a.of" as a\n\nworkflow all: a_w\n',
        {"rules/a.of": "task t(x: int = 1) -> (y: int):\n    run:\n        return x\n\n"
                       "workflow w:\n    t | tt\n"},
    )
    assert lint_error(p) == (
        f"{p}/rules/a.of:6:9: unknown task or workflow 'tt'\n"
        "        t | tt\n"
        "            ^\n"
        "  tasks: a_t; workflows: a_w, all\n"
    )


def test_a_file_that_includes_itself_is_a_cycle(tmp_path: Path) -> None:
    p = make_project(
        tmp_path / "p",
        'include: "rules/a.of"\n\ntask t():\n    shell: "true"\n',
        {"rules/a.of": 'include: "sub/b.of"\n',
         "rules/sub/b.of": '\ninclude:  "../../Outflowfile"\n'},
    )
    assert lint_error(p) == (
        f"{p}/rules/sub/b.of:2:11: include cycle: {p}/Outflowfile -> {p}/rules/a.of -> "
        f"{p}/rules/sub/b.of -> {p}/Outflowfile\n"
        '    include:  "../../Outflowfile"\n'
        "              ^\n"
        "  a file cannot include itself, directly or through the files it includes\n"
    )


def test_a_missing_included_file_is_located_at_the_include_line(tmp_path: Path) -> None:
    p = make_project(
        tmp_path / "p",
        'task t():\n    shell: "true"\n\ninclude: "rules/a.of"\n',
        {"rules/a.of": '# rules\ninclude: "align.of"\n'},
    )
    assert lint_error(p) == (
        f"{p}/rules/a.of:2:10: included file {p}/rules/align.of does not exist\n"
        '    include: "align.of"\n'
        "             ^\n"
        "  an include path is relative to the file that includes it\n"
    )


def test_a_name_defined_in_two_files_names_both_places(tmp_path: Path) -> None:
    p = make_project(
        tmp_path / "p",
        'include: "rules/a.of"\n\ntask make():\n    shell: "true"\n',
        {"rules/a.of": "\n\n" + MAKE},
    )
    assert lint_error(p) == (
        f"{p}/rules/a.of:3:6: task 'make' is defined twice\n"
        "    task make(n: int = 3) -> (n2: int):\n"
        "         ^\n"
        f"  first defined at {p}/Outflowfile:3\n"
    )


def test_a_file_included_twice_under_one_prefix_is_read_once(tmp_path: Path) -> None:
    """Two files that include a common one (a diamond) bring it in once."""
    p = make_project(
        tmp_path / "p",
        'include: "rules/a.of"\ninclude: "rules/b.of"\n\nworkflow all: pipeline\n',
        {"rules/a.of": 'include: "common.of"\n', "rules/b.of": 'include: "common.of"\n',
         "rules/common.of": MAKE + "\n" + SHOW},
    )
    outflow(p, "--lint")


def test_bad_include_lines_are_located(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", 'include: rules/a.of\n\ntask t():\n    shell: "true"\n')
    assert lint_error(p) == (
        f"{p}/Outflowfile:1:10: expected the included file's path (a string) in the include "
        "line, found 'rules'\n"
        "    include: rules/a.of\n"
        "             ^\n"
        '  an include line is include: "path/to/file.of", or with a prefix: '
        'include: "path/to/file.of" as name\n'
    )
    (p / "Outflowfile").write_text('include: ""\n')
    assert lint_error(p).startswith(
        f"{p}/Outflowfile:1:10: include: expects the path of a file, as a non-empty text string\n"
    )


def test_an_output_naming_an_included_file_is_refused(tmp_path: Path) -> None:
    rules = 'task clobber():\n    output: o = "rules/a.of"\n    shell: "echo > {output.o}"\n'
    p = make_project(tmp_path / "p", 'include: "rules/a.of"\n', {"rules/a.of": rules})
    err = lint_error(p)
    assert err.startswith(
        f"{p}/rules/a.of:2:13: output pattern 'rules/a.of' of task 'clobber' names "
        "a file the Outflowfile includes, which no job may write\n"
    ), err
    assert (p / "rules/a.of").read_text() == rules


def test_the_example_of_the_docs_runs(tmp_path: Path) -> None:
    """docs/language.md shows a two-file example as ```text blocks (the docs
    test lints single files): it is checked and run here."""
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text()
    found = re.search(
        r"```text\n# Outflowfile\n(.*?)```\n\n```text\n# rules/words.of\n(.*?)```", docs, re.S
    )
    assert found is not None
    p = make_project(
        tmp_path / "p",
        found.group(1),
        {"rules/words.of": found.group(2), "one.txt": "a b c\n", "two.txt": "d e\n"},
    )
    outflow(p, "--lint")
    done = outflow(p)
    assert "one.txt.words 3" in done.stdout and "two.txt.words 2" in done.stdout
