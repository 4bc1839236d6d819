"""Kept for the name run/engine.py imports (``Touched``) until it imports
it from ``outflowfile.store.records``; the cache is ``database.Cache``,
opened through ``door.Store``."""

from outflowfile.store.records import Touched

__all__ = ["Touched"]
