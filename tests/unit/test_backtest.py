"""SMA-cross backtest and its all-or-nothing artefact directories."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from solat_engine.api.app import create_app
from solat_engine.backtest.artefacts import COMPLETE, read_run, write_artefacts
from solat_engine.backtest.sma import run_sma_cross
from solat_engine.data.parquet_store import Bar
from support.inprocess import make_engine

CLOSES = [10, 10, 10, 11, 12, 13, 12, 10, 8, 7, 8, 10, 12]


def bars(closes: list[float]) -> list[Bar]:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    return [Bar(ts=t0 + timedelta(hours=i), open=c, high=c, low=c, close=c, volume=1.0)
            for i, c in enumerate(closes)]


def test_sma_cross_trades_on_crosses() -> None:
    result = run_sma_cross(bars(CLOSES), fast=2, slow=3)
    assert [(t.side, t.price) for t in result.trades] == [("BUY", 11), ("SELL", 10), ("BUY", 10)]
    assert len(result.equity) == len(CLOSES)
    # fast/slow means cross up at 11 (bar 3), down at 10 (bar 7: 11 < 11.67), up at 10 (bar 11: 9 > 8.33);
    # bought 10000/11 units at 11, sold at 10, bought back at 10, marked at 12 at the end
    expected = 10_000 / 11 * 10 / 10 * 12
    assert result.final_equity == pytest.approx(expected)
    assert result.return_pct == pytest.approx((expected / 10_000 - 1) * 100)


def test_sma_cross_rejects_bad_windows() -> None:
    with pytest.raises(ValueError):
        run_sma_cross(bars(CLOSES), fast=3, slow=3)


def test_artefacts_complete_marker_and_no_partial_dir(tmp_path: Path) -> None:
    out = write_artefacts(tmp_path, "run1", {"summary.json": {"a": 1}, "trades.json": []})
    assert sorted(p.name for p in out.iterdir()) == [COMPLETE, "summary.json", "trades.json"]
    assert read_run(tmp_path, "run1") == {"a": 1}
    (out / COMPLETE).unlink()
    assert read_run(tmp_path, "run1") is None  # without the marker the run does not exist
    with pytest.raises(OSError):
        write_artefacts(tmp_path, "run1", {"summary.json": {}})  # target exists: rename fails
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())


def test_backtest_api_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TestClient(create_app(make_engine(data))) as c:
        payload = {"bars": [b.model_dump(mode="json") for b in bars(CLOSES)]}
        assert c.put("/data/bars/EURUSD/1h", json=payload).status_code == 200
        resp = c.post("/backtest/run", json={"symbol": "EURUSD", "timeframe": "1h", "fast": 2, "slow": 3})
        assert resp.status_code == 200, resp.text
        run_id = resp.json()["run_id"]
        run_dir = data / "artefacts" / run_id
        assert (run_dir / COMPLETE).exists()
        trades = json.loads((run_dir / "trades.json").read_text())
        assert [t["side"] for t in trades] == ["BUY", "SELL", "BUY"]
        assert len(json.loads((run_dir / "equity.json").read_text())) == len(CLOSES)
        got = c.get(f"/backtest/{run_id}").json()
        assert got["complete"] is True and got["summary"]["trades"] == 3 and got["summary"]["bars"] == 13


def test_backtest_whose_equity_overflows_fails_and_writes_no_run(tmp_path: Path) -> None:
    """Bought at 1e-299, sold at 1e299: equity is +inf. It used to write a COMPLETE run whose summary.json
    held `Infinity` and answer 500, then 500 for every GET of that run."""
    data = tmp_path / "data"
    with TestClient(create_app(make_engine(data)), raise_server_exceptions=False) as c:
        payload = {"bars": [b.model_dump(mode="json") for b in bars([1e-300, 1e-299, 1e300, 1e299])]}
        assert c.put("/data/bars/EURUSD/1h", json=payload).status_code == 200
        resp = c.post("/backtest/run", json={"symbol": "EURUSD", "timeframe": "1h", "fast": 1, "slow": 2})
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert body["ok"] is False and body["complete"] is False and "overflowed" in body["reason"]
        assert not (data / "artefacts" / body["run_id"]).exists()
        assert c.get(f"/backtest/{body['run_id']}").status_code == 404


def test_stored_summary_with_infinity_is_422_not_500(tmp_path: Path) -> None:
    """A complete run written by an older engine with `Infinity` in summary.json cannot be served as JSON."""
    data = tmp_path / "data"
    run_dir = data / "artefacts" / "oldrun"
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text('{"final_equity": Infinity}')
    (run_dir / COMPLETE).write_text("complete\n")
    with TestClient(create_app(make_engine(data)), raise_server_exceptions=False) as c:
        resp = c.get("/backtest/oldrun")
        assert resp.status_code == 422 and "Infinity" in resp.json()["reason"]


def test_artefacts_refuse_non_finite_numbers(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_artefacts(tmp_path, "run1", {"equity.json": [float("nan")]})
    assert not (tmp_path / "run1").exists()
