"""What a run was asked (its options) and what came of it (its outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outflowfile.errors import UserError
from outflowfile.graph.expand import Graph, Job, MapNode


@dataclass
class Options:
    forceall: bool = False
    forcerun: frozenset[str] = frozenset()
    keep_going: bool = False
    keep_temp: bool = False
    force_protected: bool = False


class Interrupted(Exception):
    """Ctrl-C or SIGTERM reached the run; running jobs were cancelled."""

    def __init__(self, signal_name: str, jobs: list[str]) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.jobs = jobs


@dataclass
class Outcome:
    ran: list[Job] = field(default_factory=list)
    up_to_date: int = 0
    failed: list[Job] = field(default_factory=list)
    failed_maps: list[MapNode] = field(default_factory=list)  # whose source is not a list
    blocked: int = 0
    not_started: int = 0  # left when the run stopped after a failure (no -k)
    would_run: list[tuple[Job, str]] = field(default_factory=list)
    unsized: list[MapNode] = field(default_factory=list)
    elapsed: float = 0.0
    touched: list[Job] = field(default_factory=list)
    not_touched: list[tuple[Job, str]] = field(default_factory=list)  # job, why
    graph: Graph | None = None  # the graph walked (whoever holds the outcome keeps it)
    # What the decisions were made from (plan/memo.py): every file looked at,
    # and the summary of the cache's jobs table the snapshot was read with.
    files_seen: dict[str, tuple[int, int] | None] | None = None
    cache_state: list[Any] | None = None
    keys: dict[int, str] = field(default_factory=dict)  # job id -> key, of those keyed
    # Jobs whose bound paths no job may own, found as the run went
    # (plan/owned.py): the run stopped starting jobs; the command fails with it.
    refused: UserError | None = None
    temp_removed: list[str] = field(default_factory=list)  # temporary files removed
    # Those a run would remove, left by a dry run or --keep-temp.
    temp_left: list[str] = field(default_factory=list)
    # Jobs a dry run found kept by early cutoff: the run touches their
    # outputs and rewrites their records (loop.Loop._keep_order).
    to_reorder: int = 0

    def raise_refused(self) -> None:
        if self.refused is not None:
            raise self.refused

    @property
    def any_failed(self) -> bool:
        """Whether a job or a map failed: the run (or plan) exits non-zero."""
        return bool(self.failed or self.failed_maps)
