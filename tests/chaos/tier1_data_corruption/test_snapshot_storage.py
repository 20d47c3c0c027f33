"""Tier 1: position snapshots on a really full disk (4 MiB tmpfs filled to ENOSPC)."""

from __future__ import annotations

import errno
from pathlib import Path
from uuid import uuid4

import pytest
from solat_engine.execution.ledger import ExecutionLedger
from solat_engine.execution.models import EntryType, client_order_id_for
from solat_engine.execution.snapshots import PositionSnapshotter, SnapshotError

pytestmark = [pytest.mark.chaos, pytest.mark.tier1]


def fill(ledger: ExecutionLedger, side: str, qty: float):
    intent_id = uuid4()
    return ledger.append(
        EntryType.FILL,
        intent_id,
        {
            "symbol": "AAPL",
            "side": side,
            "quantity": qty,
            "client_order_id": client_order_id_for(intent_id),
            "broker_order_id": "B",
            "price": 1.0,
        },
    )


def test_snapshot_write_fails__positions_still_tracked(tmp_path: Path, small_disk) -> None:
    ledger = ExecutionLedger(tmp_path / "ledger")  # the ledger's disk is fine; the snapshot's is full
    snap_path = small_disk.root / "snapshots" / "positions.json"
    snap = PositionSnapshotter(snap_path)
    snap.record(fill(ledger, "BUY", 10))
    assert snap.flush()
    old = snap_path.read_bytes()

    small_disk.fill()
    snap.record(fill(ledger, "SELL", 4))
    snap.record(fill(ledger, "BUY", 1))
    with pytest.raises(SnapshotError) as info:
        snap.flush()
    assert info.value.errno == errno.ENOSPC and str(snap_path) in str(info.value)
    assert snap.positions == {"AAPL": 7.0} and snap.last_seq == 3
    # Kept for the next flush (a count: nothing grows in memory while the disk stays full).
    assert snap.pending_updates == 2
    assert snap_path.read_bytes() == old
    assert [p.name for p in snap_path.parent.iterdir()] == ["positions.json"]  # no temp file left

    # A restart now: the stale snapshot loses to the ledger.
    recovered = PositionSnapshotter(snap_path).recover(ledger.replay())
    assert recovered.source == "ledger" and recovered.positions == {"AAPL": 7.0} and recovered.last_seq == 3

    small_disk.free()
    assert snap.flush()  # the next tick writes what the failed one could not
    loaded = snap.load()
    assert loaded is not None and loaded.positions == {"AAPL": 7.0} and loaded.last_seq == 3
    ledger.close()
