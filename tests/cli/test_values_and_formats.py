"""Issue 17's rules held end to end through the installed ``outflow``: a
format spec in ``shell:`` as in a pattern, the single-output dict rule for
``run:`` and ``call:``, and untyped config entries keeping their default's
type under ``-C``."""

from __future__ import annotations

import json
from pathlib import Path

from outflowtest import make_project, outflow


def test_a_format_spec_in_shell_is_the_one_in_the_pattern(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        config:
            n: int = 7

        task pad(n: int):
            output: o = "out/{n:03d}.txt"
            shell: "echo {n:03d} {n:>4} > {output.o}"

        workflow all:
            pad
        ''')
    outflow(p)
    assert (p / "out" / "007.txt").read_text() == "007    7\n"


DICT_RULE = '''
config:
    n: int = 3

task by_run(n: int) -> (doubled: int):
    run:
        return {"doubled": n * 2}

task by_call(n: int) -> (total):
    call: pkg.steps:total

task whole(n: int) -> (pair):
    run:
        return {"pair": n, "other": 0}

task show(doubled: int, total, pair):
    output: o = "seen.json"
    run:
        import json
        with open(output.o, "w") as f:
            json.dump({"doubled": doubled, "total": total, "pair": pair}, f)

workflow all:
    (by_run, by_call, whole) | show
'''


def test_a_dict_keyed_by_the_one_outputs_name_passes_its_value(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", DICT_RULE, {
        "pkg/__init__.py": "",
        "pkg/steps.py": "def total(n):\n    return {'total': n + 100}\n",
    })
    outflow(p)
    seen = json.loads((p / "seen.json").read_text())
    assert seen == {"doubled": 6, "total": 103, "pair": {"pair": 3, "other": 0}}


CONFIG = '''
config:
    version = "1.10"
    count = 5
    flag = True
    names = ["a", "b"]

task show(version, count, flag, names):
    output: o = "seen.txt"
    run:
        with open(output.o, "w") as f:
            f.write(repr((version, count, flag, names)))

workflow all:
    show
'''


def test_an_untyped_entry_keeps_its_defaults_type(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", CONFIG)
    outflow(p, "-C", "version=1.10", "-C", "count=7", "-C", "flag=0", "-C", "names=c,d")
    assert (p / "seen.txt").read_text() == "('1.10', 7, False, ['c', 'd'])"


def test_a_value_not_of_the_defaults_type_names_the_entry(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", CONFIG)
    proc = outflow(p, "-C", "count=many", check=2)
    assert proc.stderr.startswith("error: --config count=many: expected int\n"
                                  "  config 'count' has no declared type, so it keeps the type "
                                  "of its default, int (5)")
    assert not (p / "seen.txt").exists()
