"""Where ``outflow --report FILE`` may write: a new file, or over a report
outflow wrote before (its page carries ``MARK``); never over any other file
(an input, a job's output, notes of the user's), nor a path no job may own
either (the Outflowfile, a file it includes or its config is read from, the
cache, anything in ``.outflow/``: ``language/ownership.py``)."""

from __future__ import annotations

import os
from pathlib import Path

from outflowfile.errors import UserError
from outflowfile.language import ownership
from outflowfile.language.ownership import Project

#: In the head of every report: how an earlier report is known.
MARK = '<meta name="generator" content="outflow --report">'
_HINT = "name a new file, such as report.html (or remove that one yourself)"


def check_report_path(path: Path, project: Project) -> None:
    """A ``UserError`` (exit status 2) unless ``--report`` may write ``path``."""
    assert project.root is not None
    full = os.path.abspath(path)
    place = ownership.resolve_parents(full, project.root)
    refusal = ownership.never_owned(place, project)
    if refusal is not None and refusal is not ownership.Refusal.OUTSIDE:
        raise UserError(f"--report {path}: that is {ownership.reason(refusal, place, project)}, "
                        "which outflow never writes over", hint=_HINT)
    if not os.path.lexists(full):
        return
    if os.path.islink(full) or not os.path.isfile(full) or not _is_report(full):
        raise UserError(f"--report {path}: {path} exists and is not a report outflow wrote; "
                        "outflow writes a report only to a new file or over its own "
                        "earlier report", hint=_HINT)


def _is_report(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return MARK.encode() in head
