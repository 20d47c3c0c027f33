"""The tests' own reader of `ledger/ledger.log` (docs/interfaces.md format), independent of the engine's,
so an engine bug in reading its ledger cannot hide itself from the tests."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

POSITION_TYPES = {"fill", "reconciled"}
TERMINAL_TYPES = {"fill", "reconciled", "reject", "not_sent"}


def read_ledger(data_dir: Path, allow_torn_tail: bool = False) -> list[dict[str, Any]]:
    """Records in file order; a bad record is an AssertionError naming the byte offset."""
    raw = (data_dir / "ledger" / "ledger.log").read_bytes()
    records: list[dict[str, Any]] = []
    offset = 0
    for line in raw.splitlines(keepends=True):
        body = line.rstrip(b"\n")
        ok = line.endswith(b"\n") and len(body) > 9 and body[:8] == b"%08x" % zlib.crc32(body[9:])
        if not ok:
            if allow_torn_tail and offset + len(line) == len(raw):
                break
            raise AssertionError(f"bad ledger record at byte offset {offset}: {line[:80]!r}")
        records.append(json.loads(body[9:]))
        offset += len(line)
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(1, len(seqs) + 1)), f"ledger seqs not contiguous: {seqs[:20]}"
    return records


def positions(records: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in records:
        if r["entry_type"] in POSITION_TYPES:
            p = r["payload"]
            signed = p["quantity"] if p["side"] == "BUY" else -p["quantity"]
            out[p["symbol"]] = out.get(p["symbol"], 0.0) + signed
    return {s: q for s, q in out.items() if abs(q) > 1e-9}


def types_by_intent(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in records:
        if r["entry_type"] not in ("recovery", "kill_switch"):
            out.setdefault(r["intent_id"], []).append(r["entry_type"])
    return out


def open_intents(records: list[dict[str, Any]]) -> set[str]:
    return {i for i, types in types_by_intent(records).items() if not TERMINAL_TYPES & set(types)}
