"""The layered layout of ``--report``'s graph, on views made by hand."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from outflowfile.views.graphview import UP_TO_DATE, WILL_RUN, View, ViewNode
from outflowfile.views.svggraph import layers, to_svg


def view(edges: list[tuple[str, str]], names: str) -> View:
    return View([ViewNode(n, f"task {n}", UP_TO_DATE) for n in names], edges)


def test_layers_follow_the_longest_path() -> None:
    v = view([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "d"), ("e", "f")], "abcdef")
    rows = layers(v)
    depth = {n: i for i, row in enumerate(rows) for n in row}
    assert depth == {"a": 0, "e": 0, "b": 1, "c": 1, "f": 1, "d": 2}


def test_order_removes_crossings_of_two_chains() -> None:
    # x1 -> y2 and x2 -> y1, listed crosswise: the sweeps put each under its producer.
    v = view([("p", "x1"), ("p", "x2"), ("x1", "z1"), ("x2", "z2")], ["p", "x1", "x2", "z2", "z1"])
    rows = layers(v)
    assert rows[1].index("x1") == rows[2].index("z1")
    assert rows[1].index("x2") == rows[2].index("z2")


def test_a_cycle_does_not_hang_and_every_node_is_drawn() -> None:
    v = view([("a", "b"), ("b", "c"), ("c", "b")], "abc")
    assert sorted(n for row in layers(v) for n in row) == ["a", "b", "c"]
    svg = ET.fromstring(to_svg(v))
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}rect")) == 3


def test_svg_escapes_labels_and_shortens_long_ones() -> None:
    v = View(
        [ViewNode("n0", '<b>"x"</b> & y', WILL_RUN), ViewNode("n1", "z" * 80, UP_TO_DATE)],
        [("n0", "n1")],
    )
    svg = to_svg(v)
    root = ET.fromstring(svg)  # well-formed: the label did not break the markup
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ['<b>"x"</b> & y', "z" * 47 + "…"]
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path[@class='edge']")) == 1
