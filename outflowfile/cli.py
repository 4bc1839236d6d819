"""The ``outflow`` command.

Only click is imported at start-up; everything else is imported when a
command needs it, so ``outflow --version`` answers at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from outflowfile.executors.cluster.executor import ClusterRequest

from outflowfile import __version__

EXIT_JOB_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as shells report it
EXIT_TERMINATED = 143

# The commands that print in a chosen --format: their formats, the default first.
FORMATS: dict[str, tuple[str, ...]] = {
    "dag": ("dot", "mermaid"),
    "taskgraph": ("dot", "mermaid"),
    "show": ("text", "json"),
    "summary": ("table", "json", "tsv"),
}

HOUSEKEEPING = ("touch", "forget", "clean", "show")


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C but with its own exit status."""


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM: the first stops the run, by an exception
    raised wherever the program is; the cleanup that follows (jobs killed,
    partial outputs removed, the cache told) must not be cut short, so later
    signals only say that it is under way. ``kill -9`` still ends outflow at
    once: the guard kills its jobs and the next run finishes the cleanup."""

    RESEND = 0.05  # seconds: a stop Python swallowed is sent again after

    def __init__(self) -> None:
        self.stopping = False
        self._raised: KeyboardInterrupt | None = None
        self._unraisable = sys.unraisablehook

    def install(self) -> None:
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)
        sys.unraisablehook = self._swallowed

    def __call__(self, signum: int, frame: Any) -> None:
        if self.stopping:
            # os.write: print() could be interrupted inside sys.stderr's own write.
            os.write(2, f"outflow: still stopping jobs and cleaning up, please wait "
                        f"(kill -9 {os.getpid()} abandons the cleanup; the next run "
                        f"finishes it)\n".encode())
            return
        self.stopping = True
        self._raised = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        raise self._raised

    def _swallowed(self, unraisable: Any) -> None:
        """Python ignores an exception raised where it cannot go anywhere (a
        weak reference's callback, as at the end of every import): a stop
        that landed there would be lost, and the run go on. It is sent
        again, a moment later, from outside."""
        if unraisable.exc_value is None or unraisable.exc_value is not self._raised:
            self._unraisable(unraisable)
            return
        self.stopping, self._raised = False, None
        signum = signal.SIGTERM if isinstance(unraisable.exc_value, Terminated) else signal.SIGINT
        threading.Timer(self.RESEND, os.kill, (os.getpid(), signum)).start()


def _outflowfile_names(ctx: click.Context, tasks_only: bool) -> list[str]:
    """The workflow and task names of the Outflowfile the command line
    points at (-d, -f, else the current directory); none when it cannot be
    read: completion must never fail loudly."""
    try:
        from outflowfile.language import loader

        workdir, path = _locate(ctx.params.get("directory"), ctx.params.get("file_"))
        model = loader.load(path, workdir)
    except Exception:  # noqa: BLE001 - a broken Outflowfile offers nothing
        return []
    tasks = [t.name for t in model.tasks]
    return tasks if tasks_only else [w.name for w in model.workflows] + tasks


def _complete_targets(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[Any]:
    """Workflows and tasks; something that looks like a path completes as a file."""
    from click.shell_completion import CompletionItem

    if "/" in incomplete or "." in incomplete:
        return [CompletionItem(incomplete, type="file")]
    names = [n for n in _outflowfile_names(ctx, False) if n.startswith(incomplete)]
    return [CompletionItem(n) for n in names]


def _complete_tasks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [n for n in _outflowfile_names(ctx, True) if n.startswith(incomplete)]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("targets", nargs=-1, shell_complete=_complete_targets)
@click.option("-f", "--file", "file_", type=click.Path(dir_okay=False), help="The Outflowfile.")
@click.option("-d", "--directory", type=click.Path(file_okay=False), help="The project directory.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Cores to use (default: all).")
@click.option("-n", "--dry-run", is_flag=True, help="Plan only: what would run, and why.")
@click.option(
    "-p", "--print-commands/--no-print-commands", help="Print shell commands as they run."
)
@click.option("-F", "--forceall", is_flag=True, help="Run every job of the targets.")
@click.option(
    "-R", "--forcerun", multiple=True, metavar="TASK", shell_complete=_complete_tasks,
    help="Run every job of TASK.",
)
@click.option(
    "-U", "--until", multiple=True, metavar="TASK", shell_complete=_complete_tasks,
    help="Run only up to TASK.",
)
@click.option(
    "-k", "--keep-going/--no-keep-going", help="Go on with independent jobs on failure."
)
@click.option("--keep-temp/--no-keep-temp", help="Keep temp() output files this run.")
@click.option(
    "--force-protected", is_flag=True,
    help="Let jobs replace, and --clean remove, protected() output files.",
)
@click.option(
    "-C", "--config", "config", multiple=True, metavar="KEY=VALUE", help="Override a config value."
)
@click.option(
    "--configfile", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
    help="Override config values from a YAML, JSON or TOML file.",
)
@click.option(
    "--resources", multiple=True, metavar="mem=SIZE", help="Cap the memory of running jobs."
)
@click.option(
    "--db", metavar="URL", envvar="OUTFLOW_DB",
    help="Cache database URL (default: .outflow/outflow.db).",
)
@click.option(
    "--container-runtime", metavar="PROGRAM",
    help="Run container: tasks with podman, docker, apptainer or singularity "
    "(default: the first found).",
)
@click.option("--no-envs", is_flag=True, help="Run every task in outflow's own environment.")
@click.option(
    "--cluster", type=click.Choice(["local", "slurm", "sge", "drmaa", "pbs", "lsf", "htcondor"]),
    help="Submit jobs to a cluster (local: run them here; pbs, lsf, htcondor: with --workers).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), metavar="N",
    help="Run the jobs inside at most N scheduler jobs (Dask workers; outflow[workers]).",
)
@click.option(
    "--cluster-submit", type=click.Choice(["drmaa", "sbatch"]), help="How to submit to Slurm."
)
@click.option("--cpus-per-task", type=click.IntRange(min=1), help="Cluster default: cores.")
@click.option("--mem", "mem_default", metavar="SIZE", help="Cluster default: memory (4G).")
@click.option("--time", "time_default", metavar="TIME", help="Cluster default: time (2h).")
@click.option("--partition", help="Cluster default: partition or queue.")
@click.option("--cluster-args", default="", metavar="ARGS", help="Native scheduler arguments.")
@click.option(
    "--latency-wait", type=float, default=5.0, metavar="SECONDS",
    help="Wait this long for a cluster job's outputs to appear.",
)
@click.option(
    "--no-cluster-arrays/--cluster-arrays",
    help="Submit a map's jobs one by one, not as an array.",
)
@click.option(
    "--max-submit-rate", type=click.FloatRange(min=0.01), default=None, metavar="N",
    help="Cluster: at most N scheduler commands a second (default 10).",
)
@click.option("-q", "--quiet/--no-quiet", help="Print only errors.")
@click.option("-v", "--verbose/--no-verbose", help="Print commands and reasons.")
@click.option(
    "--profile", metavar="NAME", envvar="OUTFLOW_PROFILE",
    help="Option defaults from ~/.config/outflow/NAME.toml, or from the file NAME.",
)
@click.option(
    "--show-options", is_flag=True,
    help="Print every option's value and where it comes from (command line, profile, "
    "outflow.toml, default), and exit.",
)
@click.option("--list", "list_", is_flag=True, help="List workflows and tasks.")
@click.option("--lint", is_flag=True, help="Check the Outflowfile without planning.")
@click.option(
    "--forget", multiple=True, metavar="TASK", shell_complete=_complete_tasks,
    help="Drop the cached results of every job of TASK: they run next time.",
)
@click.option(
    "--show", multiple=True, metavar="TASK", shell_complete=_complete_tasks,
    help="Print the cached parameters, values and files of every job of TASK.",
)
@click.option(
    "--clean", is_flag=True,
    help="Remove the outputs outflow made for the targets' jobs, if unchanged since "
    "(lists what it keeps; asks first, see --yes).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --clean removes files.")
@click.option(
    "--touch", is_flag=True,
    help="Record the jobs whose output files all exist as up to date, without running them.",
)
@click.option(
    "--dag", is_flag=True, help="Print the graph of jobs, coloured by status; run nothing."
)
@click.option(
    "--taskgraph", is_flag=True, help="Print the graph of tasks, coloured by status; run nothing."
)
@click.option(
    "--summary", is_flag=True,
    help="Print a table of every job: status and why, last run, duration, CPU, memory, host; "
    "run nothing.",
)
@click.option(
    "--format", "format_", type=click.Choice(sorted({f for fs in FORMATS.values() for f in fs})),
    help="Output format of the command given: for --dag and --taskgraph, "
    "dot (Graphviz, the default) or mermaid; for --show, text (the default) or json; "
    "for --summary, table (the default), json or tsv.",
)
@click.option(
    "--report", type=click.Path(dir_okay=False), metavar="FILE.html",
    help="Write a self-contained HTML report: last run's timeline, resource use per task, "
    "failures with their logs, the task graph. Runs nothing.",
)
@click.version_option(__version__, "--version", prog_name="outflow", message="%(prog)s %(version)s")
def main(**opts: Any) -> None:
    """Plan and run the workflows of an Outflowfile.

    TARGETS are workflows, tasks (their jobs and everything upstream) or
    output files; the default is the workflow named 'all', else the first.
    """
    built: object = None
    try:
        StopSignals().install()
        status, built = _command(opts)
    except KeyboardInterrupt as stop:  # also one landing while an error is being told
        status = _stopped(stop)
    except RuntimeError as exc:
        # Python 3.11 wraps an exception raised while a class is being made
        # (a dataclass's fields, during an import) in a RuntimeError: a
        # Ctrl-C landing there is still a Ctrl-C.
        if not isinstance(exc.__cause__, KeyboardInterrupt):
            raise
        status = _stopped(exc.__cause__)
    _exit(status, built)


def _command(opts: dict[str, Any]) -> tuple[int, object]:
    """The exit status, and what the run built (to be freed by the exit)."""
    from outflowfile.errors import UserError

    options = None
    try:
        # Imported here, where a Ctrl-C during the import is handled.
        from outflowfile.commands.profiles import resolve_options, show_options

        options = resolve_options(click.get_current_context(), opts)
        if opts["show_options"]:
            click.echo(show_options(click.get_current_context(), options))
            return 0, None
        return _main(options.values, [str(path) for _, path in options.files])
    except UserError as exc:
        from outflowfile.commands.profiles import locate

        click.echo(locate(exc, options).render(), err=True)
        return EXIT_USER_ERROR, None
    except BrokenPipeError:
        # The reader went away (outflow ... | head): stop quietly, as a
        # command killed by SIGPIPE would, and let nothing flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE, None
    except OSError as exc:
        # A file outflow itself needs (its lock, its state directory) on a
        # read-only or full filesystem: the user's to fix, not a bug.
        click.echo(_os_error(exc), err=True)
        return EXIT_USER_ERROR, None
    except RecursionError:
        # A walk over what the user wrote (workflows in workflows, maps in
        # maps, values in values) went deeper than Python's stack: theirs to
        # change. The stages say where when they can; this is the backstop.
        click.echo("error: what outflow was given nests too deeply to follow (workflows or "
                   "maps within one another, or a value within values, hundreds of levels "
                   "down)\n  use fewer levels", err=True)
        return EXIT_USER_ERROR, None


def _stopped(stop: KeyboardInterrupt) -> int:
    if isinstance(stop, Terminated):
        click.echo("outflow: terminated (SIGTERM)", err=True)
        return EXIT_TERMINATED
    click.echo("outflow: interrupted (Ctrl-C)", err=True)
    return EXIT_INTERRUPTED


def _exit(status: int, built: object) -> NoReturn:
    """End the process without taking apart, object by object, what the run
    built (``built``, kept alive until here): at 100,000 jobs that costs
    about 0.2 s, for nothing. By now the executor and the cache are closed
    and outflow registers no exit handlers; only the output is left to flush."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing to save
            pass
    os._exit(status)


def _os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    if exc.filename is None:
        return f"error: {what}"
    return (f"error: cannot use {exc.filename}: {what}\n"
            "  outflow needs to write in the project directory and its .outflow/")


def _main(opts: dict[str, Any], option_files: list[str]) -> tuple[int, object]:
    """The exit status, and what the run built (to be freed by the exit);
    ``option_files``: outflow.toml and the profile, if read."""
    from outflowfile.commands.build import build
    from outflowfile.commands.configured import apply_command_line
    from outflowfile.language import loader
    from outflowfile.run.outcome import Interrupted
    from outflowfile.run.session import RunRequest
    from outflowfile.views.console import Console

    workdir, path = _locate(opts["directory"], opts["file_"])
    model = loader.load(path, workdir)
    configured = apply_command_line(model, opts["configfile"], opts["config"])
    if opts["list_"]:
        from outflowfile.commands.listing import describe

        click.echo(describe(model, configured.values(model, workdir), configured.given))
        return 0, None
    if opts["lint"]:
        from outflowfile.commands.lint import lint

        click.echo(lint(path, model, configured, workdir, opts["targets"]))
        return 0, None

    view, view_format = _view_command(opts)
    request = RunRequest(
        workdir=workdir,
        outflowfile=path,
        targets=list(opts["targets"]),
        config=configured.overrides,
        jobs=opts["jobs"],
        dry_run=opts["dry_run"],
        forceall=opts["forceall"],
        forcerun=list(opts["forcerun"]),
        until=list(opts["until"]),
        keep_going=opts["keep_going"],
        keep_temp=opts["keep_temp"],
        force_protected=opts["force_protected"],
        mem_limit=_mem_limit(opts["resources"]),
        db=opts["db"],
        argv=sys.argv,
        cluster=_cluster_request(opts),
        container_runtime=opts["container_runtime"],
        no_envs=opts["no_envs"],
        read_files=[*option_files, *opts["configfile"]],
    )
    console = Console(
        quiet=opts["quiet"], verbose=opts["verbose"], print_commands=opts["print_commands"],
        environments=not opts["no_envs"],
    )
    housekeeping = _housekeeping(opts, view, view_format, request, model, console)
    if housekeeping is not None:
        return housekeeping, None
    if opts["report"]:
        return _write_report(Path(opts["report"]), request, model, console), None
    if view is not None:
        return _print_view(view, view_format, request, model, console), None
    try:
        outcome = build(request, model, console)
    except Interrupted as exc:
        what = ", ".join(exc.jobs) if exc.jobs else "no job was running"
        click.echo(f"outflow: cancelled running jobs: {what}", err=True)
        if exc.signal_name == "Terminated":
            raise Terminated() from None
        raise KeyboardInterrupt() from None
    return (EXIT_JOB_FAILED if outcome.any_failed else 0), outcome


def _housekeeping(
    opts: dict[str, Any], view: str | None, fmt: str, request: Any, model: Any, console: Any
) -> int | None:
    """Run the housekeeping command asked for, if any: its exit status."""
    asked = [name for name in HOUSEKEEPING if opts[name]]
    if view is not None and view not in asked:
        asked.append(view)
    if len(asked) > 1:
        from outflowfile.errors import UserError

        raise UserError(f"--{asked[0]} and --{asked[1]} cannot be used together")
    if opts["touch"]:
        from outflowfile.commands.housekeeping import touch

        outcome = touch(request, model, console)
        failed = outcome.not_touched or outcome.blocked or outcome.any_failed
        return EXIT_JOB_FAILED if failed else 0
    if opts["forget"]:
        from outflowfile.commands.housekeeping import forget

        forget(request, model, list(opts["forget"]), console)
        return 0
    if opts["clean"]:
        from outflowfile.commands.housekeeping import clean

        clean(request, model, console, opts["yes"])
        return 0
    if opts["show"]:
        from outflowfile.commands.housekeeping import show

        show(request, model, list(opts["show"]), fmt)
        return 0
    return None


def _view_command(opts: dict[str, Any]) -> tuple[str | None, str]:
    """Which of the commands taking --format is asked for, and its format."""
    from outflowfile.errors import UserError

    asked = [name for name in FORMATS if opts.get(name)]
    if len(asked) > 1:
        raise UserError(f"--{asked[0]} and --{asked[1]} cannot be used together")
    if opts.get("report"):
        other = next((n for n in (*asked, *HOUSEKEEPING) if opts.get(n)), None)
        if other is not None:
            raise UserError(f"--report and --{other} cannot be used together")
    fmt = opts["format_"]
    if not asked:
        if fmt is not None:
            needs = " or ".join(f"--{name}" for name in FORMATS)
            raise UserError(f"--format {fmt}: no command to format; it goes with {needs}")
        return None, ""
    command, choices = asked[0], FORMATS[asked[0]]
    if fmt is None:
        return command, choices[0]
    if fmt not in choices:
        raise UserError(
            f"--format {fmt} does not apply to --{command}; use {' or '.join(choices)}"
        )
    return command, fmt


def _print_view(command: str, fmt: str, request: Any, model: Any, console: Any) -> int:
    """Plan as ``-n`` would, printing nothing, and print the view of that plan."""
    from outflowfile.run.session import plan_only
    from outflowfile.views import graphview

    if command == "summary":
        from outflowfile.views.summary import Collecting, render

        collecting = Collecting(quiet=True)  # the planner's errors go in the table
        planned = plan_only(request, model, collecting, full=True)
        click.echo(render(planned, collecting.errors, fmt), nl=False)
        return _planned_status(planned)

    planned = plan_only(request, model, console)
    view = graphview.job_view(planned) if command == "dag" else graphview.task_view(planned)
    name = "jobs" if command == "dag" else "tasks"
    text = graphview.to_dot(view, name) if fmt == "dot" else graphview.to_mermaid(view)
    click.echo(text, nl=False)
    return _planned_status(planned)


def _planned_status(planned: Any) -> int:
    """A view of a plan that could not be made whole (a job or a map
    failed before it could run: its error printed) exits non-zero."""
    return EXIT_JOB_FAILED if planned.outcome.any_failed else 0


def _write_report(path: Path, request: Any, model: Any, console: Any) -> int:
    """Plan as ``-n`` would, printing nothing, and write the report of that plan."""
    from outflowfile.commands.housekeeping import project_of
    from outflowfile.run.session import plan_only
    from outflowfile.views.report import make_report
    from outflowfile.views.reportfile import check_report_path

    check_report_path(path, project_of(request, model))
    planned = plan_only(request, model, console)
    data = make_report(request, planned, path)
    failed = sum(1 for r in data.latest if r.status == "failed")
    console.say(
        f"outflow: report written to {path} ({len(data.run_jobs)} jobs in the last run, "
        f"{failed} failing)"
    )
    return _planned_status(planned)


def _locate(directory: str | None, file_: str | None) -> tuple[Path, Path]:
    from outflowfile.errors import UserError
    from outflowfile.language.loader import find_outflowfile

    workdir = Path(directory or os.getcwd()).resolve()
    if not workdir.is_dir():
        raise UserError(f"no such project directory: {workdir}")
    if file_:
        path = Path(file_)
        path = (path if path.is_absolute() else Path(os.getcwd()) / path).resolve()
        if directory is None:
            workdir = path.parent
        return workdir, path
    return workdir, find_outflowfile(workdir).resolve()


WORKERS_ONLY = ("pbs", "lsf", "htcondor")  # schedulers outflow reaches only through workers


def _cluster_request(opts: dict[str, Any]) -> ClusterRequest | None:
    if opts["cluster"] in (None, "local"):
        if opts["workers"] is not None:
            from outflowfile.errors import UserError

            raise UserError("--workers goes with --cluster SCHEDULER",
                            hint="e.g. --cluster slurm --workers 4")
        return None
    from outflowfile.errors import UserError
    from outflowfile.executors.cluster.executor import ClusterRequest
    from outflowfile.executors.cluster.native import Defaults
    from outflowfile.language.units import parse_mem, parse_time

    try:
        mem = parse_mem(opts["mem_default"]) if opts["mem_default"] else None
        seconds = parse_time(opts["time_default"]) if opts["time_default"] else None
    except ValueError as exc:
        raise UserError(f"--mem/--time: {exc}") from None
    defaults = Defaults(
        cpus=opts["cpus_per_task"],
        mem=mem,
        time=seconds,
        partition=opts["partition"],
        args=opts["cluster_args"],
    )
    if opts["workers"] is not None or opts["cluster"] in WORKERS_ONLY:
        from outflowfile.executors.workers.request import workers_request

        return workers_request(opts["cluster"], opts["workers"], defaults, opts["latency_wait"])
    request = ClusterRequest(opts["cluster"], opts["cluster_submit"], defaults,
                             opts["latency_wait"], arrays=not opts["no_cluster_arrays"])
    if opts["max_submit_rate"] is not None:
        request.max_rate = opts["max_submit_rate"]
    return request


def _mem_limit(resources: tuple[str, ...]) -> int | None:
    from outflowfile.errors import UserError
    from outflowfile.language.units import parse_mem

    limit = None
    for item in resources:
        name, sep, value = item.partition("=")
        if not sep or name.strip() != "mem":
            raise UserError(f"--resources {item!r}: expected mem=SIZE, e.g. --resources mem=16G")
        try:
            limit = parse_mem(value.strip())
        except ValueError as exc:
            raise UserError(f"--resources {item!r}: {exc}") from None
    return limit
