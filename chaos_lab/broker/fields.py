"""Field types the fake broker's admin and order models share: strict where JSON is strict."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def no_bool_or_str(value: Any) -> Any:
    """JSON Schema's integer includes 3.0, so a lax int, but `true` and `"3"` are not counts."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


JsonInt = Annotated[int, BeforeValidator(no_bool_or_str)]
# A JSON number: an int is one, `false` and "0.5" are not (pydantic's lax float takes both).
JsonFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
