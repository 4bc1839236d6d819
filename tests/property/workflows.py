"""Workflows and edits for the incremental-equals-clean property test.

A ``World`` is everything a user edits: which pipeline fragments the
Outflowfile holds, its config values, a variant of the task code, and the
project's data files. ``render`` writes the Outflowfile of a world; the
fragments cover what issue 17 lists: shell and Python tasks, maps over a
config list, over ``glob()`` and over an upstream value, maps after maps,
paths passed as values, a directory output read by a later map, and an
early-cutoff chain; (issue 18) a map passing on the outputs of all its
stages, files and values, to one gathering task; and tasks from an
included file, one a ``run:`` block importing a project package (which
imports a module of its own) to make a temporary file.

Every task sleeps ``$PROP_SLEEP`` seconds first (so that a signal can land
mid-job) and writes a partial output, then fails, when ``$PROP_FAIL`` is
set. Neither variable is part of any job's key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

FRAGMENTS = ("glob", "paths", "dirs", "cutoff", "multi", "mods")

# (fragment, the output files of one upstream -> downstream file pair whose
# timestamps must stay ordered), as glob patterns over the project.
ORDERED = (
    ("paths", "p/out/{}.txt", "p/copy/p/out/{}.txt"),
    ("cutoff", "c/first/{}.txt", "c/second/{}.txt"),
)

# Tasks inside a map sized only when an upstream job has run: ``outflow -n``
# cannot list their jobs before then.
DYNAMIC_TASKS = frozenset({"upper"})

# Temporary files (fragment, pattern over the samples): gone after a run
# that succeeded, as in a clean run.
TEMP_OUTPUTS = (("mods", "s/loud/{}.txt"),)

# Directory outputs: compared whole, not file by file.
DIRECTORY_OUTPUTS = ("d/chunks",)


@dataclass(frozen=True)
class World:
    fragments: tuple[str, ...]
    text: str = "x"
    names: tuple[str, ...] = ("a", "b")
    k: int = 2
    variant: int = 0
    data: tuple[tuple[str, str], ...] = (("a", "one two\n"), ("b", "three\n"))
    helper: int = 0  # a variant of the project module lib/deep.py
    included: int = 0  # a variant of the included file inc/steps.of

    def with_data(self, name: str, content: str | None) -> World:
        files = dict(self.data)
        if content is None:
            files.pop(name, None)
        else:
            files[name] = content
        return dataclasses.replace(self, data=tuple(sorted(files.items())))


SLEEP_SH = "sleep $PROP_SLEEP; "
SLEEP_PY = "time.sleep(float(os.environ['PROP_SLEEP']))"


def _fail_sh(output: str) -> str:
    return f'echo partial > {output}; test x$PROP_FAIL = x || exit 3; '


def _fail_py(output: str) -> str:
    return (
        f'open({output}, "w").write("partial")\n'
        '        if os.environ.get("PROP_FAIL"):\n'
        "            raise SystemExit(3)"
    )


def _glob(w: World) -> tuple[str, str]:
    counter = "wc -w" if w.variant else "wc -c"
    tasks = f'''
task count(sample: str):
    input:  src = "data/{{sample}}.txt"
    output: counted = "g/counts/{{sample}}.txt"
    shell:  "{SLEEP_SH}{_fail_sh("{output.counted}")}{counter} < {{input.src}} > {{output.counted}}"

task total(counted: list) -> (total: int):
    run:
        import os, time
        {SLEEP_PY}
        return sum(int(open(p).read().split()[0]) for p in counted)

task report(total: int):
    output: rep = "g/total.txt"
    run:
        import os, time
        {SLEEP_PY}
        {_fail_py("output.rep")}
        with open(output.rep, "w") as f:
            f.write(str(total) + "\\n")
'''
    return tasks, "map(samples -> sample) { count } | total | report"


def _paths(w: World) -> tuple[str, str]:
    tasks = f'''
task make(name: str, text: str):
    output: made = "p/out/{{name}}.txt"
    shell:  "{SLEEP_SH}{_fail_sh("{output.made}")}\\
             echo {{name}}-{{text}}-{w.variant} > {{output.made}}"

task copy(f: path):
    output: copied = "p/copy/{{f}}"
    shell:  "{SLEEP_SH}cp {{f}} {{output.copied}}"
'''
    return tasks, "map(names -> name) { make } | map(made -> f) { copy }"


def _dirs(w: World) -> tuple[str, str]:
    tasks = f'''
task split(text: str, k: int):
    output: chunks = "d/chunks"
    shell:  "{SLEEP_SH}mkdir -p {{output.chunks}}; for j in $(seq 1 {{k}}); \\
             do echo {{text}}-$j > {{output.chunks}}/$j.txt; done"

task listing(chunks: path) -> (parts: list):
    run:
        import os, time
        {SLEEP_PY}
        return sorted(os.path.join(chunks, n) for n in os.listdir(chunks))

task upper(part: path):
    output: up = "d/up/{{part}}"
    shell:  "{SLEEP_SH}{_fail_sh("{output.up}")}tr a-z A-Z < {{part}} > {{output.up}}"

task join(up: list):
    output: joined = "d/joined.txt"
    shell:  "{SLEEP_SH}cat {{up}} > {{output.joined}}; echo v{w.variant} >> {{output.joined}}"
'''
    return tasks, "split | listing | map(parts -> part) { upper } | join"


def _cutoff(w: World) -> tuple[str, str]:
    tasks = f'''
task first(sample: str):
    input:  src = "data/{{sample}}.txt"
    output: head = "c/first/{{sample}}.txt"
    shell:  "{SLEEP_SH}{_fail_sh("{output.head}")}head -c 3 {{input.src}} > {{output.head}}"

task second(sample: str):
    input:  head = "c/first/{{sample}}.txt"
    output: tail = "c/second/{{sample}}.txt"
    shell:  "{SLEEP_SH}cat {{input.head}} > {{output.tail}}; echo {w.variant} >> {{output.tail}}"
'''
    return tasks, "map(samples -> sample) { first | second }"


def _multi(w: World) -> tuple[str, str]:
    tasks = f'''
task measure(sample: str, text: str) -> (size: int):
    input:  src = "data/{{sample}}.txt"
    output: kept = "m/kept/{{sample}}.txt"
    run:
        import os, time
        {SLEEP_PY}
        {_fail_py("output.kept")}
        data = open(input.src).read()
        open(output.kept, "w").write(text + ":" + data)
        return len(data)

task mark(sample: str, kept: path):
    output: marked = "m/marked/{{sample}}.txt"
    shell:  "{SLEEP_SH}{_fail_sh("{output.marked}")}wc -c < {{kept}} > {{output.marked}}"

task gather(kept: list, marked: list, size: list):
    output: all = "m/all.txt"
    shell:  "{SLEEP_SH}cat {{kept}} {{marked}} > {{output.all}}; \\
             echo {{size}} v{w.variant} >> {{output.all}}"
'''
    return tasks, "map(samples -> sample) { measure | mark } | gather"


def _mods(w: World) -> tuple[str, str]:
    return "", "map(samples -> sample) { shout | keep }"


def included_files(w: World) -> dict[str, str]:
    """The files besides the Outflowfile and the data that the world holds:
    the included file and the package its ``run:`` block imports."""
    if "mods" not in w.fragments:
        return {}
    steps = f'''
task shout(sample: str):
    input:  src = "data/{{sample}}.txt"
    output: loud = temp("s/loud/{{sample}}.txt")
    run:
        import os, time
        from lib import helper
        {SLEEP_PY}
        {_fail_py("output.loud")}
        open(output.loud, "w").write(helper.shout(open(input.src).read()))

task keep(sample: str):
    input:  loud = "s/loud/{{sample}}.txt"
    output: kept = "s/kept/{{sample}}.txt"
    shell:  "{SLEEP_SH}{_fail_sh("{output.kept}")}cat {{input.loud}} > {{output.kept}}; \\
             echo inc{w.included} >> {{output.kept}}"
'''
    return {
        "inc/steps.of": steps,
        "lib/__init__.py": "",
        "lib/helper.py": "from .deep import END\n\ndef shout(t):\n    return t.upper() + END\n",
        "lib/deep.py": f"END = {'!' * w.helper!r}\n",
    }


_RENDER = {
    "glob": _glob, "paths": _paths, "dirs": _dirs, "cutoff": _cutoff, "multi": _multi,
    "mods": _mods,
}


def render(w: World) -> str:
    names = ", ".join(f'"{n}"' for n in w.names)
    parts = [
        "config:",
        '    samples: list = glob("data/{sample}.txt")',
        f"    names: list[str] = [{names}]",
        f'    text: str = "{w.text}"',
        f"    k: int = {w.k}",
    ]
    if "mods" in w.fragments:
        parts.insert(0, 'include: "inc/steps.of"\n')
    stages = []
    for frag in w.fragments:
        tasks, pipeline = _RENDER[frag](w)
        parts.append(tasks)
        parts.append(f"workflow w_{frag}:\n    {pipeline}\n")
        stages.append(f"w_{frag}")
    branch = "(" + ", ".join(stages) + ("," if len(stages) == 1 else "") + ")"
    parts.append(f"workflow all:\n    {branch}\n")
    return "\n".join(parts)


@dataclass(frozen=True)
class Step:
    """One thing a user does, then (when ``check``) one ``outflow`` that
    must succeed and equal a clean run."""

    kind: str
    args: tuple = ()
    check: bool = True


@dataclass
class Scenario:
    world: World
    steps: list[Step] = field(default_factory=list)
