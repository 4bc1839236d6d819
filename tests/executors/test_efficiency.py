"""A job's peak memory is its own (not outflow's size when it started the
job), and the efficiency shown from it and from its CPU time: on the local
pool and on the real one-node Slurm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outflowtest import cache_rows, make_project, outflow

MIB = 1 << 20

SIZES = """
task small():
    shell: "true"

task large():
    shell: "python3 hold.py 100 0"

task busy():
    cpus: 2
    mem: "2G"
    shell: "python3 hold.py 120 1.5"

workflow all:
    small
    | large
    | busy
"""

# Holds N MiB (touched) and keeps one core busy for S seconds of CPU time.
HOLD = """
import sys, time
b = bytearray(int(sys.argv[1]) * 2**20)
b[::4096] = b"x" * len(b[::4096])
t = time.process_time()
while time.process_time() - t < float(sys.argv[2]):
    pass
"""


def _peaks(p: Path) -> dict[str, int]:
    return dict(cache_rows(p, "SELECT task, peak_mem FROM jobs WHERE status = 'done'"))


def _check(p: Path) -> None:
    peaks = _peaks(p)
    assert peaks["small"] < 10 * MIB, peaks  # not outflow's tens of megabytes
    assert peaks["large"] >= 100 * MIB, peaks
    rows = {r["task"]: r for r in json.loads(outflow(p, "--summary", "--format", "json").stdout)}
    busy = rows["busy"]
    # One busy core of the two asked for (at most half, and less on a busy
    # machine): its CPU time over twice its wall time; 120M (and Python) of
    # the 2G asked for.
    [(cpu, wall)] = cache_rows(p, "SELECT cpu_seconds, ended - started FROM jobs "
                                  "WHERE task = 'busy'")
    assert cpu >= 1.5
    assert busy["cpu_eff"] == pytest.approx(cpu / (2 * wall), abs=1e-3)
    assert 0 < busy["cpu_eff"] <= 0.55, busy
    assert 120 * MIB / (2 << 30) <= busy["mem_eff"] <= 0.1, busy
    assert rows["small"]["mem_eff"] is None  # asked for no memory
    table = outflow(p, "--summary").stdout
    assert "Efficiency per task (latest runs):" in table
    assert "  busy: 1 job, CPU efficiency" in table
    assert "note: busy asks for 2.0G of memory and uses at most 1" in table
    # The core note comes when the busiest job used at most half the cores
    # asked for: one busy core of two is right at that line, so which side
    # of it a run lands on depends on the machine's load.
    noted = "note: busy asks for 2 cores and uses" in table
    if busy["cpu_eff"] < 0.49:
        assert noted, table
    elif busy["cpu_eff"] > 0.51:
        assert not noted, table
    assert "note: large" not in table and "note: small" not in table
    report = p / "report.html"
    outflow(p, "--report", str(report))
    html = report.read_text()
    assert "<h2>Efficiency per task</h2>" in html
    assert "busy asks for 2.0G of memory" in html
    assert "CPU efficiency" in html and "memory efficiency" in html


def test_peaks_and_efficiency_on_the_local_pool(tmp_path: Path) -> None:
    p = make_project(tmp_path, SIZES, {"hold.py": HOLD})
    outflow(p, "-j", "2")
    _check(p)


@pytest.mark.usefixtures("slurm")
def test_peaks_and_efficiency_on_slurm(tmp_path: Path) -> None:
    p = make_project(tmp_path, SIZES, {"hold.py": HOLD})
    outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", timeout=600)
    hosts = {r[0] for r in cache_rows(p, "SELECT host FROM jobs")}
    assert hosts and all(hosts)
    _check(p)
