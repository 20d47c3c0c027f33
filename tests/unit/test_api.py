"""HTTP API error paths: every malformed request is a 4xx with a JSON reason, never a 500."""

from __future__ import annotations

import threading
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from solat_engine.api.app import create_app
from solat_engine.broker_client import BrokerClient
from solat_engine.engine import Engine
from support.inprocess import make_engine

BARS = [
    {"ts": f"2024-01-01T{h:02d}:00:00Z", "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.0 + h,
     "volume": 5.0}
    for h in range(10)
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_engine(tmp_path / "data")), raise_server_exceptions=False) as c:
        yield c


def assert_json_error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["ok"] is False and isinstance(body["reason"], str) and body["reason"]
    return body


SIGNAL = {"symbol": "EURUSD", "side": "BUY", "quantity": 1.0}


@pytest.mark.parametrize(
    "body",
    [
        {**SIGNAL, "quantity": -1},
        {**SIGNAL, "quantity": 0},
        {**SIGNAL, "quantity": "lots"},
        {**SIGNAL, "quantity": None},
        {**SIGNAL, "side": "buy-ish"},
        {**SIGNAL, "symbol": "EUR/USD"},
        {**SIGNAL, "symbol": "../etc"},
        {**SIGNAL, "symbol": ""},
        {**SIGNAL, "symbol": 42},
        {**SIGNAL, "intent_id": "not-a-uuid"},
        {**SIGNAL, "unexpected": 1},
        {"side": "BUY", "quantity": 1},
        [SIGNAL],
        "just a string",
        None,
    ],
)
def test_malformed_signal_is_422(client: TestClient, body: Any) -> None:
    assert_json_error(client.post("/execution/signals", json=body), 422)


INFINITE_QTY = b'{"symbol": "EURUSD", "side": "BUY", "quantity": 1e999}'


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", INFINITE_QTY])
def test_unparseable_body_is_422(client: TestClient, raw: bytes) -> None:
    resp = client.post("/execution/signals", content=raw, headers={"content-type": "application/json"})
    assert_json_error(resp, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/execution/ledger?after_seq=-1",
        "/execution/ledger?after_seq=abc",
        "/execution/ledger?limit=0",
        "/execution/ledger?limit=99999999",
        "/data/bars/EUR%2FUSD/1h",
        "/data/bars/EURUSD/..",
        "/backtest/not%20an%20id",
    ],
)
def test_bad_query_or_path_param_is_4xx(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["ok"] is False


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    assert_json_error(client.get("/nope"), 404)
    assert_json_error(client.delete("/execution/signals"), 405)


def test_signal_rejected_while_broker_unreachable(client: TestClient) -> None:
    body = assert_json_error(client.post("/execution/signals", json=SIGNAL), 409)
    assert body["outcome"] == "rejected" and "balance never fetched" in body["reason"]
    assert "intent_id" in body


def test_health_reports_broker(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["checks"]["broker"] is False
    assert health["checks"]["ledger"] is True and health["checks"]["disk"] is True
    assert any(r.startswith("broker") for r in health["reasons"])


def test_health_answers_while_the_broker_link_hangs(tmp_path: Path) -> None:
    """A broker call that never returns (a link swallowing packets) must not hold up /health."""
    release, called = threading.Event(), threading.Event()

    class HungBroker(BrokerClient):
        def health(self) -> bool:
            called.set()
            release.wait(30)
            return True

    template = make_engine(tmp_path / "data")
    engine = Engine(template.config, broker=HungBroker(template.broker.base_url))
    with TestClient(create_app(engine), raise_server_exceptions=False) as c:
        try:
            assert called.wait(10), "the broker probe never ran"
            answers: list[dict[str, Any]] = []
            asker = threading.Thread(target=lambda: answers.append(c.get("/health").json()), daemon=True)
            asker.start()
            asker.join(timeout=10)
            assert not asker.is_alive(), "/health waited on the hung broker call"
            assert not release.is_set()
            assert answers[0]["checks"]["broker"] is False
        finally:
            release.set()


def test_state_and_ledger_shape(client: TestClient) -> None:
    state = client.get("/execution/state").json()
    assert state["positions"] == {} and state["open_intents"] == [] and state["last_seq"] == 0
    assert state["kill_switch"] == {"active": False, "reason": None, "activated_at": None}
    assert client.get("/execution/ledger?after_seq=0&limit=10").json() == {"entries": [], "last_seq": 0}


def test_kill_switch_activate_and_reset(client: TestClient) -> None:
    assert_json_error(client.post("/execution/kill-switch/activate", json={"reason": ""}), 422)
    assert_json_error(client.post("/execution/kill-switch/activate", json={}), 422)
    active = client.post("/execution/kill-switch/activate", json={"reason": "manual stop"}).json()
    assert active["active"] is True and active["reason"] == "manual stop"
    assert "manual stop" in client.post("/execution/signals", json=SIGNAL).json()["reason"]
    assert_json_error(client.post("/execution/kill-switch/reset", json={"token": "wrong"}), 403)
    assert_json_error(client.post("/execution/kill-switch/reset", json={"token": 5}), 422)
    assert client.get("/execution/kill-switch").json()["active"] is True
    assert client.post("/execution/kill-switch/reset", json={"token": "s3cret"}).json()["active"] is False
    entries = client.get("/execution/ledger").json()["entries"]
    assert [e["entry_type"] for e in entries] == ["kill_switch", "kill_switch"]


def test_reset_refused_without_configured_token(tmp_path: Path) -> None:
    with TestClient(create_app(make_engine(tmp_path / "d", token=None))) as c:
        c.post("/execution/kill-switch/activate", json={"reason": "x"})
        assert_json_error(c.post("/execution/kill-switch/reset", json={"token": ""}), 403)


def test_bars_round_trip_and_errors(client: TestClient, tmp_path: Path) -> None:
    assert client.put("/data/bars/EURUSD/1h", json={"bars": BARS}).status_code == 200
    got = client.get("/data/bars/EURUSD/1h").json()["bars"]
    assert [b["close"] for b in got] == [b["close"] for b in BARS]
    assert_json_error(client.get("/data/bars/EURUSD/4h"), 404)
    assert_json_error(client.put("/data/bars/EURUSD/1h", json={"bars": [{"ts": "yesterday"}]}), 422)
    naive = {**BARS[0], "ts": "2024-01-01T00:00:00"}
    assert_json_error(client.put("/data/bars/EURUSD/1h", json={"bars": [naive]}), 422)
    path = tmp_path / "data" / "bars" / "EURUSD" / "1h.parquet"
    path.write_bytes(path.read_bytes()[:-20])  # torn file
    body = assert_json_error(client.get("/data/bars/EURUSD/1h"), 422)
    assert str(path) in body["reason"]


def test_backtest_errors(client: TestClient) -> None:
    run = {"symbol": "EURUSD", "timeframe": "1h", "fast": 2, "slow": 4}
    assert_json_error(client.post("/backtest/run", json=run), 404)
    assert_json_error(client.post("/backtest/run", json={**run, "fast": 4}), 422)
    assert_json_error(client.post("/backtest/run", json={**run, "fast": "two"}), 422)
    assert_json_error(client.post("/backtest/run", json={**run, "slow": 0}), 422)
    assert_json_error(client.get(f"/backtest/{uuid.uuid4().hex}"), 404)


def test_openapi_lists_exactly_the_contract(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/health", "/execution/signals", "/execution/state", "/execution/ledger", "/execution/kill-switch",
        "/execution/kill-switch/activate", "/execution/kill-switch/reset", "/data/bars/{symbol}/{timeframe}",
        "/backtest/run", "/backtest/{run_id}",
    }


def test_corrupt_ledger_trips_kill_switch_and_still_serves_health(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "ledger").mkdir(parents=True)
    good = b'{"seq":2,"entry_type":"recovery","intent_id":"00000000-0000-0000-0000-000000000000",' \
           b'"timestamp":"2024-01-01T00:00:00Z","payload":{"dropped_bytes":0,"dropped_offset":0,"reason":"x"}}'
    bad_then_good = b"deadbeef {garbage}\n" + b"%08x %s\n" % (zlib.crc32(good), good)
    (data / "ledger" / "ledger.log").write_bytes(bad_then_good)
    with TestClient(create_app(make_engine(data))) as c:
        health = c.get("/health").json()
        assert health["status"] == "degraded" and health["checks"]["ledger"] is False
        ks = c.get("/execution/kill-switch").json()
        assert ks["active"] is True and "ledger.log" in ks["reason"] and "offset 0" in ks["reason"]
        assert assert_json_error(c.post("/execution/signals", json=SIGNAL), 409)["outcome"] == "rejected"
        assert_json_error(c.get("/execution/ledger"), 503)


# -- found by probing (issue 11): each was a 500 or a silently wrong answer --------------------------------
def put_raw(client: TestClient, path: str, raw: bytes) -> Any:
    return client.put(path, content=raw, headers={"content-type": "application/json"})


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e309"])
def test_non_finite_bar_price_is_422_and_nothing_is_stored(client: TestClient, number: bytes) -> None:
    """A NaN or infinite price used to be stored; every later GET of the series then answered 500."""
    bar = b'{"ts":"2024-01-01T00:00:00Z","open":1,"high":2,"low":0.5,"close":%s,"volume":5}' % number
    body = assert_json_error(put_raw(client, "/data/bars/EURUSD/1h", b'{"bars":[%s]}' % bar), 422)
    assert body["errors"][0]["loc"] == ["body", "bars", 0, "close"]
    assert_json_error(client.get("/data/bars/EURUSD/1h"), 404)


def test_non_finite_bar_already_on_disk_is_reported_corrupt(client: TestClient, tmp_path: Path) -> None:
    """A series written with a NaN by an older engine: GET and backtest name the file (422), never 500."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from solat_engine.data.parquet_store import _schema

    path = tmp_path / "data" / "bars" / "EURUSD" / "1h.parquet"
    path.parent.mkdir(parents=True)
    rows = {"ts": [BARS[0]["ts"]], "open": [1.0], "high": [2.0], "low": [0.5], "close": [float("nan")],
            "volume": [5.0]}
    rows["ts"] = [pa.scalar(0, type=pa.timestamp("us", tz="UTC")).as_py()]
    pq.write_table(pa.Table.from_pydict(rows, schema=_schema()), path)
    assert str(path) in assert_json_error(client.get("/data/bars/EURUSD/1h"), 422)["reason"]
    run = {"symbol": "EURUSD", "timeframe": "1h", "fast": 1, "slow": 2}
    assert "finite" in assert_json_error(client.post("/backtest/run", json=run), 422)["reason"]


@pytest.mark.parametrize(
    "change",
    [{"quantity": True}, {"quantity": "1e3"}, {"quantity": "2"}, {"side": True}, {"side": 1},
     {"side": "buy"}],
)
def test_signal_quantity_and_side_are_strict(client: TestClient, change: dict[str, Any]) -> None:
    """`"quantity": true` used to be an order of 1 and `"1e3"` one of 1000: no coercion on the order path."""
    assert_json_error(client.post("/execution/signals", json={**SIGNAL, **change}), 422)
    assert client.get("/execution/ledger").json()["entries"] == []


@pytest.mark.parametrize(
    "reason", ["stop\n2026-01-01 INFO forged: all clear", "red \x1b[31m", "a\u2028b", "\r"]
)
def test_kill_switch_reason_with_control_characters_is_422(client: TestClient, reason: str) -> None:
    """A reason is stored in the state file and logged: a newline or escape would forge log lines."""
    assert_json_error(client.post("/execution/kill-switch/activate", json={"reason": reason}), 422)
    assert client.get("/execution/kill-switch").json()["active"] is False


def test_internal_kill_switch_reason_is_logged_on_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Internal reasons quote file names and exception texts: the log record escapes what they carry."""
    engine = make_engine(tmp_path / "data")
    with caplog.at_level("ERROR", logger="solat_engine.engine"):
        engine.trip("ledger corrupt: file /data/evil\nname\x1b[2J")
    messages = [r.getMessage() for r in caplog.records if "kill switch:" in r.getMessage()]
    assert messages == ["kill switch: ledger corrupt: file /data/evil\\nname\\x1b[2J"]
    assert engine.kill_switch.reason == "ledger corrupt: file /data/evil\nname\x1b[2J"  # stored as given


def test_method_not_allowed_names_the_allowed_methods(client: TestClient) -> None:
    resp = client.delete("/execution/signals")
    assert_json_error(resp, 405)
    assert resp.headers["allow"] == "POST"
