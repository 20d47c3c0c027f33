"""The engine -> broker link cut: Toxiproxy's `broker` proxy disabled."""

from __future__ import annotations

from typing import Any

from chaos_lab.effects import Effect
from chaos_lab.faults.base import goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.toxiproxy_api import ToxiproxyFault, broker_proxy


class ProxyDown(ToxiproxyFault):
    """The link is gone: Toxiproxy stops listening and drops every open connection."""

    kind = "proxy_down"
    explore = ExploreRule(no_params, (0.5, 3.0), "link", breaking=no_params)
    effects = frozenset({Effect.LINK_BROKEN})

    goals = (goal("broker_request_failed", why="a broker request met the missing link"),)

    def __init__(self, api_url: str) -> None:
        super().__init__()
        self.api_url = api_url

    def inject(self) -> dict[str, Any]:
        with broker_proxy(self.api_url) as proxy:
            proxy.disable()
        return {"enabled": False}

    def heal(self) -> None:
        with broker_proxy(self.api_url) as proxy:
            proxy.enable()
