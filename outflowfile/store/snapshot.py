"""What planning reads from the cache: the completed record of each key,
the latest record of each slot, and the records a dead run left running.

Both ways of reading (``sqlite_fast.py``, ``database.py``) fill a
``Snapshot``; ``Store.snapshot`` (door.py) picks the way.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from outflowfile.store.records import Record


class Snapshot:
    """What planning needs from the cache.

    ``by_key``: the completed record of each key (``Record`` or ``Done``);
    ``running``: records left "running" by a dead run; ``by_slot``: the
    latest record of each slot, of any status, made by ``load_slots`` when
    first asked for (if given).
    """

    def __init__(
        self,
        by_key: dict[str, Any] | None = None,
        by_slot: dict[str, Record] | None = None,
        running: list[Record] | None = None,
        load_slots: Callable[[], dict[str, Record]] | None = None,
    ) -> None:
        self.by_key: dict[str, Any] = {} if by_key is None else by_key
        self.running: list[Record] = [] if running is None else running
        # The summary of the jobs table these were read with (plan/memo.py),
        # when read for it (``Store.snapshot`` always reads it).
        self.state: list[Any] | None = None
        self._by_slot = by_slot
        self._load_slots = load_slots

    @property
    def by_slot(self) -> dict[str, Record]:
        if self._by_slot is None:
            load, self._load_slots = self._load_slots, None
            with collector_paused(keep=True):
                self._by_slot = load() if load is not None else {}
        return self._by_slot


@contextmanager
def collector_paused(keep: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects.

    Loading 100,000 records allocates a few hundred thousand containers, none
    in a cycle; each allocation burst otherwise triggers full collections that
    walk every object of the process (the cost grows with the caller's heap).

    With ``keep``, what exists when the pause ends lives on (a run's graph
    and records): it is moved out of the collector's generations
    (``gc.freeze``), else the first collection after the pause would walk
    all of it again. The engine puts it back when its run ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
        if was_enabled:
            gc.enable()


def build_snapshot(rows: Sequence[Any]) -> Snapshot:
    """The snapshot of whole rows (``schema.RECORD_COLUMNS``) in id order."""
    by_key: dict[str, Record] = {}
    by_slot: dict[str, Record] = {}
    running: list[Record] = []
    for row in rows:
        rec = Record(*row)
        by_slot[rec.slot] = rec  # rows come in id order: the last one wins
        status = rec.status
        if status == "done":
            by_key[rec.key] = rec
        elif status == "running":
            running.append(rec)
    return Snapshot(by_key, by_slot, running)
