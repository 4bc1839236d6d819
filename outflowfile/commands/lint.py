"""``outflow --lint``: the Outflowfile checked, and the config the command
line gives read as a run would read it, without planning."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from outflowfile.commands.configured import Configured
from outflowfile.language.model import Outflowfile


def lint(path: Path, model: Outflowfile, configured: Configured, workdir: Path,
         targets: Sequence[str] = ()) -> str:
    """The line that says all is well (the model is checked when loaded);
    raises ``UserError`` for a ``--configfile`` or ``-C`` a run refuses, and
    for a target that is no workflow, task or file name."""
    configured.values(model, workdir)
    if targets:
        from outflowfile.run.session import select  # only then: it costs a run's imports

        select(model, list(targets), [], workdir)  # what a run says of an unknown one
    return f"{path}: ok ({_count(len(model.tasks), 'task')}, " \
        f"{_count(len(model.workflows), 'workflow')})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
