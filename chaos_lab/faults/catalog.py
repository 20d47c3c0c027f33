"""Build a fault from its declared form in a scenario (`kind` + params): scenarios stay plain data."""

from __future__ import annotations

from typing import Any

from chaos_lab.faults.base import Fault
from chaos_lab.faults.broker_ambiguity import BrokerAmbiguity
from chaos_lab.faults.clock_fast import ClockFast
from chaos_lab.faults.clock_step import ClockStep
from chaos_lab.faults.cpu_starve import CpuStarve
from chaos_lab.faults.disk import DiskFill
from chaos_lab.faults.files import CorruptKillSwitch, FlipLedgerByte, TearLedgerTail, TruncateParquet
from chaos_lab.faults.fsync_eio import FsyncEIO
from chaos_lab.faults.fsync_eio_once import FsyncEIOOnce
from chaos_lab.faults.memory_oom import MemoryOOM
from chaos_lab.faults.network import ProxyDown, Toxic
from chaos_lab.faults.process import Kill, Pause, Restart, Stop
from chaos_lab.faults.write_eio import WriteEIO

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
        FsyncEIO,
        FsyncEIOOnce,
        WriteEIO,
        ClockStep,
        ClockFast,
        CpuStarve,
        MemoryOOM,
        BrokerAmbiguity,
    )
}
NETWORK_FAULTS: dict[str, type[Fault]] = {cls.kind: cls for cls in (Toxic, ProxyDown)}
FAULT_KINDS = frozenset(LAB_FAULTS) | frozenset(NETWORK_FAULTS)
ENGINE_STOPPING = frozenset(k for k, cls in {**LAB_FAULTS, **NETWORK_FAULTS}.items() if cls.stops_engine)


def fault_class(kind: str) -> type[Fault]:
    return {**LAB_FAULTS, **NETWORK_FAULTS}[kind]


def build_fault(kind: str, params: dict[str, Any], lab: Any, toxiproxy_url: str) -> Fault:
    if kind in LAB_FAULTS:
        return LAB_FAULTS[kind](lab, **params)
    if kind in NETWORK_FAULTS:
        return NETWORK_FAULTS[kind](toxiproxy_url, **params)
    raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
