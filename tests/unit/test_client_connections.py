"""The lab's HTTP clients never reuse a keep-alive connection the server may be closing.

The race behind the false alarm "rollback: ConnectionError: ('Connection aborted.', RemoteDisconnected(...))":
uvicorn closes a keep-alive connection after its idle timeout; a client that writes its next request on that
pooled connection at about the same moment gets no answer. Reproduced here deterministically against a
real uvicorn broker (keep-alive timeout 1 s): the server process is frozen (SIGSTOP) across the end of its
keep-alive timeout, the request is sent while it is frozen, and it is resumed. Like a process starved of CPU
on a busy host, it wakes with the keep-alive timer overdue and runs it (closing the connection unread)
before it reads the request.
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
from support.processes import BrokerProcess

from chaos_lab.client import BrokerAdmin, EngineClient, fresh_connection_session
from chaos_lab.history import History

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


def test_a_reused_keep_alive_connection_loses_the_request(broker: BrokerProcess) -> None:
    """The control: with connection reuse (requests' default) the race is real and this reproduces it."""
    with requests.Session() as session:
        assert session.get(broker.url + "/health", timeout=5).status_code == 200
        with pytest.raises(requests.ConnectionError, match="Connection aborted"):
            while_keep_alive_expires(
                broker, lambda: session.post(broker.url + "/admin/config", json={"fail_next": 0}, timeout=5)
            )


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
        pool = session.get_adapter(broker.url).poolmanager.connection_from_url(broker.url)
        assert all(conn is None or conn.sock is None for conn in list(pool.pool.queue))
