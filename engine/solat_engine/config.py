"""Engine configuration: environment variables (docs/interfaces.md) and an optional `config.json`.

An invalid or half-written config file must stop the run with the file named: silently falling back to
defaults could trade with limits nobody chose.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

from solat_engine import reach
from solat_engine.durable import atomic_write_bytes

ENV_PREFIX = "SOLAT_"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file or variable (and where in it)."""


class EngineConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("./data")
    broker_url: str = "http://127.0.0.1:8700"
    broker_connect_timeout: PositiveFloat = 1.0
    broker_read_timeout: PositiveFloat = 3.0
    # A secret: taken from the environment only, never written to config.json.
    kill_switch_token: str | None = Field(default=None, exclude=True)
    snapshot_interval: PositiveFloat = 5.0
    balance_max_age: PositiveFloat = 300.0
    max_order_qty: PositiveFloat = 1000.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EngineConfig:
        """Build from SOLAT_* variables (unset ones keep their defaults); ConfigError names a bad variable."""
        env = os.environ if environ is None else environ
        # An empty variable counts as unset (an empty kill-switch token must not be a valid token).
        values = {name: env.get(ENV_PREFIX + name.upper(), "") for name in cls.model_fields}
        values = {name: value for name, value in values.items() if value != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            var = ENV_PREFIX + str(err["loc"][0]).upper() if err["loc"] else "environment"
            raise ConfigError(f"invalid {var}: {err['msg']}") from exc

    # The data directory layout (docs/interfaces.md), in one place.
    @property
    def ledger_dir(self) -> Path:
        return self.data_dir / "ledger"

    @property
    def kill_switch_file(self) -> Path:
        return self.data_dir / "kill_switch.json"

    @property
    def snapshot_file(self) -> Path:
        return self.data_dir / "snapshots" / "positions.json"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "config.json"

    @property
    def bars_dir(self) -> Path:
        return self.data_dir / "bars"

    @property
    def artefacts_dir(self) -> Path:
        return self.data_dir / "artefacts"


def save_config(path: Path, cfg: EngineConfig) -> None:
    """Atomic replace: a crash or a full disk leaves the previous config intact."""
    try:
        atomic_write_bytes(Path(path), cfg.model_dump_json(indent=2).encode() + b"\n")
    except OSError as exc:
        reach.emit("config_write_failed", errno=exc.errno)
        raise


def load_config(path: Path) -> EngineConfig:
    """The config in `path`; defaults if there is no file; ConfigError naming the file if it is unusable."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return EngineConfig()
    except OSError as exc:
        raise ConfigError(f"config file {path} unreadable: {exc}") from exc
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 (byte offset {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid JSON at byte offset {exc.pos} "
            f"(line {exc.lineno} column {exc.colno}): {exc.msg}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object, not {type(data).__name__}")
    try:
        return EngineConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "config"
        raise ConfigError(f"config file {path}: invalid {field}: {err['msg']}") from exc
