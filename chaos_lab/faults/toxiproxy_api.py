"""The lab's Toxiproxy API: a client whose every call is bounded in time, the attributes each toxic type
accepts, and the proxy's state. The engine's broker URL points at Toxiproxy's `broker` proxy, so every byte
between them passes the toxics; the `toxic` and `proxy_down` kinds act through this module."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlparse

from pydantic import BaseModel
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer

from chaos_lab.bounds import Between
from chaos_lab.faults.base import Fault, FaultError
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab

PROXY = "broker"


# Every call to the Toxiproxy API gets this (connect, read) timeout. The library sends its requests with none,
# so a hung API would hang inject/heal, and with them the lab's promise to heal every fault on exit.
API_TIMEOUT_S = 5.0


def _bounded(method: Callable[..., Any]) -> classmethod:  # type: ignore[type-arg]
    def call(cls: type[APIConsumer], url: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", API_TIMEOUT_S)
        return method(url, *args, **kwargs)

    call.bounded = True  # type: ignore[attr-defined]
    return classmethod(call)


for _name in ("get", "post", "delete"):
    if not getattr(getattr(APIConsumer, _name), "bounded", False):  # once, even if this module is reloaded
        setattr(APIConsumer, _name, _bounded(getattr(APIConsumer, _name)))


Stream = Literal["upstream", "downstream"]


ToxicType = Literal["latency", "timeout", "reset_peer", "bandwidth", "slicer", "limit_data", "slow_close"]


TOXIC_TYPES: tuple[str, ...] = get_args(ToxicType)


_MS = Annotated[int, Between(0, 600_000, " ms", integer=True)]  # Toxiproxy's attributes are integers


_US = Annotated[int, Between(0, 600_000_000, " us", integer=True)]


_BYTES = Annotated[int, Between(0, 2**30, " bytes", integer=True)]


class _Attributes(BaseModel):
    """A toxic's attributes (Toxiproxy's README); unset ones take Toxiproxy's defaults."""

    model_config = FaultParams.model_config


class _Latency(_Attributes):
    latency: _MS = 0
    jitter: _MS = 0


class _Timeout(_Attributes):  # timeout and reset_peer: 0 = forever / at once
    timeout: _MS = 0


class _Bandwidth(_Attributes):
    rate: Annotated[int, Between(0, 10**9, " KB/s", integer=True)] = 0


class _Slicer(_Attributes):
    average_size: _BYTES = 0
    size_variation: _BYTES = 0
    delay: _US = 0


class _LimitData(_Attributes):
    bytes: _BYTES = 0


class _SlowClose(_Attributes):
    delay: _MS = 0


ATTRIBUTES: dict[str, type[_Attributes]] = {
    "latency": _Latency,
    "timeout": _Timeout,
    "reset_peer": _Timeout,
    "bandwidth": _Bandwidth,
    "slicer": _Slicer,
    "limit_data": _LimitData,
    "slow_close": _SlowClose,
}


# The library keeps the API's host and port in class attributes of APIConsumer: one address per process. Labs
# run in parallel threads of one process (`--parallel`), so pointing it at one lab and calling it must not be
# split by another thread pointing it elsewhere: a toxic meant for one lab was looked up on the other (seen:
# "toxic not found" at a heal under `make chaos JOBS=2`). Each use holds this lock from pointing to last call.
_ADDRESS = threading.RLock()


@contextmanager
def toxiproxy(api_url: str) -> Iterator[Toxiproxy]:
    """A client pointed at one lab's Toxiproxy API, for the calls made inside the block."""
    parsed = urlparse(api_url)
    with _ADDRESS:
        server = Toxiproxy()
        server.update_api_consumer(parsed.hostname or "127.0.0.1", parsed.port or 8474)
        yield server


@contextmanager
def broker_proxy(api_url: str) -> Iterator[Any]:
    """The lab's `broker` proxy (toxiproxy-python's Proxy), usable inside the block."""
    with toxiproxy(api_url) as server:
        proxy = server.get_proxy(PROXY)
        if proxy is None:
            raise FaultError(f"toxiproxy at {api_url} has no proxy named {PROXY!r}")
        yield proxy


def proxy_state(api_url: str) -> dict[str, Any]:
    with toxiproxy(api_url):
        return dict(APIConsumer.get(f"/proxies/{PROXY}", timeout=2.0).json())


class ToxiproxyFault(Fault):
    """A fault on the engine -> broker link: it acts through the lab's Toxiproxy API, not on a container."""

    @classmethod
    def build(cls, params: dict[str, Any], lab: Lab, toxiproxy_url: str) -> Fault:
        return cls(toxiproxy_url, **params)  # type: ignore[call-arg]
