"""Fail closed on damaged state: after recovery the kill switch is active, every signal sent to verify is
rejected and none reaches the broker. With `reason_names_offset` the kill-switch reason must name the byte
offset of the ledger record the nemesis corrupted, so an operator knows where to look.

A verification signal left unanswered (the client's read timeout: `info`) is neither a refusal nor an
acceptance: on a loaded host a just-restarted engine can take longer than the client waits (the explorer
hit this at load 30, the signal never reached the broker). It is judged by what it did: reaching the broker
fails the check; and at least one signal must be answered with a refusal."""

from __future__ import annotations

from chaos_lab.checkers.common import coid_for, fault_results, judge
from chaos_lab.effects import Effect
from chaos_lab.models import Observation, Verdict

NAME = "refuses_to_trade"


def check(obs: Observation, reason_names_offset: bool = False) -> Verdict:
    ks = obs.kill_switch_after
    verify = [op for op in obs.history if op.process == "verify" and op.f == "signal" and op.type != "invoke"]
    attempted = {a.client_order_id for a in obs.broker_attempts}
    accepted = [str(op.intent_id) for op in verify if op.type == "ok"]
    refused = [op for op in verify if op.type == "fail"]
    sent = [
        str(op.intent_id) for op in verify if op.intent_id is not None and coid_for(op.intent_id) in attempted
    ]
    evidence: dict[str, object] = {
        "kill_switch": ks.model_dump() if ks else None,
        "verify_signals": len(verify),
        "not_rejected": accepted,
        "reached_broker": sent,
        "statuses": [op.status_code for op in verify],
        "unanswered": sum(op.type == "info" for op in verify),
    }
    problems = []
    if not verify:
        problems.append("no verification signal was sent")
    elif not refused:
        problems.append("no verification signal was answered with a refusal")
    if ks is None or not ks.active:
        problems.append("kill switch not active after recovery")
    if accepted:
        problems.append(f"{len(accepted)} verification signals were not rejected")
    if sent:
        problems.append(f"{len(sent)} verification signals reached the broker")
    if reason_names_offset:
        flips = fault_results(obs, Effect.LEDGER_CORRUPT)
        if not flips:
            problems.append("no ledger corruption was injected")
        else:
            offset = flips[-1]["record_offset"]
            evidence["corrupted_offset"] = offset
            if ks is None or str(offset) not in (ks.reason or ""):
                problems.append(
                    f"kill-switch reason does not name offset {offset}: {ks.reason if ks else None!r}"
                )
    return judge(
        NAME,
        problems,
        evidence,
        lambda: f"refuses to trade ({len(refused)}/{len(verify)} rejected): {ks.reason if ks else ''}",
    )
