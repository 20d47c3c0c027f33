"""The engine's resources stay bounded under load: over a long run, open descriptors, threads and files on the
data volume do not grow with the signals, and memory grows by at most `rss_kib_per_1000` per thousand signals.

Slow damage passes every short scenario: a descriptor not closed after each directory fsync, a thread started
per request, a temporary file left per snapshot, a cache that keeps every record. Each is harmless for forty
signals and takes the engine down after a day. Judged from the `sample_resources` steps
(chaos_lab/lab/resources.py): from the first sample after the warm-up (the second one) to the last, with no
engine restart in between (a restart starts every count again). Descriptors, threads and files get a small
absolute slack (keep-alive connections, the thread pool filling up); memory a budget per signal. Fewer than
`min_signals` signals between those samples, or a restart in between: nothing to judge."""

from __future__ import annotations

from chaos_lab.checkers.common import judge, unknown, windows
from chaos_lab.effects import Effect
from chaos_lab.lab.resources import samples_in
from chaos_lab.models import Observation, Verdict

NAME = "resources_bounded"


def check(
    obs: Observation,
    fds: int = 8,
    threads: int = 4,
    files: int = 2,
    rss_kib_per_1000: float = 4096.0,
    min_signals: int = 500,
) -> Verdict:
    samples = samples_in(obs.history)
    if len(samples) < 3:
        return unknown(NAME, f"{len(samples)} resource samples")
    (t0, first), (t1, last) = samples[1], samples[-1]
    restarts = [w.name for w in windows(obs) if w.has(Effect.ENGINE_DOWN) and t0 <= w.start < t1]
    signals = sum(
        1
        for op in obs.history
        if op.f == "signal" and op.type != "invoke" and op.process == "workload" and t0 < op.time <= t1
    )
    series = [
        {
            "t": round(t, 2),
            "rss_kib": s.rss_kib,
            "threads": s.threads,
            "fds": s.fds,
            "files": s.data_files,
            "bytes": s.data_bytes,
        }
        for t, s in samples
    ]
    evidence: dict[str, object] = {"signals": signals, "samples": series}
    if restarts:
        return unknown(NAME, f"the engine restarted between the samples ({restarts[0]})", evidence)
    if signals < min_signals:
        return unknown(NAME, f"{signals} signals between the samples (< {min_signals})", evidence)
    rss_per_1000 = (last.rss_kib - first.rss_kib) * 1000 / signals
    grown = {
        "open descriptors": (last.fds - first.fds, fds),
        "threads": (last.threads - first.threads, threads),
        "files on the data volume": (last.data_files - first.data_files, files),
    }
    problems = [
        f"{what} grew by {delta} over {signals} signals (allowed {limit}): {getattr(first, key)} -> "
        f"{getattr(last, key)}"
        for (what, (delta, limit)), key in zip(grown.items(), ("fds", "threads", "data_files"), strict=True)
        if delta > limit
    ]
    if rss_per_1000 > rss_kib_per_1000:
        problems.append(
            f"memory grew {rss_per_1000:.0f} KiB per 1000 signals (allowed {rss_kib_per_1000:g}): "
            f"{first.rss_kib} -> {last.rss_kib} KiB over {signals} signals"
        )
    evidence["rss_kib_per_1000"] = round(rss_per_1000, 1)
    return judge(
        NAME,
        problems,
        evidence,
        lambda: (
            f"over {signals} signals: memory {rss_per_1000:+.0f} KiB per 1000, descriptors "
            f"{last.fds - first.fds:+d}, threads {last.threads - first.threads:+d}, files "
            f"{last.data_files - first.data_files:+d}"
        ),
    )
