"""Tier 1: the execution ledger under real file damage and a really full disk.

Faults are real: the ledger file is torn or bit-flipped on disk, and the disk-full case runs on a 4 MiB tmpfs
filled until the kernel answers ENOSPC.
"""

from __future__ import annotations

import errno
import json
import zlib
from pathlib import Path

import pytest
from solat_engine.execution.ledger import ExecutionLedger, LedgerCorruption, LedgerError, scan_ledger
from solat_engine.execution.models import NIL_UUID, EntryType

pytestmark = [pytest.mark.chaos, pytest.mark.tier1]


def build(base: Path, n: int = 6) -> Path:
    with ExecutionLedger(base) as ledger:
        for i in range(n):
            ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": i})
    return base / "ledger.log"


def line_starts(raw: bytes) -> list[int]:
    return [0] + [i + 1 for i, b in enumerate(raw) if b == 0x0A]


@pytest.mark.parametrize("tear", ["mid_record", "missing_newline"])
def test_ledger_partial_write__entry_invalid_or_missing(tmp_path: Path, tear: str) -> None:
    path = build(tmp_path)
    raw = path.read_bytes()
    last = line_starts(raw)[-2]
    cut = last + (len(raw) - last) // 2 if tear == "mid_record" else len(raw) - 1
    with open(path, "r+b") as fh:  # a real torn file on disk
        fh.truncate(cut)

    with ExecutionLedger(tmp_path) as ledger:
        recovery = list(ledger.entries())[-1]
        assert recovery.entry_type is EntryType.RECOVERY and recovery.intent_id == NIL_UUID
        assert recovery.seq == 6  # seq 6 was torn away and is reused
        assert recovery.payload["dropped_offset"] == last
        assert recovery.payload["dropped_bytes"] == cut - last
        assert "torn tail" in recovery.payload["reason"]
        nxt = ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": "after"})
        assert nxt.seq == 7
    assert path.read_bytes()[:last] == raw[:last]
    scan = scan_ledger(path)
    assert scan.tail_offset is None and scan.state.last_seq == 7
    assert [json.loads(line[9:])["seq"] for line in path.read_bytes().splitlines()] == list(range(1, 8))


def test_ledger_corrupt_middle_record__refuses_with_offset(tmp_path: Path) -> None:
    path = build(tmp_path)
    raw = bytearray(path.read_bytes())
    third = line_starts(bytes(raw))[2]
    for k in (15, 16, 40):  # flip bytes inside record seq 3
        raw[third + k] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(LedgerCorruption) as info:
        ExecutionLedger(tmp_path)
    err = info.value
    assert (err.path, err.offset, err.seq) == (path, third, 3)
    assert str(path) in str(err) and str(third) in str(err)
    assert path.read_bytes() == bytes(raw)  # byte for byte untouched


def test_ledger_record_failing_validation__refuses(tmp_path: Path) -> None:
    path = build(tmp_path)
    raw = path.read_bytes()
    starts = line_starts(raw)
    record = json.loads(raw[starts[1] + 9 : starts[2] - 1])
    record["intent_id"] = "not-a-uuid"
    body = json.dumps(record, separators=(",", ":")).encode()
    forged = raw[: starts[1]] + b"%08x %s\n" % (zlib.crc32(body), body) + raw[starts[2] :]
    path.write_bytes(forged)
    with pytest.raises(LedgerCorruption) as info:
        ExecutionLedger(tmp_path)
    err = info.value
    assert (err.path, err.offset, err.seq) == (path, starts[1], 2)
    assert "intent_id" in err.reason
    assert path.read_bytes() == forged


def test_ledger_disk_full__append_raises_and_recovers(small_disk) -> None:
    base = small_disk.root / "ledger"
    ledger = ExecutionLedger(base)
    acknowledged = [ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": i}).seq for i in range(3)]
    small_disk.fill()
    failure: LedgerError | None = None
    for i in range(200):  # the file's last page may still hold a few records: write until the disk says no
        try:
            acknowledged.append(
                ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 3 + i, "pad": "x" * 200}).seq
            )
        except LedgerError as exc:
            failure = exc
            break
    assert failure is not None, "the full disk never refused a write"
    assert failure.errno == errno.ENOSPC
    assert not ledger.healthy and ledger.last_error
    with pytest.raises(LedgerError):  # still full: still refused, nothing acknowledged
        ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": "still full", "pad": "x" * 4096})

    small_disk.free()
    after = ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": "after"})
    assert ledger.healthy
    assert after.seq == acknowledged[-1] + 1
    ledger.close()
    scan = scan_ledger(base / "ledger.log")
    assert scan.tail_offset is None and scan.state.last_seq == after.seq
    seqs = [json.loads(line[9:])["seq"] for line in (base / "ledger.log").read_bytes().splitlines()]
    assert seqs == list(range(1, after.seq + 1))
    with ExecutionLedger(base) as reopened:  # verifies clean: no torn tail, no recovery record
        assert reopened.last_seq == after.seq
