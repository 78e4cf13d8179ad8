"""The PMF store on a real DuckDB file without the worker (issue 19, B7): a solution saved for a
site comes back with the same matrices, species and bootstrap; runs list newest first; an
unknown site or run is not found; the figures of a stored run render as PNG and SVG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecobasin.errors import InputError, NotFound
from ecobasin.services import pmf
from ecobasin.store import Store
from source_helpers import build

SPECIES = ["SO4", "NO3", "OC", "Si"]


def _solution(bootstrap: bool) -> pmf.PmfResult:
    """A two-factor solution of six samples (G·F given, as the worker returns them)."""
    rng = np.random.default_rng(3)
    names = ["factor1", "factor2"]
    samples = pd.Index([f"2025-01-0{d}" for d in range(1, 7)], name="sample")
    profiles = pd.DataFrame(rng.uniform(0.1, 3.0, (2, 4)), names, SPECIES)
    contributions = pd.DataFrame(rng.gamma(2.0, 1.0, (6, 2)), samples, names)
    species = pd.DataFrame({"signal_to_noise": [5.0, 0.8, 3.0, 2.0],
                            "category": ["strong", "weak", "strong", "strong"]},
                           index=pd.Index(SPECIES, name="species"))  # fmt: skip
    intervals = pd.DataFrame([
        {"factor": f, "species": s, "measure": "share", "p05": 0.1, "p50": 0.2, "p95": 0.3,
         "mapped": 10} for f in names for s in SPECIES
    ])  # fmt: skip
    summary = {"runs": 10, "block_size": 2, "r2_threshold": 0.6, "mapped_share": 1.0,
               "mapped_per_factor": {"factor1": 10, "factor2": 10}}  # fmt: skip
    return pmf.PmfResult(
        profiles=profiles, contributions=contributions, q_true=12.5, q_robust=12.0,
        q_expected=8, models_q_true=[12.5, float("nan"), 13.0], species=species,
        esat_version="2025.0.1", bootstrap=summary if bootstrap else None,
        bootstrap_intervals=intervals if bootstrap else None,
    )  # fmt: skip


def test_a_saved_run_comes_back_whole(tmp_path: Path) -> None:
    db = tmp_path / "pmf.duckdb"
    build(db)
    at = datetime(2025, 3, 1, tzinfo=UTC)
    solution = _solution(bootstrap=True)
    with Store(db) as store:
        first = pmf.save_run(store, "OWN", _solution(False), models=3, seed=1, by="a", at=at)
        second = pmf.save_run(store, "OWN", solution, models=3, seed=1, by="b",
                              at=at + timedelta(hours=1))  # fmt: skip
        with pytest.raises(NotFound, match="no site NOPE"):
            pmf.save_run(store, "NOPE", solution, models=3, seed=1, by="b", at=at)
        listed = pmf.runs(store, "OWN")
        run = pmf.stored_run(store, "OWN", second)
        latest = pmf.latest_run(store, "OWN")
        with pytest.raises(NotFound, match="no PMF run"):
            pmf.stored_run(store, "NEAR", second)  # another site's run id
        assert pmf.latest_run(store, "NEAR") is None
    assert [r["run_id"] for r in listed] == [second, first]  # newest first
    assert latest is not None and latest["run_id"] == second
    assert (run["first_sample"], run["last_sample"], run["samples"]) == (
        "2025-01-01",
        "2025-01-06",
        6,
    )
    assert run["models_q_true"] == [12.5, None, 13.0]  # a seed that failed is null, not NaN
    stored_f = pd.DataFrame.from_dict(run["profiles"], orient="index")
    stored_g = pd.DataFrame.from_dict(run["contributions"], orient="index")
    assert np.allclose(stored_f.to_numpy(), solution.profiles.to_numpy())
    assert np.allclose(stored_g.to_numpy(), solution.contributions.to_numpy())
    assert [s["category"] for s in run["species"]] == ["strong", "weak", "strong", "strong"]
    assert run["bootstrap"]["mapped_share"] == 1.0 and len(run["bootstrap"]["intervals"]) == 8
    assert run["created_by"] == "b" and run["created_at"] == at + timedelta(hours=1)
    png = pmf.pmf_plot(run, "profiles", "png")
    svg = pmf.pmf_plot(run, "contributions", "svg").decode()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and "named by the analyst" in svg
    with pytest.raises(InputError, match="profiles or contributions"):
        pmf.pmf_plot(run, "rose", "png")
