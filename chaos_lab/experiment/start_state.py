"""A run that starts from production's own data: an incident file's `start_from`, or `run --data-from DIR`.

The person on call has the engine's data directory as it was (ledger, kill-switch file, snapshots, bars,
config, backtest artefacts), the broker's orders, and the disk's size and free bytes at the time. Before the
engine starts, the lab copies the directory onto its volume (reading it, never writing to it), seeds the fake
broker with the orders it held, and fills the volume so that `leave_bytes` are free, so the engine's start-up
replay and reconcile meet production's state. `start_state_kept` then judges the run against what the captured
ledger held.

The directory is inspected before anything of the lab starts: only the engine's own files (`KNOWN`), regular
files (no links, devices or sockets), a ledger the lab's reader can read, sizes that fit the volume. Anything
else is one `CapturedDataError` naming the file.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import tarfile
from pathlib import Path
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chaos_lab.bounds import Between
from chaos_lab.lab.volume_size import VOLUME_SIZE_DEFAULT, VOLUME_SIZE_VAR, parse_size
from chaos_lab.ledger_reader import scan_ledger
from chaos_lab.models import LedgerScan

LEDGER = "ledger/ledger.log"
KILL_SWITCH = "kill_switch.json"
CONFIG = "config.json"
LAB_UID = 10001  # the engine's user in the lab's images (compose/lab.yml)
MIN_VOLUME, MAX_VOLUME = 1 << 20, 8 << 30  # a tmpfs in RAM: 8 GiB is a third of a 24 GiB lab host
# What files take beyond their bytes on a tmpfs (a page per file and directory): a capture that leaves less
# than this free would start the engine on a full disk it did not have in production.
PAGE = 4096
TERMINAL = frozenset({"fill", "reconciled", "reject", "not_sent"})

_TMP = r"\.[A-Za-z0-9._-]+\.[0-9a-f]{32}\.tmp"  # durable.atomic_write_bytes' temp file, left by a crash
_SYMBOL = r"[A-Z0-9][A-Z0-9._-]{0,31}"
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_RUN = r"\.?(?:tmp-)?[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
#: every path the engine writes under its data directory (solat_engine/config.py and the writers it names)
KNOWN = tuple(
    re.compile(p)
    for p in (
        r"ledger/ledger\.log",
        r"ledger/\.write-probe",
        rf"kill_switch\.json|{_TMP}",
        r"config\.json",
        rf"snapshots/(?:positions\.json|{_TMP})",
        rf"bars/{_SYMBOL}/(?:{_NAME}\.parquet|{_TMP})",
        rf"artefacts/{_RUN}/(?:{_NAME}|{_TMP})",
    )
)
KNOWN_DIRS = re.compile(rf"ledger|snapshots|bars|bars/{_SYMBOL}|artefacts|artefacts/{_RUN}")


class CapturedDataError(ValueError):
    """The captured directory cannot be replayed as is: one line naming the file and why."""


class StartFrom(BaseModel):
    """Where a run starts: production's data directory, the broker's orders, the volume as it was."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the captured engine data directory (relative to the incident file); read, never written
    data_dir: Path
    #: the broker's orders at capture time, JSON `{"orders": [...]}` as the lab's `/admin/orders` lists them;
    #: None: the orders the captured ledger records as filled (an open intent is then not at the broker)
    broker_orders: Path | None = None
    #: the volume's size as production had it (`64m`, `2g`: a tmpfs size); None: the lab's (LAB_DATA_SIZE)
    volume_size: str | None = None
    #: free bytes on the volume when the engine starts (the rest is held by a filler file all run); None: all
    leave_bytes: Annotated[int, Between(0, MAX_VOLUME, " bytes", integer=True)] | None = None

    @field_validator("volume_size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None and not MIN_VOLUME <= parse_size(value) <= MAX_VOLUME:
            raise ValueError(f"must be between 1m and 8g (a tmpfs in the lab host's memory), got {value!r}")
        return value

    def resolved(self, base: Path) -> StartFrom:
        """The same start with its paths made absolute against `base` (the incident file's directory)."""
        paths = {k: (base / p).resolve() for k in ("data_dir", "broker_orders") if (p := getattr(self, k))}
        return self.model_copy(update=paths)

    def volume_bytes(self, environ: dict[str, str] | os._Environ[str] | None = None) -> int:
        env = os.environ if environ is None else environ
        return parse_size(self.volume_size or env.get(VOLUME_SIZE_VAR) or VOLUME_SIZE_DEFAULT)


class SeedOrder(BaseModel):
    """An order production's broker held (the fake broker's `SeedOrder`, chaos_lab/broker/app.py)."""

    model_config = ConfigDict(extra="ignore")  # `/admin/orders` adds status, seeded, duplicate
    broker_order_id: str
    client_order_id: str
    symbol: str
    side: Literal["BUY", "SELL"]
    quantity: float = Field(gt=0, allow_inf_nan=False)
    price: float = Field(gt=0, allow_inf_nan=False)


class _BrokerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: list[SeedOrder]


class CapturedFile(BaseModel):
    path: str  # relative to the data directory, POSIX
    size: int


class Captured(BaseModel):
    """What a captured directory holds, as inspected before the run: the record the checkers judge by."""

    data_dir: str
    files: list[CapturedFile]
    size: int
    ledger: LedgerScan | None  # None: the directory has no ledger (a first start)
    kill_switch_active: bool
    orders: list[SeedOrder]
    volume_bytes: int
    leave_bytes: int | None

    def open_intents(self) -> list[UUID]:
        """Intents with an `intent` record and no terminal one: the start-up reconcile must resolve them."""
        records = self.ledger.records if self.ledger else []
        done = {r.intent_id for r in records if r.entry_type in TERMINAL}
        return sorted({r.intent_id for r in records if r.entry_type == "intent" and r.intent_id not in done},
                      key=str)

    def archive(self) -> bytes:
        """The directory as a tar for the volume: owned by the engine's user, modes kept (0700 at most)."""
        root = Path(self.data_dir)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            dirs = sorted({str(Path(f.path).parents[i]) for f in self.files
                           for i in range(len(Path(f.path).parts) - 1)}, key=lambda d: (d.count("/"), d))
            for name in dirs:
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o700, LAB_UID, LAB_UID
                tar.addfile(info)
            for f in self.files:
                data = (root / f.path).read_bytes()
                if len(data) != f.size:
                    raise CapturedDataError(f"{root / f.path}: changed while the lab ran ({f.size} bytes "
                                            f"when inspected, {len(data)} now)")
                info = tarfile.TarInfo(f.path)
                info.size, info.mode, info.uid, info.gid = len(data), 0o600, LAB_UID, LAB_UID
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def config(self, overrides: dict[str, object]) -> dict[str, object] | None:
        """The engine config to start with: the captured config.json, with the scenario's keys over it."""
        captured = self.files_named(CONFIG)
        base: dict[str, object] = json.loads(captured) if captured is not None else {}
        return {**base, **overrides} if (base or overrides) else None

    def files_named(self, path: str) -> bytes | None:
        return (Path(self.data_dir) / path).read_bytes() if any(f.path == path for f in self.files) else None


def _walk(root: Path) -> list[CapturedFile]:
    files: list[CapturedFile] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in sorted(dirnames):
            rel = (here / name).relative_to(root).as_posix()
            if (here / name).is_symlink():
                raise CapturedDataError(f"{here / name}: a symbolic link (the engine writes none)")
            if not KNOWN_DIRS.fullmatch(rel):
                raise CapturedDataError(f"{here / name}: not a directory the engine writes")
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if not stat.S_ISREG(st.st_mode):
                raise CapturedDataError(f"{path}: not a regular file (a link, device or socket)")
            if not any(p.fullmatch(rel) for p in KNOWN):
                raise CapturedDataError(f"{path}: not a file the engine writes (its files: "
                                        "ledger/ledger.log, kill_switch.json, config.json, "
                                        "snapshots/positions.json, bars/SYMBOL/TF.parquet, artefacts/RUN/*)")
            if not os.access(path, os.R_OK):
                raise CapturedDataError(f"{path}: not readable")
            files.append(CapturedFile(path=rel, size=st.st_size))
    return files


def _orders_from_ledger(scan: LedgerScan | None) -> list[SeedOrder]:
    """What the broker must hold for the captured ledger: each `fill`/`reconciled` record as its order."""
    orders: list[SeedOrder] = []
    for r in scan.records if scan else []:
        if r.entry_type in ("fill", "reconciled"):
            try:
                orders.append(SeedOrder.model_validate(r.payload))
            except ValidationError as exc:
                raise CapturedDataError(f"{LEDGER}: seq {r.seq} ({r.entry_type}): not an order: "
                                        f"{exc.errors()[0]['msg']}") from exc
    return orders


def _broker_file(path: Path) -> list[SeedOrder]:
    try:
        return _BrokerFile.model_validate_json(path.read_bytes()).orders
    except OSError as exc:
        raise CapturedDataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise CapturedDataError(f"{path}: {where}: {err['msg']}") from exc


def inspect(start: StartFrom, environ: dict[str, str] | None = None) -> Captured:
    """Read and check the captured directory (and broker file): CapturedDataError on the first problem."""
    root = start.data_dir
    if not root.is_dir():
        raise CapturedDataError(f"{root}: {'no such directory' if not root.exists() else 'not a directory'}")
    files = _walk(root)
    size = sum(f.size for f in files)
    ledger = None
    if any(f.path == LEDGER for f in files):
        ledger = scan_ledger((root / LEDGER).read_bytes(), path=LEDGER)
        bad = [i for i in ledger.issues if i.kind != "torn_tail"]
        if bad and not ledger.records:
            raise CapturedDataError(f"{root / LEDGER}: no readable record ({bad[0].kind} at offset "
                                    f"{bad[0].offset}): not an engine ledger")
    kill_switch_active = False
    if any(f.path == KILL_SWITCH for f in files):
        try:
            kill_switch_active = bool(json.loads((root / KILL_SWITCH).read_bytes()).get("active"))
        except (ValueError, AttributeError):
            kill_switch_active = True  # unreadable: the engine starts with its kill switch on (fail closed)
    if any(f.path == CONFIG for f in files):
        try:
            if not isinstance(json.loads((root / CONFIG).read_bytes()), dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise CapturedDataError(f"{root / CONFIG}: not a JSON object of settings: {exc}") from exc
    orders = _broker_file(start.broker_orders) if start.broker_orders else _orders_from_ledger(ledger)
    volume = start.volume_bytes(environ)
    need = size + PAGE * (len(files) + 8) + (start.leave_bytes or 0)
    if need > volume:
        raise CapturedDataError(
            f"{root}: {size} bytes in {len(files)} files"
            + (f" and {start.leave_bytes} bytes left free" if start.leave_bytes else "")
            + f" do not fit a volume of {volume} bytes (set start_from.volume_size)"
        )
    return Captured(data_dir=str(root), files=files, size=size, ledger=ledger,
                    kill_switch_active=kill_switch_active, orders=orders, volume_bytes=volume,
                    leave_bytes=start.leave_bytes)


__all__ = ["Captured", "CapturedDataError", "SeedOrder", "StartFrom", "inspect"]
