"""An active kill switch survives a crash: state and reason after restart equal what they were before.
With `same_reason=False` (its file was corrupted on purpose) only "still active" is required: failing
closed."""

from __future__ import annotations

from chaos_lab.models import Observation, Verdict

NAME = "kill_switch_persisted"


def check(obs: Observation, same_reason: bool = True) -> Verdict:
    before, after = obs.kill_switch_before, obs.kill_switch_after
    evidence = {
        "before": before.model_dump() if before else None,
        "after": after.model_dump() if after else None,
    }
    if before is None or not before.active:
        return Verdict(
            name=NAME,
            ok=False,
            evidence=evidence,
            summary="the kill switch was not observed active before the crash: nothing was tested",
        )
    if after is None:
        return Verdict(name=NAME, ok=False, evidence=evidence, summary="kill switch unreadable after restart")
    if not after.active:
        return Verdict(
            name=NAME,
            ok=False,
            evidence=evidence,
            summary=f"kill switch lost: active before ({before.reason!r}), inactive after restart",
        )
    if same_reason and after.reason != before.reason:
        return Verdict(
            name=NAME,
            ok=False,
            evidence=evidence,
            summary=f"kill switch reason changed: {before.reason!r} -> {after.reason!r}",
        )
    return Verdict(
        name=NAME, ok=True, evidence=evidence, summary=f"still active after restart: {after.reason!r}"
    )
