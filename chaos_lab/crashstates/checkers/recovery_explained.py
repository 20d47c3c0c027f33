"""After a crash the engine starts and serves; if it will not trade, it says why, naming the file (and, for
a damaged ledger, the byte offset), the position drift it found, or the kill-switch reason an operator set.
It must never crash: an
exception out of start-up or a 5xx answer fails this checker."""

from __future__ import annotations

from chaos_lab.checkers.common import judge
from chaos_lab.crashstates.models import CrashObservation, RecoveryResult
from chaos_lab.models import Verdict

NAME = "recovery_explained"


def _explained(reason: str, obs: CrashObservation) -> str | None:
    """None if `reason` explains a refusal, else what is missing."""
    if any(r and r in reason for r in obs.kill_switch_reasons):
        return None
    if "position drift vs broker" in reason:  # names what disagrees; positions_match judges the drift itself
        return None
    if obs.data_dir and obs.data_dir in reason:
        if "ledger" in reason and "corrupt" in reason and "offset" not in reason:
            return "names the ledger but not the byte offset"
        return None
    return "names neither a file under the data directory nor an operator's kill-switch reason"


def _reason(rec: RecoveryResult | None) -> str:
    return str((rec.verify_body or {}).get("reason")) if rec else ""


def check(obs: CrashObservation) -> Verdict:
    rec = obs.recovery
    problems: list[str] = []
    evidence: dict[str, object] = {}
    if rec is None:
        problems.append("no recovery was run")
    elif rec.crash:
        problems.append(f"engine crashed during recovery: {rec.crash.splitlines()[0]}")
        evidence["crash"] = rec.crash
    elif rec.refused_start is not None:
        evidence["refused_start"] = rec.refused_start
        if (why := _explained(rec.refused_start, obs)) is not None:
            problems.append(f"refused to start: {why}: {rec.refused_start!r}")
    else:
        evidence.update(
            verify_status=rec.verify_status,
            verify_body=rec.verify_body,
            reconciled=rec.reconciled,
            health=rec.health,
        )
        if rec.server_errors:
            problems.append(f"{len(rec.server_errors)} server errors: {rec.server_errors[0]}")
        if rec.verify_status != 200:
            reason = str((rec.verify_body or {}).get("reason") or "")
            if not reason:
                problems.append(f"refused a signal ({rec.verify_status}) without a reason")
            elif (why := _explained(reason, obs)) is not None:
                problems.append(f"refused to trade ({rec.verify_status}): reason {why}: {reason!r}")
    return judge(
        NAME,
        problems,
        evidence,
        lambda: (
            "recovered and trades"
            if rec and rec.verify_status == 200
            else f"recovered, refuses to trade and says why: {_reason(rec)}"
        ),
    )
