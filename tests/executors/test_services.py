"""The real cluster services the cluster executor is tested against.

These check the services themselves (started by scripts/start-slurm.sh and
scripts/start-sge.sh), so that a failing cluster-executor test can be told
apart from a broken cluster.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

WAIT = 120.0  # seconds a job may take to start or end (other tests may hold the node)


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"{argv} exited {done.returncode}: {done.stderr}"
    return done.stdout


def _wait_for(what: str, probe: Callable[[], str | None], timeout: float = WAIT) -> str:
    """Poll ``probe`` until it returns a value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: str | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last is not None:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


# --- Slurm --------------------------------------------------------------------


def _job_fields(job_id: str) -> dict[str, str]:
    """``scontrol show job`` as a dict ({} once Slurm forgot the job)."""
    done = subprocess.run(
        ["scontrol", "show", "job", "--oneliner", job_id],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        return {}
    return dict(re.findall(r"(\w+)=(\S*)", done.stdout))


def _job_state_in(job_id: str, states: set[str]) -> Callable[[], str | None]:
    def probe() -> str | None:
        state = _job_fields(job_id).get("JobState")
        return state if state in states else None

    return probe


FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}


@pytest.fixture
def sbatch(slurm: str, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Submit a batch job in tmp_path; the job id. Jobs still queued at the end are cancelled."""
    submitted: list[str] = []

    def submit(*args: str) -> str:
        out = _run(["sbatch", "--parsable", f"--chdir={tmp_path}", "--output=slurm-%j.out", *args])
        job_id = out.strip().split(";")[0]
        submitted.append(job_id)
        return job_id

    yield submit
    if submitted:
        subprocess.run(["scancel", *submitted], capture_output=True, timeout=30)


def test_slurm_job_gets_the_cpus_it_asks_for(sbatch: Callable[..., str], tmp_path: Path) -> None:
    job = sbatch("--cpus-per-task=2", "--wrap", "echo $SLURM_CPUS_PER_TASK > cpus.txt")
    state = _wait_for(f"job {job} to finish", _job_state_in(job, FINISHED))
    fields = _job_fields(job)
    assert state == "COMPLETED", fields
    assert fields["NumCPUs"] == "2"
    assert fields["ExitCode"] == "0:0"
    assert (tmp_path / "cpus.txt").read_text().strip() == "2"


def test_slurm_scancel_stops_a_running_job(sbatch: Callable[..., str], tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    job = sbatch("--wrap", f"echo $$ > {pid_file}; sleep 300")
    _wait_for(f"job {job} to run", _job_state_in(job, {"RUNNING"}))
    pid = int(
        _wait_for(
            "the job's pid file",
            lambda: pid_file.read_text() or None if pid_file.exists() else None,
        )
    )
    _run(["scancel", job])
    assert _wait_for(f"job {job} to end", _job_state_in(job, FINISHED)) == "CANCELLED"
    assert _run(["squeue", "--noheader", "--states=all", "--jobs", job, "--format=%T"]).split() == [
        "CANCELLED"
    ]
    # The job's processes are gone too (KillWait is 2 s on the test cluster).
    deadline = time.monotonic() + 15
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


# --- Grid Engine through DRMAA ---------------------------------------------------

# Runs in a subprocess: the drmaa package loads its library (and reads
# DRMAA_LIBRARY_PATH) at import. Argument: a JSON job description; prints a
# JSON result.
DRMAA_JOB = """
import json, sys
import drmaa

spec = json.loads(sys.argv[1])
with drmaa.Session() as s:
    jt = s.createJobTemplate()
    jt.remoteCommand = spec["command"][0]
    jt.args = spec["command"][1:]
    jt.nativeSpecification = spec["native"]
    jt.workingDirectory = spec["cwd"]
    jt.outputPath = ":" + spec["cwd"] + "/drmaa.out"
    jt.joinFiles = True
    job = s.runJob(jt)
    info = s.wait(job, spec["timeout"])
    s.deleteJobTemplate(jt)
    print(json.dumps({
        "job": job,
        "implementation": s.drmaaImplementation,
        "hasExited": info.hasExited,
        "exitStatus": info.exitStatus,
        "wasAborted": info.wasAborted,
        "hasSignal": info.hasSignal,
    }))
"""


def _drmaa_job(env: dict[str, str], cwd: Path, command: list[str], native: str) -> dict:
    spec = {"command": command, "native": native, "cwd": str(cwd), "timeout": int(WAIT)}
    done = subprocess.run(
        [sys.executable, "-c", DRMAA_JOB, json.dumps(spec)],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WAIT + 30,
    )
    assert done.returncode == 0, f"DRMAA client failed:\n{done.stderr}"
    return json.loads(done.stdout.splitlines()[-1])


def test_drmaa_job_with_a_parallel_environment(sge_drmaa: dict[str, str], tmp_path: Path) -> None:
    result = _drmaa_job(
        sge_drmaa, tmp_path, ["/bin/sh", "-c", "echo $NSLOTS > slots.txt"], "-pe smp 2"
    )
    assert result["hasExited"] and not result["wasAborted"], result
    assert result["exitStatus"] == 0
    assert (tmp_path / "slots.txt").read_text().strip() == "2"


def test_drmaa_reports_the_exit_status(sge_drmaa: dict[str, str], tmp_path: Path) -> None:
    result = _drmaa_job(sge_drmaa, tmp_path, ["/bin/sh", "-c", "exit 3"], "-pe smp 2")
    assert result["hasExited"] and not result["hasSignal"], result
    assert result["exitStatus"] == 3
