"""Issue 17: an incremental run always equals a clean run.

Hypothesis makes a workflow (a choice of the fragments of workflows.py) and
a sequence of what users do to a project: rewrite, touch, delete, add or
replace (keeping the mtime, or with an older one) input files, change
config, edit task code, a project module it imports or an included file,
delete or edit outputs, add a file to a directory output, fail a run,
interrupt one with Ctrl-C or kill -9 (then maybe ``--touch``). After each
checked step ``outflow -n`` must say what the next ``outflow`` does, and
that one must succeed and leave every file a clean run in a fresh copy
leaves (harness.py).

CI runs a few examples, derandomized; ``OUTFLOW_PROP_EXAMPLES=2000`` hunts.
Every counterexample found becomes a named test below the property.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from harness import Judge, apply, describe, run_checked, write_world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from outflowtest import outflow
from workflows import FRAGMENTS, Step, World

# 9 in CI: each checked step also runs `outflow -n` (about a third more per example).
EXAMPLES = int(os.environ.get("OUTFLOW_PROP_EXAMPLES", "9"))
SAMPLES = ("a", "b", "c")
CONTENTS = ("one two\n", "three\n", "four five six\n", "x\n", "one tw\n")


def _steps() -> st.SearchStrategy[Step]:
    sample = st.sampled_from(SAMPLES)
    content = st.sampled_from(CONTENTS)
    check = st.sampled_from([True, True, False])  # most steps are checked
    return st.one_of(
        st.builds(
            lambda v, c: Step("config", ("text", v), c), st.sampled_from(["x", "y", "zz"]), check
        ),
        st.builds(
            lambda v, c: Step("config", ("names", v), c),
            st.lists(st.sampled_from("abcd"), min_size=1, max_size=3, unique=True).map(tuple),
            check,
        ),
        st.builds(lambda v, c: Step("config", ("k", v), c), st.integers(1, 4), check),
        st.builds(lambda v, c: Step("code", (v,), c), st.integers(0, 1), check),
        st.builds(lambda v, c: Step("helper", (v,), c), st.integers(0, 2), check),
        st.builds(lambda v, c: Step("included", (v,), c), st.integers(0, 1), check),
        st.builds(lambda s, t, c: Step("data_write", (s, t), c), sample, content, check),
        st.builds(lambda s, c: Step("data_delete", (s,), c), sample, st.booleans()),
        st.builds(lambda s, c: Step("data_touch", (s,), c), sample, st.booleans()),
        st.builds(
            lambda s, t, c: Step("data_keep_mtime", (s, t), c), sample, content, st.booleans()
        ),
        st.builds(lambda s, t, c: Step("data_older", (s, t), c), sample, content, st.booleans()),
        st.builds(lambda i, c: Step("out_delete", (i,), c), st.integers(0, 50), st.booleans()),
        st.builds(lambda i, c: Step("out_replace", (i,), c), st.integers(0, 50), st.booleans()),
        st.builds(
            lambda n, c: Step("dir_add", (n,), c), st.sampled_from(["1.txt", "9.txt"]), check
        ),
        st.builds(lambda c: Step("fail", (), c), st.booleans()),
        st.builds(
            lambda sig, d, forced, touch: Step("interrupt", (sig, d, forced, touch), True),
            st.sampled_from([signal.SIGINT, signal.SIGKILL]),
            st.sampled_from([0.0, 0.2, 0.5, 0.9, 1.4]),
            st.booleans(),
            st.booleans(),
        ),
    )


def _worlds() -> st.SearchStrategy[World]:
    return st.builds(
        World,
        fragments=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4, unique=True).map(
            lambda fs: tuple(f for f in FRAGMENTS if f in fs)
        ),
    )


def play(root: Path, world: World, steps: list[Step]) -> None:
    """The property: after each checked step, incremental equals clean."""
    judge = Judge(root / "clean")
    project = root / "project"
    write_world(project, world)
    history = [f"world {world}"]
    outflow(project, env={"PROP_SLEEP": "0"})
    judge.compare(project, world, history)
    pending = False  # edits made since the last run that succeeded
    for i, step in enumerate(steps):
        if step.kind == "interrupt" and pending and step.args[3]:
            # ``--touch`` after edits records the outputs as they are, stale
            # or not: that is what it is for. After an interrupted run with
            # nothing else changed, it must still never record a half-made one.
            step = Step(step.kind, (*step.args[:3], False), step.check)
        world = apply(project, world, step)
        history.append(describe(step))
        pending = pending or step.kind not in ("interrupt", "fail")
        if step.check or i == len(steps) - 1:
            run_checked(project, history)
            judge.compare(project, world, history)
            pending = False


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")) and "OUTFLOW_PROP_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=_worlds(), steps=st.lists(_steps(), min_size=1, max_size=5))
def test_incremental_equals_clean(tmp_path_factory: pytest.TempPathFactory, world: World,
                                  steps: list[Step]) -> None:
    play(tmp_path_factory.mktemp("prop"), world, steps)


# --- counterexamples the property found, kept as named tests ---------------


def test_path_values_follow_their_files(tmp_path: Path) -> None:
    """A map over the paths an upstream map made: after the config changes
    what those files hold, their copies are made again."""
    play(tmp_path, World(fragments=("paths",)), [Step("config", ("text", "y"))])


def test_directory_output_readers_follow_its_content(tmp_path: Path) -> None:
    """A directory output listed by a later task and mapped over: after a
    config change, everything downstream holds the new chunks."""
    play(tmp_path, World(fragments=("dirs",)), [Step("config", ("text", "y"))])


def test_touch_after_a_killed_forced_run(tmp_path: Path) -> None:
    """A forced rerun killed mid-job, then ``--touch``: the half-written
    outputs are never recorded as done (issue 17)."""
    play(tmp_path, World(fragments=FRAGMENTS), [
        Step("interrupt", (signal.SIGKILL, 0.5, True, True)),
        Step("interrupt", (signal.SIGINT, 0.9, True, True)),
    ])


def test_early_cutoff_keeps_timestamps_ordered(tmp_path: Path) -> None:
    """``first`` makes the same bytes again from a changed input, so
    ``second`` does not run; it must still not be older than ``first``."""
    play(tmp_path, World(fragments=("cutoff",)), [Step("data_write", ("a", "one tw\n"))])


def test_a_map_passing_every_stages_outputs(tmp_path: Path) -> None:
    """Issue 18: the gathering task after a map of two stages takes both
    stages' files and values; edits to the data, the config and a sample
    more or less keep incremental equal to clean."""
    play(tmp_path, World(fragments=("multi",)), [
        Step("data_write", ("a", "one tw\n")),
        Step("config", ("text", "y")),
        Step("data_write", ("c", "four\n")),
        Step("data_delete", ("b",)),
        Step("code", (1,)),
    ])


def test_an_imported_module_and_an_included_file(tmp_path: Path) -> None:
    """A run: block in an included file imports lib/helper.py, which
    imports lib/deep.py, to make a temporary file: editing deep.py (then
    the included file) remakes it and its reader's output, and the
    temporary file is gone again after each run (issue 17)."""
    play(tmp_path, World(fragments=("mods",)), [
        Step("helper", (1,)),
        Step("included", (1,)),
        Step("helper", (2,)),
    ])
