"""``ecobasin hj212 decode``: every peer sample gets its documented verdict (hj212 brief §9.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.ingest.hj212 import encode_frame
from needs import SHARED, require

SAMPLES = SHARED / "testdata" / "hj212" / "peer_samples.jsonl"
runner = CliRunner()


def load_samples() -> list[dict[str, Any]]:
    require(SAMPLES, "the peer HJ 212 samples")
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line]


def documented_verdict(sample: dict[str, Any]) -> bool:
    """Valid iff CRC valid (Appendix A), CR LF, length ≤ 1024 and matching, DataTime N14 (表4)."""
    datatime = sample["expect"].get("CP", {}).get("DataTime", "")
    return (
        sample["crc_valid"]
        and sample["length_matches_bytes"]
        and sample["declared_length"] <= 1024
        and sample["packet"].endswith("\r\n")
        and len(datatime) in (0, 14)
    )


def run_decode(tmp_path: Path, lines: list[str], *args: str) -> list[dict[str, Any]]:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["hj212", "decode", str(path), *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.shared_data
def test_every_peer_sample_gets_its_documented_verdict(tmp_path: Path) -> None:
    samples = load_samples()
    assert len(samples) == 22
    out = run_decode(tmp_path, [json.dumps(s, ensure_ascii=False) for s in samples])
    assert len(out) == len(samples)
    for sample, got in zip(samples, out, strict=True):
        assert got["valid"] is documented_verdict(sample), (sample["source"], got["reason"])
        assert got["message"] == sample["expect"], sample["source"]
        assert (got["reason"] is None) is got["valid"]
        if not sample["crc_valid"]:
            assert got["response"] is None and "CRC" in got["reason"]
    assert sum(g["valid"] for g in out) == 12


@pytest.mark.shared_data
def test_peer_sample_replies(tmp_path: Path) -> None:
    samples = load_samples()
    out = run_decode(tmp_path, [json.dumps(s, ensure_ascii=False) for s in samples])
    for sample, got in zip(samples, out, strict=True):
        expect = sample["expect"]
        if got["valid"] and expect["flag_A_ack_required"] and expect["CN"] != "1062":
            resp = got["response"]
            assert resp.startswith("##") and resp.endswith("\r\n")
            assert (
                f"QN={expect['QN']};ST=91;CN=9014;PW={expect['PW']};MN={expect['MN']};Flag=4;"
                in resp
            )
        else:
            assert got["response"] is None


@pytest.mark.shared_data
def test_lenient_accepts_17_digit_datatime(tmp_path: Path) -> None:
    samples = [s for s in load_samples() if len(s["expect"]["CP"].get("DataTime", "")) == 17]
    out = run_decode(tmp_path, [json.dumps(s) for s in samples], "--lenient")
    assert [g["valid"] for g in out] == [
        documented_verdict(s)
        or (s["crc_valid"] and s["packet"].endswith("\r\n") and s["declared_length"] <= 1024)
        for s in samples
    ]


def test_non_numeric_value_and_malformed_lines(tmp_path: Path) -> None:
    from ecobasin.ingest.hj212 import encode_message

    packet = encode_message(
        {"QN": "20240101000000000", "ST": "32", "CN": "2011", "PW": "1", "MN": "D", "Flag": "5"},
        {"DataTime": "20240101000000", "w01018-Rtd": "3O.5", "w01018-Flag": "N"},
    ).decode()
    lines = ["not json", json.dumps({"nopacket": 1}), json.dumps({"packet": packet}), "[1]"]
    out = run_decode(tmp_path, lines)
    assert len(out) == 4
    assert [o["valid"] for o in out] == [False] * 4
    assert "w01018-Rtd" in out[2]["reason"]
    assert out[2]["message"]["CP"]["w01018-Rtd"] == "3O.5"
    assert out[2]["response"] is not None and ";CN=9014;" in out[2]["response"]


def test_stdin(tmp_path: Path) -> None:
    from ecobasin.ingest.hj212 import encode_message

    packet = encode_message({"ST": "32", "CN": "2011", "PW": "1", "MN": "D"}).decode()
    result = runner.invoke(
        app, ["hj212", "decode", "-"], input=json.dumps({"packet": packet}) + "\n"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "valid": True,
        "reason": None,
        "message": {
            "ST": "32",
            "CN": "2011",
            "PW": "1",
            "MN": "D",
            "flag_version_bits": None,
            "flag_A_ack_required": False,
            "CP": {},
        },
        "response": None,
    }


def _packet(data_time: str) -> str:
    segment = (
        "QN=20240101120000001;ST=22;CN=2011;PW=123456;MN=DEV001;Flag=5;"
        f"CP=&&DataTime={data_time};a21026-Rtd=12.5,a21026-Flag=N&&"
    )
    return encode_frame(segment).decode("ascii")


def test_decode_says_what_the_gateway_decides_about_datatime(tmp_path: Path) -> None:
    """The shared session decision: a DataTime outside the window is logged, never acked
    (docs/gateway.md, "DataTime window"), so decode shows silence and says why."""
    lines = [json.dumps({"packet": _packet(t)}) for t in ("20240101120000", "20990101120000")]
    plausible, future = run_decode(tmp_path, lines)
    assert plausible["valid"] and plausible["response"] is not None
    assert "refused" not in plausible
    assert future["response"] is None
    assert future["refused"].startswith("implausible_datatime")


def test_the_window_comes_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOBASIN_GATEWAY_DATATIME_EARLIEST", "2025-01-01T00:00:00")
    (old,) = run_decode(tmp_path, [json.dumps({"packet": _packet("20240101120000")})])
    assert old["response"] is None and "implausible_datatime" in old["refused"]
