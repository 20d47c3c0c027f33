"""`corpus min`: the smallest set of entries that reaches what the whole corpus reaches (AFL's `afl-cmin`),
within a time budget for the gate. Greedy weighted set cover: take the entry with the most features not yet
covered per second of its run, until nothing new fits. An entry that found a bug is always kept: it is the
regression test for that bug whatever else reaches its features."""

from __future__ import annotations

from chaos_lab.corpus.store import CorpusIndex, Entry

MIN_COST_S = 1.0  # a run's cost is never taken below this (a 0 s record must not win every comparison)


def minimise(index: CorpusIndex, budget_s: float | None = None) -> tuple[list[Entry], set[str]]:
    """(the entries kept, in index order; the features the kept ones no longer reach)."""
    kept = [e for e in index.entries if e.found]
    covered = {f for e in kept for f in e.features}
    spent = sum(e.duration_s for e in kept)
    rest = [e for e in index.entries if not e.found]
    while rest:
        fits = [e for e in rest if (budget_s is None or spent + e.duration_s <= budget_s)
                and set(e.features) - covered]
        if not fits:
            break
        best = max(fits, key=lambda e: (len(set(e.features) - covered) / max(e.duration_s, MIN_COST_S),
                                        -e.duration_s))
        kept.append(best)
        covered.update(best.features)
        spent += best.duration_s
        rest.remove(best)
    order = {e.name: i for i, e in enumerate(index.entries)}
    return sorted(kept, key=lambda e: order[e.name]), index.covered() - covered
