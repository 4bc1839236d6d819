"""Shared fixtures: real services (PostgreSQL, Slurm, Grid Engine) and the cache backends."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

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


SLURM_HOW = "run scripts/start-slurm.sh as root"
SGE_HOW = "run scripts/start-sge.sh as root"
UP_NODE_STATES = ("idle", "mixed", "allocated", "completing")
SGE_DRMAA_LIBRARY = "/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0"
SGE_DEFAULT_ROOT = "/var/lib/gridengine"


def _service_missing(what: str, how: str, detail: str) -> NoReturn:
    """Skip a test whose service is not there, or fail it under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{what}: {detail}; {how}")
    pytest.skip(f"{what} not available ({detail}); {how}")


def _ask(argv: list[str], env: dict[str, str] | None = None) -> str:
    """The output of a service's client command; raises OSError when it does not answer."""
    if shutil.which(argv[0]) is None:
        raise OSError(f"{argv[0]} not installed")
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as e:
        raise OSError(f"{argv[0]} did not answer within 30 s") from e
    if done.returncode != 0:
        raise OSError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[:200]}")
    return done.stdout


@pytest.fixture(scope="session")
def slurm() -> str:
    """The name of a Slurm node that is up and takes jobs, or skip (fail under CI).

    Accounting is off on the test cluster: follow jobs with ``scontrol show
    job`` and ``squeue``, not ``sacct``. Finished jobs stay visible for a
    minute (MinJobAge).
    """
    try:
        out = _ask(["sinfo", "--noheader", "--Node", "--format=%N %T"])
    except OSError as e:
        _service_missing("Slurm", SLURM_HOW, str(e))
    nodes = dict(line.split(maxsplit=1) for line in out.splitlines() if line.strip())
    # Up and taking jobs; other tests' jobs may keep it busy. A trailing mark
    # ("idle*": not responding, "~": powered off...) or down/drain is unusable.
    ready = [name for name, state in nodes.items() if state in UP_NODE_STATES]
    if not ready:
        _service_missing("Slurm", SLURM_HOW, f"no usable node (sinfo: {nodes or 'no nodes'})")
    return ready[0]


def _jemalloc() -> str | None:
    """Debian's jemalloc, which must be preloaded before the Grid Engine DRMAA library loads."""
    found = sorted(
        glob.glob("/lib/*-linux-gnu/libjemalloc.so.2")
        + glob.glob("/usr/lib/*-linux-gnu/libjemalloc.so.2")
    )
    return found[0] if found else None


@pytest.fixture(scope="session")
def sge_drmaa() -> dict[str, str]:
    """The environment a DRMAA client needs to reach the local Grid Engine.

    Keys: DRMAA_LIBRARY_PATH, SGE_ROOT, SGE_CELL and LD_PRELOAD. Without the
    preloaded jemalloc, loading the library fails with "cannot allocate memory
    in static TLS block"; without SGE_ROOT, ``drmaa_init`` fails. The ``drmaa``
    package loads the library when imported, so use this environment in a
    subprocess. Skips (fails under CI) when Grid Engine is not running.
    """
    env = {
        "DRMAA_LIBRARY_PATH": os.environ.get("DRMAA_LIBRARY_PATH", SGE_DRMAA_LIBRARY),
        "SGE_ROOT": os.environ.get("SGE_ROOT", SGE_DEFAULT_ROOT),
        "SGE_CELL": os.environ.get("SGE_CELL", "default"),
    }
    if not Path(env["DRMAA_LIBRARY_PATH"]).is_file():
        _service_missing("Grid Engine DRMAA", SGE_HOW, f"no {env['DRMAA_LIBRARY_PATH']}")
    jemalloc = _jemalloc()
    if jemalloc is None:
        _service_missing("Grid Engine DRMAA", SGE_HOW, "no libjemalloc.so.2 to preload")
    preload = [p for p in os.environ.get("LD_PRELOAD", "").split(":") if p and p != jemalloc]
    env["LD_PRELOAD"] = ":".join([jemalloc, *preload])
    try:
        _ask(["qstat", "-f"], env={**os.environ, **env})
    except OSError as e:
        _service_missing("Grid Engine", SGE_HOW, str(e))
    return env


GRAPHVIZ_HOW = "install Debian's graphviz (scripts/test.sh does, as root)"


@pytest.fixture(scope="session")
def graphviz_dot() -> str:
    """The path of Graphviz's ``dot``, or skip (fail under CI)."""
    try:
        _ask(["dot", "-V"])
    except OSError as e:
        _service_missing("Graphviz", GRAPHVIZ_HOW, str(e))
    return str(shutil.which("dot"))


CHROMIUM_HOW = (
    "install Debian's chromium and chromium-driver (scripts/test.sh does, as root) "
    "and the test extra (pip install -e '.[test]')"
)
# Without the networking switches Chromium keeps trying to reach Google's
# services, which this closed network refuses many times over.
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1024",
)  # fmt: skip


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium driven by Selenium through Debian's chromedriver,
    keeping the page's console messages (``browser.get_log("browser")``);
    skips (fails under CI) when either is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        _service_missing("Selenium", CHROMIUM_HOW, str(e))
    found = {name: shutil.which(name) for name in ("chromium", "chromedriver")}
    for name, path in found.items():
        if path is None:
            _service_missing("Chromium", CHROMIUM_HOW, f"{name} not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = str(found["chromium"])
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path is given, so Selenium Manager never looks for one online.
    driver = webdriver.Chrome(
        options=options, service=Service(executable_path=str(found["chromedriver"]))
    )
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class DrmaaTarget:
    """The DRMAA library the DRMAA tests run against, and how to ask outflow for it."""

    env: dict[str, str]  # for the outflow process
    args: list[str]  # --cluster ...
    sge: bool  # Grid Engine's library (its own limits and messages)


@pytest.fixture
def drmaa(request: pytest.FixtureRequest) -> DrmaaTarget:
    """Grid Engine's DRMAA library, or whichever library DRMAA_LIBRARY_PATH
    names (e.g. Slurm's slurm-drmaa): the DRMAA tests must pass on any of them.
    Outflow learns the scheduler from the library (``--cluster drmaa``)."""
    named = os.environ.get("DRMAA_LIBRARY_PATH")
    if named is None or Path(named).resolve() == Path(SGE_DRMAA_LIBRARY).resolve():
        env = request.getfixturevalue("sge_drmaa")
        return DrmaaTarget(env, ["--cluster", "sge"], sge=True)
    if not Path(named).is_file():
        _service_missing("DRMAA", "set DRMAA_LIBRARY_PATH to a libdrmaa.so", f"no {named}")
    return DrmaaTarget({"DRMAA_LIBRARY_PATH": named}, ["--cluster", "drmaa"], sge=False)


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


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile outflow's modules once, before the tests start it thousands of times.

    Under PYTHONDONTWRITEBYTECODE (set on the test machines) nothing writes
    the bytecode of the editable install, so every ``outflow`` the tests run
    would compile its ~100 modules from source again: about a third of a
    second each time. Python still reads bytecode that exists, and checks it
    against the source, so a stale file is never used."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("outflowfile")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)
