"""strace text -> typed operations: file ops under the recording root, the broker orders the engine sent and
the answers that acknowledged something to a client, in the order the calls completed.

The trace comes from `strace -f -ttt -y -yy -xx -s <big>` (record.py): -xx prints every string byte as
\\xNN, so splitting arguments on commas is safe, and -y/-yy annotate each descriptor with its path or TCP
endpoints. Calls that failed (return -1) changed nothing and are skipped. Threads share one descriptor
table (the engine is one process), so descriptors are tracked per trace, not per thread.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos_lab.crashstates.models import TraceOp

_LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
_HEX = re.compile(r"(?:\\x[0-9a-f]{2})+")
_TCP = re.compile(r"TCP:\[(?:\[?[0-9a-f.:]+\]?):(\d+)->(?:\[?[0-9a-f.:]+\]?):(\d+)\]")

FILE_CALLS = frozenset(
    {
        "open",
        "openat",
        "creat",
        "write",
        "pwrite64",
        "writev",
        "pwritev",
        "pwritev2",
        "lseek",
        "ftruncate",
        "fsync",
        "fdatasync",
        "rename",
        "renameat",
        "renameat2",
        "unlink",
        "unlinkat",
        "mkdir",
        "mkdirat",
        "close",
        "sendto",
        "sendmsg",
    }
)
STRACE_CALLS = ",".join(sorted(FILE_CALLS))


class TraceError(ValueError):
    """The trace cannot be trusted (a truncated payload, an unparsable line): names the line."""


def decode_annotation(text: str) -> str:
    return _HEX.sub(lambda m: bytes.fromhex(m.group(0).replace("\\x", "")).decode("utf-8", "replace"), text)


def decode_string(token: str) -> bytes:
    """A -xx quoted string ("\\x41\\x42") to its bytes; TraceError if strace cut it short ("..." after it)."""
    token = token.strip()
    if token.endswith("..."):
        raise TraceError("a string argument was truncated by strace (raise -s)")
    if not (token.startswith('"') and token.endswith('"')):
        raise TraceError(f"not a string argument: {token[:40]}")
    inner = token[1:-1]
    return bytes.fromhex(inner.replace("\\x", "")) if inner else b""


def split_args(text: str) -> list[str]:
    """Split a call's argument list on top-level commas (brackets, braces, quotes and <annotations> nest)."""
    args, depth, start, quoted, i = [], 0, 0, False, 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c in "[{(<":
            depth += 1
        elif c in "]})" or (c == ">" and text[i - 1] != "-"):
            depth -= 1
        elif c == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail:
        args.append(tail)
    return args


def fd_of(arg: str) -> tuple[int, str]:
    """`7<\\x2f...>` -> (7, "/...") with the annotation decoded."""
    lt = arg.find("<")
    head = arg if lt < 0 else arg[:lt]
    number = -100 if head == "AT_FDCWD" else int(head)
    return number, "" if lt < 0 else decode_annotation(arg[lt + 1 : arg.rfind(">")])


@dataclass
class Call:
    tid: int
    time: float
    name: str
    args: list[str]
    ret: str  # "7</path>", "0", "-1 ENOENT (...)"

    @property
    def failed(self) -> bool:
        return self.ret.startswith("-") or self.ret.startswith("?")

    @property
    def ret_int(self) -> int:
        return int(self.ret.split("<", 1)[0].split()[0])


def calls(lines: list[str]) -> list[Call]:
    """Stitch `<unfinished ...>` / `<... resumed>` pairs; calls in completion order."""
    pending: dict[int, str] = {}
    out: list[Call] = []
    for number, raw in enumerate(lines, 1):
        m = _LINE.match(raw)
        if not m:
            continue
        tid, ts, rest = int(m.group(1)), float(m.group(2)), m.group(3)
        if rest.startswith(("+++", "---")):
            continue
        if rest.endswith("<unfinished ...>"):
            pending[tid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        if rest.startswith("<..."):
            head = pending.pop(tid, None)
            if head is None:
                continue  # resumed without a start (tracing began mid-call)
            rest = head + rest[rest.index("resumed>") + len("resumed>") :]
        paren = rest.find("(")
        close = rest.rfind(") = ")
        if paren < 0 or close < 0:
            if rest.endswith("= ?"):
                continue  # the process exited inside the call
            raise TraceError(f"trace line {number}: cannot parse {raw[:120]!r}")
        out.append(Call(tid, ts, rest[:paren], split_args(rest[paren + 1 : close]), rest[close + 4 :]))
    return out


@dataclass
class _Fd:
    path: str  # absolute
    inode: int | None  # None: a directory
    writable: bool
    append: bool
    pos: int = 0


@dataclass
class _Stream:
    """Bytes sent on one TCP connection; complete HTTP messages are cut off the front."""

    buf: bytearray = field(default_factory=bytearray)
    start_op: TraceOp | None = None  # the op where the message at the front of buf began


def _http_message(buf: bytearray) -> tuple[str, dict[str, str], bytes, int] | None:
    """(start line, headers, body, length) of the complete HTTP message at the front of buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    length = int(headers.get("content-length", "0"))
    total = end + 4 + length
    if len(buf) < total:
        return None
    return head[0], headers, bytes(buf[end + 4 : total]), total


def _classify_answer(status: int, body: dict[str, Any]) -> tuple[str, str | None] | None:
    """Which acknowledgement a 200 answer is, from its body (docs/interfaces.md), or None (not one)."""
    if status != 200 or body.get("ok") is not True:
        return None
    if "intent_id" in body and "outcome" in body:
        return "signal", str(body["intent_id"])
    if "active" in body:
        return ("kill_switch_activate" if body["active"] else "kill_switch_reset"), None
    if {"symbol", "timeframe", "count"} <= body.keys():
        return "bars", None
    return None


class TraceParser:
    """Turns calls into TraceOps. Tracks descriptors, file sizes and names so every write has an offset and
    an inode, and reassembles HTTP messages per connection."""

    def __init__(self, root: str, engine_port: int, broker_port: int) -> None:
        self.root = root.rstrip("/")
        self.engine_port = engine_port
        self.broker_port = broker_port
        self.fds: dict[int, _Fd] = {}
        self.names: dict[str, int] = {}  # absolute path -> inode (files that exist now)
        self.sizes: dict[int, int] = {}
        self.next_inode = 1
        self.streams: dict[str, _Stream] = {}
        self.ops: list[TraceOp] = []
        self.dropped: set[int] = set()  # ids of response-start ops that turned out not to be acks

    def _rel(self, path: str) -> str | None:
        if path == self.root:
            return "."
        if path.startswith(self.root + "/"):
            return path[len(self.root) + 1 :]
        return None

    def _op(self, call: Call, kind: str, **kw: Any) -> TraceOp:
        op = TraceOp(index=len(self.ops), kind=kind, syscall=call.name, tid=call.tid, time=call.time, **kw)  # type: ignore[arg-type]
        self.ops.append(op)
        return op

    def _path_arg(self, dir_arg: str | None, path_arg: str) -> str:
        path = decode_string(path_arg).decode("utf-8", "replace")
        if path.startswith("/") or dir_arg is None:
            return path
        base = fd_of(dir_arg)[1] if "<" in dir_arg else ""
        return f"{base}/{path}"

    def feed(self, call: Call) -> None:
        if call.failed or call.name not in FILE_CALLS:
            return
        handler = getattr(self, "_on_" + call.name.rstrip("0123456789").replace("pwritev", "writev"), None)
        if handler is not None:
            handler(call)

    # -- opening and closing ---------------------------------------------------------------------------
    def _open(self, call: Call, path: str, flags: str) -> None:
        fd, resolved = fd_of(call.ret)
        path = resolved or path
        rel = self._rel(path)
        if rel is None:
            self.fds.pop(fd, None)
            return
        if "O_DIRECTORY" in flags:
            self.fds[fd] = _Fd(path, None, False, False)
            return
        writable = "O_WRONLY" in flags or "O_RDWR" in flags or call.name == "creat"
        inode = self.names.get(path)
        if inode is None:
            inode = self.names[path] = self.next_inode
            self.next_inode += 1
            self.sizes[inode] = 0
            self._op(call, "create", path=rel, inode=inode)
        elif "O_TRUNC" in flags and writable:
            self.sizes[inode] = 0
            self._op(call, "open_trunc", path=rel, inode=inode, offset=0)
        self.fds[fd] = _Fd(path, inode, writable, "O_APPEND" in flags)

    def _on_openat(self, call: Call) -> None:
        self._open(call, self._path_arg(call.args[0], call.args[1]), call.args[2])

    def _on_open(self, call: Call) -> None:
        self._open(call, self._path_arg(None, call.args[0]), call.args[1])

    def _on_creat(self, call: Call) -> None:
        self._open(call, self._path_arg(None, call.args[0]), "O_WRONLY|O_CREAT|O_TRUNC")

    def _on_close(self, call: Call) -> None:
        fd, annotation = fd_of(call.args[0])
        info = self.fds.pop(fd, None)
        self.streams.pop(annotation, None)
        if info is not None and info.inode is not None and info.writable:
            self._op(call, "close", path=self._rel(info.path), inode=info.inode)

    # -- data -------------------------------------------------------------------------------------------
    def _write(self, call: Call, fd_arg: str, data: bytes, offset: int | None) -> None:
        fd, annotation = fd_of(fd_arg)
        if annotation.startswith(("TCP:", "TCPv6:")):
            self._send(call, annotation, data)
            return
        info = self.fds.get(fd)
        if info is None or info.inode is None:
            return
        size = self.sizes[info.inode]
        if offset is None:
            offset = size if info.append else info.pos
            info.pos = offset + len(data)
        self.sizes[info.inode] = max(size, offset + len(data))
        self._op(
            call,
            "write",
            path=self._rel(info.path),
            inode=info.inode,
            offset=offset,
            size=len(data),
            data=data.hex(),
        )

    def _on_write(self, call: Call) -> None:
        self._write(call, call.args[0], decode_string(call.args[1])[: call.ret_int], None)

    def _on_pwrite(self, call: Call) -> None:
        self._write(call, call.args[0], decode_string(call.args[1])[: call.ret_int], int(call.args[3]))

    def _on_writev(self, call: Call) -> None:
        data = b"".join(decode_string(m) for m in re.findall(r'iov_base=("[^"]*"(?:\.\.\.)?)', call.args[1]))
        offset = int(call.args[3]) if call.name.startswith("pwritev") else None
        self._write(call, call.args[0], data[: call.ret_int], offset)

    def _on_sendto(self, call: Call) -> None:
        self._write(call, call.args[0], decode_string(call.args[1])[: call.ret_int], None)

    def _on_sendmsg(self, call: Call) -> None:
        data = b"".join(decode_string(m) for m in re.findall(r'iov_base=("[^"]*"(?:\.\.\.)?)', call.args[1]))
        self._write(call, call.args[0], data[: call.ret_int], None)

    def _on_lseek(self, call: Call) -> None:
        fd, _ = fd_of(call.args[0])
        if fd in self.fds:
            self.fds[fd].pos = call.ret_int

    def _on_ftruncate(self, call: Call) -> None:
        fd, _ = fd_of(call.args[0])
        info = self.fds.get(fd)
        if info is None or info.inode is None:
            return
        self.sizes[info.inode] = int(call.args[1])
        self._op(call, "truncate", path=self._rel(info.path), inode=info.inode, offset=int(call.args[1]))

    def _on_fsync(self, call: Call) -> None:
        fd, annotation = fd_of(call.args[0])
        info = self.fds.get(fd)
        path = info.path if info else annotation
        rel = self._rel(path)
        if rel is None:
            return
        is_dir = info.inode is None if info else False
        self._op(
            call, "fsync", path=rel, inode=None if is_dir else (info.inode if info else None), is_dir=is_dir
        )

    _on_fdatasync = _on_fsync

    # -- names -----------------------------------------------------------------------------------------
    def _on_rename(self, call: Call) -> None:
        if call.name == "rename":
            src, dst = self._path_arg(None, call.args[0]), self._path_arg(None, call.args[1])
        else:
            src = self._path_arg(call.args[0], call.args[1])
            dst = self._path_arg(call.args[2], call.args[3])
        rel_src, rel_dst = self._rel(src), self._rel(dst)
        if rel_src is None and rel_dst is None:
            return
        inode = self.names.pop(src, None)
        if inode is not None:
            self.names[dst] = inode
        for info in self.fds.values():
            if info.path == src:
                info.path = dst
        self._op(call, "rename", path=rel_src, dest=rel_dst, inode=inode)

    _on_renameat = _on_rename

    def _on_unlink(self, call: Call) -> None:
        path = (
            self._path_arg(None, call.args[0])
            if call.name == "unlink"
            else self._path_arg(call.args[0], call.args[1])
        )
        rel = self._rel(path)
        if rel is None:
            return
        inode = self.names.pop(path, None)
        self._op(call, "unlink", path=rel, inode=inode, is_dir=inode is None)

    _on_unlinkat = _on_unlink

    def _on_mkdir(self, call: Call) -> None:
        path = (
            self._path_arg(None, call.args[0])
            if call.name == "mkdir"
            else self._path_arg(call.args[0], call.args[1])
        )
        rel = self._rel(path)
        if rel is not None:
            self._op(call, "mkdir", path=rel, is_dir=True)

    _on_mkdirat = _on_mkdir

    # -- the network: orders sent to the broker, answers sent to clients ----------------------------------
    def _send(self, call: Call, annotation: str, data: bytes) -> None:
        m = _TCP.search(annotation)
        if m is None:
            return
        local, remote = int(m.group(1)), int(m.group(2))
        if remote == self.broker_port:
            self._request_bytes(call, annotation, data)
        elif local == self.engine_port:
            self._answer_bytes(call, annotation, data)

    def _request_bytes(self, call: Call, key: str, data: bytes) -> None:
        stream = self.streams.setdefault(key, _Stream())
        stream.buf += data
        while (msg := _http_message(stream.buf)) is not None:
            start, _headers, body, total = msg
            del stream.buf[:total]
            if start.startswith("POST /orders "):
                order = json.loads(body)
                self._op(call, "broker_send", client_order_id=str(order.get("client_order_id")), order=order)

    def _answer_bytes(self, call: Call, key: str, data: bytes) -> None:
        stream = self.streams.setdefault(key, _Stream())
        if not stream.buf:
            # The client learns the status from the first bytes: the ack point is where the answer begins.
            stream.start_op = self._op(call, "ack")
        stream.buf += data
        while (msg := _http_message(stream.buf)) is not None:
            start, _headers, body, total = msg
            del stream.buf[:total]
            op, stream.start_op = stream.start_op, None
            status = int(start.split()[1])
            try:
                parsed = json.loads(body) if body else {}
            except ValueError:
                parsed = {}
            kind = _classify_answer(status, parsed) if isinstance(parsed, dict) else None
            if op is not None:
                if kind is None:
                    self.dropped.add(id(op))
                else:
                    op.request, op.intent_id = kind
                    op.status, op.body = status, parsed
            if stream.buf:
                stream.start_op = self._op(call, "ack")

    def result(self) -> list[TraceOp]:
        kept = [
            op
            for op in self.ops
            if id(op) not in self.dropped and not (op.kind == "ack" and op.status is None)
        ]
        return [op.model_copy(update={"index": i}) for i, op in enumerate(kept)]


def parse_trace(path: Path, root: str, engine_port: int, broker_port: int) -> list[TraceOp]:
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    parser = TraceParser(root, engine_port, broker_port)
    for call in calls(lines):
        try:
            parser.feed(call)
        except (TraceError, ValueError, IndexError) as exc:
            raise TraceError(f"{path}: {call.name} at {call.time:.6f} (tid {call.tid}): {exc}") from exc
    return parser.result()
