"""A Ctrl+C that lands in a DuckDB statement is recognised as one (``store.database.interrupted``)
so the importer and the migrations stop instead of counting a failed write and going on (found
by the interrupt test under load: an interrupted write was taken for a failed file, the demo
went on building)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ecobasin.store import Store
from ecobasin.store.database import interrupted
from store_files import new_store_file


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


class _InterruptedFrame(pd.DataFrame):
    """A frame whose columns cannot be read: pressing Ctrl+C while DuckDB reads them."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:  # what DuckDB's copy of the frame is made of
        return _InterruptedFrame

    def __getitem__(self, key: object) -> pd.Series:
        raise KeyboardInterrupt


def _duckdb_error_of_python_interrupt() -> duckdb.Error:
    try:
        duckdb.connect().register("frame", _InterruptedFrame({"a": [1, 2]}))
    except duckdb.Error as error:
        return error
    raise AssertionError("DuckDB read the frame without calling pandas")


def test_an_interrupt_in_python_code_duckdb_called_is_recognised() -> None:
    # The CI run of 2026-12-06: Ctrl+C during the demo's catalog sync landed in pandas code that
    # DuckDB ran while registering a frame; DuckDB raised a plain duckdb.Error carrying the
    # traceback and the demo printed it instead of "interrupted 已中断".
    error = _duckdb_error_of_python_interrupt()
    assert not isinstance(error, duckdb.InterruptException)
    assert interrupted(error)

    def stop(x: int) -> int:
        raise KeyboardInterrupt

    con = duckdb.connect()
    con.create_function("stop", stop)
    try:
        con.execute("SELECT stop(1)").fetchall()
    except duckdb.Error as udf_error:
        assert interrupted(udf_error)
    else:
        raise AssertionError("the UDF did not raise")
    # a column or a message merely naming it is no interrupt
    try:
        con.execute("SELECT KeyboardInterrupt").fetchall()
    except duckdb.Error as binder_error:
        assert not interrupted(binder_error)


def test_a_store_write_interrupted_in_pandas_raises_keyboard_interrupt(tmp_path: Path) -> None:
    store = Store(new_store_file(tmp_path / "s.duckdb"))
    try:
        with pytest.raises(KeyboardInterrupt), store._registered(f=_InterruptedFrame({"a": [1]})):
            pass
        # the store stays usable, and the name is not left registered
        assert store.con.execute("SELECT 1").fetchall() == [(1,)]
        with store._registered(f=pd.DataFrame({"a": [1]})):
            assert store.con.execute("SELECT a FROM f").fetchall() == [(1,)]
    finally:
        store.close()
