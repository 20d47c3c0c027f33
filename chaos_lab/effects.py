"""What a fault does to the engine's world, as the rest of the lab needs to know it.

Each fault kind declares its effects (`Fault.effects`); the nemesis writes them into the history with the
inject, so checkers, the report and the explorer select fault windows by effect and never by kind name. A new
kind with known effects is judged by every checker that cares about them without touching one.
"""

from __future__ import annotations

from enum import StrEnum


class Effect(StrEnum):
    #: the engine answers nothing while the fault holds (a killed, stopped, paused or OOM-killed process)
    ENGINE_DOWN = "engine_down"
    #: once the inject completes, the old engine process is certainly gone (a SIGKILL, stop or restart)
    PROCESS_ENDS = "process_ends"
    #: every ledger write or fsync fails while the fault holds (the disk itself has room)
    LEDGER_UNWRITABLE = "ledger_unwritable"
    #: the next ledger fsync fails once
    FSYNC_FAILS_ONCE = "fsync_fails_once"
    #: the data volume has no free block: any write that needs one fails with ENOSPC
    DISK_FULL = "disk_full"
    #: the engine's wall clock is wrong (stepped or running fast); its monotonic clock is not
    CLOCK_SKEW = "clock_skew"
    #: requests between the engine and the broker are slowed, cut or refused
    LINK_BROKEN = "link_broken"
    #: the engine gets a small share of a CPU
    CPU_STARVED = "cpu_starved"
    #: the broker commits an order and then answers badly (5xx, dropped, late, partial)
    BROKER_AMBIGUOUS = "broker_ambiguous"
    #: the ledger's last record was cut short (a torn write)
    LEDGER_TORN = "ledger_torn"
    #: a byte inside a ledger record was changed (its checksum no longer matches)
    LEDGER_CORRUPT = "ledger_corrupt"
    #: a Parquet bar file was cut short
    BARS_DAMAGED = "bars_damaged"
    #: the kill-switch file cannot be read
    KILL_SWITCH_DAMAGED = "kill_switch_damaged"


#: the ledger cannot take a record: what refusals `stage: ledger` are for
UNWRITABLE = frozenset({Effect.LEDGER_UNWRITABLE, Effect.DISK_FULL})
