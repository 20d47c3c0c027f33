"""`python -m solat_engine`: serve the API with uvicorn on SOLAT_HOST:SOLAT_PORT."""

from __future__ import annotations

import os
import sys

import uvicorn

from solat_engine.api.app import config_from_environment
from solat_engine.config import ConfigError


def main() -> int:
    host = os.environ.get("SOLAT_HOST", "127.0.0.1")
    port_text = os.environ.get("SOLAT_PORT", "8080")
    try:
        port = int(port_text)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        print(f"solat_engine: invalid SOLAT_PORT {port_text!r}: expected 1-65535", file=sys.stderr)
        return 2
    try:
        config_from_environment()  # fail here with one line, not in a uvicorn traceback
    except ConfigError as exc:
        print(f"solat_engine: {exc}", file=sys.stderr)
        return 2
    uvicorn.run("solat_engine.api.app:create_app", factory=True, host=host, port=port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
