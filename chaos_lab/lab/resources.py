"""The engine's resources, read from outside it: what slow damage (a leak, a file left behind, an idle writer)
shows in, and what a short scenario never sees.

A sample reads /proc/1 of the engine container (the engine is its pid 1: RSS, threads, open descriptors) and
lists the files on the data volume through the datavol sidecar (path, size, modification time). The lab reads
these itself rather than asking the engine: a leaking engine's own account of its memory is the last thing to
trust. The `sample_resources` step records one as a `sampler` op in the history; `resources_bounded` and
`idle_quiet` judge the samples.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import ENGINE, query_data
from chaos_lab.models import Op

MAX_LISTED = 200  # files listed per sample; counts and bytes always cover every file

# One exec: RSS and threads from status, then the number of open descriptors.
_PROC = 'grep -E "^(VmRSS|Threads):" /proc/1/status && ls /proc/1/fd | wc -l'
# Every regular file on the volume as "size mtime path", the first MAX_LISTED of them, then "total N BYTES"
# over all of them (the sidecar's root is read-only: no temporary file).
_FILES = (
    'L=$(find /data -xdev -type f -printf "%s %T@ %P\\n"); '
    f'[ -n "$L" ] && printf "%s\\n" "$L" | head -n {MAX_LISTED}; '
    'printf "%s" "$L" | awk \'NF {n++; s+=$1} END {print "total", n+0, s+0}\''
)


class ResourceSample(BaseModel):
    """The engine's resources at one moment (a `sampler` op's value in the history)."""

    rss_kib: int = Field(ge=0)
    threads: int = Field(ge=0)
    fds: int = Field(ge=0)
    data_files: int = Field(ge=0)  # regular files on the data volume
    data_bytes: int = Field(ge=0)  # their sizes summed (listed or not)
    files: dict[str, str] = Field(default_factory=dict)  # path -> "size mtime", at most MAX_LISTED


class SampleError(RuntimeError):
    """The engine's /proc or the data volume could not be read as expected."""


def parse_proc(text: str) -> tuple[int, int, int]:
    """(rss_kib, threads, fds) from the `_PROC` command's output."""
    fields: dict[str, int] = {}
    last: int | None = None
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "Threads") and rest.split() and rest.split()[0].isdigit():
            fields[key] = int(rest.split()[0])
        elif line.strip().isdigit():
            last = int(line.strip())
    if "VmRSS" not in fields or "Threads" not in fields or last is None:
        raise SampleError(f"/proc/1 of the engine read as {text.strip()[:200]!r}")
    return fields["VmRSS"], fields["Threads"], last


def parse_files(text: str) -> tuple[int, int, dict[str, str]]:
    """(file count, bytes of every file, path -> "size mtime") from the `_FILES` command's output."""
    files: dict[str, str] = {}
    totals: tuple[int, int] | None = None
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if parts[0] == "total" and len(parts) == 3:
            totals = int(parts[1]), int(parts[2])
        elif len(parts) == 3:
            files[parts[2]] = f"{parts[0]} {parts[1]}"
    if totals is None:
        raise SampleError(f"the data volume's listing read as {text.strip()[:200]!r}")
    return totals[0], totals[1], files


def sample(lab: Lab) -> ResourceSample:
    """One sample of the running engine and its volume (two execs, ~0.1 s)."""
    rc, out = lab.exec(ENGINE, ["sh", "-c", _PROC], idempotent=True)
    if rc != 0 or out is None:
        raise SampleError(f"reading /proc/1 in {ENGINE} failed (rc={rc}): {(out or '').strip()[:200]}")
    rss, threads, fds = parse_proc(out)
    count, size, files = parse_files(query_data(lab, ["sh", "-c", _FILES]))
    return ResourceSample(
        rss_kib=rss, threads=threads, fds=fds, data_files=count, data_bytes=size, files=files
    )


def samples_in(history: Sequence[Op]) -> list[tuple[float, ResourceSample]]:
    """The resource samples of a history, with their history times, in order."""
    return [
        (op.time, ResourceSample.model_validate(op.value))
        for op in history
        if op.process == "sampler" and op.f == "resources" and op.type == "ok"
    ]


__all__ = ["MAX_LISTED", "ResourceSample", "SampleError", "parse_files", "parse_proc", "sample", "samples_in"]
