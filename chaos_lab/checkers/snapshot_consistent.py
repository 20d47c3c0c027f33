"""The position snapshot on disk agrees with the ledger it summarises: its positions equal the sum of the
ledger's fill and reconciled records up to its own `last_seq`, and it is never ahead of the ledger.

A snapshot is a checkpoint of the log; the engine serves positions from the ledger, so a wrong snapshot does
not show in any answer until something trusts it: a recovery that starts from it, an operator's tool, the next
release. A snapshotter that starts from a stale checkpoint, counts a fill twice or flips a sign writes a file
that looks fine. Judged after recovery (and after each crash state's recovery); with no snapshot, or a ledger
the lab's reader found damaged, there is nothing to judge."""

from __future__ import annotations

from chaos_lab.checkers.common import judge, unknown
from chaos_lab.ledger_reader import positions_from
from chaos_lab.models import Observation, Verdict

NAME = "snapshot_consistent"
TOLERANCE = 1e-6


def check(obs: Observation) -> Verdict:
    snap, ledger = obs.snapshot, obs.ledger_file
    if snap is None or ledger is None or ledger.issues:
        why = "no snapshot" if snap is None else "no readable ledger"
        return unknown(NAME, why)
    last_seq = int(snap.get("last_seq", 0))
    held = {str(k): float(v) for k, v in (snap.get("positions") or {}).items()}
    records = [r for r in ledger.records if r.seq <= last_seq]
    folded = positions_from(records)
    top = max((r.seq for r in ledger.records), default=0)
    problems: list[str] = []
    if last_seq > top:
        problems.append(f"the snapshot is at seq {last_seq}, ahead of the ledger (last seq {top})")
    drift = {
        s: {"snapshot": held.get(s, 0.0), "ledger": folded.get(s, 0.0)}
        for s in sorted(set(held) | set(folded))
        if abs(held.get(s, 0.0) - folded.get(s, 0.0)) > TOLERANCE
    }
    if drift:
        problems.append(
            f"the snapshot at seq {last_seq} differs from the ledger's sum up to it on " + ", ".join(drift)
        )
    evidence = {"last_seq": last_seq, "ledger_last_seq": top, "drift": drift}
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"the snapshot at seq {last_seq} equals the ledger's sum up to it ({len(held)} symbols)",
    )
