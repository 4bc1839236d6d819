"""``outflow --summary``: every job's status, why, and its last run, as a
table, JSON or TSV, through the installed command; it runs nothing and
writes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import socket
from pathlib import Path

from outflowtest import cache_rows, make_project, outflow

PIPELINE = """
config:
    samples: list = ["a", "b", "c"]

task prepare(samples: list) -> (names: list):
    run:
        return [s.upper() for s in samples]

task count(name: str):
    input: src = "data/{name}.txt"
    output: txt = "counts/{name}.txt"
    shell: "test {name} != C && wc -c < {input.src} > {output.txt}"

workflow all:
    prepare | map(names -> name) { count }
"""

DATA = {"data/A.txt": "aaaa\n", "data/B.txt": "bb\n", "data/C.txt": "c\n"}

KEYS = [
    "task", "params", "status", "reason", "last_run", "last_status", "duration", "cpu",
    "peak_mem", "host", "cpu_eff", "mem_eff", "adopted_from", "environment", "image", "job",
]  # fmt: skip


def summary_json(p: Path, *args: str) -> dict[str, dict]:
    proc = outflow(p, "--summary", "--format", "json", *args)
    rows = json.loads(proc.stdout)
    assert all(list(r) == KEYS for r in rows), rows
    return {r["job"]: r for r in rows}


def table_rows(text: str) -> dict[str, list[str]]:
    """The table's rows by their first two cells (task and parameters)."""
    out = {}
    for line in text.splitlines()[1:]:
        if not line.strip():
            break
        cells = line.split()
        out[" ".join(cells[:2])] = cells
    return out


def everything(p: Path) -> list[tuple]:
    return cache_rows(p, "SELECT * FROM jobs ORDER BY id") + cache_rows(
        p, "SELECT * FROM runs ORDER BY id"
    )


def test_before_any_run_everything_is_missing_and_nothing_is_written(tmp_path: Path) -> None:
    p = make_project(tmp_path, PIPELINE, DATA)
    proc = outflow(p, "--summary")
    lines = proc.stdout.splitlines()
    assert lines[0].split() == [
        "TASK", "PARAMS", "STATUS", "LAST", "RUN", "DURATION", "CPU", "MEM", "CPU%", "MEM%",
        "HOST", "WHY",
    ]  # fmt: skip
    assert lines[1].split() == ["prepare", "samples=['a',", "'b',", "'c']", "missing",
                                "-", "-", "-", "-", "-", "-", "-", "no", "cached", "result"]
    assert "1 job: 1 missing" in lines
    assert lines[-1] == (
        "map(names -> name) { count }: not yet sized "
        "(its jobs are known once its source is computed)"
    )
    assert not (p / ".outflow").exists()
    assert not (p / "counts").exists()


def test_partial_run_failure_and_edited_input(tmp_path: Path) -> None:
    p = make_project(tmp_path, PIPELINE, DATA)
    outflow(p, "prepare")
    rows = summary_json(p)
    assert list(rows) == ["prepare", "count name=A", "count name=B", "count name=C"]
    assert rows["prepare"]["status"] == "up to date"
    assert rows["prepare"]["last_status"] == "done"
    assert rows["prepare"]["host"] == socket.gethostname()
    assert rows["count name=B"]["status"] == "missing"
    assert rows["count name=B"]["params"] == "name=B"
    assert rows["count name=B"]["reason"] == "no cached result"
    assert rows["count name=B"]["last_run"] is None

    outflow(p, "-k", check=1)
    before = everything(p)
    rows = summary_json(p)
    assert everything(p) == before  # nothing written
    a, c = rows["count name=A"], rows["count name=C"]
    assert (a["status"], a["reason"], a["last_status"]) == ("up to date", "", "done")
    assert (c["status"], c["reason"], c["last_status"]) == ("failed", "failed last time", "failed")
    for row in (a, c):
        assert isinstance(row["duration"], float) and row["duration"] >= 0
        assert isinstance(row["cpu"], float) and row["cpu"] >= 0
        assert isinstance(row["peak_mem"], int) and row["peak_mem"] > 0
        assert row["host"] == socket.gethostname()
        started = dt.datetime.fromisoformat(row["last_run"])
        assert started.tzinfo is not None
    recorded = cache_rows(p, "SELECT started, ended, cpu_seconds, peak_mem FROM jobs "
                             "WHERE task = 'count' AND status = 'done' ORDER BY id")[0]
    assert a["duration"] == round(recorded[1] - recorded[0], 3)
    assert a["peak_mem"] == recorded[3]
    assert dt.datetime.fromisoformat(a["last_run"]).timestamp() == int(recorded[0])

    stat = os.stat(p / "data/A.txt")
    (p / "data/A.txt").write_text("longer now\n")
    os.utime(p / "data/A.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    table = outflow(p, "--summary").stdout
    cells = table_rows(table)
    assert cells["count name=A"][2] == "outdated"
    assert table.count("input file data/A.txt is newer than the last run") == 1
    assert cells["count name=B"][2:5] == ["up", "to", "date"]
    assert cells["count name=C"][2] == "failed"
    assert "4 jobs: 2 up to date, 1 outdated, 1 failed" in table.splitlines()
    assert everything(p) == before


def test_tsv_has_a_header_and_a_row_per_job(tmp_path: Path) -> None:
    p = make_project(tmp_path, PIPELINE, DATA)
    outflow(p, "-k", check=1)
    text = outflow(p, "--summary", "--format", "tsv").stdout
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    assert rows[0] == KEYS
    by_job = {r[-1]: dict(zip(KEYS, r, strict=True)) for r in rows[1:]}
    assert sorted(by_job) == ["count name=A", "count name=B", "count name=C", "prepare"]
    assert by_job["count name=C"]["status"] == "failed"
    assert by_job["count name=A"]["params"] == "name=A"
    assert by_job["count name=A"]["reason"] == ""
    assert float(by_job["count name=A"]["duration"]) >= 0
    assert int(by_job["count name=A"]["peak_mem"]) > 0


def test_summary_reads_a_postgresql_cache(tmp_path: Path, pg_url: str) -> None:
    p = make_project(tmp_path, PIPELINE, DATA)
    outflow(p, "-k", "--db", pg_url, check=1)
    rows = summary_json(p, "--db", pg_url)
    assert rows["count name=B"]["status"] == "up to date"
    assert rows["count name=B"]["host"] == socket.gethostname()
    assert rows["count name=B"]["duration"] is not None
    assert rows["count name=C"]["status"] == "failed"


def test_format_must_fit_the_command(tmp_path: Path) -> None:
    p = make_project(tmp_path, PIPELINE, DATA)
    proc = outflow(p, "--format", "json", check=2)
    assert "--format json: no command to format; it goes with" in proc.stderr
    assert "--summary" in proc.stderr
    proc = outflow(p, "--summary", "--format", "dot", check=2)
    assert "--format dot does not apply to --summary; use table or json or tsv" in proc.stderr
    proc = outflow(p, "--dag", "--format", "tsv", check=2)
    assert "--format tsv does not apply to --dag; use dot or mermaid" in proc.stderr
    proc = outflow(p, "--summary", "--dag", check=2)
    assert "cannot be used together" in proc.stderr
    assert "Traceback" not in proc.stderr
