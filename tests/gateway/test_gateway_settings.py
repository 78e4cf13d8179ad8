"""The gateway's configuration is read once, from the settings: flag > environment
(ECOBASIN_GATEWAY_*) > ecobasin.toml (gateway_*) > default."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ecobasin.cli.gateway import gateway_config
from ecobasin.settings import load_settings


def test_toml_environment_and_flags_in_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "ecobasin.toml"
    toml.write_text(
        'gateway_host = "0.0.0.0"\ngateway_port = 9300\ngateway_retention_days = 0\n'
        "gateway_max_unframed_kib = 32\ngateway_lenient = true\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ECOBASIN_CONFIG", str(toml))
    monkeypatch.setenv("ECOBASIN_GATEWAY_PORT", "9400")  # the environment beats the file
    config = gateway_config(load_settings(db=tmp_path / "x.duckdb", gateway_max_connections=7))
    assert (config.host, config.port, config.max_connections) == ("0.0.0.0", 9400, 7)
    assert config.retention is None and config.max_unframed_bytes == 32 * 1024
    assert config.lenient and config.raw_log == tmp_path / "x.duckdb.rawlog"


def test_defaults_are_those_of_the_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECOBASIN_CONFIG", str(tmp_path / "none.toml"))
    config = gateway_config(load_settings(db=tmp_path / "x.duckdb"))
    assert (config.host, config.port, config.fsync) == ("127.0.0.1", 9212, "batch")
    assert config.retention == timedelta(days=30) and config.segment_bytes == 64 * 1024 * 1024


def test_a_bad_value_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECOBASIN_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("ECOBASIN_GATEWAY_SEGMENT_MIB", "0")
    with pytest.raises(ValueError, match="gateway_segment_mib"):
        load_settings()
