"""The checked model of an Outflowfile: plain dataclasses, no parser objects.

The parser (``outflowfile.language.parser``) fills these; the checker
(``outflowfile.language.check``) validates them; expansion (``outflowfile.graph.expand``)
turns a workflow into jobs. Every node knows where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outflowfile.language.expressions import Expression


@dataclass(frozen=True, init=False)
class Location:
    """A place in an Outflowfile: 1-based line and column."""

    file: str
    line: int
    column: int

    def __init__(self, file: str, line: int, column: int) -> None:
        # What the generated __init__ of a frozen dataclass does, in half the
        # time (it calls object.__setattr__ per field): a large Outflowfile
        # makes 50,000 locations.
        fields = self.__dict__
        fields["file"] = file
        fields["line"] = line
        fields["column"] = column

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class TypeRef:
    """A declared type: ``int``, ``list``, ``list[int]``, ``dict[str, float]``.

    Known names: int, float, str, bool, list, dict, tuple, set, bytes, path,
    any. ``path`` is a string naming a file.
    """

    name: str
    args: tuple[TypeRef, ...] = ()

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}[{', '.join(str(a) for a in self.args)}]"


ANY = TypeRef("any")
LIST = TypeRef("list")
PATH = TypeRef("path")


@dataclass(frozen=True)
class Glob:
    """``glob("data/{sample}.txt")``: the sorted values of the one wildcard
    for the files that exist, evaluated when the config is resolved."""

    pattern: str
    loc: Location


@dataclass(frozen=True)
class Reader:
    """``csv("samples.tsv")``, ``yaml("config.yaml")``...: a file read when the
    config is resolved (``language/tables.py``); ``path`` as written, relative
    to the file it is written in (``loc.file``)."""

    kind: str
    path: str
    loc: Location


@dataclass
class ConfigEntry:
    name: str
    type: TypeRef | None  # None: untyped, any value
    default: Any  # a Python literal value, a Glob or a Reader
    loc: Location


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass
class Param:
    """A task input: ``name: type = default``. A computed default (an
    expression over the other inputs and config) is an
    ``expressions.Expression``."""

    name: str
    type: TypeRef | None
    default: Any = NO_DEFAULT
    loc: Location | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass
class Output:
    """A value output: ``-> (name: type)``."""

    name: str
    type: TypeRef | None
    loc: Location | None = None


@dataclass
class FileSpec:
    """A named file of an ``input:`` or ``output:`` directive: ``name = "pattern"``.

    The pattern is formatted with the task's parameters (``"counts/{sample}.tsv"``).
    An output file may be ``temp("...")`` (removed once every job reading it
    has succeeded) or ``protected("...")`` (made read-only, never replaced
    without consent). Neither is part of a job's key: they change what
    outflow does with the file, not what the job computes.
    """

    name: str
    pattern: str
    loc: Location | None = None
    temp: bool = False
    protected: bool = False


@dataclass(frozen=True)
class Environment:
    """The software a job runs with: ``container:`` (an image), ``venv:``
    (a requirements file, relative to the Outflowfile's directory) and
    ``envmodules:`` (module names, loaded in order). Empty: outflow's own."""

    container: str | None = None
    venv: str | None = None
    envmodules: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.container or self.venv or self.envmodules)

    def describe(self) -> str:
        """``container busybox:1.36; venv envs/plot.txt; modules a/1, b/2``, or ''."""
        parts = []
        if self.container:
            parts.append(f"container {self.container}")
        if self.venv:
            parts.append(f"venv {self.venv}")
        if self.envmodules:
            parts.append("modules " + ", ".join(self.envmodules))
        return "; ".join(parts)


NO_ENVIRONMENT = Environment()


@dataclass
class Resources:
    """Scheduling directives. ``mem`` is in bytes, ``time`` in seconds.

    The environment directives are kept here too, flat, so that map options
    reach them as they reach the others (``graph.expand.effective_resources``);
    ``environment`` is them as one value."""

    cpus: int = 1
    mem: int | None = None
    time: int | None = None
    partition: str | None = None
    cluster: str | None = None
    retries: int = 0
    local: bool = False
    cache: bool = True
    container: str | None = None
    venv: str | None = None
    envmodules: tuple[str, ...] = ()

    @property
    def environment(self) -> Environment:
        if not (self.container or self.venv or self.envmodules):
            return NO_ENVIRONMENT
        return Environment(self.container, self.venv, self.envmodules)


@dataclass
class RunBody:
    """``run:``: an inline Python block, dedented. ``first_line`` is the
    Outflowfile line of the block's first line of code."""

    code: str
    first_line: int
    loc: Location | None = None


@dataclass
class ShellBody:
    """``shell: "command {input.x} > {output.y}"``."""

    command: str
    loc: Location | None = None


@dataclass
class CallBody:
    """``call: package.module:function``."""

    module: str
    function: str
    loc: Location | None = None


@dataclass
class ScriptBody:
    """``script: "scripts/plot-quals.py"``: a path relative to the Outflowfile's directory."""

    path: str
    loc: Location | None = None


Body = RunBody | ShellBody | CallBody | ScriptBody


@dataclass
class Task:
    name: str
    params: list[Param]
    outputs: list[Output]  # value outputs, in declaration order
    body: Body
    input_files: list[FileSpec] = field(default_factory=list)
    output_files: list[FileSpec] = field(default_factory=list)
    log: str | None = None  # a path pattern; default .outflow/logs/...
    resources: Resources = field(default_factory=Resources)
    # Where each directive was written, by directive name, for error messages.
    directive_locs: dict[str, Location] = field(default_factory=dict)
    loc: Location | None = None

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def output_names(self) -> list[str]:
        """Everything this task provides downstream: value outputs, then
        the names of its output files (whose values are their paths)."""
        return [o.name for o in self.outputs] + [f.name for f in self.output_files]

    def output_type(self, name: str) -> TypeRef | None:
        for o in self.outputs:
            if o.name == name:
                return o.type
        for f in self.output_files:
            if f.name == name:
                return PATH
        return None


@dataclass
class StageRef:
    """A task or workflow named as a stage of a pipeline."""

    name: str
    loc: Location | None = None


@dataclass
class Pipe:
    """``a | b | c``: each stage feeds the next by output/input names."""

    stages: list[Stage]
    loc: Location | None = None


@dataclass
class Branch:
    """``(b, c)``: each branch receives the same inputs; the outputs of all
    branches flow on together."""

    branches: list[Stage]
    loc: Location | None = None


@dataclass
class MapOption:
    name: str
    value: Any
    loc: Location | None = None


@dataclass
class MapOutput:
    """``bams = sorted`` in ``map(...) { ... } as (bams = sorted, bai)``: the
    map passes on ``source`` (a name its body makes) as ``name``."""

    name: str
    source: str
    loc: Location | None = None  # of ``name``
    source_loc: Location | None = None  # of ``source`` (``name``'s when not renamed)


@dataclass
class Map:
    """``map(source -> target, cpus=5) { pipeline }``; ``source`` and ``target``
    are None for the short form ``map { pipeline }``.

    Over a table (a list of rows, each a dict): ``map(rows -> (a, b))`` binds
    the columns ``a`` and ``b`` of each row by name (``columns``), and
    ``map(rows -> *)`` every column (``all_columns``); ``target`` is then
    what is written after the arrow, for messages.

    ``outputs`` is the ``as (...)`` clause: what the map passes on, renamed;
    None without one (every output of every stage of its body,
    ``language/scopes.py``)."""

    source: str | None
    target: str | None
    body: Stage
    options: list[MapOption] = field(default_factory=list)
    loc: Location | None = None
    outputs: list[MapOutput] | None = None
    columns: tuple[str, ...] = ()
    all_columns: bool = False

    @property
    def over_rows(self) -> bool:
        return bool(self.columns) or self.all_columns


# --- run-time conditions: ``if (x > 3 and not skip) { b } else { c }`` ---


@dataclass
class Choice:
    """``if (condition) { then } else { otherwise }``: one side runs, chosen
    when the names the condition reads are known. ``otherwise`` is None
    without ``else``. It passes on the names both sides make."""

    condition: Expression  # language/expressions.py, as a computed default
    then: Stage
    otherwise: Stage | None
    text: str = ""  # the condition as written, for messages and views
    loc: Location | None = None


Stage = StageRef | Pipe | Branch | Map | Choice


@dataclass
class Workflow:
    name: str
    pipeline: Stage
    loc: Location | None = None


@dataclass
class Include:
    """``include: "rules/align.of" as align``: ``path`` as written (relative
    to the including file), ``prefix`` None without ``as``; ``loc`` is where
    the path is written."""

    path: str
    prefix: str | None
    loc: Location


@dataclass
class Outflowfile:
    """A whole parsed file. Lists keep duplicates so the checker can report them.

    After ``loader.load`` the lists hold what the included files define too
    (``language/includes.py``), and ``included`` names those files, each as
    its locations do."""

    path: str
    config: list[ConfigEntry] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    workflows: list[Workflow] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)  # this file's own include lines
    included: list[str] = field(default_factory=list)
    # sha256 of the texts it was parsed from, included files' too (set by
    # loader.load), for the plan memo (plan/memo.py).
    digest: str = ""

    def task(self, name: str) -> Task | None:
        for t in self.tasks:
            if t.name == name:
                return t
        return None

    def workflow(self, name: str) -> Workflow | None:
        for w in self.workflows:
            if w.name == name:
                return w
        return None

    def config_entry(self, name: str) -> ConfigEntry | None:
        for c in self.config:
            if c.name == name:
                return c
        return None

    def default_workflow(self) -> Workflow | None:
        """The workflow named ``all``, else the first one."""
        return self.workflow("all") or (self.workflows[0] if self.workflows else None)

    def index(self) -> ModelIndex:
        """Name lookups in O(1), for code that resolves many names."""
        return ModelIndex(
            tasks={t.name: t for t in self.tasks},
            workflows={w.name: w for w in self.workflows},
            config={c.name: c for c in self.config},
        )


@dataclass
class ModelIndex:
    tasks: dict[str, Task]
    workflows: dict[str, Workflow]
    config: dict[str, ConfigEntry]
