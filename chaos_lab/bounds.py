"""`Between`: the bounds of a number people write in a scenario file (step fields, fault and checker params).

Why not pydantic's own `ge`/`le`: pydantic's lax mode reads `true` as 1 and `"5"` as 5, YAML reads `.nan`,
`.inf` and `1e30` as floats, and `ge` alone says only one side ("greater than or equal to 0"). A bad value
must fail at load with its whole allowed range, not half-way through a lab run. It also bounds both ends of
an IntRange/FloatRange (anything with `lo` and `hi`), so `seconds: {lo: 1, hi: 1e9}` fails like `1e9`.

Shared by chaos_lab/scenarios (steps) and chaos_lab/faults (params models), so it imports neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, GetCoreSchemaHandler
from pydantic_core import core_schema

FORBID = ConfigDict(extra="forbid", frozen=True)


def _fmt(x: float) -> str:
    """Big integers with underscores (as YAML and Python read them): 1_073_741_824, not 1073741824."""
    if isinstance(x, float):
        return f"{x:g}"
    return f"{x:_}" if abs(x) >= 100_000 else str(x)


@dataclass(frozen=True)
class Between:
    """`Annotated[float, Between(0, 120, " s")]`: finite, lo <= x <= hi (`lo_open`/`hi_open`: strict);
    `integer=True`: a whole number (3.0 is 3, as in JSON; 2.5 is not). None: unbounded on that side."""

    lo: float | None = None
    hi: float | None = None
    unit: str = ""
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def allowed(self) -> str:
        kind = "an integer" if self.integer else "a finite number"
        if self.lo is not None and self.hi is not None and not (self.lo_open or self.hi_open):
            return f"{kind} in {_fmt(self.lo)}..{_fmt(self.hi)}{self.unit}"
        sides = []
        if self.lo is not None:
            sides.append(f"{'>' if self.lo_open else '>='} {_fmt(self.lo)}{self.unit}")
        if self.hi is not None:
            sides.append(f"{'<' if self.hi_open else '<='} {_fmt(self.hi)}{self.unit}")
        return " ".join([kind, " and ".join(sides)]).strip()

    def _fail(self, value: object) -> ValueError:
        if isinstance(value, str):  # YAML 1.1 reads 1e9 (no dot) and "5" as strings
            shown = f"the string {value!r}"
        elif isinstance(value, float | int) and not isinstance(value, bool):
            shown = _fmt(value)
        else:
            shown = repr(value)
        return ValueError(f"must be {self.allowed()}, got {shown}")

    def before(self, value: Any) -> Any:
        """Refuse what lax mode would coerce: bools, strings, fractional or huge floats for integers."""
        if isinstance(value, bool | str):
            raise self._fail(value)
        if self.integer and isinstance(value, float):
            if not value.is_integer():
                raise self._fail(value)
            value = int(self.number(value))  # out of range: named as written (1e+30, not 31 digits)
        return value

    def number(self, value: float) -> float:
        ok = math.isfinite(value)
        if ok and self.lo is not None:
            ok = value > self.lo if self.lo_open else value >= self.lo
        if ok and self.hi is not None:
            ok = value < self.hi if self.hi_open else value <= self.hi
        if not ok:
            raise self._fail(value)
        return value

    def after(self, value: Any) -> Any:
        if hasattr(value, "lo") and hasattr(value, "hi"):  # a range: both ends within the bounds
            for end in (value.lo, value.hi):
                try:
                    self.number(end)
                except ValueError:
                    raise ValueError(
                        f"range {_fmt(value.lo)}..{_fmt(value.hi)}: both ends must be {self.allowed()}"
                    ) from None
            return value
        return self.number(value)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.after, core_schema.no_info_before_validator_function(self.before, handler(source))
        )
