"""Issue 19: a ``call:`` or ``script:`` job that must run again because its
code file was edited says which file (``code changed: scripts/plot.py``),
in ``-n`` and in the run; an edit of the task in the Outflowfile says
``task definition changed``. Driven through the installed ``outflow``."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from outflowtest import make_project, outflow

PIPELINE = '''
task plot():
    output: o = "plot.txt"
    script: "scripts/plot.py"

task count() -> (n: int):
    call: pkg.counting:count

workflow all:
    (plot, count)
'''

PLOT = 'import os\nopen(os.environ["OUTFLOW_OUTPUT_o"], "w").write("plot")\n'
COUNTING = "def count():\n    return 3\n"


def reasons(stdout: str) -> dict[str, str]:
    """``-n``'s jobs and why: ``{"plot": "code changed: scripts/plot.py"}``."""
    return dict(re.findall(r"^  (\w+)  +(\S.*)$", stdout.split("Jobs per task")[0], re.M))


def later(path: Path) -> None:
    """Move the file's modification time on, as an edit a while after the run would."""
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))


def edit(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)
    later(path)


def project_at(tmp_path: Path) -> Path:
    p = make_project(tmp_path / "p", PIPELINE,
                     {"scripts/plot.py": PLOT, "pkg/__init__.py": "", "pkg/counting.py": COUNTING})
    outflow(p, "-q")
    assert "Nothing to do" in outflow(p, "-n").stdout
    return p


def test_an_edited_script_or_module_is_named(tmp_path: Path) -> None:
    p = project_at(tmp_path)
    edit(p / "scripts" / "plot.py", "x = 1\n")
    edit(p / "pkg" / "counting.py", "y = 2\n")
    assert reasons(outflow(p, "-n").stdout) == {
        "plot": "code changed: scripts/plot.py",
        "count": "code changed: pkg/counting.py",
    }
    run = outflow(p, "-v")
    assert "start plot: code changed: scripts/plot.py" in run.stdout
    assert "start count: code changed: pkg/counting.py" in run.stdout


def test_an_edit_of_the_task_itself_is_a_definition_change(tmp_path: Path) -> None:
    p = project_at(tmp_path)
    outflowfile = p / "Outflowfile"
    outflowfile.write_text(outflowfile.read_text().replace('"plot.txt"', '"plot2.txt"'))
    later(outflowfile)
    assert reasons(outflow(p, "-n").stdout) == {"plot": "task definition changed"}
    # The code edited as well: either may be why, and the file is named.
    edit(p / "scripts" / "plot.py", "x = 1\n")
    assert reasons(outflow(p, "-n").stdout) == {
        "plot": "task definition or code changed: scripts/plot.py"
    }


def test_a_comment_in_the_script_changes_nothing(tmp_path: Path) -> None:
    p = project_at(tmp_path)
    edit(p / "scripts" / "plot.py", "# a comment\n")
    assert "Nothing to do" in outflow(p, "-n").stdout
