"""One Toxiproxy toxic on the engine -> broker link, as a real toxic (toxiproxy-python client)."""

from __future__ import annotations

import random
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.params import FaultParams
from chaos_lab.faults.toxiproxy_api import (
    ATTRIBUTES,
    TOXIC_TYPES,
    Stream,
    ToxicType,
    ToxiproxyFault,
    broker_proxy,
)


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


class Toxic(ToxiproxyFault):
    """One toxic, e.g. latency(latency=2000, jitter=200), timeout(timeout=0), reset_peer(timeout=0),
    bandwidth(rate=1), slicer(average_size=1, size_variation=0, delay=1000), limit_data(bytes=64)."""

    kind = "toxic"
    explore = ExploreRule(_draw_toxic, (0.5, 4.0), "link", breaking=_breaking_toxic)
    effects = frozenset({Effect.LINK_BROKEN})

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
        with broker_proxy(self.api_url) as proxy:
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
        with broker_proxy(self.api_url) as proxy:
            if proxy.get_toxic(self.toxic_name) is not None:
                proxy.destroy_toxic(self.toxic_name)
