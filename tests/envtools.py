"""Helpers for the tests of software environments: podman with images the
tests build themselves (no registry is reachable), and Lmod.

A missing podman or Lmod skips a test, and fails it under CI (conftest's
rule for every service)."""

from __future__ import annotations

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


def podman() -> str:
    """The podman program, when it runs containers here; else skip (fail under CI)."""
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


def remove_image(name: str) -> None:
    subprocess.run(["podman", "rmi", "-f", name], capture_output=True, timeout=120)


def running_containers() -> list[str]:
    """The names of the containers podman has running."""
    done = subprocess.run(["podman", "ps", "--format", "{{.Names}}"], capture_output=True,
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
