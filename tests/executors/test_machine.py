"""Cores and memory this process may use.

The cgroup limits are read from fake cgroup trees in tmp_path: a CPU quota or a
memory limit cannot be imposed for real on the test machine (it needs a
container runtime or root in the cgroup hierarchy), and the parsing is what
can go wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from outflowfile import machine

GiB = 1 << 30


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v2_tree(tmp_path: Path, files: dict[str, str], cgroup: str = "/") -> tuple[str, str]:
    """A fake cgroup v2 mount and /proc/self/cgroup placing us at ``cgroup``."""
    root = tmp_path / "cgroup"
    write(root / "cgroup.controllers", "cpu memory\n")
    for name, text in files.items():
        write(root / cgroup.strip("/") / name, text)
    proc = tmp_path / "proc_cgroup"
    write(proc, f"0::{cgroup}\n")
    return str(root), str(proc)


def v1_tree(tmp_path: Path, files: dict[str, str], cgroup: str = "/") -> tuple[str, str]:
    """A fake cgroup v1 mount: ``files`` keys are ``controller/file``."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        controller, filename = name.split("/")
        write(root / controller / cgroup.strip("/") / filename, text)
    proc = tmp_path / "proc_cgroup"
    write(proc, f"4:memory:{cgroup}\n3:cpu,cpuacct:{cgroup}\n0::/\n")
    return str(root), str(proc)


def test_usable_cores_on_this_machine() -> None:
    cores = machine.usable_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    assert cores <= len(os.sched_getaffinity(0))


def test_no_cgroup_files_means_no_limit(tmp_path: Path) -> None:
    root, proc = str(tmp_path / "none"), str(tmp_path / "missing")
    assert machine.cpu_quota(root, proc) is None
    assert machine.usable_cores(root, proc) == len(os.sched_getaffinity(0))
    assert machine.total_memory(root, proc) == psutil.virtual_memory().total


def test_v2_cpu_quota_rounds_up(tmp_path: Path) -> None:
    root, proc = v2_tree(tmp_path, {"cpu.max": "150000 100000\n"})
    assert machine.cpu_quota(root, proc) == 2
    assert machine.usable_cores(root, proc) == min(2, len(os.sched_getaffinity(0)))


def test_v2_cpu_quota_below_one_core_gives_one(tmp_path: Path) -> None:
    root, proc = v2_tree(tmp_path, {"cpu.max": "20000 100000\n"})
    assert machine.cpu_quota(root, proc) == 1
    assert machine.usable_cores(root, proc) == 1


def test_v2_unlimited_cpu(tmp_path: Path) -> None:
    root, proc = v2_tree(tmp_path, {"cpu.max": "max 100000\n"})
    assert machine.cpu_quota(root, proc) is None


def test_v2_nested_cgroup_takes_the_tightest_level(tmp_path: Path) -> None:
    root, proc = v2_tree(tmp_path, {"cpu.max": "max 100000\n"}, cgroup="/a/b")
    write(Path(root) / "a" / "cpu.max", "100000 100000\n")
    assert machine.cpu_quota(root, proc) == 1


def test_v1_cpu_quota(tmp_path: Path) -> None:
    root, proc = v1_tree(
        tmp_path,
        {"cpu,cpuacct/cpu.cfs_quota_us": "100000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
    )
    assert machine.cpu_quota(root, proc) == 1
    assert machine.usable_cores(root, proc) == 1


def test_v1_unlimited_cpu(tmp_path: Path) -> None:
    root, proc = v1_tree(
        tmp_path,
        {"cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
    )
    assert machine.cpu_quota(root, proc) is None


def test_v2_memory_limit_caps_total_and_available(tmp_path: Path) -> None:
    root, proc = v2_tree(
        tmp_path,
        {
            "memory.max": f"{GiB}\n",
            "memory.current": f"{GiB // 4}\n",
            "memory.stat": "anon 1000\ninactive_file 0\n",
        },
        cgroup="/job",
    )
    assert machine.total_memory(root, proc) == min(GiB, psutil.virtual_memory().total)
    assert machine.available_memory(root, proc) <= GiB - GiB // 4


def test_v2_inactive_page_cache_counts_as_available(tmp_path: Path) -> None:
    root, proc = v2_tree(
        tmp_path,
        {
            "memory.max": f"{GiB}\n",
            "memory.current": f"{GiB // 2}\n",
            "memory.stat": f"anon 1000\ninactive_file {GiB // 4}\n",
        },
    )
    expected = min(GiB - GiB // 4, psutil.virtual_memory().available)
    assert machine.available_memory(root, proc) == expected


def test_v2_memory_max_unlimited(tmp_path: Path) -> None:
    root, proc = v2_tree(tmp_path, {"memory.max": "max\n", "memory.current": "12345\n"})
    assert machine.total_memory(root, proc) == psutil.virtual_memory().total


def test_v1_memory_limit(tmp_path: Path) -> None:
    root, proc = v1_tree(
        tmp_path,
        {
            "memory/memory.limit_in_bytes": f"{2 * GiB}\n",
            "memory/memory.usage_in_bytes": f"{GiB}\n",
            "memory/memory.stat": "cache 0\ntotal_inactive_file 0\n",
        },
        cgroup="/docker/abc",
    )
    assert machine.total_memory(root, proc) == min(2 * GiB, psutil.virtual_memory().total)
    assert machine.available_memory(root, proc) <= GiB


def test_v1_unlimited_memory_is_a_huge_number(tmp_path: Path) -> None:
    root, proc = v1_tree(
        tmp_path,
        {
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
            "memory/memory.usage_in_bytes": f"{GiB}\n",
        },
    )
    assert machine.total_memory(root, proc) == psutil.virtual_memory().total


def test_namespaced_mount_is_read_when_the_path_is_the_hosts(tmp_path: Path) -> None:
    # Inside a cgroup namespace the mount is our own cgroup, while
    # /proc/self/cgroup may still name a path that does not exist under it.
    root, proc = v2_tree(tmp_path, {"memory.max": f"{GiB}\n", "memory.current": "0\n"})
    write(Path(proc), "0::/some/host/path\n")
    assert machine.total_memory(root, proc) == min(GiB, psutil.virtual_memory().total)
