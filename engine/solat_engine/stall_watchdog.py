"""Say why the engine stopped answering: a blocked event loop, or a process that did not run at all.

Under load the lab saw the whole engine go silent (no request answered, not even Docker's own health check)
for 1.5-6 s. From outside, a loop blocked by a slow call and a process the kernel did not schedule look the
same. This watchdog tells them apart and logs the evidence once per stall:

- a heartbeat task on the event loop stamps the time every `interval_s`;
- a daemon thread checks it every `interval_s`. If the thread itself woke late, the process (or the GIL)
  was held for that long: "process stalled". If the thread was on time but the heartbeat is stale, the
  loop is blocked: the loop thread's stack is logged, naming the call that blocks it, unless the loop was
  only waiting in its selector (then its thread was not run: a scheduling stall, not a blocking call).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback

from solat_engine import reach

log = logging.getLogger("solat_engine.stall")


class StallWatchdog:
    def __init__(self, threshold_s: float = 0.75, interval_s: float = 0.1) -> None:
        self.threshold_s = threshold_s
        self.interval_s = interval_s
        self._beat = time.monotonic()
        self._loop_thread: int | None = None
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self.reports: list[str] = []  # the last ten, for tests

    async def _heartbeat(self) -> None:
        while True:
            self._beat = time.monotonic()
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        """Call from the event loop (the app's lifespan)."""
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._heartbeat())
        self._thread = threading.Thread(target=self._watch, name="stall-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _report(self, message: str) -> None:
        log.warning("%s", message)
        self.reports = [*self.reports[-9:], message]

    def _watch(self) -> None:
        reported = False
        last = time.monotonic()
        while not self._stop.wait(self.interval_s):
            now = time.monotonic()
            late = now - last - self.interval_s
            last = now
            if late >= self.threshold_s:
                self._report(f"stall: the process did not run for {late:.2f}s (not scheduled, or GIL held)")
                reach.emit("stall", what="process", seconds=round(late, 3))
                continue  # the loop did not run either: give it a tick to beat before judging it blocked
            stale = now - self._beat
            if stale < self.threshold_s:
                reported = False
                continue
            if reported:
                continue
            reported = True
            self._report(self._diagnose(stale))
            reach.emit("stall", what="event_loop", seconds=round(stale, 3))

    def _diagnose(self, stale: float) -> str:
        """A loop caught inside its selector's wait was not blocked by a call: its wait had ended (the
        heartbeat was due) but its thread did not get the CPU or the GIL back, as under stress-ng."""
        frame = sys._current_frames().get(self._loop_thread or 0)
        if frame is not None and frame.f_code.co_filename.endswith("selectors.py"):
            return (
                f"stall: the event loop thread has not run for {stale:.2f}s: it was idle in select and did "
                "not get the CPU or the GIL back (not a blocking call)"
            )
        stack = "".join(traceback.format_stack(frame, limit=12)) if frame is not None else "(no frame)\n"
        return f"stall: the event loop has been blocked for {stale:.2f}s in:\n{stack.rstrip()}"
