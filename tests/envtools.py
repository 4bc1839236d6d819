"""Helpers for the tests of software environments: podman with images the
tests build themselves (no registry is reachable), and Lmod.

A missing podman or Lmod skips a test, and fails it under CI (conftest's
rule for every service)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from conftest import _service_missing

PODMAN_HOW = (
    "run scripts/test.sh as root (it installs podman and runc and writes the "
    "containers.conf named by CONTAINERS_CONF)"
)
LMOD_HOW = "install Debian's lmod (scripts/test.sh does)"
LMOD_INIT = "/etc/profile.d/lmod.sh"
BUSYBOX = "/bin/busybox"
BUSYBOX_IMAGE = "localhost/outflow-test-busybox:1"
APPLETS = ("sh", "echo", "cat", "ls", "id", "env", "sleep", "true", "false", "wc", "touch")


@functools.cache
def podman() -> str:
    """The podman program, when it runs containers here; else skip (fail under CI).

    Checked once per session (a container run costs a second or two); a
    skip is an exception, which is not cached, so it is checked again."""
    path = shutil.which("podman")
    if path is None:
        _service_missing("podman", PODMAN_HOW, "not installed")
    image = busybox_image()
    done = subprocess.run([path, "run", "--rm", image, "true"], capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        _service_missing("podman", PODMAN_HOW, done.stderr.strip()[-300:])
    return path


def busybox_image(name: str = BUSYBOX_IMAGE, marker: str = "busybox-image") -> str:
    """An image ``name`` imported from a root filesystem holding only
    busybox-static, its applets and ``/etc/outflow-test-image`` (which says
    ``marker``); the shared one is made once per machine."""
    if name == BUSYBOX_IMAGE:
        have = subprocess.run(["podman", "image", "exists", name], timeout=60)
        if have.returncode == 0:
            return name
    if not os.path.exists(BUSYBOX):
        _service_missing("busybox", PODMAN_HOW, "busybox-static is not installed")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp, "rootfs.tar")
        Path(tmp, "marker").write_text(marker + "\n")
        with tarfile.open(tar, "w") as out:
            for folder in ("bin", "etc", "tmp"):
                _add_dir(out, folder)
            out.add(BUSYBOX, "bin/busybox")
            out.add(Path(tmp, "marker"), "etc/outflow-test-image")
            for applet in APPLETS:
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type = tarfile.SYMTYPE
                link.linkname = "busybox"
                out.addfile(link)
        done = subprocess.run(["podman", "import", "-q", str(tar), name],
                              capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        _service_missing("podman", PODMAN_HOW, f"podman import: {done.stderr.strip()[-300:]}")
    return name


PYTHON_IMAGE = "localhost/outflow-test-python:1"
SKIPPED = {"test", "tests", "__pycache__", "idlelib", "tkinter", "ensurepip", "site-packages",
           "lib2to3", "turtledemo", "pydoc_data", "config-3"}


def python_image(name: str = PYTHON_IMAGE, marker: str = "python-image") -> str:
    """An image ``name`` holding this machine's own Python (its interpreter,
    standard library and the shared libraries they load, at their paths
    here, ``python3`` on PATH), busybox-static's ``sh`` and
    ``/etc/outflow-test-image`` (which says ``marker``); made once per
    machine, from files here: no registry is reachable."""
    have = subprocess.run(["podman", "image", "exists", name], timeout=60)
    if have.returncode == 0:
        return name
    if not os.path.exists(BUSYBOX):
        _service_missing("busybox", PODMAN_HOW, "busybox-static is not installed")
    import sys
    import sysconfig
    import tempfile

    exe = os.path.realpath(sys.executable)
    libs = {os.path.realpath(p) for key in ("stdlib", "platstdlib")
            for p in [sysconfig.get_paths()[key]]}
    dynload = [str(f) for lib in libs for f in Path(lib, "lib-dynload").glob("*.so")]
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp, "rootfs.tar")
        Path(tmp, "marker").write_text(marker + "\n")
        with tarfile.open(tar, "w") as out:
            for folder in ("bin", "etc", "tmp", "usr", "usr/bin"):
                _add_dir(out, folder)
            out.add(BUSYBOX, "bin/sh")
            out.add(Path(tmp, "marker"), "etc/outflow-test-image")
            out.add(exe, exe.lstrip("/"))
            for lib in sorted(libs):
                out.add(lib, lib.lstrip("/"), filter=_python_file)
            for shared in sorted(_shared_libraries([exe, *dynload])):
                # The file itself under each name (links and /lib -> usr/lib resolved).
                out.add(os.path.realpath(shared), shared.lstrip("/"))
            link = tarfile.TarInfo("usr/bin/python3")
            link.type = tarfile.SYMTYPE
            link.linkname = exe
            out.addfile(link)
        done = subprocess.run(["podman", "import", "-q", str(tar), name],
                              capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        _service_missing("podman", PODMAN_HOW, f"podman import: {done.stderr.strip()[-300:]}")
    return name


def _python_file(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = info.name.split("/")
    if any(part in SKIPPED or part.startswith("config-") for part in parts):
        return None
    return info


def _shared_libraries(programs: list[str]) -> set[str]:
    """The shared libraries ``ldd`` says ``programs`` load, with their
    loader: by the names they are loaded by and their real paths."""
    found: set[str] = set()
    for program in programs:
        done = subprocess.run(["ldd", program], capture_output=True, text=True, timeout=60)
        for line in done.stdout.splitlines():
            words = line.split()
            path = words[2] if len(words) > 2 and words[1] == "=>" else words[0]
            if path.startswith("/"):
                found.add(path)
                found.add(os.path.realpath(path))
    return found


def remove_image(name: str) -> None:
    subprocess.run(["podman", "rmi", "-f", name], capture_output=True, timeout=120)


def running_containers() -> list[str]:
    """The names of the containers podman has running."""
    done = subprocess.run(["podman", "ps", "--format", "{{.Names}}"], capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.split()


def all_containers() -> list[str]:
    """The names of every container podman has, running or not."""
    done = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.split()


def lmod() -> str:
    """Lmod's init script; skip (fail under CI) when Lmod is not installed."""
    if not os.path.exists(LMOD_INIT):
        _service_missing("Lmod", LMOD_HOW, f"no {LMOD_INIT}")
    return LMOD_INIT


def _add_dir(out: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o1777 if name == "tmp" else 0o755
    out.addfile(info)


# A pinned requirements file (small, pure Python, on PyPI) and two tasks
# using it: `version` returns the version its venv holds, `keep` writes it to
# out/v.txt. Shared by the venv tests, local and on a Slurm node.
PINNED = "termcolor==2.3.0\n"
VENV_VERSION_TASKS = """\
task version -> (v: str):
    venv: "envs/tools.txt"
    run:
        import importlib.metadata
        import sys
        print("python", sys.prefix)
        return importlib.metadata.version("termcolor")

task keep(v: str):
    output: o = "out/v.txt"
    run:
        open(output.o, "w").write(v)
"""


def three_jobs_in(environment: str) -> str:
    """A workflow: ``items`` lists 1, 2, 3; a map runs ``use`` for each in
    ``environment`` (a directive line, e.g. ``venv: "envs/a.txt"``), writing
    out/X.txt; ``total`` gathers them into total.txt. For the tests of an
    environment that cannot be had: each of the three jobs says why, once,
    and ``total`` never runs."""
    return f"""\
task items -> (xs: list):
    run:
        return [1, 2, 3]

task use(x: int):
    output: o = "out/{{x}}.txt"
    {environment}
    shell: "echo {{x}} > {{output.o}}"

task total(o: list):
    output: t = "total.txt"
    shell: "cat {{o}} > {{output.t}}"

workflow all:
    items | map(xs -> x) {{ use }} | total
"""
