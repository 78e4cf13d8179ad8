"""What users see, written to files so two versions of the code can be compared with ``diff -r``.

Runs ``ecobasin evaluate``, ``ecobasin water evaluate|rank|compensation`` and ``ecobasin carbon
inventory report|peak`` on a database, then starts ``ecobasin serve`` on it (a real server
process) and saves the map API (one day, one hour), the water and carbon API answers and the
OpenAPI document's paths. The code run is whichever ``ecobasin`` package ``python`` imports, so
``PYTHONPATH=/tmp/old/src`` runs an older checkout with the same virtualenv::

    python bench/layout_outputs.py DB OUT_DIR
    diff -r BEFORE_DIR AFTER_DIR

Not a timing: it prints the number of files written and the load average.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CLI = [sys.executable, "-c", "from ecobasin.cli import main; main()"]
COMMANDS = {
    "evaluate_2025.json": ["evaluate", "--period", "2025", "--format", "json"],
    "evaluate_2025-07.json": ["evaluate", "--period", "2025-07", "--format", "json"],
    "water_evaluate_2025.json": ["water", "evaluate", "--period", "2025", "--format", "json"],
    "water_evaluate_2025-08.json": ["water", "evaluate", "--period", "2025-08", "--format", "json"],
    "water_rank_2025.json": ["water", "rank", "--period", "2025", "--format", "json"],
    "water_compensation_2025.json": [
        "water",
        "compensation",
        "--period",
        "2025",
        "--format",
        "json",
    ],
    "carbon_report.json": ["carbon", "inventory", "report", "--format", "json"],
    "carbon_peak.json": ["carbon", "peak", "--format", "json"],
}
API = {
    "map_day.json": "/api/v1/map?day=2025-07-15&lang=en",
    "map_hour.json": "/api/v1/map?hour=2025-03-02T10:00:00%2B08:00",
    "map_latest.json": "/api/v1/map",
    "api_water_evaluation.json": "/api/v1/water/evaluation?period=2025",
    "api_water_rank.json": "/api/v1/water/rank?period=2025-06&base=2025-05",
    "api_water_compensation.json": "/api/v1/water/compensation?period=2025",
    "api_water_calendar.json": "/api/v1/water/sections/{section}/calendar",
    "api_carbon_emissions.json": "/api/v1/carbon/emissions?by=scope",
    "api_carbon_inventories.json": "/api/v1/carbon/inventories",
    "api_carbon_factors.json": "/api/v1/carbon/factors?activity=diesel",
    "api_carbon_peak.json": "/api/v1/carbon/peak",
    "api_carbon_sinks.json": "/api/v1/carbon/sinks",
    "api_rankings.json": "/api/v1/rankings?period=2025",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}\n".encode() + error.read()


def _wait(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped with {server.returncode}")
        try:
            _get(port, "/api/v1/health")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer")


def _pretty(data: bytes) -> bytes:
    try:
        # keys stay in the order sent: a changed order shows in the diff too
        return json.dumps(json.loads(data), ensure_ascii=False, indent=1).encode()
    except ValueError:
        return data


def main(db: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ECOBASIN_DB": str(db)}
    for name, args in COMMANDS.items():
        done = subprocess.run([*CLI, *args], env=env, capture_output=True, check=False)
        (out / name).write_bytes(_pretty(done.stdout) + f"\nexit {done.returncode}\n".encode())
    port = _free_port()
    server = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait(port, server)
        sections = json.loads(_get(port, "/api/v1/water/sections"))["items"]
        for name, path in API.items():
            url = path.format(section=sections[0]["site_id"])
            (out / name).write_bytes(_pretty(_get(port, url)))
        paths = sorted(json.loads(_get(port, "/openapi.json"))["paths"])
        (out / "openapi_paths.txt").write_text("\n".join(paths) + "\n")
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"{len(list(out.iterdir()))} files in {out}; load average {os.getloadavg()}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
