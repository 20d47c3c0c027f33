"""Reference points measured beside the ledger: how close any Python ledger can get on this machine.

The targets compare the ledger with a raw write+fsync loop. Two things stand between them that no ledger
design removes, so the bench measures them in the same run instead of guessing:

- the per-record work the record format requires (validate the payload, serialise it, timestamp, checksum):
  `bare_append` does only that, with the ledger's own encoders, plus the write and the fsync. No state, no
  locks, no returned entry: an append cannot be cheaper than this.
- the cost of waking Python threads: `MinimalGroupCommit` is the textbook leader/follower group commit of raw
  lines (no record work at all). Its 8-thread/1-thread ratio is what thread wake-ups and the GIL leave for
  group commit on this machine.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from solat_engine.execution.ledger import _PAYLOAD_VALIDATORS, _line, _payload_json
from solat_engine.execution.models import EntryType, utc_now


class BareAppend:
    """One record made durable with nothing but the work its format requires."""

    def __init__(self, path: Path, intent_id: UUID, payload: dict[str, Any]) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.intent_id = intent_id
        self.payload = payload
        self.seq = 0
        self.validate = _PAYLOAD_VALIDATORS[EntryType.FILL.value].validate_python

    def append(self) -> None:
        self.validate(self.payload)
        self.seq += 1
        payload_json = _payload_json(self.payload)
        line = _line(self.seq, EntryType.FILL.value, str(self.intent_id), utc_now(), payload_json)
        os.write(self.fd, line)
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


class _Batch:
    __slots__ = ("done", "lines")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.done = threading.Lock()
        self.done.acquire()


class MinimalGroupCommit:
    """Leader/follower group commit of raw lines: the first appender of a batch writes and fsyncs it."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.open_batch: _Batch | None = None

    def append(self, line: bytes) -> None:
        with self.lock:
            batch = self.open_batch
            lead = batch is None
            if batch is None:
                batch = self.open_batch = _Batch()
            batch.lines.append(line)
        if not lead:
            batch.done.acquire()  # released by the leader once the batch is durable; passed on to the next
            batch.done.release()
            return
        with self.write_lock:
            with self.lock:
                self.open_batch = None  # later appenders start the next batch
            os.write(self.fd, b"".join(batch.lines))
            os.fsync(self.fd)
        batch.done.release()

    def close(self) -> None:
        os.close(self.fd)


def minimal_group_commit_rate(path: Path, threads: int, per_thread: int, record: bytes) -> float:
    """Records/s of `threads` concurrent appenders of `MinimalGroupCommit`, each append durable on return."""
    log = MinimalGroupCommit(path)
    start = threading.Barrier(threads + 1)

    def worker() -> None:
        start.wait()
        for _ in range(per_thread):
            log.append(record)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in workers:
        t.join(timeout=60)
    elapsed = time.perf_counter() - began
    log.close()
    return threads * per_thread / elapsed
