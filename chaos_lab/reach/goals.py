"""Judge a scenario's reach goals against the events of its run.

A scenario declares its goals (`Scenario.goals`); when it declares none, each inject step brings its fault
kind's defaults (`Fault.default_goals`), bound to that step's window. An event counts for a goal `during` a
fault from the fault's inject to its heal plus `HEAL_SLACK_S` (the engine's line for a write that failed just
before the heal reaches the log a moment later)."""

from __future__ import annotations

from chaos_lab.faults.registry import fault_class
from chaos_lab.models import OWN_WINDOW, FaultWindow, Goal, GoalResult, ReachEvent
from chaos_lab.scenarios.model import Inject, Scenario

HEAL_SLACK_S = 0.5


def scenario_goals(scenario: Scenario) -> tuple[Goal, ...]:
    """The goals a run of `scenario` must meet: its own, or its faults' defaults."""
    if scenario.goals is not None:
        return scenario.goals
    goals: list[Goal] = []
    for step in scenario.method:
        if isinstance(step, Inject):
            for goal in fault_class(step.kind).default_goals(step.params):
                bound = goal.model_copy(update={"during": step.name}) if goal.during == OWN_WINDOW else goal
                if bound not in goals:
                    goals.append(bound)
    return tuple(goals)


def _matches(event: ReachEvent, goal: Goal) -> bool:
    return event.name in goal.events and all(event.fields.get(k) == v for k, v in goal.where.items())


def judge(
    goals: tuple[Goal, ...], events: list[ReachEvent], windows: list[FaultWindow], end: float
) -> list[GoalResult]:
    by_name = {w.name: w for w in windows}
    results = []
    for goal in goals:
        matching = [e for e in events if _matches(e, goal)]
        if goal.during is not None:
            window = by_name.get(goal.during)
            if window is None:
                matching = []
            else:
                stop = (end if window.end is None else window.end) + HEAL_SLACK_S
                matching = [e for e in matching if window.start <= e.time <= stop]
        seen = len(matching)
        elsewhere: dict[str, int] = {}
        if seen < goal.at_least:
            for e in events:
                if e.name in goal.events:
                    elsewhere[e.name] = elsewhere.get(e.name, 0) + 1
        results.append(GoalResult(goal=goal, seen=seen, met=seen >= goal.at_least, elsewhere=elsewhere))
    return results
