"""The engine's positions (served, and as the ledger file sums them) equal the broker's positions."""

from __future__ import annotations

from chaos_lab.ledger_reader import positions_from
from chaos_lab.models import Observation, Verdict

NAME = "positions_match"
TOLERANCE = 1e-6


def _diff(mine: dict[str, float], broker: dict[str, float]) -> dict[str, dict[str, float]]:
    return {
        sym: {"engine": mine.get(sym, 0.0), "broker": broker.get(sym, 0.0)}
        for sym in sorted(set(mine) | set(broker))
        if abs(mine.get(sym, 0.0) - broker.get(sym, 0.0)) > TOLERANCE
    }


def check(obs: Observation) -> Verdict:
    if obs.engine_state is None:
        return Verdict(name=NAME, ok=False, summary="engine state unavailable after recovery")
    served = {k: float(v) for k, v in obs.engine_state.get("positions", {}).items()}
    drift = {"served": _diff(served, obs.broker_positions)}
    if obs.ledger_file is not None:
        drift["ledger_file"] = _diff(positions_from(obs.ledger_file.records), obs.broker_positions)
    drift = {k: v for k, v in drift.items() if v}
    if drift:
        return Verdict(
            name=NAME,
            ok=False,
            evidence={"drift": drift, "broker": obs.broker_positions},
            summary="position drift on " + ", ".join(sorted({s for d in drift.values() for s in d})),
        )
    return Verdict(
        name=NAME,
        ok=True,
        evidence={"positions": obs.broker_positions},
        summary=f"engine and broker agree on {len(obs.broker_positions)} symbols",
    )
