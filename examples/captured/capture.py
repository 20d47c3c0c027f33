"""Take the shipped capture: run capture.yaml's method on a running lab (`make up`) and stop with the engine
dead, then copy the engine's data directory (without the lab's filler files) and the broker's orders here,
as the person on call would find them in production. Run: `.venv/bin/python examples/captured/capture.py`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

from chaos_lab.experiment.actions import execute
from chaos_lab.experiment.context import ExperimentContext
from chaos_lab.lab.docker import PROJECT, DockerLab
from chaos_lab.experiment.plan import plan
from chaos_lab.workload.history import History
from chaos_lab.experiment.runner import Runner
from chaos_lab.scenarios.file_format import load_scenario
from chaos_lab.experiment.start_state import KNOWN

HERE = Path(__file__).resolve().parent
OUT = HERE / "disk-full-then-crash"


def main() -> int:
    lab = DockerLab(project=os.environ.get("COMPOSE_PROJECT_NAME") or PROJECT)
    scenario = load_scenario(HERE / "capture.yaml")
    runner = Runner(lab)
    seed = scenario.seeds[0]
    ctx = ExperimentContext(lab, runner.meter, lab.urls(), scenario, History(scenario.name, seed))
    runner.reset_lab(ctx)
    try:
        for step in plan(scenario, seed).steps:
            execute(ctx, step)
    finally:
        if "disk-full" in ctx.nemesis.active:
            ctx.nemesis.heal("disk-full")
        ctx.stop_bursts()
        ctx.broker.configure()
    ctx.nemesis.active.clear()  # the kill is not healed: the engine stays dead, as production's was found
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "data").mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(lab.get_files("/data"))) as tar:
        for member in tar.getmembers():
            rel = member.name.removeprefix("data").lstrip("/")
            if member.isfile() and any(p.fullmatch(rel) for p in KNOWN):
                target = OUT / "data" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                handle = tar.extractfile(member)
                assert handle is not None
                target.write_bytes(handle.read())
    orders = [o.model_dump(include={"broker_order_id", "client_order_id", "symbol", "side", "quantity",
                                    "price"}) for o in ctx.broker.orders()]
    (OUT / "broker-orders.json").write_text(json.dumps({"orders": orders}, indent=1) + "\n")
    files = sum(1 for p in (OUT / "data").rglob("*") if p.is_file())
    print(f"captured {files} files and {len(orders)} broker orders in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
