"""What a fault kind accepts as `params` in a scenario: each Fault class declares a nested `Params` model
(types, ranges, enums; extra keys refused), checked when a scenario file is loaded. The constructor stays the
fault's behaviour; `Params` is the validation, so a bad value fails at load with its allowed values instead of
in the middle of a lab run (or, worse, being passed on to Docker or Toxiproxy as it is)."""

from __future__ import annotations

import signal as _signal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel

from chaos_lab.bounds import FORBID

# The lab's Compose services (compose/lab.yml) a process fault may act on.
Service = Literal["engine", "broker", "toxiproxy"]
_SIGNALS = frozenset(s.name for s in _signal.Signals if not s.name.startswith("SIG_"))


def _real_signal(name: str) -> str:
    """Docker takes `SIGKILL`, `KILL` or a number; anything else is refused by Docker mid-run."""
    number = name.isdigit() and 1 <= int(name) <= 64
    if not (number or name in _SIGNALS or f"SIG{name}" in _SIGNALS):
        raise ValueError(f"{name!r} is not a signal: a name such as SIGKILL, SIGTERM, SIGINT, or 1..64")
    return name


SignalName = Annotated[str, AfterValidator(_real_signal)]


class FaultParams(BaseModel):
    """No params at all unless a subclass declares them: `extra` keys are refused."""

    model_config = FORBID
