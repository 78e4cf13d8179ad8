"""validate_observations: every kind of bad record is kept aside with a reason; empty cells are
counted as missing; nothing vanishes (stored + rejected + missing = candidates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecobasin import catalog
from ecobasin.ingest.validate import CANDIDATE_COLUMNS, as_float, validate_observations

REGISTRY = catalog.parameters()
KNOWN = {"1431A", "1432A"}
T0 = pd.Timestamp("2021-12-31T16:00Z")  # CST 2022-01-01 00:00, hour-ending


def candidates(*rows: dict) -> pd.DataFrame:
    """Candidate rows; defaults: site 1431A, PM2.5, 1h, T0 + i hours, line i + 2."""
    records = []
    for i, row in enumerate(rows):
        record = {
            "site_id": "1431A",
            "parameter": "PM2.5",
            "period": "1h",
            "time": T0 + pd.Timedelta(hours=i),
            "value": np.nan,
            "raw_value": None,
            "unit": None,
            "flag": None,
            "line": i + 2,
            "field": "column v",
        }
        record.update(row)
        records.append(record)
    frame = pd.DataFrame(records)[list(CANDIDATE_COLUMNS)]
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    return frame


def one_rejection(frame: pd.DataFrame) -> pd.Series:
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert len(result.rejected) == 1, result.rejected
    assert result.good.empty
    return result.rejected.iloc[0]


def test_good_rows_pass_in_canonical_units() -> None:
    frame = candidates({"value": 35.0}, {"value": 0.0}, {"parameter": "CO", "value": 1.2})
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert result.rejected.empty
    assert result.missing == 0
    assert result.counts == {}
    assert list(result.good.columns) == ["site_id", "parameter", "period", "time", "value", "flag"]
    assert result.good["value"].tolist() == [35.0, 0.0, 1.2]


@pytest.mark.parametrize("text", ["", "  ", "NA", "nan", "-", "—", "/", "null", "None"])
def test_empty_cells_are_missing_not_rejected(text: str) -> None:
    frame = candidates({"value": np.nan, "raw_value": text}, {"value": 40.0})
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert result.missing == 1
    assert result.rejected.empty
    assert result.good["value"].tolist() == [40.0]


def test_empty_cell_without_text_is_missing() -> None:
    result = validate_observations(candidates({"value": np.nan}), KNOWN, REGISTRY)
    assert (result.missing, len(result.rejected), len(result.good)) == (1, 0, 0)


def test_not_a_number() -> None:
    record = one_rejection(candidates({"raw_value": "3O.5"}))
    assert record["reason_code"] == "not_a_number"
    assert record["reason"] == "value 3O.5 is not a number"
    assert record["record_ref"] == "line 2 column v"
    assert "value=3O.5" in record["raw"]
    assert "site=1431A" in record["raw"]


def test_infinite_value_is_rejected_with_a_reason() -> None:
    record = one_rejection(candidates({"value": np.inf}))
    assert record["reason_code"] == "not_a_number"
    assert isinstance(record["reason"], str)
    assert "inf" in record["reason"]


def test_negative_value() -> None:
    record = one_rejection(candidates({"value": -5.0}))
    assert record["reason_code"] == "negative_value"
    assert record["reason"] == "negative value -5 µg/m³ is impossible"
    assert record["record_ref"] == "line 2 column v"


def test_negative_temperature_is_plausible() -> None:
    frame = candidates({"parameter": "temperature", "value": -12.5})
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert result.rejected.empty
    assert result.good["value"].tolist() == [-12.5]


def test_impossible_value() -> None:
    # PM2.5 plausible range 0–2000 µg/m³ (parameters.csv)
    record = one_rejection(candidates({"value": 2500.0}))
    assert record["reason_code"] == "impossible_value"
    assert record["reason"] == "value 2500 µg/m³ is outside the plausible range 0–2000"
    # the upper bound itself is plausible
    result = validate_observations(candidates({"value": 2000.0}), KNOWN, REGISTRY)
    assert result.rejected.empty


def test_impossible_value_is_judged_after_conversion() -> None:
    # CO 200,000 µg/m³ = 200 mg/m³ > 150 mg/m³; CO 9,000 µg/m³ = 9 mg/m³ is fine
    frame = candidates({"parameter": "CO", "value": 200_000.0, "unit": "µg/m³"})
    record = one_rejection(frame)
    assert record["reason_code"] == "impossible_value"
    assert "200 mg/m³" in record["reason"]
    ok = validate_observations(
        candidates({"parameter": "CO", "value": 9000.0, "unit": "ug/m3"}), KNOWN, REGISTRY
    )
    assert ok.good["value"].tolist() == [9.0]


def test_unit_conversion_co_micrograms_to_milligrams() -> None:
    frame = candidates(
        {"parameter": "CO", "value": 300.0, "unit": "µg/m³"},
        {"parameter": "CO", "value": 1.1, "unit": None},  # None: already the canonical mg/m³
        {"parameter": "PM2.5", "value": 0.035, "unit": "mg/m3"},
    )
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert result.rejected.empty
    # 300 µg/m³ = 0.3 mg/m³; 0.035 mg/m³ = 35 µg/m³
    np.testing.assert_allclose(result.good["value"], [0.3, 1.1, 35.0])


def test_unit_mismatch() -> None:
    record = one_rejection(candidates({"value": 35.0, "unit": "mg/L"}))
    assert record["reason_code"] == "unit_mismatch"
    assert record["reason"].startswith("unit 'mg/L' does not fit; expected µg/m³")
    assert record["record_ref"] == "line 2 column v"


def test_unknown_unit_is_a_mismatch() -> None:
    record = one_rejection(candidates({"value": 35.0, "unit": "furlong"}))
    assert record["reason_code"] == "unit_mismatch"
    assert "furlong" in record["reason"]


def test_unknown_parameter() -> None:
    record = one_rejection(candidates({"parameter": "PM1", "value": 3.0}))
    assert record["reason_code"] == "unknown_parameter"
    assert record["reason"] == "parameter PM1 is not in the registry"
    assert record["record_ref"] == "line 2 column v"


def test_bad_time() -> None:
    frame = candidates({"value": 3.0})
    frame["time"] = pd.Series([pd.NaT], dtype="datetime64[us, UTC]")
    record = one_rejection(frame)
    assert record["reason_code"] == "bad_time"
    assert record["reason"] == "time could not be read at line 2 column v"


def test_unknown_site_gives_one_record_per_site() -> None:
    frame = candidates(
        {"site_id": "9999A", "value": 1.0},
        {"site_id": "9999A", "value": 2.0},
        {"site_id": "1431A", "value": 3.0},
        {"site_id": "9999A", "value": 4.0},
        {"site_id": "8888A", "value": 5.0},
    )
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert result.good["value"].tolist() == [3.0]
    assert result.counts == {"unknown_site": 2}
    by_site = result.rejected.set_index("record_ref")
    # 9999A holds lines 2, 3 and 5
    assert by_site.loc["site 9999A (lines 2–5)", "reason"] == (
        "site 9999A is not registered; its 3 values were not stored "
        "(register it with ecobasin sites import)"
    )
    assert by_site.loc["site 8888A (lines 6–6)", "raw"] == "1 values"


def test_duplicate_rows_later_wins() -> None:
    frame = candidates({"value": 10.0}, {"value": 20.0}, {"value": 30.0})
    frame["time"] = T0  # the same site, parameter, period and time three times
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert result.good["value"].tolist() == [30.0]
    assert result.counts == {"duplicate_row": 2}
    assert result.rejected["record_ref"].tolist() == ["line 2 column v", "line 3 column v"]
    assert (result.rejected["reason"].str.contains("later row is kept")).all()


def test_duplicate_of_a_bad_row_keeps_the_good_one() -> None:
    # the later row is not a number: it is rejected for that, and the earlier row stays
    frame = candidates({"value": 10.0}, {"raw_value": "x"})
    frame["time"] = T0
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert result.good["value"].tolist() == [10.0]
    assert result.counts == {"not_a_number": 1}


def test_same_time_different_parameter_or_period_is_no_duplicate() -> None:
    frame = candidates(
        {"value": 10.0},
        {"parameter": "PM10", "value": 20.0},
        {"period": "1d", "value": 30.0},
        {"site_id": "1432A", "value": 40.0},
    )
    frame["time"] = T0
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert result.rejected.empty
    assert len(result.good) == 4


def test_each_row_fails_only_its_first_check() -> None:
    # unknown parameter and negative: reported as unknown_parameter only
    frame = candidates({"parameter": "PM1", "value": -1.0})
    assert one_rejection(frame)["reason_code"] == "unknown_parameter"


def test_everything_is_accounted_for() -> None:
    frame = candidates(
        {"value": 35.0},  # stored
        {"raw_value": ""},  # missing
        {"raw_value": "3O.5"},  # not_a_number
        {"value": -1.0},  # negative_value
        {"value": 9999.0},  # impossible_value
        {"parameter": "XX", "value": 1.0},  # unknown_parameter
        {"site_id": "0000A", "value": 1.0},  # unknown_site
        {"value": 1.0, "unit": "mg/L"},  # unit_mismatch
    )
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert len(result.good) == 1
    assert result.missing == 1
    assert result.counts == {
        "not_a_number": 1,
        "negative_value": 1,
        "impossible_value": 1,
        "unknown_parameter": 1,
        "unknown_site": 1,
        "unit_mismatch": 1,
    }
    assert len(result.good) + result.missing + sum(result.counts.values()) == len(frame)
    assert result.rejected["reason"].map(lambda r: isinstance(r, str) and r != "").all()


def test_rejected_records_follow_the_checks_with_their_own_rows() -> None:
    # rows in the reverse order of the checks: the records come in the checks' order, each
    # naming its own line and cell
    frame = candidates(
        {"value": 9999.0},  # line 2: impossible_value
        {"value": -1.0},  # line 3: negative_value
        {"raw_value": "3O.5"},  # line 4: not_a_number
        {"raw_value": "12,5"},  # line 5: decimal_comma
        {"value": 1.0, "unit": "mg/L"},  # line 6: unit_mismatch
        {"parameter": "XX", "value": 1.0},  # line 7: unknown_parameter
        {"site_id": "0000A", "value": 1.0},  # line 8: unknown_site
        {"time": pd.NaT, "value": 1.0},  # line 9: bad_time
    )
    rejected = validate_observations(frame, KNOWN, REGISTRY).rejected
    assert rejected["reason_code"].tolist() == [
        "bad_time",
        "unknown_site",
        "unknown_parameter",
        "unit_mismatch",
        "decimal_comma",
        "not_a_number",
        "negative_value",
        "impossible_value",
    ]
    rows = rejected.drop(index=1)  # the unknown site's record names the site, not a cell
    assert rows["record_ref"].tolist() == [f"line {n} column v" for n in (9, 7, 6, 5, 4, 3, 2)]
    values = ["1.0", "1.0", "1.0", "12,5", "3O.5", "-1.0", "9999.0"]
    assert [raw.rpartition(" value=")[2] for raw in rows["raw"]] == values
    assert rejected.loc[1, "record_ref"] == "site 0000A (lines 8–8)"


def test_row_without_a_site_is_rejected_not_lost() -> None:
    frame = candidates({"site_id": None, "value": 1.0}, {"value": 2.0})
    result = validate_observations(frame, KNOWN, REGISTRY)
    assert len(result.good) + result.missing + sum(result.counts.values()) == 2


def test_as_float() -> None:
    assert as_float(" 104.5 ") == 104.5
    assert np.isnan(as_float(""))
    assert np.isnan(as_float(None))
    assert np.isnan(as_float("east"))
