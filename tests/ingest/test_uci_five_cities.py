"""The bundled mapping of the public UCI "PM2.5 Data of Five Chinese Cities" layout:
PM_<site> columns, the city from the file name, Iws (a running sum) as hourly wind speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.ingest import csvmap

HEADER = (
    "No,year,month,day,hour,season,PM_City Station,PM_5th Middle School,PM_US Post,"
    "DEWP,HUMI,PRES,TEMP,cbwd,Iws,precipitation,Iprec\n"
)
#: cbwd/Iws by hand: SE runs 1.79 (the first row: whether the run began then cannot be told),
#: 2.68, 3.57 (steps 0.89); NW restarts at 1.79; a missing hour; 5.36 after it cannot be told;
#: cv 0.89; then a sum that falls without a new direction.
ROWS = [
    (0, "SE", "1.79"),
    (1, "SE", "2.68"),
    (2, "SE", "3.57"),
    (3, "NW", "1.79"),
    (4, "NW", "NA"),
    (5, "NW", "5.36"),
    (6, "cv", "0.89"),
    (7, "cv", "0.45"),
]


def five_cities_file(folder: Path, name: str = "GuangzhouPM20150101_20150101.csv") -> Path:
    lines = [
        f"{i + 1},2015,1,1,{hour},4,{40 + hour},NA,{50 + hour},10,80,1015,15,{cbwd},{iws},0,0"
        for i, (hour, cbwd, iws) in enumerate(ROWS)
    ]
    path = folder / name
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_pm_column_is_a_site_of_the_city_named_by_the_file(tmp_path: Path) -> None:
    frame, meta = csvmap.read_mapped_csv(
        five_cities_file(tmp_path), csvmap.load_mapping("uci_five_cities")
    )
    assert meta["meteorology_city"] == 440100
    sites = meta["new_sites"].set_index("site_id")
    assert sorted(sites.index) == [
        "440100-5th_Middle_School",
        "440100-City_Station",
        "440100-US_Post",
    ]
    assert set(sites["city_code"]) == {440100}
    assert sites.loc["440100-US_Post", "level"] == "other"
    assert sites.loc["440100-City_Station", "name_en"] == "City Station"
    station = frame[frame["site_id"] == "440100-City_Station"]
    assert list(station["value"]) == [40.0 + h for h in range(8)]
    assert set(frame["parameter"]) == {"PM2.5"}
    # hour-beginning CST labels: 2015-01-01 00:00 is the hour ending 01:00 CST = 17:00 UTC
    assert station["time"].iloc[0] == pd.Timestamp("2014-12-31T17:00", tz="UTC")


def test_iws_running_sum_becomes_hourly_wind_speed(tmp_path: Path) -> None:
    _, meta = csvmap.read_mapped_csv(
        five_cities_file(tmp_path), csvmap.load_mapping("uci_five_cities")
    )
    weather = meta["meteorology"]
    wind = weather[weather["parameter"] == "wind_speed"].reset_index(drop=True)
    expected = [np.nan, 0.89, 0.89, 1.79, np.nan, np.nan, 0.89, np.nan]
    np.testing.assert_allclose(wind["value"], expected, atol=1e-9)
    assert wind.loc[4, "raw_value"] == ""  # NA: missing, not an error
    assert wind.loc[0, "raw_value"] == "running sum 1.79: the previous hour is missing"
    assert wind.loc[5, "raw_value"] == "running sum 5.36: the previous hour is missing"
    assert wind.loc[7, "raw_value"] == "running sum 0.45 fell without a new direction"
    direction = weather[weather["parameter"] == "wind_direction"].reset_index(drop=True)
    assert list(direction["value"][:4]) == [135.0, 135.0, 135.0, 315.0]  # SE, NW
    assert np.isnan(direction["value"][6])  # cv: calm, no direction


def test_a_file_name_without_a_city_needs_the_city_option(tmp_path: Path) -> None:
    path = five_cities_file(tmp_path, "hourly.csv")
    with pytest.raises(csvmap.MappingError, match="--city CODE"):
        csvmap.read_mapped_csv(path, csvmap.load_mapping("uci_five_cities"))
    _, meta = csvmap.read_mapped_csv(path, csvmap.load_mapping("uci_five_cities", city=210100))
    assert set(meta["new_sites"]["city_code"]) == {210100}


def test_mapping_errors_keep_their_bracketed_words(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[time]\ncolumn = "t"\n[[observations]]\ncolumn = "v"\nparameter = "PM2.5"\n'
    )
    data = tmp_path / "d.csv"
    data.write_text("t,v\n2015-01-01T01:00,1\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["import", "csv", str(data), "--mapping", str(mapping), "--db", str(tmp_path / "x.db")]
    )
    assert result.exit_code == 1
    assert "missing [site] section" in " ".join(result.output.split())
