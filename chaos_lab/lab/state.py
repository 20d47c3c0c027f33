"""Lab state that triggers a fault ("when the ledger reaches B bytes", "when the broker has its K-th order"),
read through DockerLab and the broker's admin view only: state-triggered faults narrow the gap between a
replayed plan and the engine's own timing."""

from __future__ import annotations

import os

from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import LEDGER, query_data
from chaos_lab.workload.client import BrokerAdmin

DEFAULT_TOKEN = "lab-token"  # compose/lab.yml: SOLAT_KILL_SWITCH_TOKEN=${LAB_KILL_SWITCH_TOKEN:-lab-token}


def ledger_bytes(lab: Lab) -> int:
    """Size of the ledger file on the engine volume now (0 while it does not exist)."""
    out = query_data(lab, ["sh", "-c", 'stat -c %s "$1" 2>/dev/null || echo 0', "sh", LEDGER])
    return int(out.split()[-1])


def broker_orders_received(broker: BrokerAdmin) -> int:
    """Every POST /orders the broker has received (filled, duplicate, failed or rejected)."""
    return len(broker.attempts())


def kill_switch_token(lab: Lab) -> str:
    env = getattr(lab, "env", None) or os.environ
    return str(env.get("LAB_KILL_SWITCH_TOKEN") or DEFAULT_TOKEN)
