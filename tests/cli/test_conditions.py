"""Issue 18, item 4: ``if (cond) { a } else { b }`` chooses a side by an
upstream value (Outflow's ``IfThenElse``): only the chosen side's jobs run,
a dry run shows the undecided condition as such, and a changed value flips
the side on the next run. Driven through the installed ``outflow``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from outflowtest import make_project, outflow

# `count` reads n.txt; `big` or `small` runs by its value; both make `out`,
# which `report` copies.
CHOOSER = '''
config:
    threshold: int = 3

task count() -> (n: int):
    input: src = "n.txt"
    run:
        return int(open(input.src).read())

task big(n: int):
    output: out = "big.txt"
    shell:  "echo big {n} > {output.out}"

task small(n: int):
    output: out = "small.txt"
    shell:  "echo small {n} > {output.out}"

task report(out: path):
    output: rep = "report.txt"
    shell:  "cp {out} {output.rep}"

workflow all:
    count | if (n > threshold and not (n == 99)) { big } else { small } | report
'''


def ran(done: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(re.findall(r"^\[\d+/\d+\] (.+?)  \d", done.stdout, re.M))


@pytest.fixture
def chooser(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", CHOOSER, {"n.txt": "5\n"})


def test_only_the_chosen_side_runs(chooser: Path) -> None:
    p = chooser
    assert ran(outflow(p)) == ["big", "count", "report"]
    assert (p / "report.txt").read_text() == "big 5\n"
    assert not (p / "small.txt").exists()
    assert ran(outflow(p)) == []


def test_a_dry_run_shows_the_condition_undecided(chooser: Path) -> None:
    p = chooser
    done = outflow(p, "-n")
    assert "Would run 2 jobs:" in done.stdout
    assert "big" not in done.stdout.split("Conditions")[0]
    assert "small" not in done.stdout
    assert (
        "Conditions not decided yet (one side runs when its values are known):\n"
        "  if (n > threshold and not (n == 99)) at line 22: waits for count\n"
    ) in done.stdout
    dag = outflow(p, "--dag").stdout
    assert re.search(
        r'label="if \(.*\) \{ big \} else \{ small \}: undecided", fillcolor="#f3e5f5"', dag
    )
    outflow(p, "--report", "report.html")
    html = (p / "report.html").read_text()
    assert "if (n &gt; threshold and not (n == 99)) { big } else { small }: undecided" in html
    assert 'data-status="undecided"' in html
    assert not (p / "report.txt").exists()


def test_a_changed_value_flips_the_side_on_the_next_run(chooser: Path) -> None:
    p = chooser
    outflow(p)
    (p / "n.txt").write_text("2\n")
    assert ran(outflow(p)) == ["count", "report", "small"]
    assert (p / "report.txt").read_text() == "small 2\n"
    assert ran(outflow(p)) == []
    (p / "n.txt").write_text("99\n")  # `not (n == 99)`: the else side, again
    assert ran(outflow(p)) == ["count", "report", "small"]
    assert (p / "report.txt").read_text() == "small 99\n"
    (p / "n.txt").write_text("5\n")  # back: big's earlier result is still good
    done = outflow(p)
    assert ran(done) == ["count", "report"]
    assert (p / "report.txt").read_text() == "big 5\n"


def test_a_condition_on_config_is_decided_at_plan_time(chooser: Path) -> None:
    p = make_project(chooser, CHOOSER.replace("(n > threshold and not (n == 99))",
                                              "(threshold > 5)"))
    done = outflow(p, "-n")
    assert "Would run 3 jobs:" in done.stdout
    assert re.search(r"^  small ", done.stdout, re.M)
    assert "Conditions not decided" not in done.stdout
    assert ran(outflow(p, "small.txt")) == ["count", "small"]  # a file of the chosen side
    assert ran(outflow(p)) == ["report"]
    assert ran(outflow(p, "-C", "threshold=7")) == ["big", "report"]
    assert (p / "report.txt").read_text() == "big 5\n"
    done = outflow(p, "big.txt", "-C", "threshold=1", check=2)
    assert "no job makes big.txt" in done.stderr


def test_without_else_nothing_runs_when_false(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        config:
            plot: bool = False

        task data() -> (xs: list):
            run:
                return [1, 2]

        task draw(xs: list):
            output: o = "plot.txt"
            shell:  "echo {xs} > {output.o}"

        workflow all:
            data | if (plot) { draw }
        ''')
    assert ran(outflow(p)) == ["data"]
    assert not (p / "plot.txt").exists()
    assert ran(outflow(p, "-C", "plot=True")) == ["draw"]
    assert (p / "plot.txt").read_text() == "1 2\n"  # a list in a shell command: its items


def test_lint_places_a_name_the_condition_cannot_read(chooser: Path) -> None:
    p = make_project(chooser, CHOOSER.replace("if (n > threshold", "if (m > treshold"))
    done = outflow(p, "--lint", check=2)
    line = ("        count | if (m > treshold and not (n == 99)) { big } else { small } "
            "| report\n")
    assert done.stderr == (
        f"{p}/Outflowfile:22:17: condition reads 'm', which is not an output of an "
        "earlier stage or a config entry\n" + line + " " * 20 + "^\n"
        "  available here: n, threshold\n"
        f"{p}/Outflowfile:22:21: condition reads 'treshold', which is not an output of an "
        "earlier stage or a config entry\n" + line + " " * 24 + "^\n"
        "  did you mean 'threshold'? available here: n, threshold\n"
    )


def test_a_comparison_that_fails_at_run_time_names_the_condition(chooser: Path) -> None:
    p = make_project(chooser, CHOOSER.replace("if (n > threshold", "if (n > \"x\""))
    done = outflow(p, check=1)
    # Placed at the comparison that failed, as a computed default's failure is.
    assert (
        f"error: {p}/Outflowfile:22:17: if (n > 'x' and not (n == 99)): cannot compare 5 > 'x' "
        "(int and str)\n"
        "        count | if (n > \"x\" and not (n == 99)) { big } else { small } | report\n"
        "                    ^\n"
    ) in done.stderr
    assert not (p / "big.txt").exists() and not (p / "small.txt").exists()


def test_a_condition_is_an_expression_and_its_syntax_errors_are_placed(chooser: Path) -> None:
    # What a computed default may use, a condition may: `in`, arithmetic, functions.
    p = make_project(chooser, CHOOSER.replace("(n > threshold and not (n == 99))",
                                              "(n * 2 in [10, 12] and len(str(n)) == 1)"))
    assert ran(outflow(p)) == ["big", "count", "report"]
    p = make_project(chooser, CHOOSER.replace("(n > threshold and not (n == 99))", "(n > )"))
    done = outflow(p, "--lint", check=2)
    assert done.stderr == (
        f"{p}/Outflowfile:22:21: invalid condition in if (...): invalid syntax\n"
        "        count | if (n > ) { big } else { small } | report\n"
        "                        ^\n"
        "  a condition is an expression, as a computed default is: names, literals, "
        "comparisons (== != < <= > >= in, not in), and, or, not, arithmetic and functions: "
        "if (reads > 1000 and not skip)\n")
