"""A run's report directory: summary.json, junit.xml, history.jsonl, container logs and report.html.

Everything `chaos-lab report RUN_DIR` needs to re-render is in summary.json and history.jsonl.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from html import escape
from pathlib import Path
from urllib.parse import quote

from chaos_lab.models import Op, RunSummary, ScenarioResult, Verdict
from chaos_lab.report.timeline import COLORS, FAULT_FAMILIES, timeline_svg
from chaos_lab.workload.history import read_jsonl, write_jsonl

SUMMARY, JUNIT, HISTORY, HTML, LOGS = "summary.json", "junit.xml", "history.jsonl", "report.html", "logs"


def case_name(result: ScenarioResult) -> str:
    return f"{result.scenario}[seed={result.seed}]"


def write_summary(run_dir: Path, summary: RunSummary) -> None:
    (run_dir / SUMMARY).write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_summary(run_dir: Path) -> RunSummary:
    return RunSummary.model_validate_json((run_dir / SUMMARY).read_text(encoding="utf-8"))


def append_history(run_dir: Path, ops: list[Op]) -> None:
    write_jsonl(ops, run_dir / HISTORY)


#: the services whose logs report.html links for each scenario run (datavol only holds the volume)
LINKED_LOGS = ("engine", "broker", "toxiproxy")


def log_path(result: ScenarioResult, service: str) -> str:
    """A service's log of one scenario run, relative to the run directory: where `write_logs` puts it and
    what report.html (in the same directory) links, so the two cannot drift apart."""
    return f"{LOGS}/{result.scenario}-seed{result.seed}-{service}.log"


def write_logs(run_dir: Path, result: ScenarioResult, logs: dict[str, str]) -> None:
    (run_dir / LOGS).mkdir(exist_ok=True)
    for service, text in logs.items():
        (run_dir / log_path(result, service)).write_text(text, encoding="utf-8")


def junit_xml(summary: RunSummary) -> str:
    """One testcase per scenario/checker (plus one per scenario error), grouped in a suite per tier.

    JUnit's own split: a failed verdict is a `failure` (the engine broke an invariant); a step the lab could
    not run is an `error` on the scenario's `run` case, and that scenario's verdicts (judged on a partial
    run) are `skipped`, so CI counts neither as an engine failure."""
    root = ET.Element("testsuites", name="chaos-lab", time=f"{summary.duration_s:.3f}")
    by_tier: dict[int, list[ScenarioResult]] = defaultdict(list)
    for r in summary.results:
        by_tier[r.tier].append(r)
    for tier, results in sorted(by_tier.items()):
        cases = sum(len(r.verdicts) + (1 if r.runner_error else 0) + (1 if r.goals else 0) for r in results)
        judged = [r for r in results if r.runner_error is None]
        failures = sum(sum(not v.ok for v in r.verdicts) + (r.status == "vacuous") for r in judged)
        errors = sum(r.runner_error is not None for r in results)
        skipped = sum(len(r.verdicts) for r in results if r.runner_error is not None)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"tier{tier}",
            tests=str(cases),
            failures=str(failures),
            errors=str(errors),
            skipped=str(skipped),
            time=f"{sum(r.duration_s for r in results):.3f}",
        )
        for r in results:
            if r.runner_error is not None:
                e = r.runner_error
                case = ET.SubElement(suite, "testcase", classname=case_name(r), name="run")
                text = f"the lab could not run {e.phase} ({e.cause}): {e.message}"
                ET.SubElement(case, "error", message=text[:500], type=e.cause).text = text
            if r.goals:
                case = ET.SubElement(suite, "testcase", classname=case_name(r), name="reach")
                if r.status == "vacuous":
                    missed = "; ".join(g.goal.describe() for g in r.missed_goals)
                    text = f"vacuous: the faults never reached {missed}" + (
                        f"\nreplay: {r.replay}" if r.replay else ""
                    )
                    ET.SubElement(case, "failure", message=text[:500], type="vacuous").text = text
            for v in r.verdicts:
                case = ET.SubElement(suite, "testcase", classname=case_name(r), name=v.name)
                if r.runner_error is not None:
                    note = f"not judged: the lab could not run the scenario; on the partial run: {v.summary}"
                    ET.SubElement(case, "skipped", message=note[:500])
                elif v.unknown:  # Jepsen's :unknown: this run gave the checker nothing to judge
                    ET.SubElement(case, "skipped", message=v.summary[:500])
                elif not v.ok:
                    replay = f"\nreplay: {r.replay}" if r.replay else ""
                    ET.SubElement(
                        case, "failure", message=v.summary[:500]
                    ).text = f"{v.summary}{replay}\nevidence: {v.evidence}"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


_CSS = """
body{font-family:sans-serif;margin:24px;color:#222} table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;font-size:13px}
.pass{color:#2e7d32;font-weight:bold} .fail{color:#c62828;font-weight:bold} section{margin:28px 0}
.laberr{color:#e65100;font-weight:bold} .vacuous{color:#8e24aa;font-weight:bold} .unknown{color:#757575}
.legend span{display:inline-block;margin-right:14px} .ev{font-family:monospace;font-size:11px;max-width:700px;
overflow-wrap:anywhere}
"""


def _badge(ok: bool) -> str:
    return '<span class="pass">PASS</span>' if ok else '<span class="fail">FAIL</span>'


def _verdict_badge(v: Verdict) -> str:
    return '<span class="unknown">UNKNOWN</span>' if v.unknown else _badge(v.ok)


def _status_badge(r: ScenarioResult) -> str:
    if r.status == "runner_error":
        return '<span class="laberr">LAB ERROR</span>'
    if r.status == "vacuous":
        return '<span class="vacuous">VACUOUS</span>'
    return _badge(r.status == "passed")


EVIDENCE_CHARS = 1500


def _evidence(text: str) -> str:
    """Escaped evidence, cut before (never inside) an escape, with a mark when cut."""
    if len(text) <= EVIDENCE_CHARS:
        return escape(text)
    return escape(text[:EVIDENCE_CHARS]) + " <b>… truncated; the full evidence is in summary.json</b>"


def _reach_map(summary: RunSummary) -> list[str]:
    m = summary.reach_map
    out = [
        f"<section id='reach'><h2>Reach map</h2><p>{m.goals_met} of {m.goals_declared} declared goals met in "
        "at least one run of their scenario.</p>"
    ]
    if m.goals_never_met:
        out.append("<p class='vacuous'>Never met:</p><ul>")
        out.extend(f"<li>{escape(g)}</li>" for g in m.goals_never_met)
        out.append("</ul>")
    out.append("<table><tr><th>reach event</th><th>runs of scenarios (count)</th></tr>")
    for name, by in m.events.items():
        where = ", ".join(f"{escape(s)} ({n})" for s, n in by.items())
        out.append(f"<tr><td>{escape(name)}</td><td>{where}</td></tr>")
    out.append("</table></section>")
    return out


def render_html(summary: RunSummary, ops: list[Op]) -> str:
    by_case: dict[tuple[str, int], list[Op]] = defaultdict(list)
    for op in ops:
        by_case[(op.scenario, op.seed)].append(op)
    waited = 100 * summary.wait_s / summary.duration_s if summary.duration_s else 0.0
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>chaos-lab {escape(summary.run_id)}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>chaos-lab run {escape(summary.run_id)} {_badge(summary.ok)}</h1>",
        f"<p>started {summary.started:%Y-%m-%d %H:%M:%S} UTC, {summary.duration_s:.1f}s wall, "
        f"{waited:.0f}% of it waiting (sleeps and polls)"
        f"{' — INTERRUPTED' if summary.interrupted else ''}</p>",
        f"<p>{summary.failed_verdicts} scenario run(s) with a failed verdict against the engine; "
        f"{summary.vacuous} vacuous (faults that never reached their goals: <a href='#reach'>reach map</a>); "
        f"{summary.runner_errors} the lab could not run (not a verdict on the engine)"
        + (f"; lab error: {escape(summary.lab_error)}" if summary.lab_error else "")
        + "</p>",
        "<table><tr><th>scenario</th><th>tier</th><th>seed</th><th>result</th><th>duration</th>"
        "<th>faults</th><th>failed checkers / lab error</th></tr>",
    ]
    for r in summary.results:
        if r.runner_error is not None:
            failed = f"lab could not run {r.runner_error.phase} ({r.runner_error.cause})"
        else:
            failed = ", ".join(v.name for v in r.verdicts if not v.ok)
        out.append(
            f"<tr><td><a href='#{escape(case_name(r))}'>{escape(r.scenario)}</a></td><td>{r.tier}</td>"
            f"<td>{r.seed}</td><td>{_status_badge(r)}</td><td>{r.duration_s:.1f}s</td>"
            f"<td>{escape(', '.join(w.kind for w in r.faults))}</td><td>{escape(failed)}</td></tr>"
        )
    out.append(
        "</table><p class='legend'>"
        f"<span style='color:{COLORS['ok']}'>● ok (acknowledged)</span>"
        f"<span style='color:{COLORS['fail']}'>● fail (rejected)</span>"
        f"<span style='color:{COLORS['info']}'>✕ info (outcome unknown)</span>"
        "<span>shaded: fault active</span>"
        + "".join(
            f"<span style='background:{colour}'>&nbsp;{escape(name)}: {escape(', '.join(fx))}&nbsp;</span>"
            for name, colour, fx in FAULT_FAMILIES
        )
        + "</p>"
    )
    for r in summary.results:
        case_ops = by_case.get((r.scenario, r.seed), [])
        out.append(
            f"<section id='{escape(case_name(r))}'><h2>{escape(case_name(r))} — tier {r.tier} "
            f"{_status_badge(r)}</h2>"
        )
        if r.runner_error is not None:
            e = r.runner_error
            out.append(
                f"<p class='laberr'>The lab could not run the {escape(e.phase)} phase ({escape(e.cause)}): "
                f"{escape(e.message)}. The checkers below judged a partial run and are not counted against "
                "the engine.</p>"
            )
        phases = ", ".join(f"{p.phase} {p.seconds:.1f}s" for p in r.phases)
        cycle = f", down→ready→verified {r.cycle_s:.1f}s" if r.cycle_s is not None else ""
        out.append(
            f"<p>{r.ops} operations; {r.duration_s:.1f}s ({r.wait_s:.1f}s waiting){cycle}. "
            f"Phases: {escape(phases)}</p>"
        )
        if r.replay and r.status != "passed":
            out.append(f"<p>Replay: <code>{escape(r.replay)}</code></p>")
        links = [f"<a href='{escape(quote(log_path(r, s)))}'>{s} log</a>" for s in LINKED_LOGS]
        out.append(f"<p>{' · '.join(links)} · <a href='{HISTORY}'>history.jsonl</a> (the whole run)</p>")
        out.append(timeline_svg(case_ops, r.faults))
        if r.goals:
            out.append("<table><tr><th>reach goal</th><th>met</th><th>seen</th><th>why</th></tr>")
            for g in r.goals:
                mark = _badge(True) if g.met else '<span class="vacuous">MISSED</span>'
                out.append(
                    f"<tr><td>{escape(g.goal.describe())}</td><td>{mark}</td><td>{g.seen}</td>"
                    f"<td>{escape(g.goal.why)}</td></tr>"
                )
            out.append("</table>")
        out.append("<table><tr><th>checker</th><th>result</th><th>summary</th><th>evidence</th></tr>")
        for v in r.verdicts:
            out.append(
                f"<tr><td>{escape(v.name)}</td><td>{_verdict_badge(v)}</td><td>{escape(v.summary)}</td>"
                f"<td class='ev'>{_evidence(str(v.evidence))}</td></tr>"
            )
        out.append("</table></section>")
    out.extend(_reach_map(summary))
    out.append("</body></html>")
    return "\n".join(out)


def write_reports(run_dir: Path, summary: RunSummary) -> None:
    """(Re)write summary.json, junit.xml and report.html from the summary and the saved history."""
    write_summary(run_dir, summary)
    (run_dir / JUNIT).write_text(junit_xml(summary), encoding="utf-8")
    history = run_dir / HISTORY
    ops = read_jsonl(history) if history.exists() else []
    (run_dir / HTML).write_text(render_html(summary, ops), encoding="utf-8")
