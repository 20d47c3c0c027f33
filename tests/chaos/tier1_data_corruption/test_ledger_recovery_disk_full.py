"""Tier 1: a torn tail repaired while the disk is full must still leave its `recovery` record.

Real faults only: the torn record is real bytes on a real 4 MiB tmpfs (`small_disk`), filled until the kernel
answers ENOSPC. The file is padded so that the bytes left in its last page cannot hold the recovery record:
tmpfs allocates whole pages, so writing it genuinely needs a page the full disk does not have.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from solat_engine.execution.ledger import ExecutionLedger, LedgerError, encode_record, scan_ledger
from solat_engine.execution.models import NIL_UUID, EntryType, LedgerEntry, utc_now

pytestmark = [pytest.mark.chaos, pytest.mark.tier1]

PAGE = 4096
SLACK = 100  # bytes left in the last page after the good records: far less than a recovery record
TORN = b'1234abcd {"seq":5,"entry_type":"kill_sw'  # a record cut mid-write (no newline)


def build_page_aligned_ledger(base: Path) -> int:
    """Four good records ending SLACK bytes before a page boundary; returns the file size."""
    with ExecutionLedger(base) as ledger:
        for i in range(3):
            ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": i})
        size = (base / "ledger.log").stat().st_size
        now = utc_now()
        kind = EntryType.KILL_SWITCH
        probe = LedgerEntry(seq=4, entry_type=kind, intent_id=NIL_UUID, timestamp=now, payload={"pad": ""})
        pad = (size // PAGE + 2) * PAGE - SLACK - size - len(encode_record(probe))
        ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"pad": "x" * pad})
    size = (base / "ledger.log").stat().st_size
    assert 0 < PAGE - size % PAGE < 200, size  # the premise of the test: the last page is nearly full
    return size


def lines(data: Path | bytes) -> list[dict]:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return [json.loads(line[9:]) for line in raw.splitlines()]


@pytest.mark.parametrize("resume", ["append", "probe"])
def test_torn_tail_on_full_disk__recovery_record_written_first_when_space_returns(
    small_disk, resume: str
) -> None:
    base = small_disk.root / "ledger"
    path = base / "ledger.log"
    good = build_page_aligned_ledger(base)
    with open(path, "ab") as fh:  # a crash mid-write left half a record behind
        fh.write(TORN)
    small_disk.fill()
    assert small_disk.available() == 0

    ledger = ExecutionLedger(base)  # opens: the record of the repair cannot be written, so nothing is cut
    assert path.read_bytes().endswith(TORN) and path.stat().st_size == good + len(TORN)
    assert ledger.recovery_pending and not ledger.healthy
    assert "No space left" in (ledger.last_error or "")
    assert [r["seq"] for r in lines(path.read_bytes()[:good])] == [1, 2, 3, 4]
    with pytest.raises(LedgerError) as info:  # still full: nothing else may be written ahead of the evidence
        ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": "while full"})
    assert info.value.errno == errno.ENOSPC
    assert ledger.probe() is False and ledger.recovery_pending

    small_disk.free()
    if resume == "probe":
        assert ledger.probe() is True and not ledger.recovery_pending
        assert lines(path)[-1]["entry_type"] == "recovery"
    after = ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": "after"})
    assert ledger.healthy and not ledger.recovery_pending
    ledger.close()

    records = lines(path)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6]
    recovery = records[4]
    assert recovery["entry_type"] == "recovery" and recovery["intent_id"] == str(NIL_UUID)
    assert recovery["payload"]["dropped_offset"] == good
    assert recovery["payload"]["dropped_bytes"] == len(TORN)
    assert "torn tail" in recovery["payload"]["reason"]
    assert after.seq == 6 and records[5]["payload"] == {"n": "after"}
    scan = scan_ledger(path)
    assert scan.tail_offset is None and scan.state.last_seq == 6
    with ExecutionLedger(base) as reopened:  # clean now: no second recovery record
        assert reopened.last_seq == 6 and not reopened.recovery_pending


def test_crash_while_the_disk_is_full_keeps_the_evidence_of_the_torn_tail(small_disk) -> None:
    """Cut first and recorded later, a crash in between would lose every trace of the repair: the next start
    finds a clean file. The tail stays until its record replaces it, so the restart repairs and records it."""
    base = small_disk.root / "ledger"
    path = base / "ledger.log"
    good = build_page_aligned_ledger(base)
    with open(path, "ab") as fh:
        fh.write(TORN)
    small_disk.fill()
    crashed = ExecutionLedger(base)
    assert crashed.recovery_pending
    crashed.close()  # the process dies here: only the file is left
    small_disk.free()

    with ExecutionLedger(base) as restarted:
        assert restarted.healthy and not restarted.recovery_pending
    records = lines(path)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[4]["entry_type"] == "recovery"
    assert records[4]["payload"]["dropped_offset"] == good
    assert records[4]["payload"]["dropped_bytes"] == len(TORN)
