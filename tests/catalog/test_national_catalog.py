"""The national catalog: every prefecture-level division of mainland China with a boundary
(built by tools/build_china_catalog.py from echarts 4.9.0), and the user's own cities file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

from ecobasin import catalog
from ecobasin.catalog import geo

#: The 31 provinces, autonomous regions and municipalities of mainland China.
PROVINCES = 31


@pytest.fixture
def no_user_cities() -> Iterator[None]:
    yield
    catalog.use_cities(None)


def test_every_province_and_more_than_330_divisions_with_unique_codes() -> None:
    table = catalog.cities()
    assert table["code"].is_unique
    assert len(table) > 330  # 333 prefecture-level divisions plus the directly administered units
    assert table["province_zh"].nunique() == PROVINCES
    assert table["code"].between(110000, 659999).all()  # no Taiwan, Hong Kong, Macao
    for column in ("name_zh", "short_zh", "name_en", "province_en"):
        assert (table[column].str.len() > 0).all(), column


def test_every_code_has_a_polygon_and_its_centre_lies_inside_it() -> None:
    table = catalog.cities()
    national = catalog.national_boundaries()
    assert set(national) == set(table["code"])
    outside = []
    for code, row in table.iterrows():
        polygon = shape(national[int(code)]["geometry"])
        assert polygon.geom_type in ("Polygon", "MultiPolygon") and polygon.area > 0, code
        if not polygon.contains(shapely.Point(row["lon"], row["lat"])):
            outside.append(code)
    assert outside == []


@pytest.mark.parametrize(
    ("name", "code", "province"),
    [
        ("Guangzhou", 440100, "广东省"),
        ("广州", 440100, "广东省"),
        ("Shenyang", 210100, "辽宁省"),
        ("上海", 310100, "上海市"),
        ("喀什地区", 653100, "新疆维吾尔自治区"),
        ("Xishuangbanna", 532800, "云南省"),
        ("仙桃", 429004, "湖北省"),
    ],
)
def test_cities_across_china_resolve(name: str, code: int, province: str) -> None:
    assert catalog.city_code(name) == code
    assert catalog.cities().loc[code, "province_zh"] == province


def test_a_region_of_cities_outside_sichuan_has_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "prd.toml"
    path.write_text(
        'id = "prd"\nname_zh = "珠三角"\nname_en = "Pearl River Delta"\n'
        "cities = [440100, 440300, 440600]\n",
        encoding="utf-8",
    )
    region = catalog.load_region(path)
    features = catalog.boundaries(region)["features"]
    assert [f["properties"]["code"] for f in features] == [440100, 440300, 440600]
    assert geo.location_problem(440100, 113.26, 23.13) is None  # Guangzhou city centre
    assert "outside the boundary" in str(geo.location_problem(440100, 104.06, 30.66))


def test_the_default_region_keeps_its_detailed_sichuan_outlines() -> None:
    sichuan = json.loads(
        (Path(catalog.__file__).parent / "data" / "boundaries_sichuan.geojson").read_text("utf-8")
    )
    chengdu = next(f for f in sichuan["features"] if f["properties"]["name"] == "成都市")
    feature = catalog.boundaries(catalog.load_region())["features"][0]
    assert feature["properties"]["code"] == 510100
    assert shape(feature["geometry"]).equals(shape(catalog._valid_rings(chengdu["geometry"])))


# -- the user's own cities and districts ------------------------------------------------------

TIANHE = {
    "type": "Polygon",
    "coordinates": [
        [[113.30, 23.10], [113.45, 23.10], [113.45, 23.25], [113.30, 23.25], [113.30, 23.10]]
    ],
}


def test_user_cities_from_toml_join_the_catalog_regions_and_boundaries(
    tmp_path: Path, no_user_cities: None
) -> None:
    (tmp_path / "tianhe.geojson").write_text(json.dumps(TIANHE), encoding="utf-8")
    (tmp_path / "mine.toml").write_text(
        '[[city]]\ncode = 440106\nname_zh = "天河区"\nname_en = "Tianhe"\n'
        'boundary = "tianhe.geojson"\n\n'
        '[[city]]\ncode = 440103\nname_zh = "荔湾区"\nlon = 113.24\nlat = 23.12\n',
        encoding="utf-8",
    )
    catalog.use_cities(tmp_path / "mine.toml")
    table = catalog.cities()
    assert table.loc[440106, "province_zh"] == "广东省"  # from the code's first two digits
    assert table.loc[440103, "name_en"] == "荔湾区"  # no English name given: the Chinese one
    assert catalog.city_code("Tianhe") == 440106
    region_file = tmp_path / "districts.toml"
    region_file.write_text(
        'id = "gz"\nname_zh = "广州两区"\nname_en = "Two districts"\ncities = [440106, 440103]\n',
        encoding="utf-8",
    )
    region = catalog.load_region(region_file)
    assert [f["properties"]["code"] for f in catalog.boundaries(region)["features"]] == [440106]
    assert geo.location_problem(440106, 113.40, 23.20) is None
    assert "outside the boundary" in str(geo.location_problem(440106, 113.0, 22.5))


def test_user_cities_from_geojson_get_a_centre_inside(tmp_path: Path, no_user_cities: None) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": 440106, "name_zh": "天河区", "name_en": "Tianhe"},
                "geometry": TIANHE,
            }
        ],
    }
    path = tmp_path / "mine.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    catalog.use_cities(path)
    row = catalog.cities().loc[440106]
    assert shape(TIANHE).contains(shapely.Point(row["lon"], row["lat"]))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('[[city]]\ncode = 440100\nname_zh = "广州市"\nlon = 113\nlat = 23\n', "already in"),
        ("[[city]]\ncode = 440106\nlon = 113\nlat = 23\n", "missing name_zh"),
        ('[[city]]\ncode = 440106\nname_zh = "天河区"\n', "give lon and lat, or a boundary"),
        ('[[city]]\ncode = 4401\nname_zh = "x"\nlon = 113\nlat = 23\n', "six digits"),
        ("[[city]\n", "cannot be read"),
    ],
)
def test_a_bad_user_cities_file_names_the_entry_and_the_reason(
    tmp_path: Path, no_user_cities: None, body: str, reason: str
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=reason) as caught:
        catalog.use_cities(path)
    assert "mine.toml" in str(caught.value)
    assert 440106 not in catalog.cities().index  # nothing half-added
