"""Helpers for tests that cause faults for real: processes to wait for,
read-only and tiny filesystems, memory cgroups."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil


def wait_for(predicate: Callable[[], bool], timeout: float = 60, what: str = "",
             proc: subprocess.Popen[str] | None = None) -> None:
    """Poll until ``predicate()`` holds; fail after ``timeout`` seconds, or
    as soon as ``proc`` (the run that should make it hold) has ended."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the process ended (status {proc.returncode}) before "
                                 f"{what or 'the condition held'}\n{out}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting{': ' + what if what else ''}")
        time.sleep(0.02)


def gone(pid: int) -> bool:
    """The process has ended (a zombie has too)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def alive(pids: list[int]) -> list[int]:
    return [p for p in pids if not gone(p)]


def kill_all(pids: list[int]) -> None:
    """SIGKILL the given processes (what a failed test may leave behind)."""
    for pid in alive(pids):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()


def read_pids(paths: list[Path]) -> list[int]:
    return [int(word) for path in paths for word in path.read_text().split()]


def mounted(path: Path) -> bool:
    return os.path.ismount(path)


@contextlib.contextmanager
def mount(path: Path, *args: str) -> Iterator[Path]:
    """``mount ARGS path`` for the duration; unmounted (lazily, so that a
    process still inside cannot keep it) afterwards. Skips the test when
    mounting is not permitted here."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", *args, str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount here ({proc.stderr.strip()}); these tests need root "
                    "and a container that allows mount (e.g. --privileged)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """``path`` as a read-only bind mount of itself (root ignores file
    permissions, not a read-only mount)."""
    path.mkdir(parents=True, exist_ok=True)
    with mount(path, "--bind", str(path)):
        proc = subprocess.run(["mount", "-o", "remount,bind,ro", str(path)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        yield path


def memory_cgroup(name: str, limit: int) -> Path | None:
    """A new cgroup (v1 memory controller, else v2) below ours, limited to
    ``limit`` bytes; None where cgroups cannot be made. Remove it with
    ``remove_cgroup`` once its processes are gone."""
    v1 = _own_cgroup("/sys/fs/cgroup/memory", "memory")
    candidates = [(v1, "memory.limit_in_bytes")] if v1 else []
    v2 = _own_cgroup("/sys/fs/cgroup", "") or _own_cgroup("/sys/fs/cgroup/unified", "")
    if v2:
        candidates.append((v2, "memory.max"))
    for parent, limit_file in candidates:
        group = parent / name
        try:
            group.mkdir()
            (group / limit_file).write_text(str(limit))
            if limit_file == "memory.limit_in_bytes":
                with contextlib.suppress(OSError):  # no swap accounting: fine
                    (group / "memory.memsw.limit_in_bytes").write_text(str(limit))
            else:
                with contextlib.suppress(OSError):
                    (group / "memory.swap.max").write_text("0")
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


def _own_cgroup(mount_point: str, controller: str) -> Path | None:
    root = Path(mount_point)
    if not root.is_dir():
        return None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, rel = line.split(":", 2)
        if (controller and controller in controllers.split(",")) or (
            not controller and controllers == ""
        ):
            here = root / rel.lstrip("/")
            if controller or (here / "cgroup.controllers").exists():
                return here
    return None


def remove_cgroup(group: Path) -> None:
    wait_for(lambda: not (group / "cgroup.procs").read_text().strip(), timeout=30,
             what=f"the processes of {group} to end")
    group.rmdir()
