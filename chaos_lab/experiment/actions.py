"""What each step of a scenario's method (or rollback) does: one small executor per step kind.

`ACTIONS` maps a step's `action` name to its executor, so a new step kind is one model in
`scenarios/model.py` plus one function here (registered with `@action`), and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chaos_lab.effects import Effect
from chaos_lab.experiment.context import ExperimentContext, ScenarioError
from chaos_lab.faults.registry import build_fault
from chaos_lab.lab.resources import sample
from chaos_lab.lab.state import broker_orders_received, kill_switch_token, ledger_bytes
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
    ResetKillSwitch,
    RetryUnknown,
    SampleResources,
    Sleep,
    Step,
    WaitBrokerOrders,
    WaitEngine,
    WaitLedgerBytes,
    WaitOps,
)
from chaos_lab.workload.bursts import BurstClients, demo_bars

S = TypeVar("S")
Executor = Callable[[ExperimentContext, Any], None]
ACTIONS: dict[str, Executor] = {}


def action(step_type: type[S]) -> Callable[[Callable[[ExperimentContext, S], None]], Callable[..., None]]:
    """Register the executor of one step kind (keyed by the model's `action` literal)."""
    name = step_type.model_fields["action"].default  # type: ignore[attr-defined]

    def register(fn: Callable[[ExperimentContext, S], None]) -> Callable[..., None]:
        ACTIONS[name] = fn
        return fn

    return register


def execute(ctx: ExperimentContext, step: Step) -> None:
    ACTIONS[step.action](ctx, step)


@action(Burst)
def burst(ctx: ExperimentContext, step: Burst) -> None:
    clients = BurstClients(ctx.client, step, None if step.background else ctx.meter, ctx.stop)
    if step.background:
        ctx.bursts.append(clients)
        clients.start()
    else:
        clients.run()


@action(AwaitBurst)
def await_burst(ctx: ExperimentContext, step: AwaitBurst) -> None:
    ctx.await_bursts(step.timeout_s)


@action(WaitOps)
def wait_ops(ctx: ExperimentContext, step: WaitOps) -> None:
    target = int(step.count)  # resolved by the generator
    ctx.meter.until(
        lambda: ctx.history.count("workload") >= target or ctx.bursts_done(),
        timeout=step.timeout_s,
        interval=0.02,
        what=f"{target} completed signals",
    )


@action(Sleep)
def sleep(ctx: ExperimentContext, step: Sleep) -> None:
    ctx.meter.sleep(float(step.seconds))


@action(Inject)
def inject(ctx: ExperimentContext, step: Inject) -> None:
    before = ctx.history.now()
    fault = build_fault(step.kind, step.params, ctx.lab, ctx.toxiproxy_url)
    ctx.nemesis.inject(step.name, fault)
    if Effect.PROCESS_ENDS in fault.effects and ctx.kill_at is None:
        ctx.kill_at = before


@action(Heal)
def heal(ctx: ExperimentContext, step: Heal) -> None:
    ctx.nemesis.heal(step.name)
    ctx.last_heal_at = ctx.history.now()


@action(BrokerConfig)
def broker_config(ctx: ExperimentContext, step: BrokerConfig) -> None:
    ctx.broker.configure(order_delay_s=step.order_delay_s, fail_next=step.fail_next)


@action(ActivateKillSwitch)
def kill_switch(ctx: ExperimentContext, step: ActivateKillSwitch) -> None:
    outcome, body = ctx.client.activate_kill_switch(step.reason)
    if outcome != "ok" and step.required:
        raise ScenarioError(f"kill switch activation refused: {body}")


@action(ResetKillSwitch)
def reset_kill_switch(ctx: ExperimentContext, step: ResetKillSwitch) -> None:
    outcome, body = ctx.client.reset_kill_switch(step.token or kill_switch_token(ctx.lab))
    if outcome != "ok" and step.required:
        raise ScenarioError(f"kill switch reset refused: {body}")


def _await_state(ctx: ExperimentContext, what: str, target: int, read: Callable[[], int], step: Any) -> None:
    """Poll a piece of lab state until it reaches `target` (bounded); the trigger lands in the history."""
    seen = [0]

    def reached() -> bool:
        try:
            seen[0] = read()
        except Exception:  # the engine may be down or the file not there yet: keep polling
            return False
        return seen[0] >= target

    def over() -> bool:  # an optional trigger stops waiting once the workload that could reach it is done
        return reached() or (not step.required and bool(ctx.bursts) and ctx.bursts_done())

    invoke = ctx.history.record("setup", "invoke", "trigger", value={"what": what, "target": target})
    try:
        ctx.meter.until(over, timeout=step.timeout_s, interval=0.05, what=f"{what} >= {target}")
    except TimeoutError as exc:
        value = {"what": what, "target": target, "seen": seen[0]}
        ctx.history.record(
            "setup",
            "info",
            "trigger",
            value=value,
            latency=ctx.history.now() - invoke.time,
            reason="not reached in time",
        )
        if step.required:
            raise ScenarioError(f"{what} never reached {target} (last seen {seen[0]})") from exc
        return
    ctx.history.record(
        "setup",
        "ok" if seen[0] >= target else "info",
        "trigger",
        value={"what": what, "target": target, "seen": seen[0]},
        latency=ctx.history.now() - invoke.time,
    )


@action(WaitLedgerBytes)
def await_ledger_bytes(ctx: ExperimentContext, step: WaitLedgerBytes) -> None:
    _await_state(ctx, "ledger bytes", int(step.bytes), lambda: ledger_bytes(ctx.lab), step)


@action(WaitBrokerOrders)
def await_broker_orders(ctx: ExperimentContext, step: WaitBrokerOrders) -> None:
    _await_state(ctx, "broker orders", int(step.count), lambda: broker_orders_received(ctx.broker), step)


@action(ObserveKillSwitch)
def observe_kill_switch(ctx: ExperimentContext, step: ObserveKillSwitch) -> None:
    ctx.kill_switch_before = ctx.client.kill_switch()


@action(WaitEngine)
def wait_engine(ctx: ExperimentContext, step: WaitEngine) -> None:
    ctx.mark_ready(ctx.wait_engine(step.ready, step.timeout_s))


@action(RetryUnknown)
def retry_unknown(ctx: ExperimentContext, step: RetryUnknown) -> None:
    """Resend every signal that was ever in doubt, under its own intent id (the client's late retry), even if
    a retry got an answer since: resending a rejected intent under its id must be safe too."""
    ops = ctx.history.ops
    invokes = {op.intent_id: op.value for op in ops if op.f == "signal" and op.type == "invoke"}
    unknown = {
        op.intent_id: invokes[op.intent_id]
        for op in ops
        if op.f == "signal" and op.type == "info" and op.intent_id is not None
    }
    if not unknown and step.required:
        raise ScenarioError("no signal ended `unknown`: the fault did not make an ambiguous outcome")
    for intent_id, body in unknown.items():
        ctx.client.submit(body["symbol"], body["side"], body["quantity"], intent_id=intent_id)


@action(SampleResources)
def sample_resources(ctx: ExperimentContext, step: SampleResources) -> None:
    ctx.history.record("sampler", "ok", "resources", value=sample(ctx.lab).model_dump())


@action(PutBars)
def put_bars(ctx: ExperimentContext, step: PutBars) -> None:
    outcome, body = ctx.client.put_bars(step.symbol, step.timeframe, demo_bars(step.count))
    if outcome != "ok":
        raise ScenarioError(f"storing bars failed: {body}")


@action(ReadBars)
def read_bars(ctx: ExperimentContext, step: ReadBars) -> None:
    ctx.client.read_bars(step.symbol, step.timeframe)
