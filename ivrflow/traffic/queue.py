"""The agent queue: FCFS, c agents, impatient callers, simulated with an event heap.

One `AgentQueue` per ACD queue. Calls join with `arrive(t, ...)`; time only moves
forward. The heap holds the agents' completion times; a caller's abandonment is
settled lazily — when an agent frees up and the caller at the head of the line
has already reached the end of their patience, they left at that moment — so
a call costs one heap push and pop, not three. Because the line is FCFS, this
gives exactly the same answers, waits and abandonments as scheduling every
abandonment as an event.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from heapq import heappop, heappush

__all__ = ["AgentQueue", "QueueStats", "QueueSpec", "simulate_queue"]

INF = math.inf


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """How a queue is staffed and how its callers behave (seconds)."""

    name: str
    agents: int
    aht: float  # average handle time
    patience: float | None  # mean patience; None: callers never abandon (Erlang C)
    handle: str = "exponential"  # or "lognormal"
    handle_cv: float = 1.0  # coefficient of variation, for lognormal
    patience_distribution: str = "exponential"  # or "lognormal" (cv 1)
    callback_dial: float = 30.0  # extra handle time of a callback: dialling, ringing
    schedule: tuple[int, ...] | None = None  # agents per hour of the day; None: `agents` all day

    def staffed(self, hour: int) -> int:
        """Agents on duty in an hour of the day."""
        return self.schedule[hour % 24] if self.schedule is not None else self.agents


@dataclass(slots=True)
class QueueStats:
    """Counts over the calls that joined after the warm-up. Callbacks are counted apart:
    the center places them when it chooses, so they are not part of ASA, SL or abandonment."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    waited: int = 0  # found every agent busy
    answered_in_sl: int = 0
    wait_answered: float = 0.0  # total wait of answered calls
    time_in_queue: float = 0.0  # total time waiting, answered or not (Little: Lq = λ·W)
    handle: float = 0.0  # total handle time of answered calls
    callbacks: int = 0  # callbacks placed (not in `offered` and the figures above)
    callback_wait: float = 0.0  # total time from a callback joining to an agent taking it
    by_hour_offered: list[int] = field(default_factory=lambda: [0] * 24)
    by_hour_in_sl: list[int] = field(default_factory=lambda: [0] * 24)
    by_hour_abandoned: list[int] = field(default_factory=lambda: [0] * 24)


class AgentQueue:
    """c agents, one FCFS line; callers carry a patience deadline."""

    __slots__ = (
        "spec", "free", "busy", "line", "stats", "threshold", "warmup", "rng", "on_duty",
        "next_change", "_hmu", "_hsigma", "_pmu", "_psigma", "_mean_patience",
    )  # fmt: skip

    def __init__(
        self, spec: QueueSpec, rng: random.Random, *, threshold: float = 20.0, warmup: float = 0.0
    ) -> None:
        if spec.agents < 0 or any(n < 0 for n in spec.schedule or ()):
            raise ValueError(f"queue {spec.name}: agents must not be negative")
        self.spec = spec
        # Agents on duty now; `free` = on duty − busy, below 0 while agents whose shift
        # ended finish their last call. Shifts change on the hour (time 0 is midnight).
        self.on_duty = spec.staffed(0)
        self.free = self.on_duty
        self.next_change = 3600.0 if spec.schedule is not None else INF
        self.busy: list[float] = []  # completion times of busy agents
        # (joined at, leaves at if unanswered, counted, callback, hour)
        self.line: deque[tuple[float, float, bool, bool, int]] = deque()
        self.stats = QueueStats()
        self.threshold = threshold
        self.warmup = warmup
        self.rng = rng
        self._hsigma = math.sqrt(math.log(1.0 + spec.handle_cv**2))
        self._hmu = math.log(spec.aht) - self._hsigma**2 / 2
        self._psigma = math.sqrt(math.log(2.0))
        self._mean_patience = spec.patience
        self._pmu = math.log(spec.patience) - self._psigma**2 / 2 if spec.patience else 0.0

    def _handle_time(self) -> float:
        if self.spec.handle == "lognormal":
            return self.rng.lognormvariate(self._hmu, self._hsigma)
        return self.rng.expovariate(1.0 / self.spec.aht)

    def _patience(self) -> float:
        mean = self._mean_patience
        if mean is None:
            return INF
        if self.spec.patience_distribution == "lognormal":
            return self.rng.lognormvariate(self._pmu, self._psigma)
        return self.rng.expovariate(1.0 / mean)

    def advance(self, now: float) -> None:
        """Finish every service that ends by `now`, answering the next callers in line, and
        change shifts on the hour."""
        busy = self.busy
        while True:
            change = self.next_change
            if busy and busy[0] <= now and busy[0] < change:
                done = heappop(busy)
                # An agent whose shift is over leaves; one on duty takes the next caller.
                if self.free < 0 or not self._serve_next(done):
                    self.free += 1
            elif change <= now:
                self.next_change = change + 3600.0
                self._shift(change)
            else:
                return

    def _shift(self, at: float) -> None:
        staffed = self.spec.staffed(int(at // 3600))
        self.free += staffed - self.on_duty
        self.on_duty = staffed
        while self.free > 0 and self._serve_next(at):
            self.free -= 1

    def _serve_next(self, at: float) -> bool:
        """An agent free at `at` takes the first caller still in line; False if none is."""
        line, stats = self.line, self.stats
        while line:
            joined, leaves, counted, callback, hour = line.popleft()
            if leaves < at:  # they hung up before an agent was free
                if counted:
                    stats.abandoned += 1
                    stats.time_in_queue += leaves - joined
                    stats.by_hour_abandoned[hour] += 1
                continue
            wait = at - joined
            if callback:
                handle = self._handle_time() + self.spec.callback_dial
                heappush(self.busy, at + handle)
                if counted:
                    stats.callback_wait += wait
                    stats.handle += handle
                return True
            handle = self._handle_time()
            heappush(self.busy, at + handle)
            if counted:
                stats.answered += 1
                stats.wait_answered += wait
                stats.time_in_queue += wait
                stats.handle += handle
                if wait <= self.threshold:
                    stats.answered_in_sl += 1
                    stats.by_hour_in_sl[hour] += 1
            return True
        return False

    def arrive(self, now: float, hour: int = 0, callback: bool = False) -> None:
        """A call joins at `now` (callers in line before it are served first)."""
        if (self.busy and self.busy[0] <= now) or now >= self.next_change:
            self.advance(now)
        counted = now >= self.warmup
        stats = self.stats
        if callback:
            # A call the center places: nobody on the line to give up, no wait to count.
            if counted:
                stats.callbacks += 1
            if self.free > 0:
                self.free -= 1
                handle = self._handle_time() + self.spec.callback_dial
                heappush(self.busy, now + handle)
                if counted:
                    stats.handle += handle
            else:
                self.line.append((now, INF, counted, True, hour))
            return
        if counted:
            stats.offered += 1
            stats.by_hour_offered[hour] += 1
        if self.free > 0:
            self.free -= 1
            handle = self._handle_time()
            heappush(self.busy, now + handle)
            if counted:
                stats.answered += 1
                stats.answered_in_sl += 1
                stats.by_hour_in_sl[hour] += 1
                stats.handle += handle
            return
        if counted:
            stats.waited += 1
        self.line.append((now, now + self._patience(), counted, False, hour))

    def waiting(self, now: float) -> int:
        """Callers in line at `now` (those whose patience ran out are dropped first)."""
        self.advance(now)
        line = self.line
        while line and line[0][1] < now:
            joined, leaves, counted, _, hour = line.popleft()
            if counted:
                self.stats.abandoned += 1
                self.stats.time_in_queue += leaves - joined
                self.stats.by_hour_abandoned[hour] += 1
        return len(line)

    def ewt(self, now: float) -> float:
        """The ACD's estimate of the wait a caller joining now would have, in seconds."""
        ahead = self.waiting(now)
        if self.free > 0 and ahead == 0:
            return 0.0
        if self.on_duty <= 0:
            return INF
        return (ahead + 1) * self.spec.aht / self.on_duty

    def drain(self) -> None:
        """Serve (or lose) everyone still in line, so no call is left uncounted. Figures are
        counted when a service starts, so services still running need no more work."""
        while self.line:
            if self.busy:
                self.advance(self.busy[0])
            elif self.next_change < INF and any(self.spec.schedule or ()):
                self.advance(self.next_change)  # nobody on duty: wait for the next shift
            else:  # nobody will ever answer: callers leave when their patience runs out
                joined, leaves, counted, _, hour = self.line.popleft()
                if counted and leaves < INF:
                    self.stats.abandoned += 1
                    self.stats.time_in_queue += leaves - joined
                    self.stats.by_hour_abandoned[hour] += 1


def simulate_queue(
    spec: QueueSpec,
    arrival_rate: float,
    horizon: float,
    *,
    seed: int = 1,
    threshold: float = 20.0,
    warmup: float = 0.0,
) -> QueueStats:
    """The queue alone, fed by a homogeneous Poisson stream of `arrival_rate` per second."""
    rng = random.Random(seed)
    queue = AgentQueue(spec, rng, threshold=threshold, warmup=warmup)
    arrive, expo = queue.arrive, rng.expovariate
    t = expo(arrival_rate)
    while t < horizon:
        arrive(t)
        t += expo(arrival_rate)
    queue.drain()
    return queue.stats
