"""Which tests are ``slow`` and which run together on one xdist worker, decided from what each
test uses, so that a test written tomorrow is classified without anyone remembering to.

A test is ``slow`` when (:func:`slow_reason`):

* it uses, directly or through other fixtures, a fixture of :data:`SLOW_FIXTURES` (the demo
  database, a browser, a gateway with its front process), or a fixture of the test folders
  whose code starts a process;
* its own code, or a helper of the test folders it calls, starts a process, a gateway (also
  through the live feed) or a browser (:data:`PROCESS_CALLS` in its source);
* its own code builds part of the demo region (:data:`DEMO_BUILDS`);
* its own code, a fixture or a helper of the test folders trains the LightGBM forecast models
  (:data:`TRAINING_CALLS`: seconds of CPU per fit, 28 s for one module of real-data fits);
* its own code runs a Hypothesis search of :data:`MANY_EXAMPLES` examples or more;
* its module is one of ``SLOW_MODULES`` (tests/conftest.py: heavy computing, no process);
* it carries the ``browser`` marker;
* it uses a fixture shared by a module, class or package whose set-up, measured in a recorded run, was over
  :data:`SHARED_SETUP_LIMIT_S` (so that the set-up leaves the quick subset with all its users);
* its CPU, measured in a recorded run (:data:`MEASURED_CPU_FILE`), was over
  :data:`QUICK_TEST_CPU_LIMIT_S`: a new store made through the CLI or the API, a CJK PDF, a chart,
  a session built step by step cost that much by nature, and what a test costs is measured, not
  guessed from its source (:func:`record_measured_cpu` writes the file, from a run of whole
  modules: :func:`recordable`);
* its own CPU in a recorded run of the whole quick subset (:data:`MEASURED_QUICK_CPU_FILE`) was
  over 1 s: the first of its worker to load what a slow test had loaded before it in the whole
  run (:func:`record_quick_cpu`).

:func:`ProcessGuard` checks the first two rules at run time: a test that is not ``slow`` and
still starts a process fails, naming the remedy, so the quick subset stays quick.

Workers (pytest-xdist, :class:`GroupScheduling`): the tests of one module run on one worker, in
their order, so a module-scoped fixture (a server, a store) is set up once and tests that build
on each other's state stay together; the tests of a folder of :data:`SHARED_SERVER_FOLDERS` (the
browser tests on ``ecobasin serve``, the security limits tests) run on one worker per part of the
folder, so that its server starts once per part. The groups that took longest when last recorded
(:data:`MEASURED_WALL_FILE`, ``ECOBASIN_RECORD_WALL=1``) are sent first (:func:`longest_first`).
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
import types
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

TESTS = Path(__file__).resolve().parent

#: Fixture name -> why a test using it is slow. Matched by name anywhere in the suite: a
#: fixture with one of these names starts a process, a browser or builds the demo database.
SLOW_FIXTURES: dict[str, str] = {
    "demo_database": "builds or copies the demo database (~1 min once per run)",
    "demo_db": "reads the demo database",
    "demo_copy": "copies the demo database",
    "chromium_path": "drives Debian's chromium",
    "browser": "drives Debian's chromium",
    "page": "drives Debian's chromium against ecobasin serve",
    "security_store": "writes 120,000 rows for the server and export tests",
    "running": "runs a gateway, which starts its front process",
    "gateway": "runs a gateway, which starts its front process",
    "noise_gateway": "runs a gateway, which starts its front process",
}
#: Folders, or the start of file names, whose tests share one server wider than a module, and
#: into how many worker groups each is split: the tests of one group run on one worker, which
#: starts the server once (the browser tests' ``ecobasin serve``; the security limits tests'
#: package-scoped store and the header tests' read-only server, tests/security/conftest.py).
#: The browser folder in one group took 660 s of wall on one worker (docs/measurements.md,
#: "eighth pass"), the run's critical path; in three, each group pays one server's start
#: (~5 CPU-s) and its modules are balanced by their recorded wall (:func:`shared_server_parts`).
SHARED_SERVER_FOLDERS: dict[str, int] = {"tests/browser/": 3, "tests/security/test_limits_": 1}
#: What in a test's source (or a test helper it calls) starts a process or a browser.
PROCESS_CALLS = re.compile(
    r"\bsubprocess\.|\bPopen\(|\bos\.kill\(|\bsync_playwright\b|\bGateway\(|\bRunning\(|\bLiveFeed\("
)
#: What in a test's own source builds part of the demo region: its installers generate data at
#: the region's scale (a year of hourly values per station), seconds to minutes each.
DEMO_BUILDS = re.compile(r"\bdemo_\w+\.install\(")
#: What in a test's source (or a fixture or helper of the test folders) trains the LightGBM
#: forecast models: the bundle (``ecobasin.forecast.models.train_bundle``), the rolling-origin
#: backtest that refits it (``ecobasin.forecast.backtest.backtest``), or LightGBM itself.
TRAINING_CALLS = re.compile(r"\btrain_bundle\(|\bbacktest\(|\blgb\.train\(|\blightgbm\.train\(")
#: How deep :func:`_calls` follows calls into helpers of the test folders.
HELPER_DEPTH = 3
#: A Hypothesis search this long is slow by nature (seconds of CPU); the quick run's shorter
#: searches of the other tests are the ``ecobasin-quick`` profile of tests/conftest.py.
MANY_EXAMPLES = 1000
#: ``max_examples=N`` in a test's own source (its ``@settings``).
EXAMPLES = re.compile(r"\bmax_examples\s*=\s*(\d+)")

#: CPU of one test (set-up, call and teardown) above which it leaves the quick subset [s].
#: The 60-second floor on 2 cores allows ~110 s of CPU; the workers' start-up and collection
#: take ~16 s (2 workers) and the controller 5–9 s, so the tests get ~85 s. In the run of
#: 2026-12-06 (docs/measurements.md, "sixth pass") the 2,101 quick tests of at most 0.3 s used
#: 47 s together, the 329 above it 255 s: the limit keeps nearly every test and half the budget
#: spare for the load's inflation of CPU and for the tests written tomorrow.
QUICK_TEST_CPU_LIMIT_S = 0.3
#: Node id, tab, CPU [s] of the tests that used at least :data:`RECORDED_FROM_S` in a recorded
#: run (``ECOBASIN_RECORD_CPU=1 pytest ...``: the run's measurements replace those of the same
#: tests; a test absent from the file was measured cheaper, or never).
MEASURED_CPU_FILE = TESTS / "cpu_seconds.tsv"
#: Node id, tab, own CPU [s] of the tests that a recorded quick run (``ECOBASIN_RECORD_CPU=1
#: pytest -m "not slow"``, :func:`quick_recordable`) measured over
#: :data:`QUICK_CPU_BUDGET_S`, the set-up of the wider fixtures left out
#: (:func:`tests_cpu`). What is left is what a test pays as the first of its worker to use
#: something the whole run had warmed before it, so that :data:`MEASURED_CPU_FILE` has it cheap:
#: matplotlib and a chart kept by its inputs, the PDF engine, a ledger built once per process.
#: A test listed here stays slow (the quick run no longer measures it): delete its line once it
#: is made cheap.
MEASURED_QUICK_CPU_FILE = TESTS / "cpu_seconds_quick.tsv"
#: Tests cheaper than this [s] are left out of :data:`MEASURED_CPU_FILE` and
#: :data:`MEASURED_WALL_FILE` (the files stay short).
RECORDED_FROM_S = 0.05
#: Node id, tab, wall time [s] of the tests that took at least :data:`RECORDED_FROM_S` in a
#: recorded run (``ECOBASIN_RECORD_WALL=1 pytest ...``), for :func:`longest_first`.
MEASURED_WALL_FILE = TESTS / "wall_seconds.tsv"
#: The wall time counted for a test absent from :data:`MEASURED_WALL_FILE` [s]: under
#: :data:`RECORDED_FROM_S`, or new.
UNRECORDED_TEST_S = 0.02
#: Set-up CPU of a fixture shared by a module, class or package (a store, an app) above which
#: every test that uses it is slow [s]. Such a set-up is charged to the first test of the module
#: that runs; if only that test left the quick subset, the next run would charge it to the next
#: one, and so on. Higher than :data:`QUICK_TEST_CPU_LIMIT_S`: a set-up shared by many quick
#: tests is worth its cost up to a point.
SHARED_SETUP_LIMIT_S = 1.0


def slow_reason(
    item: pytest.Item,
    slow_modules: dict[str, str],
    measured: dict[str, float] | None = None,
    measured_quick: dict[str, float] | None = None,
) -> str | None:
    """Why ``item`` is slow (None: it belongs to the quick subset); ``measured`` and
    ``measured_quick``: CPU per node id [s], by default that of :data:`MEASURED_CPU_FILE` and of
    :data:`MEASURED_QUICK_CPU_FILE`."""
    if item.get_closest_marker("browser"):
        return "drives a browser"
    module = _module_path(item)
    if module in slow_modules:
        return slow_modules[module]
    if measured is None:
        measured = measured_cpu(MEASURED_CPU_FILE)
    for name, definitions in _fixture_definitions(item):
        if name in SLOW_FIXTURES:
            return f"fixture {name}: {SLOW_FIXTURES[name]}"
        setup_s = measured.get(shared_setup_key(definitions[-1].baseid, name), 0.0)
        if setup_s > SHARED_SETUP_LIMIT_S:
            return (
                f"fixture {name}'s set-up used {setup_s:.2f} s of CPU in a recorded run "
                f"({MEASURED_CPU_FILE.name}), over {SHARED_SETUP_LIMIT_S:g} s"
            )
        in_tests = _in_test_folders(definitions[-1].func)
        if in_tests and _calls(definitions[-1].func, PROCESS_CALLS):
            return f"fixture {name} starts a process"
        if in_tests and _calls(definitions[-1].func, TRAINING_CALLS):
            return f"fixture {name} trains the forecast models"
    function = getattr(item, "function", None)
    if function is not None and _calls(function, PROCESS_CALLS):
        return "starts a process or a browser"
    if function is not None and _calls(function, TRAINING_CALLS):
        return "trains the forecast models (LightGBM)"
    if function is not None and DEMO_BUILDS.search(_source(function, DEMO_BUILDS)):
        return "builds part of the demo region"
    examples = _explicit_examples(function) if function is not None else 0
    if examples >= MANY_EXAMPLES:
        return f"a Hypothesis search of {examples} examples"
    if measured_quick is None:
        measured_quick = measured_cpu(MEASURED_QUICK_CPU_FILE)
    for path, figures in ((MEASURED_CPU_FILE, measured), (MEASURED_QUICK_CPU_FILE, measured_quick)):
        cpu_s = figures.get(item.nodeid)
        if cpu_s is not None and cpu_s > QUICK_TEST_CPU_LIMIT_S:
            return (
                f"used {cpu_s:.2f} s of CPU in a recorded run ({path.name}), over the "
                f"quick subset's {QUICK_TEST_CPU_LIMIT_S:g} s per test"
            )
    return None


def recordable(markexpr: str | None, keyword: str | None) -> bool:
    """Whether a run's CPU per test may be recorded: only a run that deselects nothing by
    marker or keyword. A module's shared set-up (a module-scoped store, app or session) is
    charged to the first test that runs in it; in a run that leaves tests out, that is another
    test than in the module's own order, which would then be measured heavy, leave the quick
    subset, and hand the set-up to the next test, until none of the module is left."""
    return not markexpr and not keyword


def quick_recordable(markexpr: str | None, keyword: str | None, whole_suite: bool) -> bool:
    """Whether a run's CPU per test may be recorded in :data:`MEASURED_QUICK_CPU_FILE`: the
    whole quick subset (no paths, ``-m "not slow"`` alone, no keyword). A part of it would pay
    first uses that the whole subset pays once, and rule cheap tests slow."""
    return whole_suite and (markexpr or "").strip() == "not slow" and not keyword


def left_out_of_quick_run(path: Path, config: pytest.Config, slow_modules: dict[str, str]) -> bool:
    """Whether the quick subset need not import the test module ``path``: it is one of
    ``slow_modules``, whose tests are all slow (~0.8 s of CPU per worker for all of them)."""
    return quick_run(config.option.markexpr) and relative_to_tests(str(path)) in slow_modules


def quick_run(markexpr: str | None) -> bool:
    """Whether a run with the marker expression ``markexpr`` is the quick subset."""
    return "not slow" in (markexpr or "")


def hypothesis_profile(markexpr: str | None, chosen: str | None) -> str:
    """The Hypothesis profile of a run (tests/conftest.py registers them): ``chosen`` (the
    environment's), else ``ecobasin-quick`` for the quick subset and ``ecobasin`` otherwise."""
    return chosen or ("ecobasin-quick" if quick_run(markexpr) else "ecobasin")


def _explicit_examples(function: Callable[..., Any]) -> int:
    """The largest ``max_examples`` written in ``function``'s source (0: none)."""
    return examples_in(_source(function, EXAMPLES))


def examples_in(source: str) -> int:
    """The largest ``max_examples`` written in ``source`` (0: none)."""
    return max((int(n) for n in EXAMPLES.findall(source)), default=0)


@functools.cache
def measured_cpu(path: Path) -> dict[str, float]:
    """Node id -> CPU [s] of :data:`MEASURED_CPU_FILE` (empty when there is none)."""
    return _read_seconds(path)


@functools.cache
def measured_wall(path: Path) -> dict[str, float]:
    """Node id -> wall time [s] of :data:`MEASURED_WALL_FILE` (empty when there is none)."""
    return _read_seconds(path)


def _read_seconds(path: Path) -> dict[str, float]:
    """The ``node id<TAB>seconds`` lines of ``path``, "#" lines left out."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    measured = {}
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        nodeid, _, seconds = line.rpartition("\t")
        value = _seconds(seconds)
        if not nodeid or value is None:
            raise ValueError(
                f"{path}:{number}: expected 'node id<TAB>seconds >= 0', got {line!r} "
                "(record it again: ECOBASIN_RECORD_CPU=1 or ECOBASIN_RECORD_WALL=1 pytest)"
            )
        measured[nodeid] = value
    return measured


def _seconds(text: str) -> float | None:
    """``text`` as a number of seconds (None: not a number, negative, or not finite)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value < float("inf") else None


def _merge_seconds(
    path: Path, header: str, now: dict[str, float], reader: Callable[[Path], dict[str, float]]
) -> int:
    """Write ``now`` into the file ``path`` that the cached ``reader`` reads: the tests measured
    now replace their old figures, those under :data:`RECORDED_FROM_S` leave it. Returns the
    number of tests measured now."""
    measured = reader(path) | now
    kept = sorted((n, s) for n, s in measured.items() if s >= RECORDED_FROM_S)
    path.write_text(header + "".join(f"{n}\t{s:.3f}\n" for n, s in kept), encoding="utf-8")
    reader.cache_clear()  # type: ignore[attr-defined]
    return len(now)


def record_measured_cpu(path: Path, stats: dict[str, list[Any]]) -> int:
    """Merge this run's CPU per test [s] into ``path``, the file :func:`measured_cpu` reads
    (:func:`_merge_seconds`), with the shared set-ups' (:func:`shared_setups_cpu`)."""
    header = (
        "# CPU of one test [s] (set-up, call and teardown, its worker's process_time), recorded by\n"
        "# ECOBASIN_RECORD_CPU=1 pytest ...; tests/classify.py marks those over "
        f"{QUICK_TEST_CPU_LIMIT_S:g} s slow\n"
    )
    return _merge_seconds(path, header, tests_cpu(stats) | shared_setups_cpu(stats), measured_cpu)


def record_quick_cpu(path: Path, stats: dict[str, list[Any]]) -> int:
    """Add the quick tests of this run whose own CPU [s] (:func:`tests_cpu`, wider set-ups left
    out) was over :data:`QUICK_CPU_BUDGET_S` to ``path``, the file
    :data:`MEASURED_QUICK_CPU_FILE`; a test listed before keeps the dearer figure. Returns the
    number of tests added or raised.

    The bar is the summary's budget, not :data:`QUICK_TEST_CPU_LIMIT_S`: a listed test is never
    measured in a quick run again, so a bar within the load's noise of the cheap tests would
    take a few more out of the quick subset with every record. Over 1 s is a first use."""
    header = (
        "# Own CPU of a quick test [s] (set-up, call and teardown, less the set-up of wider\n"
        '# fixtures) over 1 s, recorded by ECOBASIN_RECORD_CPU=1 pytest -m "not slow";\n'
        "# tests/classify.py keeps these slow: delete a line once its test is made cheap\n"
    )
    listed = measured_cpu(path)
    over = {
        nodeid: max(cpu_s, listed.get(nodeid, 0.0))
        for nodeid, cpu_s in tests_cpu(stats, quick_only=True, own=True).items()
        if cpu_s > QUICK_CPU_BUDGET_S
    }
    return _merge_seconds(path, header, over, measured_cpu)


def record_measured_wall(path: Path, stats: dict[str, list[Any]]) -> int:
    """Merge this run's wall time per test [s] (:func:`tests_wall`) into ``path``, the file
    :func:`measured_wall` reads (:func:`_merge_seconds`)."""
    header = (
        "# Wall time of one test [s] (set-up, call and teardown, less the set-up of session\n"
        "# fixtures such as the demo database), recorded by ECOBASIN_RECORD_WALL=1 pytest ...;\n"
        "# tests/classify.py's GroupScheduling sends the longest worker groups first\n"
    )
    return _merge_seconds(path, header, tests_wall(stats), measured_wall)


def _source(function: Callable[..., Any], pattern: re.Pattern[str]) -> str:
    """``function``'s source where its file could match ``pattern`` at all, else "" (cheap).

    ``inspect.getsource`` tokenizes the file's lines for each function: about 15 ms per test at
    load 14, i.e. most of the suite's classification; most files hold no match anywhere.
    """
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is not None and not _file_could_match(code.co_filename, pattern):
        return ""
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


@functools.cache
def _file_could_match(path: str, pattern: re.Pattern[str]) -> bool:
    """Whether ``pattern`` occurs anywhere in the source file ``path`` (True when unreadable:
    not filtered); asked once per file, not once per function (2.3 s of each worker's
    collection when it was)."""
    text = _file_text(path)
    return not text or bool(pattern.search(text))


@functools.cache
def _file_text(path: str) -> str:
    """The text of a source file, read once per process ("" when unreadable: not filtered)."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def worker_group(nodeid: str) -> str:
    """The worker group of the test ``nodeid``: its shared server's folder (with the part's
    number when the folder is split, :data:`SHARED_SERVER_FOLDERS`), else its module.

    Decided from the node id alone, as the xdist controller does not collect the tests.
    """
    module = nodeid.split("::", 1)[0]
    for folder, parts in SHARED_SERVER_FOLDERS.items():
        if module.startswith(folder):
            if parts == 1:
                return folder
            part = _shared_server_part(folder, parts).get(module, 0)
            return f"{folder}#{part + 1}"
    return module


@functools.cache
def _shared_server_part(folder: str, parts: int) -> dict[str, int]:
    """Module -> its part (0-based) of the shared-server ``folder``, from the test modules on disk
    and :data:`MEASURED_WALL_FILE` (cached: asked once per test by the controller)."""
    root = TESTS.parent
    modules = [p.relative_to(root).as_posix() for p in sorted(root.glob(f"{folder}*test_*.py"))]
    return shared_server_parts(modules, parts, measured_wall(MEASURED_WALL_FILE))


def shared_server_parts(
    modules: Iterable[str], parts: int, measured: dict[str, float]
) -> dict[str, int]:
    """Module -> its part (0-based) of ``parts`` balanced by the recorded wall [s] of its tests
    (``measured``, node id -> seconds; :data:`UNRECORDED_TEST_S` for a module never recorded).

    The longest module first onto the part with the least wall so far (the longest-processing-
    time rule, as :func:`longest_first`); a tie goes to the lower part, and modules of equal wall
    are taken in name order, so every process computes the same split.
    """
    wall = dict.fromkeys(modules, 0.0)
    for nodeid, seconds in measured.items():
        module = nodeid.split("::", 1)[0]
        if module in wall:
            wall[module] += seconds
    loads = [0.0] * parts
    split = {}
    for module in sorted(wall, key=lambda m: (-(wall[m] or UNRECORDED_TEST_S), m)):
        part = loads.index(min(loads))
        split[module] = part
        loads[part] += wall[module] or UNRECORDED_TEST_S
    return split


class GroupScheduling(LoadScopeScheduling):
    """xdist's ``loadscope`` with :func:`worker_group` as the scope (pytest 9 keeps node ids
    read-only, so xdist's own ``loadgroup`` markers cannot rename them), the longest groups
    first (:func:`longest_first`)."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self._ordered = False

    def _split_scope(self, nodeid: str) -> str:
        return worker_group(nodeid)

    def _assign_work_unit(self, node: Any) -> None:
        if not self._ordered:  # the first call: the work queue is complete, nothing sent yet
            order = longest_first(self.workqueue)
            self.workqueue = OrderedDict(one_part_per_first_wave(order, self.numnodes))
            self._ordered = True
        super()._assign_work_unit(node)


def longest_first(
    groups: dict[str, dict[str, bool]], measured: dict[str, float] | None = None
) -> list[tuple[str, dict[str, bool]]]:
    """The worker groups (name -> their tests' node ids), the longest first by the wall time
    their tests took in a recorded run (``measured``, by default :data:`MEASURED_WALL_FILE`;
    :data:`UNRECORDED_TEST_S` for a test recorded under :data:`RECORDED_FROM_S` or never).

    Why: xdist's ``loadscope`` sends the groups with the most tests first, and a module of one
    or two long tests (the consultation end to end, the emergency loop, the guidance features'
    fits) then started last and ran alone at the end: in the CI run of de0b8bc the last 3 % of
    the tests took 3.3 of the 21 minutes at load 1.2–2.9 on 2 cores (docs/measurements.md,
    "eighth pass"). The longest first is the classic longest-processing-time rule of
    scheduling on identical machines.
    """
    if measured is None:
        measured = measured_wall(MEASURED_WALL_FILE)

    def length(group: tuple[str, dict[str, bool]]) -> float:
        return sum(measured.get(nodeid, UNRECORDED_TEST_S) for nodeid in group[1])

    return sorted(groups.items(), key=length, reverse=True)


def one_part_per_first_wave(
    order: list[tuple[str, dict[str, bool]]], workers: int
) -> list[tuple[str, dict[str, bool]]]:
    """``order`` with at most one part of each split shared-server folder (``folder#N``,
    :func:`worker_group`) among the first ``workers`` groups: the others follow that first
    wave, in their order.

    Why: the browser parts are the longest groups, so :func:`longest_first` sent all three
    first, and all three waited for the one demo database build (a cold cache, as in every CI
    run): two of three workers idled ~2 minutes at the start (whole suite on d61e3bd, 118-121 s
    of set-up each). One part builds it while the others' workers run other groups.
    """
    first: list[tuple[str, dict[str, bool]]] = []
    held: list[tuple[str, dict[str, bool]]] = []
    later: list[tuple[str, dict[str, bool]]] = []
    folders: set[str] = set()
    for name, tests in order:
        folder, split, _ = name.partition("#")
        if len(first) >= workers:
            later.append((name, tests))
        elif split and folder in folders:
            held.append((name, tests))
        else:
            folders.add(folder)
            first.append((name, tests))
    return first + held + later


def _module_path(item: pytest.Item) -> str:
    return relative_to_tests(str(item.path))


# The three functions below are cached: each is asked once per test or per fixture of a test
# (~30,000 times for the suite's 2,900 tests, in every worker), for a few hundred distinct
# answers; pathlib and inspect made them ~3 s of each worker's collection.
@functools.cache
def relative_to_tests(path: str) -> str:
    """``path`` relative to tests/ ("" outside it)."""
    as_path = Path(path)
    return as_path.relative_to(TESTS).as_posix() if as_path.is_relative_to(TESTS) else ""


def _fixture_definitions(item: pytest.Item) -> Iterable[tuple[str, list[Any]]]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return ()
    return [(name, list(defs)) for name, defs in info.name2fixturedefs.items() if defs]


@functools.cache
def _in_test_folders(function: Callable[..., Any]) -> bool:
    """Whether ``function`` (a fixture's) is defined under tests/."""
    return _is_test_file(inspect.getsourcefile(function) or "")


@functools.cache
def _is_test_file(source: str) -> bool:
    return bool(source) and Path(source).is_relative_to(TESTS)


@functools.cache
def _calls(
    function: Callable[..., Any], pattern: re.Pattern[str], depth: int = HELPER_DEPTH
) -> bool:
    """Whether ``function``'s source, or that of a function of the test folders it names, matches
    ``pattern`` (:data:`PROCESS_CALLS`: starts a process; :data:`TRAINING_CALLS`: trains)."""
    function = inspect.unwrap(function)
    if pattern.search(_source(function, pattern)):
        return True
    if depth == 0:
        return False
    module = sys.modules.get(function.__module__)
    helpers = _test_helpers(function, module)
    return any(_calls(helper, pattern, depth - 1) for helper in helpers)


def _test_helpers(function: Callable[..., Any], module: types.ModuleType | None) -> list[Any]:
    """The functions and classes of the test folders that ``function``'s code names."""
    code = getattr(function, "__code__", None)
    if code is None or module is None:
        return []
    names = set(code.co_names) | _nested_names(code)
    helpers = []
    for name in names:
        target = getattr(module, name, None)
        if target is function or not callable(target):
            continue
        source = getattr(sys.modules.get(getattr(target, "__module__", "")), "__file__", "")
        if _is_test_file(source):
            helpers.append(target.__init__ if isinstance(target, type) else target)
    return helpers


def _nested_names(code: types.CodeType) -> set[str]:
    names: set[str] = set()
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= set(constant.co_names) | _nested_names(constant)
    return names


#: Standard-library modules that start a process only to probe the machine: ctypes.util's
#: find_library (ldconfig, gcc, ld) and platform's processor (``uname -p``, asked by h5py's import).
PROBES: tuple[str, ...] = ("ctypes/util.py", "/platform.py")


def _from_ctypes_find_library() -> bool:
    """Whether the process being started is a library probe of :data:`PROBES`."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.replace("\\", "/").endswith(PROBES):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


class ProcessGuard:
    """Fails a test outside the ``slow`` set that starts a process (audit event
    ``subprocess.Popen``, PEP 578): the quick subset promises none."""

    def __init__(self) -> None:
        self.current: pytest.Item | None = None
        sys.addaudithook(self._audit)

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        item = self.current
        if event != "subprocess.Popen" or item is None:
            return
        if _from_ctypes_find_library():
            return  # a library lookup (WeasyPrint loading Pango), not a process the test runs
        self.current = None  # once per test: the failure's own clean-up may start processes
        raise RuntimeError(
            f"{item.nodeid} starts a process ({args[1]!r}) but is not marked slow: use a fixture "
            "of tests/classify.py's SLOW_FIXTURES, mark it @pytest.mark.slow, or add its module "
            "to SLOW_MODULES (tests/conftest.py)"
        )


#: CPU a test of the quick subset may use [s] before the run's summary names it: well over
#: :data:`QUICK_TEST_CPU_LIMIT_S`, so that the load's noise does not name tests at the limit.
QUICK_CPU_BUDGET_S = 1.0
#: The ``user_properties`` entry of a test report that holds the CPU of one phase [s].
CPU_PROPERTY = "cpu_s"
#: The ``user_properties`` entry of a test report that holds the wall time [s] of the set-up
#: of a session fixture made during that test (the demo database, built or waited for).
SESSION_SETUP_PROPERTY = "session_setup_s"
#: The ``user_properties`` entry of a test report that holds (:func:`shared_setup_key`, CPU
#: [s]) for the set-up of a fixture shared by a module, class or package, made during that test.
SHARED_SETUP_PROPERTY = "shared_setup_cpu_s"
#: The ``user_properties`` entry of a test report that holds the CPU [s] of the set-up of a
#: session fixture made during that test.
SESSION_SETUP_CPU_PROPERTY = "session_setup_cpu_s"


def heavy_quick_tests(
    stats: dict[str, list[Any]], budget_s: float = QUICK_CPU_BUDGET_S
) -> list[tuple[float, str]]:
    """(CPU [s], node id) of the tests outside ``slow`` that used more than ``budget_s``, the
    heaviest first, from the run's reports (the teardown report carries all three phases)."""
    quick = tests_cpu(stats, quick_only=True)
    return sorted(((cpu, nodeid) for nodeid, cpu in quick.items() if cpu > budget_s), reverse=True)


def shared_setup_key(baseid: str, name: str) -> str:
    """The key of :data:`MEASURED_CPU_FILE` for the set-up of fixture ``name`` defined at
    ``baseid`` (a module's node id, a folder of a conftest.py, "" for tests/conftest.py)."""
    return f"{baseid}::{name} (shared set-up)"


def shared_setups_cpu(stats: dict[str, list[Any]]) -> dict[str, float]:
    """:func:`shared_setup_key` -> set-up CPU [s] of the fixtures shared by a module, class or
    package, from the
    run's reports (:data:`SHARED_SETUP_PROPERTY`); the dearest when one was set up twice."""
    cpu_s: dict[str, float] = {}
    for reports in stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == SHARED_SETUP_PROPERTY:
                    key, setup_s = value
                    cpu_s[key] = max(setup_s, cpu_s.get(key, 0.0))
    return cpu_s


def tests_wall(stats: dict[str, list[Any]]) -> dict[str, float]:
    """Node id -> wall time of its three phases [s], less the set-up of the session fixtures
    made during it (:data:`SESSION_SETUP_PROPERTY`: a wait for the demo database is not the
    test's own length), from the run's reports."""
    wall: dict[str, float] = {}
    waited: dict[str, float] = {}
    for reports in stats.values():
        for report in reports:
            when = getattr(report, "when", None)
            if when not in ("setup", "call", "teardown"):
                continue
            wall[report.nodeid] = wall.get(report.nodeid, 0.0) + report.duration
            if when == "teardown":  # its properties are those of all three phases
                waited[report.nodeid] = sum(
                    v for k, v in report.user_properties if k == SESSION_SETUP_PROPERTY
                )
    return {n: max(0.0, s - waited.get(n, 0.0)) for n, s in wall.items()}


def tests_cpu(
    stats: dict[str, list[Any]], quick_only: bool = False, own: bool = False
) -> dict[str, float]:
    """Node id -> CPU of its three phases [s], from the run's reports (the teardown report
    carries all three); with ``quick_only``, the tests outside ``slow`` only; with ``own``, less
    the set-up of the fixtures wider than the test made during them (module, class, package and
    session: :data:`SHARED_SETUP_PROPERTY`, :data:`SESSION_SETUP_CPU_PROPERTY`)."""
    cpu_s = {}
    for reports in stats.values():
        for report in reports:
            if getattr(report, "when", None) != "teardown":
                continue
            if quick_only and "slow" in report.keywords:
                continue
            properties = report.user_properties
            cpu_s[report.nodeid] = sum(v for k, v in properties if k == CPU_PROPERTY)
            if own:
                cpu_s[report.nodeid] -= sum(
                    v[1] for k, v in properties if k == SHARED_SETUP_PROPERTY
                )
                cpu_s[report.nodeid] -= sum(
                    v for k, v in properties if k == SESSION_SETUP_CPU_PROPERTY
                )
    return cpu_s
