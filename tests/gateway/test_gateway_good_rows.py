"""The writer's good rows keep the write's factorization of site, parameter and period
(``GoodRows.codes``, docs/gateway-scaling.md "tenth pass"): their Arrow table holds the same
rows as one that factorizes them again, and a site only the flagged rows had (left in the
dictionary, no row pointing at it) does not trouble the store's key lookup, which refuses
unknown ids."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ecobasin.gateway.writer import GoodRows
from ecobasin.store import keyed_table

SITES = ["S1", "S2", "S3", None]
PARAMETERS = ["PM2.5", "NO2", "O3"]
PERIODS = ["instant", "1h", "10min"]
FLAGS = ["N", "D", None]


def _pick(choices: Sequence[str | None], picks: np.ndarray) -> np.ndarray:
    return np.array([choices[i % len(choices)] for i in picks], dtype=object)


def _plain(column: pa.ChunkedArray) -> list[object]:
    whole = column.combine_chunks()
    plain = whole.dictionary_decode() if pa.types.is_dictionary(whole.type) else whole
    return list(plain.to_pylist())


rows_and_mask = st.integers(min_value=0, max_value=60).flatmap(
    lambda n: st.tuples(
        *(arrays(np.int64, n, elements=st.integers(0, 11)) for _ in range(4)),
        arrays(np.bool_, n),
    )
)


@settings(max_examples=25, deadline=None)
@given(rows_and_mask)
def test_the_kept_codes_give_the_table_a_second_factorization_gives(
    drawn: tuple[np.ndarray, ...],
) -> None:
    site_picks, parameter_picks, period_picks, flag_picks, clean = drawn
    columns = {
        "site_id": _pick(SITES, site_picks),
        "parameter": _pick(PARAMETERS, parameter_picks),
        "period": _pick(PERIODS, period_picks),
    }
    micros = np.arange(len(clean), dtype=np.int64) * 60_000_000
    values = np.linspace(0.0, 1.0, len(clean))
    flags = _pick(FLAGS, flag_picks)[clean]
    kept = {name: column[clean] for name, column in columns.items()}
    factorized = [pd.factorize(column) for column in columns.values()]
    reused = GoodRows(
        **kept,
        micros=micros[clean],
        value=values[clean],
        flag=flags,
        codes=tuple((codes[clean], uniques) for codes, uniques in factorized),
    )
    again = GoodRows(**kept, micros=micros[clean], value=values[clean], flag=flags)

    table, reference = reused.table(7), again.table(7)
    assert table.schema == reference.schema
    assert [_plain(c) for c in table.columns] == [_plain(c) for c in reference.columns]
    for name in ("site_id", "parameter"):  # every kept value is in the dictionary
        dictionary = table[name].combine_chunks().dictionary.to_pylist()
        assert {v for v in kept[name] if v is not None} <= set(dictionary)


def test_a_site_only_a_flagged_row_had_does_not_reach_the_key_lookup() -> None:
    site_id = np.array(["S1", "UNKNOWN", "S1"], dtype=object)
    parameter = np.array(["PM2.5", "PM2.5", "NO2"], dtype=object)
    period = np.array(["1h", "1h", "1h"], dtype=object)
    clean = np.array([True, False, True])
    factorized = [pd.factorize(column) for column in (site_id, parameter, period)]
    rows = GoodRows(
        site_id=site_id[clean],
        parameter=parameter[clean],
        period=period[clean],
        micros=np.array([0, 3_600_000_000], dtype=np.int64),
        value=np.array([1.0, 2.0]),
        flag=np.array([None, None], dtype=object),
        codes=tuple((codes[clean], uniques) for codes, uniques in factorized),
    )
    keyed = keyed_table(rows.table(1), {"S1": 4}, {"PM2.5": 1, "NO2": 2})
    assert keyed["site_key"].to_pylist() == [4, 4]
    assert keyed["parameter_key"].to_pylist() == [1, 2]
