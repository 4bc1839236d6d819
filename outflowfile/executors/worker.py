"""A long-lived Python worker: runs ``run:`` and ``call:`` jobs one at a time.

Started by the local executor as ``python -c <bootstrap> FD PARENT_PID``: FD is
its end of a socket pair (``multiprocessing.connection.Connection`` framing,
pickles both ways: both ends are ours). It receives ``JobSpec``s and answers
each with a ``JobResult``; ``None`` or end-of-file stops it. It must start fast,
so it imports nothing beyond the runner, psutil and the standard library.
"""

from __future__ import annotations

import faulthandler
import os
import resource
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from outflowfile import valuecodec
from outflowfile.executors import body
from outflowfile.executors.jobstate import JobState
from outflowfile.executors.logs import LogFiles, create, read_output
from outflowfile.run.jobspec import GO, JobResult, JobSpec, thread_env

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    import psutil

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    # Imported here: a node job runs run_job without them (nodejob.py).
    from multiprocessing.connection import Connection

    if argv[0] == "-":  # in a container: the pool is at the end of stdin and stdout
        conn: Any = _StdioConnection()
    else:
        fd, parent_pid = int(argv[0]), int(argv[1])
        _die_with_parent(parent_pid)
        os.set_inheritable(fd, False)  # jobs' subprocesses must not hold our pipe
        conn = Connection(fd)
    faulthandler.enable()  # a segfault leaves a Python traceback in the job's log
    # Keep print() and C-level writes to fd 1 in order in the log.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    try:
        import psutil
    except ImportError:  # an image's Python that cannot load outflow's psutil
        psutil = None

    host = os.uname().nodename  # socket.gethostname()
    me = psutil.Process() if psutil is not None else None
    logs = LogFiles()
    # After a job fails, the job sent behind it (if any) waits for GO: the
    # run may be stopping, and then it must not start at all (DROP).
    failed = False
    try:
        while True:
            spec = _receive(conn)
            if spec is None:
                return
            if isinstance(spec, str):  # GO: nothing was queued behind the failure
                failed = False
                continue
            if failed:
                failed = False
                verdict = _receive(conn)
                if verdict is None:
                    return
                if verdict != GO:
                    continue
            result = run_job(spec, host, me, logs, with_output=True)
            _send(conn, result)
            failed = not result.ok  # as sent: the pool holds what follows alike
    finally:
        logs.discard()


class _StdioConnection:
    """The pool's connection over descriptors 0 (from it) and 1 (to it),
    moved aside so that jobs get /dev/null as stdin and their log as
    stdout."""

    def __init__(self) -> None:
        from multiprocessing.connection import Connection

        self._in = Connection(os.dup(0), writable=False)
        self._out = Connection(os.dup(1), readable=False)
        for fd in (self._in.fileno(), self._out.fileno()):
            os.set_inheritable(fd, False)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
        import threading

        threading.Thread(target=_exit_on_hangup, args=(self._in.fileno(),), daemon=True).start()

    def recv(self) -> Any:
        return self._in.recv()

    def send(self, obj: Any) -> None:
        self._out.send(obj)


def _exit_on_hangup(fd: int) -> None:
    """End the worker when the pool's end of ``fd`` is closed, even in the
    middle of a job: the pool is gone (killed, say). In a container the
    worker is its first process, whose end ends every process of the job."""
    import select

    poller = select.poll()
    poller.register(fd, 0)  # only hang-up and errors: what waits is the main thread's
    while True:
        for _, event in poller.poll():
            if event & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                os._exit(1)


def _receive(conn: Connection) -> Any:
    """The next message; None at the end (or when told to stop)."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def _die_with_parent(parent_pid: int) -> None:
    """Get SIGKILL when the parent dies (Linux), and exit if it already has.

    The kernel sends it when the parent *thread* that started us ends, so the
    executor must be used from a thread that outlives its workers (the main
    one, normally). End-of-file on the pipe is the portable fallback."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os._exit(1)


def run_job(
    spec: JobSpec,
    host: str,
    me: psutil.Process | None,
    logs: LogFiles | None = None,
    with_output: bool = False,
) -> JobResult:
    """Run one job in this process, with its cores, directory and log (made
    through ``logs``, if given: see logfiles.py). ``with_output``: the result
    carries the end of the log (read here rather than by the pool, whose
    process has more to do per job)."""
    result = JobResult(id=spec.id, ok=False, host=host)
    _reset_peak_memory()
    children_rss_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu_before = _cpu_seconds()
    result.started = time.time()
    printed = [True]
    try:
        with _job_context(spec, logs, printed):
            values = body.run_python(spec)
        # Checked here, before pickling, so the message names the output.
        result.error = valuecodec.unstorable_output(spec.task, values)
        result.ok = result.error is None
        result.values = values if result.ok else {}
    except body.TaskError as exc:
        result.error = exc.message
    except Exception as exc:  # the job could not even start: bad workdir, log, ...
        result.error = f"cannot run the job: {type(exc).__name__}: {exc}"
    result.ended = time.time()
    result.cpu_seconds = max(0.0, _cpu_seconds() - cpu_before)
    result.peak_mem = _peak_memory(children_rss_before)
    result.exit_status = 0 if result.ok else 1
    if not result.ok:
        _kill_leftovers(me)
    if with_output and spec.log and printed[0]:
        result.output = read_output(os.path.join(spec.workdir, spec.log))
    return result


@contextmanager
def _job_context(spec: JobSpec, logs: LogFiles | None, printed: list[bool]) -> Iterator[None]:
    """The job's working directory, thread environment and log file on
    descriptors 1 and 2. Afterwards the directory and descriptors are put
    back, and whatever else of the process the job changed (its environment,
    ``sys.path``, umask, standard streams, the project modules it imported:
    see jobstate.py), so that the
    next job starts alike. ``printed[0]`` becomes False when the job is
    known to have printed nothing."""
    old_cwd = os.getcwd()
    _set_env(thread_env(spec.cpus))
    state = JobState.take(spec.workdir)
    try:
        os.chdir(spec.workdir)
        log = os.path.join(spec.workdir, spec.log) if spec.log else os.devnull
        with _redirected_output(log, logs if spec.log else None, printed):
            yield
    finally:
        state.restore()
        os.chdir(old_cwd)


def _set_env(values: dict[str, str]) -> None:
    for name, value in values.items():
        os.environ[name] = value


@contextmanager
def _redirected_output(log: str, logs: LogFiles | None, printed: list[bool]) -> Iterator[None]:
    """Descriptors 1 and 2 (so C code and subprocesses too) write to ``log``."""
    _flush()
    log_fd = logs.open(log) if logs is not None else create(log)
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        yield
    finally:
        _flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        if logs is not None:
            printed[0] = not logs.close(log, log_fd, reusable=not _have_children())
        else:
            os.close(log_fd)


def _have_children() -> bool:
    """Whether a process the job started is still there (running, or not
    waited for): it may still write to the job's log."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _reset_peak_memory() -> None:
    """VmHWM starts again from the current resident size."""
    try:
        fd = os.open("/proc/self/clear_refs", os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.write(fd, b"5")
    except OSError:
        pass
    finally:
        os.close(fd)


def _peak_memory(children_rss_before: int) -> int | None:
    """The job's peak resident memory in bytes: ours since the reset, or that
    of a subprocess it ran if larger (children's peak can only be told apart
    when it grew during this job). Our own ``ru_maxrss`` will not do: it
    starts at the size of the process that spawned us."""
    peak = None
    try:
        # Read raw: a text file object costs more than the read.
        fd = os.open("/proc/self/status", os.O_RDONLY | os.O_CLOEXEC)
        try:
            status = os.read(fd, 8192)
        finally:
            os.close(fd)
        start = status.index(b"VmHWM:") + 6
        peak = int(status[start : status.index(b"kB", start)]) * 1024
    except (OSError, ValueError):
        pass
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if children > children_rss_before:
        peak = max(peak or 0, children * 1024)
    return peak


def _cpu_seconds() -> float:
    """Our CPU time and that of the subprocesses we waited for (two system
    calls; psutil reads and parses /proc for it)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _kill_leftovers(me: psutil.Process | None) -> None:
    """A failed job may leave subprocesses behind; the next job must not
    inherit them (``me``: this process, None until asked for)."""
    try:
        import psutil
    except ImportError:
        return
    try:
        me = me or psutil.Process()
        children = me.children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(children, timeout=1)


def _send(conn: Connection, result: JobResult) -> None:
    try:
        conn.send(result)
        return
    except (BrokenPipeError, ConnectionResetError):
        os._exit(0)  # the executor is gone
    except Exception:  # a value that cannot be pickled
        pass
    result.ok = False
    result.exit_status = 1
    result.error = _unpicklable(result.values)
    result.values = {}
    conn.send(result)


def _unpicklable(values: dict[str, Any]) -> str:
    import pickle

    for name, value in values.items():
        try:
            pickle.dumps(value)
        except Exception as exc:
            return (f"the output {name!r} cannot be passed on: {type(value).__name__} "
                    f"values cannot be pickled ({exc})")
    return "the outputs cannot be pickled"


if __name__ == "__main__":
    main(sys.argv[1:])
