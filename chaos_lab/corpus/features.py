"""What a run reached, as a set of feature strings: the unit a corpus keeps schedules for.

- `reach:<event>`: a reach event (chaos_lab/reach/events.py) happened in the run;
- `fault:<kind>`: the schedule injected that fault kind;
- `pair:<a>+<b>`: two fault kinds followed one another (sorted: the combination, not its order);
- `found:<checker>`: the schedule violated that checker when it was found (a bug's schedule).

Reach events are counted by name only, as every run report keeps them: a feature must mean the same in an
explored schedule's record and in a replay's summary."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping


def features(
    faults: Iterable[str], reach: Mapping[str, int] | Iterable[str], found: Iterable[str] = ()
) -> frozenset[str]:
    kinds = list(faults)
    pairs = {"+".join(sorted(p)) for p in itertools.pairwise(kinds)}
    reached = [name for name, n in reach.items() if n] if isinstance(reach, Mapping) else list(reach)
    return frozenset(
        [f"reach:{name}" for name in reached]
        + [f"fault:{k}" for k in kinds]
        + [f"pair:{p}" for p in pairs]
        + [f"found:{c}" for c in found]
    )
