"""Every sleep and poll of the orchestrator goes through a WaitMeter, so a run can say how much of its
wall time
was waiting rather than working (a chaos suite that mostly sleeps is a slow suite with a fix)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    pass


class WaitMeter:
    def __init__(self) -> None:
        self.waited = 0.0
        self._lock = threading.Lock()

    def _add(self, seconds: float) -> None:
        with self._lock:
            self.waited += seconds

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Count the enclosed block as waiting (joining a workload thread, for instance)."""
        start = time.monotonic()
        try:
            yield
        finally:
            self._add(time.monotonic() - start)

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        t = time.monotonic()
        time.sleep(seconds)
        self._add(time.monotonic() - t)

    def until(
        self,
        predicate: Callable[[], T | None],
        timeout: float,
        interval: float = 0.1,
        what: str = "condition",
    ) -> T:
        """Poll `predicate` until it returns a truthy value; bounded by `timeout`. A poll is waiting as a
        whole: the probe calls it makes only ask whether the wait is over."""
        start = time.monotonic()
        deadline = start + timeout
        try:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(f"timed out after {timeout:.1f}s waiting for {what}")
                time.sleep(min(interval, remaining))
        finally:
            self._add(time.monotonic() - start)
