"""A ``run:``/``call:`` body in its image where there is no pool to keep a
worker: the cluster's node job (and a worker's job, which runs as one).

The body runs as it does on the local pool: a Python worker (``worker.py``)
started inside the image with ``RUNTIME run -i --rm IMAGE python3 -c BOOT``,
outflow's package and site directories mounted read-only, talking over its
standard input and output. It gets the one job, answers with its
``JobResult`` (values, error, CPU time, peak memory), and ends when its
input closes. The image's ``python3`` is not looked for beforehand (that
would start a second container per job): only when the worker ends without
an answer is the image probed, to say why in the local pool's words.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import time
from multiprocessing.connection import Connection

from outflowfile.executors.environments import EnvironmentFailure, check_container, container
from outflowfile.executors.pool_workers import (
    PACKAGE_PARENT,
    STDIO,
    WORKER_BOOT,
    outflow_site_dirs,
    read_answer,
)
from outflowfile.run.jobspec import JobResult, JobSpec

END_TIMEOUT = 30.0  # for the worker's container to end once its input is closed


def run_in_image(spec: JobSpec, host: str) -> JobResult:
    """Run the Python job ``spec`` in a worker in its image; ``host``: this
    machine's name, recorded as where the job ran."""
    started = time.time()
    try:
        check_container(spec)
    except EnvironmentFailure as exc:
        return _failed(spec, host, started, str(exc))
    shared = [PACKAGE_PARENT, *outflow_site_dirs()]
    box = f"outflow-worker-{os.getpid()}-{spec.id}"
    argv = container.worker_argv(
        spec, box, ["python3", "-c", WORKER_BOOT, os.pathsep.join(shared), STDIO, "0"],
        sorted({p for p in shared if os.path.isdir(p)}))
    ours, theirs = socket.socketpair()
    with ours, theirs:
        try:
            proc = subprocess.Popen(argv, stdin=theirs.fileno(), stdout=theirs.fileno())
        except OSError as exc:
            return _failed(spec, host, started, f"container: cannot start "
                           f"{container.kind(argv[0])}: {exc}")
        conn = Connection(ours.detach())
    try:
        answer = _ask(conn, spec)
    finally:
        conn.close()  # the worker's input ends: it exits, and its container with it
        status = _end(proc, spec, box)
    if isinstance(answer, JobResult):
        answer.host = host
        return answer
    return _failed(spec, host, started, answer or _why_no_answer(spec, status))


def _ask(conn: Connection, spec: JobSpec) -> JobResult | str | None:
    """The worker's answer to ``spec``; a message when it cannot be read,
    None when the worker ended without one."""
    try:
        conn.send_bytes(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
        data = conn.recv_bytes()
    except (OSError, EOFError):
        return None
    return read_answer(data)


def _end(proc: subprocess.Popen[bytes], spec: JobSpec, box: str) -> int:
    """Wait for the worker's runtime client; remove its container if it
    does not end. Its exit status."""
    try:
        return proc.wait(timeout=END_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        container.remove([(spec.environment["runtime"], box)])
        return proc.wait()


def _why_no_answer(spec: JobSpec, status: int) -> str:
    """Why the worker ended without answering: the image's python3 (the
    local pool's message), else its exit status."""
    why = container.python_check(spec.environment["runtime"], spec.environment["container"])
    if why is not None:
        return why
    return (f"the Python worker in the container {spec.environment['container']} ended "
            f"without finishing the task (exit status {status})")


def _failed(spec: JobSpec, host: str, started: float, error: str) -> JobResult:
    return JobResult(id=spec.id, ok=False, host=host, error=error, started=started,
                     ended=time.time())
