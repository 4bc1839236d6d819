"""The plan as a graph to look at: jobs (``--dag``) or tasks (``--taskgraph``).

A view is built from a finished dry run, which the command makes and hands
in (a ``Planned``): each job's state says whether it is up to date or would
run, the cache's records the plan read say whether its last run failed, and
maps whose source is not computed yet are nodes of their own. Nothing here
plans or reads the cache.
Many jobs of one task under one map are drawn as one node with a count.
Renderers for Graphviz dot and Mermaid are here; ``report.py`` draws the
same views as SVG.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from outflowfile.graph.expand import ChoiceNode, Graph, Job, MapNode, Node, NodeState, producers
from outflowfile.language.stages import stage_tasks

if TYPE_CHECKING:
    from outflowfile.run.session import Planned

# More jobs than this of one task under one map become one node "task ×N".
COLLAPSE_OVER = 10

UP_TO_DATE = "up to date"
WILL_RUN = "will run"
FAILED = "failed"  # failed last time (or cannot be planned): will run again
UNSIZED = "not yet sized"  # a map whose items are known only once its source runs
UNDECIDED = "undecided"  # a condition whose side is known only once its values are
BLOCKED = "blocked"  # upstream cannot run

# The order in which a group of jobs takes the most telling status of its members.
PRECEDENCE = (FAILED, BLOCKED, WILL_RUN, UNSIZED, UNDECIDED, UP_TO_DATE)

# status -> (fill, border): light fills keep black labels readable.
COLOURS = {
    UP_TO_DATE: ("#c8e6c9", "#2e7d32"),
    WILL_RUN: ("#ffe0b2", "#ef6c00"),
    FAILED: ("#ffcdd2", "#c62828"),
    UNSIZED: ("#e1f5fe", "#0277bd"),
    UNDECIDED: ("#f3e5f5", "#6a1b9a"),
    BLOCKED: ("#eeeeee", "#757575"),
}


@dataclass
class ViewNode:
    id: str
    label: str
    status: str
    count: int = 1  # jobs it stands for (0 for a map not yet sized)
    statuses: dict[str, int] = field(default_factory=dict)  # jobs per status
    detail: str = ""  # why it runs, for a single job


@dataclass
class View:
    nodes: list[ViewNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def node(self, node_id: str) -> ViewNode:
        return next(n for n in self.nodes if n.id == node_id)


# --- statuses -----------------------------------------------------------------


def job_statuses(planned: Planned) -> dict[int, tuple[str, str]]:
    """Each planned job's (status, reason) by node id; jobs the targets do
    not need (never admitted) are left out."""
    reasons = {id(job): reason for job, reason in planned.outcome.would_run}
    # A job's slot costs a hash to make: only asked for when something failed.
    failed = {slot for slot, r in planned.snapshot.by_slot.items() if r.status == "failed"}
    out: dict[int, tuple[str, str]] = {}
    for node in planned.graph.nodes:
        if not isinstance(node, Job):
            continue
        status = _job_status(node, failed)
        if status is not None:
            out[node.id] = (status, reasons.get(id(node), ""))
    return out


def _job_status(job: Job, failed_slots: set[str]) -> str | None:
    state = job.state
    if state == NodeState.SKIPPED:
        return UP_TO_DATE
    if state == NodeState.WOULD_RUN:
        return FAILED if failed_slots and job.slot in failed_slots else WILL_RUN
    if state == NodeState.FAILED:
        return FAILED
    if state == NodeState.BLOCKED:
        return BLOCKED
    return None


def _merge(statuses: Iterable[str]) -> str:
    present = set(statuses)
    return next((s for s in PRECEDENCE if s in present), UP_TO_DATE)


# --- the job view -------------------------------------------------------------


def job_view(planned: Planned, collapse_over: int = COLLAPSE_OVER) -> View:
    """One node per job (or per group of a large map's jobs of one task),
    one per map not yet sized; edges from producer to consumer."""
    graph = planned.graph
    statuses = job_statuses(planned)
    unsized = {id(m) for m in planned.outcome.unsized}
    group_of = _groups(graph, statuses, collapse_over)
    view = View()
    made: dict[str, ViewNode] = {}
    for node in graph.nodes:
        if isinstance(node, Job) and node.id in statuses:
            status, reason = statuses[node.id]
            vid = group_of.get(node.id) or f"j{node.id}"
            vnode = made.get(vid)
            if vnode is None:
                label = node.task.name if vid.startswith("g") else node.label
                vnode = made[vid] = ViewNode(vid, label, status, 0, detail=reason)
                view.nodes.append(vnode)
            vnode.count += 1
            vnode.statuses[status] = vnode.statuses.get(status, 0) + 1
        elif isinstance(node, MapNode) and id(node) in unsized:
            _add_unsized_map(view, made, node, graph)
    for vnode in view.nodes:
        vnode.status = _merge(vnode.statuses) if vnode.statuses else vnode.status
        if vnode.id.startswith("g"):
            vnode.label = f"{vnode.label} ×{vnode.count}"
            vnode.detail = _counts(vnode.statuses)
    view.edges = _edges(graph, lambda n: _job_view_id(n, statuses, unsized, group_of))
    return view


def _job_view_id(
    node: Node, statuses: dict[int, tuple[str, str]], unsized: set[int], group_of: dict[int, str]
) -> str | None:
    if isinstance(node, Job):
        return (group_of.get(node.id) or f"j{node.id}") if node.id in statuses else None
    return f"m{node.id}" if id(node) in unsized else None


def _groups(
    graph: Graph, statuses: dict[int, tuple[str, str]], collapse_over: int
) -> dict[int, str]:
    """Job id -> group node id, for jobs of one task under one outermost map
    when there are more than ``collapse_over`` of them."""
    top = _outermost_maps(graph)
    members: dict[tuple[str, int], list[int]] = {}
    for job_id in statuses:
        map_id = top.get(job_id)
        if map_id is not None:
            job = graph.nodes[job_id]
            members.setdefault((job.task.name, map_id), []).append(job_id)  # type: ignore[attr-defined]
    out: dict[int, str] = {}
    for n, ((_, map_id), ids) in enumerate(members.items()):
        if len(ids) > collapse_over:
            for job_id in ids:
                out[job_id] = f"g{map_id}_{n}"
    return out


def map_owners(graph: Graph) -> dict[int, int]:
    """Node id -> id of the innermost map whose expansion made it."""
    maps = [n for n in graph.nodes if isinstance(n, MapNode) and n.expanded]
    owner: dict[int, int] = {}
    # Widest first, so that inner maps overwrite.
    for m in sorted(maps, key=lambda m: m.members[1] - m.members[0], reverse=True):
        for i in range(*m.members):
            owner[i] = m.id
    return owner


def _outermost_maps(graph: Graph) -> dict[int, int]:
    """Node id -> id of the outermost map whose expansion made it."""
    owner = map_owners(graph)
    top: dict[int, int] = {}

    def outermost(map_id: int) -> int:
        if map_id not in top:
            parent = owner.get(map_id)
            top[map_id] = map_id if parent is None else outermost(parent)
        return top[map_id]

    return {i: outermost(m) for i, m in owner.items()}


def _edges(graph: Graph, to_id: Callable[[Node], str | None]) -> list[tuple[str, str]]:
    """Edges between the view's nodes: a node's dependencies, seen through
    expanded maps (which stand for their items' jobs) to the nodes shown."""
    through: dict[int, list[str]] = {}

    def sources(dep: Node) -> list[str]:
        vid = to_id(dep)
        if vid is not None:
            return [vid]
        if isinstance(dep, MapNode) and dep.expanded:
            if id(dep) not in through:
                through[id(dep)] = []  # a guard; maps do not depend on themselves
                through[id(dep)] = [s for d in dep.deps for s in sources(d)]
            return through[id(dep)]
        return []

    owner = map_owners(graph)
    seen: set[tuple[str, str]] = set()
    edges: list[tuple[str, str]] = []
    for node in graph.nodes:
        target = to_id(node)
        if target is None:
            continue
        for dep in [*node.deps, *_map_source_deps(graph, node, owner)]:
            for source in sources(dep):
                edge = (source, target)
                if source != target and edge not in seen:
                    seen.add(edge)
                    edges.append(edge)
    return edges


def _map_source_deps(graph: Graph, node: Node, owner: dict[int, int]) -> list[Node]:
    """What the first jobs of a map's item wait for, though not through their
    own inputs: the producers of the map's source (the map expanded once
    they were done)."""
    map_id = owner.get(node.id)
    if map_id is None:
        return []
    m = graph.nodes[map_id]
    inside = range(*m.members)  # type: ignore[attr-defined]
    if any(d.id in inside for d in node.deps):
        return []
    if isinstance(m, ChoiceNode):  # what the condition read
        return [d for e in m.names.values() for d in producers(e)]
    return producers(m.source)  # type: ignore[attr-defined]


def _add_unsized_map(view: View, made: dict[str, ViewNode], node: MapNode, graph: Graph) -> None:
    """A map not sized yet (a condition not decided): one node standing for
    the jobs it will make."""
    vid = f"m{node.id}"
    status = UNDECIDED if isinstance(node, ChoiceNode) else UNSIZED
    made[vid] = ViewNode(vid, map_label(node, graph), status, 0)
    view.nodes.append(made[vid])


def map_label(node: MapNode, graph: Graph) -> str:
    prefix = f"{node.label_prefix}: " if node.label_prefix else ""
    if isinstance(node, ChoiceNode):
        sides = [node.choice.then, node.choice.otherwise]
        shown = [", ".join(sorted(stage_tasks(s, graph.index))) for s in sides if s is not None]
        text = " else ".join(f"{{ {tasks} }}" for tasks in shown)
        return f"{prefix}{node.describe()} {text}: undecided"
    tasks = ", ".join(sorted(stage_tasks(node.map.body, graph.index)))
    return f"{prefix}{node.describe()} {{ {tasks} }}: not yet sized"


def _counts(statuses: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s in PRECEDENCE if (n := statuses.get(s)))


# --- the task view ------------------------------------------------------------


def task_view(planned: Planned) -> View:
    """One node per task (with its number of jobs), one per map not yet
    sized; an edge where a job of one task feeds a job of another."""
    graph = planned.graph
    statuses = job_statuses(planned)
    unsized = {id(m) for m in planned.outcome.unsized}
    made: dict[str, ViewNode] = {}
    task_ids: dict[str, str] = {}  # task name -> node id (names may not suit dot ids)
    view = View()
    for node in graph.nodes:
        if isinstance(node, Job) and node.id in statuses:
            vid = task_ids.setdefault(node.task.name, f"t{len(task_ids)}")
            vnode = made.get(vid)
            if vnode is None:
                vnode = made[vid] = ViewNode(vid, node.task.name, UP_TO_DATE, 0)
                view.nodes.append(vnode)
            status = statuses[node.id][0]
            vnode.count += 1
            vnode.statuses[status] = vnode.statuses.get(status, 0) + 1
        elif isinstance(node, MapNode) and id(node) in unsized:
            _add_unsized_map(view, made, node, graph)
    for vnode in view.nodes:
        if vnode.statuses:
            vnode.status = _merge(vnode.statuses)
            vnode.detail = _counts(vnode.statuses)
            if vnode.count > 1:
                vnode.label = f"{vnode.label} ×{vnode.count}"

    def view_id(node: Node) -> str | None:
        if isinstance(node, Job):
            return task_ids[node.task.name] if node.id in statuses else None
        return f"m{node.id}" if id(node) in unsized else None

    view.edges = _edges(graph, view_id)
    return view


# --- renderers ----------------------------------------------------------------


def to_dot(view: View, name: str) -> str:
    lines = [
        f"digraph {_dot_string(name)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
    ]
    for n in view.nodes:
        fill, border = COLOURS[n.status]
        dashed = n.status in (UNSIZED, UNDECIDED)
        style = '"rounded,filled,dashed"' if dashed else '"rounded,filled"'
        tooltip = f"{n.status}: {n.detail}" if n.detail else n.status
        lines.append(
            f"  {n.id} [label={_dot_string(n.label)}, fillcolor={_dot_string(fill)}, "
            f"color={_dot_string(border)}, style={style}, tooltip={_dot_string(tooltip)}];"
        )
    for source, target in view.edges:
        lines.append(f"  {source} -> {target};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    """A double-quoted dot string showing ``text`` as it is."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r", "").replace("\n", "\\n")
    return f'"{escaped}"'


MERMAID_CLASSES = {
    UP_TO_DATE: "uptodate",
    WILL_RUN: "willrun",
    FAILED: "failed",
    UNSIZED: "unsized",
    UNDECIDED: "undecided",
    BLOCKED: "blocked",
}


def to_mermaid(view: View) -> str:
    lines = ["flowchart TD"]
    for n in view.nodes:
        lines.append(f'    {n.id}["{_mermaid_text(n.label)}"]')
    for source, target in view.edges:
        lines.append(f"    {source} --> {target}")
    for status, cls in MERMAID_CLASSES.items():
        fill, border = COLOURS[status]
        dash = ",stroke-dasharray:5 5" if status in (UNSIZED, UNDECIDED) else ""
        lines.append(f"    classDef {cls} fill:{fill},stroke:{border},color:#000{dash}")
    for status, cls in MERMAID_CLASSES.items():
        ids = [n.id for n in view.nodes if n.status == status]
        if ids:
            lines.append(f"    class {','.join(ids)} {cls}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: characters that would end or change
    the label become Mermaid's numeric entity codes (``#34;``)."""
    out = []
    for ch in text:
        if ch in '"#<>&`' or not ch.isprintable():
            out.append(f"#{ord(ch)};" if ch not in "\r\n" else " ")
        else:
            out.append(ch)
    return "".join(out)
