"""The local pool, with real processes: workers, shells, signals, limits.

No test asserts on how long something took; concurrency is checked through
the start and end times each job recorded.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from outflowfile import machine
from outflowfile.executors.local import LocalExecutor
from outflowfile.language.patterns import format_command
from outflowfile.run.jobspec import JobResult, JobSpec

MiB = 1 << 20


def job(tmp_path: Path, job_id: int, kind: str, code: str, **fields: Any) -> JobSpec:
    values: dict[str, Any] = dict(
        id=job_id, task=f"task{job_id}", label=f"task{job_id}", kind=kind,
        code=textwrap.dedent(code).strip() + "\n", code_line=1,
        outflowfile=str(tmp_path / "Outflowfile"), workdir=str(tmp_path), params={},
        input_files={}, output_files={}, value_outputs=[], cpus=1,
        log=f".outflow/logs/job{job_id}.log",
    )
    values.update(fields)
    return JobSpec(**values)


def run_all(ex: LocalExecutor, specs: list[JobSpec]) -> dict[int, JobResult]:
    """A minimal scheduler: start what fits, in order; collect everything."""
    pending = list(specs)
    results: dict[int, JobResult] = {}
    while pending or ex.running():
        while pending and ex.can_start(pending[0]):
            ex.start(pending.pop(0))
        for result in ex.wait(30):
            results[result.id] = result
    return results


def overlap(a: JobResult, b: JobResult) -> bool:
    return a.started < b.ended and b.started < a.ended


def wait_for_file(path: Path, timeout: float = 20) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def gone(pid: int) -> bool:
    """Ended: no such process, or a zombie waiting for init to reap it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def executor() -> Iterator[Any]:
    made: list[LocalExecutor] = []

    def make(cores: int, **kwargs: Any) -> LocalExecutor:
        ex = LocalExecutor(cores, **kwargs)
        made.append(ex)
        return ex

    yield make
    for ex in made:
        ex.close()


# -- cores and memory -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["run", "shell"])
def test_two_jobs_overlap_on_two_cores(tmp_path: Path, executor: Any, kind: str) -> None:
    code = "import time; time.sleep(1)" if kind == "run" else "sleep 1"
    results = run_all(executor(2), [job(tmp_path, i, kind, code) for i in (1, 2)])
    assert results[1].ok and results[2].ok
    assert overlap(results[1], results[2])


@pytest.mark.parametrize("kind", ["run", "shell"])
def test_one_core_runs_one_job_at_a_time(tmp_path: Path, executor: Any, kind: str) -> None:
    code = "import time; time.sleep(0.3)" if kind == "run" else "sleep 0.3"
    results = run_all(executor(1), [job(tmp_path, i, kind, code) for i in (1, 2)])
    assert results[1].ok and results[2].ok
    assert not overlap(results[1], results[2])


def test_more_cpus_than_cores_takes_all_cores(tmp_path: Path, executor: Any) -> None:
    ex = executor(2)
    assert ex.grant(5) == 2
    shell = job(tmp_path, 1, "shell", 'echo "$OUTFLOW_CPUS $OMP_NUM_THREADS"', cpus=5)
    python = job(tmp_path, 2, "run", """
        import os
        print(os.environ["OUTFLOW_CPUS"], os.environ["OMP_NUM_THREADS"], cpus)
    """, cpus=5)
    results = run_all(ex, [shell, python])
    assert results[1].output == "2 2\n"
    assert results[2].output == "2 2 2\n"
    assert not overlap(results[1], results[2])  # each took both cores


def test_mem_limit_runs_memory_jobs_one_at_a_time(tmp_path: Path, executor: Any) -> None:
    ex = executor(2, mem_limit=150 * MiB)
    specs = [job(tmp_path, i, "shell", "sleep 0.5", mem=100 * MiB) for i in (1, 2)]
    results = run_all(ex, specs)
    assert results[1].ok and results[2].ok
    assert not overlap(results[1], results[2])


def test_memory_jobs_do_not_overcommit_the_machine(tmp_path: Path, executor: Any) -> None:
    # Without --resources, two jobs asking for 60% of what is free each must
    # not run together, even though neither has allocated anything yet.
    mem = int(machine.available_memory() * 0.6)
    specs = [job(tmp_path, i, "shell", "sleep 0.5", mem=mem) for i in (1, 2)]
    results = run_all(executor(2), specs)
    assert results[1].ok and results[2].ok
    assert not overlap(results[1], results[2])


def test_mem_beyond_the_limit_is_refused(tmp_path: Path, executor: Any) -> None:
    ex = executor(2, mem_limit=100 * MiB)
    with pytest.raises(ValueError, match="more than the limit"):
        ex.start(job(tmp_path, 1, "shell", "true", mem=200 * MiB))


# -- output, CPU time, memory ---------------------------------------------------


def test_output_of_print_c_writes_and_subprocesses_is_captured(
    tmp_path: Path, executor: Any
) -> None:
    code = """
        import os, subprocess, sys
        print("from print")
        os.write(1, b"from fd 1\\n")
        print("from stderr", file=sys.stderr)
        subprocess.run(["echo", "from a subprocess"], check=True)
    """
    result = run_all(executor(1), [job(tmp_path, 1, "run", code)])[1]
    expected = "from print\nfrom fd 1\nfrom stderr\nfrom a subprocess\n"
    assert result.ok, result.error
    assert result.output == expected
    assert (tmp_path / ".outflow/logs/job1.log").read_text() == expected


def test_shell_output_reaches_the_log(tmp_path: Path, executor: Any) -> None:
    result = run_all(executor(1), [job(tmp_path, 1, "shell", "echo out; echo err >&2")])[1]
    assert result.output == "out\nerr\n"
    assert (tmp_path / ".outflow/logs/job1.log").read_text() == "out\nerr\n"


def test_values_and_measurements_come_back(tmp_path: Path, executor: Any) -> None:
    busy = """
        import time
        end = time.process_time() + 0.5
        while time.process_time() < end:
            pass
        return 7
    """
    shell_busy = "python3 -c '" + textwrap.dedent(busy).replace("return 7", "") + "'"
    results = run_all(executor(2), [
        job(tmp_path, 1, "run", busy, value_outputs=["x"]),
        job(tmp_path, 2, "shell", shell_busy),
    ])
    assert results[1].values == {"x": 7}
    assert results[1].exit_status == 0
    assert results[1].host
    assert results[1].cpu_seconds is not None and results[1].cpu_seconds > 0.2
    assert results[2].cpu_seconds is not None and results[2].cpu_seconds > 0.2


def test_peak_memory_is_measured_per_job(tmp_path: Path, executor: Any) -> None:
    ex = executor(1)  # one worker: the second job runs where the first did
    big = job(tmp_path, 1, "run", """
        import os
        block = b"x" * (200 * 1024 * 1024)
        return os.getpid()
    """, value_outputs=["pid"])
    small = job(tmp_path, 2, "run", "import os; return os.getpid()", value_outputs=["pid"])
    results = run_all(ex, [big, small])
    assert results[1].values == results[2].values  # the same worker
    assert results[1].peak_mem is not None and results[1].peak_mem >= 150 * MiB
    assert results[2].peak_mem is not None and results[2].peak_mem < 100 * MiB


def test_peak_memory_of_a_shell_job(tmp_path: Path, executor: Any) -> None:
    code = "python3 -c 'b = b\"x\" * (200 * 1024 * 1024)'"
    result = run_all(executor(1), [job(tmp_path, 1, "shell", code)])[1]
    assert result.ok, result.output
    assert result.peak_mem is not None and result.peak_mem >= 150 * MiB


def test_workers_are_reused(tmp_path: Path, executor: Any) -> None:
    specs = [job(tmp_path, i, "run", "import os; return os.getpid()", value_outputs=["pid"])
             for i in range(20)]
    results = run_all(executor(2), specs)
    assert all(r.ok for r in results.values())
    assert len({r.values["pid"] for r in results.values()}) <= 2


def test_unpicklable_output_is_named(tmp_path: Path, executor: Any) -> None:
    spec = job(tmp_path, 1, "run", "return lambda: 1", value_outputs=["f"])
    result = run_all(executor(1), [spec])[1]
    assert not result.ok
    assert "'f'" in (result.error or "")


# -- failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("import ctypes; ctypes.string_at(0)", "killed by signal 11 (SIGSEGV)"),
        ("import os; os._exit(3)", "exited with status 3 without finishing the task"),
    ],
)
def test_a_dying_worker_fails_only_its_job(
    tmp_path: Path, executor: Any, code: str, error: str
) -> None:
    ex = executor(1)
    results = run_all(ex, [
        job(tmp_path, 1, "run", code),
        job(tmp_path, 2, "run", "return 'still fine'", value_outputs=["x"]),
    ])
    assert not results[1].ok
    assert error in (results[1].error or "")
    assert results[2].ok and results[2].values == {"x": "still fine"}


def test_python_error_gives_the_traceback(tmp_path: Path, executor: Any) -> None:
    (tmp_path / "Outflowfile").write_text("task task1():\n    run:\n        x = 1\n        1 / 0\n")
    spec = job(tmp_path, 1, "run", "x = 1\n1 / 0", code_line=3)
    result = run_all(executor(1), [spec])[1]
    assert not result.ok and result.exit_status == 1
    assert f'File "{tmp_path / "Outflowfile"}", line 4, in task1' in (result.error or "")


def test_shell_exit_status_and_command_in_the_error(tmp_path: Path, executor: Any) -> None:
    result = run_all(executor(1), [job(tmp_path, 1, "shell", "echo before; exit 3")])[1]
    assert not result.ok
    assert result.exit_status == 3
    assert result.error == "command exited with status 3: echo before; exit 3\n"
    assert result.output == "before\n"


def test_pipefail_fails_a_pipeline(tmp_path: Path, executor: Any) -> None:
    result = run_all(executor(1), [job(tmp_path, 1, "shell", "false | cat")])[1]
    assert not result.ok and result.exit_status == 1


@pytest.mark.parametrize("kind", ["run", "shell"])
def test_time_limit_kills_the_job(tmp_path: Path, executor: Any, kind: str) -> None:
    code = "import time; time.sleep(60)" if kind == "run" else "sleep 60"
    ex = executor(2)
    results = run_all(ex, [
        job(tmp_path, 1, kind, code, time=1),
        job(tmp_path, 2, kind, "print('ok')" if kind == "run" else "echo ok"),
    ])
    assert not results[1].ok
    assert results[1].error == "exceeded its time limit of 1s"
    assert results[2].ok


@pytest.mark.parametrize("kind", ["run", "shell"])
def test_time_limit_kills_a_job_that_ignores_sigterm(
    tmp_path: Path, executor: Any, kind: str
) -> None:
    if kind == "run":
        code = """
            import signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(60)
        """
    else:
        code = "trap '' TERM; sleep 60 & wait; sleep 60"
    result = run_all(executor(1, grace=0.5), [job(tmp_path, 1, kind, code, time=1)])[1]
    assert not result.ok
    assert result.error == "exceeded its time limit of 1s"
    assert result.exit_status == -9


def test_a_file_name_is_not_shell_code(tmp_path: Path, executor: Any) -> None:
    name = "a b;touch PWNED"
    (tmp_path / name).write_text("content\n")
    command = format_command(
        "cat {input.text} > {output.copy}",
        params={}, input_files={"text": name}, output_files={"copy": "copy.txt"},
        cpus=1, log="",
    )
    spec = job(tmp_path, 1, "shell", command, input_files={"text": name},
               output_files={"copy": "copy.txt"})
    result = run_all(executor(1), [spec])[1]
    assert result.ok, result.error
    assert (tmp_path / "copy.txt").read_text() == "content\n"
    assert not (tmp_path / "PWNED").exists()


# -- cancelling -----------------------------------------------------------------------


def test_cancel_all_kills_whole_process_trees(tmp_path: Path, executor: Any) -> None:
    ex = executor(2)
    shell = job(tmp_path, 1, "shell", """
        sleep 300 &
        echo $! > shell.tmp
        sleep 300 &
        echo $! $$ >> shell.tmp
        mv shell.tmp shell.pids
        wait
    """)
    python = job(tmp_path, 2, "run", """
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "300"])
        with open("python.tmp", "w") as f:
            f.write(f"{child.pid} {os.getpid()}\\n")
        os.rename("python.tmp", "python.pids")
        time.sleep(300)
    """)
    ex.start(shell)
    ex.start(python)
    pids = [int(p) for p in wait_for_file(tmp_path / "shell.pids").split()]
    pids += [int(p) for p in wait_for_file(tmp_path / "python.pids").split()]
    assert len(pids) == 5 and not any(gone(p) for p in pids)

    results = ex.cancel_all()

    assert sorted(r.id for r in results) == [1, 2]
    assert all(not r.ok and r.error == "cancelled" for r in results)
    assert ex.running() == 0
    assert [p for p in pids if not gone(p)] == []


def test_cancel_one_job(tmp_path: Path, executor: Any) -> None:
    ex = executor(2)
    ex.start(job(tmp_path, 1, "shell", "sleep 300"))
    ex.start(job(tmp_path, 2, "shell", "echo done"))
    result = ex.cancel(1)
    assert result is not None and not result.ok and result.error == "cancelled"
    assert ex.cancel(1) is None
    rest = run_all(ex, [])
    assert rest[2].ok


def test_close_leaves_no_process_behind(tmp_path: Path) -> None:
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    ex = LocalExecutor(2)
    results = run_all(ex, [job(tmp_path, i, "run", "pass") for i in range(4)])
    assert all(r.ok for r in results.values())
    ex.start(job(tmp_path, 9, "shell", "sleep 300"))
    ex.close()
    ex.close()  # twice is fine
    left = [p for p in me.children(recursive=True) if p.pid not in before and not gone(p.pid)]
    assert left == []


def test_worker_dies_with_its_parent(tmp_path: Path) -> None:
    # A parent process that starts a worker and is then killed outright.
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {os.getcwd()!r})
        from outflowfile.executors.local import LocalExecutor
        from outflowfile.run.jobspec import JobSpec
        ex = LocalExecutor(1)
        ex.start(JobSpec(id=1, task="t", label="t", kind="run",
                         code="import os, time\\nprint(os.getpid(), flush=True)\\ntime.sleep(300)",
                         code_line=1, outflowfile="x", workdir={str(tmp_path)!r}, params={{}},
                         input_files={{}}, output_files={{}}, value_outputs=[], cpus=1,
                         log="worker.log"))
        time.sleep(300)
    """))
    parent = psutil.Popen([sys.executable, str(script)])
    try:
        worker_pid = int(wait_for_file(tmp_path / "worker.log").split()[0])
        parent.kill()
        parent.wait()
        psutil.wait_procs([psutil.Process(worker_pid)], timeout=10)
        assert gone(worker_pid)
    finally:
        with contextlib.suppress(psutil.Error):
            parent.kill()


def test_workers_stay_light(tmp_path: Path, executor: Any) -> None:
    # Workers start often; they must not pay for the CLI, parser or database.
    code = """
        import sys
        heavy = {"click", "lark", "sqlalchemy"}
        return sorted(m for m in sys.modules if m.split(".")[0] in heavy)
    """
    result = run_all(executor(1), [job(tmp_path, 1, "run", code, value_outputs=["x"])])[1]
    assert result.ok, result.error
    assert result.values == {"x": []}


def test_many_shell_jobs_under_a_small_descriptor_limit(tmp_path: Path) -> None:
    """Each shell job's pidfd is closed when the job ends: with a leak, a run
    of more jobs than ``ulimit -n`` fails with "Too many open files"."""
    from outflowtest import make_project, outflow_command

    project = make_project(tmp_path / "p", """
        config:
            items: list = [{items}]

        task copy(i: int):
            output: txt = "out/{i}.txt"
            shell: "echo {i} > {output.txt}"

        workflow all:
            map(items -> i) { copy }
        """.replace("{items}", ", ".join(str(i) for i in range(150))))
    command = " ".join(outflow_command())
    proc = subprocess.run(["bash", "-c", f"ulimit -n 64 && exec {command} -j 2 -q"],
                          cwd=project, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(list((project / "out").iterdir())) == 150


# -- jobs queued in a worker behind a running one -------------------------------------


def queue_all(ex: LocalExecutor, specs: list[JobSpec]) -> dict[int, JobResult]:
    """``run_all``, queueing what does not fit behind running jobs when it can."""
    pending = list(specs)
    results: dict[int, JobResult] = {}
    while pending or ex.running():
        while pending and (ex.can_start(pending[0]) or ex.can_queue(pending[0])):
            ex.start(pending.pop(0))
        for result in ex.wait(30):
            results[result.id] = result
    return results


def test_a_queued_job_starts_when_the_one_before_it_ends(
    tmp_path: Path, executor: Any
) -> None:
    ex = executor(1)
    first = job(tmp_path, 1, "run", "import time; time.sleep(0.5)")
    second = job(tmp_path, 2, "run", "return 2", value_outputs=["x"])
    ex.start(first)
    assert not ex.can_start(second) and ex.can_queue(second)
    ex.start(second)
    assert ex.running() == 1 and ex.cores_in_use() == 1, "a queued job is not running"
    results = {r.id: r for r in ex.wait(30)}
    while len(results) < 2:
        results.update((r.id, r) for r in ex.wait(30))
    assert results[1].ok and results[2].ok and results[2].values == {"x": 2}
    assert results[2].started >= results[1].ended
    assert ex.running() == 0


def test_only_python_jobs_without_memory_needs_are_queued(
    tmp_path: Path, executor: Any
) -> None:
    ex = executor(1)
    ex.start(job(tmp_path, 1, "run", "import time; time.sleep(0.3)"))
    assert not ex.can_queue(job(tmp_path, 2, "shell", "true"))
    assert not ex.can_queue(job(tmp_path, 3, "run", "pass", mem=MiB))
    assert ex.can_queue(job(tmp_path, 4, "run", "pass"))
    big = executor(2)
    big.start(job(tmp_path, 5, "run", "import time; time.sleep(0.3)"))
    big.start(job(tmp_path, 6, "run", "import time; time.sleep(0.3)"))
    assert not big.can_queue(job(tmp_path, 7, "run", "pass", cpus=2)), \
        "it would take more cores than the job before it frees"


def test_a_queued_jobs_time_limit_counts_from_its_start(
    tmp_path: Path, executor: Any
) -> None:
    # Queued for 1.5 s, then 0.5 s of its own: within its limit of 1 s only
    # if the limit counts from when it started.
    ex = executor(1)
    results = queue_all(ex, [
        job(tmp_path, 1, "run", "import time; time.sleep(1.5)"),
        job(tmp_path, 2, "run", "import time; time.sleep(0.5)", time=1),
        job(tmp_path, 3, "run", "import time; time.sleep(60)", time=1),
    ])
    assert results[1].ok and results[2].ok, results[2].error
    assert results[3].error == "exceeded its time limit of 1s"


def test_a_job_queued_behind_one_killed_for_its_time_comes_back_unstarted(
    tmp_path: Path, executor: Any
) -> None:
    ex = executor(1)
    marker = tmp_path / "second-ran"
    ex.start(job(tmp_path, 1, "run", "import time; time.sleep(60)", time=1))
    ex.start(job(tmp_path, 2, "run", f"open({str(marker)!r}, 'w').close()"))
    results: dict[int, JobResult] = {}
    while len(results) < 2:
        results.update((r.id, r) for r in ex.wait(30))
    assert results[1].error == "exceeded its time limit of 1s"
    assert results[2].ran is False and not results[2].ok
    assert not marker.exists()


def test_a_dying_worker_returns_its_queued_job_unstarted(
    tmp_path: Path, executor: Any
) -> None:
    ex = executor(1)
    ex.start(job(tmp_path, 1, "run", "import os, time; time.sleep(0.3); os._exit(3)"))
    ex.start(job(tmp_path, 2, "run", "return 1", value_outputs=["x"]))
    results: dict[int, JobResult] = {}
    while len(results) < 2:
        results.update((r.id, r) for r in ex.wait(30))
    assert "exited with status 3" in (results[1].error or "")
    assert results[1].ran and results[2].ran is False
    ex.start(job(tmp_path, 2, "run", "return 1", value_outputs=["x"]))  # as the engine does
    (again,) = ex.wait(30)
    assert again.ok and again.values == {"x": 1}


def test_cancel_all_reports_queued_jobs_as_never_run(tmp_path: Path, executor: Any) -> None:
    ex = executor(1)
    ex.start(job(tmp_path, 1, "run", "import time; time.sleep(60)"))
    ex.start(job(tmp_path, 2, "run", "return 1"))
    pid = next(iter(ex._jobs.values())).pid
    results = {r.id: r for r in ex.cancel_all()}
    assert set(results) == {1, 2}
    assert results[1].ran and results[1].error == "cancelled"
    assert results[2].ran is False
    assert ex.running() == 0
    assert gone(pid)


def test_a_withdrawn_queued_job_does_not_run(tmp_path: Path, executor: Any) -> None:
    ex = executor(1)
    ex.start(job(tmp_path, 1, "run", "import time; time.sleep(0.5)"))
    ex.start(job(tmp_path, 2, "run", "import time; time.sleep(60)"))
    ex.withdraw_queued()
    results: dict[int, JobResult] = {}
    while len(results) < 2:
        results.update((r.id, r) for r in ex.wait(30))
    assert results[1].ok
    assert results[2].ran is False
    assert ex.running() == 0
    # The worker that held it is gone; the next job gets another one.
    ex.start(job(tmp_path, 3, "run", "return 3", value_outputs=["x"]))
    (third,) = ex.wait(30)
    assert third.ok and third.values == {"x": 3}


def test_a_job_queued_behind_a_failure_waits_for_the_callers_word(
    tmp_path: Path, executor: Any
) -> None:
    marker = tmp_path / "queued-ran"
    ex = executor(1)
    ex.start(job(tmp_path, 1, "run", "import time; time.sleep(0.3); raise ValueError('x')"))
    ex.start(job(tmp_path, 2, "run", f"open({str(marker)!r}, 'w').close()"))
    (failed,) = ex.wait(30)
    assert failed.id == 1 and not failed.ok
    time.sleep(0.3)  # were it not held, it would have run by now
    assert not marker.exists()
    ex.withdraw_queued()
    (dropped,) = ex.wait(30)
    assert dropped.id == 2 and dropped.ran is False
    assert not marker.exists()
    # The same again, but the caller goes on: the held job runs.
    ex.start(job(tmp_path, 3, "run", "import time; time.sleep(0.3); raise ValueError('x')"))
    ex.start(job(tmp_path, 4, "run", f"open({str(marker)!r}, 'w').close()"))
    (failed,) = ex.wait(30)
    assert failed.id == 3
    (ran,) = ex.wait(30)
    assert ran.id == 4 and ran.ok and marker.exists()
