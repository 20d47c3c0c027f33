"""A params model per checker, derived from its `check(obs, **params)` signature: a scenario file's checker
params are validated when it is loaded. Without it a misspelt `recover_within` passed validation and crashed
the checker after the whole lab run (an unexpected keyword argument is only raised when it is called).

Derived rather than declared so a checker's signature stays the single source; the derived types are stricter
than the annotations: numbers finite and non-negative (every checker number is a duration or a count), bools
strictly bools. A checker taking **kwargs accepts any extra key."""

from __future__ import annotations

import inspect
from functools import cache
from typing import Annotated, Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from chaos_lab.bounds import Between
from chaos_lab.checkers import CHECKERS

_STRICT: dict[Any, Any] = {
    float: Annotated[float, Between(0)],
    int: Annotated[int, Between(0, integer=True)],
    bool: Annotated[bool, Field(strict=True)],
}


@cache
def checker_params(name: str) -> type[BaseModel]:
    """The params model of checker `name` (a KeyError for an unknown one)."""
    check = CHECKERS[name]
    hints = get_type_hints(check)
    params = list(inspect.signature(check).parameters.values())[1:]  # the first is the observation
    extra = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    fields: dict[str, Any] = {
        p.name: (
            _STRICT.get(hints.get(p.name, Any), hints.get(p.name, Any)),
            ... if p.default is p.empty else p.default,
        )
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    config = ConfigDict(extra="allow" if extra else "forbid", frozen=True)
    return create_model(f"{name}_params", __config__=config, **fields)
