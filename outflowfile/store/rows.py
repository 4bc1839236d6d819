"""Records as the parameters of the statements that write them: the same
for SQLAlchemy's statements (tables.py) and the fast path's (sqlite_fast.py).
Values are encoded here, before anything is written
(``valuecodec.UnstorableValue``)."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from typing import Any

from outflowfile import valuecodec
from outflowfile.store.records import Finished, Started, Touched

Row = dict[str, Any]


def files_json(files: dict[str, Any]) -> str:
    return valuecodec.canonical_json(files)


def end_rows(finished: Sequence[Finished]) -> tuple[list[Row], list[Row]]:
    """The statement parameters of jobs' ends: those done, those failed."""
    done: list[Row] = []
    failed: list[Row] = []
    for f in finished:
        row: Row = {
            "row_id": f.row_id,
            "p_ended": f.ended,
            "p_started": f.started,
            "p_exit_status": f.exit_status,
            "p_cpu_seconds": f.cpu_seconds,
            "p_peak_mem": f.peak_mem,
        }
        if f.error is None:
            row["p_outputs"] = valuecodec.encode(f.values)
            row["p_files"] = files_json(f.files)
            done.append(row)
        else:
            row["p_error"] = f.error
            failed.append(row)
    return done, failed


def start_row(run_id: int, s: Started) -> Row:
    """The columns of a job's row as it starts, in ``sqlite_fast.INSERT_JOB``'s order."""
    return {
        "run_id": run_id,
        "key": s.key,
        "task": s.task,
        "slot": s.slot,
        "def_hash": s.def_hash,
        "params": valuecodec.encode(s.params),
        "status": "running",
        "started": s.started,
        "host": s.host,
        "files": files_json({"in": {}, "out": dict.fromkeys(s.output_files)}),
        "log": s.log,
    }


def touched_rows(run_id: int, touched: Sequence[Touched]) -> list[Row]:
    """The rows of jobs recorded as done without running: like those of a
    job that ran and made ``values`` (none for ``--touch``)."""
    now = time.time()
    host = socket.gethostname()
    return [
        {
            "run_id": run_id, "key": t.key, "task": t.task, "slot": t.slot,
            "def_hash": t.def_hash, "params": valuecodec.encode(t.params),
            "status": "done", "started": now, "ended": now, "host": host,
            "outputs": valuecodec.encode(t.values), "files": files_json(t.files), "log": "",
        }
        for t in touched
    ]  # fmt: skip


def node_row(row_id: int, result: dict[str, Any]) -> Row:
    """The parameters of ``tables.NODE_FINISHED``: a cluster job's report."""
    return {
        "row_id": row_id,
        "p_outputs": valuecodec.encode(result.get("values", {})),
        "p_error": result.get("error"),
        "p_exit_status": result.get("exit_status"),
        "p_cpu_seconds": result.get("cpu_seconds"),
        "p_peak_mem": result.get("peak_mem"),
        "p_host": result.get("host") or socket.gethostname(),
        "p_ended": result.get("ended"),
        # When it started on the node, not when it was submitted: a job's
        # wall time (and efficiency) leaves its time in the queue out.
        "p_started": result.get("started") or None,
    }


def by_position(
    later: list[tuple[int, Finished]], done: list[Row], failed: list[Row]
) -> list[tuple[int, Row]]:
    """Each end's statement parameters with the position of its start."""
    rows = iter(done), iter(failed)
    return [(i, next(rows[end.error is not None])) for i, end in later]


def with_ids(
    later: list[tuple[int, Row]], ids: list[int], done: list[Row], failed: list[Row]
) -> tuple[list[Row], list[Row]]:
    """``done`` and ``failed`` with the row ids of their starts, now written."""
    for i, row in later:
        row["row_id"] = ids[i]
    return done, failed
