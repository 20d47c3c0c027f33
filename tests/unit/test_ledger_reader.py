"""chaos_lab's own ledger reader: offsets, checksums, seq, torn tails, all from the spec."""

from __future__ import annotations

import uuid

from chaos_lab.ledger_reader import encode_record, positions_from, record_bounds, scan_ledger


def _rec(seq: int, entry_type: str = "intent", **payload: object) -> dict[str, object]:
    return {
        "seq": seq,
        "entry_type": entry_type,
        "intent_id": str(uuid.uuid4()),
        "timestamp": "2026-11-24T16:00:00+00:00",
        "payload": payload,
    }


def _ledger(n: int) -> bytes:
    return b"".join(encode_record(_rec(i)) for i in range(1, n + 1))


def test_clean_file_every_record_with_its_offset() -> None:
    data = _ledger(5)
    scan = scan_ledger(data)
    assert not scan.issues
    assert [r.seq for r in scan.records] == [1, 2, 3, 4, 5]
    assert [(r.offset, r.length) for r in scan.records] == record_bounds(data)
    assert scan.records[-1].offset + scan.records[-1].length == len(data)


def test_flipped_byte_is_a_bad_checksum_at_the_record_offset() -> None:
    data = bytearray(_ledger(5))
    offset, _ = record_bounds(bytes(data))[2]
    data[offset + 30] ^= 0x01
    scan = scan_ledger(bytes(data))
    assert [(i.kind, i.offset) for i in scan.issues] == [("bad_checksum", offset)]
    assert [r.seq for r in scan.records] == [1, 2, 4, 5]  # the good records after it are still read


def test_torn_tail_is_reported_with_offset_and_size() -> None:
    data = _ledger(3)
    offset, length = record_bounds(data)[-1]
    scan = scan_ledger(data[: offset + length // 2])
    assert scan.torn_tail is not None
    assert scan.torn_tail.offset == offset
    assert f"{length // 2} bytes" in scan.torn_tail.detail


def test_seq_gap_and_garbage_lines() -> None:
    data = encode_record(_rec(1)) + encode_record(_rec(3)) + b"not a record\n" + b"0000000z {}\n"
    kinds = [i.kind for i in scan_ledger(data).issues]
    assert kinds == ["seq_gap", "bad_format", "bad_format"]


def test_valid_crc_over_invalid_json_and_missing_fields() -> None:
    import zlib

    body = b"{not json"
    bad_json = f"{zlib.crc32(body):08x} ".encode() + body + b"\n"
    body2 = b'{"seq": 1}'
    missing = f"{zlib.crc32(body2):08x} ".encode() + body2 + b"\n"
    assert [i.kind for i in scan_ledger(bad_json + missing).issues] == ["bad_json", "bad_record"]


def test_positions_sum_fills_and_reconciled_only() -> None:
    recs = [
        _rec(1, "fill", symbol="EURUSD", side="BUY", quantity=3),
        _rec(2, "reconciled", symbol="EURUSD", side="SELL", quantity=1, source="reconcile"),
        _rec(3, "intent", symbol="EURUSD", side="BUY", quantity=100),
    ]
    scan = scan_ledger(b"".join(encode_record(r) for r in recs))
    assert positions_from(scan.records) == {"EURUSD": 2.0}


def test_empty_file() -> None:
    scan = scan_ledger(b"")
    assert scan.records == [] and scan.issues == [] and scan.size == 0
