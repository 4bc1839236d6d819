"""The local pool (``-j N``; serial is ``-j 1``): jobs run on this machine.

Python jobs (``run:``, ``call:``) go to long-lived worker processes
(``outflowfile.executors.worker``), so a trivial job costs a pipe round trip rather than
a Python start-up. Shell jobs run as ``bash -c`` children in their own session.
``wait`` blocks on the workers' pipes and on pidfds of every job's process
together (one ``poll`` set, kept from one wait to the next), so nothing polls
in a loop; it wakes up early enough to enforce time limits.

A worker may also hold one job *queued* behind the one it runs: sent
before the running job ends, so the worker goes on to it at once instead of
waiting for this process to collect the first result and send the next
job (``can_queue``; the engine queues only when nothing waits for cores).
A queued job is not running: it takes no cores (it takes over, when it
starts, no more cores than the job it follows frees), and its time limit
counts from its start. If its worker ends without starting it (killed
with the job before it, or the run cancelled), or the engine withdraws it
(``withdraw_queued``: the run is stopping), its result says it never ran
(``JobResult.ran``).

Killing a job means its whole process tree (``process_tree.py``): SIGTERM
first, SIGKILL after a grace period. If this process dies without cleaning
up (``kill -9``, a crash), a small guard process kills what is left
(``guard.py``).

The pool's records of its jobs and workers are in ``pool_records.py``; the
workers, seen from here, in ``pool_workers.py``; waiting for and reaping
child processes in ``processes.py``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import psutil

from outflowfile import machine
from outflowfile.executors import scripts
from outflowfile.executors.environments import EnvironmentFailure, Environments, container
from outflowfile.executors.guard import Guard
from outflowfile.executors.logs import LogFiles, read_output, writes_own_log
from outflowfile.executors.pool_records import Job, Worker
from outflowfile.executors.pool_workers import (
    close_worker,
    discard_worker,
    receive,
    remove_container,
    spawn_worker,
    stop_worker,
)
from outflowfile.executors.process_tree import finish_tree, killpg, signal_tree, wait_gone
from outflowfile.executors.processes import (
    POLL,
    describe_exit,
    exited,
    group_alive,
    pidfd,
    reap,
    sigkill_note,
)
from outflowfile.executors.spawn import start_job
from outflowfile.run.jobspec import DROP, GO, JobResult, JobSpec, thread_env

#: For this long after it starts, a job's memory counts as taken even if it
#: has not allocated it yet, so that one round of starts cannot overcommit.
MEM_RAMP_UP = 5.0


class LocalExecutor:
    """Runs jobs on this machine with at most ``cores`` cores busy and, with
    ``mem_limit``, at most that many bytes of memory asked for at once."""

    def __init__(
        self,
        cores: int,
        mem_limit: int | None = None,
        python: str = sys.executable,
        grace: float = 3.0,
    ) -> None:
        self.cores = max(1, cores)
        self.mem_limit = mem_limit
        self.python = python
        self.grace = grace
        self._host = socket.gethostname()
        self._jobs: dict[int, Job] = {}
        # What wait() blocks on: running jobs' pidfds and their workers'
        # pipes, by descriptor, with the job each belongs to.
        self._poll = select.poll()
        self._watched: dict[int, int] = {}
        self._idle: list[Worker] = []
        # Workers whose job failed, holding the job queued behind it until
        # the next wait() (GO) or withdraw_queued() (DROP): see worker.py.
        self._held: list[Worker] = []
        self._done: list[JobResult] = []  # failed to start; reported by wait()
        self._tmpdir: str | None = None
        self._closed = False
        self._guard_: Guard | None = None  # started with the first process
        # Shell jobs' environments by core count. Built once: copying
        # os.environ costs more than starting the process. Like the workers,
        # they see the environment as it was when first needed.
        self._envs: dict[int, dict[str, str]] = {}
        self._logs = LogFiles()  # shell jobs' (workers have their own)
        self._environments = Environments()  # containers, venvs, modules: checked once

    # -- the Executor protocol ---------------------------------------------

    def grant(self, cpus: int) -> int:
        return max(1, min(cpus, self.cores))

    def can_start(self, spec: JobSpec) -> bool:
        """Free cores for it and, when it asks for memory: the memory asked
        for by running jobs plus its own within ``mem_limit`` (else within
        the machine's total), and that much available now, less what jobs
        started in the last ``MEM_RAMP_UP`` seconds asked for and may not
        have taken yet."""
        if self.cores_in_use() + self.grant(spec.cpus) > self.cores:
            return False
        if spec.mem:
            limit = self.mem_limit if self.mem_limit is not None else machine.total_memory()
            if self.mem_in_use() + spec.mem > limit:
                return False
            if spec.mem > machine.available_memory() - self._mem_ramping_up():
                return False
        return True

    def can_queue(self, spec: JobSpec) -> bool:
        """Whether ``start`` would queue ``spec`` behind a running Python job
        (when ``can_start`` is False): see the module's docstring."""
        return self._queue_behind(spec) is not None

    def withdraw_queued(self) -> None:
        """Queued jobs must not start (the run stops after a failure). One
        behind a job that failed has not: its worker waits to be told, and
        is told to drop it. Any other one's worker is ended as soon as the
        job before it answers (it may have begun the queued job). Either is
        reported as never run."""
        self._release_held(DROP)
        for job in self._jobs.values():
            if job.worker is not None and job.worker.queued is not None:
                job.worker.withdrawn = True

    def start(self, spec: JobSpec) -> None:
        if self._closed:
            raise RuntimeError("the executor is closed")
        if spec.id in self._jobs:
            raise ValueError(f"job {spec.id} is already running")
        self._check_mem(spec)
        if spec.kind not in ("shell", "script", "run", "call"):
            raise ValueError(f"unknown job kind {spec.kind!r}")
        temp_log = not spec.log
        cpus = self.grant(spec.cpus)
        if temp_log or cpus != spec.cpus:  # the engine's specs need neither, usually
            spec = dataclasses.replace(spec, cpus=cpus,
                                       log=self._temp_log(spec.id) if temp_log else spec.log)
        log = os.path.join(spec.workdir, spec.log)
        started = time.time()
        if spec.environment:
            try:
                self._environments.check(spec)
            except EnvironmentFailure as exc:
                self._done.append(JobResult(id=spec.id, ok=False, error=str(exc),
                                            started=started, ended=time.time(), host=self._host))
                return
        if self.cores_in_use() + cpus > self.cores:
            behind = self._queue_behind(spec)
            if behind is not None:
                self._queue(spec, log, behind, temp_log)
                return
        try:
            if spec.kind in ("shell", "script"):
                job = self._start_shell(spec, log)
            else:
                job = self._start_python(spec, log)
        except (OSError, subprocess.SubprocessError, pickle.PicklingError) as exc:
            self._done.append(JobResult(
                id=spec.id, ok=False, error=f"cannot start the job: {exc}",
                started=started, ended=time.time(), host=self._host,
            ))
            return
        except EnvironmentFailure as exc:
            self._done.append(JobResult(id=spec.id, ok=False, error=str(exc),
                                        started=started, ended=time.time(), host=self._host))
            return
        job.temp_log = temp_log
        if spec.time:
            job.deadline = time.monotonic() + spec.time
        self._jobs[spec.id] = job
        if job.worker is not None:
            self._watch(job.worker.conn.fileno(), spec.id)
        if job.pidfd is not None:
            self._watch(job.pidfd, spec.id)

    def wait(self, timeout: float | None) -> list[JobResult]:
        end = None if timeout is None else time.monotonic() + timeout
        self._release_held(GO)  # the caller had its chance to withdraw them
        results, self._done = self._done, []
        while True:
            self._enforce_time_limits()
            if results:
                return results
            if not self._jobs:
                if end is not None:
                    time.sleep(max(0.0, end - time.monotonic()))
                return results
            timeout = self._next_timeout(end)
            events = self._poll.poll(None if timeout is None else math.ceil(timeout * 1000))
            ended = {self._watched[fd] for fd, _ in events if fd in self._watched}
            ended |= {j.spec.id for j in self._jobs.values() if j.pidfd is None and exited(j.pid)}
            readable = {fd for fd, event in events if event & select.POLLIN}
            for job_id in sorted(ended):
                result = self._collect(self._jobs[job_id], readable)
                if result is not None:
                    results.append(result)
            results += self._done  # queued jobs that will never start
            self._done = []
            if not results and end is not None and time.monotonic() >= end:
                return results

    def running(self) -> int:
        return len(self._jobs)

    def cancel_all(self) -> list[JobResult]:
        """The results of running jobs (cancelled) and of queued ones (never ran)."""
        self._release_held(DROP)
        results = self._cancel(list(self._jobs.values()))
        results += self._done
        self._done = []
        return results

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._jobs or self._held:
            self.cancel_all()
        for worker in self._idle:
            self._forget(worker.proc.pid)
            stop_worker(worker)
        self._idle.clear()
        if self._guard_ is not None:
            self._guard_.close()
            self._guard_ = None
        self._logs.discard()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    # -- more -----------------------------------------------------------------

    def cancel(self, job_id: int) -> JobResult | None:
        """Kill one running job's process tree; its (failed) result, or None
        if no such job is running."""
        job = self._jobs.get(job_id)
        if job is None:
            return None
        results = self._cancel([job])
        return results[0] if results else None

    def cores_in_use(self) -> int:
        """Of running jobs, and of those held after a failure (they may start)."""
        held = sum(w.queued.cpus for w in self._held if w.queued is not None)
        return sum(j.cpus for j in self._jobs.values()) + held

    def mem_in_use(self) -> int:
        """The memory running jobs asked for."""
        return sum(j.mem for j in self._jobs.values())

    def _mem_ramping_up(self) -> int:
        recent = time.monotonic() - MEM_RAMP_UP
        return sum(j.mem for j in self._jobs.values() if j.since > recent)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- starting -------------------------------------------------------------

    def _check_mem(self, spec: JobSpec) -> None:
        if not spec.mem:
            return
        if self.mem_limit is not None and spec.mem > self.mem_limit:
            raise ValueError(f"job {spec.label} asks for {spec.mem} bytes of memory, "
                             f"more than the limit of {self.mem_limit}")
        total = machine.total_memory()
        if spec.mem > total:
            raise ValueError(f"job {spec.label} asks for {spec.mem} bytes of memory, "
                             f"more than this machine has ({total})")

    def _start_shell(self, spec: JobSpec, log: str) -> Job:
        guard = self._guard()
        argv, env = scripts.command(spec)
        if spec.environment:
            try:
                argv, env = self._environments.shell(spec, argv, env)
            except BaseException:
                scripts.remove_job_file(spec)
                raise
        out = self._logs.open(log, writes_own_log(spec.kind, spec.code, spec.log))
        try:
            # Through spawn.py: a job forked from us would count our size
            # in its peak memory.
            proc = start_job(argv, spec.workdir,
                             self._env(spec.cpus) | env if env else self._env(spec.cpus), out)
        except BaseException:
            self._logs.close(log, out)
            scripts.remove_job_file(spec)
            raise
        # A container outlives its runtime's client: the guard removes it too.
        guard.watch(proc.pid, container.remover(spec) if spec.environment else None)
        return Job(spec=spec, cpus=spec.cpus, log=log, started=time.time(),
                   process=None, pidfd=pidfd(proc.pid), proc=proc, log_fd=out)

    def _start_python(self, spec: JobSpec, log: str) -> Job:
        try:
            data = pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise pickle.PicklingError(f"its inputs cannot be pickled: {exc}") from None
        python = (self._environments.python(spec) if spec.environment else None) or self.python
        start = self._environments.starter(spec) if spec.environment else None
        worker = self._idle_worker(python) or spawn_worker(python, self._guard(), start)
        try:
            worker.conn.send_bytes(data)
        except OSError:  # it died while idle (the OOM killer, say): use a new one
            self._forget(worker.proc.pid)
            discard_worker(worker)
            worker = spawn_worker(python, self._guard(), start)
            worker.conn.send_bytes(data)
        return Job(spec=spec, cpus=spec.cpus, log=log, started=time.time(),
                   process=worker.process, pidfd=worker.pidfd, worker=worker)

    def _idle_worker(self, python: str) -> Worker | None:
        """An idle worker running ``python`` (a venv's, or outflow's own)."""
        for i in range(len(self._idle) - 1, -1, -1):
            if self._idle[i].python == python:
                return self._idle.pop(i)
        return None

    def _queue_behind(self, spec: JobSpec) -> Job | None:
        """A running Python job that ``spec`` can be queued behind: its worker
        holds no other, it is not being killed, and it frees at least the
        cores ``spec`` takes. Not for jobs asking for memory: whether that is
        available is known only when they start."""
        if spec.kind in ("shell", "script") or spec.mem or spec.environment:
            return None
        cpus = self.grant(spec.cpus)
        for job in self._jobs.values():
            worker = job.worker
            if (worker is not None and worker.python == self.python
                    and worker.queued is None and not worker.withdrawn
                    and job.failure is None and job.cpus >= cpus):
                return job
        return None

    def _queue(self, spec: JobSpec, log: str, behind: Job, temp_log: bool) -> None:
        worker = behind.worker
        assert worker is not None
        try:
            data = pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            self._done.append(JobResult(
                id=spec.id, ok=False, error=f"cannot start the job: its inputs cannot be "
                f"pickled: {exc}", started=time.time(), ended=time.time(), host=self._host))
            return
        job = Job(spec=spec, cpus=spec.cpus, log=log, started=0.0, process=worker.process,
                  pidfd=worker.pidfd, worker=worker, temp_log=temp_log)
        worker.queued = job
        try:
            worker.conn.send_bytes(data)
        except OSError:  # the worker is dying: its running job says why
            worker.withdrawn = True

    def _answered(self, worker: Worker, failed: bool) -> None:
        """The worker answered. After a failure it waits to hear whether its
        queued job may start (see worker.py)."""
        if not failed:
            self._next_job(worker)
        elif worker.queued is None:
            self._tell(worker, GO)
            self._idle.append(worker)
        elif worker.withdrawn:
            self._tell(worker, DROP)
            self._drop_queued(worker)
        else:
            self._held.append(worker)

    def _release_held(self, verdict: str) -> None:
        held, self._held = self._held, []
        for worker in held:
            if not self._tell(worker, verdict):
                self._end_worker(worker)
                self._drop_queued(worker, idle=False)
            elif verdict == DROP:
                self._drop_queued(worker)
            else:
                self._next_job(worker)

    def _tell(self, worker: Worker, verdict: str) -> bool:
        try:
            worker.conn.send(verdict)
        except OSError:  # it died meanwhile
            return False
        return True

    def _drop_queued(self, worker: Worker, idle: bool = True) -> None:
        """Its queued job never starts: the worker was told so (or is gone)."""
        job, worker.queued = worker.queued, None
        worker.withdrawn = False
        if job is not None:
            self._done.append(_never_ran(job.spec.id, self._host))
        if idle:
            self._idle.append(worker)

    def _next_job(self, worker: Worker) -> None:
        """The worker went on: to its queued job, which is running from now
        on (withdrawn meanwhile, it is ended with its worker), or to waiting."""
        job = worker.queued
        if job is None:
            self._idle.append(worker)
            return
        if worker.withdrawn:
            self._end_worker(worker)
            self._drop_queued(worker, idle=False)
            return
        worker.queued = None
        job.started = time.time()
        job.since = time.monotonic()
        if job.spec.time:
            job.deadline = job.since + job.spec.time
        self._jobs[job.spec.id] = job
        self._watch(worker.conn.fileno(), job.spec.id)
        if worker.pidfd is not None:
            self._watch(worker.pidfd, job.spec.id)

    def _end_worker(self, worker: Worker) -> None:
        """Kill a worker (and what its job started) that has no running job
        of ours: its queued job may have begun."""
        killpg(worker.proc.pid, signal.SIGKILL)
        try:
            for child in worker.process.children(recursive=True):
                child.kill()
        except psutil.Error:
            pass
        self._forget(worker.proc.pid)
        reap(worker.proc)
        close_worker(worker)
        remove_container(worker)

    def _env(self, cpus: int) -> dict[str, str]:
        env = self._envs.get(cpus)
        if env is None:
            env = self._envs[cpus] = os.environ | thread_env(cpus)
        return env

    def _guard(self) -> Guard:
        if self._guard_ is None:
            self._guard_ = Guard(self.python)
        return self._guard_

    def _forget(self, pgid: int) -> None:
        """The group ``pgid`` is ending or ended: not the guard's to kill.
        Called before its leader is reaped, while its id cannot be reused."""
        if self._guard_ is not None:
            self._guard_.forget(pgid)

    def _temp_log(self, job_id: int) -> str:
        if self._tmpdir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="outflow-logs-")
        return os.path.join(self._tmpdir, f"job-{job_id}.log")

    # -- waiting --------------------------------------------------------------

    def _watch(self, fd: int, job_id: int) -> None:
        self._poll.register(fd, select.POLLIN)
        self._watched[fd] = job_id

    def _unwatch(self, fd: int) -> None:
        if self._watched.pop(fd, None) is not None:
            self._poll.unregister(fd)

    def _unwatch_job(self, job: Job) -> None:
        """Before its descriptors are closed (their numbers get reused)."""
        for fd in [fd for fd, job_id in self._watched.items() if job_id == job.spec.id]:
            self._unwatch(fd)

    def _killing(self, job: Job, why: str) -> None:
        """From now on only the job's end matters, not what it sends."""
        job.failure = why
        if job.worker is not None:
            self._unwatch(job.worker.conn.fileno())

    def _next_timeout(self, end: float | None) -> float | None:
        """Until the caller's timeout, a time limit or a kill escalation is
        due, whichever comes first."""
        moments = [end] if end is not None else []
        for job in self._jobs.values():
            if job.failure is None and job.deadline is not None:
                moments.append(job.deadline)
            if job.kill_at is not None:
                moments.append(job.kill_at)
            if job.pidfd is None:
                moments.append(time.monotonic() + POLL)
        if not moments:
            return None
        return max(0.0, min(moments) - time.monotonic())

    def _enforce_time_limits(self) -> None:
        now = time.monotonic()
        for job in self._jobs.values():
            if job.failure is None and job.deadline is not None and now >= job.deadline:
                self._killing(job, f"exceeded its time limit of {_duration(job.spec.time or 0)}")
                signal_tree(job, signal.SIGTERM)
                container.stop([job.spec])
                job.kill_at = now + self.grace
            elif job.kill_at is not None and now >= job.kill_at:
                signal_tree(job, signal.SIGKILL)
                job.kill_at = None

    def _collect(self, job: Job, readable: set[int] | frozenset[int] = frozenset()) -> (
        JobResult | None
    ):
        """The result of a job whose pipe or pidfd is ready; None if it is
        not finished after all (its pipe woke us with nothing to read)."""
        if job.worker is not None:
            result = self._python_result(job, readable)
        else:
            result = self._shell_result(job)
        if result is None:
            return None
        del self._jobs[job.spec.id]
        self._unwatch_job(job)
        if job.worker is not None:
            if job.worker_free:
                self._answered(job.worker, failed=job.answered and not result.ok)
            elif job.worker.queued is not None:  # the worker is gone: it never started
                self._done.append(_never_ran(job.worker.queued.spec.id, self._host))
                job.worker.queued = None
        if job.log_fd is not None:
            # Not while a process of its group may still write to it.
            printed = not self._logs.close(job.log, job.log_fd, not group_alive(job.pid))
            job.log_fd = None
            result.output = read_output(job.log) if printed else ""
        elif not job.answered:  # a worker read its job's log itself
            result.output = read_output(job.log)
        if job.withdrawn:
            result.ran = False
        if job.temp_log:
            _remove(job.log)
        return result

    def _python_result(self, job: Job, readable: set[int] | frozenset[int]) -> (
        JobResult | None
    ):
        """``readable``: descriptors that poll() has just found readable."""
        worker = job.worker
        assert worker is not None
        if job.failure is None:
            try:
                received = receive(worker.conn, worker.conn.fileno() in readable)
            except EOFError:  # it died or is dying, or a job closed our pipe
                received = None
                if not exited(worker.proc.pid, within=1.0):
                    self._killing(job, "the job closed the worker's pipe")
                    signal_tree(job, signal.SIGKILL)
            else:
                if received is None and not exited(worker.proc.pid):
                    return None
            if isinstance(received, JobResult):
                job.answered = job.worker_free = True
                return received
            if isinstance(received, str):  # a result that cannot be unpickled here
                job.worker_free = True
                return self._failed(job, received, 1)
        elif not exited(worker.proc.pid):
            return None
        self._forget(worker.proc.pid)
        code, _ = reap(worker.proc)
        self._unwatch_job(job)
        close_worker(worker)
        finish_tree(job)
        if job.failure is not None:
            return self._failed(job, job.failure, code)
        if code is not None and code >= 0:
            error = f"the worker process exited with status {code} without finishing the task"
        else:
            error = f"the worker process died: {describe_exit(code)}{sigkill_note(code)}"
        return self._failed(job, error, code)

    def _shell_result(self, job: Job) -> JobResult | None:
        assert job.proc is not None
        if not exited(job.pid):
            return None
        self._forget(job.pid)
        code, usage = reap(job.proc)
        scripts.remove_job_file(job.spec)
        if job.pidfd is not None:  # a worker's pidfd lives with the worker; this one is ours
            self._unwatch(job.pidfd)
            os.close(job.pidfd)
            job.pidfd = None
        if code != 0 or job.failure is not None:
            killpg(job.pid, signal.SIGKILL)  # what it left running in the background
            finish_tree(job)
        result = JobResult(id=job.spec.id, ok=code == 0 and job.failure is None,
                           exit_status=code, started=job.started, ended=time.time(),
                           host=self._host)
        if usage is not None:
            result.cpu_seconds = usage.ru_utime + usage.ru_stime
            result.peak_mem = usage.ru_maxrss * 1024
        if job.failure is not None:
            result.error = job.failure
        elif code != 0:
            result.error = f"command {describe_exit(code)}{sigkill_note(code)}: {job.spec.code}"
        return result

    def _failed(self, job: Job, error: str, code: int | None) -> JobResult:
        return JobResult(id=job.spec.id, ok=False, error=error, exit_status=code,
                         started=job.started, ended=time.time(), host=self._host)

    # -- killing --------------------------------------------------------------

    def _cancel(self, jobs: list[Job]) -> list[JobResult]:
        for job in jobs:
            if job.worker is not None:  # what it holds queued must not start now
                job.worker.withdrawn = True
            self._killing(job, job.failure or "cancelled")
            signal_tree(job, signal.SIGTERM)
        container.stop([j.spec for j in jobs if j.spec.environment.get("container")],
                       {j.spec.id: j.worker.container[1] for j in jobs
                        if j.worker is not None and j.worker.container is not None})
        alive = wait_gone([p for j in jobs for p in j.tree.values()], self.grace)
        if alive:
            for job in jobs:
                signal_tree(job, signal.SIGKILL)
            wait_gone([p for j in jobs for p in j.tree.values()], self.grace)
        results = []
        for job in jobs:
            result = self._collect(job)
            if result is None:  # cannot happen once its process is gone; be safe
                del self._jobs[job.spec.id]
                self._unwatch_job(job)
                if job.worker is not None and job.worker.queued is not None:
                    self._done.append(_never_ran(job.worker.queued.spec.id, self._host))
                    job.worker.queued = None
                if job.log_fd is not None:
                    self._logs.close(job.log, job.log_fd, reusable=False)
                result = self._failed(job, job.failure or "cancelled", None)
                result.ran = not job.withdrawn
            results.append(result)
        return results


def _duration(seconds: int) -> str:
    """``2s``, ``1m30s``, ``2h``."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "",
             f"{secs}s" if secs or not (hours or minutes) else ""]
    return "".join(parts)



def _never_ran(job_id: int, host: str) -> JobResult:
    return JobResult(id=job_id, ok=False, error="not started", ran=False, host=host)



def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
