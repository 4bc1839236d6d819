"""Drives a project through a scenario and compares it with clean runs.

The project lives in one directory for the whole scenario; after each
checked step, the same world (Outflowfile and data files) is copied into a
fresh directory and run once there. Every file the clean run made must be
in the project with the same bytes, and a directory output must hold
exactly the same files. Outputs of jobs that are no longer in the workflow
(a name dropped from a list) may stay behind in the project: no clean run
has them and outflow does not remove them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from incremental import ran, reasons
from outflowtest import outflow, outflow_command
from workflows import (
    DIRECTORY_OUTPUTS,
    DYNAMIC_TASKS,
    ORDERED,
    TEMP_OUTPUTS,
    Step,
    World,
    included_files,
    render,
)

ENV = {"PROP_SLEEP": "0"}


def write_world(project: Path, world: World) -> None:
    project.mkdir(parents=True, exist_ok=True)
    outflowfile = project / "Outflowfile"
    text = render(world)
    if not outflowfile.exists() or outflowfile.read_text() != text:
        outflowfile.write_text(text)
    for name, content in included_files(world).items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
    data = project / "data"
    data.mkdir(exist_ok=True)
    wanted = dict(world.data)
    for path in data.iterdir():
        if path.stem not in wanted:
            path.unlink()
    for name, content in wanted.items():
        path = data / f"{name}.txt"
        if not path.exists() or path.read_text() != content:
            path.write_text(content)


def tree(project: Path) -> dict[str, bytes]:
    """Every file of the project but outflow's own, by path."""
    found: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(project):
        dirs[:] = sorted(d for d in dirs if d not in (".outflow", "__pycache__"))
        for name in files:
            path = Path(folder) / name
            found[str(path.relative_to(project))] = path.read_bytes()
    return found


class Judge:
    """Clean runs, one per distinct world, each in a fresh directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: dict[World, dict[str, bytes]] = {}

    def clean(self, world: World) -> dict[str, bytes]:
        if world not in self.seen:
            project = self.root / f"clean{len(self.seen)}"
            write_world(project, world)
            outflow(project, env=ENV)
            self.seen[world] = tree(project)
        return self.seen[world]

    def compare(self, project: Path, world: World, history: list[str]) -> None:
        want = self.clean(world)
        have = tree(project)
        wrong = [p for p, data in want.items() if have.get(p) != data]
        for folder in DIRECTORY_OUTPUTS:
            inside = folder + "/"
            ours = {p for p in have if p.startswith(inside)}
            theirs = {p for p in want if p.startswith(inside)}
            wrong += sorted(ours - theirs)
        for frag, pattern in TEMP_OUTPUTS:
            if frag in world.fragments:
                temps = (pattern.format(name) for name, _ in world.data)
                wrong += [p for p in temps if p in have and p not in want]
        if wrong:
            details = "\n".join(
                f"  {p}: incremental {have.get(p)!r}, clean {want.get(p)!r}" for p in sorted(wrong)
            )
            raise AssertionError(
                "the incremental run differs from a clean run:\n"
                f"{details}\nsteps:\n  " + "\n  ".join(history)
            )
        check_order(project, world, history)


def check_order(project: Path, world: World, history: list[str]) -> None:
    """No up-to-date output older than the output upstream of it."""
    for frag, upstream, downstream in ORDERED:
        if frag not in world.fragments:
            continue
        names = world.names if frag == "paths" else [n for n, _ in world.data]
        for name in names:
            up = project / upstream.format(name)
            down = project / downstream.format(name)
            if up.exists() and down.exists():
                assert down.stat().st_mtime_ns >= up.stat().st_mtime_ns, (
                    f"{down.name} is older than {up}, upstream of it; steps:\n  "
                    + "\n  ".join(history)
                )


def run_checked(project: Path, history: list[str]) -> None:
    """``outflow -n``, then ``outflow``, which must succeed and do what the
    dry run said: every job it runs is listed (or belongs to a map the dry
    run could not size yet), and every job listed for a reason of its own
    (not only "upstream ... will run", which early cutoff may spare) runs."""
    dry = outflow(project, "-n", env=ENV)
    real = outflow(project, env=ENV)
    said, did = reasons(dry.stdout), set(ran(real.stdout))
    unsized = "Maps not sized yet" in dry.stdout
    extra = sorted(
        j for j in did - said.keys() if not (unsized and j.split()[0] in DYNAMIC_TASKS)
    )
    skipped = sorted(
        j for j, why in said.items() if j not in did and not why.startswith("upstream")
    )
    if extra or skipped:
        raise AssertionError(
            f"outflow -n disagrees with the run: ran unannounced {extra}, "
            f"announced but not run {skipped}\n--- -n\n{dry.stdout}\n--- run\n{real.stdout}"
            "steps:\n  " + "\n  ".join(history)
        )


def outputs_of(project: Path) -> list[Path]:
    """The files outflow made in the project, in a stable order."""
    return sorted(
        p for p in project.rglob("*")
        if p.is_file() and p.relative_to(project).parts[0] in {"g", "p", "d", "c", "m", "s"}
    )


def apply(project: Path, world: World, step: Step) -> World:
    """Do what the step does to the files; the world it leaves."""
    kind, args = step.kind, step.args
    if kind == "config":
        key, value = args
        world = World(**{**world.__dict__, key: value})
        write_world(project, world)
    elif kind in ("code", "helper", "included"):
        field = {"code": "variant"}.get(kind, kind)
        world = World(**{**world.__dict__, field: args[0]})
        write_world(project, world)
    elif kind == "data_write":
        world = world.with_data(args[0], args[1])
        write_world(project, world)
    elif kind == "data_delete":
        world = world.with_data(args[0], None)
        write_world(project, world)
    elif kind == "data_touch":
        path = project / "data" / f"{args[0]}.txt"
        if path.exists():
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    elif kind == "data_older":
        name, content = args
        path = project / "data" / f"{name}.txt"
        if path.exists():
            st = path.stat()
            world = world.with_data(name, content)
            write_world(project, world)
            # a file restored from a backup: older than the one it replaces
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 3_600_000_000_000))
    elif kind == "data_keep_mtime":
        name, content = args
        path = project / "data" / f"{name}.txt"
        if path.exists():
            st = path.stat()
            world = world.with_data(name, content)
            write_world(project, world)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif kind in ("out_delete", "out_replace"):
        outputs = outputs_of(project)
        if outputs:
            victim = outputs[args[0] % len(outputs)]
            if kind == "out_delete":
                victim.unlink()
            else:
                victim.write_text("edited by hand\n")
    elif kind == "dir_add":
        for folder in DIRECTORY_OUTPUTS:
            if (project / folder).is_dir():
                (project / folder / args[0]).write_text("added by hand\n")
    elif kind == "fail":
        outflow(project, check=None, env={**ENV, "PROP_FAIL": "1"})
    elif kind == "interrupt":
        interrupt(project, *args)
    else:  # pragma: no cover - a step the strategy does not make
        raise ValueError(kind)
    return world


def interrupt(project: Path, sig: int, delay: float, forced: bool, touch: bool) -> None:
    """Start ``outflow`` (``-F`` when forced) with slow jobs, send ``sig``
    after ``delay`` seconds: SIGINT to the whole group, as a terminal's
    Ctrl-C does; SIGKILL to outflow alone. Then wait until every process
    of the run is gone, and run ``outflow --touch`` if asked."""
    args = ["-F"] if forced else []
    env = {**os.environ, **ENV, "PROP_SLEEP": "0.3"}
    env.pop("OUTFLOW_DB", None)
    proc = subprocess.Popen(
        outflow_command() + args, cwd=project, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    time.sleep(delay)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    _wait_group_gone(proc.pid)
    if touch:
        outflow(project, "--touch", check=None, env=ENV)


def _wait_group_gone(pgid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of the killed run (group {pgid}) still alive after {timeout}s")


def describe(step: Step) -> str:
    args = ", ".join(repr(a) for a in step.args)
    return f"{step.kind}({args})" + ("" if step.check else " [no run]")
