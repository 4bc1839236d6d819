"""Issue 19: a ``call:`` job's key covers its module's source, read without
importing it; a module that cannot be found or imported is a located
``--lint`` error. Driven through the installed ``outflow``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from outflowtest import lines, make_project, outflow

CALLS = '''
config:
    xs: list[int] = [1, 2]

task ta(x: int) -> (a: int):
    call: pkg.alpha:f

task tb(x: int) -> (b: int):
    call: pkg.beta:g

task tc(x: int) -> (c: int):
    call: pkg.gamma:h

workflow all:
    map(xs -> x) { (ta, tb, tc) }
'''

ALPHA = '''\
from pkg.helpers import note


def f(x):
    note("ta", x)
    return double(x)


def double(x):
    return 2 * x
'''

BETA = '''\
from pkg.helpers import note


def g(x):
    note("tb", x)
    return x + 1
'''

# A package module as pkg/gamma/__init__.py
GAMMA = '''\
from pkg.helpers import note


def h(x):
    note("tc", x)
    return -x
'''

HELPERS = '''\
def note(task, x):
    with open("calls.log", "a") as f:
        f.write(f"{task} {x}\\n")
'''


def ran(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The labels of the jobs a run reports as done, sorted."""
    return sorted(re.findall(r"^\[\d+/\d+\] (.+?)  \d", done.stdout, re.M))


def would_run(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The labels ``outflow -n`` lists under "Would run"."""
    part = done.stdout.split("Would run", 1)
    if len(part) == 1:
        return []
    listed = part[1].split("\n\n", 1)[0].splitlines()[1:]
    return sorted(line.strip().split("  ")[0] for line in listed)


def calls_project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", CALLS, {
        "pkg/__init__.py": "",
        "pkg/alpha.py": ALPHA,
        "pkg/beta.py": BETA,
        "pkg/gamma/__init__.py": GAMMA,
        "pkg/helpers.py": HELPERS,
    })


def test_editing_a_called_function_reruns_exactly_its_jobs(tmp_path: Path) -> None:
    p = calls_project(tmp_path)
    outflow(p)
    assert sorted(lines(p / "calls.log")) == ["ta 1", "ta 2", "tb 1", "tb 2", "tc 1", "tc 2"]
    (p / "calls.log").unlink()

    alpha = p / "pkg" / "alpha.py"
    alpha.write_text(ALPHA.replace("return 2 * x", "return 3 * x"))  # what f calls
    assert would_run(outflow(p, "-n")) == ["ta x=1", "ta x=2"]
    assert ran(outflow(p)) == ["ta x=1", "ta x=2"]
    assert sorted(lines(p / "calls.log")) == ["ta 1", "ta 2"]
    (p / "calls.log").unlink()

    gamma = p / "pkg" / "gamma" / "__init__.py"
    gamma.write_text(GAMMA.replace("return -x", "return -x * 10"))  # a package's __init__
    assert ran(outflow(p)) == ["tc x=1", "tc x=2"]
    assert ran(outflow(p)) == []


def test_a_comment_or_blank_line_in_the_module_reruns_nothing(tmp_path: Path) -> None:
    p = calls_project(tmp_path)
    outflow(p)
    beta = p / "pkg" / "beta.py"
    beta.write_text("# the beta steps\n\n" + BETA.replace("return x + 1", "return x + 1  # one"))
    assert "Nothing to do" in outflow(p, "-n").stdout
    assert ran(outflow(p)) == []


def test_a_project_module_it_imports_counts(tmp_path: Path) -> None:
    """Issue 17: pkg/helpers.py, which every module imports, is code the
    jobs run: editing it reruns them all, as a clean run would make them;
    a comment in it reruns nothing."""
    p = calls_project(tmp_path)
    outflow(p)
    helpers = p / "pkg" / "helpers.py"
    helpers.write_text(HELPERS + "\n# a comment\n")
    assert "Nothing to do" in outflow(p, "-n").stdout
    helpers.write_text(HELPERS.replace("{x}", "{x}!"))
    everything = ["ta x=1", "ta x=2", "tb x=1", "tb x=2", "tc x=1", "tc x=2"]
    assert would_run(outflow(p, "-n")) == everything
    (p / "calls.log").unlink()
    assert ran(outflow(p)) == everything
    assert sorted(lines(p / "calls.log")) == ["ta 1!", "ta 2!", "tb 1!", "tb 2!", "tc 1!", "tc 2!"]
    assert ran(outflow(p)) == []
    # The package's __init__.py runs before any of its modules: code too.
    (p / "pkg" / "__init__.py").write_text("LEVEL = 2\n")
    assert would_run(outflow(p, "-n")) == everything


IMPORTING = """
task viarun():
    output: o = "run.txt"
    run:
        from lib import words
        open(output.o, "w").write(words.word())

task viascript():
    output: s = "script.txt"
    script: "scripts/make.py"

workflow all:
    (viarun, viascript)
"""

MAKE = """\
import os
import common
open(os.environ["OUTFLOW_OUTPUT_s"], "w").write(common.WORD)
"""


def test_modules_a_run_block_or_a_script_imports_count(tmp_path: Path) -> None:
    """Issue 17: a run: block importing lib/words.py (which imports
    lib/deep.py through a relative import), and a script importing
    common.py beside it: an edit of any of them reruns exactly the jobs
    that load it, and -n says which file changed."""
    p = make_project(tmp_path / "p", IMPORTING, {
        "lib/__init__.py": "",
        "lib/words.py": "from .deep import WORD\n\ndef word():\n    return WORD\n",
        "lib/deep.py": 'WORD = "one"\n',
        "scripts/make.py": MAKE,
        "scripts/common.py": 'WORD = "uno"\n',
    })
    outflow(p)
    (p / "lib" / "deep.py").write_text('WORD = "two"\n')
    dry = outflow(p, "-n").stdout
    assert would_run(outflow(p, "-n")) == ["viarun"]
    assert "code changed: lib/deep.py" in dry
    assert ran(outflow(p)) == ["viarun"]
    assert (p / "run.txt").read_text() == "two"
    (p / "scripts" / "common.py").write_text('WORD = "dos"\n')
    assert would_run(outflow(p, "-n")) == ["viascript"]
    assert ran(outflow(p)) == ["viascript"]
    assert (p / "script.txt").read_text() == "dos"
    assert "Nothing to do" in outflow(p, "-n").stdout


def test_planning_does_not_import_the_module(tmp_path: Path) -> None:
    p = calls_project(tmp_path)
    outflow(p)
    # Importing alpha now would write the file: planning must not.
    alpha = p / "pkg" / "alpha.py"
    alpha.write_text("open('imported.txt', 'w').close()\n" + ALPHA)
    assert would_run(outflow(p, "-n")) == ["ta x=1", "ta x=2"]
    outflow(p, "--lint")
    assert not (p / "imported.txt").exists()


def test_an_installed_module_counts_by_its_name(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task base(p: str = "dir/file.txt") -> (name: str):
            call: posixpath:basename

        task show(name: str):
            output: o = "name.txt"
            run:
                open(output.o, "w").write(name)

        workflow all:
            base | show
        ''')
    outflow(p, "--lint")
    outflow(p)
    assert (p / "name.txt").read_text() == "file.txt"
    assert ran(outflow(p)) == []


def test_a_module_not_found_is_a_located_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task plot(table: str = "t.tsv"):
            output: png = "stats.png"
            call: plots.figures:make_png

        workflow all:
            plot
        ''', {"plots/other.py": ""})
    for args in (["--lint"], ["-n"], []):
        done = outflow(p, *args, check=2)
        assert done.stderr == (
            f"{p / 'Outflowfile'}:3:11: call: module 'plots.figures' of task 'plot' not found: "
            "no plots/figures.py or plots/figures/__init__.py in the project directory, "
            "and no installed package 'plots'\n"
            "        call: plots.figures:make_png\n"
            "              ^\n"
            "  call: imports the module with the project directory on sys.path; "
            'to run a file by its path, write script: "path/to/file.py"\n'
        )


def test_a_module_is_looked_for_in_the_project_directory(tmp_path: Path) -> None:
    """With -d and -f apart, the module is the project directory's."""
    files = tmp_path / "files"
    project = tmp_path / "project"
    make_project(files, '''
        task t() -> (v: int):
            call: steps:value

        workflow all:
            t
        ''')
    make_project(project, "task x():\n    run: pass\n",
                 {"steps.py": "def value():\n    return 1\n"})
    outflow(tmp_path, "-d", str(project), "-f", str(files / "Outflowfile"), "--lint")
    done = outflow(tmp_path, "-f", str(files / "Outflowfile"), "--lint", check=2)
    assert "call: module 'steps' of task 't' not found" in done.stderr


def test_a_hyphen_in_the_module_points_to_script(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task plot():
            call: scripts.plot-quals:main

        workflow all:
            plot
        ''')
    done = outflow(p, "--lint", check=2)
    assert done.stderr == (
        f"{p / 'Outflowfile'}:2:11: call: 'scripts.plot-quals' is not a Python module name: "
        "a name with '-' cannot be imported\n"
        "        call: scripts.plot-quals:main\n"
        "              ^\n"
        '  to run the file as a script, write script: "scripts/plot-quals.py" '
        "(or rename it with '_' and keep call:)\n"
    )
