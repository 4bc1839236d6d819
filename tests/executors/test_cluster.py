"""Cluster runs against a real one-node Slurm (sbatch path) and a real Grid
Engine through its DRMAA library. The services come from
scripts/start-slurm.sh and scripts/start-sge.sh (fixtures in conftest.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DrmaaTarget
from outflowtest import cache_rows, lines, make_project, outflow, outflow_command

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Each job holds its node about 20 s, or until the test makes the file `go`.
NAP = """
config:
    items: list = [1, 2]

task nap(item: int):
    cpus: 2
    output: out = "nap/{item}.txt"
    shell: '''echo $OUTFLOW_CPUS > {output.out}
              for i in $(seq 100); do [ -e go ] && break; sleep 0.2; done'''

workflow all:
    map(items -> item) { nap }
"""


def _tutorial(tmp_path: Path) -> Path:
    dest = tmp_path / "tutorial"
    shutil.copytree(EXAMPLES / "tutorial", dest, ignore=shutil.ignore_patterns(".outflow"))
    return dest


def _wait_for(predicate: Callable[[], object], timeout: float = 120,
              run: subprocess.Popen[str] | None = None) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if run is not None and run.poll() is not None:
            raise AssertionError(f"outflow ended first: {run.communicate()}")
        if time.time() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def _squeue(run: subprocess.Popen[str]) -> list[list[str]]:
    """The queued jobs of one outflow run (their name carries its pid)."""
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %j %T"], capture_output=True,
                         text=True)
    return [ln.split() for ln in out.stdout.splitlines() if f"outflow-{run.pid} " in f"{ln} "]


@pytest.mark.usefixtures("slurm")
def test_tutorial_on_slurm_through_sbatch(tmp_path: Path) -> None:
    p = _tutorial(tmp_path)
    proc = outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", "-j", "8", timeout=600)
    assert "through sbatch" in proc.stdout
    assert "Result of the mapped computation: [80, 82, 84, 86, 88, 90]" in proc.stdout
    hosts = {r[0] for r in cache_rows(p, "select host from jobs where status='done'")}
    assert hosts and all(hosts)
    proc = outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch")
    assert "0 ran, 14 up to date" in proc.stdout


@pytest.mark.usefixtures("slurm")
def test_cpus_reach_slurm_and_the_job(tmp_path: Path) -> None:
    p = make_project(tmp_path, NAP)
    run = subprocess.Popen(outflow_command() + ["--cluster", "slurm", "--cluster-submit",
                                                "sbatch"],
                           cwd=p, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: any(state == "RUNNING" for _, _, state in _squeue(run)))
        job_id = next(j for j, _, state in _squeue(run) if state == "RUNNING")
        shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True,
                               text=True).stdout
        assert "NumCPUs=2" in shown
    finally:
        (p / "go").touch()
        out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert (p / "nap" / "1.txt").read_text().strip() == "2"


@pytest.mark.usefixtures("slurm")
def test_scancel_of_a_running_job_is_reported(tmp_path: Path) -> None:
    p = make_project(tmp_path, NAP.replace("[1, 2]", "[1]"))
    run = subprocess.Popen(outflow_command() + ["--cluster", "slurm", "--cluster-submit",
                                                "sbatch"],
                           cwd=p, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: any(state == "RUNNING" for _, _, state in _squeue(run)))
    for job_id, _, _ in _squeue(run):
        subprocess.run(["scancel", job_id], check=True)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 1
    assert "error: job nap item=1 failed" in err
    assert "CANCELLED" in err
    assert not (p / "nap" / "1.txt").exists()


@pytest.mark.usefixtures("slurm")
def test_ctrl_c_cancels_every_submitted_job(tmp_path: Path) -> None:
    p = make_project(tmp_path, NAP)
    run = subprocess.Popen(outflow_command() + ["--cluster", "slurm", "--cluster-submit",
                                                "sbatch"],
                           cwd=p, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: len(_squeue(run)) >= 2)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    _wait_for(lambda: not [j for j in _squeue(run) if j[2] != "COMPLETING"], timeout=60)
    statuses = {r[0] for r in cache_rows(p, "select status from jobs")}
    assert statuses == {"interrupted"}


@pytest.mark.usefixtures("slurm")
def test_a_job_that_can_never_start_fails_with_the_reason(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task huge():
            cpus: 512
            shell: "true"
        workflow all:
            huge
    """)
    proc = outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", check=1, timeout=120)
    assert "it can never start here" in proc.stderr
    reasons = subprocess.run(["squeue", "-h", "-o", "%r"], capture_output=True, text=True).stdout
    assert "PartitionConfig" not in reasons  # cancelled, not left pending


def test_tutorial_through_drmaa(tmp_path: Path, drmaa: DrmaaTarget) -> None:
    p = _tutorial(tmp_path)
    proc = outflow(p, *drmaa.args, "-j", "8", env=drmaa.env, timeout=600)
    assert "through DRMAA" in proc.stdout
    assert "Result of the mapped computation: [80, 82, 84, 86, 88, 90]" in proc.stdout


def test_failing_job_through_drmaa(tmp_path: Path, drmaa: DrmaaTarget) -> None:
    p = make_project(tmp_path, """
        task fail():
            cpus: 2
            shell: "echo cores $OUTFLOW_CPUS; exit 3"
        workflow all:
            fail
    """)
    proc = outflow(p, *drmaa.args, check=1, env=drmaa.env, timeout=300)
    assert "error: job fail failed (exit status 3)" in proc.stderr
    assert "cores 2" in proc.stderr
    assert lines(p / "nothing") == []


def test_missing_drmaa_library_is_a_clear_error(tmp_path: Path) -> None:
    p = make_project(tmp_path, "task t():\n    shell: \"true\"\nworkflow all:\n    t\n")
    proc = outflow(p, "--cluster", "drmaa", check=2,
                   env={"DRMAA_LIBRARY_PATH": str(tmp_path / "no-such-libdrmaa.so")})
    assert "cannot load the DRMAA library" in proc.stderr
    assert "DRMAA_LIBRARY_PATH" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.usefixtures("slurm")
def test_tutorial_on_slurm_with_postgresql(tmp_path: Path, pg_url: str) -> None:
    p = _tutorial(tmp_path)
    proc = outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", "-j", "8",
                   "--db", pg_url, timeout=600)
    assert "Result of the mapped computation: [80, 82, 84, 86, 88, 90]" in proc.stdout
    assert "warning" not in proc.stderr
    assert not (p / ".outflow" / "outflow.db").exists()
    proc = outflow(p, "--db", pg_url)
    assert "0 ran, 14 up to date" in proc.stdout


@pytest.mark.usefixtures("slurm")
def test_sqlite_on_a_cluster_warns(tmp_path: Path) -> None:
    p = make_project(tmp_path, "task t():\n    shell: \"true\"\nworkflow all:\n    t\n")
    proc = outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", "-j", "16",
                   timeout=300)
    assert "warning: up to 16 jobs will write to an SQLite cache" in proc.stderr


ARRAY = """
config:
    items: list = [1, 2, 3, 4, 5]

task square(item: int):
    output: out = "sq/{item}.txt"
    shell: "echo $(( {item} * {item} )) > {output.out}"

task total(out: list):
    output: sum = "total.txt"
    shell: "cat {out} | awk '{{s += $1}} END {{print s}}' > {output.sum}"

workflow all:
    map(items -> item) { square } | total
"""


def _array_jobs(p: Path) -> list[str]:
    return sorted(f.name for f in (p / ".outflow" / "cluster").iterdir())


@pytest.mark.usefixtures("slurm")
def test_a_map_goes_out_as_one_slurm_array(tmp_path: Path) -> None:
    p = make_project(tmp_path, ARRAY)
    outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", timeout=300)
    assert (p / "total.txt").read_text().strip() == "55"
    logs = _array_jobs(p)
    # One array of five elements (ARRAYID_1.out ... ARRAYID_5.out), then total alone.
    arrays = {name.split("_")[0] for name in logs if "_" in name}
    assert len(arrays) == 1 and sum("_" in n for n in logs) == 5


@pytest.mark.usefixtures("slurm")
def test_no_cluster_arrays_submits_each_job_alone(tmp_path: Path) -> None:
    p = make_project(tmp_path, ARRAY)
    outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", "--no-cluster-arrays",
            timeout=300)
    assert (p / "total.txt").read_text().strip() == "55"
    logs = _array_jobs(p)
    assert len(logs) == 6 and not [n for n in logs if "_" in n]  # ROW.out, one per job


def test_a_map_goes_out_as_one_drmaa_bulk_job(tmp_path: Path, drmaa: DrmaaTarget) -> None:
    p = make_project(tmp_path, ARRAY)
    outflow(p, *drmaa.args, env=drmaa.env, timeout=300)
    assert (p / "total.txt").read_text().strip() == "55"
    bulk = [n for n in _array_jobs(p) if n.count(".") == 2]  # NAME.INDEX.out
    assert len(bulk) == 5


LIMITS = """
task slow():
    time: "5s"
    output: out = "slow.txt"
    shell: "echo started; touch {output.out}; sleep 120"

task fine():
    output: done = "fine.txt"
    shell: "touch {output.done}"

task flaky():
    retries: 2
    output: third = "flaky.txt"
    shell: '''n=$(cat tries 2>/dev/null || echo 0); n=$((n + 1)); echo $n > tries
              test $n -ge 3 && touch {output.third}'''
"""

# Grid Engine enforces h_vmem here; a Slurm without cgroups would not kill it.
HUNGRY = """
task hungry():
    mem: "200M"
    shell: "python3 -c 'x = bytearray(1500 * 1024 * 1024)'"
"""


def test_time_and_memory_limits_and_retries_through_drmaa(tmp_path: Path,
                                                          drmaa: DrmaaTarget) -> None:
    tasks = "slow, fine, flaky, hungry" if drmaa.sge else "slow, fine, flaky"
    text = LIMITS + (HUNGRY if drmaa.sge else "") + f"\nworkflow all:\n    ({tasks})\n"
    p = make_project(tmp_path, text)
    proc = outflow(p, *drmaa.args, "-k", check=1, env=drmaa.env, timeout=400)
    slow = proc.stderr.split("error: job slow failed")[1].split("error: job")[0]
    assert "past its time limit of 0:00:05" in slow
    assert "log: .outflow/logs/slow/" in slow and "started" in slow
    assert not (p / "slow.txt").exists()
    assert (p / "fine.txt").exists()
    assert "retry 2/2 flaky:" in proc.stdout + proc.stderr
    assert (p / "tries").read_text().strip() == "3" and (p / "flaky.txt").exists()
    if drmaa.sge:
        assert "killed by SIGKILL" in slow
        hungry = proc.stderr.split("error: job hungry failed")[1].split("error: job")[0]
        assert "MemoryError" in hungry
        assert "2 ran, 0 up to date, 2 failed" in proc.stderr
    else:
        assert "2 ran, 0 up to date, 1 failed" in proc.stderr


def _sbatch_run(p: Path, *args: str) -> subprocess.Popen[str]:
    """outflow --cluster slurm --cluster-submit sbatch, started in the background."""
    return subprocess.Popen(outflow_command() + ["--cluster", "slurm", "--cluster-submit",
                                                 "sbatch", *args],
                            cwd=p, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


HOLD = """
task hold():
    output: out = "held.txt"
    shell: "touch started; while [ ! -e go ]; do sleep 0.2; done; touch {output.out}"

workflow all:
    hold
"""


@pytest.mark.usefixtures("slurm")
def test_the_database_password_stays_off_the_job(tmp_path: Path, pg_url: str) -> None:
    from sqlalchemy import make_url

    password = make_url(pg_url).password
    assert password, "the test database URL has a password"
    secret = f":{password}@"  # user:password@host, as in the URL
    p = make_project(tmp_path, HOLD)
    run = _sbatch_run(p, "--db", pg_url)
    try:
        _wait_for(lambda: (p / "started").exists(), run=run)
        job_id = _squeue(run)[0][0]
        shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True,
                               text=True, check=True).stdout
        script = subprocess.run(["scontrol", "write", "batch_script", job_id, "-"],
                                capture_output=True, text=True, check=True).stdout
        commands = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        url_files = list((p / ".outflow" / "cluster").glob("*.url"))
        modes = [f.stat().st_mode & 0o777 for f in url_files]
    finally:
        (p / "go").touch()
        _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "outflowfile.executors.cluster.nodejob" in script and "--db-file" in script
    node = "outflowfile.executors.cluster.nodejob"
    node_lines = [ln for ln in commands.splitlines() if node in ln]
    assert node_lines
    for text in [shown, script, *node_lines]:
        assert secret not in text and pg_url not in text
    assert modes == [0o600]
    assert not list((p / ".outflow" / "cluster").glob("*.url"))  # removed at the end
    assert (p / "held.txt").exists()
    assert "0 ran, 1 up to date" in outflow(p, "--db", pg_url).stdout


LATE = """
task late():
    output: out = "late.txt"
    shell: "touch late-ended"

task never():
    output: missing = "never.txt"
    shell: "true"

workflow all:
    (late, never)
"""


@pytest.mark.usefixtures("slurm")
def test_latency_wait_waits_for_late_outputs_then_names_the_missing_one(tmp_path: Path) -> None:
    """A slow shared filesystem, for real: the output of `late` shows up only
    seconds after its job ended (written here, as another host's write would
    appear); `never`'s never does."""
    p = make_project(tmp_path, LATE)
    run = _sbatch_run(p, "-k", "--latency-wait", "12")
    try:
        _wait_for(lambda: (p / "late-ended").exists(), run=run)
        time.sleep(4)  # outflow has seen the job end by now (it polls every <= 2 s)
        (p / "late.txt").write_text("arrived late\n")
    finally:
        out, err = run.communicate(timeout=300)
    assert run.returncode == 1, err
    assert "error: job never failed" in err
    assert ("the job finished but its output file never.txt did not appear within 12 s "
            "(--latency-wait)") in err
    assert "error: job late" not in err
    statuses = dict(cache_rows(p, "select task, status from jobs"))
    assert statuses == {"late": "done", "never": "failed"}
    assert (p / "late.txt").read_text() == "arrived late\n"


LOST = """
task lost():
    output: out = "lost.txt"
    shell: "echo lost job on $(hostname); touch lost-started; sleep 120; touch {output.out}"

task revived():
    retries: 1
    output: again = "revived.txt"
    shell: '''if [ -e revived-started ]; then echo second try; touch {output.again}; exit 0; fi
              touch revived-started; sleep 120'''

workflow all:
    (lost, revived)
"""


def _node_state(node: str) -> str:
    return subprocess.run(["sinfo", "-h", "-N", "-n", node, "-o", "%T"], capture_output=True,
                          text=True).stdout.strip()


def _only_ours_run(run: subprocess.Popen[str]) -> bool:
    """No other job runs on the node (taking it down would kill those too)."""
    running = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%j"], capture_output=True,
                             text=True).stdout.split()
    return all(name == f"outflow-{run.pid}" for name in running)


def test_a_job_whose_node_goes_down_is_reported_and_retried(tmp_path: Path, slurm: str) -> None:
    p = make_project(tmp_path, LOST)
    run = _sbatch_run(p, "-k")
    try:
        _wait_for(lambda: (p / "lost-started").exists() and (p / "revived-started").exists(),
                  run=run)
        try:  # other test runs share this node: wait (a while) for their jobs to end
            _wait_for(lambda: _only_ours_run(run), timeout=60)
        except AssertionError:
            pass
        subprocess.run(["scontrol", "update", f"nodename={slurm}", "state=down",
                        "reason=outflow test: node lost"], check=True)
        _wait_for(lambda: not any(state == "RUNNING" for _, _, state in _squeue(run)), 60)
    finally:
        if _node_state(slurm).startswith(("down", "drain")):
            subprocess.run(["scontrol", "update", f"nodename={slurm}", "state=resume"])
        out, err = run.communicate(timeout=300)
    assert run.returncode == 1, err
    lost = err.split("error: job lost failed")[1]
    assert "the scheduler reports NODE_FAIL (NodeDown)" in lost
    assert "log: .outflow/logs/lost/" in lost and "lost job on" in lost
    assert "retry 1/1 revived: the scheduler reports NODE_FAIL (NodeDown)" in out + err
    assert "error: job revived" not in err
    assert (p / "revived.txt").exists() and not (p / "lost.txt").exists()


SLOW_AND_FLAKY = """
task slow():
    time: "5s"
    output: out = "slow.txt"
    shell: "echo started; touch {output.out}; sleep 240"

task flaky():
    retries: 2
    output: third = "flaky.txt"
    shell: '''n=$(cat tries 2>/dev/null || echo 0); n=$((n + 1)); echo $n > tries
              echo attempt $n; test $n -ge 3 && touch {output.third}'''

task fail():
    output: never = "never.txt"
    shell: "echo about to fail; touch {output.never}; exit 3"

workflow all:
    (slow, flaky, fail)
"""


@pytest.mark.usefixtures("slurm")
def test_time_limit_failure_and_retries_on_slurm(tmp_path: Path) -> None:
    """Slurm counts time limits in whole minutes: `time: 5s` is killed after
    one minute (plus up to ~30 s until slurmctld checks). The other jobs of
    the run (a failing one, a flaky one retried) are done meanwhile."""
    p = make_project(tmp_path, SLOW_AND_FLAKY)
    proc = outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", "-k", check=1,
                   timeout=400)
    fail = proc.stderr.split("error: job fail failed (exit status 3)")[1].split("error: job")[0]
    assert "command exited with status 3" in fail
    assert "log: .outflow/logs/fail/" in fail and "about to fail" in fail
    assert not (p / "never.txt").exists()
    slow = proc.stderr.split("error: job slow failed")[1]
    assert "the scheduler reports TIMEOUT (TimeLimit)" in slow
    assert "past its time limit of 0:00:05" in slow
    assert "log: .outflow/logs/slow/" in slow and "started" in slow
    assert not (p / "slow.txt").exists()
    text = proc.stdout + proc.stderr
    assert "retry 1/2 flaky:" in text and "retry 2/2 flaky:" in text
    logs = "".join(f.read_text() for f in (p / ".outflow" / "logs").rglob("*") if f.is_file())
    assert "attempt 3" in logs
    assert (p / "tries").read_text().strip() == "3" and (p / "flaky.txt").exists()
    assert "error: job flaky" not in proc.stderr


DEFAULTS = """
config:
    items: list = [1, 2]

task hold(item: int):
    output: out = "held/{item}.txt"
    shell: '''touch started-{item}; while [ ! -e go ]; do sleep 0.2; done
              echo ${{SLURM_JOB_ID:-none}} > {output.out}'''

task gather(out: list):
    local: true
    output: here = "here.txt"
    shell: "echo ${{SLURM_JOB_ID:-none}} > {output.here}"

workflow all:
    map(items -> item) { hold } | gather
"""


@pytest.mark.usefixtures("slurm")
def test_defaults_and_jobs_in_flight_reach_slurm_and_local_jobs_stay_here(tmp_path: Path) -> None:
    p = make_project(tmp_path, DEFAULTS)
    run = _sbatch_run(p, "-j", "1", "--cpus-per-task", "3", "--mem", "100M", "--time", "2h",
                      "--partition", "debug")
    try:
        _wait_for(lambda: any(state == "RUNNING" for _, _, state in _squeue(run)), run=run)
        in_flight = []
        for _ in range(5):  # -j 1: never a second job queued meanwhile
            in_flight.append(len(_squeue(run)))
            time.sleep(0.2)
        job_id = _squeue(run)[0][0]
        shown = subprocess.run(["scontrol", "-o", "show", "job", job_id], capture_output=True,
                               text=True).stdout
    finally:
        (p / "go").touch()
        _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert in_flight == [1] * 5
    for field in ("NumCPUs=3", "TimeLimit=02:00:00", "Partition=debug", "MinMemoryNode=100M"):
        assert field in shown
    job_ids = [(p / "held" / f"{i}.txt").read_text().strip() for i in (1, 2)]
    assert all(j.isdigit() for j in job_ids) and job_ids[0] != job_ids[1]
    assert (p / "here.txt").read_text().strip() == "none"  # local: true ran on this host


def test_resources_reach_grid_engine_and_qdel_is_reported(tmp_path: Path,
                                                          sge_drmaa: dict) -> None:
    p = make_project(tmp_path, """
        task hold():
            cpus: 2
            time: "10m"
            output: out = "held.txt"
            shell: "echo holding; touch started; sleep 120; touch {output.out}"
        workflow all:
            hold
    """)
    env = os.environ | sge_drmaa
    run = subprocess.Popen(outflow_command() + ["--cluster", "sge"], cwd=p, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    name = f"outflow-{run.pid}"
    try:
        _wait_for(lambda: (p / "started").exists(), run=run)
        shown = subprocess.run(["qstat", "-j", name], capture_output=True, text=True,
                               env=env).stdout
        subprocess.run(["qdel", name], capture_output=True, env=env, check=True)
    finally:
        _, err = run.communicate(timeout=300)
    assert "smp range: 2" in " ".join(shown.split()) and "h_rt=600" in shown
    assert run.returncode == 1
    assert "error: job hold failed" in err and "holding" in err
    assert "the scheduler reports CANCELLED" in err
    assert not (p / "held.txt").exists()


def test_native_time_is_written_as_each_way_in_reads_it() -> None:
    """sbatch reads `H:MM` as minutes:seconds, Slurm's DRMAA library only hours:minutes."""
    from outflowfile.executors.cluster.native import Defaults, native_args
    from outflowfile.run.jobspec import JobSpec

    spec = JobSpec(id=1, task="t", label="t", kind="shell", code="true", code_line=1,
                   outflowfile="/p/Outflowfile", workdir="/p", params={}, input_files={},
                   output_files={}, value_outputs=[], cpus=2, time=2 * 3600 + 1)
    assert "--time=121" in native_args("slurm", spec, Defaults())
    assert "--time=2:01" in native_args("slurm-drmaa", spec, Defaults())
    assert "h_rt=7201" in native_args("sge", spec, Defaults())


def test_the_database_password_stays_out_of_grid_engine(tmp_path: Path, sge_drmaa: dict,
                                                        pg_url: str) -> None:
    """qstat -j shows a job's command and environment to every user: the URL
    (here from OUTFLOW_DB) must be in neither."""
    from sqlalchemy import make_url

    secret = f":{make_url(pg_url).password}@"
    p = make_project(tmp_path, HOLD)
    # scripts/test.sh exports the test server's URL: a variable of ours, not outflow's.
    ours = {k: v for k, v in os.environ.items() if k != "OUTFLOW_TEST_PG_URL"}
    env = ours | sge_drmaa | {"OUTFLOW_DB": pg_url}
    run = subprocess.Popen(outflow_command() + ["--cluster", "sge"], cwd=p, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (p / "started").exists(), run=run)
        shown = subprocess.run(["qstat", "-j", f"outflow-{run.pid}"], capture_output=True,
                               text=True, env=env).stdout
    finally:
        (p / "go").touch()
        _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "outflowfile.executors.cluster.nodejob" in shown and "--db-file" in shown
    assert secret not in shown and "OUTFLOW_DB" not in shown
    assert "0 ran, 1 up to date" in outflow(p, "--db", pg_url).stdout
