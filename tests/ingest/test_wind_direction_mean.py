"""The mean wind direction of a city and hour: the circular mean, exact where it is exact."""

from __future__ import annotations

import pandas as pd
import pytest

from ecobasin.ingest.csvmap import COMPASS_16
from ecobasin.ingest.importer import _mean_per_key

KEYS = ["site_id", "parameter", "period", "time"]


def _rows(*directions: float, parameter: str = "wind_direction") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": "510100",
            "parameter": parameter,
            "period": "hour",
            "time": pd.Timestamp("2015-01-01T00:00Z"),
            "value": list(directions),
        }
    )


@pytest.mark.parametrize("name", sorted(COMPASS_16))
def test_one_compass_direction_is_kept_exactly(name: str) -> None:
    """Failed before the rounding for SW: 225° came back as 224.99999999999997 (numpy 2.4)."""
    direction = COMPASS_16[name]
    assert _mean_per_key(_rows(direction), KEYS)["value"].tolist() == [direction]
    assert _mean_per_key(_rows(direction, direction, direction), KEYS)["value"].tolist() == [
        direction
    ]


def test_the_mean_of_350_and_10_degrees_is_north() -> None:
    assert _mean_per_key(_rows(350.0, 10.0), KEYS)["value"].tolist() == [0.0]


def test_the_mean_of_two_directions_is_between_them() -> None:
    assert _mean_per_key(_rows(200.0, 250.0), KEYS)["value"].tolist() == [225.0]


def test_other_parameters_are_plain_means() -> None:
    assert _mean_per_key(_rows(1.0, 2.0, parameter="temperature"), KEYS)["value"].tolist() == [1.5]
