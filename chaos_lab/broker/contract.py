"""The fake broker's own contract, checked on its record after every scenario.

The lab trusts the broker's record (`/admin/attempts`, `/admin/orders`, `/admin/positions`) as ground truth:
if the broker itself broke its contract, every verdict built on it is worthless, so a broken clause is a LAB
ERROR (the runner's `collect: BrokerContractBroken: <clause>`), never a pass and never the engine's fault.

Clauses (pure functions of the Observation):
- attempts' `seq` strictly increasing (in the order served);
- at most one order per client order id;
- every order placed during the run has exactly one `filled` attempt under its id, a seeded one (in the book
  before the run, `/admin/seed`) none, and a `duplicate` attempt refers to an order that exists (and whose
  `filled` attempt came before it);
- positions equal the sum of the filled orders per symbol (+quantity BUY, -quantity SELL).
"""

from __future__ import annotations

import itertools
from collections import Counter

from chaos_lab.models import Observation, RunnerError

TOLERANCE = 1e-6  # quantities are floats summed in SQLite: compare as the checkers do


class BrokerContractBroken(RuntimeError):
    """The fake broker's record contradicts its own contract: the lab, not the engine, is broken."""


def broken_clauses(obs: Observation) -> list[str]:
    """Every broken clause, one line each (empty: the record keeps the contract)."""
    problems: list[str] = []
    seqs = [a.seq for a in obs.broker_attempts]
    bad_seq = [(a, b) for a, b in itertools.pairwise(seqs) if b <= a]
    if bad_seq:
        problems.append(f"attempt seq not strictly increasing ({bad_seq[0][0]} then {bad_seq[0][1]})")
    per_coid = Counter(o.client_order_id for o in obs.broker_orders)
    several = sorted(c for c, n in per_coid.items() if n > 1)
    if several:
        problems.append(f"{len(several)} client order ids with several orders (first {several[0]})")
    filled_at: dict[str, int] = {}
    filled: Counter[str] = Counter()
    for a in obs.broker_attempts:
        if a.outcome == "filled":
            filled[a.client_order_id] += 1
            filled_at.setdefault(a.client_order_id, a.seq)
    seeded = {o.client_order_id for o in obs.broker_orders if o.seeded}
    no_fill = sorted(c for c in per_coid if filled[c] == 0 and c not in seeded)
    if no_fill:
        problems.append(f"{len(no_fill)} orders without a filled attempt (first {no_fill[0]})")
    seeded_filled = sorted(c for c in seeded if filled[c])
    if seeded_filled:
        problems.append(f"{len(seeded_filled)} seeded orders filled again (first {seeded_filled[0]})")
    refilled = sorted(c for c, n in filled.items() if n > 1)
    if refilled:
        problems.append(f"{len(refilled)} client order ids filled by several attempts (first {refilled[0]})")
    orphans = sorted(c for c in filled if c not in per_coid)
    if orphans:
        problems.append(f"{len(orphans)} filled attempts without an order (first {orphans[0]})")
    dangling = sorted(
        {a.client_order_id for a in obs.broker_attempts
         if a.outcome == "duplicate" and (a.client_order_id not in per_coid
                                          or filled_at.get(a.client_order_id, a.seq) > a.seq)
         and a.client_order_id not in seeded}
    )
    if dangling:
        problems.append(
            f"{len(dangling)} duplicate attempts referring to no earlier order (first {dangling[0]})"
        )
    expected: dict[str, float] = {}
    for o in obs.broker_orders:
        expected[o.symbol] = expected.get(o.symbol, 0.0) + (o.quantity if o.side == "BUY" else -o.quantity)
    off = sorted(
        s for s in set(expected) | set(obs.broker_positions)
        if abs(expected.get(s, 0.0) - obs.broker_positions.get(s, 0.0)) > TOLERANCE
    )
    if off:
        s = off[0]
        problems.append(
            f"positions differ from the sum of filled orders for {len(off)} symbols "
            f"({s}: positions {obs.broker_positions.get(s, 0.0):g}, orders {expected.get(s, 0.0):g})"
        )
    return problems


def verify(obs: Observation) -> None:
    """Raise BrokerContractBroken naming every broken clause; return quietly when the record keeps it."""
    problems = broken_clauses(obs)
    if problems:
        raise BrokerContractBroken("; ".join(problems))


def run_error(obs: Observation, error: RunnerError | None) -> RunnerError | None:
    """The runner's error after collect: unchanged when the broker kept its contract, else a lab error
    (`collect: BrokerContractBroken: <clauses>`, after the first error if there was one)."""
    problems = broken_clauses(obs)
    if not problems:
        return error
    return RunnerError.lab(error, "collect", BrokerContractBroken.__name__, "; ".join(problems))


__all__ = ["BrokerContractBroken", "broken_clauses", "run_error", "verify"]
