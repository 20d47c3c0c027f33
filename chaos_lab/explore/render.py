"""A `Schedule` as a concrete `Scenario`: every signal listed and every parameter fixed, so the written file
is the plan itself (the generator passes explicit signals through) and replays without the explorer.

Rules that keep a random schedule meaningful: two process faults (kill, stop, restart, pause) never overlap
(a paused container cannot be restarted), nor does an in-process fault (libfiu, libfaketime) strike while a
process fault holds; a file fault is applied with the engine stopped and nothing
overlaps it; a corrupt kill-switch file needs one to exist (the operator activates first); ledger corruption
ends the schedule (the engine must refuse to trade from then on). Whatever the operator left active is reset
at the end (and a corrupt kill-switch file too), so the engine is expected to trade again after recovery.
Operator actions go at their fraction of the steps, right after a restart, or right after the fault whose
window they belong to strikes (`during`); the signals sent after recovery go after the last heal, once the
engine answers, before the final reset.
"""

from __future__ import annotations

from chaos_lab.checkers import with_applicable
from chaos_lab.effects import Effect
from chaos_lab.explore.kinds import RULES, in_process
from chaos_lab.explore.schedule import FaultSpec, Schedule, Trigger
from chaos_lab.faults.registry import FAULT_KINDS, effects_of, fault_class
from chaos_lab.models import CheckerSpec
from chaos_lab.scenarios.checks import INVARIANTS
from chaos_lab.scenarios.model import (
    ActivateKillSwitch,
    AwaitBurst,
    BrokerConfig,
    Burst,
    Heal,
    Inject,
    PutBars,
    ReadBars,
    ResetKillSwitch,
    RetryUnknown,
    Scenario,
    Sleep,
    Step,
    WaitBrokerOrders,
    WaitEngine,
    WaitLedgerBytes,
    WaitOps,
)

TRIGGER_TIMEOUT_S = 10.0
# a restarted engine on 2 shared cores at load 40 took over 30 s to answer /health: the wait is generous, how
# soon it must answer is the availability checker's judgement
ENGINE_BACK_S = 120.0
FILE_MIN_LEDGER = 1500  # bytes: a tear needs one record, a flip three in the middle
TERMINAL = frozenset(kind for kind, rule in RULES.items() if rule.terminal)


def _restarts_on(kind: str) -> str | None:
    """The step of this kind after which a new engine process runs (None: not a kind, or no restart)."""
    return fault_class(kind).restarts_engine if kind in FAULT_KINDS else None


CORE = ("no_lost_acks", "no_duplicates", "no_phantoms", "positions_match", "ledger_integrity")


def _trigger_step(trigger: Trigger) -> Step:
    if trigger.kind == "ops":
        return WaitOps(count=int(trigger.value), timeout_s=3 * TRIGGER_TIMEOUT_S)  # it raises: be generous
    if trigger.kind == "broker_orders":
        return WaitBrokerOrders(count=int(trigger.value), timeout_s=TRIGGER_TIMEOUT_S, required=False)
    if trigger.kind == "ledger_bytes":
        return WaitLedgerBytes(bytes=int(trigger.value), timeout_s=TRIGGER_TIMEOUT_S, required=False)
    return Sleep(seconds=trigger.value)


def _may_overlap(prev: FaultSpec, nxt: FaultSpec) -> bool:
    """Two process faults never overlap; a file fault (engine stopped around it) may happen while a disk or
    link fault holds (a tear, then the engine starts on a full disk), but nothing overlaps a file fault."""
    a, b = RULES[prev.kind].role, RULES[nxt.kind].role
    if prev.kind == nxt.kind and (prev.kind != "toxic" or _toxic_name(prev) == _toxic_name(nxt)):
        return False  # one proxy, one filler file, one toxic per name: the second would replace the first
    if b == "file":
        return a in ("disk", "link")
    if a == "process" and in_process(nxt.kind):
        return False  # set inside the engine process: a stopped or paused engine cannot take it
    return a != "file" and not (a == "process" and b == "process")


def _toxic_name(f: FaultSpec) -> tuple[object, object]:
    return f.params.get("type"), f.params.get("stream")


class _Timeline:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        # (name, healed before what it overlaps, gap after its heal, its heal starts the engine)
        self.active: list[tuple[str, bool, float, bool]] = []
        self.active_specs: list[FaultSpec] = []

    def heal_all(self) -> None:
        order = list(reversed(self.active)) if any(a[1] for a in self.active[1:]) else self.active
        for n, (name, _, gap, restarts) in enumerate(order):
            self.steps.append(Heal(name=name))
            if gap and n < len(order) - 1:
                if restarts:
                    # the gap is time the engine RUNS under the fault still held: its start-up (reconcile,
                    # file reads) must happen before the next heal, however slowly the machine starts it
                    self.steps.append(WaitEngine(ready=False, timeout_s=ENGINE_BACK_S))
                self.steps.append(Sleep(seconds=gap))
        self.active = []
        self.active_specs = []


def render(schedule: Schedule) -> Scenario:
    t = _Timeline()
    faults = schedule.faults
    kinds = {f.kind for f in faults}
    effects = effects_of(kinds)
    activations = (
        any(op.action == "activate" for op in schedule.operator) or Effect.KILL_SWITCH_DAMAGED in effects
    )
    if Effect.BARS_DAMAGED in effects:  # the bar file must exist to be damaged
        t.steps.append(PutBars())
    if schedule.broker_delay_s or schedule.broker_fail_next:
        t.steps.append(
            BrokerConfig(order_delay_s=schedule.broker_delay_s, fail_next=schedule.broker_fail_next)
        )
    w = schedule.workload
    t.steps.append(
        Burst(
            count=len(w.signals),
            signals=w.signals,
            concurrency=w.concurrency,
            interval_s=w.interval_s,
            retry_unknown=w.retry_unknown,
            background=True,
            max_quantity=5,
        )
    )
    terminal = False
    for i, fault in enumerate(faults):
        rule = RULES[fault.kind]
        prev = faults[i - 1] if i else None
        # Overlap whatever still holds (a disk fill may outlive the file fault that followed it).
        overlap = (
            prev is not None
            and fault.relation == "overlap"
            and bool(t.active_specs)
            and all(_may_overlap(a, fault) for a in t.active_specs)
        )
        if not overlap:
            t.heal_all()
            if fault.relation == "after_heal" and prev is not None:
                t.steps.append(Sleep(seconds=fault.delay_s))
            else:
                trigger = fault.trigger
                if rule.role == "file" and trigger.kind != "ledger_bytes":
                    trigger = Trigger(kind="ledger_bytes", value=max(FILE_MIN_LEDGER, trigger.value))
                t.steps.append(_trigger_step(trigger))
        name = f"f{i}-{fault.kind}"
        if rule.role == "file":
            if Effect.KILL_SWITCH_DAMAGED in fault_class(fault.kind).effects:  # the file must exist
                t.steps += [
                    WaitEngine(ready=False, timeout_s=ENGINE_BACK_S),
                    ActivateKillSwitch(reason="explore: operator halt"),
                ]
            t.steps += [
                Inject(name=f"f{i}-stop", kind="stop"),
                Inject(name=name, kind=fault.kind, params=fault.params),
                Heal(name=name),
                Heal(name=f"f{i}-stop"),
            ]
            terminal = terminal or rule.terminal
            if terminal:
                break
            continue
        t.steps.append(Inject(name=name, kind=fault.kind, params=fault.params))
        t.active.append((name, fault.lifo, fault.heal_gap_s, _restarts_on(fault.kind) == "heal"))
        t.active_specs.append(fault)
        t.steps.append(Sleep(seconds=fault.hold_s))
    t.heal_all()
    _place_operator(t.steps, schedule, terminal)
    if w.after and not terminal:  # the clients go on sending once the engine answers again
        t.steps += [
            WaitEngine(ready=False, timeout_s=ENGINE_BACK_S),
            Burst(count=len(w.after), signals=w.after, retry_unknown=w.retry_unknown, max_quantity=5),
        ]
    t.steps.append(AwaitBurst(timeout_s=90))
    if schedule.late_retry and not terminal:  # clients come back later for what stayed in doubt
        t.steps += [WaitEngine(ready=False, timeout_s=ENGINE_BACK_S), RetryUnknown(required=False)]
    if activations and not terminal:  # the operator clears what is left so trading resumes after recovery
        t.steps += [WaitEngine(ready=False, timeout_s=ENGINE_BACK_S), ResetKillSwitch()]
    if "truncate_parquet" in kinds:
        t.steps += [WaitEngine(ready=False, timeout_s=ENGINE_BACK_S), ReadBars()]
    return Scenario(
        name=schedule.name,
        tier=4,
        description=describe(schedule),
        method=tuple(t.steps),
        rollback=(BrokerConfig(),),
        restart_on_recover=not terminal,
        expect_ready=not terminal,
        checkers=checkers_for(kinds, terminal),
        seeds=(schedule.seed,),
    )


def _place_operator(steps: list[Step], schedule: Schedule, terminal: bool) -> None:
    """Operator actions between the fault steps (after the workload starts), at their fraction; after
    ledger corruption the operator does nothing (the engine must go on refusing)."""
    first = next(i for i, s in enumerate(steps) if isinstance(s, Burst)) + 1
    last = len(steps)
    if terminal:
        last = next(i for i, s in enumerate(steps) if isinstance(s, Inject) and s.kind in TERMINAL)
    restarts = [  # right after the heal that starts the engine again
        i + 1
        for i, s in enumerate(steps[:last])
        if (isinstance(s, Heal) and _restarts_on(s.name.split("-", 1)[-1]) == "heal")
        or (isinstance(s, Inject) and _restarts_on(s.kind) == "inject")
    ]
    names = {f"f{j}-{f.kind}": j for j, f in enumerate(schedule.faults) if RULES[f.kind].role != "file"}
    injected = {  # right after fault j strikes: the operator acts while it holds
        names[s.name]: i + 1 for i, s in enumerate(steps[:last]) if isinstance(s, Inject) and s.name in names
    }
    placed = []
    for n, op in enumerate(schedule.operator):
        if op.during is not None and op.during in injected:
            placed.append((injected[op.during], n, [_operator(op.action)]))
        elif op.after_restart and restarts:
            pos = restarts[min(len(restarts) - 1, int(op.at * len(restarts)))]
            placed.append((pos, n, [WaitEngine(ready=False, timeout_s=ENGINE_BACK_S), _operator(op.action)]))
        else:
            placed.append((first + round(op.at * (last - first)), n, [_operator(op.action)]))
    for pos, _, new in sorted(placed, key=lambda p: (p[0], p[1]), reverse=True):
        steps[pos:pos] = new


def _operator(action: str) -> Step:
    if action == "activate":
        return ActivateKillSwitch(reason="explore: operator halt", required=False)
    return ResetKillSwitch(required=False)


def checkers_for(kinds: set[str], terminal: bool) -> tuple[CheckerSpec, ...]:
    """Core checkers and the invariants always; then every checker that applies to the faults' effects, each
    listed in the schedule's file so a replay runs the same set."""
    specs: list[CheckerSpec]
    if terminal:  # the ledger is corrupt: the engine refuses to trade and serves no ledger
        specs = [
            CheckerSpec(name="ledger_integrity", params={"expect_corruption": True}),
            CheckerSpec(name="refuses_to_trade", params={"reason_names_offset": True}),
            CheckerSpec(name="no_duplicates"),
        ]
    else:
        specs = [CheckerSpec(name=n) for n in CORE]
    specs.extend(INVARIANTS)  # the catalogue's invariants, in every schedule, a corrupt ledger too
    # 150 s, not the catalogue's 20: the bound runs from the last heal, and a random schedule's workload goes
    # on after it (clients retrying with backoff, the operator's final reset) before recovery even starts;
    # on a loaded 2-core machine that tail alone can pass 60 s. What it still catches: never back. Probes
    # are evidence only: a starved CPU overlapping a pause says nothing about correctness, which the
    # explorer hunts; the catalogue holds the engine to answering every probe.
    specs.append(CheckerSpec(name="availability", params={"recover_within_s": 150.0, "judge_probes": False}))
    return with_applicable(specs, effects_of(kinds))


def describe(schedule: Schedule) -> str:
    parts: list[str] = []
    for i, f in enumerate(schedule.faults):
        what = f.kind + (f"({f.params.get('type')})" if f.kind == "toxic" else "")
        if i and f.relation == "overlap":
            parts.append(f"while it holds, {what} {f.hold_s}s")
        elif i and f.relation == "after_heal":
            parts.append(f"{f.delay_s}s after the heal, {what} {f.hold_s}s")
        else:
            parts.append(f"on {f.trigger.kind}>={f.trigger.value:g}, {what} {f.hold_s}s")
    w = schedule.workload
    extra = [
        f"operator {op.action} "
        + (f"while fault {op.during} holds" if op.during is not None else f"at {op.at:.0%}")
        for op in schedule.operator
    ]
    if w.after:
        extra.append(f"{len(w.after)} more signals after recovery")
    if schedule.broker_delay_s:
        extra.append(f"broker answers {schedule.broker_delay_s}s late")
    if schedule.broker_fail_next:
        extra.append(f"broker fails the next {schedule.broker_fail_next} orders")
    return (
        f"explore seed {schedule.seed} index {schedule.index}: {len(w.signals)} signals by {w.concurrency} "
        f"clients (retry in-doubt x{w.retry_unknown}); " + "; ".join(parts + extra)
    )
