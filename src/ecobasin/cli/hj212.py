"""HJ 212 tools: ``ecobasin hj212 decode FILE`` checks packets the way the gateway would.

Reads JSON lines with a ``packet`` field; writes one JSON line per input line to stdout:
``{"valid", "reason", "message", "response"}`` (HJ 212-2017 §6.3, Appendix A, §6.5).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ecobasin.ingest.hj212 import CrcMode, inspect_packet

__all__ = ["app", "decode", "decode_line"]

app = typer.Typer(
    help="HJ 212-2017 protocol tools 污染物在线监控数据传输标准.", no_args_is_help=True
)


def decode_line(
    line: str, crc_mode: CrcMode = CrcMode.HJ212, lenient: bool = False
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

    Returns
    -------
    dict
        ``{"valid": bool, "reason": str | None, "message": dict, "response": str | None}``;
        a malformed line gives ``valid`` false with the reason.
    """
    try:
        record = json.loads(line)
    except ValueError as exc:
        return _bad(f"input line is not JSON: {exc}")
    if not isinstance(record, dict) or not isinstance(record.get("packet"), str):
        return _bad("input line has no string 'packet' field")
    packet: str = record["packet"]
    return inspect_packet(packet.encode("utf-8"), crc_mode, lenient=lenient).to_json()


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
    for line in lines:
        if not line.strip():
            continue
        typer.echo(json.dumps(decode_line(line, crc_mode, lenient), ensure_ascii=False))
