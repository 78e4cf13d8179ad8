"""Build the national city catalog and boundaries from the npm package echarts 4.9.0.

Development-time tool, run by hand when the source changes (never at install or run time)::

    .venv/bin/python tools/build_china_catalog.py            # npm pack echarts@4.9.0 in a temp dir
    .venv/bin/python tools/build_china_catalog.py --echarts /path/to/unpacked/package

It writes, in ``src/ecobasin/catalog/data``:

* ``boundaries_china.geojson``: one feature per prefecture-level division of mainland China
  (and per county-level unit a province administers directly, such as 仙桃市 or 石河子市),
  properties ``code`` (GB/T 2260), ``name`` (Chinese full name) and ``center`` [°E, °N];
  geometry simplified (Douglas-Peucker, tolerance ``--tolerance`` [°]) and rounded to
  1/1000 degree, the grain of the source (1/1024 degree).
* ``cities.csv``: code, names zh/en, short name, province zh/en and centre of every feature.

Source: ``map/json/province/*.json`` of echarts 4.9.0 (Apache License 2.0), whose geometry is
stored in ECharts' "UTF8Encoding" form: each ring is a string of character pairs, each pair a
zigzag-encoded delta from the previous point (the first from ``encodeOffsets``), in units of
1/1024 degree (``parseGeoJson.js``, ``decodePolygon``). The four municipalities (北京, 天津, 上海,
重庆) are province files of districts: their city is the union of the districts, under the
code of their urban area (110100 ...), as the catalog has always named them. Taiwan, Hong Kong and
Macao are out of scope (mainland China).

English names: the official romanisations known to the catalog before (``EN_OVERRIDES``), else
Hanyu Pinyin of the short name through ``pypinyin`` (apostrophe before a syllable starting with
a, o or e, GB/T 16159-2012 §6.1.7), with the polyphones and the usual non-pinyin forms fixed in
``EN_OVERRIDES``. The centre is the source's label point (``cp``) when it lies inside the
polygon, else a point guaranteed inside it (``representative_point``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import shapely
from pypinyin import Style, lazy_pinyin
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

PACKAGE = "echarts@4.9.0"
OUT = Path(__file__).resolve().parents[1] / "src" / "ecobasin" / "catalog" / "data"
MUNICIPALITIES = {"beijing": 110100, "tianjin": 120100, "shanghai": 310100, "chongqing": 500100}
OUT_OF_SCOPE = {"taiwan", "xianggang", "aomen"}

#: Province file → (Chinese name, English name); 陕西 is Shaanxi by the official spelling.
PROVINCES = {
    "anhui": ("安徽省", "Anhui"),
    "beijing": ("北京市", "Beijing"),
    "chongqing": ("重庆市", "Chongqing"),
    "fujian": ("福建省", "Fujian"),
    "gansu": ("甘肃省", "Gansu"),
    "guangdong": ("广东省", "Guangdong"),
    "guangxi": ("广西壮族自治区", "Guangxi"),
    "guizhou": ("贵州省", "Guizhou"),
    "hainan": ("海南省", "Hainan"),
    "hebei": ("河北省", "Hebei"),
    "heilongjiang": ("黑龙江省", "Heilongjiang"),
    "henan": ("河南省", "Henan"),
    "hubei": ("湖北省", "Hubei"),
    "hunan": ("湖南省", "Hunan"),
    "jiangsu": ("江苏省", "Jiangsu"),
    "jiangxi": ("江西省", "Jiangxi"),
    "jilin": ("吉林省", "Jilin"),
    "liaoning": ("辽宁省", "Liaoning"),
    "neimenggu": ("内蒙古自治区", "Inner Mongolia"),
    "ningxia": ("宁夏回族自治区", "Ningxia"),
    "qinghai": ("青海省", "Qinghai"),
    "shandong": ("山东省", "Shandong"),
    "shanghai": ("上海市", "Shanghai"),
    "shanxi": ("山西省", "Shanxi"),
    "shanxi1": ("陕西省", "Shaanxi"),
    "sichuan": ("四川省", "Sichuan"),
    "tianjin": ("天津市", "Tianjin"),
    "xinjiang": ("新疆维吾尔自治区", "Xinjiang"),
    "xizang": ("西藏自治区", "Xizang"),
    "yunnan": ("云南省", "Yunnan"),
    "zhejiang": ("浙江省", "Zhejiang"),
}

#: English names that are not the plain pinyin of the short name: the catalog's earlier
#: romanisations (Tibetan place names), polyphones pypinyin reads otherwise, usual forms.
EN_OVERRIDES = {
    513200: "Ngawa",
    513300: "Garzê",
    150100: "Hohhot",
    650100: "Urumqi",
    540100: "Lhasa",
    340300: "Bengbu",
    341500: "Lu'an",
    # polyphones read otherwise by pypinyin
    140400: "Changzhi",
    211300: "Chaoyang",
    411100: "Luohe",
    # the usual forms of non-Han place names (Mongolian, Uyghur, Tibetan and others)
    150600: "Ordos",
    150700: "Hulunbuir",
    150800: "Bayannur",
    150900: "Ulanqab",
    152500: "Xilingol",
    152900: "Alxa",
    230100: "Harbin",
    230200: "Qiqihar",
    540200: "Shigatse",
    540300: "Qamdo",
    540400: "Nyingchi",
    542400: "Nagqu",
    542500: "Ngari",
    632600: "Golog",
    650200: "Karamay",
    650400: "Turpan",
    652700: "Bortala",
    652800: "Bayingolin",
    652900: "Aksu",
    653000: "Kizilsu",
    653100: "Kashgar",
    653200: "Hotan",
    654000: "Ili",
    654300: "Altay",
    659002: "Aral",
    659003: "Tumxuk",
}

#: Suffixes stripped for the short name when the source has none (the order matters).
SUFFIXES = ("地区", "市", "盟", "县")


def decode_ring(encoded: str, offset: list[int], scale: float) -> list[list[float]]:
    """Decode one ECharts "UTF8Encoding" ring (``parseGeoJson.js`` ``decodePolygon``) [°]."""
    ring = []
    x, y = offset
    for i in range(0, len(encoded), 2):
        dx, dy = ord(encoded[i]) - 64, ord(encoded[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)  # zigzag: even → positive, odd → negative
        y += (dy >> 1) ^ -(dy & 1)
        ring.append([x / scale, y / scale])
    return ring


def decode_geometry(geometry: dict[str, Any], scale: float) -> dict[str, Any]:
    """A plain GeoJSON Polygon or MultiPolygon from an encoded one."""
    offsets = geometry["encodeOffsets"]
    if geometry["type"] == "Polygon":
        rings = [
            decode_ring(r, o, scale) for r, o in zip(geometry["coordinates"], offsets, strict=True)
        ]
        return {"type": "Polygon", "coordinates": rings}
    polygons = [
        [decode_ring(r, o, scale) for r, o in zip(polygon, polygon_offsets, strict=True)]
        for polygon, polygon_offsets in zip(geometry["coordinates"], offsets, strict=True)
    ]
    return {"type": "MultiPolygon", "coordinates": polygons}


def to_shape(geometry: dict[str, Any]) -> BaseGeometry:
    """A valid shapely geometry; rings of fewer than 4 points (decoding slivers) dropped."""

    def polygon(rings: list[Any]) -> list[Any]:
        return [ring for ring in rings if len(ring) >= 4]

    if geometry["type"] == "Polygon":
        parts = [polygon(geometry["coordinates"])]
    else:
        parts = [polygon(rings) for rings in geometry["coordinates"]]
    multi = {"type": "MultiPolygon", "coordinates": [p for p in parts if p]}
    return shapely.make_valid(shape(multi))


def pinyin_name(short_zh: str) -> str:
    """Hanyu Pinyin of a place name, capitalised, with the syllable-dividing apostrophe."""
    syllables = lazy_pinyin(short_zh, style=Style.NORMAL, v_to_u=True)
    text = syllables[0]
    for syllable in syllables[1:]:
        text += ("'" if syllable[:1] in "aoe" else "") + syllable
    return text.capitalize()


def fetch_echarts(workdir: Path) -> Path:
    """``npm pack echarts@4.9.0`` into ``workdir`` and unpack it; the package folder."""
    subprocess.run(["npm", "pack", PACKAGE], cwd=workdir, check=True, capture_output=True)
    with tarfile.open(next(workdir.glob("echarts-*.tgz"))) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / "package"


def read_province(path: Path) -> list[dict[str, Any]]:
    """The features of one province file, decoded; parts without an id join their namesake."""
    data = json.loads(path.read_text(encoding="utf-8"))
    scale = float(data.get("UTF8Scale", 1024))
    encoded = bool(data.get("UTF8Encoding"))  # xizang.json ships plain coordinates
    features: dict[str, dict[str, Any]] = {}
    for feature in data["features"]:
        props = feature["properties"]
        plain = decode_geometry(feature["geometry"], scale) if encoded else feature["geometry"]
        geometry = to_shape(plain)
        key = str(props["name"])
        if key in features:
            features[key]["geometry"] = features[key]["geometry"].union(geometry)
            continue
        features[key] = {"id": feature.get("id"), "name": key, "cp": props.get("cp"),
                         "geometry": geometry}  # fmt: skip
    return list(features.values())


def short_names(package: Path) -> tuple[dict[int, str], dict[int, list[float]]]:
    """Short Chinese names (成都, 恩施, 博尔塔拉 ...) and label points by code, from
    ``china-cities.json``."""
    data = json.loads((package / "map/json/china-cities.json").read_text(encoding="utf-8"))
    features = [f for f in data["features"] if f.get("id")]
    names = {int(f["id"]): str(f["properties"]["name"]) for f in features}
    return names, {int(f["id"]): f["properties"]["cp"] for f in features}


def short_name(full: str) -> str:
    for suffix in SUFFIXES:
        if full.endswith(suffix) and len(full) > len(suffix) + 1:
            return full[: -len(suffix)]
    return full


def build(package: Path, tolerance: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(GeoJSON features, city rows), sorted by code."""
    shorts, centres = short_names(package)
    features, rows = [], []
    for path in sorted((package / "map/json/province").glob("*.json")):
        if path.stem in OUT_OF_SCOPE:
            continue
        province_zh, province_en = PROVINCES[path.stem]
        parts = read_province(path)
        if path.stem in MUNICIPALITIES:
            code = MUNICIPALITIES[path.stem]
            whole = shapely.union_all([p["geometry"] for p in parts])
            seat = centres.get(code // 10_000 * 10_000)  # the city hall: 110000 in china-cities
            cities = [{"id": code, "name": province_zh, "cp": seat, "geometry": whole}]
        else:
            cities = parts
        for city in cities:
            code = int(city["id"])
            geometry = _polygons(shapely.make_valid(city["geometry"].simplify(tolerance)))
            geometry = _polygons(shapely.set_precision(geometry, 0.001))
            centre = _centre(geometry, city["cp"])
            short = short_name(shorts.get(code) or city["name"])
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": code, "name": city["name"], "center": centre},
                    "geometry": mapping(geometry),
                }
            )
            rows.append(
                {
                    "code": code,
                    "name_zh": city["name"],
                    "short_zh": short,
                    "name_en": EN_OVERRIDES.get(code) or pinyin_name(short),
                    "province_zh": province_zh,
                    "province_en": province_en,
                    "lon": centre[0],
                    "lat": centre[1],
                }
            )
    order = sorted(range(len(rows)), key=lambda i: rows[i]["code"])
    return [features[i] for i in order], [rows[i] for i in order]


def _polygons(geometry: BaseGeometry) -> BaseGeometry:
    """Only the areal parts: repairing may leave stray lines or points beside the polygons."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [part for part in getattr(geometry, "geoms", []) if part.geom_type.endswith("Polygon")]
    return shapely.union_all(parts)


def _centre(geometry: BaseGeometry, label_point: list[float] | None) -> list[float]:
    if label_point is not None and geometry.contains(shapely.Point(label_point)):
        return [round(float(label_point[0]), 6), round(float(label_point[1]), 6)]
    inside = geometry.representative_point()
    return [round(inside.x, 3), round(inside.y, 3)]


CSV_HEADER = """\
# Prefecture-level divisions of mainland China (and the county-level units a province administers
# directly), GB/T 2260 codes. GENERATED by tools/build_china_catalog.py from the npm package
# echarts 4.9.0 (Apache License 2.0, map/json/province/*.json): do not edit by hand; add your own
# cities or districts in a file named by the `cities` setting (docs/regions.md).
# Municipalities use the code of their urban area (110100 ...). Centres: the package's label
# point when inside the boundary, else a point inside it. English names: Hanyu Pinyin of the
# short name (pypinyin) except the official forms listed in the tool.
"""


def write(features: list[dict[str, Any]], rows: list[dict[str, Any]], out: Path) -> None:
    collection = {"type": "FeatureCollection", "features": features}
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    (out / "boundaries_china.geojson").write_text(text + "\n", encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (out / "cities.csv").write_text(CSV_HEADER + buffer.getvalue(), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--echarts", type=Path, help="unpacked echarts 4.9.0 package folder")
    parser.add_argument("--tolerance", type=float, default=0.005, help="simplification [°]")
    parser.add_argument("--out", type=Path, default=OUT, help="catalog data folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        package = args.echarts or fetch_echarts(Path(temp))
        features, rows = build(package, args.tolerance)
    write(features, rows, args.out)
    print(f"{len(rows)} divisions written to {args.out}")


if __name__ == "__main__":
    main()
