"""The worker processes of the local pool, seen from the pool: starting one,
reading its answer, stopping it. What runs inside them is ``worker.py``.
"""

from __future__ import annotations

import os
import pickle
import select
import socket
import subprocess
from multiprocessing.connection import Connection

import psutil

from outflowfile.executors.guard import Guard
from outflowfile.executors.pool_records import Worker
from outflowfile.executors.processes import pidfd, reap
from outflowfile.run.jobspec import JobResult

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Started with -c rather than -m so the worker finds this very package without
# PYTHONPATH, which jobs would otherwise inherit.
WORKER_BOOT = (
    "import sys; sys.path.append(sys.argv.pop(1)); "
    "from outflowfile.executors.worker import main; main(sys.argv[1:])"
)


def spawn_worker(python: str, guard: Guard) -> Worker:
    """Start a worker in its own session, watched by ``guard``."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = subprocess.Popen(
            [python, "-c", WORKER_BOOT, PACKAGE_PARENT,
             str(theirs.fileno()), str(os.getpid())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal reaches only us
        )
        conn = Connection(ours.detach())
    guard.watch(proc.pid)
    return Worker(proc=proc, process=psutil.Process(proc.pid), conn=conn,
                  pidfd=pidfd(proc.pid))


def receive(conn: Connection, readable: bool = False) -> JobResult | str | None:
    """A worker's answer: its ``JobResult``, an error message if it cannot be
    read here, or None when there is nothing to read yet. Raises ``EOFError``
    when the worker is gone. ``readable``: poll() has just said so (an
    answer is there, or the end of the pipe: reading waits at most for the
    rest of an answer the worker is writing)."""
    try:
        # select() on one descriptor: Connection.poll() builds a selector for it.
        if not readable and not select.select([conn.fileno()], [], [], 0)[0]:
            return None
        data = conn.recv_bytes()
    except OSError:
        raise EOFError from None
    try:
        result = pickle.loads(data)
    except Exception as exc:  # e.g. a value of a class this process cannot import
        return f"cannot receive the job's outputs: {type(exc).__name__}: {exc}"
    if not isinstance(result, JobResult):
        return f"the worker sent {type(result).__name__} instead of a result"
    return result


def close_worker(worker: Worker) -> None:
    worker.conn.close()
    if worker.pidfd is not None:
        os.close(worker.pidfd)
        worker.pidfd = None


def discard_worker(worker: Worker) -> None:
    """Forget a worker that died while idle."""
    reap(worker.proc)
    close_worker(worker)


def stop_worker(worker: Worker) -> None:
    try:
        worker.conn.send(None)
    except OSError:
        pass
    close_worker(worker)
    try:
        worker.proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        worker.proc.kill()
        worker.proc.wait()
