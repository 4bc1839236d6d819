"""How fast a run may call the scheduler: a token bucket shared by its
submissions and status queries. Sites that limit their users' requests do
so the same way (Slurm's rate limiting: a bucket of 30, refilled at 2 per
second, when enabled); going faster only gets requests refused or delayed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Requests per second (``--max-submit-rate``), and the burst: as many at
#: once after a quiet while.
DEFAULT_RATE = 10.0
BURST_SECONDS = 3.0  # the burst is this many seconds' worth, at least 1


@dataclass
class Bucket:
    rate: float  # tokens per second
    burst: int
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(default=-1.0)
    _at: float = 0.0

    @classmethod
    def per_second(cls, rate: float) -> Bucket:
        return cls(rate, max(1, int(rate * BURST_SECONDS)))

    def take(self) -> float:
        """Wait for a token; how long it waited."""
        now = self.clock()
        if self._tokens < 0:  # a full bucket to begin with
            self._tokens, self._at = float(self.burst), now
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        waited = 0.0
        if self._tokens < 1:
            waited = (1 - self._tokens) / self.rate
            self.sleep(waited)
            self._tokens, self._at = 1.0, self.clock()
        self._tokens -= 1
        return waited
