"""Tier 1, router/API level: a full or read-only disk and a missing or stale balance must make the engine
say no (with a reason) and stay up, and no order may reach the broker without a durable intent record."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from solat_engine.execution.models import EntryType, Intent, Side
from solat_engine.execution.router import Outcome
from support.fixtures import broker_server, engine_factory  # noqa: F401  (fixtures)
from support.inprocess import ManualClock, make_router
from support.processes import BrokerProcess, EngineProcess

pytestmark = [pytest.mark.chaos, pytest.mark.tier1]

BARS = {"bars": [{"ts": f"2024-01-01T{h:02d}:00:00Z", "open": 1, "high": 1, "low": 1, "close": 1 + h % 5,
                  "volume": 1} for h in range(24)]}
RUN = {"symbol": "EURUSD", "timeframe": "1h", "fast": 2, "slow": 5}


def test_ledger_write_fails__orders_rejected(small_disk, broker_server: BrokerProcess,  # noqa: F811
                                             engine_factory) -> None:  # noqa: F811
    engine: EngineProcess = engine_factory(small_disk.root / "data", broker_server.url).start()
    engine.wait_reconciled()
    small_disk.fill()
    assert small_disk.available() == 0
    resp = engine.signal(quantity=2)
    assert resp.status_code == 507, resp.text
    body = resp.json()
    assert body["ok"] is False and body["outcome"] == "rejected"
    assert "durable" in body["reason"] and "No space left" in body["reason"]
    assert broker_server.attempts() == [], "an order reached the broker without a durable intent"
    health = engine.health()
    assert health["status"] == "degraded" and health["checks"]["disk"] is False
    small_disk.free()
    ok = engine.signal(quantity=2)
    assert ok.status_code == 200, ok.text
    assert engine.state()["positions"] == {"EURUSD": 2.0} == broker_server.positions()
    ledger_types = [e["entry_type"] for e in engine.ledger()]
    assert ledger_types == ["intent", "submitted", "fill"]  # the refused intent left nothing behind
    assert engine.health()["status"] == "ready"


@pytest.fixture
def read_only_mount() -> Iterator[list[Path]]:
    """Bind mounts made read-only (root ignores file modes, a ro mount it cannot ignore); undone after."""
    mounted: list[Path] = []
    yield mounted
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def _make_read_only(path: Path, mounted: list[Path]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True, capture_output=True)
    mounted.append(path)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True, capture_output=True)
    probe = path / ".probe"
    with pytest.raises(OSError):
        probe.write_bytes(b"x")


@pytest.mark.parametrize("fault", ["disk_full", "read_only"])
def test_artefact_directory_write_fails__graceful_error(fault: str, small_disk, read_only_mount,
                                                         engine_factory) -> None:  # noqa: F811
    data = small_disk.root / "data"
    engine: EngineProcess = engine_factory(data).start()
    assert requests.put(engine.url + "/data/bars/EURUSD/1h", json=BARS, timeout=10).status_code == 200
    if fault == "disk_full":
        small_disk.fill()
    else:
        _make_read_only(data / "artefacts", read_only_mount)
    resp = engine.post("/backtest/run", json=RUN)
    assert resp.status_code == 507, resp.text
    body = resp.json()
    assert body["ok"] is False and body["run_id"] and "artefacts could not be written" in body["error"]
    assert not (data / "artefacts" / body["run_id"]).exists()
    assert engine.alive and engine.get("/health").status_code == 200
    if fault == "disk_full":
        small_disk.free()
    else:
        subprocess.run(["umount", "-l", str(data / "artefacts")], check=True)
        read_only_mount.clear()
    again = engine.post("/backtest/run", json=RUN)
    assert again.status_code == 200, again.text
    assert (data / "artefacts" / again.json()["run_id"] / "COMPLETE").exists()


def test_balance_never_fetched__order_rejected(tmp_path: Path, engine_factory) -> None:  # noqa: F811
    broker = BrokerProcess(tmp_path / "late-broker.sqlite3", tmp_path)  # not started yet: port is closed
    engine: EngineProcess = engine_factory(tmp_path / "data", broker.url).start()
    try:
        resp = engine.signal()
        assert resp.status_code == 409, resp.text
        assert "balance never fetched" in resp.json()["reason"]
        assert engine.state()["balance"] is None
        broker.start()
        engine.wait_reconciled()  # the background retry fetches the balance once the broker is there
        assert broker.attempts() == [], "the refused signal must not have been sent later"
        assert engine.signal().status_code == 200
        assert [a["outcome"] for a in broker.attempts()] == ["filled"]
    finally:
        broker.stop()


def _intent(qty: float = 1.0) -> Intent:
    return Intent(intent_id=uuid.uuid4(), symbol="EURUSD", side=Side.BUY, quantity=qty)


@pytest.mark.parametrize("broker_up", [True, False], ids=["refresh_ok", "broker_down"])
def test_balance_stale_300s__order_rejected_or_refreshed(broker_up: bool, tmp_path: Path,
                                                         broker_server: BrokerProcess) -> None:  # noqa: F811
    clock = ManualClock()
    router = make_router(tmp_path / "data", broker_server.url, clock)
    try:
        router.refresh_balance()
        router.unblock()
        fetched_at = router.balance_fetched_at
        clock.now += 301  # older than SOLAT_BALANCE_MAX_AGE=300
        if not broker_up:
            broker_server.kill()  # real SIGKILL: the refresh has nobody to ask
        result = router.route_intent(_intent())
        if broker_up:
            assert result.outcome == Outcome.FILLED, result
            assert router.balance_fetched_at is not None and router.balance_fetched_at > fetched_at
            assert router.balance_age() == 0
        else:
            assert result.outcome == Outcome.REJECTED and result.stage == "risk"
            assert "stale" in (result.reason or "") and "refresh failed" in (result.reason or "")
            assert list(router.ledger.entries()) == []
            broker_server.start()
            assert broker_server.attempts() == []
    finally:
        router.ledger.close()


def test_balance_refresh_after_fills__updates_used(tmp_path: Path,
                                                    broker_server: BrokerProcess) -> None:  # noqa: F811
    router = make_router(tmp_path / "data", broker_server.url, ManualClock())
    try:
        router.refresh_balance()
        router.unblock()
        assert router.balance is not None and router.balance.used == 0
        assert router.route_intent(_intent(qty=3)).outcome == Outcome.FILLED
        assert router.balance.used == 300.0  # 3 x the broker's fixed price 100
        assert router.balance.available == broker_server.get("/account").json()["available"]
        fills = [e for e in router.ledger.entries() if e.entry_type == EntryType.FILL]
        assert len(fills) == 1
    finally:
        router.ledger.close()


def test_kill_switch_activation_on_full_disk__active_and_reported(small_disk, broker_server: BrokerProcess,  # noqa: F811
                                                                  engine_factory) -> None:  # noqa: F811
    engine: EngineProcess = engine_factory(small_disk.root / "data", broker_server.url).start()
    engine.wait_reconciled()
    small_disk.fill()
    resp = engine.post("/execution/kill-switch/activate", json={"reason": "halt"})
    assert resp.status_code == 507, resp.text
    assert resp.json()["active"] is True and "not saved" in resp.json()["reason"]
    refused = engine.signal()
    assert refused.status_code == 409 and "halt" in refused.json()["reason"]
    assert broker_server.attempts() == []
