"""The lab's HTTP clients never reuse a keep-alive connection the server may be closing.

The race behind the false alarm "rollback: ConnectionError: ('Connection aborted.', RemoteDisconnected(...))":
uvicorn closes a keep-alive connection after its idle timeout; a client that writes its next request on that
pooled connection at about the same moment gets no answer. Two ways, both against a real uvicorn broker
(keep-alive timeout 1 s):

- the control pins the race's losing order: urllib3's liveness check of a pooled connection passes, then the
  server closes the connection, then the request is written on it. The check is made to pass (it is what
  loses the race) and the request is sent only once the server has really closed the connection;
- the clients are also run with the server frozen (SIGSTOP) across the end of its keep-alive timeout, the
  request sent while it is frozen: like a process starved of CPU on a busy host. Whether the woken server
  reads the request or runs its overdue keep-alive timer first is up to the kernel, so that alone cannot be
  the control (it was not: CI once saw the request read first).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import requests
import urllib3.connectionpool
from support.processes import BrokerProcess
from urllib3.connection import HTTPConnection

from chaos_lab.workload.client import BrokerAdmin, EngineClient, fresh_connection_session
from chaos_lab.workload.history import History

KEEP_ALIVE_S = 1
T = TypeVar("T")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path / "broker.sqlite3", tmp_path)
    proc.cmd += ["--timeout-keep-alive", str(KEEP_ALIVE_S)]
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def while_keep_alive_expires(server: BrokerProcess, call: Callable[[], T]) -> T:
    """Run `call` while the server is frozen past its keep-alive timeout; it resumes 0.3 s later."""
    assert server.proc is not None
    pid = server.proc.pid
    os.kill(pid, signal.SIGSTOP)
    resume = threading.Timer(KEEP_ALIVE_S + 0.6, os.kill, (pid, signal.SIGCONT))
    resume.start()
    try:
        time.sleep(KEEP_ALIVE_S + 0.3)
        return call()
    finally:
        resume.join()
        os.kill(pid, signal.SIGCONT)


def pooled_connections(session: requests.Session, url: str) -> list[HTTPConnection]:
    """The open connections the session keeps for reuse. Every pool the adapter made is searched: its pool
    key carries TLS settings, so `connection_from_url(url)` would make a new, empty pool instead."""
    manager = session.get_adapter(url).poolmanager
    keys = manager.pools.keys()  # the container refuses plain iteration (not thread-safe)
    pools = [manager.pools[key] for key in keys]
    return [
        conn for pool in pools for conn in list(pool.pool.queue) if conn is not None and conn.sock is not None
    ]


def server_closed_the_idle_connection(session: requests.Session, url: str) -> None:
    """Wait (bounded) until the server has closed the session's pooled connection to `url`."""
    conns = pooled_connections(session, url)
    assert len(conns) == 1, "the session should hold one pooled keep-alive connection"
    deadline = time.monotonic() + 10 * KEEP_ALIVE_S
    while not _really_dropped(conns[0]):
        assert time.monotonic() < deadline, "uvicorn never closed the idle keep-alive connection"
        time.sleep(0.05)


_really_dropped = urllib3.connectionpool.is_connection_dropped


@pytest.fixture
def liveness_check_loses_the_race(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3's check ran just before the server closed the connection: it says the connection is alive."""
    monkeypatch.setattr(urllib3.connectionpool, "is_connection_dropped", lambda conn: False)


@pytest.mark.usefixtures("liveness_check_loses_the_race")
def test_a_reused_keep_alive_connection_loses_the_request(broker: BrokerProcess) -> None:
    """The control: with connection reuse (requests' default) the race is real and this reproduces it."""
    with requests.Session() as session:
        assert session.get(broker.url + "/health", timeout=5).status_code == 200
        server_closed_the_idle_connection(session, broker.url)
        with pytest.raises(requests.ConnectionError, match="Connection aborted"):
            session.post(broker.url + "/admin/config", json={"fail_next": 0}, timeout=5)


@pytest.mark.usefixtures("liveness_check_loses_the_race")
def test_lab_clients_survive_the_losing_order(broker: BrokerProcess) -> None:
    """The same losing order as the control, through the lab's own clients: nothing is pooled to lose."""
    admin = BrokerAdmin(broker.url)
    admin.reset()
    time.sleep(2 * KEEP_ALIVE_S)
    admin.configure(order_delay_s=0.0, fail_next=1)
    client = EngineClient(broker.url, History("keep-alive", 0))
    assert client.health() == {"ok": True}
    time.sleep(2 * KEEP_ALIVE_S)
    assert client.health() == {"ok": True}
    assert broker.get("/admin/config").json()["fail_next"] == 1


def test_broker_admin_calls_survive_the_keep_alive_race(broker: BrokerProcess) -> None:
    admin = BrokerAdmin(broker.url)
    admin.reset()
    while_keep_alive_expires(broker, lambda: admin.configure(order_delay_s=0.0, fail_next=2))
    while_keep_alive_expires(broker, admin.reset)
    assert admin.positions() == {}
    assert broker.get("/admin/config").json() == {}  # the reset after the configure reached the broker


def test_engine_client_calls_survive_the_keep_alive_race(broker: BrokerProcess, tmp_path: Path) -> None:
    """The same client object serves the workload, the prober and the checkers' reads: none may reuse a
    connection (the broker's /health and /positions stand in for the engine's: the same uvicorn server)."""
    client = EngineClient(broker.url, History("keep-alive", 0))
    assert client.health() == {"ok": True}
    assert while_keep_alive_expires(broker, client.health) == {"ok": True}
    outcome, _ = while_keep_alive_expires(broker, client.probe_health)
    assert outcome == "ok"


def test_fresh_connection_session_leaves_nothing_to_reuse(broker: BrokerProcess) -> None:
    with fresh_connection_session() as session:
        resp = session.get(broker.url + "/health", timeout=5)
        assert resp.headers["connection"] == "close"
        assert pooled_connections(session, broker.url) == []


def test_a_plain_session_keeps_its_connection_for_reuse(broker: BrokerProcess) -> None:
    """The control for the test above: `pooled_connections` does see a kept connection."""
    with requests.Session() as session:
        assert session.get(broker.url + "/health", timeout=5).status_code == 200
        assert len(pooled_connections(session, broker.url)) == 1
