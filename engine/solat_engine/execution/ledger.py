"""The execution ledger: an append-only, checksummed, fsync'd log of every order decision.

Format (docs/interfaces.md): one record per line, `<crc32 as 8 lowercase hex> <compact JSON>\n`.

Promises:
- `append()` returns only once the record is on disk (fsync; the directory too when the file was created).
  Concurrent appenders share one write + one fsync (group commit) without weakening that promise: a batch
  fails or succeeds as a whole, and every appender of a failed batch gets the error.
- On open every record is verified (checksum, schema, seq contiguity, UTC timestamp). A torn tail (what a
  crash mid-write leaves) is cut off and a `recovery` record says what was dropped; anything else that is
  wrong (a bad record followed by good ones, a record with a valid checksum but invalid content, a seq gap)
  is corruption: `LedgerCorruption`, file left untouched, because guessing at a damaged order history could
  double or lose an order.
- If the `recovery` record cannot be written when the tail is cut (e.g. the disk is full), it stays pending
  and is written before any other record: the evidence of a repair is never lost.
- After a failed write/fsync the ledger is unhealthy; before the next append it cuts the unacknowledged bytes
  and re-verifies the tail, so seq stays contiguous, and it resumes by itself once the disk works again.

Speed matters because every append sits on the order path and every start replays the whole file: the append
path validates the payload once, serialises it with pydantic-core and frames the line with bytes formatting
(no model round trip); start-up verifies checksums and schema in bulk C/Rust calls.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import gc
import os
import sys
import threading
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json

from solat_engine import reach
from solat_engine.durable import ensure_dir, fsync_dir, write_all
from solat_engine.execution.models import (
    ENTRY_TYPES,
    NIL_UUID,
    PAYLOAD_MODELS,
    RAW_ENTRY_LIST,
    TERMINAL_TYPES,
    EntryType,
    LedgerEntry,
    RawLedgerEntry,
    position_delta,
    utc_now,
)


class LedgerConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    filename: str = "ledger.log"
    # Upper bound of records per group-commit write: bounds the bytes at risk in one failed batch.
    max_batch_records: int = Field(default=4096, ge=1)


class LedgerError(Exception):
    """The ledger cannot make a record durable (ENOSPC, EIO, failed fsync): the order must be refused."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class LedgerCorruption(LedgerError):
    """The file holds a damaged record that is not a torn tail: refuse to trade, touch nothing."""

    def __init__(self, path: Path, offset: int, seq: int, reason: str) -> None:
        super().__init__(f"ledger {path} is corrupt at byte offset {offset} (record seq {seq}): {reason}")
        self.path = path
        self.offset = offset
        self.seq = seq
        self.reason = reason


@dataclass(slots=True)
class IntentState:
    """One intent as its records leave it: the single fold both the ledger and the router read."""

    key: str  # the intent_id as written in the file; the UUID object is made only when asked for
    state: EntryType  # type of the last record of this intent
    terminal: bool  # sticky: once filled/rejected/not_sent an intent never reopens
    client_order_id: str | None = None
    symbol: str | None = None  # symbol/side/quantity: from the `intent` record (None: none seen)
    side: str | None = None
    quantity: float | None = None
    last_seq: int = 0
    broker_order_id: str | None = None  # latest one a record carried (ack, fill, reconciled)
    reason: str | None = None  # latest one a record carried (reject, unknown)

    @property
    def intent_id(self) -> UUID:
        return UUID(self.key)

    def copy(self) -> IntentState:
        """A copy (spelled out: `dataclasses.replace` costs several times more, for every intent)."""
        return IntentState(
            self.key, self.state, self.terminal, self.client_order_id, self.symbol, self.side, self.quantity,
            self.last_seq, self.broker_order_id, self.reason,
        )


_NIL_KEY = str(NIL_UUID)
_TERMINAL_VALUES = frozenset(t.value for t in TERMINAL_TYPES)
_POSITION_VALUES = frozenset({EntryType.FILL.value, EntryType.RECONCILED.value})
_INTENT_TYPE = EntryType.INTENT
_FILL_TYPE = EntryType.FILL


@dataclass(slots=True)
class ReplayState:
    """Positions, intents and last_seq folded from the records.

    Intents are kept by the intent_id string as written in the file: str hashing is C, UUID hashing and
    construction are Python, and start-up replay looks an intent up for every record. `intents` (keyed by
    UUID) is built when first read.
    """

    positions: dict[str, float] = field(default_factory=dict)
    last_seq: int = 0
    by_key: dict[str, IntentState] = field(default_factory=dict, repr=False)
    _intents: dict[UUID, IntentState] | None = field(default=None, repr=False, compare=False)

    @property
    def intents(self) -> dict[UUID, IntentState]:
        if self._intents is None or len(self._intents) != len(self.by_key):
            self._intents = {UUID(k): v for k, v in self.by_key.items()}
        return self._intents

    def intent(self, intent_id: UUID) -> IntentState | None:
        return self.by_key.get(str(intent_id))

    def open_intents(self) -> list[UUID]:
        return [UUID(k) for k, i in self.by_key.items() if not i.terminal]

    def apply(self, record: RawLedgerEntry) -> None:
        """Fold one record (fields as in the file; intent_id as str) into the state."""
        self.fold((record,))

    def fold(self, records: Iterable[RawLedgerEntry]) -> None:
        """Fold records in order. Raises KeyError/ValueError/TypeError on a fill without usable
        symbol/side/quantity, with `last_seq` the seq of that record.

        One loop with everything in locals: it runs once per record at every start-up (100k records) and
        on every append, and a method call plus attribute look-ups per record cost a fifth of it.
        """
        by_key = self.by_key
        find = by_key.get
        positions = self.positions
        types = ENTRY_TYPES
        seq = self.last_seq
        try:
            for record in records:
                seq = record["seq"]
                key = record["intent_id"]
                if key == _NIL_KEY:
                    continue
                entry_type = record["entry_type"]
                payload = record["payload"]
                state = find(key)
                if entry_type == "intent":  # (re)starts the order: what earlier records said is void
                    if state is None:
                        state = by_key[key] = IntentState(key, _INTENT_TYPE, False)
                    else:
                        state.state = _INTENT_TYPE
                        state.broker_order_id = state.reason = None
                    state.symbol = payload.get("symbol")
                    state.side = payload.get("side")
                    state.quantity = payload.get("quantity")
                else:
                    if entry_type in _POSITION_VALUES:
                        symbol, qty = position_delta(_FILL_TYPE, payload)  # type: ignore[misc]
                        positions[symbol] = positions.get(symbol, 0.0) + qty
                    if state is None:
                        terminal = entry_type in _TERMINAL_VALUES
                        state = by_key[key] = IntentState(key, types[entry_type], terminal)
                    else:
                        state.state = types[entry_type]
                        if entry_type in _TERMINAL_VALUES:
                            state.terminal = True
                    if "broker_order_id" in payload:
                        state.broker_order_id = payload["broker_order_id"]
                    if "reason" in payload:
                        state.reason = payload["reason"]
                state.last_seq = seq
                coid = payload.get("client_order_id")
                if coid is not None:
                    state.client_order_id = coid
        finally:
            self.last_seq = seq

    def copy(self) -> ReplayState:
        by_key = {k: v.copy() for k, v in self.by_key.items()}
        return ReplayState(dict(self.positions), self.last_seq, by_key)


@dataclass(slots=True)
class LedgerScan:
    """What verifying a ledger file found: the replayed state and, if any, a torn tail to cut off."""

    state: ReplayState
    offsets: list[int]  # byte offset of record seq = first_seq + i
    good_end: int  # byte offset just past the last good record
    tail_offset: int | None = None
    tail_bytes: int = 0
    tail_reason: str | None = None


# -- the line format ----------------------------------------------------------------------------------------

_BODY = b'{"seq":%d,"entry_type":"%s","intent_id":"%s","timestamp":%s,"payload":%s}'
_TYPE_BYTES: dict[str, bytes] = {t.value: t.value.encode() for t in EntryType}


def _frame(body: bytes) -> bytes:
    return b"%08x %s\n" % (zlib.crc32(body), body)


def encode_record(entry: LedgerEntry) -> bytes:
    """The line of a LedgerEntry (what append writes for it: a test checks both agree byte for byte)."""
    return _frame(entry.model_dump_json().encode())


def _line(seq: int, entry_type: str, intent_key: str, timestamp: datetime, payload_json: bytes) -> bytes:
    """The line append writes: the same bytes as encode_record of the LedgerEntry, without building one."""
    body = _BODY % (seq, _TYPE_BYTES[entry_type], intent_key.encode(), to_json(timestamp), payload_json)
    return _frame(body)


def _payload_json(payload: dict[str, Any]) -> bytes:
    """Compact JSON of a payload exactly as LedgerEntry.model_dump_json writes its `payload` field."""
    return to_json(payload, inf_nan_mode="null")


def _check_line(line: bytes) -> str | None:
    """Why a line (without its newline) is not a well-formed record, or None."""
    if len(line) < 10 or line[8:9] != b" ":
        return "malformed record (expected '<crc32> <json>')"
    if line[:8] != b"%08x" % zlib.crc32(line[9:]):
        return "checksum mismatch"
    return None


_READ_CHUNK = 1 << 20
_HEAD = itemgetter(slice(0, 9))
_BODY_OF = itemgetter(slice(9, None))
_CRC_ARRAY = "I" if array("I").itemsize == 4 else "L"


def _checksums_ok(lines: list[bytes], bodies: list[bytes]) -> bool:
    """True only if every line is `<8 lowercase hex> <body>` with the body's CRC-32: all in bulk C calls.

    The heads are joined (9 bytes each), every 9th byte must be the
    space, and the hex digits decoded in one call must equal the big-endian CRC array. Any doubt is False:
    the caller then finds the first bad line with `_check_line`, which gives the precise reason.
    """
    n = len(lines)
    if n and min(map(len, lines)) < 10:  # a record has a body; `_check_line` says so, so must this
        return False
    heads = b"".join(map(_HEAD, lines))
    if len(heads) != 9 * n or heads[8::9] != b" " * n or heads != heads.lower():
        return False
    try:
        stored = bytes.fromhex(heads.decode("ascii"))  # whitespace inside a head shortens the result
    except ValueError:
        return False
    crcs = array(_CRC_ARRAY, map(zlib.crc32, bodies))
    if sys.byteorder == "little":
        crcs.byteswap()
    return stored == crcs.tobytes()


def _first_bad_line(lines: list[bytes]) -> tuple[int, str] | None:
    for index, line in enumerate(lines):
        reason = _check_line(line)
        if reason is not None:
            return index, reason
    return None


# -- verification + replay ----------------------------------------------------------------------------------


def scan_bytes(
    path: Path, data: bytes, base_offset: int = 0, first_seq: int = 1, state: ReplayState | None = None
) -> LedgerScan:
    """Verify and replay ledger bytes. Raises LedgerCorruption; reports a torn tail instead of raising.

    Fast path: checksums are checked on bytes, then all records are validated in one pydantic-core call.
    """
    with _gc_paused():
        return _scan(path, data, base_offset, first_seq, state if state is not None else ReplayState())


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Building ~10 containers per record triggers the cyclic GC again and again for nothing (no cycles are
    made): pausing it cuts start-up verification time by about a quarter."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _scan(path: Path, data: bytes, base_offset: int, first_seq: int, state: ReplayState) -> LedgerScan:
    lines = data.split(b"\n")
    tail = lines.pop()  # bytes after the last newline: b"" for a clean file
    bodies = list(map(_BODY_OF, lines))
    # Running offsets, all in C: offset[i+1] = offset[i] + len(line i) + 1.
    offsets = list(accumulate(map((1).__add__, map(len, lines)), initial=base_offset))
    bad = None if _checksums_ok(lines, bodies) else _first_bad_line(lines)
    count = bad[0] if bad is not None else len(lines)
    good_end = offsets[count]
    del offsets[count:], bodies[count:]
    tail_offset: int | None = None
    tail_reason: str | None = None
    if bad is not None:
        index, reason = bad
        if any(_check_line(later) is None for later in lines[index + 1 :]):
            raise LedgerCorruption(path, good_end, first_seq + index, f"{reason}, followed by valid records")
        tail_offset, tail_reason = good_end, f"torn tail: {reason}"
    elif tail:
        tail_offset, tail_reason = good_end, "torn tail: record without trailing newline"

    records = _validate(path, bodies, offsets, first_seq)
    _fold_verified(path, records, offsets, first_seq, state)
    end = base_offset + len(data)
    return LedgerScan(
        state=state,
        offsets=offsets,
        good_end=good_end,
        tail_offset=tail_offset,
        tail_bytes=end - good_end if tail_offset is not None else 0,
        tail_reason=tail_reason,
    )


_SEQ = itemgetter("seq")


def _fold_verified(
    path: Path, records: list[RawLedgerEntry], offsets: list[int], first_seq: int, state: ReplayState
) -> None:
    """Check seq contiguity in bulk, fold the records, and report the first bad record (the same record,
    offset and reason a record-by-record check would report). Schema and UTC were checked by validation."""
    n = len(records)
    seqs = list(map(_SEQ, records))
    good = n
    if seqs != list(range(first_seq, first_seq + n)):
        good = next(i for i, s in enumerate(seqs) if s != first_seq + i)
    try:
        state.fold(records[:good] if good < n else records)
    except (KeyError, TypeError, ValueError) as exc:
        i = state.last_seq - first_seq
        reason = f"unusable {records[i]['entry_type']} payload: {exc!r}"
        raise LedgerCorruption(path, offsets[i], first_seq + i, reason) from exc
    if good < n:
        raise LedgerCorruption(path, offsets[good], first_seq + good, f"seq {seqs[good]} is not contiguous")


def _validate(path: Path, jsons: list[bytes], offsets: list[int], first_seq: int) -> list[RawLedgerEntry]:
    """Validate all records at once; on failure, find the first bad one to report where it is."""
    if not jsons:
        return []
    first, last = jsons[0], jsons[-1]
    jsons[0] = b"[" + first  # brackets on the end items: the 25 MB array is joined in one copy
    jsons[-1] = (jsons[-1] if len(jsons) > 1 else jsons[0]) + b"]"
    try:
        return RAW_ENTRY_LIST.validate_json(b",".join(jsons))
    except ValidationError:
        pass
    finally:
        jsons[0], jsons[-1] = first, last
    for i, (body, offset) in enumerate(zip(jsons, offsets, strict=True)):
        try:
            # The model check also catches what the fast one lets through (e.g. 30 February).
            LedgerEntry.model_validate_json(body)
            RAW_ENTRY_LIST.validate_json(b"[" + body + b"]")
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "record"
            reason = f"invalid record: {where}: {err['msg']}"
            raise LedgerCorruption(path, offset, first_seq + i, reason) from exc
    raise LedgerCorruption(path, offsets[0] if offsets else 0, first_seq, "records do not validate together")


def scan_ledger(path: Path) -> LedgerScan:
    """Read-only verify + replay of a ledger file (used by tools and benchmarks; never repairs)."""
    return scan_bytes(Path(path), Path(path).read_bytes())


# -- writing ------------------------------------------------------------------------------------------------

_PAYLOAD_VALIDATORS = {kind.value: model.__pydantic_validator__ for kind, model in PAYLOAD_MODELS.items()}


class _Batch:
    """Records written together with one write + one fsync.

    `done` is held until the batch is settled; each waiter takes and passes it on, so settling wakes the
    waiters of this batch one after another (woken all at once, they would convoy on the GIL, the leader
    of the next batch among them: measured slower).
    """

    __slots__ = ("done", "error", "lines", "records", "settled")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.records: list[RawLedgerEntry] = []
        self.settled = False
        self.error: LedgerError | None = None
        self.done = threading.Lock()
        self.done.acquire()

    def wait(self) -> None:
        self.done.acquire()
        self.done.release()

    def wake(self) -> None:
        self.done.release()


class ExecutionLedger:
    """Thread-safe append-only ledger at `base_dir/ledger.log` (see module docstring for the promises).

    Locks: `_write_lock` is held by the one thread writing (a batch, or an uncontended appender's own line) or
    repairing the file; `_lock` guards the in-memory state and is only ever held for a few microseconds of
    bookkeeping, never across I/O except during a repair. Order: `_write_lock` before `_lock`; the one
    exception, an appender trying `_write_lock` under `_lock`, never waits for it.
    """

    def __init__(self, base_dir: Path, config: LedgerConfig | None = None, run_id: str | None = None) -> None:
        self.config = config or LedgerConfig()
        self.base_dir = Path(base_dir)
        self.path = self.base_dir / self.config.filename
        self.run_id = run_id or uuid4().hex
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._batches: deque[_Batch] = deque()  # queued, oldest first; the last one takes new records
        self._unwoken: list[_Batch] = []  # settled, appenders still asleep: the next leader wakes them
        self._closed = False
        self._healthy = True
        self._last_error: str | None = None
        self._pending_recovery: dict[str, Any] | None = None
        try:
            ensure_dir(self.base_dir)
            created = not self.path.exists()
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise LedgerError(f"cannot open ledger {self.path}: {exc}", exc.errno) from exc
        try:
            if created:
                fsync_dir(self.base_dir)
            scan = scan_bytes(self.path, self._read_all())
            self._state = scan.state
            self._offsets = scan.offsets
            self._size = scan.good_end
            self._next_seq = scan.state.last_seq + 1
            if scan.tail_offset is not None:
                self._repair_tail(scan)
        except OSError as exc:
            os.close(self._fd)
            raise LedgerError(f"cannot open ledger {self.path}: {exc}", exc.errno) from exc
        except BaseException:
            os.close(self._fd)
            raise

    def _read_all(self) -> bytes:
        with open(self.path, "rb") as fh:
            return fh.read()

    def _repair_tail(self, scan: LedgerScan) -> None:
        """Replace a torn tail (never acknowledged: its fsync never returned) with the record of its repair.

        The tail stays on disk until that record can take its place: cut first and recorded later, a crash in
        between (the disk still full) would lose every trace of the repair. Until then the ledger reports
        itself unhealthy and retries first thing once a write can succeed (next append or `probe()`).
        """
        self._pending_recovery = {
            "dropped_bytes": scan.tail_bytes,
            "dropped_offset": scan.tail_offset,
            "reason": scan.tail_reason,
            "run_id": self.run_id,
        }
        self._healthy = False
        with self._write_lock, self._lock, contextlib.suppress(LedgerError):
            self._recover_locked()

    def append(self, entry_type: EntryType, intent_id: UUID, payload: dict[str, Any]) -> LedgerEntry:
        """Append one record; returns only once it is durable. Raises LedgerError if it is not.

        Uncontended (no write in progress, none queued) the appender writes and fsyncs its own line. Otherwise
        it joins the newest queued batch; the appender that opened that batch leads it: it waits for the
        write in progress, writes the batch with one write + one fsync and settles it, and the others sleep
        until then (group commit).
        """
        kind = ENTRY_TYPES.get(entry_type)
        if kind is None:
            raise ValueError(f"{entry_type!r} is not a valid EntryType")
        if type(intent_id) is not UUID:
            intent_id = UUID(str(intent_id))
        _PAYLOAD_VALIDATORS[kind].validate_python(payload)  # raises ValidationError: nothing written
        clean = dict(payload)  # a copy: the caller may reuse its dict; the file holds the JSON form anyway
        payload_json = _payload_json(clean)
        key = str(intent_id)
        while True:
            with self._lock:
                if self._closed:
                    raise LedgerError(f"ledger {self.path} is closed")
                if self._healthy:
                    seq = self._next_seq
                    self._next_seq = seq + 1
                    timestamp = utc_now()
                    line = _line(seq, kind, key, timestamp, payload_json)
                    record: RawLedgerEntry = {  # type: ignore[typeddict-item]
                        "seq": seq, "entry_type": kind, "intent_id": key, "payload": clean  # kind is a str
                    }
                    # Never blocks under `_lock` (lock order): it only asks whether the writer's seat is free.
                    if not self._batches and self._write_lock.acquire(blocking=False):
                        batch = None
                    else:
                        batch = self._batches[-1] if self._batches else None
                        lead = batch is None or len(batch.lines) >= self.config.max_batch_records
                        if lead:
                            batch = _Batch()
                            self._batches.append(batch)
                        batch.records.append(record)  # type: ignore[union-attr]
                        batch.lines.append(line)  # type: ignore[union-attr]
                    break
            self._recover()  # unhealthy: repair first (raises LedgerError while the disk still fails)
        if batch is None:
            self._write_alone(line, record)
        else:
            if lead:
                self._lead(batch)
            else:
                batch.wait()
            if batch.error is not None:
                raise batch.error
        return LedgerEntry.trusted(seq, kind, intent_id, timestamp, clean)

    def _write_alone(self, line: bytes, record: RawLedgerEntry) -> None:
        """Write + fsync one line with the write lock already held (no batch was queued); releases it."""
        try:
            op = "write"
            try:
                write_all(self._fd, line)
                op = "fsync"
                os.fsync(self._fd)
            except Exception as exc:
                with self._lock:
                    failure, failed = self._settle_failed(exc, op)
                for done in failed:
                    done.wake()
                raise failure from exc
            with self._lock:
                self._settle_ok([line], (record,))
        finally:
            self._write_lock.release()

    def _lead(self, mine: _Batch) -> None:
        """Write queued batches, oldest first, until `mine` is settled (lock order keeps seq order).

        The appenders of a settled batch are woken by the next leader right after its write, when they can
        prepare their next records during its fsync instead of competing with it for the GIL before it.
        """
        while True:
            with self._write_lock:
                with self._lock:
                    wake_later, self._unwoken = self._unwoken, []
                    batch = None if mine.settled else self._batches.popleft()  # else mine or an older one
                    closed = self._closed  # never write to a closed descriptor: its number may be reused
                if batch is None:
                    settled = wake_later
                else:
                    error: Exception | None = None
                    op = "write"
                    try:
                        if closed:
                            raise OSError(errno_codes.EBADF, "ledger closed before the batch was written")
                        write_all(self._fd, b"".join(batch.lines))
                    except Exception as exc:
                        error = exc
                    for done in wake_later:
                        done.wake()
                    if error is None:
                        op = "fsync"
                        try:
                            os.fsync(self._fd)
                        except Exception as exc:
                            error = exc
                    with self._lock:
                        if error is None:
                            self._settle_ok(batch.lines, batch.records)
                            batch.settled = True
                            settled = [batch]
                            if self._batches:  # a leader is waiting: it wakes these after its write
                                self._unwoken, settled = settled, []
                        else:
                            batch.error, failed = self._settle_failed(error, op)
                            batch.settled = True
                            settled = [batch, *failed]
            for done in settled:
                done.wake()
            if mine.settled:
                return

    def _settle_ok(self, lines: list[bytes], records: Iterable[RawLedgerEntry]) -> None:
        """Bookkeeping for durable records (lock held): offsets, size, replay state."""
        offsets = self._offsets
        size = self._size
        for line in lines:
            offsets.append(size)
            size += len(line)
        self._size = size
        self._state.fold(records)

    def _settle_failed(self, error: Exception, op: str) -> tuple[LedgerError, list[_Batch]]:
        """Mark the ledger unhealthy after a failed write (or fsync: `op`) of the batch in hand, and fail
        every batch queued behind it (their seqs would leave a gap). Lock held. Returns the error and the
        batches failed."""
        code = getattr(error, "errno", None)
        reach.emit("ledger_write_failed", op=op, errno=code)
        failure = LedgerError(f"ledger write to {self.path} failed: {error}", code)
        self._healthy = False
        self._last_error = str(failure)
        failed = list(self._batches)
        self._batches.clear()
        self._next_seq = self._state.last_seq + 1
        for b in failed:
            b.error = failure
            b.settled = True
        return failure, failed

    def _recover(self) -> None:
        """Repair an unhealthy ledger before appending (waits for the write in progress to finish)."""
        with self._write_lock, self._lock:
            if not self._healthy and not self._closed:
                self._recover_locked()

    def _recover_locked(self) -> None:
        """Cut the failed batch's unacknowledged bytes, re-verify the tail, then write a pending recovery
        record. Both locks held; no batch is in flight (a failure settles every queued batch)."""
        try:
            # The old descriptor may carry the fsync error; a fresh one starts clean.
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
            if self._pending_recovery is None:  # else the recovery record replaces the bytes past _size
                os.ftruncate(self._fd, self._size)
                os.fsync(self._fd)
                size = os.fstat(self._fd).st_size
                if size != self._size:
                    raise OSError(errno_codes.EIO, f"size {size} after truncate, expected {self._size}")
            start = self._offsets[-1] if self._offsets else 0
            with open(self.path, "rb") as fh:
                fh.seek(start)
                tail = fh.read(self._size - start)
            self._probe_write()
        except OSError as exc:
            reach.emit("ledger_recovery_failed", errno=exc.errno)
            self._last_error = f"ledger {self.path} recovery failed: {exc}"
            raise LedgerError(self._last_error, exc.errno) from exc
        last = self._state.last_seq
        probe = scan_bytes(self.path, tail, base_offset=start, first_seq=max(last, 1))
        if probe.tail_offset is not None or len(probe.offsets) != (1 if last else 0):
            self._last_error = f"ledger {self.path} tail does not verify after a failed write"
            raise LedgerCorruption(self.path, start, last, "tail does not verify after a failed write")
        if self._pending_recovery is not None:
            self._write_pending_recovery()
        self._healthy = True

    def _probe_write(self) -> None:
        """Prove a write + fsync goes through again before calling the ledger healthy. Cutting the failed
        bytes only truncates: while every write(2) still fails with EIO that succeeds, and /health said
        `ready` while every order was refused (found by the lab's write-EIO fault, health_truth checker)."""
        probe = self.base_dir / ".write-probe"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            write_all(fd, b"probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(probe)

    def _write_pending_recovery(self) -> None:
        """Write the pending `recovery` record on its own (both locks held, file verified up to `_size`)."""
        payload = self._pending_recovery
        assert payload is not None
        seq = self._state.last_seq + 1
        record: RawLedgerEntry = {  # type: ignore[typeddict-item]
            "seq": seq, "entry_type": EntryType.RECOVERY.value, "intent_id": _NIL_KEY, "payload": payload
        }
        line = _line(seq, EntryType.RECOVERY, _NIL_KEY, utc_now(), _payload_json(payload))
        try:
            # Written over the dropped bytes, then the file cut just past it: on disk the tail is either still
            # there (or a failed prefix of this record: unverifiable, repaired again at the next start) or
            # replaced by its record. A descriptor without O_APPEND: pwrite(2) ignores the offset under it.
            fd = os.open(self.path, os.O_RDWR)
            try:
                written = os.pwrite(fd, line, self._size)
                if written != len(line):
                    raise OSError(errno_codes.ENOSPC, f"short write of the recovery record ({written} bytes)")
                os.ftruncate(fd, self._size + len(line))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self._last_error = f"ledger {self.path}: recovery record not written yet: {exc}"
            raise LedgerError(self._last_error, exc.errno) from exc
        self._settle_ok([line], (record,))
        self._next_seq = seq + 1
        self._pending_recovery = None
        reach.emit("recovery_record_written", seq=seq)

    def probe(self) -> bool:
        """Try to recover an unhealthy ledger without appending (for health checks). Returns `healthy`.

        Never waits for a write in progress: a busy ledger is not an unhealthy one.
        """
        if not self._healthy and self._write_lock.acquire(blocking=False):
            try:
                with self._lock:
                    if not self._healthy and not self._closed:
                        with contextlib.suppress(LedgerError):
                            self._recover_locked()
            finally:
                self._write_lock.release()
        return self._healthy

    @property
    def _queue(self) -> list[RawLedgerEntry]:
        """Records waiting for a write to start (tests line up a batch with it)."""
        with self._lock:
            return [record for batch in self._batches for record in batch.records]

    @property
    def recovery_pending(self) -> bool:
        """A torn tail was found and is still on disk: the record that replaces it is not written yet."""
        return self._pending_recovery is not None

    # -- reading -------------------------------------------------------------------------------------------

    def entries(self, after_seq: int = 0) -> Iterator[LedgerEntry]:
        """Durable records with seq > after_seq, read back from the file (checksums re-checked).

        Read in chunks with the bulk checksum check (the API pages through the ledger this way).
        """
        with self._lock:
            size = self._size
            index = max(after_seq, 0)
            if index >= len(self._offsets):
                return
            start = self._offsets[index]
        seq = index + 1
        validate = LedgerEntry.model_validate_json
        with open(self.path, "rb") as fh:
            fh.seek(start)
            offset = start
            while offset < size:
                data = fh.read(min(_READ_CHUNK, size - offset))
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # one record longer than a chunk
                    data += fh.readline()
                    cut = data.rfind(b"\n") + 1
                if cut == 0 or offset + cut > size:
                    raise LedgerCorruption(self.path, offset, seq, "record cut short")
                fh.seek(offset + cut)
                lines = data[:cut].split(b"\n")
                lines.pop()
                bodies = list(map(_BODY_OF, lines))
                if not _checksums_ok(lines, bodies):
                    i, reason = _first_bad_line(lines) or (0, "checksum mismatch")
                    where = offset + sum(len(line) + 1 for line in lines[:i])
                    raise LedgerCorruption(self.path, where, seq + i, reason)
                for body in bodies:
                    yield validate(body)
                offset += cut
                seq += len(lines)

    def replay(self) -> ReplayState:
        """Positions, intents and last_seq as of the last durable record (a copy: safe to keep)."""
        with self._lock:
            return self._state.copy()

    def positions(self) -> dict[str, float]:
        with self._lock:
            return dict(self._state.positions)

    def intent(self, intent_id: UUID) -> IntentState | None:
        with self._lock:
            state = self._state.intent(intent_id)
            return state.copy() if state is not None else None

    def intent_ids(self, where: Callable[[IntentState], bool]) -> list[UUID]:
        """Ids of the intents `where` accepts, in order of first record (no copies: `where` runs locked)."""
        with self._lock:
            keys = [k for k, state in self._state.by_key.items() if where(state)]
        return [UUID(k) for k in keys]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._state.last_seq

    @property
    def healthy(self) -> bool:
        return self._healthy

    @property
    def last_error(self) -> str | None:
        """The most recent write failure; kept after recovery for diagnosis (`healthy` says if current)."""
        return self._last_error

    def close(self) -> None:
        with self._write_lock, self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)

    def __enter__(self) -> ExecutionLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
