"""Build a fault from its declared form in a scenario (`kind` + params): scenarios stay plain data."""

from __future__ import annotations

from typing import Any

from chaos_lab.faults.base import Fault
from chaos_lab.faults.disk import DiskFill
from chaos_lab.faults.files import CorruptKillSwitch, FlipLedgerByte, TearLedgerTail, TruncateParquet
from chaos_lab.faults.network import ProxyDown, Toxic
from chaos_lab.faults.process import Kill, Pause, Restart, Stop

LAB_FAULTS: dict[str, type[Fault]] = {
    cls.kind: cls
    for cls in (
        DiskFill,
        Kill,
        Stop,
        Restart,
        Pause,
        TearLedgerTail,
        FlipLedgerByte,
        TruncateParquet,
        CorruptKillSwitch,
    )
}
NETWORK_FAULTS: dict[str, type[Fault]] = {cls.kind: cls for cls in (Toxic, ProxyDown)}
FAULT_KINDS = frozenset(LAB_FAULTS) | frozenset(NETWORK_FAULTS)
ENGINE_STOPPING = frozenset(k for k, cls in {**LAB_FAULTS, **NETWORK_FAULTS}.items() if cls.stops_engine)


def build_fault(kind: str, params: dict[str, Any], lab: Any, toxiproxy_url: str) -> Fault:
    if kind in LAB_FAULTS:
        return LAB_FAULTS[kind](lab, **params)
    if kind in NETWORK_FAULTS:
        return NETWORK_FAULTS[kind](toxiproxy_url, **params)
    raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
