"""The checker sets the scenario modules share, so the core invariants are named in one place."""

from __future__ import annotations

from typing import Any

from chaos_lab.models import CheckerSpec


def _c(name: str, **params: Any) -> CheckerSpec:
    return CheckerSpec(name=name, params=params)


CORE = (
    _c("no_lost_acks"),
    _c("no_duplicates"),
    _c("no_phantoms"),
    _c("positions_match"),
    _c("ledger_integrity"),
)
AVAILABLE = _c("availability", recover_within_s=20.0)
