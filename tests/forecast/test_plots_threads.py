"""Charts drawn by several server threads at once, in a process that has not yet imported
matplotlib (the CI failure of 2026-12-06: two source plots of one page were requested together and
both answered HTTP 500, "module 'matplotlib' has no attribute 'get_data_path'")."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Each thread waits at a barrier, then draws a different chart: the first import of matplotlib
# happens in all of them at the same moment, as in the server's thread pool.
_RACE = textwrap.dedent(
    """
    import threading

    import numpy as np
    import pandas as pd

    from ecobasin.forecast.plots import score_by_lead_png
    from ecobasin.sources.maps import cell_map_png, station_map_png
    from ecobasin.sources.plots import cpf_rose_png, polar_png, pollution_rose_png
    from ecobasin.sources.polar import PolarSurface

    rng = np.random.default_rng(7)
    cells = pd.DataFrame({"lat": [30.6, 30.7], "lon": [104.0, 104.1], "N": [5, 9],
                          "cpf": [0.2, 0.7]})
    stations = pd.DataFrame({"lon": [104.0], "lat": [30.6], "colour": ["#2f6f9f"],
                             "label": ["S1"]})
    sectors = pd.DataFrame({"cpf": [0.1, 0.3, np.nan], "n": [20, 30, 2]},
                           index=[0.0, 120.0, 240.0])
    axis = np.linspace(-5.0, 5.0, 11)
    surface = PolarSurface(axis=axis, z=rng.uniform(0.0, 1.0, (11, 11)), upper=5.0)
    bins = pd.DataFrame({"u": [0.0, 1.0], "v": [0.0, 1.0], "n": [3, 30], "weight": [np.nan, 1.0]})
    scores = pd.DataFrame({"model": ["persistence"] * 2, "lead": [1, 2],
                           "aqi_rmse": [20.0, 25.0]})
    other_scores = scores.assign(aqi_rmse=[31.0, 12.0])
    wd, conc = rng.uniform(0, 360, 200), rng.uniform(0, 200, 200)
    # the source page's plots, requested together (the polar plot and the CPF rose were the pair
    # that failed in CI), and a forecast chart
    charts = [
        lambda: polar_png(bins, surface, title="t", label="l", min_bin=5),
        lambda: cpf_rose_png(sectors, title="t", threshold=75.0, unit="µg/m³", min_n=10),
        lambda: cell_map_png(cells, column="cpf", inc=0.1, title="t", value_label="v",
                             receptor=(104.0, 30.6, "r"), outlines=(), probability=True),
        lambda: station_map_png(stations, title="t", outlines=(), legend=(("#2f6f9f", "a"),),
                                note="n"),
        lambda: pollution_rose_png(wd, conc, title="t", unit="µg/m³"),
        # two pyplot charts at once: each must get a figure of its own
        lambda: score_by_lead_png(scores, metrics=("aqi_rmse",)),
        lambda: score_by_lead_png(other_scores, metrics=("aqi_rmse",)),
    ]
    barrier = threading.Barrier(len(charts))
    failures = []

    drawn = {}

    def draw(chart):
        barrier.wait()
        try:
            drawn[chart] = chart()
        except Exception as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=draw, args=(c,)) for c in charts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # each chart drawn in the crowd is the chart drawn alone
    failures += [f"chart {i} differs" for i, c in enumerate(charts) if drawn.get(c) != c()]
    print(len(failures), "failures of", len(charts), "charts:", failures[:2])
    raise SystemExit(1 if failures else 0)
    """
)


def test_charts_drawn_in_threads_at_first_import() -> None:
    # Before load_matplotlib(), about 7 fresh interpreters in 10 failed (most threads received a
    # partially initialised matplotlib.transforms); four passing by chance is about 1 in 120.
    for _ in range(4):
        run = subprocess.run(
            [sys.executable, "-c", _RACE], capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 0, run.stdout + run.stderr[-3000:]
