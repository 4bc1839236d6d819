"""The docs stay true: every Outflowfile in docs/ passes ``outflow --lint``,
every option of ``outflow --help`` is described in docs/cli.md, and the
links between the pages lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.outflowtest import make_project, outflow

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))
# A fenced block marked ```outflow is a whole Outflowfile.
BLOCK = re.compile(r"^```outflow\n(.*?)^```$", re.S | re.M)
# A fenced block whose language is followed by a path (```python plots/figures.py)
# is a file of the project: every Outflowfile of its page is linted beside it.
FILE_BLOCK = re.compile(r"^```\w+ ([\w./-]+)\n(.*?)^```$", re.S | re.M)


def outflow_blocks() -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        files = dict(FILE_BLOCK.findall(text))
        for m in BLOCK.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((f"{page.name}:{line}", m.group(1), files))
    return found


def test_the_pages_are_there() -> None:
    assert {"cli.md", "cluster.md", "language.md", "snakemake.md"} <= {p.name for p in PAGES}
    assert len(outflow_blocks()) >= 12


@pytest.mark.parametrize(("where", "text", "files"), outflow_blocks(), ids=lambda v: str(v)[:40])
def test_every_outflowfile_in_the_docs_passes_lint(
    tmp_path: Path, where: str, text: str, files: dict[str, str]
) -> None:
    project = make_project(tmp_path / "p", text, files)
    done = outflow(project, "--lint", check=None)
    assert done.returncode == 0, f"{where}:\n{done.stderr}"
    assert ": ok (" in done.stdout


def help_options(help_text: str) -> list[str]:
    """Every option name ``outflow --help`` shows (``-j``, ``--jobs``...)."""
    names = []
    for line in help_text.split("Options:", 1)[1].splitlines():
        m = re.match(r"  (-[^ ].*?)(?:  |$)", line)
        if m:
            names += [part.split(" ")[0] for part in m.group(1).split(", ")]
    return names


def test_every_option_is_in_the_cli_reference(tmp_path: Path) -> None:
    shown = help_options(outflow(tmp_path, "--help").stdout)
    assert {"-j", "--jobs", "--touch", "--version", "-h"} <= set(shown)
    reference = (DOCS / "cli.md").read_text()
    missing = [n for n in shown if not re.search(rf"`{re.escape(n)}(?![\w-])", reference)]
    assert missing == [], f"options of outflow --help not described in docs/cli.md: {missing}"


def test_links_lead_somewhere() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    for page in PAGES:
        assert f"docs/{page.name}" in readme, f"README.md does not link docs/{page.name}"
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([\w.-]*\.md)?(?:#([\w-]+))?\)", page.read_text()):
            linked = DOCS / target if target else page
            assert linked.exists(), f"{page.name} links to {target}"
            if anchor:
                titles = re.findall(r"^#+ (.+)$", linked.read_text(), re.M)
                slugs = {re.sub(r"[^\w -]", "", t).strip().lower().replace(" ", "-")
                         for t in titles}
                assert anchor in slugs, f"{page.name} links to {target}#{anchor}"
