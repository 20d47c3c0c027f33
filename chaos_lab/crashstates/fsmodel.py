"""What the disk holds after each recorded operation: the names (directory entries) and every file's bytes,
both as the running process saw them and as far as they were made durable.

Durability follows POSIX as the engine's own rule states it (solat_engine/durable.py): fsync(file) makes the
file's bytes durable; a create, rename, unlink or mkdir is durable once its directory is fsynced. Everything
else is "unsynced" and may be lost by a power loss (states.py decides how).
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field

from chaos_lab.crashstates.models import TraceOp

DIR = "dir"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parent(path: str) -> str:
    return posixpath.dirname(path) or "."


@dataclass
class Inode:
    durable: bytes = b""
    current: bytes = b""
    unsynced: list[TraceOp] = field(default_factory=list)  # writes/truncates since the last fsync


Namespace = dict[str, int | str]  # path -> inode number, or DIR


def apply_dir_op(ns: Namespace, op: TraceOp) -> None:
    """One directory-entry operation on a namespace (the same rules for current and durable names)."""
    assert op.path is not None
    if op.kind == "create":
        ns[op.path] = op.inode if op.inode is not None else 0
    elif op.kind == "mkdir":
        ns[op.path] = DIR
    elif op.kind == "rename":
        entry = ns.pop(op.path, None)
        if entry is not None and op.dest is not None:
            ns[op.dest] = entry
    elif op.kind == "unlink":
        ns.pop(op.path, None)
        prefix = op.path + "/"
        for name in [n for n in ns if n.startswith(prefix)]:
            del ns[name]


def dir_op_parents(op: TraceOp) -> set[str]:
    dirs = {parent(op.path)} if op.path else set()
    if op.dest:
        dirs.add(parent(op.dest))
    return dirs


def apply_data_op(content: bytes, op: TraceOp) -> bytes:
    if op.kind == "write":
        assert op.offset is not None and op.data is not None
        data = bytes.fromhex(op.data)
        if len(content) < op.offset:
            content += b"\0" * (op.offset - len(content))
        return content[: op.offset] + data + content[op.offset + len(data) :]
    if op.kind in ("truncate", "open_trunc"):
        size = op.offset or 0
        return content[:size] + b"\0" * max(0, size - len(content))
    return content


DIR_OPS = frozenset({"create", "mkdir", "rename", "unlink"})
DATA_OPS = frozenset({"write", "truncate", "open_trunc"})


class DiskModel:
    """Replays ops one at a time. `names` is what the process sees; `durable_names` what survives a power
    loss for sure; `pending` the directory ops not yet covered by an fsync of their directory."""

    def __init__(self) -> None:
        self.inodes: dict[int, Inode] = {}
        self.names: Namespace = {".": DIR}
        self.durable_names: Namespace = {".": DIR}
        self.pending: list[TraceOp] = []
        # Whole versions of each replaced file: content when renamed into place or when its writer closed it.
        self.versions: dict[str, set[str]] = {}

    def step(self, op: TraceOp) -> None:
        if op.kind in DIR_OPS:
            if op.kind == "create" and op.inode is not None:
                self.inodes[op.inode] = Inode()
            apply_dir_op(self.names, op)
            self.pending.append(op)
            if op.kind == "rename" and op.dest and op.inode in self.inodes:
                self._version(op.dest, self.inodes[op.inode].current)
        if op.kind in DATA_OPS and op.inode in self.inodes:
            node = self.inodes[op.inode]
            node.current = apply_data_op(node.current, op)
            node.unsynced.append(op)
        if op.kind == "close" and op.path and op.inode in self.inodes:
            self._version(op.path, self.inodes[op.inode].current)
        if op.kind == "fsync":
            if op.is_dir and op.path is not None:
                self._sync_dir(op.path)
            elif op.inode in self.inodes:
                node = self.inodes[op.inode]
                node.durable, node.unsynced = node.current, []

    def _version(self, path: str, content: bytes) -> None:
        self.versions.setdefault(path, set()).add(sha(content))

    def _sync_dir(self, directory: str) -> None:
        keep = []
        for op in self.pending:
            if directory in dir_op_parents(op):
                apply_dir_op(self.durable_names, op)
            else:
                keep.append(op)
        self.pending = keep

    def current_files(self) -> dict[str, bytes | None]:
        return {
            p: (None if v == DIR else self.inodes[v].current if v in self.inodes else b"")
            for p, v in self.names.items()
            if p != "."
        }  # type: ignore[index]
