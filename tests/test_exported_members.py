"""The curated public API of ``ecobasin`` (the shape of httpx's tests/test_exported_members.py).

Adding or removing a public name is a decision: this test makes it a visible one.
"""

from __future__ import annotations

import subprocess
import sys

import ecobasin

PUBLIC = [
    "EcobasinError",
    "InputError",
    "NotFound",
    "Region",
    "Store",
    "StoreBusyError",
    "UnitError",
    "__version__",
    "annual_statistics",
    "aqi_level",
    "city_ranking",
    "classify",
    "composite_index",
    "cwqi_section",
    "daily_aqi",
    "hourly_aqi",
    "iaqi",
    "iaqi_value",
    "is_valid",
    "load_mapping",
    "load_region",
    "main_pollutants",
    "parse_segment",
    "read_cnemc",
    "read_cnemc_water",
    "read_mapped_csv",
    "read_met_forecast",
    "read_tidy_csv",
    "round_gbt8170",
    "tli",
]


def test_all_is_pinned_and_sorted() -> None:
    assert ecobasin.__all__ == PUBLIC
    assert sorted(PUBLIC, key=lambda name: (not name[0].isupper(), name.casefold())) == PUBLIC


def test_every_exported_name_resolves_to_its_defining_module() -> None:
    for name in ecobasin.__all__:
        value = getattr(ecobasin, name)
        if name != "__version__":
            assert value.__module__.startswith("ecobasin."), name
    assert set(ecobasin.__all__) <= set(dir(ecobasin))


def test_public_members_are_all_exported() -> None:
    """Nothing public hides outside ``__all__`` (subpackages are reached by their own names)."""
    modules = {"ecobasin." + name for name in vars(ecobasin)}
    stray = {
        name
        for name, value in vars(ecobasin).items()
        if not name.startswith("_")
        and name not in ecobasin.__all__
        and getattr(value, "__name__", "") not in modules
        and name not in ("annotations", "importlib", "TYPE_CHECKING", "Any")
    }
    assert stray == set()


def test_unknown_names_raise_attribute_error() -> None:
    try:
        ecobasin.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("ecobasin.no_such_name resolved")


def test_import_ecobasin_loads_no_database_driver() -> None:
    code = "import sys, ecobasin; ecobasin.iaqi_value; print('duckdb' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "False"
