"""An independent reader of the engine's ledger file (docs/interfaces.md, "Ledger file format").

Deliberately written from the spec, not imported from solat_engine: if the engine's own reader had a bug that
accepted a corrupt record, reusing it here would hide that bug from the checkers.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from typing import Any
from uuid import UUID

from chaos_lab.models import LedgerIssue, LedgerRecord, LedgerScan

# Where the engine keeps them, under its data directory.
LEDGER_PATH, SNAPSHOT_PATH = "ledger/ledger.log", "snapshots/positions.json"
_CRC = re.compile(rb"^[0-9a-f]{8}$")
_REQUIRED = {"seq", "entry_type", "intent_id", "timestamp", "payload"}


def _parse_line(offset: int, line: bytes) -> LedgerRecord | LedgerIssue:
    """One complete line (without its newline) into a record, or the issue that makes it unreadable."""
    crc_hex, sep, body = line.partition(b" ")
    if not sep or not _CRC.match(crc_hex):
        return LedgerIssue(offset=offset, kind="bad_format", detail="line is not '<crc8hex> <json>'")
    actual = zlib.crc32(body) & 0xFFFFFFFF
    if actual != int(crc_hex, 16):
        return LedgerIssue(
            offset=offset,
            kind="bad_checksum",
            detail=f"crc {crc_hex.decode()} recorded, {actual:08x} computed over {len(body)} bytes",
        )
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return LedgerIssue(offset=offset, kind="bad_json", detail=str(exc)[:200])
    if not isinstance(obj, dict) or not obj.keys() >= _REQUIRED:
        return LedgerIssue(
            offset=offset,
            kind="bad_record",
            detail=f"missing fields {_REQUIRED - set(obj)}" if isinstance(obj, dict) else "not an object",
        )
    try:
        return LedgerRecord(
            offset=offset,
            length=len(line) + 1,
            seq=int(obj["seq"]),
            entry_type=str(obj["entry_type"]),
            intent_id=UUID(str(obj["intent_id"])),
            timestamp=str(obj["timestamp"]),
            payload=dict(obj["payload"]),
        )
    except (TypeError, ValueError) as exc:
        return LedgerIssue(offset=offset, kind="bad_record", detail=str(exc)[:200], seq=obj.get("seq"))


def scan_ledger(data: bytes, path: str = LEDGER_PATH) -> LedgerScan:
    """Every record with its byte offset, and every issue: bad checksum, bad JSON, seq gap, torn tail.

    A final fragment without a newline is a `torn_tail` (a write cut short by a crash); the engine is expected
    to repair that and only that. Anything bad followed by good records is corruption.
    """
    scan = LedgerScan(path=path, size=len(data))
    offset = 0
    expected_seq: int | None = 1
    while offset < len(data):
        end = data.find(b"\n", offset)
        if end == -1:
            scan.issues.append(
                LedgerIssue(
                    offset=offset,
                    kind="torn_tail",
                    detail=f"{len(data) - offset} bytes without a newline at the end",
                )
            )
            break
        parsed = _parse_line(offset, data[offset:end])
        if isinstance(parsed, LedgerIssue):
            scan.issues.append(parsed)
            expected_seq = None  # the unreadable record's seq is unknown: resynchronise on the next one
        else:
            if expected_seq is not None and parsed.seq != expected_seq:
                scan.issues.append(
                    LedgerIssue(
                        offset=offset,
                        kind="seq_gap",
                        seq=parsed.seq,
                        detail=f"seq {parsed.seq} where {expected_seq} was expected",
                    )
                )
            expected_seq = parsed.seq + 1
            scan.records.append(parsed)
        offset = end + 1
    return scan


def record_bounds(data: bytes) -> list[tuple[int, int]]:
    """(offset, length including newline) of each complete line: where the file faults aim."""
    bounds: list[tuple[int, int]] = []
    offset = 0
    while True:
        end = data.find(b"\n", offset)
        if end == -1:
            return bounds
        bounds.append((offset, end + 1 - offset))
        offset = end + 1


def positions_from(records: list[LedgerRecord]) -> dict[str, float]:
    """Positions as the spec defines them: the sum over fill and reconciled records, BUY + / SELL -."""
    positions: dict[str, float] = {}
    for rec in records:
        if rec.entry_type not in ("fill", "reconciled"):
            continue
        sign = 1.0 if rec.payload.get("side") == "BUY" else -1.0
        symbol = str(rec.payload.get("symbol"))
        positions[symbol] = positions.get(symbol, 0.0) + sign * float(rec.payload.get("quantity", 0.0))
    return positions


def encode_record(obj: dict[str, object]) -> bytes:
    """A well-formed ledger line for `obj` (used by tests and by nothing that writes the real ledger)."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    return f"{zlib.crc32(body) & 0xFFFFFFFF:08x} ".encode() + body + b"\n"


def read_snapshot(read: Callable[[], bytes]) -> dict[str, Any] | None:
    """The position snapshot file as JSON; None when there is none or it does not parse (another checker's
    business: the engine ignores an unreadable snapshot and says so)."""
    try:
        body = json.loads(read())
    except Exception:  # missing (FileNotFoundError, a lab that cannot read it) or not JSON
        return None
    return body if isinstance(body, dict) else None
