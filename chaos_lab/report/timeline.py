"""One SVG timeline per scenario: fault windows shaded (by fault family) behind every signal's latency,
coloured by outcome, with /health probes and phases underneath. Plain inline SVG built here: the report opens
offline, no JS, no CDN."""

from __future__ import annotations

from html import escape

from chaos_lab.effects import Effect
from chaos_lab.models import FaultWindow, Op

WIDTH, PLOT_H, LEFT, RIGHT, TOP = 960, 220, 56, 16, 28
STRIP_H = 14
COLORS = {"ok": "#2e7d32", "fail": "#c62828", "info": "#ef6c00"}
#: fault families as the timeline shades them: (family, colour, the effects in it); a window takes the first
#: family one of its effects is in, so a new fault kind is shaded by what it does. The report's legend is
#: built from this, and a unit test checks every effect is in exactly one family.
FAULT_FAMILIES: tuple[tuple[str, str, tuple[Effect, ...]], ...] = (
    ("process", "#ef9a9a", (Effect.ENGINE_DOWN, Effect.PROCESS_ENDS)),
    ("disk and syscall", "#90caf9", (Effect.DISK_FULL, Effect.LEDGER_UNWRITABLE, Effect.FSYNC_FAILS_ONCE)),
    ("resource", "#ffab91", (Effect.CPU_STARVED,)),
    ("network and broker", "#ce93d8", (Effect.LINK_BROKEN, Effect.BROKER_AMBIGUOUS)),
    (
        "file",
        "#ffe082",
        (Effect.LEDGER_TORN, Effect.LEDGER_CORRUPT, Effect.BARS_DAMAGED, Effect.KILL_SWITCH_DAMAGED),
    ),
    ("clock", "#a5d6a7", (Effect.CLOCK_SKEW,)),
)
OTHER_FILL = "#bdbdbd"  # a fault with no effect a family names: grey, never another family's colour


def fill_of(window: FaultWindow) -> str:
    return next((colour for _, colour, effects in FAULT_FAMILIES if window.has(*effects)), OTHER_FILL)


def _nice_max(value: float) -> float:
    for step in (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60):
        if value <= step:
            return float(step)
    return float(value)


def timeline_svg(ops: list[Op], faults: list[FaultWindow]) -> str:
    """The SVG for one scenario's history."""
    # The axis spans the recorded ops: the reset before the first op is housekeeping, not the experiment.
    t_start = min((op.time for op in ops), default=0.0)
    t_end = max(max((op.time for op in ops), default=1.0), t_start + 0.1)
    signals = [op for op in ops if op.f == "signal" and op.type != "invoke" and op.latency is not None]
    probes = [op for op in ops if op.process == "probe" and op.type != "invoke"]
    lat_max = _nice_max(max((op.latency or 0.0 for op in signals), default=0.1))
    plot_w = WIDTH - LEFT - RIGHT
    strip_y = TOP + PLOT_H + 10
    height = strip_y + 2 * STRIP_H + 40

    def x(t: float) -> float:
        return LEFT + plot_w * (max(t_start, min(t, t_end)) - t_start) / (t_end - t_start)

    def y(lat: float) -> float:
        return TOP + PLOT_H - PLOT_H * min(lat, lat_max) / lat_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" class="timeline" font-family="sans-serif" font-size="11">'
    ]
    # Fault windows first, so everything else is drawn over them.
    for i, w in enumerate(faults):
        x0, x1 = x(w.start), x(w.end if w.end is not None else t_end)
        fill = fill_of(w)
        label = f"{w.name} ({w.kind}) {w.start:.2f}s-{'open' if w.end is None else f'{w.end:.2f}s'}"
        parts.append(
            f'<rect class="fault" data-kind="{escape(w.kind)}" x="{x0:.1f}" y="{TOP}" '
            f'width="{max(x1 - x0, 2):.1f}" height="{PLOT_H + 10 + 2 * STRIP_H}" fill="{fill}" '
            f'fill-opacity="0.45"><title>{escape(label)}</title></rect>'
        )
        parts.append(
            f'<text x="{x0 + 2:.1f}" y="{TOP - 4 - 10 * (i % 2)}" fill="#333">{escape(w.name)}</text>'
        )
    # Axes and gridlines.
    for k in range(5):
        lat = lat_max * k / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(lat):.1f}" y2="{y(lat):.1f}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="{LEFT - 4}" y="{y(lat) + 4:.1f}" text-anchor="end">{lat:g}s</text>')
    ticks, digits = 10, (2 if t_end - t_start < 5 else 1)
    for k in range(ticks + 1):
        t = t_start + (t_end - t_start) * k / ticks
        parts.append(f'<text x="{x(t):.1f}" y="{height - 18}" text-anchor="middle">{t:.{digits}f}s</text>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{PLOT_H}" fill="none" stroke="#999"/>')
    # Phase boundaries.
    seen: set[str] = set()
    last_phase_x = -1000.0
    for op in ops:
        if op.phase and op.phase not in seen:
            seen.add(op.phase)
            phase_label = escape(op.phase) if x(op.time) - last_phase_x > 60 else ""
            last_phase_x = x(op.time) if phase_label else last_phase_x
            parts.append(
                f'<line class="phase" x1="{x(op.time):.1f}" x2="{x(op.time):.1f}" y1="{TOP}" '
                f'y2="{TOP + PLOT_H}" stroke="#777" stroke-dasharray="3,3"/>'
                f'<text x="{x(op.time) + 2:.1f}" y="{TOP + PLOT_H - 4}" fill="#555">{phase_label}</text>'
            )
    # Each signal: a mark at (invoke time, latency), colour = outcome; unknown outcomes are crosses.
    for op in signals:
        start = op.time - (op.latency or 0.0)
        cx, cy = x(start), y(op.latency or 0.0)
        tip = (
            f"{op.process} {op.type} {op.status_code or ''} {op.latency:.3f}s intent {op.intent_id} "
            f"{op.reason or ''}"
        )
        if op.type == "info":
            parts.append(
                f'<path class="op info" d="M{cx - 4:.1f},{cy - 4:.1f} L{cx + 4:.1f},{cy + 4:.1f} '
                f'M{cx - 4:.1f},{cy + 4:.1f} L{cx + 4:.1f},{cy - 4:.1f}" stroke="{COLORS["info"]}" '
                f'stroke-width="2"><title>{escape(tip)}</title></path>'
            )
        else:
            parts.append(
                f'<circle class="op {op.type}" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{COLORS[op.type]}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    # /health probes: a strip of ticks, green answered, red not.
    parts.append(f'<text x="{LEFT - 4}" y="{strip_y + 11}" text-anchor="end">health</text>')
    for op in probes:
        colour = COLORS["ok"] if op.type == "ok" else COLORS["fail"]
        status = op.value.get("status", op.reason or op.type)
        parts.append(
            f'<rect class="probe {op.type}" x="{x(op.time) - 1:.1f}" y="{strip_y}" width="2" '
            f'height="{STRIP_H}" fill="{colour}"><title>{op.time:.2f}s {escape(str(status))}</title></rect>'
        )
    # Nemesis actions as labelled ticks in the second strip.
    parts.append(f'<text x="{LEFT - 4}" y="{strip_y + STRIP_H + 11}" text-anchor="end">nemesis</text>')
    for op in ops:
        if op.process == "nemesis" and op.type != "invoke":
            parts.append(
                f'<rect class="nemesis" x="{x(op.time) - 1:.1f}" y="{strip_y + STRIP_H}" width="3" '
                f'height="{STRIP_H}" fill="#333"><title>{op.time:.2f}s {escape(op.f)} '
                f"{escape(op.fault or '')} {op.type}</title></rect>"
            )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle">'
        f"time since scenario start (signal latency on the y axis)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
