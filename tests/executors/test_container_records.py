"""The image digest a container job ran with is recorded with the job, and
``--summary`` shows that one (not the one its tag names now), on SQLite and
PostgreSQL, and in a cache made before the record existed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from envtools import busybox_image, podman, remove_image
from outflowtest import make_project, outflow

PROJECT = """\
task inside:
    output: seen = "out/seen.txt"
    container: "{image}"
    shell: "cat /etc/outflow-test-image > {{output.seen}}"

workflow all:
    inside
"""


@pytest.fixture
def own_image() -> Iterator[str]:
    podman()
    name = f"localhost/outflow-test-rec:{uuid.uuid4().hex[:8]}"
    yield name
    remove_image(name)


def digest_of(image: str) -> str:
    return subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", image],
                          capture_output=True, text=True, check=True).stdout.strip()


def summary_image(p: Path, *db: str) -> str:
    rows = json.loads(outflow(p, "--summary", "--format", "json", *db).stdout)
    return next(r["image"] for r in rows if r["task"] == "inside")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_summary_shows_the_digest_the_job_ran_with(
    tmp_path: Path, own_image: str, backend: str, request: pytest.FixtureRequest
) -> None:
    db = ["--db", request.getfixturevalue("pg_url")] if backend == "postgresql" else []
    busybox_image(own_image, marker="first")
    first = digest_of(own_image)
    p = make_project(tmp_path, PROJECT.format(image=own_image))
    outflow(p, *db)
    assert summary_image(p, *db) == first
    busybox_image(own_image, marker="second")  # the tag now names another image
    second = digest_of(own_image)
    assert second != first
    assert summary_image(p, *db) == first  # what it ran with, not what the tag names
    table = outflow(p, "--summary", *db).stdout
    assert first[:12] in table and second[:12] not in table
    planned = outflow(p, "-n", *db).stdout
    assert "Would run" in planned and "task definition or environment changed" in planned
    outflow(p, *db)
    assert (p / "out/seen.txt").read_text() == "second\n"
    assert summary_image(p, *db) == second


def test_a_cache_made_before_the_images_table_gets_it(tmp_path: Path, own_image: str) -> None:
    busybox_image(own_image, marker="first")
    p = make_project(tmp_path, PROJECT.format(image=own_image))
    outflow(p)
    con = sqlite3.connect(p / ".outflow/outflow.db")
    con.execute("DROP TABLE images")  # as an outflow before it left the cache
    con.commit()
    con.close()
    assert summary_image(p) == digest_of(own_image)  # nothing recorded: the current one
    busybox_image(own_image, marker="second")
    outflow(p)
    con = sqlite3.connect(p / ".outflow/outflow.db")
    recorded = con.execute("SELECT image, digest FROM images").fetchall()
    con.close()
    assert recorded == [(own_image, digest_of(own_image))]
    assert summary_image(p) == digest_of(own_image)
