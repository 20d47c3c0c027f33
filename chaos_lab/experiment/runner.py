"""Run one scenario against the lab: reset, steady state, method, rollback, recover, verify, collect, check.

The shape of a Chaos Toolkit experiment executed with Jepsen's parts: a workload client and a /health prober
record a history while the nemesis injects the planned faults; afterwards the checkers judge that history
against the ledger file (read from the volume) and the broker's own record. Faults are healed whatever
happens. The steps are executed by `actions.py` (one executor per step kind), the state they share is
`context.ExperimentContext`, and what the checkers read is gathered by `observe.py`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chaos_lab.broker import contract as broker_contract
from chaos_lab.checkers import run_checkers
from chaos_lab.experiment import observe
from chaos_lab.experiment.actions import execute
from chaos_lab.experiment.context import EngineWontRecover, ExperimentContext, ScenarioError
from chaos_lab.experiment.plan import plan
from chaos_lab.experiment.start_state import inspect as inspect_captured
from chaos_lab.faults.disk_fill import fill_at_start
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE, engine_running, run_on_data
from chaos_lab.models import Op, PhaseTiming, RunnerError, ScenarioResult, Verdict
from chaos_lab.reach import events as reach_events
from chaos_lab.reach import goals as reach_goals
from chaos_lab.scenarios.model import Scenario
from chaos_lab.workload.bursts import BURST_DEADLINE, HealthProber, demo_bars
from chaos_lab.workload.history import History, fault_windows
from chaos_lab.workload.waiting import WaitMeter

Progress = Callable[[str, str, str | None], None]  # scenario, phase, active fault(s)
# How long recovery waits for the engine to answer again; how soon it must is the availability checker's
# bound, judged from the history. 120 s, not 30: at load 35 on 2 cores a restarted engine took longer
# than 30 s to answer /health, and the wait's timeout was then reported as a violation.
READY_TIMEOUT = 120.0


@dataclass
class ScenarioRun:
    result: ScenarioResult
    history: list[Op]
    logs: dict[str, str] = field(default_factory=dict)


class Runner:
    def __init__(self, lab: Lab, progress: Progress | None = None, meter: WaitMeter | None = None) -> None:
        self.lab = lab
        self.urls = lab.urls()  # engine, broker, toxiproxy
        self.progress = progress or (lambda *_: None)
        self.meter = meter or WaitMeter()

    # -- the experiment
    def run(self, scenario: Scenario, seed: int) -> ScenarioRun:
        """One run; a scenario with `reach_attempts` N runs again, up to N times in all, while a run fails no
        checker but misses a goal (Antithesis' "sometimes": an explored schedule's timing varies, so what it
        reached at admission it reaches in most runs, not all). A failed checker ends it at once."""
        run = self._run_once(scenario, seed)
        for attempt in range(2, scenario.reach_attempts + 1):
            if run.result.status != "vacuous":
                break
            run = self._run_once(scenario, seed)
            run.result.attempts = attempt
        return run

    def _run_once(self, scenario: Scenario, seed: int) -> ScenarioRun:
        started, t_start, waited_before = datetime.now(UTC), time.monotonic(), self.meter.waited
        history = History(scenario.name, seed)
        ctx = ExperimentContext(self.lab, self.meter, self.urls, scenario, history)
        phases: list[PhaseTiming] = []
        verdicts: list[Verdict] = []
        error: RunnerError | None = None
        stuck: Verdict | None = None

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
                with HealthProber(ctx.client):
                    try:
                        phase("method")
                        for step in the_plan.steps:
                            execute(ctx, step)
                            self.progress(scenario.name, "method", ctx.active_faults())
                        end_phase()
                    finally:
                        phase("rollback")
                        self.rollback(ctx)
                        end_phase()
                    phase("recover")
                    self.recover(ctx)
                    end_phase()
                    phase("verify")
                    self.verify(ctx)
                    end_phase()
        except EngineWontRecover as exc:  # the engine's verdict, judged with the others below
            end_phase()
            stuck = Verdict(
                name="recovers",
                ok=False,
                summary=exc.reason,
                evidence={"phase": history.phase, "health": exc.health},
            )
        except Exception as exc:  # any failure of the method is the scenario's error; Ctrl-C still propagates
            end_phase()
            error = RunnerError.of(history.phase, exc)
        finally:
            errors = ctx.nemesis.heal_all()
            ctx.stop_bursts()
            if errors:
                error = RunnerError.lab(error, "heal", "HealFailed", "; ".join(errors))
        phase("collect")
        obs = observe.collect(ctx)
        error = broker_contract.run_error(obs, error)  # the lab's ground truth must keep its own contract
        logs = observe.logs(self.lab, since=started)
        obs.reach = reach_events.gather(obs, logs.get("engine", ""))
        end_phase()
        phase("check")
        verdicts = [*run_checkers(scenario.judged_by, obs), *([stuck] if stuck else [])]
        ops = history.ops
        end = ops[-1].time if ops else 0.0
        goals = reach_goals.judge(reach_goals.scenario_goals(scenario), obs.reach, fault_windows(ops), end)
        end_phase()
        result = ScenarioResult(
            scenario=scenario.name,
            tier=scenario.tier,
            seed=seed,
            ok=error is None and all(v.ok for v in verdicts) and all(g.met for g in goals),
            started=started,
            duration_s=round(time.monotonic() - t_start, 3),
            wait_s=round(self.meter.waited - waited_before, 3),
            phases=phases,
            faults=fault_windows(ops),
            verdicts=verdicts,
            error=error.line if error else None,
            runner_error=error,
            cycle_s=ctx.cycle_s(),
            ops=sum(1 for op in ops if op.type == "invoke"),
            goals=goals,
            reach=reach_events.counts(obs.reach),
        )
        self.progress(scenario.name, "done" if result.ok else result.status.upper(), None)
        return ScenarioRun(result=result, history=ops, logs=logs)

    # -- lab housekeeping
    def reset_lab(self, ctx: ExperimentContext) -> None:
        """A clean lab: no toxics, empty broker, empty engine volume, engine freshly started and ready. A
        start from captured data (`start_from`) then puts production's files on the volume, its orders in
        the broker and its free bytes on the disk before the engine starts."""
        self.lab.clear()
        start = ctx.scenario.start_from
        config = ctx.scenario.engine_config or None
        if start is not None:
            ctx.captured = captured = inspect_captured(start)  # checked at load; again, as it is now
            have = self.lab.data_size_bytes()
            if start.volume_size and captured.volume_bytes != have:
                raise ScenarioError(
                    f"the lab's volume holds {have} bytes, the start wants "
                    f"{start.volume_size}: run it with `chaos-lab run` (it sizes the volume)"
                )
            ctx.broker.seed([o.model_dump() for o in captured.orders])
            self.lab.put_files(captured.archive())
            config = captured.config(ctx.scenario.engine_config)
        if config:
            text = json.dumps(config)
            run_on_data(self.lab, ["sh", "-c", 'printf "%s" "$1" > /data/config.json', "config", text])
        if ctx.captured is not None and ctx.captured.leave_bytes is not None:
            fill_at_start(self.lab, ctx.captured.leave_bytes)
        self.lab.start(ENGINE)
        ctx.wait_engine(ready="engine_ready" in ctx.scenario.steady_state, timeout=READY_TIMEOUT)

    # -- after the method
    def rollback(self, ctx: ExperimentContext) -> None:
        """Heal every fault, run the scenario's own rollback steps, leave the broker without knobs set, and
        let the workload finish."""
        errors = ctx.nemesis.heal_all()
        if errors:
            raise ScenarioError("heal failed: " + "; ".join(errors))
        for step in ctx.scenario.rollback:
            execute(ctx, step)
        ctx.broker.configure()  # never leave a delay or injected failures behind
        ctx.await_bursts(BURST_DEADLINE)
        heals = [op.time for op in ctx.history.ops if op.process == "nemesis" and op.f == "heal"]
        ctx.last_heal_at = max(heals) if heals else ctx.history.now()

    def recover(self, ctx: ExperimentContext) -> None:
        if not engine_running(self.lab):
            self.lab.start(ENGINE)
        if ctx.scenario.restart_on_recover:
            self.lab.restart(ENGINE)
        ctx.recovered_at = ctx.wait_engine(ctx.scenario.expect_ready, READY_TIMEOUT)
        ctx.mark_ready(ctx.recovered_at)

    def verify(self, ctx: ExperimentContext) -> None:
        start = ctx.history.now()
        for i in range(ctx.scenario.verify_signals):
            ctx.client.submit("EURUSD", "BUY" if i % 2 == 0 else "SELL", 1.0, process="verify")
        ctx.verify_s = ctx.history.now() - start


__all__ = ["Runner", "ScenarioError", "ScenarioRun", "demo_bars"]
