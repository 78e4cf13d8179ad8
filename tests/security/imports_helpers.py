"""Files for the import-robustness tests (issue 13 item 18), made from the real CNEMC snapshot."""

from __future__ import annotations

from pathlib import Path

SNAPSHOT = "cnemc_snapshot_2022-01-01T00_chengdu_deyang.csv"


def live_text(shared_data: Path, hour: int, rows: int | None = None) -> str:
    """The snapshot's live-feed rows moved to ``hour`` of 2022-01-01 (CST label)."""
    lines = (shared_data / SNAPSHOT).read_text(encoding="utf-8").splitlines()
    body = [
        f"2022-01-01T{hour:02d}:00:00" + line[len("2022-01-01T00:00:00") :] for line in lines[1:]
    ]
    return "\n".join([lines[0], *body[:rows]]) + "\n"


def write_live(shared_data: Path, folder: Path, name: str, hour: int) -> Path:
    path = folder / name
    path.write_text(live_text(shared_data, hour), encoding="utf-8")
    return path
