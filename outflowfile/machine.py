"""What this machine lets us use: cores and memory, container limits included.

``os.cpu_count()`` ignores CPU quotas and ``psutil.virtual_memory()`` reports
the host's memory inside a container, so both are capped here by the limits of
the cgroup this process lives in (v2, or v1's ``cpu`` and ``memory``
controllers). A limit set on an ancestor cgroup applies too, so every level
from ours up to the hierarchy's root is read and the tightest one wins.

Every function takes the paths it reads as parameters so that tests can point
them at fake cgroup trees.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

CGROUP_ROOT = "/sys/fs/cgroup"
PROC_CGROUP = "/proc/self/cgroup"


def usable_cores(cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = PROC_CGROUP) -> int:
    """The cores this process may use: its CPU affinity, capped by the
    cgroup CPU quota; at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        cores = min(cores, quota)
    return max(1, cores)


def cpu_quota(cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = PROC_CGROUP) -> int | None:
    """The cgroup CPU quota in whole cores (rounded up), or None if unlimited."""
    limits = []
    for d in cgroup_dirs(cgroup_root, proc_cgroup, "cpu"):
        v2 = _read_words(d / "cpu.max")
        if v2 is not None:
            quota_s, period_s = (v2 + ["100000"])[:2]
            quota, period = _int_or_none(quota_s), _int_or_none(period_s)
        else:
            quota = _int_or_none(_read_first(d / "cpu.cfs_quota_us"))
            period = _int_or_none(_read_first(d / "cpu.cfs_period_us"))
        if quota is not None and quota > 0 and period:
            limits.append(math.ceil(quota / period))
    return min(limits) if limits else None


def total_memory(cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = PROC_CGROUP) -> int:
    """Bytes of memory this process's jobs may use in all."""
    import psutil  # here: a plan (prestat.py) asks only for the cores

    total = psutil.virtual_memory().total
    for limit, _usage in _memory_levels(cgroup_root, proc_cgroup):
        total = min(total, limit)
    return total


def available_memory(cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = PROC_CGROUP) -> int:
    """Bytes of memory a new job could use now."""
    import psutil

    available = psutil.virtual_memory().available
    for limit, usage in _memory_levels(cgroup_root, proc_cgroup):
        if usage is not None:
            available = min(available, max(0, limit - usage))
        else:
            available = min(available, limit)
    return available


def _memory_levels(cgroup_root: str, proc_cgroup: str) -> Iterator[tuple[int, int | None]]:
    """(limit, usage) of every memory-limited cgroup level, ours first.

    Usage leaves out inactive page cache, which the kernel reclaims before it
    would kill anything (what ``docker stats`` shows as well)."""
    for d in cgroup_dirs(cgroup_root, proc_cgroup, "memory"):
        if (d / "memory.max").exists():
            limit = _int_or_none(_read_first(d / "memory.max"))
            usage = _int_or_none(_read_first(d / "memory.current"))
            inactive = _stat_value(d / "memory.stat", "inactive_file")
        else:
            limit = _int_or_none(_read_first(d / "memory.limit_in_bytes"))
            usage = _int_or_none(_read_first(d / "memory.usage_in_bytes"))
            inactive = _stat_value(d / "memory.stat", "total_inactive_file")
        # v1 spells "no limit" as a huge number near 2**63.
        if limit is None or limit >= 1 << 62:
            continue
        if usage is not None and inactive is not None:
            usage = max(0, usage - inactive)
        yield limit, usage


def cgroup_dirs(cgroup_root: str, proc_cgroup: str, controller: str) -> list[Path]:
    """The directories of this process's cgroup for ``controller`` and of its
    ancestors, innermost first; empty when there are none to read."""
    root = Path(cgroup_root)
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "" and (root / "cgroup.controllers").exists():
            return _levels(root, path)
        names = controllers.split(",")
        if controller in names:
            for mount in (root / controllers, root / controller):
                if mount.is_dir():
                    return _levels(mount, path)
    # No /proc/self/cgroup entry matched: a namespaced mount shows our own cgroup.
    if (root / "cgroup.controllers").exists():
        return [root]
    return [root / controller] if (root / controller).is_dir() else []


def _levels(mount: Path, path: str) -> list[Path]:
    """``mount/path`` and its parents up to ``mount``. Inside a cgroup
    namespace the mount is our cgroup itself while ``path`` may still name it
    from the host's view; then only the mount is there to read."""
    inner = mount / path.strip("/")
    if not inner.is_dir():
        return [mount]
    levels = [inner]
    while levels[-1] != mount:
        levels.append(levels[-1].parent)
    return levels


def _read_first(path: Path) -> str | None:
    words = _read_words(path)
    return words[0] if words else None


def _read_words(path: Path) -> list[str] | None:
    try:
        return path.read_text().split()
    except OSError:
        return None


def _int_or_none(text: str | None) -> int | None:
    """``"max"`` (v2's "no limit"), ``"-1"`` (v1's) and junk give None."""
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value >= 0 else None


def _stat_value(path: Path, key: str) -> int | None:
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return _int_or_none(value.strip())
    except OSError:
        return None
    return None
