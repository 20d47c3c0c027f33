"""Run one scenario against the lab: reset, steady state, method, rollback, recover, verify, collect, check.

The shape of a Chaos Toolkit experiment executed with Jepsen's parts: a workload client and a /health prober
record a history while the nemesis injects the planned faults; afterwards the checkers judge that history
against the ledger file (read from the volume) and the broker's own record. Faults are healed whatever
happens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from chaos_lab.checkers import run_checkers
from chaos_lab.client import BrokerAdmin, EngineClient
from chaos_lab.faults.base import Nemesis
from chaos_lab.faults.catalog import build_fault
from chaos_lab.faults.files import LEDGER
from chaos_lab.faults.lab_ops import ENGINE, engine_running, read_data_file, run_on_data
from chaos_lab.faults.network import proxy_state, reset_toxiproxy
from chaos_lab.generator import plan
from chaos_lab.history import History, fault_windows
from chaos_lab.ledger_reader import scan_ledger
from chaos_lab.models import KillSwitchState, Observation, Op, PhaseTiming, ScenarioResult, Verdict
from chaos_lab.scenarios.model import (
    ActivateKillSwitch,
    AwaitBurst,
    BrokerConfig,
    Burst,
    Heal,
    Inject,
    ObserveKillSwitch,
    PutBars,
    ReadBars,
    RetryUnknown,
    Scenario,
    Signal,
    Sleep,
    Step,
    WaitEngine,
    WaitOps,
)
from chaos_lab.waiting import WaitMeter

Progress = Callable[[str, str, str | None], None]  # scenario, phase, active fault(s)
SERVICES = ("engine", "broker", "toxiproxy")
READY_TIMEOUT = 30.0
PROBE_INTERVAL = 0.25
MAX_PROBES = 2000  # bound on the prober, whatever the scenario does
BURST_DEADLINE = 60.0


class ScenarioError(RuntimeError):
    """The runner could not execute the scenario as declared (steady state broken, a fault refused)."""


@dataclass
class ScenarioRun:
    result: ScenarioResult
    history: list[Op]
    logs: dict[str, str] = field(default_factory=dict)


def demo_bars(count: int) -> list[dict[str, Any]]:
    """Deterministic minute bars: the truncated-parquet scenario needs a real file to damage."""
    base = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
    bars = []
    for i in range(count):
        price = 1.10 + 0.001 * ((i * 7) % 13)
        bars.append(
            {
                "ts": datetime.fromtimestamp(base + 60 * i, UTC).isoformat(),
                "open": price,
                "high": price + 0.0005,
                "low": price - 0.0005,
                "close": price + 0.0002,
                "volume": 100.0 + i,
            }
        )
    return bars


class _Prober:
    """Polls /health in the background while faults are live; every probe lands in the history."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-prober", daemon=True)

    def _run(self) -> None:
        for _ in range(MAX_PROBES):
            if self._stop.is_set():
                return
            self.client.probe_health()
            self._stop.wait(PROBE_INTERVAL)

    def __enter__(self) -> _Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class _Burst:
    """A bounded set of signals sent by `concurrency` clients (Jepsen's processes), each one at a time, in the
    calling thread or in background threads."""

    def __init__(
        self, client: EngineClient, step: Burst, meter: WaitMeter | None, stop: threading.Event
    ) -> None:
        self.client, self.step, self.meter, self.stop = client, step, meter, stop
        self.threads: list[threading.Thread] = []
        self.deadline = time.monotonic() + BURST_DEADLINE

    def _worker(self, signals: tuple[Signal, ...]) -> None:
        for sig in signals:
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return
            outcome, intent_id, _ = self.client.submit(sig.symbol, sig.side, sig.quantity)
            for _ in range(self.step.retry_unknown):
                if outcome != "info":
                    break
                outcome, _, _ = self.client.submit(sig.symbol, sig.side, sig.quantity, intent_id=intent_id)
            if self.step.interval_s:
                if self.meter is not None:
                    self.meter.sleep(self.step.interval_s)
                else:
                    self.stop.wait(self.step.interval_s)

    def start(self) -> None:
        n = self.step.concurrency
        for i in range(n):
            thread = threading.Thread(
                target=self._worker, args=(self.step.signals[i::n],), name=f"workload-{i}", daemon=True
            )
            self.threads.append(thread)
            thread.start()

    def run(self) -> None:
        """In the foreground: inline for one client, else start the clients and wait for them (bounded)."""
        if self.step.concurrency == 1:
            self._worker(self.step.signals)
        else:
            self.start()
            self.join(BURST_DEADLINE + 10)

    def done(self) -> bool:
        return not any(t.is_alive() for t in self.threads)

    def join(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, end - time.monotonic()))
        return self.done()


class Runner:
    def __init__(self, lab: Any, progress: Progress | None = None, meter: WaitMeter | None = None) -> None:
        self.lab = lab
        urls = lab.urls()
        self.engine_url, self.broker_url, self.toxiproxy_url = (
            urls["engine"],
            urls["broker"],
            urls["toxiproxy"],
        )
        self.progress = progress or (lambda *_: None)
        self.meter = meter or WaitMeter()

    # -- the experiment
    def run(self, scenario: Scenario, seed: int) -> ScenarioRun:
        started, t_start, waited_before = datetime.now(UTC), time.monotonic(), self.meter.waited
        history = History(scenario.name, seed)
        ctx = _Context(self, scenario, history)
        phases: list[PhaseTiming] = []
        verdicts: list[Verdict] = []
        error: str | None = None
        obs: Observation | None = None

        def phase(name: str) -> None:
            history.phase = name
            phases.append(PhaseTiming(phase=name, seconds=0.0))
            ctx.phase_started = time.monotonic()
            self.progress(scenario.name, name, ctx.active_faults())

        def end_phase() -> None:
            if phases:
                phases[-1].seconds = round(time.monotonic() - ctx.phase_started, 3)

        the_plan = plan(scenario, seed)
        try:
            with ctx.nemesis:
                phase("reset")
                self.reset_lab(ctx)
                end_phase()
                phase("steady-state")
                ctx.steady_state()
                end_phase()
                with _Prober(ctx.client):
                    try:
                        phase("method")
                        for step in the_plan.steps:
                            ctx.execute(step)
                            self.progress(scenario.name, "method", ctx.active_faults())
                        end_phase()
                    finally:
                        phase("rollback")
                        ctx.rollback()
                        end_phase()
                    phase("recover")
                    ctx.recover()
                    end_phase()
                    phase("verify")
                    ctx.verify()
                    end_phase()
        except Exception as exc:  # any failure of the method is the scenario's error; Ctrl-C still propagates
            end_phase()
            error = f"{history.phase}: {type(exc).__name__}: {exc}"
        finally:
            errors = ctx.nemesis.heal_all()
            ctx.stop_bursts()
            if errors:
                error = (error + "; " if error else "") + "heal failed: " + "; ".join(errors)
        phase("collect")
        obs = ctx.collect()
        logs = ctx.logs()
        end_phase()
        phase("check")
        verdicts = run_checkers(scenario.checkers, obs)
        end_phase()
        ops = history.ops
        result = ScenarioResult(
            scenario=scenario.name,
            tier=scenario.tier,
            seed=seed,
            ok=error is None and all(v.ok for v in verdicts),
            started=started,
            duration_s=round(time.monotonic() - t_start, 3),
            wait_s=round(self.meter.waited - waited_before, 3),
            phases=phases,
            faults=fault_windows(ops),
            verdicts=verdicts,
            error=error,
            cycle_s=ctx.cycle_s(),
            ops=sum(1 for op in ops if op.type == "invoke"),
        )
        self.progress(scenario.name, "done" if result.ok else "FAILED", None)
        return ScenarioRun(result=result, history=ops, logs=logs)

    # -- lab housekeeping
    def reset_lab(self, ctx: _Context) -> None:
        """A clean lab: no toxics, empty broker, empty engine volume, engine freshly started and ready."""
        reset_toxiproxy(self.toxiproxy_url)
        ctx.broker.reset()
        if engine_running(self.lab):
            self.lab.stop(ENGINE, timeout=5)
        run_on_data(self.lab, ["find", "/data", "-mindepth", "1", "-delete"])
        self.lab.start(ENGINE)
        ctx.wait_engine(ready=True, timeout=READY_TIMEOUT)


class _Context:
    """The per-scenario state the steps act on."""

    def __init__(self, runner: Runner, scenario: Scenario, history: History) -> None:
        self.runner, self.scenario, self.history = runner, scenario, history
        self.lab, self.meter = runner.lab, runner.meter
        self.client = EngineClient(runner.engine_url, history)
        self.broker = BrokerAdmin(runner.broker_url)
        self.nemesis = Nemesis(history)
        self.bursts: list[_Burst] = []
        self.stop = threading.Event()
        self.kill_switch_before: KillSwitchState | None = None
        self.last_heal_at: float | None = None
        self.recovered_at: float | None = None
        self.kill_at: float | None = None
        self.ready_after_kill: float | None = None
        self.verify_s: float | None = None
        self.phase_started = time.monotonic()

    def active_faults(self) -> str | None:
        return ", ".join(f"{n} ({f.kind})" for n, f in self.nemesis.active.items()) or None

    # -- polling
    def wait_engine(self, ready: bool, timeout: float) -> float:
        def answered() -> bool:
            body = self.client.health()
            return body is not None and (not ready or body.get("status") == "ready")

        self.meter.until(
            answered,
            timeout=timeout,
            interval=0.1,
            what="engine ready" if ready else "engine answering /health",
        )
        return self.history.now()

    def steady_state(self) -> None:
        checks = {
            "engine_ready": lambda: (self.client.health() or {}).get("status") == "ready",
            "broker_healthy": self.broker.healthy,
            "proxy_enabled": lambda: bool(proxy_state(self.runner.toxiproxy_url).get("enabled")),
            "flat_positions": lambda: (
                not any(self.broker.positions().values())
                and not any(self.client.state().get("positions", {}).values())
            ),
        }
        failed = [name for name in self.scenario.steady_state if not checks[name]()]
        if failed:
            raise ScenarioError(f"steady state does not hold: {', '.join(failed)}")

    # -- steps
    def execute(self, step: Step) -> None:
        if isinstance(step, Burst):
            burst = _Burst(self.client, step, None if step.background else self.meter, self.stop)
            if step.background:
                self.bursts.append(burst)
                burst.start()
            else:
                burst.run()
        elif isinstance(step, AwaitBurst):
            self.await_bursts(step.timeout_s)
        elif isinstance(step, WaitOps):
            target = int(step.count)  # resolved by the generator
            self.meter.until(
                lambda: self.history.count("workload") >= target or self._bursts_done(),
                timeout=step.timeout_s,
                interval=0.02,
                what=f"{target} completed signals",
            )
        elif isinstance(step, Sleep):
            self.meter.sleep(float(step.seconds))
        elif isinstance(step, Inject):
            before = self.history.now()
            self.nemesis.inject(
                step.name, build_fault(step.kind, step.params, self.lab, self.runner.toxiproxy_url)
            )
            if step.kind == "kill" and self.kill_at is None:
                self.kill_at = before
        elif isinstance(step, Heal):
            self.nemesis.heal(step.name)
            self.last_heal_at = self.history.now()
        elif isinstance(step, BrokerConfig):
            self.broker.configure(order_delay_s=step.order_delay_s, fail_next=step.fail_next)
        elif isinstance(step, ActivateKillSwitch):
            outcome, body = self.client.activate_kill_switch(step.reason)
            if outcome != "ok":
                raise ScenarioError(f"kill switch activation refused: {body}")
        elif isinstance(step, ObserveKillSwitch):
            self.kill_switch_before = self.client.kill_switch()
        elif isinstance(step, WaitEngine):
            ready_at = self.wait_engine(step.ready, step.timeout_s)
            if self.kill_at is not None and self.ready_after_kill is None:
                self.ready_after_kill = ready_at
        elif isinstance(step, RetryUnknown):
            self.retry_unknown()
        elif isinstance(step, PutBars):
            outcome, body = self.client.put_bars(step.symbol, step.timeframe, demo_bars(step.count))
            if outcome != "ok":
                raise ScenarioError(f"storing bars failed: {body}")
        elif isinstance(step, ReadBars):
            self.client.read_bars(step.symbol, step.timeframe)

    def retry_unknown(self) -> None:
        unknown: dict[Any, dict[str, Any]] = {}
        invokes = {
            op.intent_id: op.value for op in self.history.ops if op.f == "signal" and op.type == "invoke"
        }
        for op in self.history.ops:
            if op.f == "signal" and op.type == "info" and op.intent_id is not None:
                unknown[op.intent_id] = invokes[op.intent_id]
        if not unknown:
            raise ScenarioError("no signal ended `unknown`: the fault did not make an ambiguous outcome")
        for intent_id, body in unknown.items():
            self.client.submit(body["symbol"], body["side"], body["quantity"], intent_id=intent_id)

    def _bursts_done(self) -> bool:
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

    # -- after the method
    def rollback(self) -> None:
        errors = self.nemesis.heal_all()
        if errors:
            raise ScenarioError("heal failed: " + "; ".join(errors))
        for step in self.scenario.rollback:
            self.execute(step)
        self.broker.configure()  # never leave a delay or injected failures behind
        self.await_bursts(BURST_DEADLINE)
        heals = [op.time for op in self.history.ops if op.process == "nemesis" and op.f == "heal"]
        self.last_heal_at = max(heals) if heals else self.history.now()

    def recover(self) -> None:
        if not engine_running(self.lab):
            self.lab.start(ENGINE)
        if self.scenario.restart_on_recover:
            self.lab.restart(ENGINE)
        self.recovered_at = self.wait_engine(self.scenario.expect_ready, READY_TIMEOUT)
        if self.kill_at is not None and self.ready_after_kill is None:
            self.ready_after_kill = self.recovered_at

    def verify(self) -> None:
        start = self.history.now()
        for i in range(self.scenario.verify_signals):
            self.client.submit("EURUSD", "BUY" if i % 2 == 0 else "SELL", 1.0, process="verify")
        self.verify_s = self.history.now() - start

    def cycle_s(self) -> float | None:
        """SIGKILL -> engine back (ready, or answering when it must refuse) -> verification signals answered:
        the scenario's own waits between those steps (rest of the burst, rollback) are not part of it."""
        if self.kill_at is None or self.ready_after_kill is None or self.verify_s is None:
            return None
        return round(self.ready_after_kill - self.kill_at + self.verify_s, 3)

    def collect(self) -> Observation:
        """Everything the checkers judge. Each source is read on its own: one missing must not hide the
        others."""
        obs = Observation(
            scenario=self.scenario.name,
            history=self.history.ops,
            kill_switch_before=self.kill_switch_before,
            recovered_at=self.recovered_at,
            last_heal_at=self.last_heal_at,
        )
        try:
            obs.ledger_api = self.client.ledger()
        except (requests.RequestException, RuntimeError, KeyError):
            obs.ledger_api = None
        try:
            obs.engine_state = self.client.state()
            obs.kill_switch_after = KillSwitchState.model_validate(obs.engine_state["kill_switch"])
        except (requests.RequestException, KeyError, ValueError):
            obs.engine_state = None
        try:
            obs.ledger_file = scan_ledger(read_data_file(self.lab, LEDGER), path=LEDGER)
        except Exception:  # the file may be missing or the engine down; the checkers say so
            obs.ledger_file = None
        try:
            obs.broker_attempts = self.broker.attempts()
            obs.broker_orders = self.broker.orders()
            obs.broker_positions = self.broker.positions()
        except requests.RequestException:
            pass
        return obs

    def logs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for service in SERVICES:
            try:
                out[service] = self.lab.logs(service)
            except Exception as exc:
                out[service] = f"(logs unavailable: {exc})"
        return out


__all__ = ["Runner", "ScenarioError", "ScenarioRun", "demo_bars"]
