"""Unit tests of position snapshots: tracking, bounded buffer, atomic writes, the ledger always wins."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from uuid import uuid4

import pytest
from solat_engine.execution.ledger import ExecutionLedger
from solat_engine.execution.models import EntryType, LedgerEntry, client_order_id_for, utc_now
from solat_engine.execution.snapshots import PositionSnapshotter, SnapshotError


def fill(seq: int, side: str, qty: float, symbol: str = "AAPL", entry_type: str = "fill") -> LedgerEntry:
    intent_id = uuid4()
    payload = {
        "symbol": symbol,
        "side": side,
        "quantity": qty,
        "client_order_id": client_order_id_for(intent_id),
        "broker_order_id": "B",
        "price": 1.0,
    }
    return LedgerEntry(
        seq=seq, entry_type=entry_type, intent_id=intent_id, timestamp=utc_now(), payload=payload
    )


def test_record_flush_load(tmp_path: Path) -> None:
    snap = PositionSnapshotter(tmp_path / "snapshots" / "positions.json")
    snap.record(fill(1, "BUY", 5))
    snap.record(fill(2, "SELL", 2))
    snap.record(fill(3, "SELL", 1, "MSFT", "reconciled"))
    assert snap.positions == {"AAPL": 3.0, "MSFT": -1.0} and snap.last_seq == 3
    assert snap.flush() is True
    loaded = snap.load()
    assert loaded is not None and loaded.positions == {"AAPL": 3.0, "MSFT": -1.0} and loaded.last_seq == 3
    assert [p.name for p in (tmp_path / "snapshots").iterdir()] == ["positions.json"]


def test_buffer_is_cleared_by_every_flush_and_nothing_written_when_unchanged(tmp_path: Path) -> None:
    snap = PositionSnapshotter(tmp_path / "positions.json")
    assert snap.flush() is False and not (tmp_path / "positions.json").exists()
    for seq in range(1, 101):
        snap.record(fill(seq, "BUY", 1))
    assert snap.pending_updates == 100
    assert snap.flush() is True and snap.pending_updates == 0
    assert snap.flush() is False
    assert snap.flush(force=True) is True


def test_failed_write_raises_keeps_positions_and_retries(tmp_path: Path) -> None:
    """A failed flush keeps its updates pending: the next tick writes them once the disk takes writes again
    (clearing them left a stale snapshot and the old error until the next ledger record)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the snapshot directory should be")
    snap = PositionSnapshotter(blocker / "positions.json")
    snap.record(fill(1, "BUY", 4))
    with pytest.raises(SnapshotError) as info:
        snap.flush()
    assert str(blocker / "positions.json") in str(info.value)
    assert snap.positions == {"AAPL": 4.0} and snap.last_seq == 1
    assert snap.pending_updates == 1 and snap.last_error is not None
    blocker.unlink()
    assert snap.flush() is True
    assert snap.pending_updates == 0 and snap.last_error is None
    assert PositionSnapshotter(blocker / "positions.json").load().positions == {"AAPL": 4.0}


def ledger_with_fills(tmp_path: Path) -> ExecutionLedger:
    ledger = ExecutionLedger(tmp_path / "ledger")
    for side, qty in (("BUY", 3.0), ("SELL", 1.0)):
        intent_id = uuid4()
        coid = client_order_id_for(intent_id)
        ledger.append(
            EntryType.FILL,
            intent_id,
            {
                "symbol": "AAPL",
                "side": side,
                "quantity": qty,
                "client_order_id": coid,
                "broker_order_id": "B",
                "price": 1.0,
            },
        )
    return ledger


def test_recover_uses_snapshot_only_when_as_new_as_ledger(tmp_path: Path) -> None:
    with ledger_with_fills(tmp_path) as ledger:
        state = ledger.replay()
    path = tmp_path / "positions.json"
    path.write_text(
        json.dumps({"positions": {"AAPL": 2.0}, "last_seq": 2, "written_at": "2026-01-01T00:00:00Z"})
    )
    snap = PositionSnapshotter(path)
    result = snap.recover(state)
    assert result.source == "snapshot" and result.positions == {"AAPL": 2.0} and result.note is None

    path.write_text(
        json.dumps({"positions": {"AAPL": 3.0}, "last_seq": 1, "written_at": "2026-01-01T00:00:00Z"})
    )
    result = PositionSnapshotter(path).recover(state)
    assert result.source == "ledger" and result.positions == {"AAPL": 2.0} and result.last_seq == 2
    assert "ledger wins" in (result.note or "")
    assert path.exists()  # behind: still a true summary of the ledger up to its seq


def test_a_snapshot_ahead_of_the_ledger_is_removed(tmp_path: Path) -> None:
    """A torn tail repaired after the snapshot was written: the snapshot claims a seq the ledger no longer
    has, and new records will reuse it. Kept, a later recovery at that seq would take it for current."""
    with ledger_with_fills(tmp_path) as ledger:
        state = ledger.replay()
    path = tmp_path / "positions.json"
    path.write_text(
        json.dumps({"positions": {"AAPL": 5.0}, "last_seq": 3, "written_at": "2026-01-01T00:00:00Z"})
    )
    result = PositionSnapshotter(path).recover(state)
    assert result.source == "ledger" and result.positions == {"AAPL": 2.0} and result.last_seq == 2
    assert (result.note or "").endswith("the ledger wins; removed") and not path.exists()

    # at the ledger's seq but with other positions: the cut record's seq reused by the recovery record
    path.write_text(
        json.dumps({"positions": {"AAPL": 5.0}, "last_seq": 2, "written_at": "2026-01-01T00:00:00Z"})
    )
    result = PositionSnapshotter(path).recover(state)
    assert result.source == "ledger" and result.positions == {"AAPL": 2.0} and not path.exists()
    assert "disagrees with the ledger" in (result.note or "")


@pytest.mark.parametrize("content", ['{"positions": {"AAPL": 1', '{"positions": "x", "last_seq": 1}', ""])
def test_corrupt_snapshot_is_reported_and_ignored(tmp_path: Path, content: str) -> None:
    with ledger_with_fills(tmp_path) as ledger:
        state = ledger.replay()
    path = tmp_path / "positions.json"
    path.write_text(content)
    snap = PositionSnapshotter(path)
    with pytest.raises(SnapshotError, match="corrupt"):
        snap.load()
    result = snap.recover(state)
    assert result.source == "ledger" and result.positions == {"AAPL": 2.0}
    assert str(path) in (result.note or "")
    assert snap.positions == {"AAPL": 2.0} and snap.last_seq == 2


def test_missing_snapshot_recovers_from_ledger(tmp_path: Path) -> None:
    with ledger_with_fills(tmp_path) as ledger:
        result = PositionSnapshotter(tmp_path / "none.json").recover(ledger.replay())
    assert result.source == "ledger" and result.note is None and result.positions == {"AAPL": 2.0}


def test_periodic_flush_thread(tmp_path: Path) -> None:
    path = tmp_path / "positions.json"
    snap = PositionSnapshotter(path)
    snap.record(fill(1, "BUY", 1))
    snap.start(interval=0.02)
    done = threading.Event()
    for _ in range(500):  # bounded wait, not a timing assertion
        if path.exists():
            done.set()
            break
        threading.Event().wait(0.01)
    snap.record(fill(2, "BUY", 1))
    snap.stop()
    assert done.is_set()
    loaded = snap.load()
    assert loaded is not None and loaded.last_seq == 2 and loaded.positions == {"AAPL": 2.0}
