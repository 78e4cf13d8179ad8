"""HJ 212 upload messages → candidate observations (CN rules, times, codes, flags, Zs rows)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ecobasin import catalog
from ecobasin.ingest.hj212 import build_segment, read_segment
from ecobasin.ingest.hj212.observations import message_observations
from ecobasin.ingest.validate import CANDIDATE_COLUMNS, validate_observations

AIR = ("air", "met")
GAS = ("flue_gas",)
WATER = ("water",)


def message(cn: str, cp: dict[str, str] | list[tuple[str, str]], st: str = "22"):
    head = {
        "QN": "20240101100000000",
        "ST": st,
        "CN": cn,
        "PW": "123456",
        "MN": "MN01",
        "Flag": "4",
    }
    return read_segment(build_segment(head, cp))


def observe(msg, domains=AIR, **kwargs):
    return message_observations(msg, site_id="S1", domains=domains, source_ref="raw:7", **kwargs)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_realtime_2011_is_an_instant_with_rtd_and_flag():
    # 2011: DataTime is the sampling instant; 2024-01-01 10:00:00 CST − 8 h = 02:00Z.
    msg = message("2011", {"DataTime": "20240101100000", "a21026-Rtd": "12.5", "a21026-Flag": "N"})
    frame, skipped = observe(msg)
    assert list(frame.columns) == list(CANDIDATE_COLUMNS)
    assert skipped == []
    row = frame.iloc[0]
    assert (row.site_id, row.parameter, row.period) == ("S1", "SO2", "instant")
    assert row.time == utc("2024-01-01T02:00")
    assert row.value == 12.5 and row.flag == "N" and pd.isna(row.raw_value) and row.unit is None
    assert (row.line, row.field) == (0, "raw:7 a21026-Rtd")
    assert str(frame["time"].dtype) == "datetime64[us, UTC]"


def test_realtime_across_midnight():
    # 2011 at 2024-01-01 00:30 CST is 2023-12-31 16:30Z (the UTC date is the day before).
    msg = message("2011", {"DataTime": "20240101003000", "a34004-Rtd": "35"})
    frame, _ = observe(msg)
    assert frame["time"].tolist() == [utc("2023-12-31T16:30")]
    assert frame["flag"].isna().all()


def test_hourly_2061_is_stored_at_the_hour_end():
    # 2061: DataTime 10:00 CST starts the hour 10:00–11:00; stored at 11:00 CST = 03:00Z.
    msg = message(
        "2061",
        [
            ("DataTime", "20240101100000"),
            ("a21026-Min", "10"),
            ("a21026-Avg", "12"),
            ("a21026-Max", "15"),
            ("a21026-Cou", "1.2"),
            ("a21026-Flag", "N"),
            ("a21026-Rtd", "13"),
        ],
    )
    frame, skipped = observe(msg)
    assert frame[["parameter", "period", "value"]].values.tolist() == [["SO2", "1h", 12.0]]
    assert frame["time"].tolist() == [utc("2024-01-01T03:00")]
    # Min/Max/Cou are ignored silently; a -Rtd is not an hourly observation.
    assert [key for key, _ in skipped] == ["a21026-Rtd"]


def test_minute_2051_default_10_min_and_device_interval():
    # 2051: DataTime 08:40 CST starts 08:40–08:50; stored at 08:50 CST = 00:50Z.
    msg = message("2051", {"DataTime": "20160801084000", "a34004-Avg": "14"})
    frame, _ = observe(msg)
    assert frame[["period", "time"]].values.tolist() == [["10min", utc("2016-08-01T00:50")]]
    # With a 1-minute device interval: 08:40–08:41, stored at 08:41 CST = 00:41Z.
    frame, _ = observe(msg, minute_interval=1)
    assert frame[["period", "time"]].values.tolist() == [["1min", utc("2016-08-01T00:41")]]
    with pytest.raises(ValueError, match="minute_interval=5"):
        observe(msg, minute_interval=5)


def test_daily_2031_is_stored_at_the_day_end():
    # 2031: DataTime 2024-01-01 00:00 CST covers the day; ends 2024-01-02 00:00 CST = 01-01 16:00Z.
    msg = message("2031", {"DataTime": "20240101000000", "w01018-Avg": "18.4"})
    frame, _ = observe(msg, domains=WATER)
    assert frame[["parameter", "period", "value"]].values.tolist() == [["COD", "1d", 18.4]]
    assert frame["time"].tolist() == [utc("2024-01-01T16:00")]


def test_2005_codes_in_water_domains():
    # HJ/T 212-2005 原编码: 011 → w01018 COD, 060 → w21003 NH3N (表B.1). 2061 at 09:00 CST → 02:00Z.
    msg = read_segment(
        "ST=32;CN=2061;PW=123456;MN=88888880000001;"
        "CP=&&DataTime=20240301090000;011-Avg=25.3,011-Flag=N;060-Avg=1.25,060-Flag=D&&"
    )
    frame, skipped = observe(msg, domains=WATER)
    assert skipped == []
    assert frame[["parameter", "value", "flag"]].values.tolist() == [
        ["COD", 25.3, "N"],
        ["NH3N", 1.25, "D"],
    ]
    assert set(frame["time"]) == {utc("2024-03-01T02:00")}


def test_domains_choose_the_parameter():
    # The same code a21026 is ambient SO2 at an air station and FG_SO2 at a stack.
    msg = message("2011", {"DataTime": "20240101100000", "a21026-Rtd": "40"})
    assert observe(msg, domains=GAS)[0]["parameter"].tolist() == ["FG_SO2"]
    assert observe(msg, domains=AIR)[0]["parameter"].tolist() == ["SO2"]


def test_converted_values_without_a_zs_parameter_are_skipped():
    msg = message(
        "2061",
        [
            ("DataTime", "20240101100000"),
            ("a24088-Avg", "40"),
            ("a24088-ZsAvg", "55"),
            ("a24088-ZsMin", "50"),
            ("a24088-ZsMax", "60"),
            ("a24088-Flag", "N"),
        ],
    )
    frame, skipped = observe(msg, domains=GAS)  # NMHC has no converted id in the registry
    assert frame["parameter"].tolist() == ["FG_NMHC"]
    assert skipped == [("a24088-ZsAvg", "converted value kept in the raw log only")]


def test_converted_values_become_a_zs_row_when_registered():
    assert "FG_SO2_Zs" in catalog.parameters().index
    # 2011: 2024-01-01 10:00:30 CST = 02:00:30Z; both rows carry the code's flag.
    msg = message(
        "2011",
        {
            "DataTime": "20240101100030",
            "a21026-Rtd": "40",
            "a21026-ZsRtd": "55",
            "a21026-Flag": "C",
        },
    )
    frame, skipped = observe(msg, domains=GAS)
    assert skipped == []
    assert frame[["parameter", "value", "flag", "field"]].values.tolist() == [
        ["FG_SO2", 40.0, "C", "raw:7 a21026-Rtd"],
        ["FG_SO2_Zs", 55.0, "C", "raw:7 a21026-ZsRtd"],
    ]
    assert set(frame["time"]) == {utc("2024-01-01T02:00:30")}


@pytest.mark.parametrize("flag", list("NFMSDCTB"))
def test_every_standard_flag_is_kept(flag):
    msg = message("2011", {"DataTime": "20240101100000", "a34002-Rtd": "80", "a34002-Flag": flag})
    frame, skipped = observe(msg)
    assert frame["flag"].tolist() == [flag] and skipped == []


def test_unknown_flag_is_skipped_and_the_value_has_no_flag():
    msg = message("2011", {"DataTime": "20240101100000", "a34002-Rtd": "80", "a34002-Flag": "X"})
    frame, skipped = observe(msg)
    assert frame["value"].tolist() == [80.0] and frame["flag"].isna().all()
    assert len(skipped) == 1 and skipped[0][0] == "a34002-Flag" and "'X'" in skipped[0][1]


def test_unknown_code_is_skipped_naming_it():
    # w01018 is a water code: not a parameter of an air station.
    msg = message(
        "2011", {"DataTime": "20240101100000", "w01018-Rtd": "20", "a99999-Rtd": "1", "O3": "5"}
    )
    frame, skipped = observe(msg)
    assert frame.empty
    keys = dict(skipped)
    assert "'w01018'" in keys["w01018-Rtd"] and "'a99999'" in keys["a99999-Rtd"]
    assert "raw log" in keys["O3"]  # a bare name without a suffix


def test_non_numeric_value_is_skipped_never_a_number():
    msg = message("2011", {"DataTime": "20240101100000", "a21026-Rtd": "3O.5", "a21004-Rtd": "20"})
    frame, skipped = observe(msg)
    assert frame["parameter"].tolist() == ["NO2"]
    assert skipped == [("a21026-Rtd", "value '3O.5' is not a number")]


def test_empty_value_is_a_missing_row():
    msg = message("2011", {"DataTime": "20240101100000", "a21026-Rtd": ""})
    frame, skipped = observe(msg)
    assert skipped == []
    assert math.isnan(frame["value"].iloc[0]) and frame["raw_value"].iloc[0] == ""


@pytest.mark.parametrize(
    ("cp", "reason"),
    [
        ({"a21026-Rtd": "12"}, "no DataTime"),
        ({"DataTime": "20241301100000", "a21026-Rtd": "12"}, "is not YYYYMMDDhhmmss"),
    ],
)
def test_missing_or_bad_datatime_skips_every_value(cp, reason):
    frame, skipped = observe(message("2011", cp))
    assert frame.empty and list(frame.columns) == list(CANDIDATE_COLUMNS)
    assert [key for key, _ in skipped] == ["DataTime", "a21026-Rtd"]
    assert all(reason in text for _, text in skipped)


def test_datatime_with_milliseconds_is_truncated():
    # 17 digits (peer packets): 2024-01-01 10:00:00.123 CST → 02:00:00Z.
    msg = read_segment(
        build_segment(
            {"ST": "22", "CN": "2011", "PW": "1", "MN": "M"},
            {"DataTime": "20240101100000123", "a21026-Rtd": "3"},
        ),
        lenient=True,
    )
    assert observe(msg)[0]["time"].tolist() == [utc("2024-01-01T02:00")]


@pytest.mark.parametrize("cn", ["1062", "9014", "2021", "2041"])
def test_other_commands_carry_no_observations(cn):
    frame, skipped = observe(message(cn, {"DataTime": "20240101100000", "a21026-Rtd": "1"}))
    assert frame.empty and list(frame.columns) == list(CANDIDATE_COLUMNS)
    assert skipped == [("CN", f"command CN={cn} carries no observations")]


def test_frame_fits_the_validation_contract():
    # 2061 from a water outlet: DataTime 2024-01-01 23:00 CST → hour ends 24:00 CST = 16:00Z.
    msg = message(
        "2061",
        [
            ("DataTime", "20240101230000"),
            ("w01018-Avg", "25.3"),
            ("w01018-Flag", "N"),
            ("w21003-Avg", "1.2"),
            ("w21003-Flag", "M"),
            ("w01001-Avg", ""),
            ("w00000-Avg", "4.5"),
        ],
        st="32",
    )
    frame, skipped = observe(msg, domains=WATER)
    assert skipped == []
    result = validate_observations(frame, {"S1"}, catalog.parameters())
    assert result.rejected.empty
    assert result.missing == 1  # the empty pH value
    good = result.good
    assert good[["parameter", "value"]].values.tolist() == [
        ["COD", 25.3],
        ["NH3N", 1.2],
        ["WW_flow", 4.5],
    ]
    assert good["flag"].fillna("(none)").tolist() == ["N", "M", "(none)"]
    assert set(good["period"]) == {"1h"}
    assert set(good["time"]) == {utc("2024-01-01T16:00")}


def test_row_buffer_gives_the_same_frame_as_message_rows():
    # the gateway's writer collects rows column by column; same rules, same frame
    from ecobasin.ingest.hj212.observations import RowBuffer, candidate_frame, message_rows

    messages = [
        message("2011", {"DataTime": "20240101100000", "a21026-Rtd": "12.5", "a21026-Flag": "D"}),
        message("2061", {"DataTime": "20240101230000", "a21026-Avg": "", "a34004-Avg": "3O.5"}),
        message("2031", {"DataTime": "20240101000000", "a21005-Avg": "0.8", "zz-Avg": "1"}),
    ]
    buffer, rows = RowBuffer(), []
    for line, msg in enumerate(messages, start=1):
        kwargs = {"site_id": "S1", "domains": ("air", "met"), "source_ref": f"raw:{line}"}
        skipped = buffer.add(msg, line=line, **kwargs)
        more, expected_skipped = message_rows(msg, **kwargs)
        assert skipped == expected_skipped
        rows += [row | {"line": line} for row in more]
    assert len(buffer) == 3  # SO2 (2011), the empty SO2 hour (2061), CO (2031)
    pd.testing.assert_frame_equal(buffer.frame(), candidate_frame(rows))
