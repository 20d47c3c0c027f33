"""The fake broker's per-order ambiguity knobs: the order is committed, then the answer fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient

from chaos_lab.broker.app import create_app

ORDER = {"client_order_id": "SOLAT-k1", "symbol": "EURUSD", "side": "BUY", "quantity": 4.0}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db_path=tmp_path / "b.sqlite3", balance=10_000.0)) as c:
        yield c


def _knob(client: TestClient, mode: str, probability: float = 1.0, **extra: object) -> None:
    resp = client.post(
        "/admin/config", json={"ambiguity": {"mode": mode, "probability": probability, **extra}}
    )
    assert resp.status_code == 200, resp.text


def test_commit_then_5xx_keeps_the_order_and_a_retry_gets_it(client: TestClient) -> None:
    _knob(client, "commit_then_5xx")
    first = client.post("/orders", json=ORDER)
    assert first.status_code == 503
    assert [o["client_order_id"] for o in client.get("/admin/orders").json()["orders"]] == ["SOLAT-k1"]
    retry = client.post("/orders", json=ORDER)  # a duplicate gets the plain answer
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    assert client.get("/admin/knobs").json()["knobs"][0]["mode"] == "commit_then_5xx"


def test_commit_then_drop_never_completes_the_answer(client: TestClient) -> None:
    _knob(client, "commit_then_drop")
    with pytest.raises((ConnectionAbortedError, requests.RequestException)):
        client.post("/orders", json=ORDER)
    assert client.get("/orders/SOLAT-k1").status_code == 200


def test_partial_fill_commits_only_the_fraction(client: TestClient) -> None:
    _knob(client, "partial_fill", fill_fraction=0.25)
    body = client.post("/orders", json=ORDER).json()
    assert body["status"] == "filled" and body["quantity"] == 1.0
    assert client.get("/positions").json() == {"positions": {"EURUSD": 1.0}}


def test_knob_is_seeded_per_order_and_off_at_probability_zero(client: TestClient) -> None:
    _knob(client, "commit_then_5xx", probability=0.5, seed=3)
    codes = [
        client.post("/orders", json={**ORDER, "client_order_id": f"SOLAT-{i}"}).status_code for i in range(12)
    ]
    client.post("/admin/reset")
    _knob(client, "commit_then_5xx", probability=0.5, seed=3)
    again = [
        client.post("/orders", json={**ORDER, "client_order_id": f"SOLAT-{i}"}).status_code for i in range(12)
    ]
    assert codes == again and 503 in codes and 200 in codes
    _knob(client, "commit_then_5xx", probability=0.0)
    assert client.post("/orders", json={**ORDER, "client_order_id": "SOLAT-x"}).status_code == 200


def test_account_reads_are_recorded_and_reset(client: TestClient) -> None:
    client.get("/account")
    client.get("/account")
    assert len(client.get("/admin/account-reads").json()["reads"]) == 2
    client.post("/admin/reset")
    assert client.get("/admin/account-reads").json()["reads"] == []
