"""A Ctrl+C that lands in a DuckDB statement is recognised as one (``store.database.interrupted``)
so the importer and the migrations stop instead of counting a failed write and going on (found
by the interrupt test under load: an interrupted write was taken for a failed file, the demo
went on building)."""

from __future__ import annotations

import threading
import time

import duckdb

from ecobasin.store.database import interrupted


def test_a_real_interrupted_query_is_recognised() -> None:
    con = duckdb.connect()
    caught: list[BaseException] = []

    def long_query() -> None:
        try:
            con.execute("SELECT count(*) FROM range(10000000000) a, range(10) b").fetchall()
        except BaseException as error:  # what DuckDB raises for the interrupt
            caught.append(error)

    worker = threading.Thread(target=long_query)
    worker.start()
    time.sleep(0.3)
    con.interrupt()
    worker.join(timeout=30)
    assert caught, "the query was not interrupted"
    assert interrupted(caught[0])
    assert not interrupted(duckdb.ConstraintException("duplicate key"))
    assert not interrupted(ValueError("Query"))
