"""The ledger file, read from the volume by chaos_lab's own reader: checksums valid, seq contiguous, no torn
tail. The only damage allowed is a torn tail the engine repaired (a `recovery` record naming the offset and
byte count it dropped). With `expect_corruption=True` (a record flipped mid-file) the file must be left
untouched: exactly that one bad record, at the offset the fault hit, the good records after it kept.
The API's view must agree with the file record for record."""

from __future__ import annotations

from chaos_lab.checkers.common import clip, fault_results
from chaos_lab.effects import Effect
from chaos_lab.models import LedgerScan, Observation, Verdict

NAME = "ledger_integrity"


def _api_disagreements(obs: Observation, scan: LedgerScan) -> list[str]:
    if obs.ledger_api is None:
        return []
    file_rows = {(r.seq, r.entry_type, str(r.intent_id)) for r in scan.records}
    api_rows = {(int(e["seq"]), str(e["entry_type"]), str(e["intent_id"])) for e in obs.ledger_api}
    return [f"only in file: seq {s}" for s, _, _ in sorted(file_rows - api_rows)] + [
        f"only in API: seq {s}" for s, _, _ in sorted(api_rows - file_rows)
    ]


def _repairs_match(scan: LedgerScan, tears: list[dict[str, object]]) -> list[str]:
    """Every tear the nemesis made must show up as a recovery record with the same offset and byte count."""
    recoveries = [r.payload for r in scan.records if r.entry_type == "recovery"]
    problems = []
    for tear in tears:
        if not any(
            p.get("dropped_offset") == tear["record_offset"]
            and p.get("dropped_bytes") == tear["dropped_bytes"]
            for p in recoveries
        ):
            problems.append(
                f"tear at offset {tear['record_offset']} ({tear['dropped_bytes']} bytes) has no matching "
                f"recovery record; recovery records: {recoveries}"
            )
    return problems


def check(obs: Observation, expect_corruption: bool = False) -> Verdict:
    scan = obs.ledger_file
    if scan is None:
        return Verdict(name=NAME, ok=False, summary="ledger file could not be read from the volume")
    evidence: dict[str, object] = {
        "path": scan.path,
        "size": scan.size,
        "records": len(scan.records),
        "issues": [i.model_dump() for i in clip(scan.issues)],
    }
    flips = fault_results(obs, Effect.LEDGER_CORRUPT)
    if expect_corruption:
        if not flips:
            return Verdict(
                name=NAME, ok=False, evidence=evidence, summary="no ledger corruption was injected"
            )
        offset = flips[-1]["record_offset"]
        evidence["corrupted_offset"] = offset
        bad = [i for i in scan.issues if i.kind != "seq_gap"]
        if [(i.kind, i.offset) for i in bad] != [("bad_checksum", offset)]:
            return Verdict(
                name=NAME,
                ok=False,
                evidence=evidence,
                summary=f"expected exactly one bad checksum at offset {offset}, found "
                f"{[(i.kind, i.offset) for i in bad]}",
            )
        if flips[-1]["records"] != len(scan.records) + 1:
            return Verdict(
                name=NAME,
                ok=False,
                evidence=evidence,
                summary=f"file changed after corruption: {flips[-1]['records']} records before, "
                f"{len(scan.records)} good + 1 bad now",
            )
        return Verdict(
            name=NAME,
            ok=True,
            evidence=evidence,
            summary=f"corrupt record at offset {offset} left untouched, "
            f"{len(scan.records)} good records kept",
        )
    problems = [f"{i.kind} at offset {i.offset}: {i.detail}" for i in scan.issues]
    problems += _repairs_match(scan, fault_results(obs, Effect.LEDGER_TORN))
    problems += _api_disagreements(obs, scan)
    evidence["recoveries"] = [r.payload for r in scan.records if r.entry_type == "recovery"]
    if problems:
        return Verdict(
            name=NAME,
            ok=False,
            evidence={**evidence, "problems": clip(problems)},
            summary=f"{len(problems)} ledger problems, first: {problems[0]}",
        )
    return Verdict(
        name=NAME,
        ok=True,
        evidence=evidence,
        summary=f"{len(scan.records)} records, checksums and seq valid"
        + (f", {len(evidence['recoveries'])} repaired tail(s)" if evidence["recoveries"] else ""),
    )
