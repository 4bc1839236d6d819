"""What the scheduler allows one run: the largest job array, and how many
jobs may be queued at once, read once per run from its configuration.

Slurm: ``MaxArraySize`` (array indexes go up to one less: outflow numbers
elements from 1, so an array holds at most ``MaxArraySize - 1``) and
``MaxJobCount`` (every job slurmctld holds, everyone's: outflow stays below
it) from ``scontrol show config``; the user's ``MaxSubmitJobs`` from
``sacctmgr`` where accounting is there to say. Grid Engine: ``max_aj_tasks``,
``max_jobs`` and ``max_u_jobs`` from ``qconf -sconf`` (0: no limit).
Nothing that cannot be read limits anything.

``OUTFLOW_SCHEDULER_LIMITS`` (for testing only: a shared test cluster's own
limits cannot be made small without disturbing others) replaces what the
scheduler says: ``MaxArraySize=4,MaxJobCount=5`` (or Grid Engine's names).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass

from outflowfile.executors.cluster.queues import run

OVERRIDE = "OUTFLOW_SCHEDULER_LIMITS"


@dataclass
class Limits:
    max_array: int | None = None  # elements in one array
    max_queued: int | None = None  # jobs of this run queued or running at once

    def in_flight(self, asked: int) -> int:
        """Jobs in flight: what ``-j`` asked, within the scheduler's limit."""
        return max(1, min(asked, self.max_queued)) if self.max_queued else asked


def read_limits(flavour: str, environ: Mapping[str, str] = os.environ) -> Limits:
    override = environ.get(OVERRIDE)
    if override:
        settings = dict(
            item.strip().split("=", 1) for item in override.split(",") if "=" in item
        )
    elif flavour.startswith("slurm"):
        settings = _key_values(run(["scontrol", "show", "config"]) or "", "=")
        submit = _slurm_max_submit()
        if submit:
            settings["MaxSubmitJobs"] = submit
    else:
        settings = _key_values(run(["qconf", "-sconf"]) or "", None)
    return limits_from(settings)


def limits_from(settings: Mapping[str, str]) -> Limits:
    """Limits from Slurm's or Grid Engine's settings (names as they spell them)."""

    def number(name: str) -> int | None:
        text = str(settings.get(name, "")).strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    arrays = [n - 1 for n in [number("MaxArraySize")] if n is not None]
    arrays += [n for n in [number("max_aj_tasks")] if n is not None]
    queued = [n - 1 for n in [number("MaxJobCount")] if n is not None]
    queued += [n for name in ("MaxSubmitJobs", "max_jobs", "max_u_jobs")
               if (n := number(name)) is not None]  # fmt: skip
    return Limits(
        max_array=max(1, min(arrays)) if arrays else None,
        max_queued=max(1, min(queued)) if queued else None,
    )


def _key_values(text: str, sep: str | None) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if sep is None:
            parts = line.split(None, 1)
        else:
            parts = line.split(sep, 1)
        if len(parts) == 2:
            found[parts[0].strip()] = parts[1].strip()
    return found


def _slurm_max_submit() -> str | None:
    """The user's MaxSubmitJobs (their association's), where accounting says;
    None where there is no ``sacctmgr`` or no accounting database."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        return None
    out = run(["sacctmgr", "-n", "-P", "show", "assoc", f"where user={user}",
               "format=MaxSubmit"])  # fmt: skip
    limits = [line.strip() for line in (out or "").splitlines() if line.strip().isdigit()]
    return min(limits, key=int) if limits else None
