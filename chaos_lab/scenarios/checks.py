"""The checker sets the scenario modules share, so the core invariants are named in one place."""

from __future__ import annotations

from typing import Any

from chaos_lab.models import CheckerSpec


def _c(name: str, **params: Any) -> CheckerSpec:
    return CheckerSpec(name=name, params=params)


# Hold on every run of the correct engine: no order without a request running for it, no new order while the
# kill switch (the operator's or the engine's own) is on, and a balance read before every order (the
# engine's 300 s limit: longer than any run).
INVARIANTS = (
    _c("no_unrequested_orders"),
    _c("kill_switch_honoured", require_activation=False),
    _c("balance_fresh", require_orders=False),
    _c("snapshot_consistent"),
)
CORE = (
    _c("no_lost_acks"),
    _c("no_duplicates"),
    _c("no_phantoms"),
    _c("positions_match"),
    _c("ledger_integrity"),
    # Invariants of any run, whatever its fault (each passes with nothing to judge): a bug that needs two
    # conditions at once is caught where it shows, not only where a scenario was written for it.
    *INVARIANTS,
)
AVAILABLE = _c("availability", recover_within_s=20.0)
