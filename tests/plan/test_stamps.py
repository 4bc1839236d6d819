"""File stamps (plan/stamps.py) and comparing a job's recorded stamps with
its files now (plan/files.py): ``stamps_unchanged``, finding a job's file
stamps in its record's text without decoding it, must agree with decoding
it, for any paths."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from outflowfile.plan import stamps
from outflowfile.plan.files import FileState, check_files, first_change, stamps_unchanged
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


def record_of(
    ins: list[str], outs: list[str], other: list[str], stale: set[int]
) -> tuple[str, Any, dict[str, Any]]:
    """A job's canonical ``files`` record, the job, and its files' stats now."""
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
    return text, job, now


JOB_FILES = {
    "ins": st.lists(PATHS, max_size=3, unique=True),
    "outs": st.lists(PATHS, min_size=1, max_size=3, unique=True),
    "other": st.lists(PATHS, max_size=2, unique=True),
    "stale": st.sets(st.integers(0, 7), max_size=2),
}


@settings(max_examples=300, deadline=None)
@given(**JOB_FILES)
def test_finding_stamps_in_the_text_agrees_with_decoding(
    ins: list[str], outs: list[str], other: list[str], stale: set[int]
) -> None:
    text, job, now = record_of(ins, outs, other, stale)
    files = FileState("/nonexistent", dict(now))
    assert stamps_unchanged(text, job, files) == decoded_check(text, job, now)


def no_producer(path: str) -> None:
    return None


@settings(max_examples=300, deadline=None)
@given(**JOB_FILES)
def test_the_fast_and_the_slow_comparison_give_the_same_answers(
    ins: list[str], outs: list[str], other: list[str], stale: set[int]
) -> None:
    """The record's text searched, and the record decoded: up to date for
    both or for neither; and ``check_files`` says the same with the text
    at hand as without it."""
    text, job, now = record_of(ins, outs, other, stale)
    fast = stamps_unchanged(text, job, FileState("/nonexistent", dict(now)))
    slow = first_change(job, json.loads(text), FileState("/nonexistent", dict(now)), no_producer)
    assert fast == (slow == "")
    with_text = SimpleNamespace(files_text=text, files=json.loads(text))
    decoded = SimpleNamespace(files=json.loads(text))
    assert check_files(job, with_text, FileState("/nonexistent", dict(now)), no_producer) == (
        check_files(job, decoded, FileState("/nonexistent", dict(now)), no_producer)
    )
    assert check_files(job, decoded, FileState("/nonexistent", dict(now)), no_producer) == slow


def test_a_missing_file_is_a_change(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    st_a = os.stat(tmp_path / "a")
    text = canonical_json(
        {"in": {"a": [st_a.st_mtime_ns, st_a.st_size, None]}, "out": {"b": [1, 1, None]}}
    )
    job = SimpleNamespace(inputs=["a"], output_files={"o": "b"})
    assert not stamps_unchanged(text, job, FileState(str(tmp_path)))


def test_a_stamp_is_one_thing_in_each_of_its_forms(tmp_path: Path) -> None:
    """A file's stat taken one at a time or as a list, kept per path or
    flat, and recorded: the same mtime and size."""
    (tmp_path / "a").write_text("abc")
    paths = ["a", "missing", str(tmp_path / "a")]
    one = [stamps.stat_file(str(tmp_path / p)) for p in paths]
    flat = stamps.stat_paths(paths, str(tmp_path))
    assert one[1] is None and one[0] == one[2] == (os.stat(tmp_path / "a").st_mtime_ns, 3)
    assert stamps.from_flat(paths, flat) == dict(zip(paths, one, strict=True))
    assert stamps.to_flat(stamps.from_flat(paths, flat)) == flat
    assert one[0] is not None
    rec = stamps.recorded(one[0], str(tmp_path / "a"), with_hash=True)
    assert rec[:2] == list(one[0]) and stamps.same(rec, one[0])
    assert rec[2] == stamps.file_digest(str(tmp_path / "a")) and len(rec[2]) == 64
    assert stamps.recorded(one[0], str(tmp_path / "a"), with_hash=False)[2] is None
    assert not stamps.same(rec, None) and not stamps.same(None, one[0])
    assert not stamps.same([rec[0] - 1, rec[1], None], one[0])
    state = FileState(str(tmp_path))
    assert [state.stat(p) for p in paths] == one
    assert state.stamp("a", with_hash=True) == rec
    assert state.stamp("missing", with_hash=True) is None
