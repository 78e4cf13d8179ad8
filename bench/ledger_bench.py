"""Ledger speed (issue 8 "Proof"): hash-chained, durable appends beside plain inserts into the
same database in the same run, and ``verify`` of a large ledger beside a plain scan.

    python bench/ledger_bench.py [--quick] [--threads 32] [--verify-entries 1000000]

Durability is on everywhere: every append and every plain insert is answered after its COMMIT
(DuckDB writes and syncs its WAL at COMMIT). Measured in one run, on fresh DuckDB files:

* single appends, one caller after another: ``store.ledger.redeem`` (idempotency key, balance
  check, hash chain, head) against a plain one-row ``INSERT`` with its own commit;
* concurrent single appends: ``--threads`` callers, each with its own cursor, each request
  answered after the group commit that holds it, against the same callers doing plain one-row
  ``INSERT`` + commit;
* batch import: ``store.ledger.append`` of 10,000 drafts per call against a plain Arrow
  ``INSERT … SELECT`` of the same rows;
* verify of a ledger of ``--verify-entries`` entries (batched hashing) against a plain scan
  reading the same columns into Python the same way (so the difference is the hashing), and
  the per-entry verify it replaced (timed on the first 200,000 entries, scaled).

Floor (issue 8): ≥ 2,000 entries/s appended with the chain and durability on.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from ecobasin.carbon import ledger as core
from ecobasin.carbon.ledger import Draft
from ecobasin.store import Store, ledger_tables
from ecobasin.store import ledger as store_ledger

FLOOR = 2_000
T0 = datetime(2024, 3, 1, tzinfo=UTC)
console = Console(stderr=True)
console_out = Console(width=120)


def _timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _earns(n: int, accounts: int, prefix: str) -> list[Draft]:
    """``n`` earn drafts spread over ``accounts`` accounts (1,000 points each)."""
    return [
        Draft("earn", f"p{i % accounts}", Decimal(1000), Decimal("1234.5"), f"{prefix}{i}",
              T0 + timedelta(seconds=i), behaviour="metro", evidence_source="metro_ticket",
              detail='{"quantity":"12","unit":"km"}')
        for i in range(n)
    ]  # fmt: skip


def _open(folder: Path, name: str, accounts: int) -> Store:
    store = Store(folder / f"{name}.duckdb")
    frame = pd.DataFrame(
        {"account_id": [f"p{i}" for i in range(accounts)], "kind": "person",
         "name": [f"Person {i}" for i in range(accounts)], "city_code": 510100}
    )  # fmt: skip
    frame.loc[len(frame)] = ["shop", "merchant", "Shop", 510100]
    store_ledger.add_accounts(store, frame)
    store_ledger.append(store, _earns(accounts, accounts, "seed"))  # every account has points
    store.con.execute("CREATE TABLE plain_entries AS SELECT * FROM ledger_entries LIMIT 0")
    return store


def _plain_rows(n: int, prefix: str) -> list[list[Any]]:
    chained = core.chain(0, core.GENESIS, _earns(n, 1000, prefix), T0)
    return [list(e.as_row().values()) for e in chained]


PLAIN_INSERT = f"INSERT INTO plain_entries VALUES ({', '.join('?' * len(core.COLUMNS))})"


def _plain_single(store: Store, rows: list[list[Any]]) -> None:
    for row in rows:
        store.con.execute(PLAIN_INSERT, row)  # autocommit: one durable transaction per row


def _redeem_one(store: Store, i: int, accounts: int, prefix: str) -> None:
    store_ledger.redeem(store, f"p{i % accounts}", Decimal(1), "shop", key=f"{prefix}{i}")


def _in_threads(store: Store, threads: int, per: int, work: Callable[[Store, int], None]) -> None:
    def run(t: int) -> None:
        view = store.reader()
        try:
            for j in range(per):
                work(view, t * per + j)
        finally:
            view.con.close()

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def appends(folder: Path, single: int, threads: int, per: int, batch: int) -> list[dict[str, Any]]:
    """Rates [entries/s] of the ledger's appends and the plain inserts, same database."""
    accounts = 1000
    store = _open(folder, "appends", accounts)
    rows: list[dict[str, Any]] = []

    def row(what: str, n: int, ledger_s: float, plain_s: float) -> None:
        rows.append({"what": what, "entries": n, "ledger_per_s": n / ledger_s,
                     "plain_per_s": n / plain_s})  # fmt: skip

    plain = _plain_rows(single, "ps")
    plain_s = _timed(lambda: _plain_single(store, plain))
    ledger_s = _timed(lambda: [_redeem_one(store, i, accounts, "rs") for i in range(single)])
    row("single appends, one caller 逐条追加", single, ledger_s, plain_s)

    n = threads * per
    plain = _plain_rows(n, "pc")
    plain_s = _timed(
        lambda: _in_threads(store, threads, per, lambda v, i: v.con.execute(PLAIN_INSERT, plain[i]))
    )
    ledger_s = _timed(
        lambda: _in_threads(store, threads, per, lambda v, i: _redeem_one(v, i, accounts, "rc"))
    )
    row(f"concurrent single appends, {threads} callers (group commit) 并发追加", n, ledger_s,
        plain_s)  # fmt: skip

    drafts = _earns(batch, accounts, "bi")
    table = ledger_tables._arrow(core.chain(10**9, core.GENESIS, _earns(batch, accounts, "pb"), T0))
    chunk = 10_000

    def plain_batch() -> None:
        for start in range(0, batch, chunk):
            with store.transaction(), store._registered(plain_in=table.slice(start, chunk)):
                store.con.execute("INSERT INTO plain_entries SELECT * FROM plain_in")

    plain_s = _timed(plain_batch)
    ledger_s = _timed(
        lambda: [store_ledger.append(store, drafts[s : s + chunk]) for s in range(0, batch, chunk)]
    )
    row("batch import, 10,000 per call 批量导入", batch, ledger_s, plain_s)
    check = store_ledger.verify(store)
    assert check.ok, check.reason
    store.close()
    return rows


def verifying(folder: Path, entries: int, old_entries: int) -> list[dict[str, Any]]:
    """Seconds to verify ``entries`` (batched hashing) beside a plain scan of them."""
    store = _open(folder, "verify", 1000)
    chunk = 50_000
    build_s = _timed(
        lambda: [
            store_ledger.append(store, _earns(min(chunk, entries - s), 1000, f"v{s}-"))
            for s in range(0, entries - 1000, chunk)
        ]
    )
    total = store_ledger.head(store)[0]
    store.close()
    store = Store(folder / "verify.duckdb")

    def scan() -> None:  # the rows verify reads, as it reads them, without hashing
        sql = store_ledger._hashed_select()
        for batch in store.con.sql(sql).to_arrow_reader(100_000):
            columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
            for _ in zip(*columns.values(), strict=True):
                pass

    scan_s = _timed(scan)
    result: list[core.Verification] = []
    verify_s = _timed(lambda: result.append(store_ledger.verify(store)))
    assert result[0].ok and result[0].checked == total, result[0]
    # the part of verify that checks no running balance is ever negative (issue 13, item 3)
    balance_s = _timed(lambda: store_ledger._first_negative(store))

    def per_entry() -> None:
        for count, entry in enumerate(store_ledger.iter_entries(store), start=1):
            core.entry_hash(entry)
            if count >= old_entries:
                return

    old_s = _timed(per_entry) * total / min(old_entries, total)
    store.close()
    return [
        {"what": "build by batch import 批量导入构建", "entries": total, "seconds": build_s},
        {"what": "plain scan of the same columns 同列普通扫描", "entries": total, "seconds": scan_s},
        {"what": "verify, batched hashing 批量哈希校验", "entries": total, "seconds": verify_s},
        {"what": "of which: no negative balance 其中余额检查", "entries": total,
         "seconds": balance_s},
        {"what": f"verify, per entry (from {min(old_entries, total):,}) 逐条校验", "entries": total,
         "seconds": old_s},
    ]  # fmt: skip


def report(append_rows: list[dict[str, Any]], verify_rows: list[dict[str, Any]]) -> None:
    table = Table(title="ledger appends, durable (COMMIT before answer) 账本追加")
    for column in ("what", "entries", "ledger /s", "plain insert /s", "ledger ÷ plain", "floor"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for r in append_rows:
        ok = "ok" if r["ledger_per_s"] >= FLOOR else "BELOW"
        table.add_row(r["what"], f"{r['entries']:,}", f"{r['ledger_per_s']:,.0f}",
                      f"{r['plain_per_s']:,.0f}", f"{r['ledger_per_s'] / r['plain_per_s']:.2f}",
                      f"≥ {FLOOR:,} {ok}")  # fmt: skip
    console_out.print(table)
    console_out.print(
        "One caller appending one entry at a time waits for a COMMIT each time: bounded by the "
        "disk's sync, like the plain one-row commits beside it; the floor is for the ledger's "
        "throughput (concurrent callers, batch import)."
    )
    scan = next(r["seconds"] for r in verify_rows if "scan" in r["what"])
    table = Table(title="verify beside a plain scan 校验与普通扫描")
    for column in ("what", "entries", "seconds", "entries /s", "÷ plain scan"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for r in verify_rows:
        table.add_row(r["what"], f"{r['entries']:,}", f"{r['seconds']:.2f}",
                      f"{r['entries'] / r['seconds']:,.0f}", f"{r['seconds'] / scan:.1f}×")  # fmt: skip
    console_out.print(table)
    console_out.print(f"load average 负载 (1, 5, 15 min): {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute)")
    parser.add_argument("--threads", type=int, default=40)
    parser.add_argument("--verify-entries", type=int, default=None)
    args = parser.parse_args()
    single, per, batch = (500, 50, 50_000) if args.quick else (2_000, 200, 200_000)
    entries = args.verify_entries or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        console.print("appends …")
        append_rows = appends(Path(tmp), single, args.threads, per, batch)
        console.print(f"verify of {entries:,} entries …")
        verify_rows = verifying(Path(tmp), entries, min(entries, 200_000))
    report(append_rows, verify_rows)
    out = Path(__file__).parent / "out" / f"ledger_bench_{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"appends": append_rows, "verify": verify_rows}, indent=1))
    console.print(f"written {out}")


if __name__ == "__main__":
    main()
