"""``outflow --dag`` and ``--taskgraph``: the plan as a graph, checked by
rendering it with the real Graphviz (``dot -Tsvg``) and reading the SVG back,
and as Mermaid text checked line by line. Nothing may run or be cached."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from outflowtest import cache_rows, make_project, outflow

GREEN, ORANGE, RED, BLUE = "#c8e6c9", "#ffe0b2", "#ffcdd2", "#e1f5fe"
SVG = "{http://www.w3.org/2000/svg}"

PIPELINE = """
config:
    n: int = 3

task gen_data(n: int) -> (items: list):
    run:
        return list(range(n))

task transform(item: int) -> (transformed: int):
    run:
        if item == 1:
            raise RuntimeError("item 1 is bad")
        return item + 1

task report(transformed: list):
    output: txt = "report.txt"
    run:
        open(output.txt, "w").write(repr(transformed))

workflow all:
    gen_data | map(items -> item) { transform } | report
"""


def render(dot: str, text: str) -> dict[str, tuple[str, str]]:
    """Render with Graphviz; returns {label: (fill colour, node id)} and
    checks that every edge of the text is drawn."""
    done = subprocess.run(
        [dot, "-Tsvg"], input=text, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    root = ET.fromstring(done.stdout)
    nodes: dict[str, tuple[str, str]] = {}
    edges: set[tuple[str, str]] = set()
    for g in root.iter(f"{SVG}g"):
        title = g.findtext(f"{SVG}title") or ""
        if g.get("class") == "node":
            label = " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
            shape = g.find(f".//{SVG}path")
            if shape is None:
                shape = g.find(f".//{SVG}polygon")
            assert shape is not None
            nodes[label] = (shape.get("fill", ""), title)
        elif g.get("class") == "edge":
            source, target = title.split("->")
            edges.add((source, target))
    assert edges == set(re.findall(r"^\s*(\w+) -> (\w+);$", text, re.M))
    return nodes


def edge_labels(nodes: dict[str, tuple[str, str]], text: str) -> set[tuple[str, str]]:
    """The edges of a dot text, by node label."""
    label_of = {node_id: label for label, (_, node_id) in nodes.items()}
    return {(label_of[a], label_of[b]) for a, b in re.findall(r"^\s*(\w+) -> (\w+);$", text, re.M)}


def test_dag_before_any_run_shows_unsized_map_and_runs_nothing(
    tmp_path: Path, graphviz_dot: str
) -> None:
    p = make_project(tmp_path, PIPELINE)
    proc = outflow(p, "--dag")
    nodes = render(graphviz_dot, proc.stdout)
    mapnode = "map(items -> item) { transform }: not yet sized"
    assert set(nodes) == {"gen_data", mapnode, "report"}
    assert nodes["gen_data"][0] == ORANGE
    assert nodes[mapnode][0] == BLUE
    assert 'style="rounded,filled,dashed"' in proc.stdout
    assert edge_labels(nodes, proc.stdout) == {("gen_data", mapnode), (mapnode, "report")}
    assert not (p / "report.txt").exists()
    assert not (p / ".outflow" / "outflow.db").exists()


def test_dag_colours_up_to_date_failed_and_will_run(tmp_path: Path, graphviz_dot: str) -> None:
    p = make_project(tmp_path, PIPELINE)
    outflow(p, "-k", check=1)
    before = cache_rows(p, "SELECT id, status FROM jobs ORDER BY id")
    proc = outflow(p, "--dag")
    assert cache_rows(p, "SELECT id, status FROM jobs ORDER BY id") == before
    assert cache_rows(p, "SELECT count(*) FROM runs") == [(1,)]
    nodes = render(graphviz_dot, proc.stdout)
    assert {label: fill for label, (fill, _) in nodes.items()} == {
        "gen_data": GREEN,
        "transform item=0": GREEN,
        "transform item=1": RED,
        "transform item=2": GREEN,
        "report": ORANGE,
    }
    assert edge_labels(nodes, proc.stdout) == {
        ("gen_data", "transform item=0"),
        ("gen_data", "transform item=1"),
        ("gen_data", "transform item=2"),
        ("transform item=0", "report"),
        ("transform item=1", "report"),
        ("transform item=2", "report"),
    }
    assert 'tooltip="failed: failed last time"' in proc.stdout
    assert not (p / "report.txt").exists()


def test_taskgraph_counts_jobs_and_joins_tasks(tmp_path: Path, graphviz_dot: str) -> None:
    p = make_project(tmp_path, PIPELINE)
    outflow(p, "-k", check=1)
    proc = outflow(p, "--taskgraph")
    nodes = render(graphviz_dot, proc.stdout)
    assert {label: fill for label, (fill, _) in nodes.items()} == {
        "gen_data": GREEN,
        "transform ×3": RED,
        "report": ORANGE,
    }
    assert edge_labels(nodes, proc.stdout) == {
        ("gen_data", "transform ×3"),
        ("transform ×3", "report"),
    }
    assert 'tooltip="failed: 1 failed, 2 up to date"' in proc.stdout


BIG_MAP = """
config:
    items: list = {items}

task square(item: int) -> (value: int):
    run:
        return item * item

task total(value: list) -> (sum: int):
    run:
        return sum(value)

workflow all:
    map(items -> item) {{ square }} | total
"""


def test_large_map_collapses_into_one_node(tmp_path: Path, graphviz_dot: str) -> None:
    big = make_project(tmp_path / "big", BIG_MAP.format(items=list(range(11))))
    outflow(big, "-U", "square")  # the squares are cached; total is not
    proc = outflow(big, "--dag")
    nodes = render(graphviz_dot, proc.stdout)
    assert {label: fill for label, (fill, _) in nodes.items()} == {
        "square ×11": GREEN,
        "total": ORANGE,
    }
    assert edge_labels(nodes, proc.stdout) == {("square ×11", "total")}
    assert 'tooltip="up to date: 11 up to date"' in proc.stdout

    small = make_project(tmp_path / "small", BIG_MAP.format(items=list(range(10))))
    nodes = render(graphviz_dot, outflow(small, "--dag").stdout)
    assert sorted(nodes) == sorted([f"square item={i}" for i in range(10)] + ["total"])


QUOTED = """
config:
    names: list = ['a"b', "<i>x</i> & #1", "back\\\\slash"]

task greet(name: str) -> (text: str):
    run:
        return "hi " + name

workflow all:
    map(names -> name) { greet }
"""


def test_labels_with_quotes_and_markup_survive(tmp_path: Path, graphviz_dot: str) -> None:
    p = make_project(tmp_path, QUOTED)
    dot_text = outflow(p, "--dag").stdout
    nodes = render(graphviz_dot, dot_text)
    assert set(nodes) == {'greet name=a"b', "greet name=<i>x</i> & #1", "greet name=back\\slash"}
    mermaid = outflow(p, "--dag", "--format", "mermaid").stdout.splitlines()
    labels = [line.strip() for line in mermaid if "[" in line]
    assert labels == [
        'j1["greet name=a#34;b"]',
        'j2["greet name=#60;i#62;x#60;/i#62; #38; #35;1"]',
        'j3["greet name=back\\slash"]',
    ]


def test_mermaid_structure(tmp_path: Path) -> None:
    p = make_project(tmp_path, PIPELINE)
    outflow(p, "-k", check=1)
    lines = outflow(p, "--dag", "--format", "mermaid").stdout.splitlines()
    assert lines[0] == "flowchart TD"
    nodes = dict(re.findall(r'^    (\w+)\["([^"]*)"\]$', "\n".join(lines), re.M))
    assert sorted(nodes.values()) == [
        "gen_data", "report", "transform item=0", "transform item=1", "transform item=2"
    ]
    by_label = {label: node_id for node_id, label in nodes.items()}
    edges = set(re.findall(r"^    (\w+) --> (\w+)$", "\n".join(lines), re.M))
    assert len(edges) == 6
    assert (by_label["gen_data"], by_label["transform item=1"]) in edges
    assert (by_label["transform item=1"], by_label["report"]) in edges
    classes = {
        cls: set(ids.split(","))
        for ids, cls in re.findall(r"^    class ([\w,]+) (\w+)$", "\n".join(lines), re.M)
    }
    assert classes == {
        "uptodate": {by_label[f"transform item={i}"] for i in (0, 2)} | {by_label["gen_data"]},
        "failed": {by_label["transform item=1"]},
        "willrun": {by_label["report"]},
    }
    assert "    classDef failed fill:#ffcdd2,stroke:#c62828,color:#000" in lines
    tasks = outflow(p, "--taskgraph", "--format", "mermaid").stdout.splitlines()
    assert tasks[0] == "flowchart TD"
    assert tasks[1:6] == [
        '    t0["gen_data"]', '    t1["report"]', '    t2["transform ×3"]',
        "    t2 --> t1", "    t0 --> t2",
    ]


def test_format_errors(tmp_path: Path) -> None:
    p = make_project(tmp_path, PIPELINE)
    proc = outflow(p, "--format", "mermaid", check=2)
    assert "--format mermaid: no command to format; it goes with --dag or --taskgraph" in (
        proc.stderr
    )
    proc = outflow(p, "--dag", "--taskgraph", check=2)
    assert "--dag and --taskgraph cannot be used together" in proc.stderr
    proc = outflow(p, "--dag", "--format", "png", check=2)
    assert "Invalid value for '--format'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = outflow(p, "--dag", "nosuchtarget", check=2)
    assert "unknown target 'nosuchtarget'" in proc.stderr
