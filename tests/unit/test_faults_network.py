"""Network faults against the real Toxiproxy server (tests/support/toxiproxy.py), never a stand-in of it.

Each fault is checked twice: what Toxiproxy itself reports through its API (the toxic with exactly the
attributes asked for, gone after heal), and what it does to real bytes through the proxy to an echo upstream
on loopback (refused, reset, silent, late, cut after N bytes) -- so a toxic on the wrong stream or with the
wrong attributes fails here, not in the lab.
"""

from __future__ import annotations

import queue
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from support.toxiproxy import (  # noqa: F401  (fixture)
    ToxiproxyServer,
    reset_through_client,
    toxiproxy_server,
)

import chaos_lab.faults.toxiproxy_api as network
from chaos_lab.faults.base import FaultError
from chaos_lab.faults.proxy_down import ProxyDown
from chaos_lab.faults.toxic import Toxic
from chaos_lab.faults.toxiproxy_api import PROXY, TOXIC_TYPES, Stream, proxy_state

PAYLOAD = bytes(range(200))
IO_TIMEOUT = 5.0  # bounds every wait on a socket or on the upstream; never reached when things work
NO_ANSWER_WAIT = 0.5  # how long a timeout toxic must keep the client without an answer


# -- the upstream: a real TCP echo server that records what reached it, and when
@dataclass
class UpstreamConnection:
    """One connection Toxiproxy opened to the upstream."""

    data: bytearray = field(default_factory=bytearray)
    first_byte_at: float | None = None
    closed: bool = False
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, chunk: bytes) -> None:
        with self.changed:
            if self.first_byte_at is None:
                self.first_byte_at = time.monotonic()
            self.data += chunk
            self.changed.notify_all()

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def received(self, at_least: int) -> bytes:
        """What reached the upstream once it has `at_least` bytes (or the connection ended)."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.data) >= at_least or self.closed, IO_TIMEOUT):
                raise TimeoutError(f"upstream got {len(self.data)} of {at_least} bytes in {IO_TIMEOUT}s")
            return bytes(self.data)

    def received_until_closed(self) -> bytes:
        with self.changed:
            if not self.changed.wait_for(lambda: self.closed, IO_TIMEOUT):
                raise TimeoutError(f"upstream connection still open after {IO_TIMEOUT}s")
            return bytes(self.data)


class _EchoHandler(socketserver.BaseRequestHandler):
    server: EchoUpstream

    def handle(self) -> None:
        conn = UpstreamConnection()
        self.server.accepted.put(conn)
        try:
            while chunk := self.request.recv(65536):
                conn.add(chunk)
                self.request.sendall(chunk)
        except OSError:
            pass  # Toxiproxy cutting or resetting the link is what these tests make it do
        finally:
            conn.close()


class EchoUpstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False  # a timeout toxic can leave a connection open; teardown must not wait for it

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.accepted: queue.Queue[UpstreamConnection] = queue.Queue()

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def next_connection(self) -> UpstreamConnection:
        return self.accepted.get(timeout=IO_TIMEOUT)

    def forget_connections(self) -> None:
        while not self.accepted.empty():
            self.accepted.get_nowait()


@dataclass
class Link:
    """The proxy named `broker` (the one the faults act on), from the client side, and its upstream."""

    api_url: str
    host: str
    port: int
    upstream: EchoUpstream
    server: ToxiproxyServer

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=IO_TIMEOUT)

    def round_trip(self, payload: bytes = PAYLOAD) -> bytes:
        """Send `payload`, read until it is all back or the proxy ends the connection."""
        with self.connect() as sock:
            sock.sendall(payload)
            return read_until(sock, len(payload))

    def assert_clean(self) -> None:
        """Toxiproxy reports no toxic on an enabled proxy, and bytes pass both ways untouched."""
        assert self.server.toxics(PROXY) == []
        assert self.server.proxy(PROXY)["enabled"] is True
        assert self.round_trip() == PAYLOAD
        self.upstream.forget_connections()


def read_until(sock: socket.socket, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


@pytest.fixture
def link(toxiproxy_server: ToxiproxyServer) -> Iterator[Link]:  # noqa: F811
    """A fresh `broker` proxy to a fresh echo upstream; deleted afterwards (and with it any toxic)."""
    upstream = EchoUpstream()
    thread = threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    proxy = toxiproxy_server.create_proxy(PROXY, upstream.address)
    host, port = proxy["listen"].rsplit(":", 1)
    try:
        yield Link(toxiproxy_server.url, host, int(port), upstream, toxiproxy_server)
    finally:
        toxiproxy_server.delete_proxy(PROXY)
        upstream.shutdown()
        upstream.server_close()
        thread.join(timeout=IO_TIMEOUT)


# -- what each toxic does to real traffic
def _late_answer(latency_ms: int, jitter_ms: int) -> Callable[[Link], None]:
    def effect(link: Link) -> None:
        start = time.monotonic()
        assert link.round_trip() == PAYLOAD
        assert time.monotonic() - start >= (latency_ms - jitter_ms) / 1000

    return effect


def _late_arrival_upstream(latency_ms: int) -> Callable[[Link], None]:
    def effect(link: Link) -> None:
        start = time.monotonic()
        assert link.round_trip() == PAYLOAD
        conn = link.upstream.next_connection()
        assert conn.received(len(PAYLOAD)) == PAYLOAD
        assert conn.first_byte_at is not None and conn.first_byte_at - start >= latency_ms / 1000

    return effect


def _request_arrives_answer_never_does(link: Link) -> None:
    with link.connect() as sock:
        sock.sendall(PAYLOAD)
        sock.settimeout(NO_ANSWER_WAIT)
        with pytest.raises(TimeoutError):
            sock.recv(1)
    # The broker did get the order: exactly the ambiguous outcome the engine must record as `unknown`.
    assert link.upstream.next_connection().received(len(PAYLOAD)) == PAYLOAD


def _connection_reset(link: Link) -> None:
    with pytest.raises(ConnectionResetError):
        link.round_trip()


def _throttled(rate_kb_s: int) -> Callable[[Link], None]:
    def effect(link: Link) -> None:
        start = time.monotonic()
        assert link.round_trip() == PAYLOAD
        assert time.monotonic() - start >= len(PAYLOAD) / (rate_kb_s * 1000)

    return effect


def _sliced(size: int) -> Callable[[Link], None]:
    def effect(link: Link) -> None:
        payload = PAYLOAD[: size * 4]  # Toxiproxy halves a chunk until it is <= size: 4 slices of `size`
        pieces: list[bytes] = []
        with link.connect() as sock:
            sock.sendall(payload)
            while sum(map(len, pieces)) < len(payload) and (chunk := sock.recv(65536)):
                pieces.append(chunk)
        # Echoed in one write upstream, it arrives in several pieces, each made of whole slices.
        assert b"".join(pieces) == payload
        assert len(pieces) >= 2 and all(len(p) % size == 0 for p in pieces), [len(p) for p in pieces]

    return effect


def _answer_cut_after(limit: int) -> Callable[[Link], None]:
    def effect(link: Link) -> None:
        assert link.round_trip() == PAYLOAD[:limit]
        assert link.upstream.next_connection().received(len(PAYLOAD)) == PAYLOAD  # the request went through

    return effect


def _request_cut_after(limit: int) -> Callable[[Link], None]:
    def effect(link: Link) -> None:
        assert len(link.round_trip()) <= limit
        assert link.upstream.next_connection().received_until_closed() == PAYLOAD[:limit]

    return effect


def _close_delayed(delay_ms: int) -> Callable[[Link], None]:
    def effect(link: Link) -> None:
        with link.connect() as sock:
            sock.sendall(PAYLOAD)
            assert read_until(sock, len(PAYLOAD)) == PAYLOAD
            closed_at = time.monotonic()
            sock.shutdown(socket.SHUT_WR)  # the upstream sees EOF and closes; the client learns it late
            assert sock.recv(1) == b""
            assert time.monotonic() - closed_at >= delay_ms / 1000

    return effect


@dataclass(frozen=True)
class Case:
    type: str
    stream: Stream
    attributes: dict[str, int]
    effect: Callable[[Link], None]

    @property
    def id(self) -> str:
        return f"{self.type}-{self.stream}"


CASES = (
    Case("latency", "downstream", {"latency": 300, "jitter": 100}, _late_answer(300, 100)),
    Case("latency", "upstream", {"latency": 300, "jitter": 0}, _late_arrival_upstream(300)),
    Case("timeout", "downstream", {"timeout": 0}, _request_arrives_answer_never_does),
    Case("reset_peer", "upstream", {"timeout": 0}, _connection_reset),
    Case("reset_peer", "downstream", {"timeout": 0}, _connection_reset),
    Case("bandwidth", "downstream", {"rate": 1}, _throttled(1)),
    Case("slicer", "downstream", {"average_size": 8, "size_variation": 0, "delay": 50_000}, _sliced(8)),
    Case("limit_data", "downstream", {"bytes": 64}, _answer_cut_after(64)),
    Case("limit_data", "upstream", {"bytes": 64}, _request_cut_after(64)),
    Case("slow_close", "downstream", {"delay": 300}, _close_delayed(300)),
)


def test_every_toxic_type_has_a_case() -> None:
    assert {c.type for c in CASES} == set(TOXIC_TYPES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_toxic_is_reported_takes_effect_and_is_removed_on_heal(link: Link, case: Case) -> None:
    link.assert_clean()
    fault = Toxic(link.api_url, case.type, stream=case.stream, attributes=case.attributes)
    assert fault.inject() == {"toxic": f"chaos_{case.type}_{case.stream}"}
    assert link.server.toxics(PROXY) == [
        {
            "name": f"chaos_{case.type}_{case.stream}",
            "type": case.type,
            "stream": case.stream,
            "toxicity": 1,
            "attributes": case.attributes,
        }
    ]
    case.effect(link)
    fault.heal()
    fault.heal()  # idempotent: the Nemesis may heal twice (explicit heal, then heal_all on exit)
    link.assert_clean()


def test_proxy_down_refuses_and_drops_then_comes_back(link: Link) -> None:
    link.assert_clean()
    open_conn = link.connect()
    with open_conn:
        open_conn.sendall(PAYLOAD)
        assert read_until(open_conn, len(PAYLOAD)) == PAYLOAD
        fault = ProxyDown(link.api_url)
        assert fault.inject() == {"enabled": False}
        assert proxy_state(link.api_url)["enabled"] is False
        assert link.server.proxy(PROXY)["enabled"] is False
        # An open connection is dropped: EOF or reset, never another answer.
        try:
            open_conn.sendall(PAYLOAD)
            dropped = open_conn.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            dropped = True
        assert dropped
    with pytest.raises(ConnectionRefusedError):
        link.connect()
    fault.heal()
    assert proxy_state(link.api_url)["enabled"] is True
    link.assert_clean()


def test_reset_clears_toxics_and_reenables(link: Link) -> None:
    Toxic(link.api_url, "timeout", attributes={"timeout": 0}).inject()
    Toxic(link.api_url, "latency", stream="upstream", attributes={"latency": 5000}).inject()
    ProxyDown(link.api_url).inject()
    assert len(link.server.toxics(PROXY)) == 2 and link.server.proxy(PROXY)["enabled"] is False
    reset_through_client(link.api_url)
    link.assert_clean()


def test_unknown_type_is_refused_before_reaching_toxiproxy(link: Link) -> None:
    with pytest.raises(ValueError, match="unknown toxic type 'gremlins'"):
        Toxic(link.api_url, "gremlins")
    assert link.server.toxics(PROXY) == []


def test_missing_proxy_is_a_fault_error(link: Link) -> None:
    link.server.delete_proxy(PROXY)
    with pytest.raises(FaultError, match="no proxy named 'broker'"):
        Toxic(link.api_url, "latency", attributes={"latency": 100}).inject()
    with pytest.raises(FaultError, match="no proxy named 'broker'"):
        ProxyDown(link.api_url).inject()


def test_proxy_state_is_what_the_server_holds(link: Link) -> None:
    state: dict[str, Any] = proxy_state(link.api_url)
    assert state == link.server.proxy(PROXY)
    assert (state["name"], state["upstream"]) == (PROXY, link.upstream.address)



def _outcome_within(call: Callable[[], object], seconds: float) -> BaseException | None:
    """Run `call` in a daemon thread; its exception (None on success). Fails the test if it is still running
    after `seconds` (a hang would otherwise only end at the suite's timeout)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), f"{call} still waiting after {seconds}s"
    return outcome[0]


def test_a_hung_toxiproxy_api_fails_the_call_instead_of_hanging_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real loopback socket that completes the TCP handshake and never answers: what a hung Toxiproxy API
    looks like. inject and heal must each fail with a timeout (the library itself sends no timeout)."""
    monkeypatch.setattr(network, "API_TIMEOUT_S", 0.3)
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)  # never accepted, never answered
        api_url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        toxic = Toxic(api_url, "latency", attributes={"latency": 100})
        for call in (toxic.inject, toxic.heal, ProxyDown(api_url).inject):
            assert isinstance(_outcome_within(call, IO_TIMEOUT), requests.exceptions.Timeout)
