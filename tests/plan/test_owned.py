"""The ownership rule over bound paths (issue 16): ``ownership.Places`` and
``ownership.Claims`` over plain paths, and ``plan.owned.Owned`` over the
jobs of a real graph. The command's side is ``tests/run/test_valued_ownership.py``."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from outflowfile.errors import UserError
from outflowfile.language import loader
from outflowfile.language.ownership import (
    Claims,
    Overlap,
    Places,
    Project,
    Refusal,
    refusal_at,
    refusal_of_made,
)
from outflowfile.plan.owned import Owned
from outflowfile.run.session import build_graph, select


def test_places_normalise_and_resolve_parents(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "out").mkdir(parents=True)
    (project / "alias").symlink_to("out")
    (project / "away").symlink_to(tmp_path)
    places = Places(str(project))
    root = os.path.realpath(project)
    assert places.place("out/a.txt") == "out/a.txt"
    assert places.place("./out//a.txt") == "out/a.txt"
    assert places.place("alias/a.txt") == "out/a.txt"
    assert places.place("away/x") == os.path.realpath(tmp_path / "x")
    assert places.place("away/proj") == "."  # the project, reached from outside
    assert places.place("") == "." and places.place("./") == "."
    assert places.place("..") == os.path.realpath(tmp_path)
    assert places.place(f"{root}/out/b") == "out/b"
    assert places.place("out/../../x") == os.path.realpath(tmp_path / "x")
    # The last part is the path itself, not resolved: a job replaces the link.
    assert places.place("alias") == "alias"


def test_places_read_each_parent_once(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    places = Places(str(tmp_path))
    assert places.place("d/a") == "d/a"
    (tmp_path / "d").symlink_to("real")  # made during the run: the run's answer stands
    assert places.place("d/b") == "d/b"
    assert Places(str(tmp_path)).place("d/b") == "real/b"


@pytest.mark.parametrize(
    ("place", "refusal"),
    [
        (".OUTFLOW", Refusal.OUTFLOW_DIR),
        (".Outflow/x", Refusal.IN_OUTFLOW_DIR),
        ("OUTFLOWFILE", Refusal.OUTFLOWFILE),
        (".outflowx", None),
        ("..", Refusal.ABOVE_PROJECT),
        ("../x", Refusal.OUTSIDE),
        ("/proj/.outflow/x", None),  # places are relative inside the project
        ("/else/x", None),
        ("/", Refusal.ABOVE_PROJECT),
        ("results/.outflow", None),
    ],
)
def test_refusal_at(place: str, refusal: Refusal | None) -> None:
    assert refusal_at(place, Project("/proj")) is refusal


def test_outside_is_refused_unless_written_absolute() -> None:
    project = Project("/proj")
    assert refusal_of_made("/else/x", project, absolute=False) is Refusal.OUTSIDE
    assert refusal_of_made("/else/x", project, absolute=True) is None
    assert refusal_of_made("/", project, absolute=True) is Refusal.ABOVE_PROJECT
    assert refusal_of_made(".", project, absolute=True) is Refusal.PROJECT


def test_claims_meet_across_and_within_batches() -> None:
    claims = Claims()
    a, b, c = object(), object(), object()
    a1, a2 = ("out/a.txt", a, "a1"), ("out/a.txt", a, "again")
    b1 = ("out/a.txt", b, "b1")
    assert claims.add([a1, a2]) == []  # the same owner twice
    assert claims.add([b1]) == [(Overlap.SAME, b1, a1)]
    d_a, d, d_c = ("d/a.txt", a, "a2"), ("d", a, "dir"), ("d/c.txt", c, "c1")
    assert claims.add([d_a, d, d_c]) == [(Overlap.INSIDE, d_c, d)]  # not d_a: a's own
    late = ("out", c, "late dir")
    assert claims.add([late]) == [(Overlap.HOLDS, late, a1)]
    # Beneath "res" first b's, then c's: a's "res" meets c's.
    y, z, res = ("res/x/y", b, "y"), ("res/x/z", c, "z"), ("res", b, "res")
    assert claims.add([y, z]) == []
    assert claims.add([res]) == [(Overlap.HOLDS, res, z)]
    deep, top = ("/abs/p/q", a, "abs"), ("/abs", b, "top")
    assert claims.add([deep, top]) == [(Overlap.INSIDE, deep, top)]
    assert claims.add([("outer", a, "o"), ("outer2/x", b, "o2")]) == []  # apart
    assert claims.add([("outer2", c, "o3")]) == [(Overlap.HOLDS, ("outer2", c, "o3"),
                                                  ("outer2/x", b, "o2"))]


def _owned(tmp_path: Path, text: str) -> tuple[Owned, bool]:
    path = tmp_path / "Outflowfile"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    model = loader.load(path)
    config = {c.name: c.default for c in model.config}
    graph = build_graph(model, config, select(model, [], [], tmp_path))
    owned = Owned(str(tmp_path), str(path))
    return owned, owned.check(graph.nodes)


def test_owned_finds_every_problem_and_counts_the_rest(tmp_path: Path) -> None:
    names = ", ".join(f'"../x{i}"' for i in range(30))
    owned, found = _owned(tmp_path, f"""
        config:
            names: list[str] = [{names}]

        task write(name: str):
            output: o = "{{name}}.txt"
            shell: "echo > {{output.o}}"

        workflow all:
            map(names -> name) {{ write }}
        """)
    assert found
    error = owned.error()
    assert isinstance(error, UserError) and len(error.problems) == 21
    assert error.problems[0].message == (
        "output 'o' of job write[name='../x0'] is ../x0.txt, a path outside the project directory")
    assert error.problems[-1].message == "and 10 more problems with the paths of jobs"


def test_owned_passes_a_legitimate_graph(tmp_path: Path) -> None:
    owned, found = _owned(tmp_path, f"""
        config:
            xs: list[int] = [1, 2, 3]
            away: str = "{tmp_path.parent}/elsewhere"

        task square(x: int):
            log: "logs/square-{{x}}.log"
            output: o = "squares/{{x}}.txt"
            shell: "echo $(({{x}} * {{x}})) > {{output.o}}"

        task total(o: list):
            output: t = "total.txt"
            shell: "cat squares/*.txt > {{output.t}}"

        task publish(away: str):
            input: t = "total.txt"
            output: p = "/{{away}}/total.txt"
            shell: "cp {{input.t}} {{output.p}}"

        workflow all:
            map(xs -> x) {{ square }} | total | publish
        """)
    assert not found


def test_a_nul_in_a_value_is_taken_as_written(tmp_path: Path) -> None:
    places = Places(str(tmp_path))
    assert places.place("out\0/x") == "out\0/x"
    assert places.place("../a\0b") == os.path.realpath(tmp_path.parent) + "/a\0b"
