"""BrokerClient against the real fake broker: definite answers versus unknown outcomes."""

from __future__ import annotations

import pytest
from solat_engine.broker_client import (
    BrokerClient,
    BrokerError,
    BrokerNotSent,
    BrokerOutcomeUnknown,
    BrokerRejected,
)
from solat_engine.execution.models import Side
from support.fixtures import broker_server  # noqa: F401  (fixture)
from support.processes import BrokerProcess, free_port


def client_for(broker: BrokerProcess, read_timeout: float = 2.0) -> BrokerClient:
    return BrokerClient(broker.url, connect_timeout=0.5, read_timeout=read_timeout)


def test_account_order_and_lookup(broker_server: BrokerProcess) -> None:  # noqa: F811
    client = client_for(broker_server)
    assert client.health() is True
    assert client.get_account().available == 1_000_000
    order = client.place_order("SOLAT-1", "EURUSD", Side.SELL, 3)
    assert (order.status, order.side, order.quantity, order.duplicate) == ("filled", Side.SELL, 3, False)
    assert client.place_order("SOLAT-1", "EURUSD", Side.SELL, 3).duplicate is True
    looked_up = client.get_order("SOLAT-1")
    assert looked_up is not None and looked_up.broker_order_id == order.broker_order_id
    assert client.get_order("SOLAT-missing") is None
    assert client.get_positions() == {"EURUSD": -3.0}


def test_4xx_is_a_definite_rejection(broker_server: BrokerProcess) -> None:  # noqa: F811
    with pytest.raises(BrokerRejected) as exc:
        client_for(broker_server).place_order("SOLAT-2", "EURUSD", Side.BUY, 1e9)
    assert exc.value.status == 409 and "balance" in exc.value.reason


def test_5xx_is_unknown(broker_server: BrokerProcess) -> None:  # noqa: F811
    broker_server.configure(fail_next=1)
    with pytest.raises(BrokerOutcomeUnknown):
        client_for(broker_server).place_order("SOLAT-3", "EURUSD", Side.BUY, 1)


def test_read_timeout_is_unknown_and_order_exists(broker_server: BrokerProcess) -> None:  # noqa: F811
    broker_server.configure(order_delay_s=1.5)
    client = client_for(broker_server, read_timeout=0.3)
    with pytest.raises(BrokerOutcomeUnknown):
        client.place_order("SOLAT-4", "EURUSD", Side.BUY, 1)
    assert client.get_order("SOLAT-4") is not None  # it was filled: "unknown" was the right answer


def test_unreachable_broker_is_definitely_not_sent() -> None:
    """Connection refused: no byte left the engine, so the order is definitely not at the broker."""
    client = BrokerClient(f"http://127.0.0.1:{free_port()}", connect_timeout=0.3, read_timeout=0.3)
    assert client.health() is False
    with pytest.raises(BrokerNotSent) as sent:
        client.place_order("SOLAT-5", "EURUSD", Side.BUY, 1)
    assert "not sent" in str(sent.value)
    for read in (client.get_account, client.get_positions, lambda: client.get_order("SOLAT-5")):
        with pytest.raises(BrokerError) as exc:
            read()
        assert not isinstance(exc.value, BrokerOutcomeUnknown)
