"""Per-record durability: ledger append vs a raw write+fsync loop vs SQLite (WAL, synchronous=FULL)."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from uuid import uuid4

from solat_engine.execution.ledger import ExecutionLedger
from solat_engine.execution.models import EntryType

from bench.workload import best_of, fill_payload, rate


def ledger_append_rate(directory: Path, n: int) -> tuple[float, int]:
    """Records/s of single-threaded appends (each durable on return); also the record size in bytes."""
    ledger = ExecutionLedger(directory)
    intent_id = uuid4()
    payload = fill_payload(intent_id)
    ledger.append(EntryType.FILL, intent_id, payload)  # warm-up, creates the file
    size_before = (directory / "ledger.log").stat().st_size

    def run() -> None:
        for _ in range(n):
            ledger.append(EntryType.FILL, intent_id, payload)

    result = rate(n, run)
    record_size = ((directory / "ledger.log").stat().st_size - size_before) // n
    ledger.close()
    return result, record_size


def raw_fsync_rate(directory: Path, n: int, record_size: int) -> float:
    record = b"x" * (record_size - 1) + b"\n"
    fd = os.open(directory / "raw.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def run() -> None:
        for _ in range(n):
            os.write(fd, record)
            os.fsync(fd)

    try:
        return rate(n, run)
    finally:
        os.close(fd)


def sqlite_rate(directory: Path, n: int, record_size: int) -> float:
    conn = sqlite3.connect(directory / "bench.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY, record BLOB NOT NULL)")
    record = b"x" * record_size

    def run() -> None:
        for _ in range(n):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO ledger (record) VALUES (?)", (record,))
            conn.execute("COMMIT")

    try:
        return rate(n, run)
    finally:
        conn.close()


def group_commit_rate(directory: Path, threads: int, per_thread: int) -> float:
    """Records/s with `threads` concurrent appenders, each append durable on return."""
    ledger = ExecutionLedger(directory)
    intent_id = uuid4()
    payload = fill_payload(intent_id)
    ledger.append(EntryType.FILL, intent_id, payload)
    start = threading.Barrier(threads + 1)

    def worker() -> None:
        start.wait()
        for _ in range(per_thread):
            ledger.append(EntryType.FILL, intent_id, payload)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()

    def run() -> None:
        start.wait()
        for t in workers:
            t.join(timeout=60)

    try:
        return rate(threads * per_thread, run)
    finally:
        ledger.close()


def measure(root: Path, n: int = 400, rounds: int = 3) -> dict[str, float]:
    results: dict[str, list[float]] = {"ledger": [], "raw": [], "sqlite": []}
    record_size = 0
    for r in range(rounds):  # interleaved, so a slow patch of the disk hits all three alike
        base = root / f"durability-{r}"
        base.mkdir()
        ledger, record_size = ledger_append_rate(base / "ledger", n)
        results["ledger"].append(ledger)
        results["raw"].append(raw_fsync_rate(base, n, record_size))
        results["sqlite"].append(sqlite_rate(base, n, record_size))
    single = best_of(1, lambda: group_commit_rate(root / "gc-single", 1, 200))
    grouped = best_of(1, lambda: group_commit_rate(root / "gc-8", 8, 150))
    return {
        "record_size": float(record_size),
        "ledger_append": max(results["ledger"]),
        "raw_fsync": max(results["raw"]),
        "sqlite_wal_full": max(results["sqlite"]),
        "group_single": single,
        "group_8": grouped,
    }
