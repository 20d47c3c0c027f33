"""Records of the execution ledger (docs/interfaces.md "Ledger file format").

Pydantic models because these records cross the process boundary twice: into the ledger file and out
over HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, GetPydanticSchema, PositiveFloat, TypeAdapter, with_config
from pydantic_core import core_schema
from typing_extensions import TypedDict

NIL_UUID = UUID(int=0)
CLIENT_ORDER_ID_PREFIX = "SOLAT-"


class EntryType(StrEnum):
    INTENT = "intent"
    SUBMITTED = "submitted"
    ACK = "ack"
    FILL = "fill"
    REJECT = "reject"
    UNKNOWN = "unknown"
    RECONCILED = "reconciled"
    NOT_SENT = "not_sent"
    RECOVERY = "recovery"
    KILL_SWITCH = "kill_switch"


TERMINAL_TYPES: frozenset[EntryType] = frozenset(
    {EntryType.FILL, EntryType.RECONCILED, EntryType.REJECT, EntryType.NOT_SENT}
)
POSITION_TYPES: frozenset[EntryType] = frozenset({EntryType.FILL, EntryType.RECONCILED})


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


# A ledger is ordered by seq, but people read timestamps: one zone (UTC) avoids misreading them. Checked by
# pydantic-core itself (offset must be 0; naive is rejected): a Python validator here cost a third of the time
# of reading the ledger back at start-up.
UtcDatetime = Annotated[
    datetime, GetPydanticSchema(lambda _type, _handler: core_schema.datetime_schema(tz_constraint=0))
]


def utc_now() -> datetime:
    return datetime.now(UTC)


def client_order_id_for(intent_id: UUID) -> str:
    """Deterministic, so a retry of the same intent reuses the broker-side idempotency key."""
    return CLIENT_ORDER_ID_PREFIX + intent_id.hex


class LedgerEntry(BaseModel):
    """One ledger record. Frozen: a written record never changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1, strict=True)
    entry_type: EntryType
    intent_id: UUID
    timestamp: UtcDatetime
    payload: dict[str, Any]

    @classmethod
    def trusted(
        cls, seq: int, entry_type: EntryType, intent_id: UUID, timestamp: datetime, payload: dict[str, Any]
    ) -> LedgerEntry:
        """An entry from fields the ledger has just made or validated: what `model_construct` returns for
        this model (every field given, no alias, default or post-init), without its generic per-field loop,
        which costs as much as the rest of an append's bookkeeping. A test pins both to the same result."""
        entry = cls.__new__(cls)
        _set = object.__setattr__
        _set(entry, "__dict__", {
            "seq": seq, "entry_type": entry_type, "intent_id": intent_id, "timestamp": timestamp,
            "payload": payload,
        })
        _set(entry, "__pydantic_fields_set__", set(_LEDGER_ENTRY_FIELDS))
        _set(entry, "__pydantic_extra__", None)
        _set(entry, "__pydantic_private__", None)
        return entry


_LEDGER_ENTRY_FIELDS = tuple(LedgerEntry.model_fields)


# The same record as LedgerEntry, validated into plain dicts (intent_id checked as a string): verifying a
# 100k-record ledger at start-up through model instances and UUID objects per record costs more than the
# restart budget allows. The ledger verifies with this; tests check both accept the same records.
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@with_config(ConfigDict(extra="ignore"))
class ReplayPayload(TypedDict, total=False):
    """The payload fields replay folds. Any JSON object validates, as for LedgerEntry.payload (the file is
    parsed whole, so other values are still checked as JSON); the others are dropped: building them costs
    a third of start-up validation, and replay never reads them."""

    client_order_id: Any
    broker_order_id: Any
    reason: Any
    symbol: Any
    side: Any
    quantity: Any


class RawLedgerEntry(TypedDict):
    seq: Annotated[int, Field(ge=1, strict=True)]
    entry_type: Literal[
        "intent", "submitted", "ack", "fill", "reject", "unknown", "reconciled", "not_sent", "recovery",
        "kill_switch",
    ]
    intent_id: Annotated[str, Field(pattern=UUID_PATTERN)]
    timestamp: UtcDatetime
    payload: ReplayPayload  # on append: the whole payload (a superset)


# cache_strings="keys": values are mostly unique (ids, timestamps); caching them costs more than it saves.
RAW_ENTRY_LIST: TypeAdapter[list[RawLedgerEntry]] = TypeAdapter(
    list[RawLedgerEntry], config=ConfigDict(extra="forbid", cache_strings="keys")
)
ENTRY_TYPES: dict[str, EntryType] = {t.value: t for t in EntryType}


class Intent(BaseModel):
    """A risk-accepted order intent."""

    model_config = ConfigDict(frozen=True)

    intent_id: UUID
    symbol: str = Field(min_length=1)
    side: Side
    quantity: PositiveFloat

    @property
    def client_order_id(self) -> str:
        return client_order_id_for(self.intent_id)


# Payload models: validated on append so that a record the ledger accepted can always be replayed.
# extra="allow": the router may add context fields without a ledger change.
class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class IntentPayload(_Payload):
    symbol: str = Field(min_length=1)
    side: Side
    quantity: PositiveFloat
    client_order_id: str


class SubmittedPayload(_Payload):
    client_order_id: str


class AckPayload(_Payload):
    client_order_id: str
    broker_order_id: str


class FillPayload(_Payload):
    client_order_id: str
    broker_order_id: str
    symbol: str = Field(min_length=1)
    side: Side
    quantity: PositiveFloat
    price: float


class ReconciledPayload(FillPayload):
    source: Literal["reconcile"] = "reconcile"


class RejectPayload(_Payload):
    reason: str
    stage: Literal["risk", "broker"]


class UnknownPayload(_Payload):
    client_order_id: str
    reason: str


class RecoveryPayload(_Payload):
    dropped_bytes: int = Field(ge=0)
    dropped_offset: int = Field(ge=0)
    reason: str


PAYLOAD_MODELS: dict[EntryType, type[_Payload]] = {
    EntryType.INTENT: IntentPayload,
    EntryType.SUBMITTED: SubmittedPayload,
    EntryType.ACK: AckPayload,
    EntryType.FILL: FillPayload,
    EntryType.RECONCILED: ReconciledPayload,
    EntryType.REJECT: RejectPayload,
    EntryType.UNKNOWN: UnknownPayload,
    EntryType.NOT_SENT: _Payload,
    EntryType.RECOVERY: RecoveryPayload,
    EntryType.KILL_SWITCH: _Payload,
}


def position_delta(entry_type: EntryType, payload: dict[str, Any]) -> tuple[str, float] | None:
    """(symbol, signed quantity) a record adds to a position, or None. Shared by replay and snapshots.

    Raises KeyError/ValueError/TypeError on a fill without usable symbol/side/quantity.
    """
    if entry_type not in POSITION_TYPES:
        return None
    quantity = float(payload["quantity"])
    side = payload["side"]
    if side == Side.BUY:
        return payload["symbol"], quantity
    if side == Side.SELL:
        return payload["symbol"], -quantity
    raise ValueError(f"side must be BUY or SELL, got {side!r}")
