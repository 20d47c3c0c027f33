"""After the experiment: everything the checkers judge, each source read on its own (one missing must not hide
the others), plus the containers' logs for the report."""

from __future__ import annotations

from datetime import datetime

import requests

from chaos_lab.experiment.context import ExperimentContext
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import LEDGER, SNAPSHOT, read_data_file
from chaos_lab.ledger_reader import read_snapshot, scan_ledger
from chaos_lab.models import KillSwitchState, Observation

SERVICES = ("engine", "broker", "toxiproxy")


def collect(ctx: ExperimentContext) -> Observation:
    obs = Observation(
        scenario=ctx.scenario.name,
        history=ctx.history.ops,
        kill_switch_before=ctx.kill_switch_before,
        recovered_at=ctx.recovered_at,
        last_heal_at=ctx.last_heal_at,
        start_ledger=ctx.captured.ledger if ctx.captured is not None else None,
    )
    try:
        obs.ledger_api = ctx.client.ledger()
    except (requests.RequestException, RuntimeError, KeyError):
        obs.ledger_api = None
    try:
        obs.engine_state = ctx.client.state()
        obs.kill_switch_after = KillSwitchState.model_validate(obs.engine_state["kill_switch"])
    except (requests.RequestException, KeyError, ValueError):
        obs.engine_state = None
    obs.snapshot = read_snapshot(lambda: read_data_file(ctx.lab, SNAPSHOT))  # before the ledger: never ahead
    try:
        obs.ledger_file = scan_ledger(read_data_file(ctx.lab, LEDGER), path=LEDGER)
    except Exception:  # the file may be missing or the engine down; the checkers say so
        obs.ledger_file = None
    try:
        # One consistent snapshot of the broker's record (its contract is checked on it): read again while
        # an order arrived between the reads (a request still in flight when the workload stopped).
        for _ in range(3):
            obs.broker_attempts = ctx.broker.attempts()
            obs.broker_orders = ctx.broker.orders()
            obs.broker_positions = ctx.broker.positions()
            if len(ctx.broker.attempts()) == len(obs.broker_attempts):
                break
    except requests.RequestException:
        pass
    try:
        obs.broker_knob_hits = ctx.broker.knob_hits()
        obs.broker_account_reads = ctx.broker.account_reads()
    except requests.RequestException:
        pass
    return obs


def logs(lab: Lab, since: datetime | None = None) -> dict[str, str]:
    """Each service's log from `since` on (the scenario's start), each line stamped by the runtime."""
    out: dict[str, str] = {}
    for service in SERVICES:
        try:
            out[service] = lab.logs(service, since=since)
        except Exception as exc:
            out[service] = f"(logs unavailable: {exc})"
    return out
