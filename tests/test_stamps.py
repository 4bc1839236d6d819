"""``plan.stamps_unchanged``: finding a job's file stamps in its record's
text without decoding it must agree with decoding it, for any paths."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from outflowfile.plan.files import FileState, stamps_unchanged
from outflowfile.valuecodec import canonical_json

# Path characters that JSON escapes or that delimit the record's text.
PATHS = st.text(
    alphabet=st.sampled_from(list('ab,:"\\[]{}é\u2028 .') + ["\x01"]), min_size=1, max_size=6
).map(lambda s: "d/" + s)


def decoded_check(text: str, job: Any, stats: dict[str, Any]) -> bool:
    record = json.loads(text)
    for section, paths in (("out", job.output_files.values()), ("in", job.inputs)):
        for path in paths:
            rec = record[section].get(path)
            if rec is None or (rec[0], rec[1]) != stats[path]:
                return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    ins=st.lists(PATHS, max_size=3, unique=True),
    outs=st.lists(PATHS, min_size=1, max_size=3, unique=True),
    other=st.lists(PATHS, max_size=2, unique=True),
    stale=st.sets(st.integers(0, 7), max_size=2),
)
def test_finding_stamps_in_the_text_agrees_with_decoding(
    ins: list[str], outs: list[str], other: list[str], stale: set[int]
) -> None:
    paths = list(dict.fromkeys(ins + outs + other))
    now = {p: (1_700_000_000_000_000_000 + i, 10 + i) for i, p in enumerate(paths)}
    # The record: each of the job's files (and some others) with its stamp,
    # some of them stale (another mtime).
    def stamp(i: int, p: str) -> list[Any]:
        mtime, size = now[p]
        return [mtime - 1 if i in stale else mtime, size, "ab" * 32]

    record = {
        "in": {p: stamp(i, p) for i, p in enumerate(ins + other)},
        "out": {p: stamp(i + 4, p) for i, p in enumerate(outs)},
    }
    text = canonical_json(record)
    job = SimpleNamespace(inputs=ins, output_files={f"o{i}": p for i, p in enumerate(outs)})
    files = FileState("/nonexistent", dict(now))
    assert stamps_unchanged(text, job, files) == decoded_check(text, job, now)


def test_a_missing_file_is_a_change(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    st_a = os.stat(tmp_path / "a")
    text = canonical_json(
        {"in": {"a": [st_a.st_mtime_ns, st_a.st_size, None]}, "out": {"b": [1, 1, None]}}
    )
    job = SimpleNamespace(inputs=["a"], output_files={"o": "b"})
    assert not stamps_unchanged(text, job, FileState(str(tmp_path)))
