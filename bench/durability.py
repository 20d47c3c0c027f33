"""Per-record durability: ledger append vs a raw write+fsync loop vs SQLite (WAL, synchronous=FULL)."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from uuid import uuid4

from solat_engine.execution.ledger import ExecutionLedger
from solat_engine.execution.models import EntryType

from bench.reference import BareAppend, minimal_group_commit_rate
from bench.workload import TMPFS_ROOT, fill_payload, rate


def ledger_append_rate(directory: Path, n: int) -> float:
    """Records/s of single-threaded appends (each durable on return)."""
    ledger = ExecutionLedger(directory)
    intent_id = uuid4()
    payload = fill_payload(intent_id)
    ledger.append(EntryType.FILL, intent_id, payload)  # warm-up, creates the file

    def run() -> None:
        for _ in range(n):
            ledger.append(EntryType.FILL, intent_id, payload)

    try:
        return rate(n, run)
    finally:
        ledger.close()


def per_record_rates(directory: Path, blocks: int = 20, per_block: int = 20) -> dict[str, float]:
    """Records/s of ledger appends, a raw write+fsync loop, SQLite (WAL, synchronous=FULL) commits of the
    same record size and the bare append (reference.py), each durable on return.

    The three run in turns of `per_block` records, `blocks` times over: the disk and the two cores are shared,
    and a slow patch of either then hits all three alike instead of whichever happened to run during it.
    """
    ledger = ExecutionLedger(directory / "ledger")
    intent_id = uuid4()
    payload = fill_payload(intent_id)
    for _ in range(100):  # warm-up; from seq 100 on every record has the size of the last one
        ledger.append(EntryType.FILL, intent_id, payload)
    record_size = len((directory / "ledger" / "ledger.log").read_bytes().splitlines(keepends=True)[-1])
    raw_record = b"x" * (record_size - 1) + b"\n"
    fd = os.open(directory / "raw.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    conn = sqlite3.connect(directory / "bench.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY, record BLOB NOT NULL)")
    sqlite_record = b"x" * record_size
    bare = BareAppend(directory / "bare.log", intent_id, payload)

    def ledger_block() -> None:
        for _ in range(per_block):
            ledger.append(EntryType.FILL, intent_id, payload)

    def raw_block() -> None:
        for _ in range(per_block):
            os.write(fd, raw_record)
            os.fsync(fd)

    def sqlite_block() -> None:
        for _ in range(per_block):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO ledger (record) VALUES (?)", (sqlite_record,))
            conn.execute("COMMIT")

    def bare_block() -> None:
        for _ in range(per_block):
            bare.append()

    runs = {
        "ledger_append": ledger_block,
        "raw_fsync": raw_block,
        "sqlite_wal_full": sqlite_block,
        "bare_append": bare_block,
    }
    elapsed = dict.fromkeys(runs, 0.0)
    try:
        for _ in range(blocks):
            for name, block in runs.items():
                start = time.perf_counter()
                block()
                elapsed[name] += time.perf_counter() - start
    finally:
        ledger.close()
        os.close(fd)
        conn.close()
        bare.close()
    return {"record_size": float(record_size)} | {name: blocks * per_block / t for name, t in elapsed.items()}


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


def cpu_ceiling(n: int = 2000, per_thread: int = 500) -> dict[str, float]:
    """The same ledger code on tmpfs, where fsync costs next to nothing: the rates the CPU allows.

    No ledger configuration can beat these on a disk: they bound what the disk ratios can reach on this
    machine (e.g. 8 appenders cannot commit faster than the CPU can prepare and hand off their records).
    """
    with tempfile.TemporaryDirectory(prefix="solat-bench-cpu-", dir=TMPFS_ROOT) as tmp:
        root = Path(tmp)
        single = max(ledger_append_rate(root / f"single-{r}", n) for r in range(2))
        grouped = max(group_commit_rate(root / f"gc8-{r}", 8, per_thread) for r in range(2))
    return {"cpu_single": single, "cpu_group_8": grouped}


def measure(root: Path, rounds: int = 3) -> dict[str, float]:
    result = per_record_rates(root)
    record = b"x" * (int(result["record_size"]) - 1) + b"\n"
    rates: dict[str, list[float]] = {"group_single": [], "group_8": [], "minimal_single": [], "minimal_8": []}
    for r in range(rounds):  # interleaved, so a slow patch of the disk (or a busy CPU) hits all alike
        rates["group_single"].append(group_commit_rate(root / f"gc-1-{r}", 1, 200))
        rates["group_8"].append(group_commit_rate(root / f"gc-8-{r}", 8, 150))
        rates["minimal_single"].append(minimal_group_commit_rate(root / f"mgc-1-{r}.log", 1, 200, record))
        rates["minimal_8"].append(minimal_group_commit_rate(root / f"mgc-8-{r}.log", 8, 150, record))
    return result | {name: max(values) for name, values in rates.items()} | cpu_ceiling()
