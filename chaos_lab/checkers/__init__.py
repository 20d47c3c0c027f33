"""Checkers: one module per invariant, each `check(obs, **params) -> Verdict`, pure functions of what was
observed (history, ledger file, broker record, engine state) so they can be tested without Docker."""

from __future__ import annotations

from collections.abc import Callable

from chaos_lab.checkers import (
    availability,
    balance_fresh,
    clock_safety,
    corrupt_file_reported,
    fail_closed,
    fsync_fatal,
    health_truth,
    idle_quiet,
    kill_switch_honoured,
    kill_switch_persisted,
    ledger_integrity,
    no_duplicates,
    no_false_rejects,
    no_lost_acks,
    no_phantoms,
    no_unrequested_orders,
    positions_match,
    refuses_to_trade,
    resources_bounded,
    snapshot_consistent,
    snapshots_resume,
    start_state_kept,
)
from chaos_lab.models import CheckerSpec, Observation, Verdict

CHECKERS: dict[str, Callable[..., Verdict]] = {
    m.NAME: m.check
    for m in (
        no_lost_acks,
        no_duplicates,
        no_phantoms,
        positions_match,
        ledger_integrity,
        kill_switch_persisted,
        fail_closed,
        availability,
        refuses_to_trade,
        corrupt_file_reported,
        fsync_fatal,
        health_truth,
        no_false_rejects,
        clock_safety,
        balance_fresh,
        kill_switch_honoured,
        snapshots_resume,
        no_unrequested_orders,
        start_state_kept,
        resources_bounded,
        idle_quiet,
        snapshot_consistent,
    )
}


def run_checkers(specs: list[CheckerSpec] | tuple[CheckerSpec, ...], obs: Observation) -> list[Verdict]:
    """Every checker runs even if one crashes: a crash is a failed verdict naming the exception."""
    verdicts = []
    for spec in specs:
        try:
            verdicts.append(CHECKERS[spec.name](obs, **spec.params))
        except Exception as exc:
            verdicts.append(
                Verdict(
                    name=spec.name,
                    ok=False,
                    summary=f"checker crashed: {type(exc).__name__}: {exc}",
                    evidence={"params": spec.params},
                )
            )
    return verdicts


def known(name: str) -> bool:
    return name in CHECKERS


__all__ = ["CHECKERS", "known", "run_checkers"]
