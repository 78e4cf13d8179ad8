"""What users see, written to files so two versions of the code can be compared with ``diff -r``.

Runs ``ecobasin evaluate``, ``ecobasin water evaluate|rank|compensation`` and ``ecobasin carbon
inventory report|peak`` on a database, creates an admin API token, then starts ``ecobasin
serve`` on it (a real server process) and saves: the public read API (map, AQI, rankings,
cities, sites, parameters, health, water, carbon, ledger), the restricted one with the token
(alarms, limits, outlets, rejected records, ledger accounts), the answers of a fixed sequence
of writes (sites created, patched, refused; invalidations; observations with a bad row), the
``/live`` page and the whole OpenAPI document. Run it on two copies of one database: the
writes then meet the same state. The code run is whichever ``ecobasin`` package ``python``
imports, so ``PYTHONPATH=/tmp/old/src`` runs an older checkout with the same virtualenv::

    python bench/layout_outputs.py DB OUT_DIR [--benches]
    diff -r BEFORE_DIR AFTER_DIR

``--benches`` also runs every bench that writes a JSON file (forecast on the Chengdu data,
ledger, water, gateway; from the ``bench/`` folder of the checkout imported, quick sizes) and
saves its JSON without the fields that measure time or speed (seconds, rates, latencies, load,
dates), so what the benches computed is compared too.

Not a timing: it prints the number of files written and the load average.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

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
    "api_rankings_month.json": "/api/v1/rankings?period=2025-07&by=pm25&lang=en",
    "api_evaluation.json": "/api/v1/evaluation?period=2025Q3",
    "api_city_summary.json": "/api/v1/cities/510100/summary?period=2025",
    "api_aqi_levels.json": "/api/v1/aqi/levels?lang=en",
    "api_aqi_latest.json": "/api/v1/aqi/latest?scope=city",
    "api_aqi_hourly.json": "/api/v1/aqi/hourly?scope=site&start=2025-03-02T00:00&end=2025-03-02T06:00&limit=50",
    "api_aqi_daily.json": "/api/v1/aqi/daily?scope=city&start=2025-07-01&end=2025-07-10",
    "api_aqi_daily.csv": "/api/v1/aqi/daily?scope=city&start=2025-07-01&end=2025-07-03&format=csv",
    "api_cities.json": "/api/v1/cities?lang=en",
    "api_cities_all.json": "/api/v1/cities?all=true",
    "api_sites.json": "/api/v1/sites?city=510100",
    "api_sites.geojson": "/api/v1/sites?city=510600&format=geojson",
    "api_parameters.json": "/api/v1/parameters?domain=air",
    "api_health.json": "/api/v1/health?lang=en",
    "api_observations.json": "/api/v1/observations?site=DM0101&start=2025-03-02T00:00&end=2025-03-02T03:00",
    "api_ledger_summary.json": "/api/v1/ledger/summary",
    "api_ledger_rules.json": "/api/v1/ledger/rules",
    "api_unknown_city.json": "/api/v1/rankings?period=2025&city=Atlantis",
}
#: Restricted answers, asked with the admin token.
API_AUTH = {
    "auth_alarms.json": "/api/v1/alarms?limit=20",
    "auth_limits.json": "/api/v1/limits?site=DEMO-EM-01",
    "auth_sites_outlets.json": "/api/v1/sites?kind=gas_outlet",
    "auth_rejected.json": "/api/v1/rejected?limit=20",
    "auth_ledger_accounts.json": "/api/v1/ledger/accounts",
    "auth_users.json": "/api/v1/users",
    "auth_me.json": "/api/v1/me",
}
_SITE = {"site_id": "LAYOUT-01", "kind": "micro_station", "city_code": 510100,
         "name_zh": "布局检查", "lon": 104.06, "lat": 30.66}  # fmt: skip
#: Writes in order (each sees the state the ones before it left): method, path, body.
WRITES: list[tuple[str, str, str, Any]] = [
    ("write_01_site_created.json", "POST", "/api/v1/sites", _SITE),
    ("write_02_site_again.json", "POST", "/api/v1/sites", _SITE),
    ("write_03_site_far.json", "POST", "/api/v1/sites", {**_SITE, "site_id": "LAYOUT-02", "lon": 90.0}),
    ("write_04_site_city.json", "POST", "/api/v1/sites", {**_SITE, "site_id": "LAYOUT-03", "city_code": 999999}),
    ("write_05_patch.json", "PATCH", "/api/v1/sites/LAYOUT-01", {"name_en": "Layout check"}),
    ("write_06_patch_null.json", "PATCH", "/api/v1/sites/LAYOUT-01", {"kind": None}),
    ("write_07_patch_missing.json", "PATCH", "/api/v1/sites/NOPE", {"name_en": "x"}),
    ("write_08_observations.json", "POST", "/api/v1/observations", {"rows": [
        {"site_id": "DM0101", "parameter": "PM2.5", "time": "2025-03-02T10:00", "value": 35},
        {"site_id": "DM0101", "parameter": "PM2.5", "time": "2025-03-02T11:00", "value": "abc"},
        {"site_id": "DM0101", "parameter": "NOPE", "time": "2025-03-02T11:00", "value": 1},
    ], "source": "layout"}),
    ("write_09_invalidate.json", "POST", "/api/v1/observations/invalidate", {
        "site_id": "DM0101", "parameters": ["PM2.5"], "start": "2025-03-02T09:00",
        "end": "2025-03-02T10:00", "flag": "M", "reason": "layout check"}),
    ("write_10_invalidate_flag.json", "POST", "/api/v1/observations/invalidate", {
        "site_id": "DM0101", "parameters": ["PM2.5"], "start": "2025-03-02T09:00",
        "end": "2025-03-02T10:00", "flag": "N", "reason": "layout check"}),
    ("write_11_invalidate_order.json", "POST", "/api/v1/observations/invalidate", {
        "site_id": "DM0101", "parameters": ["pm2.5"], "start": "2025-03-02T11:00",
        "end": "2025-03-02T10:00", "flag": "M", "reason": "layout check"}),
    ("write_12_invalidate_site.json", "POST", "/api/v1/observations/invalidate", {
        "site_id": "NOPE", "parameters": ["PM2.5"], "start": "2025-03-02T09:00",
        "end": "2025-03-02T10:00", "flag": "M", "reason": "layout check"}),
    ("write_13_retire.json", "POST", "/api/v1/sites/LAYOUT-01/retire", {"reason": "layout check", "on": "2025-12-01"}),
    ("write_14_map_after.json", "GET", "/api/v1/map?hour=2025-03-02T10:00", None),
]  # fmt: skip
PAGES = {"page_live.html": "/live", "page_live_bad.html": "/live?refresh=1"}
#: Benches that write a JSON file: the file's name prefix and the arguments (quick sizes).
BENCHES = {
    "forecast_bench": ["--only", "chengdu"],
    "ledger_bench": ["--quick", "--verify-entries", "20000"],
    "water_bench": ["--sections", "200", "--auto", "100", "--json"],
    "gateway_bench": ["--quick", "--devices", "50"],
}
#: Of a bench whose every other figure is a count within a timed window (how much got through
#: depends on the load), only these top-level keys are compared.
BENCH_KEEP = {"gateway_bench": ("args", "codec")}
#: Keys that measure time or speed (or when and where it ran), or follow the clock (the gateway
#: bench's codec frames start 90 days before now, so their mean size moves with the hour of the
#: run; for a fixed start both versions make the same frames byte for byte): not compared.
TIMING_KEY = re.compile(
    r"(^|_)(s|ms|seconds|when|time|times|load|load_before|load_after|cpus|rate|rates|per_s|"
    r"latency|latencies|p50|p90|p95|p99|throughput|speed|ratio|elapsed|wall|steps|mean_bytes)($|_)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(
    port: int, path: str, token: str | None = None, method: str = "GET", body: Any = None
) -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method
    )
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


def _stable(value: Any) -> Any:
    """``value`` without the keys that measure time or speed (see :data:`TIMING_KEY`)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if not TIMING_KEY.search(str(k))}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _bench_outputs(out: Path) -> None:
    """Run each JSON-writing bench of the imported checkout; keep its JSON's stable part."""
    import ecobasin

    bench = Path(ecobasin.__file__).resolve().parents[2] / "bench"
    for name, args in BENCHES.items():
        before = set((bench / "out").glob(f"{name}_*.json"))
        done = subprocess.run(
            [sys.executable, str(bench / f"{name}.py"), *args],
            capture_output=True, check=False, cwd=bench.parent,
        )  # fmt: skip
        written = sorted(set((bench / "out").glob(f"{name}_*.json")) - before)
        if not written:
            text = f"no JSON written; exit {done.returncode}\n{done.stderr.decode()[-2000:]}"
            (out / f"bench_{name}.txt").write_text(text)
            continue
        found = json.loads(written[-1].read_text())
        keep = BENCH_KEEP.get(name)
        stable = _stable({k: v for k, v in found.items() if keep is None or k in keep})
        (out / f"bench_{name}.json").write_text(json.dumps(stable, ensure_ascii=False, indent=1))


def _token(env: dict[str, str]) -> str:
    """A new admin API token (printed once on stdout by ``ecobasin token create``)."""
    args = ["token", "create", "--user", "admin", "layout-outputs"]
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, check=True)
    return done.stdout.decode().split()[-1]


def _served(port: int, token: str, out: Path) -> None:
    """The answers of the running server, written to ``out``."""
    sections = json.loads(_get(port, "/api/v1/water/sections"))["items"]
    for name, path in API.items():
        url = path.format(section=sections[0]["site_id"])
        (out / name).write_bytes(_pretty(_get(port, url)))
    for name, path in API_AUTH.items():
        (out / name).write_bytes(_pretty(_get(port, path, token)))
    for name, method, path, body in WRITES:
        (out / name).write_bytes(_pretty(_get(port, path, token, method, body)))
    for name, path in PAGES.items():
        (out / name).write_bytes(_get(port, path))
    document = json.loads(_get(port, "/openapi.json"))
    (out / "openapi_paths.txt").write_text("\n".join(sorted(document["paths"])) + "\n")
    (out / "openapi.json").write_text(json.dumps(document, ensure_ascii=False, indent=1))


def main(db: Path, out: Path, benches: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ECOBASIN_DB": str(db)}
    for name, args in COMMANDS.items():
        done = subprocess.run([*CLI, *args], env=env, capture_output=True, check=False)
        (out / name).write_bytes(_pretty(done.stdout) + f"\nexit {done.returncode}\n".encode())
    token = _token(env)
    port = _free_port()
    server = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait(port, server)
        _served(port, token, out)
    finally:
        server.terminate()
        server.wait(timeout=60)
    if benches:
        _bench_outputs(out)
    print(f"{len(list(out.iterdir()))} files in {out}; load average {os.getloadavg()}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), "--benches" in sys.argv[3:])
