"""A job's command run inside a container image (``container:``).

With podman or docker: ``RUNTIME run --rm --name NAME`` with the project
directory mounted at the same path and as the working directory (and the
directories of input and output files outside it), the caller's uid and
gid, the job's variables (``OUTFLOW_CPUS``, the thread variables, a
script's ``OUTFLOW_*``), and its ``cpus``/``mem`` as the runtime's limits.
With apptainer or singularity: ``exec`` with the same directories bound.

The container is named after the job, so that stopping the job stops it
too (``stop``): the runtime's client is not the container's parent. For
the same reason the local pool's guard is told how to remove it
(``remover``): killing the client's process group, which is what ends a
job when outflow is killed outright, leaves the container running. Should
the guard die too, the next run in the project removes what is left
(``leftovers``: labelled with the project and the process that started it).

A ``run:``/``call:`` body runs in a Python worker started inside the image
(``worker_argv``): ``RUNTIME run -i --rm IMAGE python3 -c BOOT``, with
outflow's package and site directories mounted read-only at their own paths,
talking to the pool over its standard input and output. It is kept for the
next job of the same image, cores, memory and mounts, like a venv's worker.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from outflowfile.run.jobspec import JobSpec

DAEMONLESS = ("apptainer", "singularity")  # the container is the client's child
# On every container outflow starts: its project, and the outflow (or node
# job) that started it, so that the next run can tell one left behind.
PROJECT_LABEL = "outflow.project"
OWNER_LABEL = "outflow.owner"
STOP_TIMEOUT = 30.0
CHECK_TIMEOUT = 300.0
MIN_PYTHON = (3, 10)  # what outflow's own code runs on


def kind(runtime: str) -> str:
    return Path(runtime).name


def name(spec: JobSpec) -> str:
    """The job's container: unique to this run's job and this process."""
    return f"outflow-{spec.key[:12] or 'job'}-{spec.id}-{os.getpid()}"


def wrap(spec: JobSpec, script: str, env: dict[str, str]) -> list[str]:
    """The argv running ``script`` (shell text) with ``sh -c`` in the job's
    image, with ``env`` set inside."""
    runtime = spec.environment["runtime"]
    image = spec.environment["container"]
    mounts = _mounts(spec)
    if kind(runtime) in DAEMONLESS:
        argv = _exec_argv(runtime, spec, mounts)
        for key, value in env.items():
            argv += ["--env", f"{key}={value}"]
        return argv + [image, "sh", "-c", script]
    argv = _run_argv(runtime, spec, name(spec), mounts)
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    return argv + [image, "sh", "-c", script]


def _exec_argv(runtime: str, spec: JobSpec, mounts: list[str]) -> list[str]:
    """apptainer/singularity ``exec`` in the project, ``mounts`` bound."""
    argv = [runtime, "exec", "--pwd", spec.workdir]
    for path in mounts:
        argv += ["--bind", f"{path}:{path}"]
    return argv


def _run_argv(runtime: str, spec: JobSpec, box: str, mounts: list[str],
              interactive: bool = False) -> list[str]:
    """podman/docker ``run`` as the container ``box``: in the project, as
    the caller, with the job's cores and memory, ``mounts`` bound."""
    argv = [runtime, "run", *(["-i"] if interactive else []), "--rm", "--name", box,
            *_labels(spec), "-w", spec.workdir,
            "--user", f"{os.getuid()}:{os.getgid()}", "--cpus", str(spec.cpus)]
    if kind(runtime) == "podman" and os.getuid() != 0:
        # Rootless podman: the caller's uid inside is the caller's outside,
        # so the files the job writes are the caller's (untested: root here).
        argv.append("--userns=keep-id")
    if spec.mem:
        argv += ["--memory", str(spec.mem)]
    for path in mounts:
        argv += ["-v", f"{path}:{path}"]
    return argv


def worker_argv(spec: JobSpec, box: str, python_argv: list[str],
                shared: list[str]) -> list[str]:
    """The argv starting ``python_argv`` (``python3 -c BOOT ...``) in the
    job's image as the container ``box``, its standard input and output
    passed through (the worker's pipe to the pool); ``shared``: outflow's
    package and site directories, mounted read-only."""
    runtime = spec.environment["runtime"]
    image = spec.environment["container"]
    mounts = worker_mounts(spec)
    if kind(runtime) in DAEMONLESS:
        argv = _exec_argv(runtime, spec, mounts)
        for path in shared:
            argv += ["--bind", f"{path}:{path}:ro"]
        return argv + [image, *python_argv]
    argv = _run_argv(runtime, spec, box, mounts, interactive=True)
    for path in shared:
        argv += ["-v", f"{path}:{path}:ro"]
    return argv + [image, *python_argv]


def worker_mounts(spec: JobSpec) -> list[str]:
    """What a Python job's container mounts: the job's directories, and its
    log's when outside them."""
    dirs = set(_mounts(spec))
    if spec.log and os.path.isabs(spec.log):
        dirs.add(os.path.dirname(spec.log))
    return sorted(dirs)


def python_check(runtime: str, image: str) -> str | None:
    """Why a Python body cannot run in ``image``, or None when it can: the
    image must have a ``python3`` outflow runs on."""
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    argv = [runtime, "run", "--rm", image, "python3", "-c", probe]
    if kind(runtime) in DAEMONLESS:
        argv = [runtime, "exec", image, "python3", "-c", probe]
    no_python = (f"container {image} has no python3: a run:/call: body needs a Python in "
                 "the image (or write the step as shell:/script:)")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CHECK_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"container {image}: cannot run {kind(runtime)} to look for its python3: {exc}"
    if done.returncode != 0:
        return no_python
    version = tuple(int(n) for n in done.stdout.strip().split(".")[:2] if n.isdigit())
    if version < MIN_PYTHON:
        return (f"container {image} has python3 {done.stdout.strip()}: a run:/call: body "
                f"needs Python {'.'.join(map(str, MIN_PYTHON))} or newer in the image "
                "(or write the step as shell:/script:)")
    return None


def shell_script(spec: JobSpec, argv: list[str]) -> str:
    """What ``sh -c`` runs in the image for a job whose command on the host
    would be ``argv``: a shell command's text, or a script's program (a .py
    script runs with the image's ``python3``)."""
    if spec.kind == "shell":
        return "set -e; (set -o pipefail) 2>/dev/null && set -o pipefail\n" + spec.code
    program, *rest = argv
    if os.path.isabs(program) and program != "/bin/bash" and spec.code.endswith(".py"):
        program = "python3"
    return shlex.join([program, *rest])


def stop(specs: list[JobSpec], boxes: dict[int, str] | None = None) -> None:
    """Remove the containers of jobs being killed (podman, docker), all at
    once, and wait until they are gone. ``boxes``: the container of a
    Python job (by job id), its worker's."""
    remove([(spec.environment.get("runtime", ""), (boxes or {}).get(spec.id) or name(spec))
            for spec in specs if spec.environment.get("container")])


def remover(spec: JobSpec) -> list[str] | None:
    """The command that removes a shell job's container once its runtime's
    client is killed (which leaves the container running): what the guard
    runs if outflow dies by SIGKILL. None when there is nothing to remove."""
    runtime = spec.environment.get("runtime", "")
    if not spec.environment.get("container") or not runtime or kind(runtime) in DAEMONLESS:
        return None
    return _remove_argv(runtime, name(spec))


def remove(boxes: list[tuple[str, str]]) -> None:
    """Remove the containers ``boxes`` (runtime, name) at once, and wait
    until they are gone."""
    procs = []
    for runtime, box in boxes:
        if not runtime or kind(runtime) in DAEMONLESS:
            continue
        argv = _remove_argv(runtime, box)
        try:
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        except OSError:
            pass
    for proc in procs:
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def leftovers(runtime: str, workdir: str) -> list[str]:
    """The containers of the project ``workdir`` whose outflow is gone
    without removing them (killed together with its guard, say): their
    names. Only this machine's: a runtime's containers are its own."""
    if kind(runtime) in DAEMONLESS:
        return []
    argv = [runtime, "ps", "-a", "--filter", f"label={PROJECT_LABEL}={workdir}",
            "--format", "{{.Names}}\t{{.Labels}}"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CHECK_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in done.stdout.splitlines():
        box, _, labels = line.partition("\t")
        # podman shows the labels as map[k:v ...], docker as k=v,...
        owner = re.search(re.escape(OWNER_LABEL) + r"[:=](\d+)", labels)
        if owner and not _alive(int(owner.group(1))):
            found.append(box)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def _labels(spec: JobSpec) -> list[str]:
    return ["--label", f"{PROJECT_LABEL}={spec.workdir}", "--label", f"{OWNER_LABEL}={os.getpid()}"]


def _remove_argv(runtime: str, box: str) -> list[str]:
    if kind(runtime) == "docker":
        return [runtime, "rm", "-f", box]
    return [runtime, "rm", "-f", "-t", "0", box]


def _mounts(spec: JobSpec) -> list[str]:
    """The project directory, and the directories of files the job names
    outside it (absolute input and output paths, a script elsewhere)."""
    root = os.path.realpath(spec.workdir)
    dirs = {spec.workdir}
    paths: list[str] = []
    for value in (*spec.input_files.values(), *spec.output_files.values()):
        paths += value if isinstance(value, list) else [value]
    if spec.kind == "script":
        paths.append(spec.code)
    for path in paths:
        if os.path.isabs(path):
            real = os.path.realpath(os.path.dirname(path))
            if real != root and not real.startswith(root + os.sep):
                dirs.add(os.path.dirname(path))
    return sorted(dirs)
