"""HJ 212 tools: ``ecobasin hj212 decode FILE`` checks packets the way the gateway would.

Reads JSON lines with a ``packet`` field; writes one JSON line per input line to stdout:
``{"valid", "reason", "message", "response"}`` (HJ 212-2017 §6.3, Appendix A, §6.5).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from ecobasin.gateway.datatime import DataTimeWindow, data_time_of
from ecobasin.gateway.session import decide
from ecobasin.ingest.hj212 import CrcMode, inspect_packet
from ecobasin.ingest.hj212.codec import read_head
from ecobasin.settings import load_settings

__all__ = ["app", "decode", "decode_line"]

app = typer.Typer(
    help="HJ 212-2017 protocol tools 污染物在线监控数据传输标准.", no_args_is_help=True
)


def decode_line(
    line: str,
    crc_mode: CrcMode = CrcMode.HJ212,
    lenient: bool = False,
    window: DataTimeWindow | None = None,
    received_at: datetime | None = None,
) -> dict[str, Any]:
    """Decode one input line (a JSON object with a ``packet`` string) into the output object.

    Parameters
    ----------
    line : str
        One JSON line.
    crc_mode : CrcMode
        CRC mode (HJ 212-2017 Appendix A by default).
    lenient : bool
        Accept 17-digit times where 表4 says N14.
    window : DataTimeWindow or None
        The plausible DataTimes (the gateway's settings; default 2000-01-01 to one day ahead).
    received_at : datetime or None
        The arrival time the window is measured from (default: now).

    Returns
    -------
    dict
        ``{"valid": bool, "reason": str | None, "message": dict, "response": str | None}``;
        a malformed line gives ``valid`` false with the reason. A packet the gateway would
        log but not answer (DataTime outside the window) has ``response`` None and
        ``refused`` saying why.
    """
    try:
        record = json.loads(line)
    except ValueError as exc:
        return _bad(f"input line is not JSON: {exc}")
    if not isinstance(record, dict) or not isinstance(record.get("packet"), str):
        return _bad("input line has no string 'packet' field")
    packet: str = record["packet"]
    data = packet.encode("utf-8")
    answer = inspect_packet(data, crc_mode, lenient=lenient).to_json()
    if answer["response"] is not None:  # framing and CRC passed: the front's own decision
        answer.update(_decision(data, window or DataTimeWindow(), received_at))
    return answer


def _decision(data: bytes, window: DataTimeWindow, received_at: datetime | None) -> dict[str, Any]:
    """The gateway's answer to a packet whose framing and CRC passed, without a registry
    (:func:`ecobasin.gateway.session.decide`): silence for an implausible DataTime."""
    segment = data.rstrip(b"\r\n")[6:-4]
    decision = decide(
        read_head(segment),
        None,
        data_time_of(segment),
        received_at or datetime.now(UTC),
        window,
        check_device=False,
    )
    if decision.code == "implausible_datatime":
        return {"response": None, "refused": f"implausible_datatime: {decision.reason}"}
    return {}


def _bad(reason: str) -> dict[str, Any]:
    return {"valid": False, "reason": reason, "message": {}, "response": None}


@app.command()
def decode(
    file: Annotated[
        str, typer.Argument(help="JSON-lines file with a 'packet' field, or '-' for stdin.")
    ],
    crc_mode: Annotated[
        CrcMode,
        typer.Option(
            "--crc-mode", help="CRC algorithm (Appendix A unless a device is known to differ)."
        ),
    ] = CrcMode.HJ212,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Accept 17-digit DataTime (milliseconds).")
    ] = False,
) -> None:
    """Check each packet (framing, length, CRC, fields, values) and print one JSON line per line."""
    if file == "-":
        lines = sys.stdin.read().splitlines()
    else:
        path = Path(file)
        if not path.is_file():
            typer.echo(f"no such file: {file}", err=True)
            raise typer.Exit(2)
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    config = load_settings()
    window = DataTimeWindow(
        config.gateway_datatime_earliest, timedelta(seconds=config.gateway_datatime_ahead_s)
    )
    for line in lines:
        if not line.strip():
            continue
        answer = decode_line(line, crc_mode, lenient, window)
        typer.echo(json.dumps(answer, ensure_ascii=False))
