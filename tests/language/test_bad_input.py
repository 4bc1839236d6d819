"""Careless and hostile Outflowfiles (and the files they include or call),
each with the whole error the language stage gives: ``file:line:col``, the
line as shown, the caret under the spot, the hint. ``{p}`` stands for the
project directory. The cases here are those no issue listed: bytes and
characters editors put in files, deep nesting, code that is not there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from outflowfile.errors import UserError
from outflowfile.language import loader

TASK = 'task hello() -> (greeting: str):\n    run:\n        return "hello"\n'
WORKFLOW = "workflow all:\n    hello\n"


@dataclass(frozen=True)
class Case:
    id: str
    outflowfile: str | bytes
    expected: str
    files: dict[str, str] = field(default_factory=dict)


def _nested_workflows(n: int) -> str:
    chain = "".join(f"workflow w{i}:\n    w{i + 1}\n" for i in range(n))
    return TASK + chain + f"workflow w{n}:\n    hello\n"


def _nested_maps(n: int) -> str:
    body = "map(xs -> x) { " * n + "a" + " }" * n
    task = "task a(x=1) -> x:\n    run:\n        return x\n"
    return f"config:\n    xs = [1]\n{task}workflow all:\n    {body}\n"


CASES = [
    Case("utf8_bom_is_no_part_of_the_text", "\ufeff" + TASK + WORKFLOW, "ok"),
    Case("crlf_line_ends", (TASK + WORKFLOW).replace("\n", "\r\n").encode(), "ok"),
    Case(
        "latin1_byte_at_its_line_and_column",
        (TASK + "# caf\xe9\n" + WORKFLOW).encode("latin-1"),
        "{p}/Outflowfile:4:6: Outflowfile is not UTF-8 text: byte 0xe9 here cannot be read\n"
        "    # caf\ufffd\n"
        "         ^\n"
        "  save the file as UTF-8 (an editor's 'encoding' setting; iconv -f latin1 -t utf-8)",
    ),
    Case(
        "included_file_not_utf8",
        'include: "rules.of"\n' + TASK + WORKFLOW,
        "{p}/rules.of:2:7: rules.of is not UTF-8 text: byte 0xff here cannot be read\n"
        "    #  ok \ufffd\n"
        "          ^\n"
        "  save the file as UTF-8 (an editor's 'encoding' setting; iconv -f latin1 -t utf-8)",
        files={"rules.of": "# x\n#  ok \udcff\n"},
    ),
    Case(
        "tab_and_spaces_on_the_first_indented_line",
        "task a():\n \tcpus: 1\n \tshell: \"true\"\nworkflow all:\n    a\n",
        "{p}/Outflowfile:2:2: inconsistent indentation: this line is indented with tabs, "
        "but an earlier part of it is indented with spaces\n"
        "      cpus: 1\n"
        "     ^\n"
        "  indent every line with spaces (or every line with tabs)",
    ),
    Case(
        "caret_after_wide_characters",
        'task a():\n    shell: "日本語" x\nworkflow all:\n    a\n',
        "{p}/Outflowfile:2:18: expected the end of the line after the value of 'shell:', "
        "found 'x'\n"
        '        shell: "日本語" x\n'
        "    " + " " * 20 + "^",  # 12 narrow characters, 3 of two cells, '"' and ' '
    ),
    Case(
        "long_line_cut_around_the_caret",
        "config:\n    x = [" + "1, " * 200 + "1 2]\n" + TASK + WORKFLOW,
        "{p}/Outflowfile:2:612: expected ',' or ']' in the list, found '2'\n"
        "    ..." + "1, " * 16 + "1 2]\n"
        "    " + " " * (3 + 16 * 3 + 2) + "^",
    ),
    Case(
        "no_break_space_as_indentation",
        "task a():\n\u00a0\u00a0\u00a0\u00a0run:\n        pass\nworkflow all:\n    a\n",
        "{p}/Outflowfile:2:1: unexpected character U+00A0\n"
        "    \u00a0\u00a0\u00a0\u00a0run:\n"
        "    ^\n"
        "  a space outflow does not read as one: write an ordinary space (or a tab)",
    ),
    Case(
        "non_ascii_letter_in_a_name",
        "task héllo():\n    run:\n        pass\nworkflow all:\n    héllo\n",
        "{p}/Outflowfile:1:7: unexpected 'é'\n"
        "    task héllo():\n"
        "          ^\n"
        "  names are written in ASCII letters, digits and _ (a text in quotes may hold any)",
    ),
    Case(
        "form_feed_shown_as_a_question_mark",
        TASK + "\x0c" + WORKFLOW,
        "{p}/Outflowfile:4:1: unexpected character U+000C\n"
        "    ?workflow all:\n"
        "    ^\n"
        "  a space outflow does not read as one: write an ordinary space (or a tab)",
    ),
    Case(
        "whole_number_of_5000_digits",
        "config:\n    x = " + "9" * 5000 + "\n" + TASK + WORKFLOW,
        "{p}/Outflowfile:2:9: number too long: 5000 digits\n"
        "        x = " + "9" * 92 + "...\n"  # the first 100 characters of the line
        "            ^\n"
        "  a whole number is read from at most 4300 digits",
    ),
    Case(
        "workflows_3000_deep",
        _nested_workflows(3000),
        "{p}/Outflowfile:1:1: the Outflowfile nests too deeply to check: workflows or maps "
        "within one another, hundreds of levels down\n"
        "    task hello() -> (greeting: str):\n"
        "    ^\n"
        "  use fewer levels of workflows and maps",
    ),
    Case(
        "maps_400_deep",
        _nested_maps(400),
        "{p}/Outflowfile:1:1: the Outflowfile nests too deeply to check: workflows or maps "
        "within one another, hundreds of levels down\n"
        "    config:\n"
        "    ^\n"
        "  use fewer levels of workflows and maps",
    ),
    Case(
        "includes_150_deep",
        'include: "i0.of"\n' + TASK + WORKFLOW,
        "{p}/i98.of:1:10: include: files nest more than 100 deep here\n"
        '    include: "i99.of"\n'
        "             ^\n"
        "  include the files from fewer levels (a file may include several)",
        files={f"i{i}.of": f'include: "i{i + 1}.of"\n' for i in range(150)} | {"i150.of": ""},
    ),
    Case(
        "call_function_the_module_does_not_define",
        "task a() -> x:\n    call: helpers:fn\nworkflow all:\n    a\n",
        "{p}/Outflowfile:2:11: call: module 'helpers' (helpers.py) of task 'a' has no "
        "function 'fn'\n"
        "        call: helpers:fn\n"
        "              ^\n"
        "  it defines: other",
        files={"helpers.py": "import os\n\ndef other():\n    pass\n\nsizes = {}\n_private = 1\n"},
    ),
    Case(
        "call_function_bound_under_if_or_imported_is_found",
        "task a() -> x:\n    call: helpers:fn\ntask b() -> y:\n    call: helpers:gn\n"
        "workflow all:\n    (a, b)\n",
        "ok",
        files={"helpers.py": "import sys\nif sys:\n    def fn():\n        pass\n"
               "from os.path import join as gn\n"},
    ),
    Case(
        "call_module_that_star_imports_is_let_be",
        "task a() -> x:\n    call: helpers:fn\nworkflow all:\n    a\n",
        "ok",
        files={"helpers.py": "from os.path import *\n"},
    ),
    Case(
        "script_that_is_a_directory",
        'task a():\n    script: "s.py"\nworkflow all:\n    a\n',
        "{p}/Outflowfile:2:13: script 's.py' of task 'a' is a directory, not a file\n"
        '        script: "s.py"\n'
        "                ^\n"
        "  a script's path is relative to the Outflowfile's directory",
        files={"s.py/x": ""},
    ),
    Case(
        "call_module_that_is_not_python",
        "task a() -> x:\n    call: helpers:fn\nworkflow all:\n    a\n",
        "{p}/helpers.py:2:8: call: module 'helpers' of task 'a' is not valid Python: "
        "invalid syntax\n"
        "    def fn(:\n"
        "           ^",
        files={"helpers.py": "import os\ndef fn(:\n    pass\n"},
    ),
]


def load_case(case: Case, project: Path) -> str:
    """The rendered error of loading ``case`` in ``project``, or 'ok'."""
    path = project / "Outflowfile"
    text = case.outflowfile
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    for name, content in case.files.items():
        # Text with lone surrogates stands for bytes that are not UTF-8.
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(content.encode("utf-8", "surrogateescape"))
    try:
        loader.load(path)
    except UserError as exc:
        return exc.render()
    return "ok"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_located(case: Case, tmp_path: Path) -> None:
    assert load_case(case, tmp_path) == case.expected.format(p=tmp_path)
