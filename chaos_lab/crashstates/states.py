"""Crash states: for every crash point (just after each op) the disk as a crash there could leave it.

- process crash: every completed call survives (the kernel keeps the page cache): one state per point.
- power loss: per file, the bytes since its last fsync are dropped, torn at a 512 B sector or 4 KiB page
  boundary inside a write, or kept (prefix order: a later unsynced write never survives without the earlier
  ones); per directory op not yet covered by an fsync of its directory: done or undone (an op that needs an
  earlier undone op on the same name, or its undone mkdir, is undone too).

A state's id encodes its choices ("power:<point>:<c1>.<c2>..."), so `--state ID` rebuilds it without
re-running the sampling. Contents are kept once per distinct blob (sha256).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from chaos_lab.crashstates.fsmodel import DIR, DiskModel, Namespace, apply_data_op, apply_dir_op, parent, sha
from chaos_lab.crashstates.models import Choice, CrashState, Model, TraceOp

SECTOR, PAGE = 512, 4096
MAX_TEARS_PER_WRITE = 4
MAX_DIR_OPS_ENUMERATED = 12


@dataclass
class DataItem:
    inode: int
    path: str
    first_op: TraceOp
    options: list[tuple[str, str]]  # (outcome label, sha of the content)


@dataclass
class Point:
    """Everything needed to build any state at one crash point, by reference to blobs."""

    index: int
    current: dict[str, str | None]  # process-crash state: path -> sha (None: a directory)
    durable_names: Namespace
    durable_sha: dict[int, str]  # inode -> sha of its durable bytes
    data_items: list[DataItem]
    dir_ops: list[TraceOp]
    dir_assignments: list[tuple[bool, ...]] | None  # valid done/undone vectors (None: too many to list)
    versions: dict[str, list[str]]
    orders: list[str]

    @property
    def power_possible(self) -> int:
        n = 1
        for item in self.data_items:
            n *= len(item.options)
        dirs = len(self.dir_assignments) if self.dir_assignments is not None else 2 ** len(self.dir_ops)
        return n * dirs


@dataclass
class Enumeration:
    points: list[Point]
    blobs: dict[str, bytes] = field(default_factory=dict)


def _tears(before: bytes, op: TraceOp, rng: random.Random) -> list[tuple[int, bytes]]:
    """Contents a write torn at a sector boundary could leave: (bytes of the write kept, content)."""
    assert op.offset is not None and op.data is not None
    start, data = op.offset, bytes.fromhex(op.data)
    cuts = [b for b in range((start // SECTOR + 1) * SECTOR, start + len(data), SECTOR)]
    if len(cuts) > MAX_TEARS_PER_WRITE:  # page boundaries first, then a seeded sample of sector ones
        pages = [c for c in cuts if c % PAGE == 0][:MAX_TEARS_PER_WRITE]
        rest = [c for c in cuts if c % PAGE != 0]
        cuts = sorted(pages + rng.sample(rest, max(0, MAX_TEARS_PER_WRITE - len(pages))))
    out = []
    for cut in cuts:
        kept = cut - start
        partial = op.model_copy(update={"data": data[:kept].hex()})
        out.append((kept, apply_data_op(before, partial)))
    return out


def _data_options(
    durable: bytes, unsynced: list[TraceOp], rng: random.Random, blobs: dict[str, bytes]
) -> list[tuple[str, str]]:
    def keep(label: str, content: bytes) -> tuple[str, str]:
        digest = sha(content)
        blobs.setdefault(digest, content)
        return label, digest

    options = [keep("dropped", durable)]
    content = durable
    for i, op in enumerate(unsynced):
        if op.kind == "write":
            for kept, torn in _tears(content, op, rng):
                unit = (
                    "4 KiB page"
                    if (op.offset or 0) + kept == 0 or ((op.offset or 0) + kept) % PAGE == 0
                    else "512 B sector"
                )
                options.append(
                    keep(f"torn at a {unit} boundary in #{op.index} (kept {kept} of {op.size} bytes)", torn)
                )
        content = apply_data_op(content, op)
        last = i == len(unsynced) - 1
        options.append(keep("kept" if last else f"kept through #{op.index}", content))
    seen: set[str] = set()
    unique = []
    for label, digest in options:
        if digest not in seen:
            seen.add(digest)
            unique.append((label, digest))
    return unique


def _dir_assignments(ops: list[TraceOp]) -> list[tuple[bool, ...]] | None:
    """Every done/undone vector where no op is done while an earlier op it needs is undone."""
    if len(ops) > MAX_DIR_OPS_ENUMERATED:
        return None
    needs: list[set[int]] = []
    for j, op in enumerate(ops):
        names = {n for n in (op.path, op.dest) if n}
        deps = set()
        for i in range(j):
            earlier = ops[i]
            earlier_names = {n for n in (earlier.path, earlier.dest) if n}
            if names & earlier_names or (
                earlier.kind == "mkdir" and any(parent(n) == earlier.path for n in names)
            ):
                deps.add(i)
        needs.append(deps)
    return [
        v
        for v in itertools.product((False, True), repeat=len(ops))
        if all(not v[j] or all(v[i] for i in needs[j]) for j in range(len(ops)))
    ]


def enumerate_points(ops: list[TraceOp], seed: int) -> Enumeration:
    """One pass over the ops: for each crash point, the process state and the power-loss choice space."""
    rng = random.Random(seed)
    disk = DiskModel()
    blobs: dict[str, bytes] = {}
    points = []
    orders: list[str] = []
    for op in ops:
        disk.step(op)
        if op.kind == "broker_send" and op.client_order_id:
            orders.append(op.client_order_id)
        current = {}
        for path, content in disk.current_files().items():
            if content is None:
                current[path] = None
            else:
                digest = sha(content)
                blobs.setdefault(digest, content)
                current[path] = digest
        named = {v for v in [*disk.names.values(), *disk.durable_names.values()] if isinstance(v, int)}
        items = []
        for number in sorted(
            named,
            key=lambda n: (
                disk.inodes[n].unsynced[0].index if n in disk.inodes and disk.inodes[n].unsynced else -1
            ),
        ):
            node = disk.inodes.get(number)
            if node is None or not node.unsynced:
                continue
            path = next(
                (p for p, v in disk.names.items() if v == number),
                next((p for p, v in disk.durable_names.items() if v == number), "?"),
            )
            items.append(
                DataItem(
                    number, path, node.unsynced[0], _data_options(node.durable, node.unsynced, rng, blobs)
                )
            )
        durable_sha = {}
        for number, node in disk.inodes.items():
            digest = sha(node.durable)
            blobs.setdefault(digest, node.durable)
            durable_sha[number] = digest
        points.append(
            Point(
                index=op.index,
                current=current,
                durable_names=dict(disk.durable_names),
                durable_sha=durable_sha,
                data_items=items,
                dir_ops=list(disk.pending),
                dir_assignments=_dir_assignments(disk.pending),
                versions={p: sorted(v) for p, v in disk.versions.items()},
                orders=list(orders),
            )
        )
    return Enumeration(points, blobs)


def state_key(files: dict[str, str | None], orders: list[str]) -> str:
    return hashlib.sha256(json.dumps([sorted(files.items()), orders]).encode()).hexdigest()[:24]


def process_state(point: Point) -> CrashState:
    return CrashState(
        id=f"process:{point.index}",
        model="process",
        point=point.index,
        files=point.current,
        orders=point.orders,
        key=state_key(point.current, point.orders),
    )


def power_state(point: Point, vector: tuple[int, ...]) -> CrashState:
    """The power-loss state for one choice vector: one digit per data item, then one per directory op."""
    n = len(point.data_items)
    data_choice, dir_choice = vector[:n], vector[n:]
    ns: Namespace = dict(point.durable_names)
    choices = []
    for op, done in zip(point.dir_ops, dir_choice, strict=True):
        if done:
            apply_dir_op(ns, op)
        where = op.path + (f" -> {op.dest}" if op.dest else "")
        choices.append(
            Choice(
                item=f"dirop:#{op.index}",
                op_index=op.index,
                syscall=op.syscall,
                path=where,
                outcome=f"{op.kind} {'done' if done else 'undone'}",
            )
        )
    content = dict(point.durable_sha)
    for item, pick in zip(point.data_items, data_choice, strict=True):
        label, digest = item.options[pick]
        content[item.inode] = digest
        choices.append(
            Choice(
                item=f"data:{item.path}",
                op_index=item.first_op.index,
                syscall=item.first_op.syscall,
                path=item.path,
                outcome=label,
            )
        )
    files: dict[str, str | None] = {}
    for path, entry in ns.items():
        if path == ".":
            continue
        if parent(path) != "." and ns.get(parent(path)) != DIR:
            continue  # its directory's mkdir was undone
        files[path] = None if entry == DIR else content.get(entry, sha(b""))  # type: ignore[call-overload]
    state_id = f"power:{point.index}:" + ".".join(map(str, vector))
    return CrashState(
        id=state_id,
        model="power",
        point=point.index,
        choices=choices,
        files=files,
        orders=point.orders,
        key=state_key(files, point.orders),
    )


def power_vectors(point: Point) -> Iterator[tuple[int, ...]]:
    """Every valid choice vector at a point (data choices x valid directory assignments)."""
    data = [range(len(item.options)) for item in point.data_items]
    dirs = point.dir_assignments
    if dirs is None:
        dirs = list(itertools.product((False, True), repeat=len(point.dir_ops)))
    for d in itertools.product(*data):
        for a in dirs:
            yield (*d, *map(int, a))


def extremes(point: Point) -> list[tuple[int, ...]]:
    """Everything unsynced lost, and everything kept: the two states most likely to break an engine."""
    n_dirs = len(point.dir_ops)
    lost = (0,) * len(point.data_items) + (0,) * n_dirs
    kept = tuple(len(i.options) - 1 for i in point.data_items) + (1,) * n_dirs
    return [lost] if lost == kept else [lost, kept]


def select_states(
    points: list[Point], models: list[Model], max_states: int, seed: int
) -> tuple[dict[Model, int], list[CrashState]]:
    """(possible states per model, the states to check): every state when they fit in `max_states`, else
    every process state first, then the power extremes of each point, then a seeded sample of the rest."""
    rng = random.Random(seed)
    possible: dict[Model, int] = {}
    chosen: list[CrashState] = []
    budget = max_states
    if "process" in models:
        possible["process"] = len(points)
        picks = points if len(points) <= budget else sorted(rng.sample(points, budget), key=lambda p: p.index)
        chosen += [process_state(p) for p in picks]
        budget -= len(picks)
    if "power" in models:
        possible["power"] = sum(p.power_possible for p in points)
        if possible["power"] <= budget:
            chosen += [power_state(p, v) for p in points for v in power_vectors(p)]
        else:
            first = [(p, v) for p in points for v in extremes(p)]
            if len(first) > budget:
                first = rng.sample(first, budget)
            picked = {(p.index, v) for p, v in first}
            rest_budget = budget - len(first)
            pool = [(p, v) for p in points for v in power_vectors(p) if (p.index, v) not in picked]
            extra = rng.sample(pool, min(rest_budget, len(pool)))
            both = sorted(first + extra, key=lambda pv: (pv[0].index, pv[1]))
            chosen += [power_state(p, v) for p, v in both]
    return possible, chosen


def rebuild_state(points: list[Point], state_id: str) -> CrashState:
    """The state named by an id from a report (ValueError naming what is wrong with the id)."""
    parts = state_id.split(":")
    try:
        model, index = parts[0], int(parts[1])
        point = points[index]
    except (IndexError, ValueError) as exc:
        raise ValueError(
            f"state id {state_id!r}: expected process:<point> or power:<point>:<choices> "
            f"with a point in 0..{len(points) - 1}"
        ) from exc
    if model == "process" and len(parts) == 2:
        return process_state(point)
    if model == "power" and len(parts) == 3:
        vector = tuple(int(c) for c in parts[2].split(".")) if parts[2] else ()
        if vector not in set(power_vectors(point)):
            raise ValueError(f"state id {state_id!r}: not a valid choice vector at point {index}")
        return power_state(point, vector)
    raise ValueError(f"state id {state_id!r}: expected process:<point> or power:<point>:<choices>")
