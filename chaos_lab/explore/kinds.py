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
    # "process" (one at a time), "file" (engine stopped around it), "link", "disk", "clock", "resource",
    # "broker": every role but process and file may overlap any other fault
    role: str
    terminal: bool = False  # after it the engine must refuse to trade: nothing may follow
    weight: float = 1.0  # file faults are slow (stop, damage, start) and ledger corruption ends a schedule
    # set inside the running engine process (libfiu point, libfaketime file in its /tmp): it cannot strike a
    # stopped or paused engine, and a restart undoes it
    in_process: bool = False


def _cpu_starve(rng: random.Random) -> dict[str, Any]:
    """A CPU share and a CFS period: 1 s periods stall in-flight work ~1 s at a time, 0.1 s ones slow it
    evenly. One draw of three, as before periods were drawn: earlier seeds keep the rest of their schedule."""
    fraction, period = rng.choice([(0.05, 1.0), (0.1, 0.1), (0.25, 0.1)])
    return {"cpu_fraction": fraction, "period_s": period}


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
    # syscall faults with free disk (libfiu): the ledger's fsync or every write fails, once or for a while
    "fsync_eio": KindRule(lambda r: {}, (0.5, 3.0), "disk", in_process=True),
    "fsync_eio_once": KindRule(lambda r: {}, (0.3, 1.0), "disk", in_process=True),
    "write_eio": KindRule(lambda r: {}, (0.5, 1.5), "disk", in_process=True),
    # the engine's wall clock (libfaketime): a step past the balance age limit or backwards, or running fast
    "clock_step": KindRule(
        lambda r: {"offset_s": r.choice([301.0, 3600.0, -400.0])}, (0.5, 3.0), "clock", in_process=True
    ),
    "clock_fast": KindRule(lambda r: {"rate": r.choice([5.0, 10.0])}, (0.5, 3.0), "clock", in_process=True),
    # cgroup limits: a starved CPU, and an OOM kill mid-burst (it stops the engine: one process fault)
    "cpu_starve": KindRule(_cpu_starve, (1.0, 4.0), "resource"),
    "memory_oom": KindRule(lambda r: {}, (0.1, 1.0), "process", weight=0.5),
    # a broker that commits the order and then fails to say so
    "broker_ambiguity": KindRule(
        lambda r: {
            "mode": r.choice(["commit_then_5xx", "commit_then_drop", "commit_then_late", "partial_fill"]),
            "probability": r.choice([0.3, 0.6]),
            "seed": r.randint(1, 10_000),
        },
        (1.0, 4.0),
        "broker",
    ),
}


def explorable(wanted: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(kinds the explorer draws from, kinds of the lab it has no rule for). `wanted` narrows the first."""
    kinds = sorted(FAULT_KINDS if wanted is None else set(wanted) & FAULT_KINDS)
    return [k for k in kinds if k in RULES], [k for k in sorted(FAULT_KINDS) if k not in RULES]


# Toxics through which no request to the broker completes within the engine's 3 s read timeout: a GET is
# refused, reset, cut or answered too late. A crash under one of these restarts the engine into a start-up
# reconcile that cannot ask the broker anything; a 500 ms latency, which reconcile survives, tests nothing.
BREAKING_TOXICS: tuple[dict[str, Any], ...] = (
    {"type": "timeout", "attributes": {"timeout": 0}},
    {"type": "reset_peer", "attributes": {"timeout": 0}},
    {"type": "limit_data", "attributes": {"bytes": 16}},
    {"type": "latency", "attributes": {"latency": 4000, "jitter": 0}},
)


def breaking_link(kind: str, rng: random.Random) -> dict[str, Any] | None:
    """Parameters for a link fault that fails every request while it holds (None: the kind has none)."""
    if kind == "proxy_down":
        return {}
    if kind != "toxic":
        return None
    toxic = rng.choice(BREAKING_TOXICS)
    return {**toxic, "stream": rng.choice(["upstream", "downstream"]), "toxicity": 1.0}


def outlives_restart(kind: str) -> bool:
    """A disk or link fault whose state the engine meets again when it restarts (a full filesystem, a broken
    link): recovery under it is what start-up reconcile and the file reads must survive."""
    rule = RULES[kind]
    return rule.role in ("disk", "link") and not rule.in_process


def stops_engine(kind: str) -> bool:
    return kind in ENGINE_STOPPING
