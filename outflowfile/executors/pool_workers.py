"""The worker processes of the local pool, seen from the pool: starting one,
reading its answer, stopping it. What runs inside them is ``worker.py``.
"""

from __future__ import annotations

import os
import pickle
import select
import socket
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import psutil

from outflowfile.executors.environments import container
from outflowfile.executors.guard import Guard
from outflowfile.executors.pool_records import Worker
from outflowfile.executors.processes import pidfd, reap
from outflowfile.run.jobspec import JobResult

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Started with -c rather than -m so the worker finds this very package without
# PYTHONPATH, which jobs would otherwise inherit.
# Its first argument: the directories to append to sys.path, joined by
# os.pathsep (outflow's own site-packages too, for a worker in a venv).
STDIO = "-"  # in place of its descriptor: the worker talks over stdin and stdout
WORKER_BOOT = (
    "import os, sys; sys.path += sys.argv.pop(1).split(os.pathsep); "
    "from outflowfile.executors.worker import main; main(sys.argv[1:])"
)


def spawn_worker(python: str, guard: Guard,
                 start: Callable[[list[str], list[str]], tuple[list[str], str]] | None = None,
                 ) -> Worker:
    """Start a worker in its own session, watched by ``guard``. ``start``:
    for a worker in a container, what makes the argv starting it there (from
    its own, run with the image's ``python3``) and the container's name; the
    worker then talks over its standard input and output."""
    ours, theirs = socket.socketpair()
    box: tuple[str, str] | None = None
    with ours, theirs:
        if start is None:
            argv = [python, "-c", WORKER_BOOT, _paths(python), str(theirs.fileno()),
                    str(os.getpid())]
            stdio: dict[str, Any] = {"pass_fds": [theirs.fileno()],
                                     "stdin": subprocess.DEVNULL,
                                     "stdout": subprocess.DEVNULL}
        else:
            shared = [PACKAGE_PARENT, *outflow_site_dirs()]
            argv, name = start(["python3", "-c", WORKER_BOOT, os.pathsep.join(shared), STDIO,
                                "0"], sorted({p for p in shared if os.path.isdir(p)}))
            box = (argv[0], name)
            stdio = {"stdin": theirs, "stdout": theirs}
        proc = subprocess.Popen(argv, start_new_session=True, **stdio)
        conn = Connection(ours.detach())
    guard.watch(proc.pid)
    return Worker(proc=proc, process=psutil.Process(proc.pid), conn=conn,
                  pidfd=pidfd(proc.pid), python=python, container=box)


def _paths(python: str) -> str:
    """Where a worker finds outflow: its package; in another interpreter (a
    venv's), outflow's own packages too, after the venv's."""
    if python == sys.executable:
        return PACKAGE_PARENT
    return os.pathsep.join([PACKAGE_PARENT, *outflow_site_dirs()])


def outflow_site_dirs() -> list[str]:
    """The directories outflow's Python finds its installed packages in."""
    return [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]


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
    return read_answer(data)


def read_answer(data: bytes) -> JobResult | str:
    """A worker's answer as received: its ``JobResult``, or why it cannot be read."""
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
        # A container's runtime removes it before exiting (--rm).
        worker.proc.wait(timeout=2 if worker.container is None else container.STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        worker.proc.kill()
        worker.proc.wait()
        remove_container(worker)


def remove_container(worker: Worker) -> None:
    """Remove a killed worker's container: killing its runtime's client
    does not stop it."""
    if worker.container is not None:
        container.remove([worker.container])
