"""Suite-wide fixtures: the real shared data sets, the demo database built once, and how the
suite is classified and spread over workers.

``../shared/data`` and ``../shared/testdata`` sit beside a full checkout of the project. A user's
clone does not have them: tests that need them are skipped there with the reason, and fail under
CI (env ``CI`` set), where a missing folder means a broken set-up, not a user's machine. The rule
is written once, in :func:`needs.require`; the fixtures here and the helpers of the test folders
all call it.

``ecobasin demo --no-serve`` takes ~90 s of CPU, so the suite builds it once and keeps it
between runs in a private cache keyed by the source tree (:func:`demo_database`,
tests/demo_database.py; shared by the xdist workers through a file lock; a whole-suite run with a
cold cache starts the build in the background at once) and hands out copies: :func:`demo_db` for
the tests that only read, and :func:`demo_copy` for a test that writes or serves.

The suite runs on pytest-xdist workers (pyproject's ``addopts``: ``-n auto --dist loadscope``;
:func:`pytest_xdist_auto_num_workers` sizes them, :func:`pytest_xdist_make_scheduler` groups
them, the longest groups first: tests/wall_seconds.tsv, ``ECOBASIN_RECORD_WALL=1``). ``slow``
and the worker groups are decided by
tests/classify.py from what each test uses and the CPU it used when last recorded
(tests/cpu_seconds.tsv, ``ECOBASIN_RECORD_CPU=1``); ``pytest -m "not slow"`` is the quick subset
(one worker per core, shorter Hypothesis searches), and a test outside it that starts a process
fails (:class:`classify.ProcessGuard`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.doctest import DoctestModule

from classify import (
    CPU_PROPERTY,
    MEASURED_CPU_FILE,
    MEASURED_QUICK_CPU_FILE,
    MEASURED_WALL_FILE,
    QUICK_CPU_BUDGET_S,
    SESSION_SETUP_CPU_PROPERTY,
    SESSION_SETUP_PROPERTY,
    SHARED_SETUP_PROPERTY,
    GroupScheduling,
    ProcessGuard,
    heavy_quick_tests,
    hypothesis_profile,
    left_out_of_quick_run,
    quick_recordable,
    quick_run,
    record_measured_cpu,
    record_measured_wall,
    record_quick_cpu,
    recordable,
    shared_setup_key,
    slow_reason,
)
from demo_database import (
    DemoDatabase,
    cache_key,
    cache_root,
    cached_demo,
    copy_demo,
    start_background_build,
)
from garbage import collect_young_garbage
from needs import SHARED, require
from run_folder import run_folder


def _cache_bytecode_outside_the_tree() -> None:
    """Keep compiled modules when ``PYTHONDONTWRITEBYTECODE`` forbids ``__pycache__`` folders.

    Without a cache every xdist worker compiles the sources and rewrites the assertions of every
    test module on every run, and every process a test starts compiles what it imports: about
    8 s of CPU per worker of the 17 s its collection took (docs/measurements.md, "Test suite
    speed floors"). The variable's wish, no files in the tree, still holds: the bytecode goes
    to a private folder under the user's cache (``sys.pycache_prefix``, PEP 3147's layout under
    a prefix), which pytest's assertion rewriting honours too. Set for this process and, through
    the environment, for the processes the tests start.
    """
    if not sys.dont_write_bytecode or sys.pycache_prefix:
        return  # bytecode is written already (into __pycache__ or a prefix the user chose)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    prefix = cache_home / "ecobasin" / "pycache"
    prefix.mkdir(mode=0o700, parents=True, exist_ok=True)
    if prefix.stat().st_uid != os.getuid() or prefix.stat().st_mode & 0o022:
        return  # a folder others could write to would let them choose the code we run
    sys.pycache_prefix = str(prefix)
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


_cache_bytecode_outside_the_tree()

#: A cheap Argon2id cost for the whole run, the processes the tests start included (they
#: inherit the environment): hashing at the production cost (64 MiB, 3 passes) took seconds per
#: user on the shared machine. Set only where the environment does not already choose one, so
#: ``ECOBASIN_PASSWORD_HASH_*=... pytest`` runs at another cost. The production cost is pinned by
#: tests/security/test_password_hash_cost.py, and the sign-in memory test serves with it.
TEST_PASSWORD_HASH = {
    "ECOBASIN_PASSWORD_HASH_TIME_COST": "1",
    "ECOBASIN_PASSWORD_HASH_MEMORY_KIB": "1024",
    "ECOBASIN_PASSWORD_HASH_PARALLELISM": "1",
}
for _name, _value in TEST_PASSWORD_HASH.items():
    os.environ.setdefault(_name, _value)

#: The quick subset's searches: fewer examples for the tests that do not choose their count
#: (Hypothesis's default is 100). The whole suite keeps the default; a test's own
#: ``max_examples`` wins in both, and one of :data:`classify.MANY_EXAMPLES` or more is ``slow``.
QUICK_MAX_EXAMPLES = 20
#: ``ECOBASIN_HYPOTHESIS_PROFILE=ecobasin|ecobasin-quick`` chooses the profile of a run instead.
HYPOTHESIS_PROFILE_ENV = "ECOBASIN_HYPOTHESIS_PROFILE"


def _hypothesis_profiles() -> None:
    """Hypothesis without its per-example deadline (200 ms by default): a wall-clock threshold,
    which the shared 2-core machine broke at load 14 (test_section_class_is_the_worst_item_class
    took 287 ms for one example and failed as flaky). A test's own ``@settings`` still wins.
    The quick subset's profile ``ecobasin-quick`` also searches fewer examples
    (:func:`pytest_configure` chooses).

    Imported here, after :func:`_cache_bytecode_outside_the_tree`, not at the top: pytest
    rewrites the assertions of the whole ``hypothesis`` package (it ships a pytest plugin), and
    before the bytecode prefix is set it cannot keep the result, so a run in one process
    (``-n 0``) rewrote ~80 of its modules every time (docs/measurements.md, sixth pass).
    """
    from hypothesis import settings

    settings.register_profile("ecobasin", deadline=None)
    settings.register_profile(
        "ecobasin-quick", parent=settings.get_profile("ecobasin"), max_examples=QUICK_MAX_EXAMPLES
    )
    settings.load_profile("ecobasin")


_hypothesis_profiles()


def pytest_configure(config: pytest.Config) -> None:
    """Load this run's Hypothesis profile (:func:`classify.hypothesis_profile`) and register
    the fixtures' :class:`SetupClock`."""
    from hypothesis import settings

    settings.load_profile(
        hypothesis_profile(config.option.markexpr, os.environ.get(HYPOTHESIS_PROFILE_ENV))
    )
    config.pluginmanager.register(SetupClock(), "ecobasin-setup-clock")


#: Workers per core for ``-n auto``: many tests wait on sockets, processes and the disk, so
#: more workers than cores pay (docs/measurements.md, "Test suite on workers").
WORKERS_PER_CORE = 1.5
#: ... but the quick subset starts no process and waits on nothing: its tests use the CPU, and
#: a third worker only adds its start-up and collection (~8 s of CPU; docs/measurements.md,
#: "sixth pass").
QUICK_WORKERS_PER_CORE = 1.0
#: ``ECOBASIN_RECORD_CPU=1`` writes each test's CPU into :data:`classify.MEASURED_CPU_FILE`.
RECORD_CPU_ENV = "ECOBASIN_RECORD_CPU"
#: ``ECOBASIN_RECORD_WALL=1`` writes each test's wall time into :data:`classify.MEASURED_WALL_FILE`
#: (for the order of the worker groups; any run, a subset too: a group's length is the sum of
#: its tests').
RECORD_WALL_ENV = "ECOBASIN_RECORD_WALL"
#: ``ECOBASIN_TEST_WORKERS=N`` chooses the worker count of ``-n auto`` instead.
WORKERS_ENV = "ECOBASIN_TEST_WORKERS"

#: whole modules that are slow without starting a process, and why (tests/ relative paths);
#: the tests on the demo database, a browser, a server or gateway process are found by
#: tests/classify.py, and a single slow test elsewhere carries ``@pytest.mark.slow`` itself
SLOW_MODULES: dict[str, str] = {
    "integration/test_shared_data.py": "imports the whole real data sets (2.5 M Beijing values)",
    "gateway/test_gateway_crash.py": "kills a real gateway process and rebuilds from its raw log",
    "gateway/test_gateway_hostile.py": "hostile clients against a real gateway over TCP",
    "web/test_server.py": "starts real `ecobasin serve` processes",
    "forecast/test_forecast_cli_api.py": "trains and backtests on three years of real data",
    "forecast/test_models.py": "LightGBM fits and rolling-origin backtests",
    "forecast/test_met_forecast.py": "CLI training and backtests with met forecasts",
    "forecast/test_plots.py": "renders PNG plots with CJK fonts",
    "test_demo.py": "generates whole demo years (2 M rows) several times",
    "water/test_refresh_groups.py": "imports and refreshes a demo water year",
    "water/test_section_calendar.py": "imports and refreshes a demo water year",
    "water/test_water_wiring.py": "water imports and refreshes into DuckDB files",
    "carbon/test_ledger_cli_api.py": "the ledger through the CLI and a web app on DuckDB files",
    "carbon/test_ledger_partners.py": "partners, tokens and rate limits on DuckDB files",
    "carbon/test_ledger_store.py": "group commit, threads and a crash mid-write",
    "carbon/test_carbon_store_cli_api.py": "inventories through the CLI and the API",
    "web/test_auth.py": "Argon2 hashing and sign-in rate limits",
    "gateway/test_gateway_cli.py": "gateway commands and raw-log replay",
    "gateway/test_gateway_server.py": "a real gateway on TCP sockets",
    "gateway/test_simulator.py": "simulated fleets over TCP into a real gateway",
    "cli/test_data_cli.py": "imports and exports through the CLI on DuckDB files",
    "cli/test_users_cli.py": "users and tokens (Argon2) through the CLI",
    "cli/test_serve_live_cli.py": "serve with the live gateway",
    "jobs/test_live.py": "the live feed on a real event loop and sockets",
    "jobs/test_air_quality.py": "AQI refreshes of station-years in DuckDB files",
    "alarms/test_alarm_cli.py": "alarm commands on DuckDB files",
    "alarms/test_alarm_refresh.py": "alarm refreshes in DuckDB files",
    "web/test_live_api.py": "the live API over a gateway and simulated devices",
    "standards/test_air_rounding.py": "hypothesis: thousands of generated ties and floats",
    "web/test_consultation_api.py": "one session's steps, each test on the state the earlier "
    "ones left, with its reports' CJK PDFs (17 s of CPU); the measured rule would split it",
}
_GUARD = ProcessGuard()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers of ``-n auto``: :data:`WORKERS_ENV`, else :data:`WORKERS_PER_CORE` per core
    (:data:`QUICK_WORKERS_PER_CORE` for the quick subset)."""
    chosen = os.environ.get(WORKERS_ENV)
    if chosen:
        return int(chosen)
    cores = len(os.sched_getaffinity(0))
    per_core = QUICK_WORKERS_PER_CORE if quick_run(config.option.markexpr) else WORKERS_PER_CORE
    return max(2, round(cores * per_core))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> GroupScheduling:
    """Each module's tests, or a shared server's folder, on one worker (tests/classify.py)."""
    return GroupScheduling(config, log)


_BACKGROUND: list[subprocess.Popen[bytes]] = []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """On a whole-suite run (no paths given, ``slow`` not deselected) with a cold demo cache,
    start the demo database build at once in a background process (tests/demo_database.py),
    while the workers start, collect and run the tests that do not need it."""
    config = session.config
    if hasattr(config, "workerinput") or config.option.collectonly:
        return  # an xdist worker: the controller starts it
    whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    if whole_suite and "not slow" not in (config.option.markexpr or ""):
        started = start_background_build()
        if started is not None:
            _BACKGROUND.append(started)


def pytest_sessionfinish() -> None:
    """Stop a background demo build the run no longer waits for (an interrupted run): its
    entry has no output file, so the next run builds it again."""
    for build in _BACKGROUND:
        if build.poll() is None:
            build.terminate()
        build.wait()


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path) -> Iterator[list[pytest.Collector | None]]:
    """Scan a file of tests/ for doctests only when it holds an example (``>>>``).

    ``--doctest-modules`` (pyproject's addopts, for the examples of ``standards/`` and
    ``ingest/hj212/``) also imports every helper module of tests/ and walks every object of
    every test module looking for examples, on each xdist worker; one file here has any
    (tests/test_layout.py). The ids collected are the same (docs/measurements.md, sixth pass).
    """
    collected: list[pytest.Collector | None] = yield
    if file_path.suffix != ".py" or _has_doctest_example(file_path):
        return collected
    return [node for node in collected if not isinstance(node, DoctestModule)]


def _has_doctest_example(path: Path) -> bool:
    """Whether a source file holds a doctest example (a ``>>>`` prompt) anywhere."""
    return b">>>" in path.read_bytes()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The quick subset does not import the modules of :data:`SLOW_MODULES` (all their tests
    are slow): ~0.8 s of CPU per worker."""
    return True if left_out_of_quick_run(collection_path, config, SLOW_MODULES) else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` what tests/classify.py finds slow (``pytest -m "not slow"``)."""
    for item in items:
        if slow_reason(item, SLOW_MODULES):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Arm the process guard around a test of the quick subset."""
    _GUARD.current = None if item.get_closest_marker("slow") else item
    try:
        return (yield)
    finally:
        _GUARD.current = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    return (yield from _count_cpu(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    return (yield from _count_cpu(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    return (yield from _count_cpu(item))


def _count_cpu(item: pytest.Item) -> Iterator[None]:
    """Record the CPU of a test phase [s] in its report (``user_properties``), for the summary:
    unlike wall time, it does not grow with the load of the shared machine; with it, what
    :class:`SetupClock` measured of the wider fixtures set up in that phase."""
    start = time.process_time()
    try:
        return (yield)
    finally:
        item.user_properties.append((CPU_PROPERTY, time.process_time() - start))
        item.user_properties.extend(_SHARED_SETUPS)
        _SHARED_SETUPS.clear()


#: the properties of the wider fixtures set up in the phase running now (set-up CPU, and the
#: wall time of the session fixtures), for its test's report
_SHARED_SETUPS: list[tuple[str, Any]] = []


class SetupClock:
    """Measures the set-up of the fixtures wider than one test (a plugin, registered by
    :func:`pytest_configure`: a hook of this conftest.py alone is not called for the session's
    fixtures, whose node, the session, lies above tests/)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> Iterator[Any]:
        """The set-up CPU [s] of a fixture shared by a module, class or package, for
        tests/classify.py's :data:`~classify.SHARED_SETUP_LIMIT_S` rule, and the wall time [s]
        of a session fixture's (the demo database, built or waited for), which
        :func:`classify.tests_wall` leaves out of the test's own length, with its CPU, which a
        quick run's record leaves out of the test's own (:func:`classify.record_quick_cpu`). pytest sets up the
        fixtures a fixture asks for before it calls this hook for that fixture, so each figure
        is the fixture's own."""
        if fixturedef.scope == "function":
            return (yield)
        start, started = time.process_time(), time.perf_counter()
        try:
            return (yield)
        finally:
            cpu_s = time.process_time() - start
            if fixturedef.scope == "session":
                _SHARED_SETUPS.append((SESSION_SETUP_PROPERTY, time.perf_counter() - started))
                _SHARED_SETUPS.append((SESSION_SETUP_CPU_PROPERTY, cpu_s))
            else:
                key = shared_setup_key(fixturedef.baseid, fixturedef.argname)
                _SHARED_SETUPS.append((SHARED_SETUP_PROPERTY, (key, cpu_s)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the tests of the quick subset that used more CPU than it can afford; with
    :data:`RECORD_CPU_ENV` set, record every test's CPU for tests/classify.py (a whole run), or
    the quick tests over the limit (the whole quick subset: ``pytest -m "not slow"``)."""
    config = terminalreporter.config
    if os.environ.get(RECORD_CPU_ENV) and not hasattr(config, "workerinput"):
        markexpr, keyword = config.option.markexpr, config.option.keyword
        whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS
        if recordable(markexpr, keyword):
            count = record_measured_cpu(MEASURED_CPU_FILE, terminalreporter.stats)
            terminalreporter.write_line(f"CPU of {count} tests recorded in {MEASURED_CPU_FILE}")
        elif quick_recordable(markexpr, keyword, whole_suite):
            count = record_quick_cpu(MEASURED_QUICK_CPU_FILE, terminalreporter.stats)
            terminalreporter.write_line(
                f"{count} quick tests over the limit recorded in {MEASURED_QUICK_CPU_FILE}"
            )
        else:
            terminalreporter.write_line(
                f"{RECORD_CPU_ENV}: nothing recorded, as this run deselects tests (-m or -k): "
                'record whole files, the whole suite or the whole quick subset (-m "not slow")'
                " (tests/classify.py, recordable and quick_recordable)"
            )
    if os.environ.get(RECORD_WALL_ENV) and not hasattr(config, "workerinput"):
        count = record_measured_wall(MEASURED_WALL_FILE, terminalreporter.stats)
        terminalreporter.write_line(f"Wall time of {count} tests recorded in {MEASURED_WALL_FILE}")
    heavy = heavy_quick_tests(terminalreporter.stats)
    if not heavy:
        return
    terminalreporter.write_sep(
        "-",
        f"quick tests over {QUICK_CPU_BUDGET_S:g} s of CPU (mark them slow, or make them cheap)",
    )
    for cpu, nodeid in heavy:
        terminalreporter.write_line(f"{cpu:6.1f} s  {nodeid}")


_MODULE_ENDED: set[str] = set()  # node ids of modules whose last test is being torn down


def pytest_collection_finish() -> None:
    """Freeze the heap of imports and collected items before the first test
    (:func:`collect_young_garbage`)."""
    collect_young_garbage()


@pytest.fixture(autouse=True, scope="module")
def collect_after_the_module(request: pytest.FixtureRequest) -> Iterator[None]:
    """Collect garbage at the end of each module: a socket or stream a test here left open
    then fails this module's last test (the culprit is near), not whatever test of another
    package happens to trigger the collector later on the same worker. Collected by
    :func:`pytest_runtest_makereport` once that test's teardown is over, not here: until then
    pytest's log capture keeps its records, and an exception logged in them keeps its frames,
    with the client and the sockets they hold, out of the collector's reach."""
    yield
    _MODULE_ENDED.add(request.node.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[pytest.TestReport]:
    """Fail the teardown of a module's last test with what the collector said of the objects
    the module left behind (an unclosed socket, transport or stream: ResourceWarning)."""
    report: pytest.TestReport = yield
    module = item.getparent(pytest.Module)
    if report.when != "teardown" or module is None or module.nodeid not in _MODULE_ENDED:
        return report
    _MODULE_ENDED.discard(module.nodeid)
    said = collect_young_garbage()
    if said and report.passed:
        report.outcome = "failed"
        report.longrepr = f"{module.nodeid} left for the garbage collector:\n" + "\n".join(
            f"{u.err_msg or 'Exception ignored in'}: {u.object!r}: {u.exc_value!r}" for u in said
        )
    else:  # a teardown that failed already: pytest reports them with the next test
        for unraisable in said:
            sys.unraisablehook(unraisable)
    return report


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: the real data sets (CNEMC snapshot, UCI files, station list)."""
    return require(SHARED / "data", "the real data sets")


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """``../shared/testdata``: the hand-checked cases of the standards."""
    return require(SHARED / "testdata", "the hand-checked cases of the standards")


@pytest.fixture(scope="session")
def needs_shared() -> Callable[[str], Path]:
    """``needs_shared("testdata/hj212/peer_samples.jsonl")``: that path under ../shared, or a
    skip (a user's checkout) or a failure (CI) naming it."""

    def get(relative: str) -> Path:
        return require(SHARED / relative, f"../shared/{relative}")

    return get


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> DemoDatabase:
    """``ecobasin demo --no-serve --year 2025`` once, for this run and the next ones (~90 s of CPU).

    Taken from the private cache of tests/demo_database.py, keyed by the source tree, the
    installed packages and the day, and built there first when the key is new (under a file
    lock: one xdist worker, or the background build of :func:`pytest_sessionstart`, builds it
    while the others wait). ``ECOBASIN_TEST_DEMO_CACHE=0`` builds it in the run's temporary
    folder instead. Either way the file is read-only, so a test that writes to it instead of to
    a copy fails at once rather than changing what the other tests see.
    """
    root = cache_root()
    if root is None:
        root = run_folder(tmp_path_factory, "demo-database")
    return cached_demo(root, cache_key())


@pytest.fixture(scope="session")
def demo_db(demo_database: DemoDatabase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database for tests that only read it (one copy shared by all of them)."""
    return copy_demo(demo_database, tmp_path_factory.mktemp("demo-read"))


@pytest.fixture
def demo_copy(demo_database: DemoDatabase, tmp_path: Path) -> Path:
    """A private, writable copy of the demo database for one test."""
    return copy_demo(demo_database, tmp_path)
