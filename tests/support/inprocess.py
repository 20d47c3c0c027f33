"""In-process engine parts wired to a real broker: for tests that need an injected clock or the router."""

from __future__ import annotations

from pathlib import Path

from solat_engine.broker_client import BrokerClient
from solat_engine.config import EngineConfig
from solat_engine.engine import Engine
from solat_engine.execution.kill_switch import KillSwitch
from solat_engine.execution.ledger import ExecutionLedger
from solat_engine.execution.router import ExecutionRouter, RouterConfig

from support.processes import free_port


class ManualClock:
    """Injected time source: tests age the balance by moving `now`, nothing sleeps."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_engine(data_dir: Path, token: str | None = "s3cret", broker_url: str | None = None) -> Engine:
    """An Engine (not started) whose broker is, by default, a port nobody listens on."""
    cfg = EngineConfig(data_dir=data_dir, broker_url=broker_url or f"http://127.0.0.1:{free_port()}",
                       broker_connect_timeout=0.2, broker_read_timeout=0.2, kill_switch_token=token)
    return Engine(cfg)


def make_router(data_dir: Path, broker_url: str, clock: ManualClock) -> ExecutionRouter:
    """A router over a real ledger and kill switch in `data_dir`, talking to the broker at `broker_url`."""
    ledger = ExecutionLedger(data_dir / "ledger")
    broker = BrokerClient(broker_url, connect_timeout=0.3, read_timeout=0.5)
    return ExecutionRouter(ledger, KillSwitch(data_dir / "kill_switch.json"), broker,
                           RouterConfig(balance_max_age=300), clock)
