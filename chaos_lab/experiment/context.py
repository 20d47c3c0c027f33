"""The state one experiment's steps act on: the clients, the nemesis, the running bursts and the moments the
report needs (kill, ready again, last heal). The steps themselves live in `actions.py`, the phases in
`runner.py`, what is collected for the checkers in `observe.py`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chaos_lab.experiment.start_state import Captured
from chaos_lab.faults.base import Nemesis
from chaos_lab.faults.registry import fault_class
from chaos_lab.faults.toxiproxy_api import proxy_state
from chaos_lab.lab.protocol import Lab
from chaos_lab.models import KillSwitchState
from chaos_lab.scenarios.model import ActivateKillSwitch, Inject, Scenario
from chaos_lab.workload.bursts import BurstClients
from chaos_lab.workload.client import BrokerAdmin, EngineClient
from chaos_lab.workload.history import History
from chaos_lab.workload.waiting import WaitMeter, WaitTimeout

STEADY_WITHIN_S = 10.0
# An engine that answers /health but stays degraded this long for its own reasons only (ledger, kill switch,
# snapshot: not the broker link, not the disk), unchanged and with no fault active, will not come back by
# itself. Longer than any recovery bound the scenarios judge (20 s); a loaded host slows answers, not this.
STUCK_S = 30.0
OWN_CHECKS = frozenset({"ledger", "kill_switch", "snapshot"})


def _own_degradation(health: dict[str, Any]) -> tuple[str, ...] | None:
    """The reasons of a degraded answer whose failing checks are all the engine's own, else None."""
    failing = {name for name, ok in (health.get("checks") or {}).items() if not ok}
    if health.get("status") != "degraded" or not failing or not failing <= OWN_CHECKS:
        return None
    return tuple(sorted(str(r) for r in health.get("reasons", [])))


class ScenarioError(RuntimeError):
    """The runner could not execute the scenario as declared (steady state broken, a fault refused)."""


class EngineWontRecover(RuntimeError):
    """The engine is back but reports a state that cannot clear by itself: a verdict on the engine."""

    def __init__(self, reason: str, health: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason, self.health = reason, health


class ExperimentContext:
    """Per-scenario state. Every wait goes through the runner's WaitMeter and is bounded."""

    def __init__(
        self, lab: Lab, meter: WaitMeter, urls: dict[str, str], scenario: Scenario, history: History
    ) -> None:
        """`urls`: the lab's engine, broker and toxiproxy addresses (`lab.urls()`)."""
        self.scenario, self.history = scenario, history
        self.lab: Lab = lab
        self.meter: WaitMeter = meter
        self.toxiproxy_url = urls["toxiproxy"]
        self.client = EngineClient(urls["engine"], history)
        self.broker = BrokerAdmin(urls["broker"])
        self.nemesis = Nemesis(history)
        self.bursts: list[BurstClients] = []
        self.stop = threading.Event()
        self.kill_switch_before: KillSwitchState | None = None
        self.last_heal_at: float | None = None
        self.recovered_at: float | None = None
        self.kill_at: float | None = None
        self.ready_after_kill: float | None = None
        self.verify_s: float | None = None
        self.phase_started = time.monotonic()
        self.captured: Captured | None = None  # production's data the run starts from (Runner.reset_lab)

    def active_faults(self) -> str | None:
        return ", ".join(f"{n} ({f.kind})" for n, f in self.nemesis.active.items()) or None

    # -- polling
    def wait_engine(self, ready: bool, timeout: float) -> float:
        """Until /health answers (and says ready, if asked); returns the history time it did. Waiting for
        ready ends early, with EngineWontRecover, once the engine reports a state that cannot clear by itself
        (`stuck_reason`): that is the engine's verdict, not a lab that timed out."""

        same_since: list[Any] = [None, None]  # when the engine's own unchanged reasons were first seen, them

        def answered() -> bool:
            body = self.client.health()
            if ready and body is not None:
                if stuck := self.stuck_reason(body):
                    raise EngineWontRecover(stuck, body)
                own, now = _own_degradation(body), time.monotonic()
                if own is None or own != same_since[1]:
                    same_since[:] = [now, own]
                elif now - same_since[0] >= STUCK_S and not self.nemesis.active:
                    why = "; ".join(own)
                    raise EngineWontRecover(
                        f"the engine answers /health but stays degraded for its own reasons, unchanged for "
                        f"{STUCK_S:.0f}s with no fault active: {why}",
                        body,
                    )
            return body is not None and (not ready or body.get("status") == "ready")

        self.meter.until(
            answered,
            timeout=timeout,
            interval=0.1,
            what="engine ready" if ready else "engine answering /health",
        )
        return self.history.now()

    def stuck_reason(self, health: dict[str, Any]) -> str | None:
        """Why the engine will never say ready by itself: its kill switch is on and nothing in the scenario
        switched it on (no operator step, no fault that damages the kill-switch file or the ledger). Only a
        person with the token can clear it."""
        if (health.get("checks") or {}).get("kill_switch", True):
            return None
        if self.captured is not None and self.captured.kill_switch_active:
            return None  # production left it on: the captured file says so
        steps = (*self.scenario.method, *self.scenario.rollback)
        if any(isinstance(s, ActivateKillSwitch) for s in steps):
            return None
        if any(isinstance(s, Inject) and fault_class(s.kind).may_trip_kill_switch for s in steps):
            return None
        reasons = [str(r) for r in health.get("reasons", []) if str(r).startswith("kill switch")]
        return "the engine switched its kill switch on by itself: " + ("; ".join(reasons) or "(no reason)")

    def mark_ready(self, at: float) -> None:
        if self.kill_at is not None and self.ready_after_kill is None:
            self.ready_after_kill = at

    # -- Chaos Toolkit's steady-state hypothesis
    def _holds(self, probe: Callable[[], bool], what: str) -> bool:
        """A probe holds if it holds within STEADY_WITHIN_S: one /health answer `degraded` because the
        engine's own broker probe timed out once on a loaded host is not a broken hypothesis (a false alarm
        seen under load), while a lab that stays unready still fails the steady state."""
        try:
            return bool(self.meter.until(probe, timeout=STEADY_WITHIN_S, interval=0.2, what=what))
        except WaitTimeout:
            return False

    def _positions_agree(self) -> bool:
        """The engine's positions equal the broker's, symbol by symbol (a start from captured data)."""
        engine = {k: float(v) for k, v in self.client.state().get("positions", {}).items()}
        broker = self.broker.positions()
        return all(abs(engine.get(s, 0.0) - broker.get(s, 0.0)) <= 1e-6 for s in {*engine, *broker})

    def steady_state(self) -> None:
        probes = {
            "engine_ready": lambda: self._holds(
                lambda: (self.client.health() or {}).get("status") == "ready", "engine ready"
            ),
            "broker_healthy": lambda: self._holds(self.broker.healthy, "broker healthy"),
            "proxy_enabled": lambda: bool(proxy_state(self.toxiproxy_url).get("enabled")),
            "flat_positions": lambda: (
                not any(self.broker.positions().values())
                and not any(self.client.state().get("positions", {}).values())
            ),
            "positions_agree": lambda: self._holds(self._positions_agree, "positions agree"),
        }
        failed = [name for name in self.scenario.steady_state if not probes[name]()]
        if failed:
            raise ScenarioError(f"steady state does not hold: {', '.join(failed)}")

    # -- background workload
    def bursts_done(self) -> bool:
        return all(b.done() for b in self.bursts)

    def await_bursts(self, timeout: float) -> None:
        with self.meter.waiting():
            start = time.monotonic()
            for burst in self.bursts:
                if not burst.join(max(0.0, timeout - (time.monotonic() - start))):
                    raise ScenarioError(f"workload still running after {timeout}s")

    def stop_bursts(self) -> None:
        self.stop.set()
        for burst in self.bursts:
            burst.join(10)

    def cycle_s(self) -> float | None:
        """The first fault that ended the engine's process (kill, stop, restart) -> engine back (ready, or
        answering when it must refuse) -> verification signals answered:
        the scenario's own waits between those steps (rest of the burst, rollback) are not part of it."""
        if self.kill_at is None or self.ready_after_kill is None or self.verify_s is None:
            return None
        return round(self.ready_after_kill - self.kill_at + self.verify_s, 3)
