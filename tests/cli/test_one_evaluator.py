"""One evaluator, two uses: the same expression gives the same answer as a
computed default (``v = EXPR``) and as a run-time condition (``if (EXPR)``),
and fails with the same located message, through the installed ``outflow``.
Each table runs as one project, so the test stays a few runs long."""

from __future__ import annotations

from pathlib import Path

from outflowtest import make_project, outflow

CONFIG = """\
config:
    n: int = 5
    s: str = "abc"
    xs: list = [1, 2, 3]
    d: dict = {"a": 1}
    flag: bool = False
    path: str = "data/A.fq.gz"
"""

# (expression, its value): every row is both a default and a condition.
TABLE = [
    ("n > 3", True),
    ("n > 3 and not flag", True),
    ("not (n == 5)", False),
    ("1 < n <= 5", True),
    ("n in xs", False),
    ("'b' in s and s != 'x'", True),
    ("n * 2 - 1 >= 9", True),
    ("len(xs) == 3 or flag", True),
    ("d['a'] + 1", 2),
    ("flag or []", []),
    ("xs[1:]", [2, 3]),
    ("stem(path) + suffix(path)", "A.fq.gz"),
    ("upper(s) if flag else lower(s)", "abc"),
    ("f'{s}-{n:02d}'", "abc-05"),
    ("abs(-n) % 2", 1),
    ("xs", [1, 2, 3]),
]


def table_project(root: Path, rows: list[tuple[str, object]]) -> Path:
    tasks, stages = [], []
    for i, (expr, _) in enumerate(rows):
        tasks.append(f"""
task default{i}(v = {expr}):
    output: d{i} = "default/{i}.txt"
    run:
        open(output.d{i}, "w").write(repr(v))

task then{i}():
    output: c{i} = "condition/{i}.True"
    shell: "touch {{output.c{i}}}"

task else{i}():
    output: c{i} = "condition/{i}.False"
    shell: "touch {{output.c{i}}}"
""")
        stages.append(f"if ({expr}) {{ then{i} }} else {{ else{i} }}")
    # `all` runs the conditions, `default0`... the defaults.
    workflow = "\nworkflow all:\n    (" + ",\n     ".join(stages) + ",)\n"
    return make_project(root, CONFIG + "".join(tasks) + workflow)


def test_a_default_and_a_condition_give_the_same_answers(tmp_path: Path) -> None:
    p = table_project(tmp_path / "p", TABLE)
    outflow(p, "--lint")
    outflow(p)
    outflow(p, *(f"default{i}" for i in range(len(TABLE))))
    for i, (expr, expected) in enumerate(TABLE):
        default = (p / f"default/{i}.txt").read_text()
        assert default == repr(expected), expr
        chosen = [f.name for f in (p / "condition").glob(f"{i}.*")]
        assert chosen == [f"{i}.{bool(expected)}"], expr


# (expression, where it fails in the line, the message after the place's name)
FAILURES = [
    ("n > 'x'", 0, "cannot compare 5 > 'x' (int and str)"),
    ("d['zz'] == 1", 0, "no key 'zz' in 'd'"),
    ("xs[9] > 0", 0, "index 9 is out of range for 'xs' (3 items)"),
    ("flag or n / 0", 8, "cannot compute int / int: division by zero"),
]


def test_a_default_and_a_condition_fail_alike(tmp_path: Path) -> None:
    for k, (expr, offset, message) in enumerate(FAILURES):
        p = table_project(tmp_path / f"p{k}", [(expr, None)])
        text = (p / "Outflowfile").read_text().split("\n")
        for target, head, named in (("default0", "task default0(v = ", "default0"),
                                    ("all", "    (if (", f"if ({expr})")):
            line = next(i for i, t in enumerate(text) if t.startswith(head)) + 1
            column = len(head) + 1 + offset
            # The values are config entries: both fail as the plan is made.
            done = outflow(p, target, check=2)
            assert done.stderr == (
                f"{p}/Outflowfile:{line}:{column}: {named}: {message}\n"
                f"    {text[line - 1]}\n" + " " * (3 + column) + "^\n"), (expr, target)


def test_lint_holds_a_default_and_a_condition_to_the_same_rules(tmp_path: Path) -> None:
    functions = ("  use a function: abs, basename, bool, dirname, float, int, join, len, lower, "
                 "max, min, replace, round, sorted, stem, str, suffix, sum, upper\n")
    # Refused as it is read, in either place.
    p = table_project(tmp_path / "refused", [("s.upper() == 'A'", None)])
    assert outflow(p, "--lint", check=2).stderr.replace(f"{p}/", "") == (
        "Outflowfile:9:19: attribute access ('.upper') is not allowed in an expression\n"
        "    task default0(v = s.upper() == 'A'):\n"
        "                      ^\n" + functions +
        "Outflowfile:23:10: attribute access ('.upper') is not allowed in an expression\n"
        "        (if (s.upper() == 'A') { then0 } else { else0 },)\n"
        "             ^\n" + functions)
    # The same type checks under --lint.
    p = table_project(tmp_path / "typed", [("s + 1 > n", None)])
    convert = "  convert one side first, for example str(n) or int(text)\n"
    assert outflow(p, "--lint", check=2).stderr.replace(f"{p}/", "") == (
        "Outflowfile:9:19: the default of input 'v' of task 'default0': cannot compute "
        "str + int\n"
        "    task default0(v = s + 1 > n):\n"
        "                      ^\n" + convert +
        "Outflowfile:23:10: if (s + 1 > n): cannot compute str + int\n"
        "        (if (s + 1 > n) { then0 } else { else0 },)\n"
        "             ^\n" + convert)
