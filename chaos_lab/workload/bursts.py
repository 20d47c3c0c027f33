"""The workload side of an experiment: client processes that send signals, and the /health prober.

Both only record what they saw in the history (Jepsen's clients); they never judge it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from chaos_lab.scenarios.model import Burst, Signal
from chaos_lab.workload.client import EngineClient
from chaos_lab.workload.waiting import WaitMeter

PROBE_INTERVAL = 0.25
MAX_PROBES = 2000  # bound on the prober, whatever the scenario does
BURST_DEADLINE = 60.0


def demo_bars(count: int) -> list[dict[str, Any]]:
    """Deterministic minute bars: the truncated-parquet scenario needs a real file to damage."""
    base = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
    bars = []
    for i in range(count):
        price = 1.10 + 0.001 * ((i * 7) % 13)
        bars.append(
            {
                "ts": datetime.fromtimestamp(base + 60 * i, UTC).isoformat(),
                "open": price,
                "high": price + 0.0005,
                "low": price - 0.0005,
                "close": price + 0.0002,
                "volume": 100.0 + i,
            }
        )
    return bars


class HealthProber:
    """Polls /health in the background while faults are live; every probe lands in the history."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-prober", daemon=True)

    def _run(self) -> None:
        for _ in range(MAX_PROBES):
            if self._stop.is_set():
                return
            self.client.probe_health()
            self._stop.wait(PROBE_INTERVAL)

    def __enter__(self) -> HealthProber:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class BurstClients:
    """A bounded set of signals sent by `concurrency` clients (Jepsen's processes), each one at a time, in the
    calling thread or in background threads. A client retries an in-doubt signal (`info`) under the same
    intent id, as a real client does, up to `retry_unknown` times."""

    def __init__(
        self, client: EngineClient, step: Burst, meter: WaitMeter | None, stop: threading.Event
    ) -> None:
        self.client, self.step, self.meter, self.stop = client, step, meter, stop
        self.threads: list[threading.Thread] = []
        self.deadline = time.monotonic() + BURST_DEADLINE

    def _worker(self, signals: tuple[Signal, ...]) -> None:
        for sig in signals:
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return
            outcome, intent_id, _ = self.client.submit(sig.symbol, sig.side, sig.quantity)
            in_doubt = outcome == "info"
            for attempt in range(self.step.retry_unknown):
                if not in_doubt or self.stop.is_set():
                    break
                if attempt:  # back off a little, as a real client does: the engine may be restarting
                    self._pause(min(0.25 * 2**attempt, 2.0))
                outcome, _, body = self.client.submit(sig.symbol, sig.side, sig.quantity, intent_id=intent_id)
                # Still in doubt until the engine itself answers: a refused connection says nothing about
                # the first attempt (only engine answers carry the intent id).
                in_doubt = outcome == "info" or (outcome == "fail" and "intent_id" not in body)
            if self.step.interval_s:
                self._pause(self.step.interval_s)

    def _pause(self, seconds: float) -> None:
        if self.meter is not None:
            self.meter.sleep(seconds)
        else:
            self.stop.wait(seconds)

    def start(self) -> None:
        n = self.step.concurrency
        for i in range(n):
            thread = threading.Thread(
                target=self._worker, args=(self.step.signals[i::n],), name=f"workload-{i}", daemon=True
            )
            self.threads.append(thread)
            thread.start()

    def run(self) -> None:
        """In the foreground: inline for one client, else start the clients and wait for them (bounded)."""
        if self.step.concurrency == 1:
            self._worker(self.step.signals)
        else:
            self.start()
            self.join(BURST_DEADLINE + 10)

    def done(self) -> bool:
        return not any(t.is_alive() for t in self.threads)

    def join(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, end - time.monotonic()))
        return self.done()
