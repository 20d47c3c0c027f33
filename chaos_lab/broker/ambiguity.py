"""Per-order ambiguity knobs of the fake broker: the harmful cases a real broker produces, where the order
IS committed (filled) but the answer says otherwise or never arrives, plus an IOC partial fill.

Seeded: whether the n-th new order gets the knob is `Random(seed, n) < probability`, so one scenario + seed
hits the same orders (with one client sending in order). Duplicates (a client's retry under the same
client_order_id) always get the plain answer: that is how the engine resolves what it could not learn.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Literal

from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from chaos_lab.broker.fields import JsonFloat, JsonInt

Mode = Literal["commit_then_5xx", "commit_then_drop", "commit_then_late", "partial_fill"]


class AmbiguityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Mode = "commit_then_5xx"
    probability: JsonFloat = Field(default=0.0, ge=0.0, le=1.0)
    seed: JsonInt = 0
    late_s: JsonFloat = Field(default=5.0, ge=0.0, le=60.0)  # past the engine's 3 s read timeout
    fill_fraction: JsonFloat = Field(default=0.5, gt=0.0, lt=1.0)


class KnobHit(BaseModel):
    client_order_id: str
    order_seq: int
    mode: Mode


class Knobs:
    """Which new orders get a knob, and the record of every hit (GET /admin/knobs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits: list[KnobHit] = []

    def pick(
        self, raw: dict[str, object] | None, order_seq: int, client_order_id: str
    ) -> AmbiguityConfig | None:
        if not raw:
            return None
        cfg = AmbiguityConfig.model_validate(raw)
        if (
            cfg.probability <= 0
            or random.Random(cfg.seed * 1_000_003 + order_seq).random() >= cfg.probability
        ):
            return None
        with self._lock:
            self.hits.append(KnobHit(client_order_id=client_order_id, order_seq=order_seq, mode=cfg.mode))
        return cfg

    def reset(self) -> None:
        with self._lock:
            self.hits.clear()


def _broken_body() -> Iterator[bytes]:
    """Raised after the response has started: uvicorn closes the connection mid-response (no complete
    answer ever reaches the client)."""
    raise ConnectionAbortedError("chaos: connection dropped after the order was committed")
    yield b""  # pragma: no cover - makes this a generator


def respond(cfg: AmbiguityConfig, body: dict[str, object]) -> Response | None:
    """The answer for a committed order under a knob; None: answer normally (after `late_s` if late)."""
    if cfg.mode == "commit_then_5xx":
        return JSONResponse(status_code=503, content={"ok": False, "reason": "chaos: 503 after commit"})
    if cfg.mode == "commit_then_drop":
        return StreamingResponse(_broken_body(), media_type="application/json")
    return None
