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
