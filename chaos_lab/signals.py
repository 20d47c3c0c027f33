"""How the lab's entry points treat Ctrl-C and CI's SIGTERM: both become KeyboardInterrupt while a run goes
on, so every `finally` heals its faults and takes its labs down; and both are held off while that take-down
runs, so a second Ctrl-C cannot cut it in half (it is bounded by its own timeouts instead)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType
from typing import NoReturn

_STOPS = (signal.SIGINT, signal.SIGTERM)


def _raise_interrupt(signum: int, _frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@contextmanager
def _handled(handler: signal._HANDLER) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    old = {s: signal.signal(s, handler) for s in _STOPS}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def interrupts_as_keyboard_interrupt() -> AbstractContextManager[None]:
    """SIGINT and SIGTERM both raise KeyboardInterrupt in the main thread."""
    return _handled(_raise_interrupt)


def signals_deferred() -> AbstractContextManager[None]:
    """SIGINT and SIGTERM are ignored until the block ends: tear-down runs to its end."""
    return _handled(signal.SIG_IGN)
