"""The issued forecast is a blend of model, persistence and climatology learnt on a validation
window inside the training period (issue 21, item 1): never worse than the simple baselines on
real data, not extrapolating an extreme issue day, levels from the forecast distribution."""

from __future__ import annotations

import copy
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pytest

from ecobasin.forecast.aqi_range import forecast_aqi, level_hits
from ecobasin.forecast.backtest import backtest
from ecobasin.forecast.blend import (
    apply_weights,
    choose_level_rule,
    fit_weights,
    level_gain_statistic,
    most_probable_level,
    residual_quantiles,
)
from ecobasin.forecast.features import complete_grid
from ecobasin.forecast.models import GBMConfig, _level_rule, train_bundle

SMALL = GBMConfig(leads=(1, 2), rounds=60, num_leaves=7)
#: The real-data slice: all seven leads, fewer rounds than the bench (same code otherwise).
REAL = GBMConfig(rounds=120, num_leaves=15, learning_rate=0.05)


def test_weights_are_non_negative_sum_to_one_and_pick_the_better_member() -> None:
    rng = np.random.default_rng(3)
    truth = rng.gamma(3.0, 20.0, 400)
    members = {
        "model": truth + rng.normal(0, 5, 400),  # good
        "persistence": truth + rng.normal(0, 40, 400),  # poor
        "climatology": np.full(400, truth.mean()),
    }
    w = fit_weights(members, truth)
    assert min(w.values()) >= 0 and sum(w.values()) == pytest.approx(1.0, abs=1e-6)
    assert w["model"] > 0.8  # a clear gain over the best baseline: the move is kept
    blended = apply_weights(members, w)

    def rmse(v: np.ndarray) -> float:
        return float(np.sqrt(np.mean((v - truth) ** 2)))

    assert rmse(blended) < min(rmse(members["persistence"]), rmse(members["climatology"]))
    assert rmse(blended) < 1.1 * rmse(members["model"])


def test_without_evidence_the_blend_stays_at_the_best_baseline() -> None:
    """A member no better than climatology on the validation days gets no weight."""
    rng = np.random.default_rng(5)
    truth = rng.gamma(3.0, 20.0, 300)
    members = {
        "model": truth.mean() + rng.normal(0, 30, 300),  # noise around the mean
        "climatology": np.full(300, truth.mean()),
    }
    w = fit_weights(members, truth, shrink=0.1)
    assert w["climatology"] == pytest.approx(1.0)


def test_a_missing_member_passes_its_weight_to_the_others() -> None:
    members = {"model": np.array([10.0, 10.0]), "climatology": np.array([20.0, np.nan])}
    got = apply_weights(members, {"model": 0.5, "climatology": 0.5})
    np.testing.assert_allclose(got, [15.0, 10.0])


def test_all_the_weight_on_a_missing_guidance_member_issues_the_model_not_nothing() -> None:
    """The best single member can take all the weight; a day without a published run must
    still get a forecast (the learned model stands in)."""
    members = {"model": np.array([10.0, 10.0]), "guidance": np.array([np.nan, 20.0])}
    got = apply_weights(members, {"model": 0.0, "guidance": 1.0})
    np.testing.assert_allclose(got, [10.0, 20.0])


def test_the_level_is_the_most_probable_one_not_the_level_of_the_mean() -> None:
    # 19 quantiles: 11 in level 2, 8 in level 3 → level 2 even if the median sat at 3's edge
    lv = np.array([[2] * 11 + [3] * 8, [1] * 9 + [2] * 9 + [3]])
    np.testing.assert_array_equal(most_probable_level(lv, np.array([3, 2])), [2, 2])


@pytest.fixture(scope="module")
def small_bundle(small_region_bundle: tuple[dict, dict]) -> tuple[dict, dict]:
    """``train_bundle(daily, met, train_end="2014-12-31", config=SMALL)`` on the synthetic
    region (tests/forecast/conftest.py, shared with test_models.py's tests of the same fit)."""
    models, meta = small_region_bundle
    assert meta["config"] == asdict(SMALL)  # the fit these tests mean
    return models, meta


def test_noise_after_the_training_end_changes_no_weight_and_no_forecast(
    region_data: tuple[pd.DataFrame, pd.DataFrame], small_bundle: tuple[dict, dict]
) -> None:
    """Rolling origin: the validation window is inside the training period; noise injected
    after the training end (and after the issue day) changes nothing issued before it
    (``small_bundle``: the same training on the clean data)."""
    daily, met = region_data
    noisy = daily.copy()
    after = noisy["day"] > "2014-12-31"
    noisy.loc[after, "PM2.5"] = np.random.default_rng(1).uniform(0, 2000, int(after.sum()))
    a, meta_a = small_bundle
    b, meta_b = train_bundle(noisy, met, train_end="2014-12-31", config=SMALL)
    assert a["lightgbm"].calibration() == b["lightgbm"].calibration()
    assert meta_a["scores"] == meta_b["scores"]
    issue = [pd.Timestamp("2014-12-31")]
    fa = a["lightgbm"].predict(complete_grid(daily, met), issue, [1, 2])
    fb = b["lightgbm"].predict(complete_grid(noisy, met), issue, [1, 2])
    pd.testing.assert_frame_equal(fa, fb)


def test_the_blend_has_five_members_and_a_weight_record(small_bundle: tuple[dict, dict]) -> None:
    _, meta = small_bundle
    w = meta["scores"]["PM2.5|1"]["weights"]
    assert set(w) == {"model", "model_level", "persistence", "climatology", "anomaly"}
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-6)
    # on the synthetic data the weather drives PM2.5: the models dominate at day +1
    assert w["model"] + w["model_level"] > 0.5


def test_an_extreme_issue_day_far_above_the_training_range_is_not_extrapolated(
    chengdu_inputs: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """Real Chengdu data; an issue day of 890 µg/m³, twice the training maximum (445): the +3
    forecast stays within what training saw instead of following the log ratio up (issue 21:
    a +3 forecast of 671 for an observed 120). The +3 model alone: no shorter lead's blend
    caps how far its members may depart from the baselines, the stricter case."""
    daily, _ = chengdu_inputs
    daily = daily[daily["day"] <= "2015-03-31"].copy()
    train_max = float(daily.loc[daily["day"] <= "2014-12-31", "PM2.5"].max())
    models, _ = train_bundle(
        daily, None, train_end="2014-12-31", config=replace(REAL, use_met=False, leads=(3,))
    )
    spike = daily.copy()
    spike.loc[spike["day"] == "2015-01-20", "PM2.5"] = 890.0
    fc = models["lightgbm"].predict(complete_grid(spike, None), [pd.Timestamp("2015-01-20")], [3])
    value = float(fc.loc[fc["pollutant"] == "PM2.5", "value"].iloc[0])
    assert value <= train_max, f"+3 forecast {value:.0f} above the training maximum {train_max}"


@pytest.mark.parametrize("use_met", [True, False], ids=["with-weather", "without-weather"])
def test_real_chengdu_floors_blend_never_worse_than_the_baselines(
    chengdu_inputs: tuple[pd.DataFrame, pd.DataFrame], use_met: bool
) -> None:
    """Floors of bench/forecast_bench.py on a smaller real slice (test Jan–Jun 2015): at every
    lead the issued PM2.5 RMSE ≤ min(persistence, climatology); day +1 level accuracy ≥
    persistence's."""
    daily, met = chengdu_inputs
    result = backtest(
        daily,
        met,
        test_from="2015-01-01",
        test_to="2015-06-30",
        config=replace(REAL, use_met=use_met),
    )
    s = result.scores.set_index(["model", "lead"])
    for lead in range(1, 8):
        issued = s.loc[("lightgbm", lead), "pm25_rmse"]
        best = min(
            s.loc[("persistence", lead), "pm25_rmse"], s.loc[("climatology", lead), "pm25_rmse"]
        )
        assert issued <= best, f"lead {lead}: {issued:.1f} > best baseline {best:.1f}"
    assert s.loc[("lightgbm", 1), "level_acc"] >= s.loc[("persistence", 1), "level_acc"]


def test_real_beijing_without_weather_never_worse_than_climatology(
    beijing_daily_pm25: pd.DataFrame,
) -> None:
    """Beijing without weather (issue 21: the model was worse than climatology from day +2
    and below persistence's level accuracy at day +1, 68.1 against 65.9 at +2): the bench's
    test year March 2016 → February 2017 with fewer boosting rounds. The strict floor at every
    lead: the blend with three rolling origins and the every-block rule alone missed it by up
    to 0.56 % (at +3 here) by keeping a few per cent of model weight; the former code by
    2–11 %."""
    result = backtest(
        beijing_daily_pm25,
        None,
        test_from="2016-03-01",
        test_to="2017-02-28",
        config=replace(REAL, use_met=False),
    )
    s = result.scores.set_index(["model", "lead"])
    for lead in range(1, 8):
        issued = s.loc[("lightgbm", lead), "pm25_rmse"]
        best = min(
            s.loc[("persistence", lead), "pm25_rmse"], s.loc[("climatology", lead), "pm25_rmse"]
        )
        assert issued <= best + 1e-9, f"lead {lead}: {issued:.3f} > best baseline {best:.3f}"
    assert s.loc[("lightgbm", 1), "level_acc"] >= s.loc[("persistence", 1), "level_acc"]


def test_a_guidance_member_joins_the_blend_and_earns_its_weight(
    region_data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """The place left for numerical-model guidance (issue 21 item 2): any forecast column per
    city, issue day and lead is a member; a good one takes the weight on the validation days."""
    daily, met = region_data
    rng = np.random.default_rng(11)
    parts = []
    for lead in SMALL.leads:
        target = daily.assign(day=daily["day"] - pd.Timedelta(days=lead))  # issue day of it
        parts.append(
            pd.DataFrame(
                {
                    "city": target["city"],
                    "issue_day": target["day"],
                    "lead": lead,
                    "pollutant": "PM2.5",
                    "member": "ctm_simulated",
                    "value": target["PM2.5"] + rng.normal(0, 2, len(target)),
                }
            )
        )
    guidance = pd.concat(parts, ignore_index=True)
    models, meta = train_bundle(
        daily, met, train_end="2014-12-31", config=SMALL, pollutants=["PM2.5"], guidance=guidance
    )
    assert meta["scores"]["PM2.5|1"]["weights"]["ctm_simulated"] > 0.8
    issue = [pd.Timestamp("2015-02-01")]
    grid = complete_grid(daily, met)
    with_g = models["lightgbm"].predict(grid, issue, [1], guidance=guidance)
    without = models["lightgbm"].predict(grid, issue, [1])
    truth = daily.set_index(["city", "day"])["PM2.5"]

    def mean_error(fc: pd.DataFrame) -> float:
        keys = list(zip(fc["city"], fc["target_day"], strict=True))
        return float(np.abs(fc["value"].to_numpy() - truth.loc[keys].to_numpy()).mean())

    assert mean_error(with_g) < mean_error(without)


def test_a_gain_on_one_origin_only_is_no_evidence_the_blend_stays_at_the_baseline() -> None:
    """Rolling origins: a member far better than climatology on two validation blocks and worse
    on the third (a season it does not know) moves the plain blend, not the one told the
    origins: that one is exactly climatology, so its test RMSE is climatology's, not above."""
    rng = np.random.default_rng(8)
    n = 120
    truth = rng.gamma(3.0, 20.0, 3 * n)
    clim = np.full(3 * n, truth.mean())
    model = truth + rng.normal(0, 10, 3 * n)
    model[2 * n :] = truth[2 * n :] + rng.normal(0, 90, n)  # the third block: worse than clim
    members = {"model": model, "climatology": clim}
    origins = np.repeat([0, 1, 2], n)
    assert fit_weights(members, truth)["model"] > 0.3  # without the origins it moves
    w = fit_weights(members, truth, origins=origins)
    assert w == {"model": 0.0, "climatology": 1.0}


def test_a_longer_lead_leaves_the_baselines_no_more_than_the_shorter_one() -> None:
    """Issue 21, Beijing without weather at +4 … +7: a member with a small gain over
    climatology on every validation block kept 5–10 % of the weight, and the test year did not
    repay it. Skill decays with lead: given the previous lead's departure from the baselines
    (none here), the blend is exactly the fallback — climatology, better than persistence on
    every block — so its RMSE is climatology's, not slightly above it."""
    rng = np.random.default_rng(21)
    n = 3 * 150
    truth = 60 + 40 * np.sin(np.arange(n) / 9.0) + rng.normal(0, 25, n)
    climatology = np.full(n, truth.mean())
    members = {
        "model": 0.85 * climatology + 0.15 * truth + rng.normal(0, 3, n),  # a small real gain
        "persistence": np.roll(truth, 20),  # far worse than climatology on every block
        "climatology": climatology,
    }
    origins = np.repeat([0, 1, 2], n // 3)
    assert fit_weights(members, truth, shrink=0.05, origins=origins)["model"] > 0.5
    w = fit_weights(members, truth, shrink=0.05, origins=origins, max_departure=0.0)
    assert w == {"model": 0.0, "persistence": 0.0, "climatology": 1.0}


def test_where_the_better_baseline_changes_between_blocks_the_fallback_is_their_mix() -> None:
    """Chengdu 2015 without weather: climatology was better on one block, persistence on the
    others; a single choice can be the wrong one for the next year, so the fallback hedges."""
    rng = np.random.default_rng(6)
    n = 3 * 150
    truth = rng.gamma(3.0, 20.0, n)
    persistence = truth + np.concatenate([rng.normal(0, 60, n // 3), rng.normal(0, 20, 2 * n // 3)])
    members = {"persistence": persistence, "climatology": np.full(n, truth.mean())}
    w = fit_weights(members, truth, origins=np.repeat([0, 1, 2], n // 3))
    assert 0.1 < w["persistence"] < 0.9


def test_the_best_single_member_is_not_diluted_by_a_combination_without_evidence() -> None:
    """Issue 21 guidance floor: the blend trailed the learned model with guidance features by
    1–6 %. A second member that helps on two blocks and fails the third takes no weight from
    the clearly best single member: the blend is that member, not a mix the window over-rates."""
    rng = np.random.default_rng(4)
    n = 3 * 150
    truth = rng.gamma(3.0, 20.0, n)
    mos_error = np.concatenate([rng.normal(0, 12, 2 * n // 3), rng.normal(0, 70, n // 3)])
    members = {
        "model": truth + rng.normal(0, 10, n),
        "mos": truth + mos_error,
        "persistence": truth + rng.normal(0, 45, n),
        "climatology": np.full(n, truth.mean()),
    }
    w = fit_weights(members, truth, shrink=0.02, origins=np.repeat([0, 1, 2], n // 3))
    assert w["model"] == pytest.approx(1.0)
    assert w["mos"] == 0.0


def _levels_case(rng: np.random.Generator, n: int) -> tuple[np.ndarray, pd.Series]:
    truth = rng.gamma(2.0, 45.0, n)  # PM2.5 [µg/m³] across levels 1–5
    return truth, pd.Series(pd.date_range("2016-03-01", periods=n, freq="D"))


def _paired_hits(
    rng: np.random.Generator, n: int, candidate_only: int, default_only: int
) -> tuple[np.ndarray, np.ndarray]:
    """Level hits of two rules on ``n`` days, discordant on ``candidate_only`` days the
    candidate alone hits and ``default_only`` days persistence alone hits (random days)."""
    default = rng.random(n) < 0.5
    candidate = default.copy()
    days = rng.permutation(n)
    wins, losses = days[:candidate_only], days[candidate_only : candidate_only + default_only]
    default[wins], candidate[wins] = False, True
    default[losses], candidate[losses] = True, False
    return default, candidate


def test_a_few_more_level_hits_by_chance_leave_persistences_level() -> None:
    """Issue 21, Beijing without weather day +1: a level rule with a few more hits on the
    validation days than persistence lost hits to it in the test year. Within one standard error
    (21 against 16 discordant days of 360, t ≈ 0.8) the issued level is persistence's, the
    simplest rule (the one-standard-error rule, ESL 2nd ed. §7.10).
    Mutation caught: ``T_LEVEL = 0`` (any gain replaces persistence) issues the candidate."""
    default, candidate = _paired_hits(np.random.default_rng(31), 360, 21, 16)
    assert candidate.sum() == default.sum() + 5  # the candidate did hit more days
    assert 0 < level_gain_statistic(default, candidate) < 1
    assert choose_level_rule(default, {"blend": candidate}) == "persistence"


def test_more_level_hits_by_over_one_standard_error_issue_the_distributions_level() -> None:
    """The one-standard-error rule: 24 against 16 discordant days of 360 (t ≈ 1.2, more than one
    standard error, less than two) issue the distribution's level (issue 21, Chengdu with
    weather day +1: t = 1.31 was left at persistence's level by a bar of 2, 0.680 → 0.575).
    Mutation caught: the bar of the weights' gate (``T_LEVEL = 2``) keeps persistence."""
    default, candidate = _paired_hits(np.random.default_rng(31), 360, 24, 16)
    assert 1 < level_gain_statistic(default, candidate) < 2
    assert choose_level_rule(default, {"blend": candidate}) == "blend"


def test_clearly_more_level_hits_issue_the_distributions_level() -> None:
    """40 against 8 discordant days (t ≈ 4.8): the distribution's most probable level is issued,
    the candidate with the most hits among the significant ones.
    Mutations caught: a gate that never leaves persistence, or the differential's sign reversed
    (``_hac_t(a - b)``)."""
    rng = np.random.default_rng(32)
    default, strong = _paired_hits(rng, 360, 40, 8)
    weak = default.copy()
    weak[np.flatnonzero(~default)[:5]] = True  # 5 more hits, no losses: significant but fewer
    assert level_gain_statistic(default, strong) > 4
    assert choose_level_rule(default, {"model": weak, "blend": strong}) == "blend"


def _levels_case(rng: np.random.Generator, n: int) -> tuple[np.ndarray, pd.Series]:
    """An AR(1) PM2.5 series in log space across levels 1–5 [µg/m³] and its days."""
    log_pm = np.empty(n)
    state = 0.0
    for i in range(n):
        state = 0.7 * state + 0.45 * rng.standard_normal()
        log_pm[i] = np.log(70.0) + state
    return np.exp(log_pm), pd.Series(pd.date_range("2016-03-01", periods=n, freq="D"))


def test_the_level_rule_defaults_to_persistences_level_without_evidence() -> None:
    """Through the whole rule (:func:`_level_rule`: out-of-block spreads, IAQI levels): members
    no better than persistence at the level give no evidence, so the issued level is
    persistence's, not the most probable level of the blend.
    Mutation caught: the distribution as the default (the rule before this fix: the blend's
    level unless a member hit more on every block) issues ``blend``."""
    rng = np.random.default_rng(21)
    n = 3 * 120
    truth, days = _levels_case(rng, n)
    persistence = np.concatenate([[truth[0]], truth[:-1]])
    climatology = np.full(n, float(np.median(truth)))
    members = {
        "persistence": persistence,
        "climatology": climatology,
        "model": persistence * np.exp(rng.normal(0, 0.05, n)),  # persistence, jittered
    }
    blended = 0.6 * persistence + 0.4 * climatology
    blocks = np.repeat([0, 1, 2], n // 3)
    source, spread = _level_rule("PM2.5", members, blended, truth, days, blocks)
    assert (source, spread) == ("persistence", [0.0] * 19)


def test_the_level_rule_takes_a_distribution_with_clearly_more_hits() -> None:
    """A learned model far closer to the truth than yesterday's value: its most probable level
    hits significantly more days than persistence's on the validation blocks and is issued.
    Mutation caught: a rule that always issues persistence's level."""
    rng = np.random.default_rng(22)
    n = 3 * 120
    truth, days = _levels_case(rng, n)
    persistence = np.concatenate([[truth[0]], truth[:-1]])
    members = {
        "persistence": persistence,
        "model": truth * np.exp(rng.normal(0, 0.1, n)),
        "climatology": np.full(n, float(np.median(truth))),
    }
    blocks = np.repeat([0, 1, 2], n // 3)
    p_hits = level_hits(persistence, [0.0] * 19, truth, "PM2.5", days)
    m_hits = level_hits(
        members["model"], residual_quantiles(members["model"], truth), truth, "PM2.5", days
    )
    assert m_hits.mean() > p_hits.mean() + 0.1
    source, _ = _level_rule("PM2.5", members, members["model"], truth, days, blocks)
    assert source in {"model", "blend"}  # the blend is the model here: same distribution


def test_the_issued_level_without_evidence_is_exactly_persistences(
    region_data: tuple[pd.DataFrame, pd.DataFrame], small_bundle: tuple[dict, dict]
) -> None:
    """Where the gate keeps persistence's level, the forecast's AQI level is the persistence
    baseline's level day by day, missing issue days (its latest value up to two days back)
    included: the floor "day +1 level accuracy ≥ persistence's" then holds as an equality."""
    daily, met = region_data
    gappy = daily[~daily["day"].isin(pd.date_range("2014-12-10", "2014-12-12"))]
    # any fitted model carries the rule: the shared fit, a copy (its gate is set below)
    models = copy.deepcopy(small_bundle[0])
    gbm = models["lightgbm"]
    for key in list(gbm.level_source):
        gbm.level_source[key] = ("persistence", [0.0] * 19)
    grid = complete_grid(gappy, met)
    issue = pd.date_range("2014-12-01", "2014-12-31")
    issued = forecast_aqi(gbm.predict(grid, issue, [1, 2]).assign(model="lightgbm"))
    baseline = forecast_aqi(models["persistence"].predict(grid, issue, [1, 2]).assign(model="p"))
    keys = ["city", "issue_day", "lead"]
    both = issued.merge(baseline, on=keys, suffixes=("", "_p"))
    assert len(both) == len(baseline) > 100
    assert (both["level_p"] > 0).all()  # the gap days have persistence levels too
    np.testing.assert_array_equal(both["level"], both["level_p"])
    assert (both["aqi"] != both["aqi_p"]).any()  # the central values stay the blend's


def test_a_significant_single_member_replaces_the_fallback_despite_one_easy_block() -> None:
    """Issue 21, Chengdu 2015 without weather at +2: the anomaly member beat the baselines by
    t = 2.3 pooled but not on one quiet block where climatology was near-perfect; the every-block
    rule kept the baselines' mix, 1.8 % worse than persistence in the test half-year. A single
    member has no weight fitted on those days: its pooled significance is the evidence."""
    rng = np.random.default_rng(23)
    n = 3 * 150
    truth = rng.gamma(3.0, 20.0, n)
    truth[n // 3 : 2 * n // 3] = 40 + rng.normal(0, 2, n // 3)  # a quiet block
    member = truth + rng.normal(0, 10, n)  # far better on the busy blocks, worse on the quiet
    members = {"anomaly": member, "climatology": np.full(n, 40.0)}
    w = fit_weights(members, truth, origins=np.repeat([0, 1, 2], n // 3))
    assert w["anomaly"] > 0.9  # the member (step 3 may add a little climatology back)
