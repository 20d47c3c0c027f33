"""Network faults on the engine -> broker link, as real Toxiproxy toxics (toxiproxy-python client).

The engine's broker URL points at Toxiproxy's `broker` proxy, so every byte between them passes the toxics.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlparse

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab import Lab

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


def toxiproxy(api_url: str) -> Toxiproxy:
    """A client pointed at the lab's Toxiproxy API (the library keeps host/port at class level)."""
    parsed = urlparse(api_url)
    server = Toxiproxy()
    server.update_api_consumer(parsed.hostname or "127.0.0.1", parsed.port or 8474)
    return server


def _proxy(api_url: str) -> Any:
    proxy = toxiproxy(api_url).get_proxy(PROXY)
    if proxy is None:
        raise FaultError(f"toxiproxy at {api_url} has no proxy named {PROXY!r}")
    return proxy


def _draw_toxic(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["latency", "timeout", "reset_peer", "bandwidth", "slicer", "limit_data", "slow_close"])
    stream = rng.choice(["upstream", "downstream"])
    attributes: dict[str, Any] = {
        "latency": {"latency": rng.choice([500, 2000, 4000]), "jitter": rng.choice([0, 200])},
        "timeout": {"timeout": rng.choice([0, 500, 2000])},
        "reset_peer": {"timeout": rng.choice([0, 100])},
        "bandwidth": {"rate": rng.choice([1, 4])},
        "slicer": {"average_size": rng.choice([1, 8]), "size_variation": 0, "delay": rng.choice([500, 2000])},
        "limit_data": {"bytes": rng.choice([16, 64, 256])},
        "slow_close": {"delay": rng.choice([500, 2000])},
    }[kind]
    # Below 1, only some connections are hit: a reconcile may read the balance and then fail on an order.
    return {"type": kind, "stream": stream, "attributes": attributes, "toxicity": rng.choice([1.0, 1.0, 0.5])}


# Toxics through which no request to the broker completes within the engine's 3 s read timeout: a GET is
# refused, reset, cut or answered too late. A crash under one of these restarts the engine into a start-up
# reconcile that cannot ask the broker anything; a 500 ms latency, which reconcile survives, tests nothing.
BREAKING_TOXICS: tuple[dict[str, Any], ...] = (
    {"type": "timeout", "attributes": {"timeout": 0}},
    {"type": "reset_peer", "attributes": {"timeout": 0}},
    {"type": "limit_data", "attributes": {"bytes": 16}},
    {"type": "latency", "attributes": {"latency": 4000, "jitter": 0}},
)


def _breaking_toxic(rng: random.Random) -> dict[str, Any]:
    toxic = rng.choice(BREAKING_TOXICS)
    return {**toxic, "stream": rng.choice(["upstream", "downstream"]), "toxicity": 1.0}


class Toxic(Fault):
    """One toxic, e.g. latency(latency=2000, jitter=200), timeout(timeout=0), reset_peer(timeout=0),
    bandwidth(rate=1), slicer(average_size=1, size_variation=0, delay=1000), limit_data(bytes=64)."""

    kind = "toxic"
    explore = ExploreRule(_draw_toxic, (0.5, 4.0), "link", breaking=_breaking_toxic)
    effects = frozenset({Effect.LINK_BROKEN})

    @classmethod
    def build(cls, params: dict[str, Any], lab: Lab, toxiproxy_url: str) -> Fault:
        return cls(toxiproxy_url, **params)

    goals = (goal("broker_order_received", "broker_request_failed", why="a request crossed the sick link"),)

    class Params(FaultParams):
        """`down` is not a toxic here: the `proxy_down` kind disables the whole proxy."""

        type: ToxicType
        stream: Stream = "downstream"
        attributes: dict[str, Any] = Field(default_factory=dict)
        toxicity: Annotated[float, Between(0.0, 1.0)] = 1.0

        @field_validator("attributes")
        @classmethod
        def _for_type(cls, attributes: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
            model = ATTRIBUTES.get(info.data.get("type", ""))
            if model is None:  # the type itself failed: that error is the one to report
                return attributes
            kind, allowed = info.data["type"], ", ".join(model.model_fields)
            for key, value in attributes.items():
                if key not in model.model_fields:
                    raise ValueError(f"{key!r} is not an attribute of a {kind} toxic (one of {allowed})")
                try:
                    model.model_validate({key: value})
                except ValidationError as exc:
                    problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
                    raise ValueError(f"attribute {key} of a {kind} toxic {problem}") from None
            return attributes

    def __init__(
        self,
        api_url: str,
        type: str,
        stream: Stream = "downstream",
        attributes: dict[str, Any] | None = None,
        toxicity: float = 1.0,
    ) -> None:
        if type not in TOXIC_TYPES:
            raise ValueError(f"unknown toxic type {type!r}; one of {TOXIC_TYPES}")
        super().__init__(type=type, stream=stream, attributes=attributes or {}, toxicity=toxicity)
        self.api_url = api_url
        self.toxic_name = f"chaos_{type}_{stream}"
        self.type, self.stream, self.attributes, self.toxicity = type, stream, attributes or {}, toxicity

    def inject(self) -> dict[str, Any]:
        proxy = _proxy(self.api_url)
        proxy.add_toxic(
            name=self.toxic_name,
            type=self.type,
            stream=self.stream,
            toxicity=self.toxicity,
            attributes=self.attributes,
        )
        if proxy.get_toxic(self.toxic_name) is None:
            raise FaultError(f"toxic {self.toxic_name} not present after adding it")
        return {"toxic": self.toxic_name}

    def heal(self) -> None:
        proxy = _proxy(self.api_url)
        if proxy.get_toxic(self.toxic_name) is not None:
            proxy.destroy_toxic(self.toxic_name)


class ProxyDown(Fault):
    """The link is gone: Toxiproxy stops listening and drops every open connection."""

    kind = "proxy_down"
    explore = ExploreRule(no_params, (0.5, 3.0), "link", breaking=no_params)
    effects = frozenset({Effect.LINK_BROKEN})

    @classmethod
    def build(cls, params: dict[str, Any], lab: Lab, toxiproxy_url: str) -> Fault:
        return cls(toxiproxy_url, **params)

    goals = (goal("broker_request_failed", why="a broker request met the missing link"),)

    def __init__(self, api_url: str) -> None:
        super().__init__()
        self.api_url = api_url

    def inject(self) -> dict[str, Any]:
        _proxy(self.api_url).disable()
        return {"enabled": False}

    def heal(self) -> None:
        _proxy(self.api_url).enable()


def reset_toxiproxy(api_url: str) -> None:
    """Re-enable every proxy and drop every toxic: the clean state a scenario starts from."""
    toxiproxy(api_url).reset()


def proxy_state(api_url: str) -> dict[str, Any]:
    toxiproxy(api_url)
    resp = APIConsumer.get(f"/proxies/{PROXY}", timeout=2.0)
    return dict(resp.json())
