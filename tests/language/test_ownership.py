"""What a job may own (issue 16): the rule over paths, and the located
errors for what the output patterns alone prove (the mistaken Outflowfiles
of ``tests/language/owned/``, see ``tests/ownedcorpus.py``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ownedcorpus import corpus, install

from outflowfile.errors import UserError
from outflowfile.language import loader, ownership
from outflowfile.language.outputcheck import shape
from outflowfile.language.ownership import Project, Refusal, never_owned

# -- the rule over paths --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "norm"),
    [
        ("", "."),
        (".", "."),
        ("./", "."),
        ("a//b/", "a/b"),
        ("./a/./b", "a/b"),
        ("a/../b", "b"),
        ("a/..", "."),
        ("../x", "../x"),
        ("//abs//x/", "/abs/x"),
        ("///", "/"),
    ],
)
def test_normalize(path: str, norm: str) -> None:
    assert ownership.normalize(path) == norm


def test_same_inside_contains() -> None:
    assert ownership.same("./out/", "out")
    assert ownership.same("", ".")
    assert ownership.is_inside("out/a.txt", "out/")
    assert ownership.is_inside("out/a.txt", ".")
    assert not ownership.is_inside("out", "out")
    assert not ownership.is_inside("outer/a", "out")
    assert not ownership.is_inside("../x", ".")
    assert ownership.contains("raw", "./raw/data.txt")
    assert ownership.is_inside("/p/q", "/")
    assert ownership.overlap("a", "a/b") and ownership.overlap("a/b", "a")
    assert not ownership.overlap("a/b", "a/c")


def test_relative_to_the_project() -> None:
    assert ownership.relative_to("/p/q/out.txt", "/p/q") == "out.txt"
    assert ownership.relative_to("/p/q/", "/p/q") == "."
    assert ownership.relative_to("/p", "/p/q") == "/p"
    assert ownership.relative_to("./x", "/p/q") == "x"


@pytest.mark.parametrize(
    ("path", "refusal"),
    [
        (".", Refusal.PROJECT),
        ("", Refusal.PROJECT),
        ("./", Refusal.PROJECT),
        ("out/..", Refusal.PROJECT),
        ("/proj/", Refusal.PROJECT),
        ("/proj/sub/..", Refusal.PROJECT),
        ("..", Refusal.ABOVE_PROJECT),
        ("../..", Refusal.ABOVE_PROJECT),
        ("/", Refusal.ABOVE_PROJECT),
        ("//", Refusal.ABOVE_PROJECT),
        ("../other/x", Refusal.OUTSIDE),
        (".outflow", Refusal.OUTFLOW_DIR),
        ("./.outflow/", Refusal.OUTFLOW_DIR),
        (".outflow/cache.db", Refusal.IN_OUTFLOW_DIR),
        ("/proj/.outflow/x", Refusal.IN_OUTFLOW_DIR),
        ("Outflowfile", Refusal.OUTFLOWFILE),
        ("./outflowfile", Refusal.OUTFLOWFILE),
        ("/proj/Outflowfile", Refusal.OUTFLOWFILE),
        # casefolded: on a case-insensitive filesystem these are the same files
        ("OUTFLOWFILE", Refusal.OUTFLOWFILE),
        ("./OutFlowFile", Refusal.OUTFLOWFILE),
        ("/proj/OUTFLOWFILE", Refusal.OUTFLOWFILE),
        (".OUTFLOW", Refusal.OUTFLOW_DIR),
        ("./.Outflow/outflow.db", Refusal.IN_OUTFLOW_DIR),
        ("sub/OUTFLOWFILE", None),
        ("out/x.txt", None),
        ("out", None),
        (".outflowx", None),
        ("sub/Outflowfile", None),
        ("/elsewhere/x.txt", None),
        ("/projector", None),
    ],
)
def test_never_owned(path: str, refusal: Refusal | None) -> None:
    assert never_owned(path, Project("/proj")) is refusal


def test_never_owned_without_a_project_directory() -> None:
    # Unknown project: an absolute path is taken as written on purpose.
    assert never_owned("/proj", Project()) is None
    assert never_owned(".", Project()) is Refusal.PROJECT


def test_symlinked_parents_are_resolved(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "real").mkdir(parents=True)
    (tmp_path / "link").symlink_to(project)
    (project / "up").symlink_to(tmp_path)
    root = str(project)
    assert ownership.resolve_parents(str(tmp_path / "link" / "out.txt"), root) == "out.txt"
    assert ownership.resolve_parents(str(tmp_path / "link"), root, whole=True) == "."
    assert ownership.resolve_parents("up/x", root) == str(tmp_path / "x")
    assert ownership.resolve_parents("real/x", root) == "real/x"
    # The last part is not resolved: the path itself is what a job replaces.
    assert ownership.resolve_parents(str(tmp_path / "link"), root) == str(tmp_path / "link")


def test_pattern_shapes() -> None:
    s = shape("./out//{x}.txt", None)
    assert s is not None and len(s.parts) == 2 and s.fixed == 1
    assert s.path == "out" and not s.exact
    t = shape("out/", None)
    assert t is not None and t.exact and t.contains(s)
    assert shape("out/{x}/../y", None) is None  # where it lands depends on x
    assert shape("{x:>3}.txt", None) == shape("./{x:>3}.txt", None)
    assert shape("", None) == shape(".", None)
    literal = shape("{{x}}.txt", None)
    assert literal is not None and literal.exact and literal.parts == ("{x}.txt",)
    assert shape("a{{b}}{c}", None) != shape("a{b}{c}", None)


# -- located errors: the mistaken Outflowfiles ------------------------------------------------


def test_corpus_is_there() -> None:
    assert len(corpus()) >= 25


@pytest.mark.parametrize("source", corpus(), ids=lambda p: p.stem)
def test_mistaken_outflowfile(source: Path, tmp_path: Path) -> None:
    path, line, column, message = install(source, tmp_path / "proj")
    with pytest.raises(UserError) as info:
        loader.load(path)
    error = info.value
    problem = error.problems[0]
    rendered = error.render()
    assert problem.message == message, rendered
    assert problem.loc is not None and (problem.loc.line, problem.loc.column) == (line, column)
    shown = rendered.splitlines()
    source_line = path.read_text(encoding="utf-8").splitlines()[line - 1]
    assert shown[0] == f"{path}:{line}:{column}: {message}"
    assert shown[1] == "    " + source_line
    assert shown[2] == "    " + " " * (column - 1) + "^"
    assert len(error.problems) == 1, rendered


# -- what the patterns do not prove is not reported ----------------------------------------------

CLEAN = {
    "different extensions": """
        task a(x: str = "1"):
            output: o = "out/{x}.txt"
            shell: "echo > {output.o}"
        task b(y: str = "2"):
            output: p = "out/{y}.tsv"
            shell: "echo > {output.p}"
        workflow all:
            (a, b)
    """,
    "fields of two tasks": """
        task a(x: str = "1"):
            output: o = "a/{x}"
            shell: "echo > {output.o}"
        task b(x: str = "2"):
            output: p = "a/{x}/b"
            shell: "echo > {output.p}"
        workflow all:
            (a, b)
    """,
    "output beside its input, in its input's directory": """
        task a():
            input: i = "raw"
            output: o = "raw/summary.txt"
            shell: "ls {input.i} > {output.o}"
        workflow all:
            a
    """,
    "a file inside the task's own output directory": """
        task a():
            output: d = "out", log = "out/log.txt"
            shell: "mkdir -p {output.d}; echo > {output.log}"
        workflow all:
            a
    """,
    "names near the refused ones": """
        task a(x: str = "1"):
            output: o = "outflow/x", p = ".outflowx", q = "sub/Outflowfile", r = "{x}.txt"
            shell: "echo"
        workflow all:
            a
    """,
    "an absolute path outside the project": """
        task a():
            output: o = "/nonexistent-outflow-test/out.txt"
            shell: "echo"
        workflow all:
            a
    """,
    "mapped tasks using the item, and what was made from it": """
        config:
            xs: list[str] = ["p", "q"]
            ys: list[str] = ["1", "2"]
        task a(x: str):
            output: o = "a/{x}.txt"
            shell: "echo {x} > {output.o}"
        task b(o: str):
            output: p = "{o}.b"
            shell: "cat {o} > {output.p}"
        task c(x: str, y: str):
            output: o = "c/{x}/{y}.txt"
            shell: "echo > {output.o}"
        task total(p: list):
            output: t = "total.txt"
            shell: "cat {p} > {output.t}"
        workflow all:
            map(xs -> x) { a | b } | total
        workflow grid:
            map(xs -> x) { map(ys -> y) { c } }
    """,
    "a task outside the map writes one file": """
        config:
            xs: list[str] = ["p", "q"]
        task a(x: str):
            output: o = "a/{x}.txt"
            shell: "echo {x} > {output.o}"
        task total(o: list):
            output: t = "total.txt"
            shell: "cat {o} > {output.t}"
        workflow all:
            map(xs -> x) { a } | total
    """,
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_clean_outflowfile(name: str, tmp_path: Path) -> None:
    path = tmp_path / "Outflowfile"
    path.write_text(textwrap.dedent(CLEAN[name]).lstrip("\n"))
    loader.load(path)


def test_relative_escape_keeps_its_message(tmp_path: Path) -> None:
    path = tmp_path / "Outflowfile"
    path.write_text(
        'task a(n: str = "x"):\n'
        '    output: o = "out/{n}/../../../y.txt", p = "../y/{n}"\n'
        '    shell: "echo"\n'
    )
    with pytest.raises(UserError) as info:
        loader.load(path)
    messages = [p.message for p in info.value.problems]
    assert messages == [
        "output pattern 'out/{n}/../../../y.txt' of task 'a' writes outside the project directory",
        "output pattern '../y/{n}' of task 'a' writes outside the project directory",
    ]


def test_absolute_path_through_a_symlink_to_the_project(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (tmp_path / "link").symlink_to(project)
    path = project / "Outflowfile"
    path.write_text(f'task a():\n    output: o = "{tmp_path}/link/.outflow"\n    shell: "echo"\n')
    with pytest.raises(UserError) as info:
        loader.load(path)
    assert info.value.problems[0].message == (
        f"output pattern '{tmp_path}/link/.outflow' of task 'a' names outflow's own "
        "directory .outflow/, which no job may write"
    )


def test_a_map_that_cannot_bind_its_item_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "Outflowfile"
    path.write_text(
        "config:\n    xs: list[int] = [1, 2]\n"
        'task square(n: int):\n    output: o = "one.txt"\n    shell: "echo {n} > {output.o}"\n'
        "workflow all:\n    map(xs -> x) { square }\n"
    )
    with pytest.raises(UserError) as info:
        loader.load(path)
    assert [p.message for p in info.value.problems] == [
        "map target 'x' is not an input of 'square' (its inputs: n)"
    ]
