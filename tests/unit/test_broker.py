"""Fake broker: idempotency, admin view, fault knobs, durability across a restart of the real process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.fixtures import broker_server  # noqa: F401  (fixture)
from support.processes import BrokerProcess

from chaos_lab.broker.app import create_app

ORDER = {"client_order_id": "SOLAT-abc", "symbol": "EURUSD", "side": "BUY", "quantity": 2.0}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    with TestClient(create_app(db_path=tmp_path / "b.sqlite3", balance=10_000.0)) as c:
        yield c


def test_order_is_idempotent_on_client_order_id(client: TestClient) -> None:
    first = client.post("/orders", json=ORDER).json()
    second = client.post("/orders", json=ORDER).json()
    assert first["status"] == "filled" and first["price"] == 100.0 and first["duplicate"] is False
    assert second["duplicate"] is True and second["broker_order_id"] == first["broker_order_id"]
    assert client.get("/positions").json() == {"positions": {"EURUSD": 2.0}}
    attempts = client.get("/admin/attempts").json()["attempts"]
    assert [(a["seq"], a["duplicate"]) for a in attempts] == [(1, False), (2, True)]
    assert attempts[0]["body"] == ORDER
    assert len(client.get("/admin/orders").json()["orders"]) == 1


def test_account_tracks_used_notional(client: TestClient) -> None:
    client.post("/orders", json=ORDER)
    acct = client.get("/account").json()
    assert (acct["balance"], acct["used"], acct["available"], acct["currency"]) == (10_000, 200, 9_800, "USD")


def test_insufficient_balance_is_a_definite_rejection(client: TestClient) -> None:
    resp = client.post("/orders", json={**ORDER, "quantity": 101})
    assert resp.status_code == 409 and resp.json()["ok"] is False
    assert client.get("/admin/orders").json()["orders"] == []


def test_get_order_and_unknown_order(client: TestClient) -> None:
    client.post("/orders", json=ORDER)
    assert client.get("/orders/SOLAT-abc").json()["quantity"] == 2.0
    missing = client.get("/orders/SOLAT-nope")
    assert missing.status_code == 404 and missing.json() == {"ok": False, "reason": "unknown client_order_id"}


@pytest.mark.parametrize(
    "body",
    [
        {**ORDER, "quantity": -1},
        {**ORDER, "quantity": "x"},
        {**ORDER, "side": "HOLD"},
        {**ORDER, "symbol": "eur/usd"},
        {"symbol": "EURUSD"},
        [],
    ],
)
def test_malformed_order_is_422_json(client: TestClient, body: object) -> None:
    resp = client.post("/orders", json=body)
    assert resp.status_code == 422 and resp.json()["ok"] is False


def test_fail_next_answers_503_without_recording(client: TestClient) -> None:
    client.post("/admin/config", json={"fail_next": 1})
    assert client.post("/orders", json=ORDER).status_code == 503
    assert client.get("/orders/SOLAT-abc").status_code == 404
    assert client.post("/orders", json=ORDER).json()["duplicate"] is False
    outcomes = [a["outcome"] for a in client.get("/admin/attempts").json()["attempts"]]
    assert outcomes == ["failed", "filled"]


def test_admin_price_and_reset(client: TestClient) -> None:
    client.post("/admin/config", json={"prices": {"EURUSD": 1.25}})
    assert client.post("/orders", json=ORDER).json()["price"] == 1.25
    client.post("/admin/reset")
    assert client.get("/admin/orders").json() == {"orders": []}
    assert client.get("/admin/attempts").json() == {"attempts": []}
    assert client.get("/positions").json() == {"positions": {}}
    assert client.post("/orders", json=ORDER).json()["price"] == 100.0


def test_order_committed_before_delay_and_survives_restart(broker_server: BrokerProcess) -> None:  # noqa: F811
    broker_server.configure(order_delay_s=2.0)
    done: list[int] = []
    def place() -> None:
        done.append(broker_server.post("/orders", json=ORDER).status_code)

    thread = threading.Thread(target=place)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and broker_server.get("/orders/SOLAT-abc").status_code != 200:
        time.sleep(0.02)
    assert done == [], "the order must be visible while the answer is still delayed"
    assert broker_server.get("/orders/SOLAT-abc").status_code == 200
    thread.join(timeout=15)
    assert done == [200]
    broker_server.kill()  # SIGKILL: WAL + synchronous=FULL must keep the committed order
    broker_server.start()
    assert broker_server.positions() == {"EURUSD": 2.0}
    assert len(broker_server.orders()) == 1


def test_sell_frees_margin(client: TestClient) -> None:
    client.post("/orders", json={**ORDER, "quantity": 100})  # uses the whole 10 000 balance
    more = {**ORDER, "client_order_id": "SOLAT-b", "quantity": 1}
    assert client.post("/orders", json=more).status_code == 409
    sell = {**ORDER, "client_order_id": "SOLAT-c", "side": "SELL", "quantity": 40}
    assert client.post("/orders", json=sell).status_code == 200
    assert client.get("/account").json()["used"] == 6_000


# -- found by probing (issue 11): each was a 500 or a wrong order ------------------------------------------
def post_raw(client: TestClient, path: str, raw: bytes) -> object:
    return client.post(path, content=raw, headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    "raw",
    [
        b'{"client_order_id":"SOLAT-a","symbol":"EURUSD","side":"BUY","quantity":NaN}',
        b'{"client_order_id":"SOLAT-a","symbol":"EURUSD","side":"BUY","quantity":1e309}',
        b'{"client_order_id":"SOLAT-a","symbol":"EURUSD","side":"BUY","quantity":-Infinity}',
        b'{"client_order_id":"\\ud800","symbol":"EURUSD","side":"BUY","quantity":1}',
        b'{"client_order_id":"SOLAT-a","symbol":"EURUSD","side":"\\udfff","quantity":1}',
    ],
)
def test_invalid_non_json_value_is_422_not_500(raw: bytes, tmp_path: Path) -> None:
    """The validation handler echoed the input; NaN, 1e309 or a lone surrogate then broke the 422 itself."""
    with TestClient(create_app(db_path=tmp_path / "b.sqlite3"), raise_server_exceptions=False) as c:
        resp = post_raw(c, "/orders", raw)
        assert resp.status_code == 422, resp.text
        assert resp.json()["ok"] is False and resp.json()["errors"][0]["loc"][0] == "body"
        assert c.get("/admin/attempts").json() == {"attempts": []}


@pytest.mark.parametrize(
    "raw",
    [b'{"prices":{"\\ud800":1}}', b'{"prices":{"eur/usd":1}}', b'{"prices":{"EURUSD":NaN}}',
     b'{"prices":{"EURUSD":Infinity}}', b'{"prices":{"EURUSD":0}}', b'{"prices":{"EURUSD":true}}',
     b'{"prices":{"EURUSD":"1.5"}}', b'{"fail_next":true}', b'{"order_delay_s":"1"}'],
)
def test_admin_config_refuses_bad_keys_and_prices(raw: bytes, tmp_path: Path) -> None:
    """A lone-surrogate key used to be stored (then every GET of the config answered 500) and a NaN price
    made every later order of that symbol a 500."""
    with TestClient(create_app(db_path=tmp_path / "b.sqlite3"), raise_server_exceptions=False) as c:
        resp = post_raw(c, "/admin/config", raw)
        assert resp.status_code == 422, resp.text
        assert c.get("/admin/config").json() == {}
        assert c.post("/orders", json=ORDER).json()["price"] == 100.0


def test_every_well_formed_order_is_an_attempt_even_when_it_cannot_be_processed(tmp_path: Path) -> None:
    """A NaN price stored by an older broker (the config table is plain JSON): the order used to be a 500
    (IntegrityError) and was missing from /admin/attempts. Now: 503, no order, one `failed` attempt."""
    path = tmp_path / "b.sqlite3"
    with TestClient(create_app(db_path=path), raise_server_exceptions=False) as c:
        app_store = c.app.state.store  # type: ignore[attr-defined]
        app_store._db.execute("INSERT INTO config VALUES ('prices', '{\"EURUSD\": NaN}')")
        resp = c.post("/orders", json=ORDER)
        assert resp.status_code == 503 and resp.json()["ok"] is False
        attempts = c.get("/admin/attempts").json()["attempts"]
        assert [(a["client_order_id"], a["outcome"]) for a in attempts] == [("SOLAT-abc", "failed")]
        assert c.get("/admin/orders").json() == {"orders": []}


@pytest.mark.parametrize(
    "change", [{"quantity": True}, {"quantity": "1e3"}, {"quantity": "2"}, {"side": True}, {"side": "buy"}]
)
def test_order_quantity_and_side_are_strict(client: TestClient, change: dict[str, object]) -> None:
    """`"quantity": true` used to fill an order of 1 and `"1e3"` one of 1000."""
    resp = client.post("/orders", json={**ORDER, **change})
    assert resp.status_code == 422 and resp.json()["ok"] is False
    assert client.get("/admin/orders").json() == {"orders": []}


def test_broker_method_not_allowed_names_the_allowed_methods(client: TestClient) -> None:
    resp = client.delete("/orders")
    assert resp.status_code == 405 and resp.json()["ok"] is False and resp.headers["allow"] == "POST"


SEEDED = {"broker_order_id": "B-prod-1", "client_order_id": "SOLAT-seeded1", "symbol": "EURUSD",
          "side": "BUY", "quantity": 4.0, "price": 1.1}


def test_seeded_orders_are_in_the_book_with_positions_but_no_attempt(client: TestClient) -> None:
    """A start from captured data: the orders production's broker held are there before the run."""
    resp = client.post("/admin/seed", json={"orders": [SEEDED, {**SEEDED, "broker_order_id": "B-prod-2",
                                                                "client_order_id": "SOLAT-seeded2",
                                                                "side": "SELL", "quantity": 1.0}]})
    assert resp.status_code == 200 and resp.json() == {"ok": True, "seeded": 2}
    assert client.get("/positions").json() == {"positions": {"EURUSD": 3.0}}
    assert client.get("/admin/attempts").json() == {"attempts": []}
    book = client.get("/admin/orders").json()["orders"]
    assert [o["seeded"] for o in book] == [True, True]
    # the engine's lookup sees an ordinary order (no field the engine does not know)
    assert set(client.get("/orders/SOLAT-seeded1").json()) == {
        "broker_order_id", "client_order_id", "status", "symbol", "side", "quantity", "price", "duplicate"}
    again = client.post("/orders", json={"client_order_id": "SOLAT-seeded1", "symbol": "EURUSD",
                                         "side": "BUY", "quantity": 4.0})
    assert again.json()["duplicate"] is True  # a re-send of a seeded order is deduplicated like any other
    assert [o["seeded"] for o in client.get("/admin/orders").json()["orders"]] == [True, True]


@pytest.mark.parametrize(
    ("orders", "status"),
    [
        ([SEEDED, SEEDED], 409),  # given twice
        ([{**SEEDED, "quantity": -1}], 422),
        ([{**SEEDED, "side": "HOLD"}], 422),
        ([{**SEEDED, "price": True}], 422),
        ([{**SEEDED, "extra": 1}], 422),
    ],
)
def test_a_bad_seed_is_refused_whole_with_a_json_reason(client: TestClient, orders: list[object],
                                                         status: int) -> None:
    resp = client.post("/admin/seed", json={"orders": orders})
    assert resp.status_code == status and resp.json()["ok"] is False and resp.json()["reason"]
    assert client.get("/admin/orders").json() == {"orders": []}
    assert client.get("/positions").json() == {"positions": {}}


def test_a_seeded_order_already_in_the_book_is_409(client: TestClient) -> None:
    assert client.post("/admin/seed", json={"orders": [SEEDED]}).status_code == 200
    resp = client.post("/admin/seed", json={"orders": [{**SEEDED, "client_order_id": "SOLAT-other"}]})
    assert resp.status_code == 409 and "in the book" in resp.json()["reason"]
