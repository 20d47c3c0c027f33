"""The self-test's result: a detection matrix (mutant x scenario -> which checkers flagged it) and the
mutation score, written as summary.json and report.html."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from chaos_lab.models import ScenarioResult

# Judged by a latency bound (a /health answer within 1 s, back within 20 s): on a loaded host it fails the
# unmutated engine too, which would fail the self-test at random. Its verdicts are kept in the matrix
# (`ignored`) but neither detect a mutant nor raise a false alarm; no shipped mutant relies on it.
TIMING_CHECKERS = frozenset({"availability"})


class Cell(BaseModel):
    """One scenario run against one engine build."""

    scenario: str
    ok: bool
    flagged_by: list[str] = Field(default_factory=list)  # failed checkers
    ignored: list[str] = Field(default_factory=list)  # failed timing checkers (not judged)
    error: str | None = None  # the scenario could not complete: a lab error, never a detection
    duration_s: float = 0.0

    @classmethod
    def of(cls, result: ScenarioResult) -> Cell:
        failed = [v.name for v in result.verdicts if not v.ok]
        flagged = [n for n in failed if n not in TIMING_CHECKERS]
        return cls(
            scenario=result.scenario,
            ok=result.error is None and not flagged,
            error=result.error,
            duration_s=result.duration_s,
            flagged_by=flagged,
            ignored=[n for n in failed if n in TIMING_CHECKERS],
        )


class Row(BaseModel):
    name: str
    fault_class: str = ""
    bug: str = ""
    expect: list[str] = Field(default_factory=list)
    held_out: bool = False  # never tuned for (mutants.py): scored apart
    cells: list[Cell] = Field(default_factory=list)
    build_error: str | None = None
    wall_s: float = 0.0

    @property
    def detected(self) -> bool:
        """Only an engine verdict detects a mutant: a run the lab could not finish says nothing about it (an
        engine that will not come back is a `recovers` verdict, not a lab error)."""
        return any(c.flagged_by for c in self.cells)


class SelftestSummary(BaseModel):
    started: datetime
    wall_s: float = 0.0
    clean: Row
    mutants: list[Row] = Field(default_factory=list)
    score: float = 0.0  # detected / mutants run, the tuned ones (each names its scenarios)
    detected: int = 0
    total: int = 0
    held_out_score: float = 0.0  # the same over the held-out mutants, each run against the whole gate
    held_out_detected: int = 0
    held_out_total: int = 0
    false_alarms: list[str] = Field(default_factory=list)  # clean-engine scenarios that failed
    lab_error: str | None = None  # the self-test did not finish (Ctrl-C, a lab that could not run)
    ok: bool = False


def score(summary: SelftestSummary) -> SelftestSummary:
    """Fill detected/total/score/false_alarms/ok. A mutant that could not be built or applied is not run and
    counts against the score (the lab did not show it can catch it)."""
    tuned = [m for m in summary.mutants if not m.held_out]
    held = [m for m in summary.mutants if m.held_out]
    summary.total, summary.detected = len(tuned), sum(1 for m in tuned if m.detected)
    summary.score = round(summary.detected / summary.total, 4) if summary.total else 0.0
    summary.held_out_total, summary.held_out_detected = len(held), sum(1 for m in held if m.detected)
    summary.held_out_score = (
        round(summary.held_out_detected / summary.held_out_total, 4) if summary.held_out_total else 0.0
    )
    summary.false_alarms = [
        f"{c.scenario}: {c.error or ', '.join(c.flagged_by)}" for c in summary.clean.cells if not c.ok
    ]
    if summary.clean.build_error:
        summary.false_alarms.append(f"clean build: {summary.clean.build_error}")
    summary.ok = (
        not summary.false_alarms
        and bool(summary.clean.cells)
        and summary.total + summary.held_out_total > 0
        and not summary.lab_error
    )
    return summary


def _cell_html(cell: Cell | None, clean: bool) -> str:
    if cell is None:
        return "<td class=na>-</td>"
    if cell.ok:
        cls = "pass" if clean else "miss"
        return f"<td class={cls}>{'pass' if clean else 'missed'}</td>"
    what = html.escape(cell.error or ", ".join(cell.flagged_by))
    cls = "alarm" if clean else ("hit" if cell.flagged_by else "miss")
    return f"<td class={cls}>{what}</td>"


def write(summary: SelftestSummary, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(summary.model_dump_json(indent=2), encoding="utf-8")
    scenarios = sorted({c.scenario for r in [summary.clean, *summary.mutants] for c in r.cells})
    head = "".join(f"<th>{html.escape(s)}</th>" for s in scenarios)
    rows = []
    for row, clean in [(summary.clean, True), *((m, False) for m in summary.mutants)]:
        cells = {c.scenario: c for c in row.cells}
        tds = "".join(_cell_html(cells.get(s), clean) for s in scenarios)
        verdict = "" if clean else ("detected" if row.detected else "SURVIVED")
        if row.build_error:
            verdict = f"not run: {html.escape(row.build_error)}"
        rows.append(
            f"<tr><th title='{html.escape(row.bug)}'>{html.escape(row.name)}"
            f"{' (held out)' * row.held_out}</th>"
            f"<td>{html.escape(row.fault_class)}</td>{tds}<td>{verdict}</td></tr>"
        )
    page = f"""<!doctype html><meta charset=utf-8><title>chaos-lab selftest</title>
<style>body{{font:14px sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
table{{border-collapse:collapse}}.pass{{background:#dfd}}.hit{{background:#dfd}}.miss{{background:#fdd}}
.alarm{{background:#f99}}.na{{color:#999}}</style>
<h1>chaos-lab selftest: mutation score {summary.score:.0%} ({summary.detected}/{summary.total}); held out
{summary.held_out_score:.0%} ({summary.held_out_detected}/{summary.held_out_total})</h1>
<p>{"OK" if summary.ok else "FAILED"}: the unmutated engine {
        "passed every scenario"
        if not summary.false_alarms
        else "raised false alarms: " + html.escape("; ".join(summary.false_alarms))
    }. Wall time {summary.wall_s:.0f} s.{
        f" Did not finish: {html.escape(summary.lab_error)}." if summary.lab_error else ""
    }</p>
<p>Each cell: the checkers that flagged the mutant in that scenario (green), or "missed" (red).</p>
<table><tr><th>engine</th><th>fault class</th>{head}<th>verdict</th></tr>{"".join(rows)}</table>
"""
    (out / "report.html").write_text(page, encoding="utf-8")
