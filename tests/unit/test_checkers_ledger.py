"""ledger_integrity reads the file itself: bad checksums, seq gaps, unrepaired tears and API disagreement
fail; a tear repaired with a matching recovery record passes; a deliberate corruption must stay untouched."""

from __future__ import annotations

from chaos_lab.checkers import ledger_integrity
from chaos_lab.ledger_reader import encode_record, record_bounds
from chaos_lab.synthetic import NIL, ObservationBuilder


def _builder(n: int = 4) -> ObservationBuilder:
    b = ObservationBuilder()
    for _ in range(n):
        b.signal()
    return b


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1 :]


def test_clean_ledger_passes() -> None:
    verdict = ledger_integrity.check(_builder().build())
    assert verdict.ok, verdict
    assert verdict.evidence["records"] == 12


def test_bad_checksum_fails_with_offset() -> None:
    b = _builder()
    data = b.ledger_bytes()
    offset, _ = record_bounds(data)[5]
    verdict = ledger_integrity.check(b.build(_flip(data, offset + 20)))
    assert not verdict.ok
    assert verdict.evidence["issues"][0]["kind"] == "bad_checksum"
    assert verdict.evidence["issues"][0]["offset"] == offset


def test_unrepaired_torn_tail_fails() -> None:
    b = _builder()
    data = b.ledger_bytes()[:-7]
    verdict = ledger_integrity.check(b.build(data))
    assert not verdict.ok
    assert verdict.evidence["issues"][-1]["kind"] == "torn_tail"


def test_seq_gap_fails() -> None:
    b = _builder()
    b.records[3]["seq"] = 99
    verdict = ledger_integrity.check(b.build())
    assert not verdict.ok
    assert any(i["kind"] == "seq_gap" for i in verdict.evidence["issues"])


def test_api_disagreeing_with_file_fails() -> None:
    b = _builder()
    obs = b.build()
    obs.ledger_api = obs.ledger_api[:-1]
    verdict = ledger_integrity.check(obs)
    assert not verdict.ok
    assert "only in file: seq 12" in verdict.evidence["problems"]


def _torn_and_repaired(b: ObservationBuilder, recovery_bytes: int) -> ObservationBuilder:
    data = b.ledger_bytes()
    offset, length = record_bounds(data)[-1]
    b.inject("torn-tail", "tear_ledger_tail", {"record_offset": offset, "dropped_bytes": length // 2})
    b.heal("torn-tail")
    b.records.pop()
    b.append(
        "recovery", NIL, {"dropped_bytes": recovery_bytes, "dropped_offset": offset, "reason": "torn tail"}
    )
    return b


def test_repaired_tear_with_matching_recovery_record_passes() -> None:
    b = _builder()
    length = record_bounds(b.ledger_bytes())[-1][1]
    verdict = ledger_integrity.check(_torn_and_repaired(b, length // 2).build())
    assert verdict.ok, verdict
    assert verdict.evidence["recoveries"][0]["dropped_bytes"] == length // 2


def test_recovery_record_with_wrong_byte_count_fails() -> None:
    b = _builder()
    verdict = ledger_integrity.check(_torn_and_repaired(b, 1).build())
    assert not verdict.ok
    assert "no matching recovery record" in verdict.summary


def _corrupted(b: ObservationBuilder) -> tuple[bytes, int]:
    data = b.ledger_bytes()
    bounds = record_bounds(data)
    offset, _ = bounds[4]
    b.inject("flipped-byte", "flip_ledger_byte", {"record_offset": offset, "records": len(bounds)})
    b.heal("flipped-byte")
    return _flip(data, offset + 15), offset


def test_expected_corruption_left_untouched_passes() -> None:
    b = _builder()
    data, offset = _corrupted(b)
    verdict = ledger_integrity.check(b.build(data), expect_corruption=True)
    assert verdict.ok, verdict
    assert verdict.evidence["corrupted_offset"] == offset


def test_expected_corruption_but_engine_truncated_the_good_records_fails() -> None:
    b = _builder()
    data, offset = _corrupted(b)
    verdict = ledger_integrity.check(b.build(data[: offset + 40]), expect_corruption=True)
    assert not verdict.ok


def test_expected_corruption_that_never_happened_fails() -> None:
    assert not ledger_integrity.check(_builder().build(), expect_corruption=True).ok


def test_unreadable_file_fails() -> None:
    obs = _builder().build()
    obs.ledger_file = None
    assert not ledger_integrity.check(obs).ok


def test_encode_record_is_what_the_reader_accepts() -> None:
    line = encode_record(
        {"seq": 1, "entry_type": "intent", "intent_id": str(NIL), "timestamp": "t", "payload": {}}
    )
    assert line.endswith(b"\n") and len(line.split(b" ", 1)[0]) == 8
