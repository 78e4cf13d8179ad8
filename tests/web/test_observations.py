"""``GET /api/v1/observations``: filters, time zones, paging and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ecobasin.web.models import Observation, ObservationPage

URL = "/api/v1/observations"
N_TOTAL = 145  # 3 air stations x (PM2.5, CO) x 24 hours + 1 daily PM2.5 value
N_PER_SERIES = 24


def _page(client: TestClient, params: Any = None) -> dict[str, Any]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def _keys(body: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(r["site_id"], r["parameter"], r["period"], r["time_utc"]) for r in body["results"]]


# -- envelope and rows -------------------------------------------------------------------------
def test_default_page(client: TestClient) -> None:
    body = _page(client)
    assert body["total"] == N_TOTAL
    assert body["limit"] == 1000 and body["offset"] == 0
    assert body["next"] is None and body["previous"] is None
    assert len(body["results"]) == N_TOTAL
    page = ObservationPage.model_validate(body)  # the documented schema is what is sent
    assert set(body["results"][0]) == set(Observation.model_fields)
    assert page.results[0].time_utc.utcoffset() is not None
    assert _keys(body) == sorted(_keys(body))  # site, parameter, period, time
    first = body["results"][0]
    assert first == {
        "site_id": "1431A",
        "city_code": 510100,
        "parameter": "CO",
        "period": "1h",
        "time_utc": "2023-12-31T17:00:00Z",
        "time_cst": "2024-01-01 01:00",  # hour ending 01:00 CST = 00:00-01:00
        "value": 0.5,
        "unit": "mg/m³",
        "flag": None,
        "source": "tests",
    }


def test_units_follow_the_parameter(client: TestClient) -> None:
    body = _page(client, {"site": "2286A", "parameter": "PM2.5", "limit": 1})
    row = body["results"][0]
    assert row["unit"] == "µg/m³"
    assert row["value"] == 50.0  # 30 + 10 x station index 2 + hour 0


def test_flagged_missing_value(client: TestClient) -> None:
    body = _page(
        client,
        {
            "site": "1432A",
            "parameter": "PM2.5",
            "start": "2024-01-01T06:00",
            "end": "2024-01-01T06:00",
        },
    )
    assert body["total"] == 1
    assert body["results"][0]["value"] is None
    assert body["results"][0]["flag"] == "M"


# -- filters -----------------------------------------------------------------------------------
def test_site_filter_repeatable(client: TestClient) -> None:
    one = _page(client, {"site": "1431A"})
    assert one["total"] == 2 * N_PER_SERIES + 1
    assert {r["site_id"] for r in one["results"]} == {"1431A"}
    two = _page(client, [("site", "1431A"), ("site", "2286A")])
    assert two["total"] == 4 * N_PER_SERIES + 1
    assert {r["site_id"] for r in two["results"]} == {"1431A", "2286A"}
    assert _page(client, {"site": "1431A,2286A"})["total"] == two["total"]


@pytest.mark.parametrize("city", ["510600", "德阳", "德阳市", "Deyang"])
def test_city_filter(client: TestClient, city: str) -> None:
    body = _page(client, {"city": city})
    assert body["total"] == 2 * N_PER_SERIES
    assert {(r["site_id"], r["city_code"]) for r in body["results"]} == {("2286A", 510600)}


def test_city_filter_repeatable(client: TestClient) -> None:
    assert _page(client, [("city", "成都"), ("city", "Deyang")])["total"] == N_TOTAL
    assert _page(client, {"city": "乐山"})["total"] == 0  # the water section has no data


def test_parameter_filter(client: TestClient) -> None:
    body = _page(client, {"parameter": "CO"})
    assert body["total"] == 3 * N_PER_SERIES
    assert {r["parameter"] for r in body["results"]} == {"CO"}
    both = _page(client, [("parameter", "pm2.5"), ("parameter", "co")])  # case-insensitive
    assert both["total"] == N_TOTAL
    assert {r["parameter"] for r in both["results"]} == {"PM2.5", "CO"}
    assert _page(client, {"parameter": "O3"})["total"] == 0  # known, but nothing stored


def test_period_filter(client: TestClient) -> None:
    daily = _page(client, {"period": "1d"})
    assert daily["total"] == 1
    assert daily["results"][0] == {
        "site_id": "1431A",
        "city_code": 510100,
        "parameter": "PM2.5",
        "period": "1d",
        "time_utc": "2024-01-01T16:00:00Z",
        "time_cst": "2024-01-01 24:00",  # the end of day 2024-01-01 (HJ 663-2013 §3)
        "value": 41.5,
        "unit": "µg/m³",
        "flag": None,
        "source": "tests",
    }
    assert _page(client, [("period", "1h"), ("period", "1d")])["total"] == N_TOTAL


def test_filters_combine(client: TestClient) -> None:
    body = _page(
        client,
        {
            "city": "Chengdu",
            "parameter": "PM2.5",
            "period": "1h",
            "start": "2024-01-01T12:00",
            "end": "2024-01-01T13:00",
        },
    )
    assert _keys(body) == [
        ("1431A", "PM2.5", "1h", "2024-01-01T04:00:00Z"),
        ("1431A", "PM2.5", "1h", "2024-01-01T05:00:00Z"),
        ("1432A", "PM2.5", "1h", "2024-01-01T04:00:00Z"),
        ("1432A", "PM2.5", "1h", "2024-01-01T05:00:00Z"),
    ]


# -- time zones --------------------------------------------------------------------------------
def _times(client: TestClient, **params: str) -> list[str]:
    query = {"site": "1431A", "parameter": "PM2.5", "period": "1h", **params}
    return [r["time_utc"] for r in _page(client, query)["results"]]


def test_naive_times_are_china_standard_time(client: TestClient) -> None:
    times = _times(client, start="2024-01-01T10:00", end="2024-01-01T12:00")
    assert times == ["2024-01-01T02:00:00Z", "2024-01-01T03:00:00Z", "2024-01-01T04:00:00Z"]
    rows = _page(
        client,
        {
            "site": "1431A",
            "parameter": "PM2.5",
            "period": "1h",
            "start": "2024-01-01T10:00",
            "limit": 1,
        },
    )["results"]
    assert rows[0]["time_cst"] == "2024-01-01 10:00"  # the label asked for


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-01-01T02:00Z", "2024-01-01T04:00Z"),
        ("2024-01-01T02:00:00+00:00", "2024-01-01T04:00:00+00:00"),
        ("2024-01-01T10:00+08:00", "2024-01-01T12:00+08:00"),
        ("2024-01-01T03:00+01:00", "2024-01-01T05:00+01:00"),
        ("2024-01-01 10:00", "2024-01-01 12:00"),  # space separator, naive = CST
    ],
)
def test_aware_times_are_respected(client: TestClient, start: str, end: str) -> None:
    times = _times(client, start=start, end=end)
    assert times == ["2024-01-01T02:00:00Z", "2024-01-01T03:00:00Z", "2024-01-01T04:00:00Z"]


def test_unencoded_plus_in_offset_still_means_plus(client: TestClient) -> None:
    # "+" written raw in a URL decodes to a space; the API reads "10:00 08:00" as +08:00.
    response = client.get(
        f"{URL}?site=1431A&parameter=PM2.5&period=1h&start=2024-01-01T10:00+08:00"
        "&end=2024-01-01T11:00+08:00"
    )
    assert response.status_code == 200, response.text
    assert [r["time_utc"] for r in response.json()["results"]] == [
        "2024-01-01T02:00:00Z",
        "2024-01-01T03:00:00Z",
    ]


def test_day_in_cst_is_hours_01_to_24(client: TestClient) -> None:
    # 2024-01-01 CST as labels 01:00 ... 24:00: start after midnight, end at next midnight.
    times = _times(client, start="2024-01-01T01:00", end="2024-01-02T00:00")
    assert len(times) == N_PER_SERIES
    assert times[0] == "2023-12-31T17:00:00Z" and times[-1] == "2024-01-01T16:00:00Z"
    # A date alone is its midnight (CST): the 00:00 label closes the previous day.
    assert _times(client, end="2024-01-01") == []
    assert len(_times(client, start="2024-01-01", end="2024-01-02")) == N_PER_SERIES


def test_start_and_end_are_inclusive_and_open_ended(client: TestClient) -> None:
    assert _times(client, start="2024-01-02T00:00") == ["2024-01-01T16:00:00Z"]
    assert _times(client, end="2024-01-01T01:00") == ["2023-12-31T17:00:00Z"]
    assert _times(client, start="2024-01-01T05:00", end="2024-01-01T05:00") == [
        "2023-12-31T21:00:00Z"
    ]


# -- paging ------------------------------------------------------------------------------------
def test_paging_links(client: TestClient) -> None:
    body = _page(client, {"limit": 50})
    assert (body["total"], body["limit"], body["offset"]) == (N_TOTAL, 50, 0)
    assert len(body["results"]) == 50
    assert body["previous"] is None
    assert body["next"] == "/api/v1/observations?limit=50&offset=50"
    last = _page(client, {"limit": 50, "offset": 100})
    assert len(last["results"]) == N_TOTAL - 100
    assert last["next"] is None
    assert last["previous"] == "/api/v1/observations?limit=50&offset=50"


def test_following_next_walks_every_row_once(client: TestClient) -> None:
    everything = _keys(_page(client))
    seen: list[tuple[str, str, str, str]] = []
    url: str | None = f"{URL}?city=成都&city=德阳&limit=40&parameter=PM2.5&parameter=CO"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == N_TOTAL and body["limit"] == 40
        seen += _keys(body)
        url = body["next"]
        pages += 1
    assert pages == 4
    assert seen == everything


def test_paging_keeps_filters_in_links(client: TestClient) -> None:
    body = _page(
        client,
        [
            ("site", "1431A"),
            ("site", "1432A"),
            ("parameter", "CO"),
            ("limit", "10"),
            ("offset", "10"),
        ],
    )
    assert body["total"] == 2 * N_PER_SERIES
    nxt = client.get(body["next"]).json()
    assert nxt["offset"] == 20 and nxt["total"] == body["total"]
    assert "site=1431A&site=1432A" in body["next"]
    prev = client.get(body["previous"]).json()
    assert prev["offset"] == 0
    assert _keys(prev) + _keys(body) + _keys(nxt) == _keys(
        _page(client, [("site", "1431A"), ("site", "1432A"), ("parameter", "CO"), ("limit", "30")])
    )


def test_offset_past_the_end(client: TestClient) -> None:
    body = _page(client, {"offset": 1000})
    assert body["total"] == N_TOTAL and body["results"] == [] and body["next"] is None
    assert body["previous"] is not None


def test_limit_bounds_accepted(client: TestClient) -> None:
    assert len(_page(client, {"limit": 1})["results"]) == 1
    assert _page(client, {"limit": 10_000})["limit"] == 10_000  # the public's largest page
    refused = client.get(URL, params={"limit": 10_001})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["parameter"] == "limit"


# -- CSV ---------------------------------------------------------------------------------------
def _csv(client: TestClient, params: Any) -> tuple[list[dict[str, str]], Any]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    return list(csv.DictReader(io.StringIO(text))), response


def test_csv_round_trip(client: TestClient) -> None:
    rows, response = _csv(client, {"format": "csv", "limit": 10_000})
    assert response.headers["x-total-count"] == str(N_TOTAL)
    assert "attachment" in response.headers["content-disposition"]
    assert "link" not in response.headers
    assert len(rows) == N_TOTAL
    assert list(rows[0]) == [
        "site_id",
        "city_code",
        "parameter",
        "period",
        "time_utc",
        "time_cst",
        "value",
        "unit",
        "flag",
        "source",
    ]
    assert rows[0] == {
        "site_id": "1431A",
        "city_code": "510100",
        "parameter": "CO",
        "period": "1h",
        "time_utc": "2023-12-31T17:00:00Z",
        "time_cst": "2024-01-01 01:00",
        "value": "0.5",
        "unit": "mg/m³",
        "flag": "",
        "source": "tests",
    }
    json_rows = _page(client, {"limit": 10_000})["results"]
    for from_csv, from_json in zip(rows, json_rows, strict=True):
        assert from_csv["site_id"] == from_json["site_id"]
        assert from_csv["time_utc"] == from_json["time_utc"]
        assert from_csv["time_cst"] == from_json["time_cst"]
        assert from_csv["unit"] == from_json["unit"]
        expected = from_json["value"]
        assert (float(from_csv["value"]) if from_csv["value"] else None) == expected
        assert (from_csv["flag"] or None) == from_json["flag"]


def test_csv_filters_paging_and_link_header(client: TestClient) -> None:
    rows, response = _csv(
        client, {"format": "csv", "site": "1432A", "parameter": "PM2.5", "limit": 10, "offset": 0}
    )
    assert len(rows) == 10
    assert {r["site_id"] for r in rows} == {"1432A"}
    assert response.headers["x-total-count"] == str(N_PER_SERIES)
    assert response.headers["link"] == (
        "</api/v1/observations?format=csv&site=1432A&parameter=PM2.5"
        '&limit=10&offset=10>; rel="next"'
    )
    missing = next(r for r in rows if r["flag"] == "M")
    assert missing["value"] == ""  # NULL value stays an empty cell
    assert missing["time_cst"] == "2024-01-01 06:00"


def test_csv_empty_result_is_just_the_header(client: TestClient) -> None:
    rows, response = _csv(client, {"format": "csv", "city": "雅安"})
    assert rows == []
    assert response.text.splitlines() == [
        "site_id,city_code,parameter,period,time_utc,time_cst,value,unit,flag,source"
    ]


def test_csv_bom_for_excel(client: TestClient) -> None:
    response = client.get(URL, params={"format": "csv", "limit": 1, "bom": "true"})
    assert response.content.startswith(b"\xef\xbb\xbfsite_id,")
    plain = client.get(URL, params={"format": "csv", "limit": 1})
    assert plain.content.startswith(b"site_id,")


def test_csv_streams_in_chunks(client: TestClient) -> None:
    with client.stream("GET", URL, params={"format": "csv", "limit": 10_000}) as response:
        chunks = list(response.iter_text())
    assert "".join(chunks).count("\n") == N_TOTAL + 1
