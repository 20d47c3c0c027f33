"""The stall watchdog names the call that blocks the engine's event loop, and stays quiet while the loop only
waits (an awaited sleep, or I/O, is not a stall)."""

from __future__ import annotations

import asyncio
import selectors
import threading
import time

from solat_engine.stall_watchdog import StallWatchdog


def _blocking_parquet_write() -> None:  # stands in for a handler that does blocking work on the loop
    time.sleep(0.6)


async def _run(blocking: bool) -> list[str]:
    watchdog = StallWatchdog(threshold_s=0.3, interval_s=0.05)
    watchdog.start()
    await asyncio.sleep(0.1)
    if blocking:
        _blocking_parquet_write()
    else:
        await asyncio.sleep(0.6)
    await asyncio.sleep(0.1)
    watchdog.stop()
    return watchdog.reports


def test_a_blocked_event_loop_is_reported_with_the_blocking_call() -> None:
    reports = asyncio.run(_run(blocking=True))
    loop_reports = [r for r in reports if "event loop has been blocked" in r]
    assert len(loop_reports) == 1, reports  # once per stall, not once per check
    assert "_blocking_parquet_write" in loop_reports[0]


def test_a_loop_that_only_awaits_is_not_a_stall() -> None:
    reports = asyncio.run(_run(blocking=False))
    assert not [r for r in reports if "event loop" in r], reports


def test_a_loop_thread_idle_in_select_is_reported_as_not_run_not_as_blocked() -> None:
    """Under CPU starvation the loop thread can sit in its selector's wait after the timeout ended: no call
    blocks it, so the report must not name one (the soak logged selectors.poll as "the blocking call")."""
    idle = threading.Thread(target=lambda: selectors.DefaultSelector().select(1.0), daemon=True)
    idle.start()
    time.sleep(0.1)
    watchdog = StallWatchdog()
    watchdog._loop_thread = idle.ident
    report = watchdog._diagnose(0.9)
    assert "has not run for 0.90s" in report and "not a blocking call" in report, report
    watchdog._loop_thread = threading.get_ident()  # this thread is in a call, not in select
    assert "blocked for 0.90s in:" in watchdog._diagnose(0.9)
    idle.join()
