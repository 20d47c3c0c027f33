"""Broker reachability, probed in the background so `/health` never waits on a sick broker link.

A health endpoint that asks the broker synchronously answers only as fast as the broker link: with 2 s of
injected latency, `/health` itself takes seconds and looks dead to whoever polls it. The probe thread asks
instead, and `/health` reads its last answer together with that answer's age.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    reason: str | None


class BrokerProbe:
    """Calls `check()` every `interval` seconds; a result older than `max_age` counts as unreachable."""

    def __init__(
        self,
        check: Callable[[], bool],
        describe: str,
        interval: float = 0.5,
        max_age: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self._describe = describe
        self._interval = interval
        self._max_age = max_age
        self._clock = clock
        self._last: tuple[bool, float] | None = None  # (ok, when) of the last finished check
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def probe_once(self) -> bool:
        ok = self._check()
        self._last = (ok, self._clock())
        return ok

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="broker-probe", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probe_once()
            self._stop.wait(self._interval)

    def current(self) -> ProbeResult:
        last = self._last
        if last is None:
            return ProbeResult(False, f"broker: not probed yet ({self._describe})")
        ok, when = last
        age = self._clock() - when
        if age > self._max_age:
            return ProbeResult(False, f"broker: no answer from {self._describe} for {age:.1f} s")
        if not ok:
            return ProbeResult(False, f"broker: unreachable at {self._describe}")
        return ProbeResult(True, None)
