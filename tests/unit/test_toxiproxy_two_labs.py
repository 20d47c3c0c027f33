"""Two labs' Toxiproxies driven from two threads of one process (`run --parallel 2`): each fault lands on its
own lab's proxy. toxiproxy-python keeps the API address in class attributes, so without the lock in
`toxiproxy_api` a call meant for one lab went to the other ("toxic not found" at a heal, `make chaos JOBS=2`).

Two real Toxiproxy servers; each side checks its own server's account (its HTTP API, not the library)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.toxiproxy import (  # noqa: F401  (fixture)
    ToxiproxyServer,
    ensure_binaries,
    reset_through_client,
    toxiproxy_server,
)

from chaos_lab.faults.proxy_down import ProxyDown
from chaos_lab.faults.toxic import Toxic
from chaos_lab.faults.toxiproxy_api import PROXY, proxy_state

CYCLES = 40
UPSTREAM = "127.0.0.1:9"  # never dialled: no traffic crosses these proxies


@pytest.fixture
def second_server(tmp_path: Path) -> Iterator[ToxiproxyServer]:
    server = ToxiproxyServer(ensure_binaries() / "server", tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _drive(server: ToxiproxyServer, toxic_type: str, attributes: dict[str, int], wrong: list[str]) -> None:
    """Inject and heal a toxic and the link cut CYCLES times, checking the server after each step."""
    toxic = Toxic(server.url, type=toxic_type, attributes=attributes)
    cut = ProxyDown(server.url)
    for i in range(CYCLES):
        toxic.inject()
        if [t["name"] for t in server.toxics(PROXY)] != [toxic.toxic_name]:
            wrong.append(f"{server.url} cycle {i}: toxics {server.toxics(PROXY)}")
        toxic.heal()
        cut.inject()
        if proxy_state(server.url)["enabled"] or server.proxy(PROXY)["enabled"]:
            wrong.append(f"{server.url} cycle {i}: still enabled after the cut")
        cut.heal()
        reset_through_client(server.url)
        if server.toxics(PROXY) or not server.proxy(PROXY)["enabled"]:
            wrong.append(f"{server.url} cycle {i}: not clean after heal and reset")


def test_each_thread_acts_on_its_own_labs_toxiproxy(
    toxiproxy_server: ToxiproxyServer,  # noqa: F811
    second_server: ToxiproxyServer,
) -> None:
    for server in (toxiproxy_server, second_server):
        server.create_proxy(PROXY, UPSTREAM)
    wrong: list[str] = []
    errors: list[BaseException] = []

    def side(server: ToxiproxyServer, toxic_type: str, attributes: dict[str, int]) -> None:
        try:
            _drive(server, toxic_type, attributes, wrong)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=side, args=(toxiproxy_server, "latency", {"latency": 1000})),
        threading.Thread(target=side, args=(second_server, "timeout", {"timeout": 0})),
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert errors == [] and wrong == [], (errors[:3], wrong[:5])
    finally:
        for server in (toxiproxy_server, second_server):
            server.delete_proxy(PROXY)
