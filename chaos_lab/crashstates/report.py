"""summary.json, junit.xml and report.html for a crash-state run. The HTML strip runs over the op sequence
and marks where durability (fsync), directory changes, broker sends, acknowledgements and violations are."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from html import escape
from pathlib import Path

from chaos_lab.crashstates.models import CrashReport, TraceOp, Violation

WIDTH, LEFT, RIGHT, ROW_H, TOP = 960, 110, 16, 16, 10
ROWS: list[tuple[str, str, str]] = [  # (label, colour, what)
    ("fsync", "#1565c0", "durability point: fsync of a file or directory"),
    ("dir ops", "#757575", "create / rename / unlink / mkdir"),
    ("writes", "#90a4ae", "write / truncate"),
    ("broker", "#6a1b9a", "POST /orders sent to the broker"),
    ("acks", "#2e7d32", "200 answer begins: the client is told"),
    ("process", "#c62828", "violation under the process-crash model"),
    ("power", "#c62828", "violation under the power-loss model"),
]


def _row(op: TraceOp) -> str | None:
    if op.kind == "fsync":
        return "fsync"
    if op.kind in ("create", "rename", "unlink", "mkdir"):
        return "dir ops"
    if op.kind in ("write", "truncate", "open_trunc"):
        return "writes"
    if op.kind == "broker_send":
        return "broker"
    if op.kind == "ack":
        return "acks"
    return None


def strip_svg(ops: list[TraceOp], violations: list[Violation]) -> str:
    n = max(len(ops), 1)
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + ROW_H * len(ROWS) + 30
    ys = {label: TOP + i * ROW_H for i, (label, _, _) in enumerate(ROWS)}
    colours = {label: colour for label, colour, _ in ROWS}

    def x(i: int) -> float:
        return LEFT + plot_w * (i + 0.5) / n

    w = max(plot_w / n, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="crashstrip" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11">'
    ]
    for label, _, what in ROWS:
        parts.append(
            f'<text x="{LEFT - 6}" y="{ys[label] + 11}" text-anchor="end"><title>{escape(what)}'
            f"</title>{escape(label)}</text>"
        )
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ys[label] + ROW_H - 1}" '
            f'y2="{ys[label] + ROW_H - 1}" stroke="#eee"/>'
        )
    for op in ops:
        row = _row(op)
        if row is None:
            continue
        parts.append(
            f'<rect class="op {escape(op.kind)}" x="{x(op.index) - w / 2:.2f}" y="{ys[row] + 2}" '
            f'width="{w:.2f}" height="{ROW_H - 4}" fill="{colours[row]}"><title>{escape(op.label())}'
            f"</title></rect>"
        )
    by_point: dict[tuple[str, int], list[Violation]] = defaultdict(list)
    for v in violations:
        by_point[(v.model, v.point)].append(v)
    for (model, point), vs in sorted(by_point.items()):
        tip = f"after {vs[0].op}: " + "; ".join(sorted({f"{v.checker}" for v in vs})) + f" ({len(vs)})"
        parts.append(
            f'<rect class="violation {model}" x="{x(point) - max(w, 3) / 2:.2f}" y="{ys[model] + 1}" '
            f'width="{max(w, 3):.2f}" height="{ROW_H - 2}" fill="{colours[model]}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    for k in range(11):
        i = round((n - 1) * k / 10)
        parts.append(f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle">#{i}</text>')
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{height - 1}" text-anchor="middle">operation index '
        f"(crash point = just after the op)</text></svg>"
    )
    return "".join(parts)


def junit_xml(report: CrashReport) -> str:
    root = ET.Element("testsuites", name="chaos-lab crashstates", time=f"{report.total_s:.3f}")
    for m in report.models:
        vs = [v for v in report.violations if v.model == m.model]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"crashstates-{m.model}",
            tests=str(len(report.checkers)),
            failures=str(len({v.checker for v in vs})),
            time=f"{report.recover_s:.3f}",
        )
        for name in report.checkers:
            case = ET.SubElement(suite, "testcase", classname=f"crashstates.{m.model}", name=name)
            mine = [v for v in vs if v.checker == name]
            if mine:
                text = "\n".join(
                    f"{v.state} after {v.op}: {v.summary} | {'; '.join(v.choices)} | {v.rebuild}"
                    for v in mine[:50]
                )
                ET.SubElement(
                    case, "failure", message=f"{len(mine)} violations; first: {mine[0].summary}"[:500]
                ).text = text
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


_CSS = """body{font-family:sans-serif;margin:24px;color:#222} table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;font-size:13px}
.pass{color:#2e7d32;font-weight:bold} .fail{color:#c62828;font-weight:bold}
.ev{font-family:monospace;font-size:11px;max-width:520px;overflow-wrap:anywhere}"""


def html_section(report: CrashReport, ops: list[TraceOp]) -> str:
    badge = '<span class="pass">PASS</span>' if report.ok else '<span class="fail">FAIL</span>'
    out = [
        f"<section id='crashstates'><h2>Crash states {badge}</h2>",
        f"<p>{report.signals} signals, seed {report.seed}, {report.ops} recorded operations; recording "
        f"{report.record_s:.1f}s, enumeration {report.enumerate_s:.1f}s, recovery {report.recover_s:.1f}s "
        f"({report.workers} warm workers): <b>{report.states_per_minute:.0f} states checked per minute</b> "
        f"({report.recoveries_per_minute:.0f} engine recoveries per minute). Trace: "
        f"<code>{escape(report.trace_dir)}</code></p>",
        "<table><tr><th>model</th><th>crash points</th><th>states possible</th><th>states checked</th>"
        "<th>distinct recoveries</th><th>violations</th><th>states failing</th></tr>",
    ]
    for m in report.models:
        out.append(
            f"<tr><td>{m.model}</td><td>{m.crash_points}</td><td>{m.states_possible}</td>"
            f"<td>{m.states_checked}</td><td>{m.recoveries}</td><td>{m.violations}</td>"
            f"<td>{m.states_failed}</td></tr>"
        )
    out.append("</table>")
    out.append(strip_svg(ops, report.violations))
    if report.violations:
        out.append(
            "<table><tr><th>state</th><th>crash after</th><th>dropped / torn / undone</th>"
            "<th>checker</th><th>summary</th><th>evidence</th><th>rebuild</th></tr>"
        )
        for v in report.violations[:200]:
            out.append(
                f"<tr><td>{escape(v.state)}</td><td>{escape(v.op)}</td>"
                f"<td>{escape('; '.join(v.choices) or '-')}</td><td>{escape(v.checker)}</td>"
                f"<td>{escape(v.summary)}</td><td class='ev'>{escape(str(v.evidence))[:800]}</td>"
                f"<td class='ev'>{escape(v.rebuild)}</td></tr>"
            )
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def write_report(out: Path, report: CrashReport, ops: list[TraceOp]) -> None:
    (out / "summary.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (out / "junit.xml").write_text(junit_xml(report), encoding="utf-8")
    (out / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>chaos-lab {escape(report.run_id)}</title>"
        f"<style>{_CSS}</style></head><body><h1>chaos-lab {escape(report.run_id)}</h1>"
        + html_section(report, ops)
        + "</body></html>\n",
        encoding="utf-8",
    )
