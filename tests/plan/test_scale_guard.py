"""A guard against planning that does more work per job as workflows grow.

Planning 1,000 and then 2,000 jobs (in-process, a dry run through
``project.execute``), this counts what costs time at scale: SQL statements
(through SQLAlchemy and through the standard library's sqlite3) and
``os.stat`` and ``os.lstat`` calls (a file's stamp takes an ``lstat``,
plan/stamps.py). Planning reads the cache in a few queries whatever the
size (one more, for the latest record of each slot, once a job has no
result for its key), and stats each file once: twice the jobs may take
twice the stats, and no more statements. Nothing here is timed (speed is measured in benchmarks/).
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outflowfile.commands.build import build as execute
from outflowfile.language import loader
from outflowfile.run.jobspec import JobResult, JobSpec
from outflowfile.run.session import RunRequest
from outflowfile.store.sqlite_fast import KeyLookup
from outflowfile.views.console import Console

OUTFLOWFILE = """\
config:
    samples: list = glob("data/{sample}.txt")

task step1(sample: str):
    input:  src = "data/{sample}.txt"
    output: out1 = "st1/{sample}.txt"
    shell:  "cp {input.src} {output.out1}"

task step2(sample: str):
    input:  src = "st1/{sample}.txt"
    output: out2 = "st2/{sample}.txt"
    shell:  "cp {input.src} {output.out2}"

task total(out2: list):
    output: total = "total.txt"
    shell:  "cat st2/*.txt > total.txt"

workflow all:
    map(samples -> sample) { step1 | step2 } | total
"""


def chain_project(root: Path, jobs: int) -> Path:
    """About ``jobs`` jobs: items through two cp tasks, and one total."""
    (root / "data").mkdir(parents=True)
    for i in range((jobs - 1) // 2):
        (root / "data" / f"s{i}.txt").write_text(f"{i}\n")
    (root / "Outflowfile").write_text(OUTFLOWFILE)
    return root


class InProcessExecutor:
    """Runs each job at once, here: a ``cp`` by copying, the rest with bash.
    It fills the cache as a run would, without a process per job."""

    def __init__(self, cores: int = 2, mem_limit: int | None = None) -> None:
        self.cores = cores
        self._ended: list[JobResult] = []

    def grant(self, cpus: int) -> int:
        return max(1, min(cpus, self.cores))

    def can_start(self, spec: JobSpec) -> bool:
        return True

    def start(self, spec: JobSpec) -> None:
        words = shlex.split(spec.code)
        if len(words) == 3 and words[0] == "cp":
            shutil.copyfile(Path(spec.workdir, words[1]), Path(spec.workdir, words[2]))
            ok = True
        else:
            ok = subprocess.run(["/bin/bash", "-c", spec.code], cwd=spec.workdir).returncode == 0
        now = time.time()
        self._ended.append(JobResult(id=spec.id, ok=ok, exit_status=0 if ok else 1,
                                     error=None if ok else "failed", started=now, ended=now))

    def wait(self, timeout: float | None) -> list[JobResult]:
        ended, self._ended = self._ended, []
        return ended

    def running(self) -> int:
        return len(self._ended)

    def cancel_all(self) -> list[JobResult]:
        return self.wait(0)

    def close(self) -> None:
        pass


def run(project: Path, dry_run: bool, db: str | None = None) -> Any:
    request = RunRequest(workdir=project, outflowfile=project / "Outflowfile",
                         dry_run=dry_run, db=db, argv=["test"])
    console = Console(quiet=True, out=io.StringIO())
    return execute(request, loader.load(project / "Outflowfile"), console)


@dataclass
class Counts:
    jobs: int = 0
    would_run: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    sqlalchemy: int = 0  # statements through SQLAlchemy
    sqlite3: int = 0  # statements through the standard library's driver
    stat: int = 0  # os.stat and os.lstat calls

    @property
    def sql(self) -> int:
        return self.sqlalchemy + self.sqlite3


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    counts = Counts()

    def on_statement(*args: Any) -> None:
        counts.sqlalchemy += 1

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        con = real_connect(*args, **kwargs)
        con.set_trace_callback(on_sqlite)
        return con

    def on_sqlite(statement: str) -> None:
        counts.sqlite3 += 1

    real_stat, real_lstat = os.stat, os.lstat

    def stat(*args: Any, **kwargs: Any) -> os.stat_result:
        counts.stat += 1
        return real_stat(*args, **kwargs)

    def lstat(*args: Any, **kwargs: Any) -> os.stat_result:
        counts.stat += 1
        return real_lstat(*args, **kwargs)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", on_statement)
    try:
        with monkeypatch.context() as m:
            m.setattr(sqlite3, "connect", connect)
            m.setattr(os, "stat", stat)
            m.setattr(os, "lstat", lstat)
            yield counts
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", on_statement)


def plan(project: Path, monkeypatch: pytest.MonkeyPatch, db: str | None = None) -> Counts:
    with counting(monkeypatch) as counts:
        outcome = run(project, dry_run=True, db=db)
    counts.jobs = len(outcome.would_run) + outcome.up_to_date
    counts.would_run = len(outcome.would_run)
    counts.reasons = Counter(reason for _, reason in outcome.would_run)
    return counts


@pytest.fixture
def in_process_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outflowfile.executors.local.LocalExecutor", InProcessExecutor)


@pytest.mark.usefixtures("in_process_runs")
@pytest.mark.parametrize("db", [None, "sqlite:///other.db"], ids=["sqlite3", "sqlalchemy"])
def test_planning_work_grows_no_faster_than_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: str | None
) -> None:
    scratch, noop, edited, commented, changed = {}, {}, {}, {}, {}
    for size in (1000, 2000):
        project = chain_project(tmp_path / str(size), size)
        scratch[size] = plan(project, monkeypatch, db)
        outcome = run(project, dry_run=False, db=db)
        assert not outcome.failed and len(outcome.ran) == scratch[size].jobs
        # With the default cache, from the plan memo the run left.
        noop[size] = plan(project, monkeypatch, db)
        assert noop[size].jobs == scratch[size].jobs and noop[size].would_run == 0
        # Up to date means every file was looked at: 3 files per item.
        assert noop[size].stat >= 3 * ((size - 1) // 2), noop[size]
        # One input edited: one chain runs (the memo helps the plan, with
        # the default cache, and reads records a key at a time).
        edit = project / "data" / "s0.txt"
        edit.write_text("edited\n")
        os.utime(edit, ns=(edit.stat().st_atime_ns, edit.stat().st_mtime_ns + 10**9))
        edited[size] = plan(project, monkeypatch, db)
        assert edited[size].would_run == 3 and edited[size].jobs == scratch[size].jobs
        assert len(run(project, dry_run=False, db=db).ran) == 3
        # A comment added to the Outflowfile: every job is decided from the
        # memo's keys (with the default cache), without its record.
        (project / "Outflowfile").write_text(OUTFLOWFILE + "# a comment\n")
        commented[size] = plan(project, monkeypatch, db)
        assert commented[size].would_run == 0 and commented[size].jobs == scratch[size].jobs
        # A changed definition: no step2 job has a result for its key, each
        # one's reason comes from the latest record of its slot.
        old = "cp {input.src} {output.out2}"
        (project / "Outflowfile").write_text(OUTFLOWFILE.replace(old, "cp -p " + old[3:]))
        changed[size] = plan(project, monkeypatch, db)
        assert changed[size].would_run == (size - 1) // 2 + 1
        assert changed[size].reasons["task definition changed"] == (size - 1) // 2
    for counts in (scratch, noop, edited, commented, changed):
        small, large = counts[1000], counts[2000]
        assert large.jobs >= 2 * small.jobs - 2
        # One query loads what the plan needs, whatever the size (making a
        # new cache's tables, through SQLAlchemy, takes a few more: one a
        # table, the images table the last so far). Helped
        # by the memo's keys (the changed definition), the plan reads records
        # one at a time, by key and by slot, up to a fixed number of each,
        # then all of them at once.
        limit = 31 + (2 * KeyLookup.POINT_READS if counts is changed else 0)
        assert large.sql == small.sql <= limit, (small, large)
        # Each file stat-ed once: 2 stats per item, about 1 per job.
        assert large.stat <= 2 * small.stat + 10, (small, large)
        assert large.stat <= 2 * large.jobs, large
    # With a cache to read, planning asks it something.
    assert noop[2000].sql >= 1
