"""Shared fixtures: real services (PostgreSQL) and the cache backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_PG_URL = "postgresql://outflow:outflow@127.0.0.1:5432/outflow_test"
PG_HOW = "run scripts/start-postgres.sh or set OUTFLOW_TEST_PG_URL"


def _psycopg_conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy-style URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The URL of a reachable PostgreSQL, or skip (fail under CI)."""
    url = os.environ.get("OUTFLOW_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        import psycopg

        psycopg.connect(_psycopg_conninfo(url), connect_timeout=5).close()
    except Exception as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {url.split('@')[-1]} ({e}); {PG_HOW}")
        pytest.skip(f"PostgreSQL not reachable; {PG_HOW}")
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose connections work in a fresh, empty schema.

    The schema is set through libpq's ``options`` in the URL, so subprocesses
    given this URL see the same tables. It is dropped afterwards.
    """
    import psycopg
    from sqlalchemy import make_url

    schema = f"test_{uuid.uuid4().hex[:12]}"
    conninfo = _psycopg_conninfo(pg_server_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(pg_server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def cache_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """Each cache backend in turn: None means the default SQLite file in tmp_path."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI every test must run: a skipped test fails the session."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        names = ", ".join(r.nodeid for r in skipped[:5])
        reporter.write_line(f"CI: {len(skipped)} tests skipped ({names}); in CI nothing may skip")
        session.exitstatus = 1
