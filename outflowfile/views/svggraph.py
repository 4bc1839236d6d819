"""A graph view (``graphview.View``) drawn as SVG by a simple layered layout,
so that ``--report`` needs no Graphviz.

Layers by longest path from the sources; within a layer, nodes are ordered
by the mean position of their neighbours (a few sweeps down and up), which
removes most crossings of a pipeline's graph; edges are curves from the
bottom of a node to the top of the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from outflowfile.views.graphview import COLOURS, UNSIZED, View

CHAR_WIDTH = 7.2  # of the 12px sans-serif labels, about
NODE_HEIGHT = 30
LAYER_GAP = 60
NODE_GAP = 24
MARGIN = 16
MAX_LABEL = 48  # characters shown; the full label is in the tooltip
SWEEPS = 4


@dataclass
class Box:
    x: float  # centre
    y: float  # top
    width: float


def layers(view: View) -> list[list[str]]:
    """Node ids by layer: each node one below its lowest producer."""
    preds: dict[str, list[str]] = {n.id: [] for n in view.nodes}
    succs: dict[str, list[str]] = {n.id: [] for n in view.nodes}
    for a, b in view.edges:
        if a in preds and b in preds:
            succs[a].append(b)
            preds[b].append(a)
    depth: dict[str, int] = {}
    waiting = {n: len(p) for n, p in preds.items()}
    ready = [n.id for n in view.nodes if waiting[n.id] == 0]
    while ready:
        node = ready.pop()
        depth[node] = max((depth[p] + 1 for p in preds[node]), default=0)
        for s in succs[node]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    # A cycle cannot come from a plan; should one appear, its nodes go last.
    last = max(depth.values(), default=-1) + 1
    out: list[list[str]] = [[] for _ in range(last + 1)]
    for n in view.nodes:
        out[depth.get(n.id, last)].append(n.id)
    order(out, preds, succs)
    return [layer for layer in out if layer]


def order(rows: list[list[str]], preds: dict[str, list[str]], succs: dict[str, list[str]]) -> None:
    """Reorder each layer by the barycentre of its neighbours in the layer
    before (sweeping down) or after (sweeping up)."""
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        for i in indices:
            ref = rows[i - 1] if down else rows[i + 1]
            pos = {n: k for k, n in enumerate(ref)}
            links = preds if down else succs

            def centre(node: str, links: dict[str, list[str]] = links, pos: dict = pos) -> float:
                near = [pos[m] for m in links[node] if m in pos]
                return sum(near) / len(near) if near else float("inf")

            keyed = [(centre(n), k, n) for k, n in enumerate(rows[i])]
            rows[i] = [n for _, _, n in sorted(keyed)]


def place(view: View, rows: list[list[str]]) -> tuple[dict[str, Box], float, float]:
    """Boxes for the nodes, and the drawing's width and height."""
    labels = {n.id: _shown(n.label) for n in view.nodes}
    widths = {nid: max(60.0, len(text) * CHAR_WIDTH + 20) for nid, text in labels.items()}
    row_widths = [sum(widths[n] for n in row) + NODE_GAP * (len(row) - 1) for row in rows]
    width = max(row_widths, default=0) + 2 * MARGIN
    boxes: dict[str, Box] = {}
    for i, row in enumerate(rows):
        x = (width - row_widths[i]) / 2
        y = MARGIN + i * (NODE_HEIGHT + LAYER_GAP)
        for node in row:
            boxes[node] = Box(x + widths[node] / 2, y, widths[node])
            x += widths[node] + NODE_GAP
    height = MARGIN * 2 + len(rows) * NODE_HEIGHT + max(len(rows) - 1, 0) * LAYER_GAP
    return boxes, width, height


def to_svg(view: View) -> str:
    rows = layers(view)
    boxes, width, height = place(view, rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for a, b in view.edges:
        if a in boxes and b in boxes:
            parts.append(_edge(boxes[a], boxes[b], a, b))
    for n in view.nodes:
        box = boxes[n.id]
        fill, border = COLOURS[n.status]
        dash = ' stroke-dasharray="5 3"' if n.status == UNSIZED else ""
        tip = f"{n.label}\n{n.status}" + (f": {n.detail}" if n.detail else "")
        parts.append(
            f'<g class="node" data-id="{escape(n.id)}" data-status="{escape(n.status)}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{box.x - box.width / 2:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
            f'height="{NODE_HEIGHT}" rx="6" fill="{fill}" stroke="{border}"{dash}/>'
            f'<text x="{box.x:.1f}" y="{box.y + NODE_HEIGHT / 2 + 4:.1f}" '
            f'text-anchor="middle">{escape(_shown(n.label))}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _edge(a: Box, b: Box, a_id: str, b_id: str) -> str:
    x1, y1 = a.x, a.y + NODE_HEIGHT
    x2, y2 = b.x, b.y
    bend = max((y2 - y1) / 2, 20)
    return (
        f'<path class="edge" data-from="{escape(a_id)}" data-to="{escape(b_id)}" '
        f'd="M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + bend:.1f}, {x2:.1f} {y2 - bend:.1f}, '
        f'{x2:.1f} {y2:.1f}" fill="none" stroke="#555" marker-end="url(#arrow)"/>'
    )


def _shown(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
