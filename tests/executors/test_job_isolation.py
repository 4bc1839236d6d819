"""Each Python job starts in the project directory with the environment
outflow gives it, however the job before it in the same worker left the
process (issue 17): its directory, environment, ``sys.path``, umask and
standard streams do not reach the next job."""

from __future__ import annotations

import json
from pathlib import Path

from outflowtest import make_project, outflow

# Each job writes what it finds, then changes everything it can; with -j 1
# one worker runs them all, one after another (the pid says so).
PROJECT = '''
config:
    names: list = ["a", "b", "c"]

task probe(name: str):
    output: o = "out/{name}.json"
    run:
        import json, os, subprocess, sys
        mask = os.umask(0o022)
        os.umask(mask)
        seen = {
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "leak": os.environ.get("LEAK"),
            "base": os.environ.get("ISOLATION_BASE"),
            "cpus": os.environ.get("OUTFLOW_CPUS"),
            "child_env": subprocess.run(["sh", "-c", "echo ${LEAK:-none} ${ISOLATION_BASE:-none}"],
                                        capture_output=True, text=True).stdout.strip(),
            "path_tail": sys.path[-1],
            "umask": mask,
            "stdout_is_real": sys.stdout is sys.__stdout__,
        }
        with open(output.o, "w") as f:
            json.dump(seen, f)
        os.makedirs("elsewhere", exist_ok=True)
        os.chdir("elsewhere")
        os.environ["LEAK"] = "from " + name
        os.environ["ISOLATION_BASE"] = "changed by " + name
        del os.environ["OUTFLOW_CPUS"]
        sys.path.append("/leaked/" + name)
        os.umask(0o077)
        sys.stdout = open(os.devnull, "w")
        print("this line goes nowhere")

workflow all:
    map(names -> name) { probe }
'''


def test_a_job_changes_nothing_the_next_job_sees(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", PROJECT)
    outflow(p, "-j", "1", env={"ISOLATION_BASE": "given"})
    seen = [json.loads((p / "out" / f"{n}.json").read_text()) for n in ("a", "b", "c")]
    assert len({s["pid"] for s in seen}) == 1, "one worker must run the three jobs"
    first = seen[0]
    assert first["cwd"] == str(p)
    assert first["leak"] is None and first["base"] == "given" and first["cpus"] == "1"
    assert first["child_env"] == "none given"
    assert first["stdout_is_real"] is True
    for later in seen[1:]:
        assert {k: v for k, v in later.items()} == first
    assert not (p / "elsewhere" / "out").exists()


# A module of the project keeps a list the jobs append to; a module of the
# project's package is imported by a call: body; neither's state may reach
# the next job.
TALLY = '''
config:
    names: list = ["a", "b", "c"]

task count(name: str):
    output: o = "counted/{name}.txt"
    run:
        import os, tally
        open(output.o, "w").write(f"{tally.add(name)} {os.getpid()}\\n")

task called(name: str):
    output: c = "called/{name}.txt"
    call: steps.counting:count

workflow all:
    map(names -> name) { (count, called) }
'''

TALLY_PY = "seen = []\n\ndef add(name):\n    seen.append(name)\n    return len(seen)\n"
COUNTING_PY = (
    "import tally\n\n"
    "def count(name, output):\n"
    "    open(output.c, 'w').write(f'{tally.add(name)}\\n')\n"
)


def test_a_job_finds_the_project_modules_as_imported_afresh(tmp_path: Path) -> None:
    """Issue 17: with one worker running every job, the third job found the
    list the first two had appended to (it wrote 3), and after a rerun of
    that job alone it wrote 1: a rerun did not give what a clean run gives.
    Each job now imports the project's modules afresh; outflow's own and
    installed packages stay imported."""
    p = make_project(tmp_path / "p", TALLY, {
        "tally.py": TALLY_PY, "steps/__init__.py": "", "steps/counting.py": COUNTING_PY,
    })
    outflow(p, "-j", "1")
    counted = [(p / "counted" / f"{n}.txt").read_text().split() for n in ("a", "b", "c")]
    assert len({pid for _, pid in counted}) == 1, "one worker must run the jobs"
    assert [n for n, _ in counted] == ["1", "1", "1"]
    assert [(p / "called" / f"{n}.txt").read_text() for n in ("a", "b", "c")] == ["1\n"] * 3
    (p / "counted" / "c.txt").unlink()
    outflow(p, "-j", "1")
    assert (p / "counted" / "c.txt").read_text().split()[0] == "1"
