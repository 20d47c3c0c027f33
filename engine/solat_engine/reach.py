"""Reach events: one JSON line on stdout for each moment a fault can meet the engine's code.

A chaos run that passes says "the engine survived this fault" only if the fault met the code it was aimed
at: a snapshot write that failed while the disk was full, a broker request that timed out under a toxic.
These events let the lab prove that (its reach goals), without reading free-form log text. They go to
stdout, not to a file on the data volume: the moments worth recording are the ones where that volume
cannot be written. Each line is `REACH {"event": ..., ...}`; the container runtime stamps its time.

Bounded: at most `LIMIT` lines per event name (and broker call) per process, then one `suppressed` line.
No secrets: fields are names, errnos and counts, never a kill-switch reason, token or order body.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from typing import TextIO

PREFIX = "REACH "
LIMIT = 200

_counts: Counter[str] = Counter()
_lock = threading.Lock()


def emit(event: str, out: TextIO | None = None, **fields: str | int | float | bool | None) -> None:
    """Record that `event` happened. Never raises: a full pipe or closed stdout must not change what the
    engine does."""
    key = f"{event}:{fields['call']}" if "call" in fields else event  # a busy probe must not starve orders
    with _lock:
        _counts[key] += 1
        n = _counts[key]
    if n > LIMIT + 1:
        return
    record = {"event": event, **fields} if n <= LIMIT else {"event": "suppressed", "of": key, "after": LIMIT}
    try:
        stream = out or sys.stdout
        stream.write(PREFIX + json.dumps(record, separators=(",", ":")) + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def errno_of(exc: BaseException) -> int | None:
    """The errno behind an error, following `raise ... from` (LedgerError and SnapshotError wrap OSError)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        code = getattr(seen, "errno", None)
        if isinstance(code, int):
            return code
        seen = seen.__cause__
    return None
