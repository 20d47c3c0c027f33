"""Unit tests of engine configuration: environment, atomic save, loud failure on a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solat_engine.config import ConfigError, EngineConfig, load_config, save_config


def test_defaults_match_interface_table() -> None:
    cfg = EngineConfig.from_env({})
    assert cfg.data_dir == Path("./data")
    assert cfg.broker_url == "http://127.0.0.1:8700"
    assert (cfg.broker_connect_timeout, cfg.broker_read_timeout) == (1.0, 3.0)
    assert cfg.kill_switch_token is None
    assert (cfg.snapshot_interval, cfg.balance_max_age, cfg.max_order_qty) == (5.0, 300.0, 1000.0)


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    env = {
        "SOLAT_DATA_DIR": str(tmp_path),
        "SOLAT_BROKER_URL": "http://toxiproxy:8666",
        "SOLAT_BROKER_CONNECT_TIMEOUT": "0.5",
        "SOLAT_BROKER_READ_TIMEOUT": "2",
        "SOLAT_KILL_SWITCH_TOKEN": "tok",
        "SOLAT_SNAPSHOT_INTERVAL": "1",
        "SOLAT_BALANCE_MAX_AGE": "60",
        "SOLAT_MAX_ORDER_QTY": "10",
    }
    cfg = EngineConfig.from_env(env)
    assert cfg.data_dir == tmp_path and cfg.broker_url == "http://toxiproxy:8666"
    assert (cfg.broker_connect_timeout, cfg.broker_read_timeout, cfg.kill_switch_token) == (0.5, 2.0, "tok")
    assert (cfg.snapshot_interval, cfg.balance_max_age, cfg.max_order_qty) == (1.0, 60.0, 10.0)
    assert cfg.ledger_dir == tmp_path / "ledger"
    assert cfg.kill_switch_file == tmp_path / "kill_switch.json"
    assert cfg.snapshot_file == tmp_path / "snapshots" / "positions.json"
    assert cfg.config_file == tmp_path / "config.json"
    assert cfg.bars_dir == tmp_path / "bars" and cfg.artefacts_dir == tmp_path / "artefacts"


def test_empty_token_is_unset() -> None:
    assert EngineConfig.from_env({"SOLAT_KILL_SWITCH_TOKEN": ""}).kill_switch_token is None


@pytest.mark.parametrize(
    ("var", "value"), [("SOLAT_MAX_ORDER_QTY", "lots"), ("SOLAT_SNAPSHOT_INTERVAL", "-1")]
)
def test_bad_env_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        EngineConfig.from_env({var: value})


def test_save_load_round_trip_without_secret(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    cfg = EngineConfig(max_order_qty=7, kill_switch_token="secret")
    save_config(path, cfg)
    assert "secret" not in path.read_text()
    loaded = load_config(path)
    assert loaded.max_order_qty == 7 and loaded.kill_switch_token is None
    assert loaded == cfg.model_copy(update={"kill_switch_token": None})


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.json") == EngineConfig()


def test_partial_file_names_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    save_config(path, EngineConfig())
    full = path.read_bytes()
    path.write_bytes(full[:25])
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "byte offset 25" in str(info.value)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (json.dumps({"max_order_qty": -1}), "max_order_qty"),
        (json.dumps({"unknown_field": 1}), "unknown_field"),
        (json.dumps([1, 2]), "JSON object"),
        ("", "byte offset 0"),
    ],
)
def test_invalid_file_names_file(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_non_utf8_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"broker_url": "\xff"}')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)
    path.unlink()
    path.mkdir()
    with pytest.raises(ConfigError, match="unreadable"):
        load_config(path)
