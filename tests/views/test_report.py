"""``outflow --report FILE.html``: a real run, then the report opened in a
real headless Chromium: it must render without console errors, show its
plots, one timeline bar per job of the last run and the failure's log, load
nothing, and show hostile names and logs as text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from outflowtest import cache_rows, make_project, outflow

HOSTILE_ITEM = '<img src="https://example.com/x.png" onerror="alert(2)">'

PIPELINE = f"""
config:
    items: list = ["a", "b", "c", '{HOSTILE_ITEM}', "fail"]

task work(item: str) -> (out: str):
    run:
        import time
        time.sleep(0.2)
        data = bytearray(20_000_000)
        if item == "fail":
            print("about to fail: <script>alert(1)</script>")
            raise RuntimeError("bad item & <b>wrong</b>")
        return item * 2

task gather(out: list):
    output: txt = "all.txt"
    run:
        open(output.txt, "w").write(repr(out))

workflow all:
    map(items -> item) {{ work }} | gather
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose last run had four jobs done and one failed, and its report."""
    p = make_project(tmp_path_factory.mktemp("report"), PIPELINE)
    outflow(p, "-k", "-j", "2", check=1)
    proc = outflow(p, "--report", "report.html")
    assert "report written to report.html (5 jobs in the last run, 1 failing)" in proc.stdout
    assert not (p / "all.txt").exists()
    return p / "report.html"


def element_size(browser: Any, css: str) -> list[tuple[float, float]]:
    """Rendered width and height of each element matching ``css``."""
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; });",
        css,
    )


def test_report_renders_plots_timeline_failure(report: Path, browser: Any) -> None:
    browser.get(report.as_uri())
    assert browser.get_log("browser") == []
    assert browser.title == "outflow report: report0"

    # The timeline: one bar per job of the last run, each drawn.
    (run_jobs,) = cache_rows(
        report.parent, "SELECT count(*) FROM jobs WHERE run_id = (SELECT max(run_id) FROM jobs)"
    )[0]
    assert run_jobs == 5
    bars = element_size(browser, "#timeline rect.bar")
    assert len(bars) == run_jobs
    assert all(w > 0 and h > 0 for w, h in bars)
    statuses = browser.execute_script(
        "return Array.from(document.querySelectorAll('#timeline rect.bar'))"
        ".map(e => e.dataset.status).sort();"
    )
    assert statuses == ["done", "done", "done", "done", "failed"]

    # Duration, CPU and memory: a drawn plot each, a point per finished job.
    for plot in ("#duration", "#cpu", "#memory"):
        ((w, h),) = element_size(browser, f"{plot} svg")
        assert w > 300 and h > 30
        points = element_size(browser, f"{plot} circle.point")
        assert len(points) == 5
        assert all(pw > 0 and ph > 0 for pw, ph in points)
        assert len(element_size(browser, f"{plot} rect.box")) == 1
    memory = browser.execute_script(
        "return document.querySelector('#memory g.task title').textContent;"
    )
    assert memory.startswith("work: 5 jobs, median ")

    # The task graph: work (one failed of five) feeds gather, which will run.
    nodes = browser.execute_script(
        "return Array.from(document.querySelectorAll('#graph g.node'))"
        ".map(g => [g.querySelector('text').textContent, g.dataset.status]);"
    )
    assert sorted(nodes) == [["gather", "will run"], ["work ×5", "failed"]]
    assert all(w > 0 and h > 0 for w, h in element_size(browser, "#graph g.node rect"))
    assert len(element_size(browser, "#graph path.edge")) == 1
    tops = browser.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('#graph g.node'))"
        ".map(g => [g.querySelector('text').textContent, g.getBoundingClientRect().top]));"
    )
    assert tops["work ×5"] < tops["gather"]  # layered: the producer above

    # The failure, with its log and error shown as text.
    logs = [e for e in browser.find_elements("css selector", "pre.log") if e.is_displayed()]
    shown = "\n".join(e.text for e in logs)
    assert "about to fail: <script>alert(1)</script>" in shown
    assert "RuntimeError: bad item & <b>wrong</b>" in shown
    headings = [e.text for e in browser.find_elements("css selector", ".failure h3")]
    assert headings == ["work item=fail"]

    # Hostile text stayed text: no script, no image, nothing fetched.
    assert browser.execute_script("return document.scripts.length;") == 0
    assert browser.execute_script("return document.images.length;") == 0
    assert browser.execute_script("return performance.getEntriesByType('resource').length;") == 0
    titles = browser.execute_script(
        "return Array.from(document.querySelectorAll('#timeline rect.bar title'))"
        ".map(t => t.textContent).join('\\n');"
    )
    assert f"work item={HOSTILE_ITEM[:19]}" in titles


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]


def test_report_makes_no_network_request(report: Path) -> None:
    text = report.read_text()
    links = _Links()
    links.feed(text)
    assert [u for u in links.urls if u.lower().startswith(("http:", "https:", "//"))] == []
    assert {"script", "link", "img", "iframe", "object", "embed"} & links.tags == set()
    assert "@import" not in text and "url(http" not in text
    # The hostile item is in the page, escaped.
    assert "item=&lt;img src=&quot;https://examp…" in text


def test_report_before_any_run_writes_no_cache(tmp_path: Path, browser: Any) -> None:
    p = make_project(tmp_path, PIPELINE)
    outflow(p, "--report", "out/r.html", check=2)  # no such directory
    proc = outflow(p, "--report", "r.html")
    assert "(0 jobs in the last run, 0 failing)" in proc.stdout
    assert not (p / ".outflow" / "outflow.db").exists()
    browser.get((p / "r.html").as_uri())
    assert browser.get_log("browser") == []
    body = browser.find_element("tag name", "body").text
    assert "No run has recorded jobs yet." in body
    assert "No job has finished yet." in body
    nodes = browser.execute_script(
        "return Array.from(document.querySelectorAll('#graph g.node'))"
        ".map(g => [g.querySelector('text').textContent, g.dataset.status]);"
    )
    assert sorted(nodes) == [["gather", "will run"], ["work ×5", "will run"]]


def test_report_option_errors(tmp_path: Path) -> None:
    p = make_project(tmp_path, PIPELINE)
    proc = outflow(p, "--report", "r.html", "--dag", check=2)
    assert "--report and --dag cannot be used together" in proc.stderr
    proc = outflow(p, "--report", "r.html", "--touch", check=2)
    assert "--report and --touch cannot be used together" in proc.stderr
    proc = outflow(p, "--report", "missing/r.html", check=2)
    assert "error: cannot use" in proc.stderr and "missing" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_report_reads_either_cache_backend(tmp_path: Path, cache_url: str | None) -> None:
    """The same report from SQLite and from PostgreSQL (``--db``)."""
    p = make_project(tmp_path, PIPELINE)
    db = ["--db", cache_url] if cache_url else []
    outflow(p, *db, "-k", check=1)
    outflow(p, *db, "work", "-R", "work", "-k", check=1)  # a second run: the last one shown
    proc = outflow(p, *db, "--report", "r.html")
    assert "(5 jobs in the last run, 1 failing)" in proc.stdout
    text = (p / "r.html").read_text()
    assert text.count('<rect class="bar"') == 5
    assert "Last run #2: " in text
    assert text.count('<circle class="point"') == 3 * 5  # the latest result of each job
    assert "about to fail: &lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_report_shows_the_last_run_that_ran_jobs_not_a_touch(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task first():
            output: txt = "first.txt"
            shell: "echo 1 > {output.txt}"
        task second():
            output: other = "second.txt"
            shell: "echo 2 > {output.other}"
        workflow all:
            (first, second)
        """)
    outflow(p, "first")
    (p / "second.txt").write_text("made by hand\n")
    assert "touched 1 jobs" in outflow(p, "--touch").stdout
    proc = outflow(p, "--report", "r.html")
    assert "(1 jobs in the last run, 0 failing)" in proc.stdout
    assert "Last run #1: " in (p / "r.html").read_text()
