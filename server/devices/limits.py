"""Per-hub rate limits: a token bucket of events per second, kept in the server process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, count: int, *, now: float | None = None) -> float:
        """Takes `count` tokens and returns 0, or takes none and returns seconds to wait."""
        self._refill(time.monotonic() if now is None else now)
        if count <= self.tokens:
            self.tokens -= count
            return 0.0
        if count > self.capacity:
            # Never satisfiable at once; the agent's batches are far below the burst size.
            return max(0.001, (self.capacity - self.tokens) / self.rate)
        return max(0.001, (count - self.tokens) / self.rate)


class HubLimiter:
    """One bucket per hub, shared by all of that hub's connections in this process."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        # Seconds on a monotonic scale; a test sets its own to refill buckets by hand.
        self.clock = clock
        self._buckets: dict[uuid.UUID, TokenBucket] = {}

    def take(self, hub_id: uuid.UUID, count: int) -> float:
        now = self.clock()
        bucket = self._buckets.get(hub_id)
        if bucket is None:
            bucket = self._buckets[hub_id] = TokenBucket(
                rate=self.rate, capacity=self.burst, updated=now
            )
        return bucket.take(count, now=now)
