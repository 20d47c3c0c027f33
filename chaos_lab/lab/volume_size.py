"""The size of the engine's data volume (a tmpfs): read by the Docker module that mounts it and by a captured
start that must fit it, so it lives beside the lab rather than above it."""

from __future__ import annotations

import re

VOLUME_SIZE_VAR, VOLUME_SIZE_DEFAULT = "LAB_DATA_SIZE", "64m"


def parse_size(text: str) -> int:
    """Bytes in a tmpfs `size=` value (`64m`, `1g`, `65536k`, `1048576`), in binary units as the kernel
    reads it."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmgKMG]?)\s*", text)
    if match is None:
        raise ValueError(f"not a tmpfs size: {text!r}")
    return int(match.group(1)) * 1024 ** " kmg".index(match.group(2).lower() or " ")
