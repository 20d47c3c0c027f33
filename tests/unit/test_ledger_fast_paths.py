"""The ledger's fast paths must give exactly what the plain pydantic paths give.

Append builds its line without a model round trip, start-up checks checksums in bulk and builds returned
entries without re-validation: each is pinned here to the straightforward way of doing the same thing.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from solat_engine.execution.ledger import ExecutionLedger, LedgerCorruption, encode_record, scan_bytes
from solat_engine.execution.models import NIL_UUID, EntryType, LedgerEntry, client_order_id_for, utc_now


def test_appended_line_is_encode_record_of_the_returned_entry(tmp_path: Path) -> None:
    intent_id = uuid4()
    payloads = [
        (EntryType.INTENT, {"symbol": "ÄPL", "side": "BUY", "quantity": 2.5, "client_order_id": "c"}),
        (EntryType.REJECT, {"reason": 'quote " and \\ backslash\n', "stage": "broker", "extra": [1, None]}),
        (EntryType.KILL_SWITCH, {"n": 10**20, "f": 1e-7, "nested": {"k": [True, False]}}),
    ]
    with ExecutionLedger(tmp_path) as ledger:
        entries = [ledger.append(kind, intent_id, payload) for kind, payload in payloads]
    raw = (tmp_path / "ledger.log").read_bytes()
    assert raw == b"".join(encode_record(e) for e in entries)
    for line, entry in zip(raw.splitlines(), entries, strict=True):
        assert LedgerEntry.model_validate_json(line[9:]) == entry


def test_trusted_entry_is_what_model_construct_and_validation_give() -> None:
    fields = {
        "seq": 7,
        "entry_type": EntryType.SUBMITTED,
        "intent_id": uuid4(),
        "timestamp": utc_now(),
        "payload": {"client_order_id": "c"},
    }
    trusted = LedgerEntry.trusted(**fields)
    constructed = LedgerEntry.model_construct(**fields)
    validated = LedgerEntry(**fields)
    for other in (constructed, validated):
        assert trusted == other
        assert trusted.model_fields_set == other.model_fields_set
        assert trusted.model_dump_json() == other.model_dump_json()
    with pytest.raises(Exception):  # noqa: B017 - frozen like any LedgerEntry (pydantic raises ValidationError)
        trusted.seq = 8  # type: ignore[misc]


def _line(seq: int) -> bytes:
    """A fixed timestamp: with utc_now() the CRC changed per run and was all digits in about 2% of runs,
    when `.upper()` changes nothing and the uppercase-CRC case had nothing to reject."""
    entry = LedgerEntry(seq=seq, entry_type=EntryType.KILL_SWITCH, intent_id=NIL_UUID,
                        timestamp=datetime(2026, 1, 5, tzinfo=UTC), payload={"n": seq})
    return encode_record(entry)


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda line: line[:8].upper() + line[8:], "checksum mismatch"),  # CRC must be lowercase hex
        (lambda line: line[:3] + b" " + line[4:], "checksum mismatch"),  # whitespace inside the CRC
        (lambda line: line[:3] + b"\t" + line[4:], "checksum mismatch"),
        (lambda line: line[:8] + b"\t" + line[9:], "malformed"),  # separator must be a space
        (lambda line: b"%08x " % zlib.crc32(b""), "malformed"),  # right CRC of an empty body
        (lambda line: b"ab", "malformed"),
    ],
)
def test_bulk_checksum_check_rejects_what_the_line_check_rejects(mangle, reason: str) -> None:
    lines = [_line(seq) for seq in range(1, 5)]
    assert mangle(lines[1][:-1]) != lines[1][:-1]  # the case really damages the record
    lines[1] = mangle(lines[1][:-1]) + b"\n"
    with pytest.raises(LedgerCorruption) as info:
        scan_bytes(Path("ledger.log"), b"".join(lines))
    assert info.value.seq == 2 and info.value.offset == len(lines[0])
    assert reason in info.value.reason


def test_bulk_replay_matches_record_by_record_replay(tmp_path: Path) -> None:
    """The state folded at open equals the state kept up to date by the appends that wrote the file."""
    with ExecutionLedger(tmp_path) as ledger:
        for n in range(30):
            intent_id = uuid4()
            coid = client_order_id_for(intent_id)
            side = "BUY" if n % 3 else "SELL"
            intent = {"symbol": f"S{n % 4}", "side": side, "quantity": 1.0 + n, "client_order_id": coid}
            ledger.append(EntryType.INTENT, intent_id, intent)
            if n % 5 == 0:
                ledger.append(EntryType.REJECT, intent_id, {"reason": "no", "stage": "broker"})
                continue
            ledger.append(EntryType.SUBMITTED, intent_id, {"client_order_id": coid})
            if n % 7 == 0:
                ledger.append(EntryType.UNKNOWN, intent_id, {"client_order_id": coid, "reason": "timeout"})
                continue
            ledger.append(EntryType.FILL, intent_id, {**intent, "broker_order_id": f"B{n}", "price": 100.0})
        ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"active": True})
        live = ledger.replay()
    reopened = ExecutionLedger(tmp_path)
    replayed = reopened.replay()
    reopened.close()
    assert replayed == live
    assert replayed.intents == live.intents and replayed.open_intents() == live.open_intents()
    assert len(live.open_intents()) == 4  # n = 7, 14, 21, 28 (n=0 and n=35 are rejected / absent)


def test_entries_reads_back_records_across_chunk_boundaries(tmp_path: Path) -> None:
    """entries() reads 1 MiB chunks: a record longer than a chunk and records split by one come back whole."""
    with ExecutionLedger(tmp_path) as ledger:
        written = [ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 0})]
        written.append(ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"pad": "x" * (1 << 20) + "y" * 100}))
        for n in range(400):
            written.append(ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": n, "pad": "z" * 5000}))
        assert list(ledger.entries()) == written
        assert list(ledger.entries(after_seq=2)) == written[2:]
        assert list(ledger.entries(after_seq=len(written) - 1)) == written[-1:]
