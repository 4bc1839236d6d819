"""What a run prints: one line per finished job, failures in full, a summary.

A job's own output is printed in one piece when it ends, so the lines of
jobs running side by side never interleave. On a terminal a status line
(``progress.py``) stays below them, redrawn in place; elsewhere (a file, a
pipe, a CI log) the lines are all there is.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from outflowfile.graph.expand import Job
    from outflowfile.run.jobspec import JobResult, JobSpec
    from outflowfile.run.outcome import Outcome
    from outflowfile.run.report import Counts, Durations
    from outflowfile.views.progress import StatusLine


@dataclass
class Console:
    """What a run prints (the ``RunReporter`` of ``run/report.py``)."""

    quiet: bool = False
    verbose: bool = False
    print_commands: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    status: StatusLine | None = None
    environments: bool = True  # False: --no-envs (-n shows none)

    # --- the status line --------------------------------------------------

    def follow(self, counts: Callable[[], Counts], durations: Callable[[], Durations]) -> None:
        """Show a status line from here on, if the output is a terminal;
        ``durations`` (past ones) are read when a first job is to run."""
        from outflowfile.views.progress import Estimate, History, StatusLine, is_terminal

        if self.quiet or not is_terminal(self.out):
            return
        history = Estimate(lambda: History.from_durations(durations()))
        # Drawn when a first job starts: a run with nothing to do draws nothing.
        self.status = StatusLine(self.out, counts, history)

    def unfollow(self) -> None:
        """Erase the status line for good."""
        if self.status is not None:
            self.status.clear()
            self.status = None

    def tick(self) -> None:
        if self.status is not None:
            self.status.tick()

    def job_queued(self, job: Job) -> None:
        if self.status is not None:
            self.status.estimate.queued(job)

    # --- lines --------------------------------------------------------------

    def say(self, text: str) -> None:
        if self.quiet:
            return
        if self.status is not None:
            self.status.above(text)
        else:
            print(text, file=self.out, flush=True)

    def _error(self, text: str) -> None:
        """Print to stderr, which is most often the same terminal: the status
        line is erased first, and drawn again below."""
        if self.status is not None:
            self.status.clear()
        print(text, file=self.err, flush=True)
        if self.status is not None:
            self.status.draw()

    def warn(self, text: str) -> None:
        self._error(f"outflow: warning: {text}")

    def job_started(self, job: Job, reason: str, spec: JobSpec) -> None:
        if self.status is not None:
            self.status.estimate.started(job, self.status.clock())
            self.status.tick()
        if self.verbose:
            self.say(f"start {job.label}: {reason}")
        if (self.print_commands or self.verbose) and spec.kind == "shell":
            self.say(f"    $ {spec.code}")

    def job_done(self, job: Job, result: JobResult, done: int, total: int) -> None:
        duration = max(result.ended - result.started, 0.0)
        if self.status is not None:
            self.status.estimate.ended(job, duration)
        if self.quiet:
            return
        lines = [f"[{done}/{total}] {job.label}  {duration:.1f}s"]
        if result.output.strip():
            lines.append(_indent(result.output))
        self.say("\n".join(lines))

    def job_not_started(self, job: Job) -> None:
        """A job announced as started never ran: it waits again."""
        if self.status is not None:
            self.status.estimate.ended(job, None)
            self.status.estimate.queued(job)

    def job_retry(self, job: Job, attempt: int, retries: int, error: str) -> None:
        first = _headline(error)
        if self.status is not None:
            self.status.estimate.ended(job, None)
            self.status.estimate.queued(job)
        self.say(f"retry {attempt}/{retries} {job.label}: {first}")

    def job_failed(self, job: Job, spec: JobSpec, result: JobResult, error: str) -> None:
        if self.status is not None:
            self.status.estimate.ended(job, None)
        lines = [f"error: job {job.label} failed"]
        if result.exit_status not in (None, 0):
            lines[0] += f" (exit status {result.exit_status})"
        if spec.kind == "shell":
            lines.append(f"  command: {spec.code}")
        if result.output:
            lines.append(f"  log: {spec.log}")
        else:  # no log file is kept for it (see logfiles.py)
            lines.append(f"  log: {spec.log} (none: the job printed nothing)")
        if result.output.strip():
            lines.append("  output:")
            lines.append(_indent(_tail(result.output, spec.log), "    "))
        lines.append(_indent(error.rstrip(), "  "))
        self._error("\n".join(lines))

    def node_error(self, label: str, message: str) -> None:
        self._error(f"error: {label}: {message}")

    def dry_run(self, outcome: Outcome) -> None:
        out = []
        if outcome.would_run:
            out.append(f"Would run {len(outcome.would_run)} jobs:")
            width = min(max(len(j.label) for j, _ in outcome.would_run), 50)
            for job, reason in outcome.would_run:
                env = job.resources.environment
                where = f"  [{env.describe()}]" if env and self.environments else ""
                out.append(f"  {job.label:<{width}}  {reason}{where}")
            out.append("")
            out.append("Jobs per task:")
            counts = Counter(j.task.name for j, _ in outcome.would_run)
            tw = max(len(n) for n in counts)
            for name, n in counts.items():
                out.append(f"  {name:<{tw}}  {n}")
        elif not outcome.any_failed:
            out.append("Nothing to do: every job is up to date.")
        if outcome.any_failed:
            what = _counted(len(outcome.failed), "job") + _failed_growth(outcome)
            out.append(f"Cannot plan {' and '.join(what)} (see the errors above): still to do.")
        maps = [n for n in outcome.unsized if n.kind == "map"]
        choices = [n for n in outcome.unsized if n.kind == "condition"]
        for nodes, title in (
            (maps, "Maps not sized yet (they expand when their source is computed):"),
            (choices, "Conditions not decided yet (one side runs when its values are known):"),
        ):
            if nodes:
                out.append("")
                out.append(title)
            for node in nodes:
                waits = ", ".join(sorted({getattr(d, "label", "?") for d in node.deps})) or "?"
                loc = f" at line {node.loc.line}" if node.loc else ""
                out.append(f"  {node.describe()}{loc}: waits for {waits}")
        if outcome.up_to_date:
            out.append("")
            out.append(f"{outcome.up_to_date} jobs up to date.")
        if outcome.temp_left:
            out.append("")
            out.append("Would remove temporary files once their readers succeed:")
            out.extend(f"  {path}" for path in outcome.temp_left)
        if outcome.to_reorder:
            jobs = _counted(outcome.to_reorder, "job")[0]
            out.append("")
            out.append(f"Would touch the outputs of {jobs} kept by early cutoff "
                       "(an input was remade identical after they were made).")
        print("\n".join(out), file=self.out, flush=True)

    def summary(self, outcome: Outcome) -> None:
        parts = [f"{len(outcome.ran)} ran", f"{outcome.up_to_date} up to date"]
        if outcome.failed:
            parts.append(f"{len(outcome.failed)} failed")
        parts.extend(f"{what} failed" for what in _failed_growth(outcome))
        if outcome.blocked:
            parts.append(f"{outcome.blocked} not run (upstream failed)")
        if outcome.not_started:
            parts.append(f"{outcome.not_started} not started (stopped at the failure; -k goes on)")
        if outcome.temp_removed:
            parts.append(_counted(len(outcome.temp_removed), "temporary file")[0] + " removed")
        if outcome.temp_left:
            parts.append(_counted(len(outcome.temp_left), "temporary file")[0] + " kept")
        text = ", ".join(parts) + f" in {outcome.elapsed:.1f}s"
        if self.verbose and outcome.temp_removed:
            self.say("outflow: removed " + ", ".join(outcome.temp_removed))
        if outcome.any_failed:
            self._error(f"outflow: {text}")
        else:
            self.say(f"outflow: {text}")


#: The most lines of a failed job's output its error shows (the log has all).
SHOWN_OUTPUT_LINES = 40


def _tail(output: str, log: str) -> str:
    """The end of a failed job's output, where its error usually is."""
    lines = output.rstrip("\n").split("\n")
    if len(lines) <= SHOWN_OUTPUT_LINES:
        return output
    cut = len(lines) - SHOWN_OUTPUT_LINES
    return "\n".join([f"... ({cut} lines before these are in {log})", *lines[cut:]])


def _failed_growth(outcome: Outcome) -> list[str]:
    """``["1 map", "2 conditions"]``: the maps and conditions that failed
    to grow their jobs, each under its own name."""
    kinds = [node.kind for node in outcome.failed_maps]
    return _counted(kinds.count("map"), "map") + _counted(kinds.count("condition"), "condition")


def _counted(n: int, noun: str) -> list[str]:
    """``["1 map"]``, ``["2 maps"]``; nothing for none."""
    return [f"{n} {noun}{'' if n == 1 else 's'}"] if n else []


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())


def _headline(error: str) -> str:
    """One line saying why a job failed: a traceback's last line (the
    exception), else the first (a shell command's status, before the command
    itself, which may run over many lines)."""
    lines = error.strip().splitlines()
    if not lines:
        return "failed"
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    return line if len(line) <= 120 else line[:117] + "..."
