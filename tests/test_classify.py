"""tests/classify.py: the rules that keep the quick subset (``pytest -m "not slow"``) honest."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import settings

from classify import (
    CPU_PROPERTY,
    MANY_EXAMPLES,
    MEASURED_QUICK_CPU_FILE,
    MEASURED_WALL_FILE,
    PROCESS_CALLS,
    QUICK_CPU_BUDGET_S,
    QUICK_TEST_CPU_LIMIT_S,
    SESSION_SETUP_CPU_PROPERTY,
    SESSION_SETUP_PROPERTY,
    SHARED_SERVER_FOLDERS,
    SHARED_SETUP_LIMIT_S,
    SHARED_SETUP_PROPERTY,
    TESTS,
    TRAINING_CALLS,
    UNRECORDED_TEST_S,
    _calls,
    examples_in,
    heavy_quick_tests,
    hypothesis_profile,
    left_out_of_quick_run,
    longest_first,
    measured_cpu,
    measured_wall,
    one_part_per_first_wave,
    quick_recordable,
    record_measured_cpu,
    record_measured_wall,
    record_quick_cpu,
    recordable,
    shared_server_parts,
    shared_setup_key,
    slow_reason,
    worker_group,
)
from ecobasin.forecast.blend import fit_weights
from ecobasin.forecast.models import train_bundle


def _fits_the_bundle(daily: pd.DataFrame) -> None:
    train_bundle(daily, None, train_end="2014-12-31")


def _asks_a_helper_that_fits(daily: pd.DataFrame) -> None:
    _fits_the_bundle(daily)


def _weighs_given_members(members: pd.DataFrame, truth: pd.Series) -> None:
    fit_weights(members, truth)


def test_training_the_forecast_models_is_found_in_the_code_and_through_helpers() -> None:
    assert _calls(_fits_the_bundle, TRAINING_CALLS)
    assert _calls(_asks_a_helper_that_fits, TRAINING_CALLS)
    # the blend's weights are a least-squares fit of given forecasts, no model training
    assert not _calls(_weighs_given_members, TRAINING_CALLS)
    assert not _calls(_fits_the_bundle, PROCESS_CALLS)


def _report(
    nodeid: str,
    when: str,
    cpu_s: list[float],
    slow: bool = False,
    setups: list[tuple[str, float]] = (),  # type: ignore[assignment]
    session_setups: list[float] = (),  # type: ignore[assignment]
) -> pytest.TestReport:
    properties: list[tuple[str, object]] = [(CPU_PROPERTY, cpu) for cpu in cpu_s]
    properties += [(SHARED_SETUP_PROPERTY, setup) for setup in setups]
    properties += [(SESSION_SETUP_CPU_PROPERTY, cpu) for cpu in session_setups]
    return pytest.TestReport(
        nodeid,
        (nodeid, None, nodeid),
        {"slow": 1} if slow else {},
        "passed",
        None,
        when,
        user_properties=properties,
    )


def test_the_summary_names_the_quick_tests_over_their_cpu_budget() -> None:
    stats = {
        "passed": [_report("t.py::heavy", "call", [0.5, 2.0])],
        "": [
            _report("t.py::heavy", "teardown", [0.5, 2.0, 0.1]),  # the three phases: 2.6 s
            _report("t.py::light", "teardown", [0.1, 1.0, 0.1]),
            _report("t.py::heavier", "teardown", [3.0, 1.0, 0.0]),
            _report("t.py::slow_one", "teardown", [9.0, 9.0, 9.0], slow=True),
        ],
    }
    assert heavy_quick_tests(stats, budget_s=2.0) == [(4.0, "t.py::heavier"), (2.6, "t.py::heavy")]


def test_a_test_measured_over_the_cpu_limit_is_slow_and_one_under_it_is_not(
    request: pytest.FixtureRequest,
) -> None:
    me = request.node.nodeid
    over = slow_reason(request.node, {}, measured={me: QUICK_TEST_CPU_LIMIT_S + 0.01})
    assert over is not None and f"{QUICK_TEST_CPU_LIMIT_S + 0.01:.2f} s of CPU" in over
    assert slow_reason(request.node, {}, measured={me: QUICK_TEST_CPU_LIMIT_S}) is None
    assert slow_reason(request.node, {}, measured={}) is None  # never measured: quick


def test_a_test_measured_over_the_limit_in_a_quick_run_is_slow(
    request: pytest.FixtureRequest,
) -> None:
    """The whole run can measure a test cheap that the quick run finds dear: a chart or a PDF
    engine that a slow test of the same worker had already loaded."""
    me = request.node.nodeid
    over = slow_reason(request.node, {}, measured={me: 0.05}, measured_quick={me: 0.9})
    assert over is not None and MEASURED_QUICK_CPU_FILE.name in over and "0.90 s" in over
    at_limit = {me: QUICK_TEST_CPU_LIMIT_S}
    assert slow_reason(request.node, {}, measured={}, measured_quick=at_limit) is None


def test_a_quick_record_leaves_out_wider_set_ups_and_keeps_the_dearer_figure(
    tmp_path: Path,
) -> None:
    path = tmp_path / "quick.tsv"
    module_store = shared_setup_key("tests/a.py", "store")
    first = {
        "": [
            # 2.5 s, of which 2.0 s set up the module's store: its own 0.5 s is under the bar
            _report("a.py::first", "teardown", [2.5, 0.0], setups=[(module_store, 2.0)]),
            # 1.8 s, of which 0.3 s set up a session fixture: 1.5 s of its own
            _report("a.py::chart", "teardown", [1.6, 0.2], session_setups=[0.3]),
            _report("a.py::near", "teardown", [QUICK_CPU_BUDGET_S]),  # at the bar: cheap enough
            _report("a.py::slow_one", "teardown", [5.0], slow=True),  # not the quick run's
        ]
    }
    assert record_quick_cpu(path, first) == 1
    assert measured_cpu(path) == pytest.approx({"a.py::chart": 1.5})
    later = {
        "": [_report("a.py::chart", "teardown", [1.2]), _report("a.py::pdf", "teardown", [2.0])]
    }
    assert record_quick_cpu(path, later) == 2
    assert measured_cpu(path) == pytest.approx({"a.py::chart": 1.5, "a.py::pdf": 2.0})
    assert path.read_text(encoding="utf-8").startswith("#")


def test_only_the_whole_quick_subset_is_recorded_as_such() -> None:
    assert quick_recordable("not slow", None, whole_suite=True)
    assert not quick_recordable("not slow", None, whole_suite=False)  # some files only
    assert not quick_recordable("not slow", "consultation", whole_suite=True)
    assert not quick_recordable("slow", None, whole_suite=True)
    assert not quick_recordable("not slow and not browser", None, whole_suite=True)


def test_recorded_cpu_replaces_the_measured_tests_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "cpu.tsv"
    first = {
        "": [_report("a.py::old", "teardown", [0.2, 0.3]), _report("a.py::x", "teardown", [1.0])]
    }
    assert record_measured_cpu(path, first) == 2
    assert measured_cpu(path) == {"a.py::old": 0.5, "a.py::x": 1.0}
    # a later run of x alone: its figure is replaced, old's kept, a cheap test not written
    later = {
        "": [_report("a.py::x", "teardown", [0.1, 0.0]), _report("a.py::tiny", "teardown", [0.01])]
    }
    assert record_measured_cpu(path, later) == 2
    assert measured_cpu(path) == {"a.py::old": 0.5, "a.py::x": 0.1}
    assert path.read_text(encoding="utf-8").startswith("#")


def test_a_long_hypothesis_search_is_found_in_the_source() -> None:
    long_search = (
        "@settings(max_examples=3000, deadline=None)\n@given(st.floats())\ndef test_x(v):\n"
    )
    assert examples_in(long_search) == 3000 >= MANY_EXAMPLES
    assert examples_in("@settings(deadline=None, max_examples = 50)\n@given(st.integers())\n") == 50
    assert examples_in("@given(st.integers())\ndef test_y(n):\n") == 0  # the profile's count


def test_the_quick_subset_runs_the_shorter_hypothesis_profile() -> None:
    assert hypothesis_profile("not slow", None) == "ecobasin-quick"
    assert hypothesis_profile("not slow and not browser", None) == "ecobasin-quick"
    assert hypothesis_profile("", None) == "ecobasin"
    assert hypothesis_profile("slow", None) == "ecobasin"
    assert hypothesis_profile("not slow", "ecobasin") == "ecobasin"  # the environment chooses
    assert settings.get_profile("ecobasin").max_examples == 100  # Hypothesis's default, kept
    assert settings.get_profile("ecobasin-quick").max_examples < 100


def test_only_a_run_that_deselects_nothing_records_its_cpu() -> None:
    # a module's shared set-up is charged to its first test that runs: only in a run of whole
    # modules is that the test it will be in every run
    assert recordable("", "")
    assert recordable(None, None)
    assert not recordable("not slow", "")
    assert not recordable("", "consultation")


def test_the_modules_of_a_shared_server_run_on_one_worker() -> None:
    # the header tests share a package-scoped server (tests/security/conftest.py): on two workers
    # each would start its own, on one the server starts once
    headers = worker_group("tests/security/test_limits_headers.py::test_a")
    assert headers == worker_group("tests/security/test_limits_security_headers.py::test_b[/]")
    assert worker_group("tests/security/test_auth_lockout.py::t") != headers  # its own module
    # a module's tests stay together, whatever their parameters
    assert worker_group("tests/browser/test_phone_layout.py::t[320]") == worker_group(
        "tests/browser/test_phone_layout.py::u"
    )


def test_the_browser_folder_runs_in_three_groups_of_balanced_wall() -> None:
    browser = sorted(p.name for p in (TESTS / "browser").glob("test_*.py"))
    groups = {worker_group(f"tests/browser/{name}::t") for name in browser}
    assert groups == {"tests/browser/#1", "tests/browser/#2", "tests/browser/#3"}
    assert SHARED_SERVER_FOLDERS["tests/browser/"] == len(groups)
    # no group much longer than a third: at most a third and the longest module (the greedy rule's
    # bound), by the wall of the last recorded run
    wall: dict[str, float] = {}
    module_wall: dict[str, float] = {}
    for nodeid, seconds in measured_wall(MEASURED_WALL_FILE).items():
        module = nodeid.split("::", 1)[0]
        if module.startswith("tests/browser/"):
            group = worker_group(nodeid)
            wall[group] = wall.get(group, 0.0) + seconds
            module_wall[module] = module_wall.get(module, 0.0) + seconds
    assert max(wall.values()) <= sum(wall.values()) / 3 + max(module_wall.values())


def test_the_parts_of_a_shared_server_folder_are_balanced_by_recorded_wall() -> None:
    modules = ["t/a.py", "t/b.py", "t/c.py", "t/d.py", "t/e.py", "t/new.py"]
    measured = {"t/a.py::x": 90.0, "t/b.py::x": 40.0, "t/b.py::y": 35.0, "t/c.py::x": 50.0}
    measured |= {"t/d.py::x": 30.0, "t/e.py::x": 20.0, "elsewhere.py::x": 500.0}
    split = shared_server_parts(modules, 3, measured)
    assert split == {  # the longest first onto the lightest part so far
        "t/a.py": 0,  # 90
        "t/b.py": 1,  # 75
        "t/c.py": 2,  # 50
        "t/d.py": 2,  # 80
        "t/e.py": 1,  # 95
        "t/new.py": 2,  # never recorded: the lightest part (80)
    }
    assert shared_server_parts(modules, 1, measured) == dict.fromkeys(modules, 0)
    assert shared_server_parts(list(reversed(modules)), 3, measured) == split  # order-free


@pytest.fixture(scope="module")
def module_wide() -> str:
    return "set up once for the module"


def test_a_shared_setup_measured_over_its_limit_makes_every_user_slow(
    request: pytest.FixtureRequest, module_wide: str
) -> None:
    # charged to the first test that runs, the set-up would otherwise wander from test to test
    baseid = request.node._fixtureinfo.name2fixturedefs["module_wide"][-1].baseid
    assert baseid == "tests/test_classify.py"
    key = shared_setup_key(baseid, "module_wide")
    over = slow_reason(request.node, {}, measured={key: SHARED_SETUP_LIMIT_S + 0.01})
    assert over is not None and "fixture module_wide's set-up" in over
    assert slow_reason(request.node, {}, measured={key: SHARED_SETUP_LIMIT_S}) is None
    other = shared_setup_key("tests/web/test_x.py", "module_wide")  # another module's fixture
    assert slow_reason(request.node, {}, measured={other: 9.0}) is None


def test_recorded_shared_setups_keep_the_dearest_set_up(tmp_path: Path) -> None:
    path = tmp_path / "cpu.tsv"
    key = shared_setup_key("tests/a.py", "store")
    stats = {
        "passed": [_report("tests/a.py::t1", "setup", [2.0], setups=[(key, 1.5)])],
        "": [_report("tests/a.py::t1", "teardown", [2.0, 0.1, 0.0], setups=[(key, 1.9)])],
    }
    record_measured_cpu(path, stats)
    assert measured_cpu(path) == {"tests/a.py::t1": 2.1, key: 1.9}


def test_the_quick_subset_does_not_import_the_slow_modules() -> None:
    def config(markexpr: str) -> pytest.Config:
        return SimpleNamespace(option=SimpleNamespace(markexpr=markexpr))  # type: ignore[return-value]

    slow_modules = {"test_demo.py": "builds demo years"}
    slow_module = TESTS / "test_demo.py"
    assert slow_module.is_file()
    assert left_out_of_quick_run(slow_module, config("not slow"), slow_modules)
    assert not left_out_of_quick_run(slow_module, config(""), slow_modules)
    assert not left_out_of_quick_run(slow_module, config("slow"), slow_modules)
    assert not left_out_of_quick_run(Path(__file__), config("not slow"), slow_modules)


def test_the_longest_worker_groups_are_sent_first() -> None:
    # a module of one long test (an end-to-end run) before a module of many short ones: sent
    # last, it would run alone at the end
    groups = {
        "tests/many.py": {f"tests/many.py::t{i}": False for i in range(50)},
        "tests/e2e.py": {"tests/e2e.py::whole_loop": False},
        "tests/new.py": {"tests/new.py::a": False, "tests/new.py::b": False},
    }
    measured = {"tests/e2e.py::whole_loop": 120.0, "tests/many.py::t0": 3.0}
    order = [name for name, _ in longest_first(groups, measured)]
    assert order == ["tests/e2e.py", "tests/many.py", "tests/new.py"]
    # never recorded: counted at UNRECORDED_TEST_S per test, so test count still decides
    assert [n for n, _ in longest_first(groups, {})] == [
        "tests/many.py",
        "tests/new.py",
        "tests/e2e.py",
    ]
    assert 49 * UNRECORDED_TEST_S < 3.0  # the recorded test outweighs the unrecorded ones


def test_the_first_wave_holds_one_part_of_a_split_folder() -> None:
    # the three browser parts are the longest groups; sent at once, they would all wait for
    # the one demo database build
    names = ["tests/browser/#1", "tests/browser/#2", "tests/browser/#3", "tests/a.py"]
    names += ["tests/security/test_limits_", "tests/b.py"]
    order = [(name, {f"{name}::t": False}) for name in names]
    sent = [name for name, _ in one_part_per_first_wave(order, workers=3)]
    assert sent == [
        "tests/browser/#1",
        "tests/a.py",
        "tests/security/test_limits_",
        "tests/browser/#2",
        "tests/browser/#3",
        "tests/b.py",
    ]
    assert sorted(sent) == sorted(name for name, _ in order)  # nothing lost, nothing doubled
    # one worker: nothing to hold back
    assert [n for n, _ in one_part_per_first_wave(order, workers=1)] == [n for n, _ in order]


def test_the_wall_recorded_leaves_out_the_wait_for_a_session_fixture(tmp_path: Path) -> None:
    def report(nodeid: str, when: str, duration: float, waited: float) -> pytest.TestReport:
        made = _report(nodeid, when, [0.1])
        made.duration = duration
        made.user_properties.append((SESSION_SETUP_PROPERTY, waited))
        return made

    stats = {
        "passed": [report("tests/d.py::t", "call", 2.0, 90.0)],
        "": [
            report("tests/d.py::t", "setup", 93.0, 90.0),
            report("tests/d.py::t", "teardown", 0.5, 90.0),
        ],
    }
    path = tmp_path / "wall.tsv"
    assert record_measured_wall(path, stats) == 1
    assert measured_wall(path) == {"tests/d.py::t": 5.5}  # 93 + 2 + 0.5, less the 90 waited


@pytest.fixture(scope="session")
def session_wide() -> str:
    return "set up once for the run"


@pytest.fixture(scope="module")
def measured_module_wide() -> str:
    return "set up once for the module, for the test below alone"


def test_the_set_up_of_wider_fixtures_is_measured_into_the_report(
    request: pytest.FixtureRequest, session_wide: str, measured_module_wide: str
) -> None:
    # measured by conftest.py's SetupClock; as a hook of the conftest alone it was never called
    # for a session fixture, whose node (the session) lies above tests/
    properties = request.node.user_properties  # the set-up phase's, read during the call
    assert SESSION_SETUP_PROPERTY in [name for name, _ in properties], properties
    keys = [value[0] for name, value in properties if name == SHARED_SETUP_PROPERTY]
    assert shared_setup_key("tests/test_classify.py", "measured_module_wide") in keys
    assert not any("session_wide" in key for key in keys)  # a session's set-up is a wait


@pytest.mark.parametrize(
    "line", ["tests/a.py::t 0.5", "tests/a.py::t\tslow", "tests/a.py::t\t-1", "\t0.5", "t\tnan"]
)
def test_a_damaged_record_line_is_named_with_its_file_and_number(tmp_path: Path, line: str) -> None:
    path = tmp_path / "cpu.tsv"
    path.write_text(f"# header\ntests/a.py::ok\t0.2\n{line}\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=re.escape("cpu.tsv:3: expected 'node id<TAB>seconds >= 0'")
    ):
        measured_cpu(path)
