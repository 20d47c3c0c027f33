"""Shared workload: realistic ledger records and a temp directory on the real disk (not tmpfs)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

from solat_engine.execution.ledger import encode_record
from solat_engine.execution.models import EntryType, LedgerEntry, client_order_id_for, utc_now

# /var/tmp is disk-backed by convention (/tmp may be tmpfs, where fsync costs nothing and proves nothing).
BENCH_ROOT = Path(os.environ.get("BENCH_DIR", "/var/tmp"))
# tmpfs, for the CPU ceilings only (fsync there costs next to nothing; never used for a disk result).
TMPFS_ROOT = Path(os.environ.get("BENCH_TMPFS_DIR", "/dev/shm"))


def bench_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="solat-bench-", dir=BENCH_ROOT)


def fill_payload(intent_id: UUID) -> dict:
    return {
        "client_order_id": client_order_id_for(intent_id),
        "broker_order_id": "BRK-000123",
        "symbol": "EURUSD",
        "side": "BUY",
        "quantity": 1.0,
        "price": 100.0,
    }


def order_records(first_seq: int, orders: int) -> list[bytes]:
    """Encoded records of `orders` complete orders (intent, submitted, ack, fill): 4 records each."""
    lines: list[bytes] = []
    seq = first_seq
    for _ in range(orders):
        intent_id = uuid4()
        fill = fill_payload(intent_id)
        coid = fill["client_order_id"]
        for entry_type, payload in (
            (EntryType.INTENT, {k: fill[k] for k in ("symbol", "side", "quantity", "client_order_id")}),
            (EntryType.SUBMITTED, {"client_order_id": coid}),
            (EntryType.ACK, {"client_order_id": coid, "broker_order_id": fill["broker_order_id"]}),
            (EntryType.FILL, fill),
        ):
            entry = LedgerEntry(
                seq=seq, entry_type=entry_type, intent_id=intent_id, timestamp=utc_now(), payload=payload
            )
            lines.append(encode_record(entry))
            seq += 1
    return lines


def rate(count: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)
