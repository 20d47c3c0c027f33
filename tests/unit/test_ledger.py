"""Unit tests of the execution ledger: format, replay, group commit, torn tails, corruption, write failures.

Failed fsync/write cases monkeypatch os.fsync / os.write: a real EIO cannot be produced on demand in a unit
test. The real-fault versions (real ENOSPC, real torn files) are in tests/chaos/tier1_data_corruption.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import zlib
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError
from solat_engine.execution import ledger as ledger_module
from solat_engine.execution.ledger import (
    ExecutionLedger,
    LedgerConfig,
    LedgerCorruption,
    LedgerError,
    scan_bytes,
    scan_ledger,
)
from solat_engine.execution.models import (
    NIL_UUID,
    EntryType,
    LedgerEntry,
    client_order_id_for,
)


def intent_payload(intent_id: UUID, symbol: str = "AAPL", side: str = "BUY", qty: float = 2.0) -> dict:
    return {
        "symbol": symbol,
        "side": side,
        "quantity": qty,
        "client_order_id": client_order_id_for(intent_id),
    }


def fill_payload(intent_id: UUID, symbol: str = "AAPL", side: str = "BUY", qty: float = 2.0) -> dict:
    return {**intent_payload(intent_id, symbol, side, qty), "broker_order_id": "B-1", "price": 100.0}


def write_order(ledger: ExecutionLedger, side: str = "BUY", qty: float = 2.0, symbol: str = "AAPL") -> UUID:
    intent_id = uuid4()
    ledger.append(EntryType.INTENT, intent_id, intent_payload(intent_id, symbol, side, qty))
    ledger.append(EntryType.FILL, intent_id, fill_payload(intent_id, symbol, side, qty))
    return intent_id


def records(path: Path) -> list[dict]:
    return [json.loads(line[9:]) for line in path.read_bytes().splitlines()]


def test_append_writes_checksummed_compact_json_lines(tmp_path: Path) -> None:
    with ExecutionLedger(tmp_path) as ledger:
        intent_id = uuid4()
        entry = ledger.append(EntryType.INTENT, intent_id, intent_payload(intent_id))
    raw = (tmp_path / "ledger.log").read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    crc, body = raw[:8], raw[9:-1]
    assert crc == b"%08x" % zlib.crc32(body)
    assert b": " not in body and b", " not in body  # compact
    parsed = LedgerEntry.model_validate_json(body)
    assert parsed == entry
    assert (
        parsed.seq == 1
        and parsed.intent_id == intent_id
        and parsed.timestamp.utcoffset().total_seconds() == 0
    )
    assert json.loads(body)["timestamp"].endswith("Z")


def test_replay_positions_intents_and_reopen(tmp_path: Path) -> None:
    ledger = ExecutionLedger(tmp_path)
    filled = write_order(ledger, "BUY", 5.0)
    write_order(ledger, "SELL", 2.0)
    reconciled = uuid4()
    ledger.append(EntryType.INTENT, reconciled, intent_payload(reconciled, "MSFT", "SELL", 1.5))
    ledger.append(EntryType.RECONCILED, reconciled, fill_payload(reconciled, "MSFT", "SELL", 1.5))
    pending = uuid4()
    ledger.append(EntryType.INTENT, pending, intent_payload(pending, "MSFT", "BUY", 3.0))
    ledger.append(EntryType.SUBMITTED, pending, {"client_order_id": client_order_id_for(pending)})
    ledger.append(
        EntryType.UNKNOWN, pending, {"client_order_id": client_order_id_for(pending), "reason": "timeout"}
    )
    rejected = uuid4()
    ledger.append(EntryType.INTENT, rejected, intent_payload(rejected))
    ledger.append(EntryType.REJECT, rejected, {"reason": "insufficient funds", "stage": "broker"})
    # A record after a terminal one does not reopen the intent.
    ledger.append(EntryType.SUBMITTED, rejected, {"client_order_id": client_order_id_for(rejected)})
    state = ledger.replay()
    ledger.close()

    assert state.positions == {"AAPL": 3.0, "MSFT": -1.5}
    assert state.last_seq == 12
    assert state.open_intents() == [pending]
    assert state.intents[pending].state is EntryType.UNKNOWN and not state.intents[pending].terminal
    assert state.intents[pending].client_order_id == client_order_id_for(pending)
    assert (state.intents[pending].symbol, state.intents[pending].side, state.intents[pending].quantity) == (
        "MSFT",
        "BUY",
        3.0,
    )
    assert state.intents[filled].terminal and state.intents[filled].state is EntryType.FILL
    assert state.intents[rejected].terminal and state.intents[rejected].state is EntryType.SUBMITTED

    reopened = ExecutionLedger(tmp_path)
    again = reopened.replay()
    assert again.positions == state.positions and again.last_seq == 12
    assert again.open_intents() == [pending]
    assert reopened.append(EntryType.ACK, pending, {"client_order_id": "c", "broker_order_id": "b"}).seq == 13
    reopened.close()


def test_replay_returns_a_copy(tmp_path: Path) -> None:
    with ExecutionLedger(tmp_path) as ledger:
        write_order(ledger)
        state = ledger.replay()
        state.positions["AAPL"] = 999.0
        assert ledger.positions() == {"AAPL": 2.0}
        assert ledger.last_seq == 2


def test_entries_after_seq_reads_back_durable_records(tmp_path: Path) -> None:
    with ExecutionLedger(tmp_path) as ledger:
        written = [ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": n}) for n in range(5)]
        assert list(ledger.entries()) == written
        assert list(ledger.entries(after_seq=3)) == written[3:]
        assert list(ledger.entries(after_seq=5)) == []


def test_entries_detects_bytes_rotten_after_open(tmp_path: Path) -> None:
    with ExecutionLedger(tmp_path) as ledger:
        for n in range(3):
            ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": n})
        path = tmp_path / "ledger.log"
        raw = bytearray(path.read_bytes())
        second = raw.index(b"\n") + 1
        raw[second + 20] ^= 0x01
        path.write_bytes(bytes(raw))
        with pytest.raises(LedgerCorruption) as info:
            list(ledger.entries())
        assert info.value.offset == second and info.value.seq == 2


def test_payload_is_validated_before_anything_is_written(tmp_path: Path) -> None:
    with ExecutionLedger(tmp_path) as ledger:
        intent_id = uuid4()
        with pytest.raises(ValidationError):
            ledger.append(EntryType.FILL, intent_id, {"client_order_id": "x", "quantity": 1})
        with pytest.raises(ValueError):
            ledger.append("not-a-type", intent_id, {})  # type: ignore[arg-type]
        assert ledger.append(EntryType.INTENT, intent_id, intent_payload(intent_id)).seq == 1
    assert len(records(tmp_path / "ledger.log")) == 1


def test_new_ledger_creates_directories(tmp_path: Path) -> None:
    base = tmp_path / "data" / "ledger"
    with ExecutionLedger(base, LedgerConfig(filename="other.log")) as ledger:
        ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {})
    assert (base / "other.log").exists()


def test_append_after_close_raises(tmp_path: Path) -> None:
    ledger = ExecutionLedger(tmp_path)
    ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {})


def test_open_failure_is_a_ledger_error(tmp_path: Path) -> None:
    (tmp_path / "ledger.log").mkdir()
    with pytest.raises(LedgerError) as info:
        ExecutionLedger(tmp_path)
    assert info.value.errno == errno.EISDIR


# -- group commit --


def test_group_commit_concurrent_appenders_share_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.fsync is wrapped only to count calls and to hold the first one until the others have queued."""
    ledger = ExecutionLedger(tmp_path)
    calls: list[int] = []
    real_fsync = os.fsync
    queued = threading.Event()

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            queued.wait(timeout=10)
        real_fsync(fd)

    monkeypatch.setattr(ledger_module.os, "fsync", counting_fsync)
    threads_n, per_thread = 8, 25
    results: list[LedgerEntry] = []
    lock = threading.Lock()

    def worker() -> None:
        for n in range(per_thread):
            entry = ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": n})
            with lock:
                results.append(entry)

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for _ in range(1000):
        if len(ledger._queue) >= threads_n - 1:
            break
        threading.Event().wait(0.01)
    queued.set()
    for t in threads:
        t.join(timeout=60)
    ledger.close()
    total = threads_n * per_thread
    assert sorted(e.seq for e in results) == list(range(1, total + 1))
    assert len(calls) < total  # shared: fewer fsyncs than records
    assert [r["seq"] for r in records(tmp_path / "ledger.log")] == list(range(1, total + 1))
    assert scan_ledger(tmp_path / "ledger.log").state.last_seq == total


# -- write failures (monkeypatched: a real EIO cannot be produced here) --


def test_failed_fsync_raises_marks_unhealthy_and_reverifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monkeypatches os.fsync to fail once with EIO: a real failed fsync cannot be made in a unit test."""
    ledger = ExecutionLedger(tmp_path)
    first = ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 1})
    real_fsync = os.fsync
    failures = [OSError(errno.EIO, "Input/output error")]

    def failing_fsync(fd: int) -> None:
        if failures:
            raise failures.pop()
        real_fsync(fd)

    monkeypatch.setattr(ledger_module.os, "fsync", failing_fsync)
    with pytest.raises(LedgerError) as info:
        ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 2})
    assert info.value.errno == errno.EIO
    assert not ledger.healthy and "Input/output error" in (ledger.last_error or "")
    assert ledger.last_seq == 1
    # The failed record's bytes reached the file (write succeeded) but were never acknowledged.
    assert len(records(tmp_path / "ledger.log")) == 2

    second = ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 3})
    assert ledger.healthy
    assert second.seq == first.seq + 1
    ledger.close()
    on_disk = records(tmp_path / "ledger.log")
    assert [(r["seq"], r["payload"]["n"]) for r in on_disk] == [(1, 1), (2, 3)]
    assert scan_ledger(tmp_path / "ledger.log").tail_offset is None


def test_partial_write_is_truncated_before_next_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monkeypatches os.write to write half a record then fail with ENOSPC, like a filling disk."""
    ledger = ExecutionLedger(tmp_path)
    ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 1})
    size_before = (tmp_path / "ledger.log").stat().st_size
    real_write = os.write
    calls = {"n": 0}

    def short_then_enospc(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ledger_module.os, "write", short_then_enospc)
    with pytest.raises(LedgerError) as info:
        ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 2})
    assert info.value.errno == errno.ENOSPC
    assert (tmp_path / "ledger.log").stat().st_size > size_before  # half a record is on disk
    monkeypatch.setattr(ledger_module.os, "write", real_write)
    assert ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 3}).seq == 2
    ledger.close()
    assert [r["payload"]["n"] for r in records(tmp_path / "ledger.log")] == [1, 3]


def test_recovery_that_still_fails_keeps_ledger_unhealthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monkeypatches os.fsync to keep failing (EIO), then to work: probe() recovers without appending."""
    ledger = ExecutionLedger(tmp_path)
    ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {})
    real_fsync = os.fsync
    broken = {"on": True}

    def fsync(fd: int) -> None:
        if broken["on"]:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(ledger_module.os, "fsync", fsync)
    for _ in range(2):
        with pytest.raises(LedgerError) as info:
            ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {})
        assert info.value.errno == errno.EIO
    assert ledger.probe() is False and not ledger.healthy
    broken["on"] = False
    assert ledger.probe() is True and ledger.healthy
    assert ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {}).seq == 2
    ledger.close()


def append_three_behind_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_call: int
) -> tuple[ExecutionLedger, dict[int, object]]:
    """Append n=0, then n=1..3 while its fsync is held, so that they queue behind it as one batch.

    Monkeypatches os.fsync: the first call waits until the 3 have queued; call number `failing_call` fails
    with EIO (a real failed fsync cannot be made in a unit test). Returns each append's entry or LedgerError;
    a lost wake-up leaves an appender hanging past the join timeout, and its outcome missing.
    """
    ledger = ExecutionLedger(tmp_path)
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            for _ in range(1000):
                if len(ledger._queue) >= 3:
                    break
                threading.Event().wait(0.01)
        if calls["n"] == failing_call:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(ledger_module.os, "fsync", fsync)
    outcomes: dict[int, object] = {}

    def worker(n: int) -> None:
        try:
            outcomes[n] = ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": n})
        except LedgerError as exc:
            outcomes[n] = exc

    first = threading.Thread(target=worker, args=(0,))
    first.start()
    while calls["n"] == 0:
        threading.Event().wait(0.005)
    queued = [threading.Thread(target=worker, args=(n,)) for n in (1, 2, 3)]
    for t in queued:
        t.start()
    for t in [first, *queued]:
        t.join(timeout=30)
    assert sorted(outcomes) == [0, 1, 2, 3]
    return ledger, outcomes


def test_every_appender_of_a_failed_batch_gets_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch queued behind the first append fails its fsync: none of it is durable, so none of its
    appenders may see success."""
    ledger, outcomes = append_three_behind_one(tmp_path, monkeypatch, failing_call=2)
    assert isinstance(outcomes[0], LedgerEntry) and outcomes[0].seq == 1
    for n in (1, 2, 3):
        assert isinstance(outcomes[n], LedgerError) and outcomes[n].errno == errno.EIO
    assert ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 4}).seq == 2
    ledger.close()
    assert [r["payload"]["n"] for r in records(tmp_path / "ledger.log")] == [0, 4]


def test_failed_lone_write_fails_the_batch_queued_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first append (uncontended: it writes its own line) fails its fsync while 3 more have queued
    behind it. Their seqs follow the failed one, so they fail too, and are woken to say so."""
    ledger, outcomes = append_three_behind_one(tmp_path, monkeypatch, failing_call=1)
    for n in (0, 1, 2, 3):
        assert isinstance(outcomes[n], LedgerError) and outcomes[n].errno == errno.EIO
    assert ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": 4}).seq == 1
    ledger.close()
    assert [r["payload"]["n"] for r in records(tmp_path / "ledger.log")] == [4]


# -- verification on open --


def make_ledger(tmp_path: Path, n: int = 4) -> Path:
    with ExecutionLedger(tmp_path) as ledger:
        for i in range(n):
            ledger.append(EntryType.KILL_SWITCH, NIL_UUID, {"n": i})
    return tmp_path / "ledger.log"


def line_offsets(raw: bytes) -> list[int]:
    offsets = [0]
    for i, b in enumerate(raw):
        if b == 0x0A:
            offsets.append(i + 1)
    return offsets


def record_line(seq: int, payload: dict | None = None, **overrides: object) -> bytes:
    body = {
        "seq": seq,
        "entry_type": "kill_switch",
        "intent_id": str(NIL_UUID),
        "timestamp": "2026-01-01T00:00:00Z",
        "payload": payload if payload is not None else {},
        **overrides,
    }
    data = json.dumps(body, separators=(",", ":")).encode()
    return b"%08x %s\n" % (zlib.crc32(data), data)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda raw, last: raw[:-1], "without trailing newline"),
        (lambda raw, last: raw[: last + 30], "without trailing newline"),
        (lambda raw, last: raw[:last] + b"00000000" + raw[last + 8 :], "checksum mismatch"),
        (lambda raw, last: raw[:last] + b"\0\0\0\0\0\0\n", "malformed record"),
        (lambda raw, last: raw[:last] + record_line(4)[:9] + b'{"seq":4,"entry\n', "checksum mismatch"),
    ],
)
def test_torn_tail_is_truncated_with_recovery_entry(tmp_path: Path, damage, reason: str) -> None:
    path = make_ledger(tmp_path)
    raw = path.read_bytes()
    last = line_offsets(raw)[-2]
    damaged = damage(raw, last)
    path.write_bytes(damaged)
    with ExecutionLedger(tmp_path) as ledger:
        state = ledger.replay()
        entries = list(ledger.entries())
    assert state.last_seq == 4
    recovery = entries[-1]
    assert recovery.entry_type is EntryType.RECOVERY and recovery.intent_id == NIL_UUID and recovery.seq == 4
    assert recovery.payload["dropped_offset"] == last
    assert recovery.payload["dropped_bytes"] == len(damaged) - last
    assert reason in recovery.payload["reason"]
    assert path.read_bytes()[:last] == raw[:last]


def test_clean_file_gets_no_recovery_entry(tmp_path: Path) -> None:
    path = make_ledger(tmp_path)
    raw = path.read_bytes()
    with ExecutionLedger(tmp_path) as ledger:
        assert ledger.last_seq == 4
    assert path.read_bytes() == raw


@pytest.mark.parametrize(
    ("replace_line", "reason"),
    [
        (lambda good: good[:20] + b"X" + good[21:], "checksum mismatch"),
        (lambda good: b"garbage\n", "malformed"),
        (lambda good: record_line(3), "not contiguous"),
        (lambda good: record_line(2, timestamp="2026-01-01T00:00:00+02:00"), "timestamp"),
        (lambda good: record_line(2, intent_id="not-a-uuid"), "intent_id"),
        (lambda good: record_line(2, entry_type="teleport"), "entry_type"),
        (lambda good: record_line(2, extra=1), "extra"),
        (lambda good: record_line(2, entry_type="fill", intent_id=str(uuid4())), "unusable fill payload"),
        (lambda good: b"%08x {not json}\n" % zlib.crc32(b"{not json}"), "invalid record"),
    ],
)
def test_bad_middle_record_is_corruption_and_file_untouched(
    tmp_path: Path, replace_line, reason: str
) -> None:
    path = make_ledger(tmp_path)
    raw = path.read_bytes()
    offsets = line_offsets(raw)
    start, end = offsets[1], offsets[2]
    damaged = raw[:start] + replace_line(raw[start:end]) + raw[end:]
    path.write_bytes(damaged)
    with pytest.raises(LedgerCorruption) as info:
        ExecutionLedger(tmp_path)
    err = info.value
    assert err.path == path and err.offset == start and err.seq == 2
    assert reason in err.reason
    assert str(path) in str(err) and f"offset {start}" in str(err)
    assert path.read_bytes() == damaged


def test_fast_reader_and_model_agree(tmp_path: Path) -> None:
    """The start-up reader validates without model instances: it must reject exactly what LedgerEntry does."""
    intent_id = uuid4()
    entry = LedgerEntry(
        seq=1,
        entry_type=EntryType.SUBMITTED,
        intent_id=intent_id,
        timestamp="2026-03-01T12:00:00Z",
        payload={"client_order_id": "c"},
    )
    body = entry.model_dump_json().encode()
    path = tmp_path / "ledger.log"
    good = b"%08x %s\n" % (zlib.crc32(body), body)
    assert scan_bytes(path, good).state.intents[intent_id].state is EntryType.SUBMITTED
    for bad in [
        {"timestamp": "2026-03-01T12:00:00+01:00"},
        {"timestamp": "2026-13-01T12:00:00Z"},
        {"timestamp": "2026-02-30T12:00:00Z"},
        {"timestamp": "2026-02-03T12:00:00"},
        {"seq": 0},
        {"seq": "1"},
        {"intent_id": "1234"},
        {"entry_type": "nope"},
        {"payload": []},
    ]:
        data = json.loads(body)
        data.update(bad)
        blob = json.dumps(data, separators=(",", ":")).encode()
        with pytest.raises(ValidationError):
            LedgerEntry.model_validate_json(blob)
        with pytest.raises(LedgerCorruption):
            scan_bytes(path, b"%08x %s\n" % (zlib.crc32(blob), blob))
