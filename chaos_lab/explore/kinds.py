"""Per fault kind: how the explorer draws its parameters and how long it holds. Kinds come from the catalogue
(`FAULT_KINDS`), so a kind added on another branch joins the exploration as soon as it has a row here; a kind
without one is listed in the run report as not explored rather than guessed at."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chaos_lab.faults.catalog import ENGINE_STOPPING, FAULT_KINDS


@dataclass(frozen=True)
class KindRule:
    params: Callable[[random.Random], dict[str, Any]]
    hold: tuple[float, float]  # seconds the fault stays on (engine down time for a kill)
    role: str  # "process" (one at a time), "file" (engine stopped around it), "link", "disk"
    terminal: bool = False  # after it the engine must refuse to trade: nothing may follow
    weight: float = 1.0  # file faults are slow (stop, damage, start) and ledger corruption ends a schedule


def _toxic(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["latency", "timeout", "reset_peer", "bandwidth", "slicer", "limit_data", "slow_close"])
    stream = rng.choice(["upstream", "downstream"])
    attributes: dict[str, Any] = {
        "latency": {"latency": rng.choice([500, 2000, 4000]), "jitter": rng.choice([0, 200])},
        "timeout": {"timeout": rng.choice([0, 500, 2000])},
        "reset_peer": {"timeout": rng.choice([0, 100])},
        "bandwidth": {"rate": rng.choice([1, 4])},
        "slicer": {"average_size": rng.choice([1, 8]), "size_variation": 0, "delay": rng.choice([500, 2000])},
        "limit_data": {"bytes": rng.choice([16, 64, 256])},
        "slow_close": {"delay": rng.choice([500, 2000])},
    }[kind]
    # Below 1, only some connections are hit: a reconcile may read the balance and then fail on an order.
    return {"type": kind, "stream": stream, "attributes": attributes, "toxicity": rng.choice([1.0, 1.0, 0.5])}


RULES: dict[str, KindRule] = {
    "disk_fill": KindRule(lambda r: {"leave_bytes": r.choice([0, 0, 4096, 65536])}, (0.5, 3.0), "disk"),
    "kill": KindRule(
        lambda r: {"signal": r.choice(["SIGKILL", "SIGKILL", "SIGTERM"])}, (0.1, 1.5), "process"
    ),
    "stop": KindRule(lambda r: {}, (0.2, 1.5), "process"),
    "restart": KindRule(lambda r: {}, (0.0, 0.5), "process"),
    # up to 7 s: longer than the client's 5 s read timeout, so in-flight signals end in doubt
    "pause": KindRule(lambda r: {}, (0.5, 7.0), "process"),
    "toxic": KindRule(_toxic, (0.5, 4.0), "link"),
    "proxy_down": KindRule(lambda r: {}, (0.5, 3.0), "link"),
    "tear_ledger_tail": KindRule(
        lambda r: {"fraction": round(r.uniform(0.05, 0.95), 3)}, (0.0, 0.0), "file", weight=0.5
    ),
    "flip_ledger_byte": KindRule(
        lambda r: {
            "record_fraction": round(r.uniform(0.0, 0.99), 3),
            "byte_fraction": round(r.uniform(0.0, 0.99), 3),
        },
        (0.0, 0.0),
        "file",
        terminal=True,
        weight=0.3,
    ),
    "truncate_parquet": KindRule(
        lambda r: {"symbol": "EURUSD", "timeframe": "M1", "fraction": round(r.uniform(0.2, 0.9), 3)},
        (0.0, 0.0),
        "file",
        weight=0.3,
    ),
    "corrupt_kill_switch": KindRule(lambda r: {}, (0.0, 0.0), "file", weight=0.5),
}


def explorable(wanted: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(kinds the explorer draws from, kinds of the lab it has no rule for). `wanted` narrows the first."""
    kinds = sorted(FAULT_KINDS if wanted is None else set(wanted) & FAULT_KINDS)
    return [k for k in kinds if k in RULES], [k for k in sorted(FAULT_KINDS) if k not in RULES]


def stops_engine(kind: str) -> bool:
    return kind in ENGINE_STOPPING
