"""The bench's reference points must do real, durable work, or the ratios printed beside them mean nothing."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from uuid import uuid4

import pytest
from solat_engine.execution.ledger import scan_ledger

from bench.reference import BareAppend, MinimalGroupCommit, minimal_group_commit_rate
from bench.workload import fill_payload


def test_bare_append_writes_valid_ledger_records(tmp_path: Path) -> None:
    """Its lines are full ledger records (checksum, schema, seq): it skips bookkeeping, not record work."""
    intent_id = uuid4()
    bare = BareAppend(tmp_path / "ledger.log", intent_id, fill_payload(intent_id))
    for _ in range(5):
        bare.append()
    bare.close()
    scan = scan_ledger(tmp_path / "ledger.log")
    assert scan.tail_offset is None and scan.state.last_seq == 5
    assert scan.state.positions == {"EURUSD": 5.0}


def test_bare_append_validates_the_payload(tmp_path: Path) -> None:
    intent_id = uuid4()
    bare = BareAppend(tmp_path / "ledger.log", intent_id, {"symbol": "EURUSD"})
    with pytest.raises(ValueError):
        bare.append()
    bare.close()
    assert (tmp_path / "ledger.log").read_bytes() == b""


def test_minimal_group_commit_writes_every_record_once_and_shares_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wraps os.fsync to count calls and to hold the first one until the other 7 appenders have queued."""
    calls: list[int] = []
    real_fsync = os.fsync
    log = MinimalGroupCommit(tmp_path / "raw.log")

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            for _ in range(1000):
                batch = log.open_batch
                if batch is not None and len(batch.lines) >= 7:
                    break
                threading.Event().wait(0.01)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)

    def appender(n: int) -> None:
        for i in range(50):
            log.append(b"%d-%d\n" % (n, i))

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    log.close()
    lines = (tmp_path / "raw.log").read_bytes().splitlines()
    assert sorted(lines) == sorted(b"%d-%d" % (n, i) for n in range(8) for i in range(50))
    assert len(calls) <= len(lines) - 7  # the 7 queued behind the first write shared one fsync


def test_minimal_group_commit_rate_counts_records(tmp_path: Path) -> None:
    rate = minimal_group_commit_rate(tmp_path / "raw.log", 2, 10, b"x\n")
    assert rate > 0
    assert (tmp_path / "raw.log").read_bytes() == b"x\n" * 20
