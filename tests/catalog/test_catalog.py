"""The catalog: cities, regions, the parameter registry, units and city boundaries.

Expected values come from DESIGN.md (the eight cities and their GB/T 2260 codes), HJ 212-2017
Tables B.1/B.2 and their HJ/T 212-2005 原编码 (the factor codes), and plain unit arithmetic.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ecobasin import catalog
from ecobasin.errors import UnitError

#: DESIGN.md: the eight cities of the Chengdu Plain Economic Zone, in the order it lists them.
CHENGDU_PLAIN = {
    510100: ("成都市", "Chengdu"),
    510600: ("德阳市", "Deyang"),
    510700: ("绵阳市", "Mianyang"),
    510900: ("遂宁市", "Suining"),
    511100: ("乐山市", "Leshan"),
    511400: ("眉山市", "Meishan"),
    511800: ("雅安市", "Ya'an"),
    512000: ("资阳市", "Ziyang"),
}


# -- cities and regions ---------------------------------------------------------------------


def test_default_region_is_the_eight_chengdu_plain_cities_in_order() -> None:
    region = catalog.load_region()
    assert catalog.DEFAULT_REGION == "chengdu_plain"
    assert region.id == "chengdu_plain"
    assert region.name_zh == "成都平原经济区"
    assert region.cities == tuple(CHENGDU_PLAIN)
    table = region.city_table()
    assert list(table["code"]) == list(CHENGDU_PLAIN)
    assert list(zip(table["name_zh"], table["name_en"], strict=True)) == list(
        CHENGDU_PLAIN.values()
    )
    assert set(table["province_zh"]) == {"四川省"}


def test_city_centres_lie_in_sichuan() -> None:
    table = catalog.load_region().city_table()
    # Sichuan spans about 97.3–108.6 °E and 26.0–34.3 °N
    assert table["lon"].between(97.3, 108.6).all()
    assert table["lat"].between(26.0, 34.3).all()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("成都", 510100),
        ("成都市", 510100),
        ("Chengdu", 510100),
        ("chengdu", 510100),
        (" Chengdu ", 510100),
        ("510100", 510100),
        (510100, 510100),
        ("雅安", 511800),
        ("Ya'an", 511800),
        ("资阳市", 512000),
        ("北京", 110100),
    ],
)
def test_city_code_resolves_names_and_codes(name: str | int, code: int) -> None:
    assert catalog.city_code(name) == code


@pytest.mark.parametrize("name", ["火星市", "Atlantis", "999999", "", "成"])
def test_unknown_city_is_a_key_error_naming_it(name: str) -> None:
    with pytest.raises(KeyError, match="unknown city"):
        catalog.city_code(name)


def test_cities_table_is_a_copy() -> None:
    first = catalog.cities()
    first.loc[510100, "name_en"] = "changed"
    assert catalog.cities().loc[510100, "name_en"] == "Chengdu"


@pytest.mark.parametrize("domain", [None, "air", "met"])
def test_parameter_registry_is_a_copy(domain: str | None) -> None:
    first = catalog.parameters(domain)
    unit = first["unit"].iloc[0]
    first.loc[first.index[0], "unit"] = "changed"
    first["domain"] = "changed"
    again = catalog.parameters(domain)
    assert again["unit"].iloc[0] == unit and "changed" not in set(again["domain"])
    assert catalog.parameters()["domain"].value_counts()["air"] == len(catalog.parameters("air"))


def test_region_from_a_toml_file_needs_no_code_change(tmp_path: Path) -> None:
    path = tmp_path / "south_sichuan.toml"
    path.write_text(
        'id = "south_sichuan"\nname_zh = "川南经济区"\nname_en = "South Sichuan"\n'
        "cities = [510300, 510500, 511000, 511500]\n",
        encoding="utf-8",
    )
    region = catalog.load_region(path)
    assert region.id == "south_sichuan"
    assert region.cities == (510300, 510500, 511000, 511500)
    assert list(region.city_table()["name_en"]) == ["Zigong", "Luzhou", "Neijiang", "Yibin"]
    assert region.boundaries is None
    # no boundaries file of its own: the national file's outlines (tools/build_china_catalog.py)
    features = catalog.boundaries(region)["features"]
    assert [f["properties"]["code"] for f in features] == [510300, 510500, 511000, 511500]
    # the same file given as a string path
    assert catalog.load_region(str(path)) == region


def test_bundled_beijing_region() -> None:
    region = catalog.load_region("beijing")
    assert region.cities == (110100,)
    assert region.name_en == "Beijing"


def test_region_with_an_unknown_city_code_names_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'id = "bad"\nname_zh = "坏"\nname_en = "Bad"\ncities = [510100, 519999]\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"region 'bad': unknown city codes \[519999\]"):
        catalog.load_region(path)


def test_unknown_bundled_region_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        catalog.load_region("no_such_region")


# -- parameters -----------------------------------------------------------------------------

#: HJ 212-2017 codes (Table B.2 air, B.1 water) → ecobasin parameter id.
HJ212_2017 = {
    "a34004": "PM2.5",
    "a34002": "PM10",
    "a21026": "SO2",
    "a21004": "NO2",
    "a05024": "O3",
    "a21005": "CO",
    "a21002": "NOx",
    "w01018": "COD",
    "w21003": "NH3N",
    "w21011": "TP",
    "w21001": "TN",
    "w01001": "pH",
    "w01009": "DO",
}


@pytest.mark.parametrize(("code", "parameter"), list(HJ212_2017.items()))
def test_hj212_2017_codes(code: str, parameter: str) -> None:
    assert catalog.parameter_for_code(code) == parameter
    assert catalog.parameters().loc[parameter, "hj212_2017"] == code


@pytest.mark.parametrize(
    ("code", "parameter"), [("011", "COD"), ("060", "NH3N"), ("101", "TP"), ("001", "pH")]
)
def test_hj212_2005_codes(code: str, parameter: str) -> None:
    assert catalog.parameter_for_code(code) == parameter


def test_same_code_means_different_parameters_by_domain() -> None:
    # a21026 is ambient SO2 at an air station and flue-gas SO2 at a stack (HJ 212-2017 B.2)
    assert catalog.parameter_for_code("a21026") == "SO2"
    assert catalog.parameter_for_code("a21026", domains=("flue_gas",)) == "FG_SO2"
    assert catalog.parameter_for_code("a21005", domains=("flue_gas",)) == "FG_CO"
    # 2005 code 02 is SO2 in both domains as well
    assert catalog.parameter_for_code("02", domains=("flue_gas",)) == "FG_SO2"


def test_unknown_code_raises_naming_it() -> None:
    with pytest.raises(KeyError, match="a99999"):
        catalog.parameter_for_code("a99999")
    # a flue-gas-only code is not an ambient parameter
    with pytest.raises(KeyError, match="a19001"):
        catalog.parameter_for_code("a19001")


@pytest.mark.parametrize(
    ("parameter", "unit", "domain"),
    [
        ("PM2.5", "µg/m³", "air"),
        ("PM10", "µg/m³", "air"),
        ("SO2", "µg/m³", "air"),
        ("NO2", "µg/m³", "air"),
        ("O3", "µg/m³", "air"),
        ("CO", "mg/m³", "air"),  # GB 3095-2012: CO is the one air pollutant in mg/m³
        ("COD", "mg/L", "water"),
        ("NH3N", "mg/L", "water"),
        ("pH", "1", "water"),
        ("DO", "mg/L", "water"),
        ("FG_SO2", "mg/m³", "flue_gas"),
        ("temperature", "°C", "met"),
        ("pressure", "hPa", "met"),
    ],
)
def test_canonical_units(parameter: str, unit: str, domain: str) -> None:
    row = catalog.parameters().loc[parameter]
    assert row["unit"] == unit
    assert row["domain"] == domain


def test_registry_is_complete_and_consistent() -> None:
    registry = catalog.parameters()
    assert registry.index.is_unique
    assert set(registry["domain"]) == {"air", "water", "flue_gas", "met", "noise"}
    assert (registry["min_value"] < registry["max_value"]).all()
    # every canonical unit is a unit the converter knows, under its registry spelling
    known = set(catalog.unit_table()["unit"])
    for unit in registry["unit"]:
        assert unit in known
        assert catalog.canonical_unit_name(unit) == unit
    # bilingual labels everywhere
    assert (registry["name_zh"].str.len() > 0).all()
    assert (registry["name_en"].str.len() > 0).all()
    # within one domain, a 2017 code names one parameter
    coded = registry[registry["hj212_2017"] != ""]
    assert not coded.duplicated(["domain", "hj212_2017"]).any()


def test_plausible_ranges() -> None:
    registry = catalog.parameters()
    assert registry.loc["PM2.5", ["min_value", "max_value"]].tolist() == [0.0, 2000.0]
    assert registry.loc["CO", "max_value"] == 150.0
    assert registry.loc["pH", ["min_value", "max_value"]].tolist() == [0.0, 14.0]
    # temperatures may be negative
    assert registry.loc["temperature", "min_value"] == -60.0
    assert registry.loc["CO", "decimals"] == 1
    assert registry.loc["PM2.5", "decimals"] == 0


def test_cnemc_names() -> None:
    air = catalog.parameters("air")
    assert set(air["domain"]) == {"air"}
    live = dict(zip(air["cnemc_live"], air.index, strict=True))
    assert live["pm2_5"] == "PM2.5"
    assert live["co"] == "CO"
    assert air.loc["PM2.5", "cnemc_archive"] == "PM2.5"


# -- units ----------------------------------------------------------------------------------


def test_micrograms_to_milligrams_and_back() -> None:
    # 1 mg = 1000 µg: 300 µg/m³ = 0.3 mg/m³, and 1.2 mg/m³ = 1200 µg/m³
    np.testing.assert_allclose(catalog.convert_units([300, 1500], "µg/m³", "mg/m³"), [0.3, 1.5])
    np.testing.assert_allclose(catalog.convert_units([1.2], "mg/m³", "µg/m³"), [1200.0])
    out = catalog.convert_units(5.0, "mg/m³", "mg/m³")
    assert out.dtype == np.float64
    assert float(out) == 5.0


@pytest.mark.parametrize(
    "alias", ["ug/m3", "µg/m3", "μg/m³", "μg/m3", "ug/m^3", "ug m-3", "微克/立方米"]
)
def test_micro_aliases(alias: str) -> None:
    # µ (U+00B5 micro sign) and μ (U+03BC Greek mu) and u all mean micro
    assert catalog.canonical_unit_name(alias) == "µg/m³"
    np.testing.assert_allclose(catalog.convert_units([1000], alias, "mg/m3"), [1.0])


def test_micro_sign_and_greek_mu_are_different_characters() -> None:
    assert "\u00b5g/m³" != "\u03bcg/m³"
    assert catalog.canonical_unit_name("\u00b5g/m³") == catalog.canonical_unit_name("\u03bcg/m³")


@pytest.mark.parametrize(
    ("values", "source", "target", "expected"),
    [
        ([101.325], "kPa", "hPa", [1013.25]),  # 1 kPa = 10 hPa
        ([96180.0], "Pa", "hPa", [961.8]),  # 1 Pa = 0.01 hPa
        ([273.15, 300.0], "K", "°C", [0.0, 26.85]),  # °C = K − 273.15
        ([20.0], "°C", "K", [293.15]),
        ([20.0], "℃", "degC", [20.0]),
        ([3.6], "m3/h", "L/s", [1.0]),  # 3.6 m³/h = 3600 L / 3600 s
        ([250.0], "µg/L", "mg/L", [0.25]),
        ([2.0], "MG/L", "mg/L", [2.0]),  # capitals tolerated where unambiguous
    ],
)
def test_conversions(values: list[float], source: str, target: str, expected: list[float]) -> None:
    np.testing.assert_allclose(catalog.convert_units(values, source, target), expected)


def test_water_units_are_refused_for_air() -> None:
    with pytest.raises(UnitError, match=r"cannot convert 'mg/L'.*mass_concentration_water"):
        catalog.convert_units([1.0], "mg/L", "µg/m³")
    with pytest.raises(UnitError, match="cannot convert"):
        catalog.convert_units([1.0], "µg/m³", "mg/L")


def test_unknown_unit() -> None:
    with pytest.raises(UnitError, match="unknown unit 'furlong'"):
        catalog.canonical_unit_name("furlong")
    with pytest.raises(UnitError):
        catalog.convert_units([1.0], "ppm", "µg/m³")
    assert issubclass(UnitError, ValueError)


# -- boundaries -----------------------------------------------------------------------------


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    assert geometry["type"] == "MultiPolygon"
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


def _outer_rings(geometry: dict) -> list[list[list[float]]]:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return [polygon[0] for polygon in polygons]


def _inside(point: list[float], ring: list[list[float]]) -> bool:
    """Ray casting (even-odd rule)."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _area(ring: list[list[float]]) -> float:
    return 0.5 * sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))


@pytest.fixture(scope="module")
def boundaries() -> dict:
    return catalog.boundaries(catalog.load_region())


def test_boundaries_have_the_eight_cities(boundaries: dict) -> None:
    assert boundaries["type"] == "FeatureCollection"
    features = boundaries["features"]
    assert len(features) == 8
    assert [f["properties"]["code"] for f in features] == list(CHENGDU_PLAIN)
    for feature in features:
        props = feature["properties"]
        assert feature["type"] == "Feature"
        assert set(props) == {"code", "name_zh", "name_en", "center"}
        assert (props["name_zh"], props["name_en"]) == CHENGDU_PLAIN[props["code"]]
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_boundary_rings_are_closed_lon_lat_and_hold_the_centre(boundaries: dict) -> None:
    for feature in boundaries["features"]:
        rings = _rings(feature["geometry"])
        assert rings
        for ring in rings:
            assert ring[0] == ring[-1]  # RFC 7946 §3.1.6: a ring is closed
            for lon, lat in ring:
                assert 97.0 < lon < 109.0 and 26.0 < lat < 35.0  # lon/lat order, in Sichuan
        # the label point lies in one of the city's outer rings
        centre = feature["properties"]["center"]
        assert any(_inside(centre, ring) for ring in _outer_rings(feature["geometry"])), feature[
            "properties"
        ]["name_en"]


def test_main_ring_of_each_city_is_large(boundaries: dict) -> None:
    # the smallest of the eight (Ziyang ≈ 5,750 km², about 0.55 square degrees at 30 °N) is far
    # larger than a coarse-grid sliver
    for feature in boundaries["features"]:
        largest = max(abs(_area(ring)) for ring in _outer_rings(feature["geometry"]))
        assert largest > 0.3, feature["properties"]["name_en"]


def test_every_ring_is_a_valid_linear_ring(boundaries: dict) -> None:
    degenerate = [
        (feature["properties"]["name_en"], len(ring))
        for feature in boundaries["features"]
        for ring in _rings(feature["geometry"])
        if len(ring) < 4 or _area(ring) == 0.0
    ]
    assert degenerate == []
