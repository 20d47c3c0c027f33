"""The traced engine process: the workload's config save through the engine's own `save_config`, then the
same server the lab image runs (`uvicorn solat_engine.api.app:create_app --factory`).

Runs in the engine's interpreter (PYTHONPATH may point at a mutant copy of the engine); chaos_lab modules
never import it. The engine API has no config endpoint, so the config save happens here, before serving,
inside the same traced process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import uvicorn
from solat_engine.config import EngineConfig, save_config


def main() -> int:
    data_dir = Path(os.environ["SOLAT_DATA_DIR"])
    config = EngineConfig(
        max_order_qty=float(os.environ.get("CRASHSTATES_MAX_ORDER_QTY", "500")),
        snapshot_interval=float(os.environ.get("SOLAT_SNAPSHOT_INTERVAL", "0.5")),
    )
    save_config(data_dir / "config.json", config)
    uvicorn.run(
        "solat_engine.api.app:create_app",
        factory=True,
        host="127.0.0.1",
        port=int(os.environ["SOLAT_PORT"]),
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
