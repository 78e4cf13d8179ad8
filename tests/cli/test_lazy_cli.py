"""The command line imports a command's module only when that command runs (ecobasin.cli.lazy):
``ecobasin --help`` lists every command from the table, without importing any of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ecobasin.cli import COMMANDS, app
from ecobasin.cli import lazy as lazy_cli
from ecobasin.cli.readpath import allowed

#: What a command module pulls in and ``ecobasin --help`` must not (about 3 s of CPU together)
HEAVY = ("ecobasin.web.app", "fastapi", "pandas", "scipy", "networkx", "ecobasin.services.air")


def _loaded(name: str) -> typer.core.TyperCommand:
    root = typer.main.get_command(app)
    command = root.get_command(typer.Context(root), name)  # type: ignore[attr-defined]
    assert command is not None, name
    return command  # type: ignore[no-any-return]


def test_help_lists_every_command_of_the_table_without_importing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    imported: list[str] = []
    resolve = lazy_cli._resolve
    monkeypatch.setattr(
        lazy_cli, "_resolve", lambda target: imported.append(target) or resolve(target)
    )
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert imported == []
    for entry in COMMANDS:
        assert f" {entry.name} " in result.output, entry.name


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: entry.name)
def test_the_table_help_is_the_command_s_own(entry: lazy_cli.Lazy) -> None:
    command = _loaded(entry.name)
    assert command.name == entry.name
    assert (command.help or "").split("\n\n")[0] == entry.help


def test_a_command_runs_after_its_module_is_imported() -> None:
    result = CliRunner().invoke(app, ["hj212", "--help"])
    assert result.exit_code == 0, result.output
    assert "decode" in result.output


def test_import_keeps_met_forecast_from_the_forecast_module() -> None:
    command = _loaded("import")
    assert {"cnemc", "csv", "met-forecast"} <= set(command.commands)  # type: ignore[attr-defined]


def test_the_read_service_still_refuses_sub_commands_that_write() -> None:
    # the read service finds sub-commands through get_command; the lazy root's ``commands``
    # dict is empty until a command is looked up
    assert allowed(["sites", "import", "stations.csv"]) is not None
    assert allowed(["sites", "--city", "510100"]) is None


def test_help_in_a_fresh_process_imports_no_command_module() -> None:
    code = (
        "import json, sys\n"
        "from ecobasin.cli import main\n"
        "sys.argv = ['ecobasin', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert not {name for name in HEAVY if name in modules}
    assert not {entry.target.partition(":")[0] for entry in COMMANDS} & modules


#: What ``ecobasin status`` must not import: the web app, the forecast models, the PDF engine, the
#: conformance runner (every domain's kernels) and the air commands' module; ~0.6 s of CPU for
#: every ``status``, ``init`` or ``sites`` process before (docs/measurements.md, "Test suite");
#: nor the libraries of one route or one command (:data:`ONE_ROUTE_LIBRARIES`)
NOT_FOR_STATUS = (
    "ecobasin.web.app",
    "fastapi",
    "lightgbm",
    "weasyprint",
    "ecobasin.conformance",
    "ecobasin.cli.air",
    "openpyxl",
    "pint",
    "dask",
    "scipy",
    "networkx",
)

#: Libraries that only a few routes and commands use, imported inside the functions that use
#: them: scipy and networkx (river incidents), openpyxl (Excel files), pint with the dask its
#: compat module imports (carbon units). ~1 s of CPU for every ``ecobasin serve`` before.
#: Also Pillow and filetype (case evidence uploads), deltalake (the lake's reads and writes),
#: charset_normalizer (a file that is not UTF-8) and nats (through the gateway's server, which
#: a server without ``--gateway`` does not run).
ONE_ROUTE_LIBRARIES = (
    "scipy",
    "networkx",
    "openpyxl",
    "pint",
    "dask",
    "PIL",
    "filetype",
    "deltalake",
    "charset_normalizer",
    "nats",
)


def test_status_in_a_fresh_process_imports_only_what_it_reads(tmp_path: Path) -> None:
    db = tmp_path / "status.duckdb"
    assert CliRunner().invoke(app, ["init", "--db", str(db)]).exit_code == 0
    code = (
        "import json, sys\n"
        "from ecobasin.cli import main\n"
        f"sys.argv = ['ecobasin', 'status', '--db', {str(db)!r}]\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert "ecobasin.cli.data" in modules  # the command ran
    assert sorted(name for name in NOT_FOR_STATUS if name in modules) == []


def test_serve_s_imports_leave_out_the_libraries_of_one_route() -> None:
    code = (
        "import json, sys\n"
        "import ecobasin.cli.run, ecobasin.web.app, ecobasin.web.server\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert "ecobasin.web.api.incidents" in modules  # the routes that use them are there
    assert sorted(name for name in ONE_ROUTE_LIBRARIES if name in modules) == []
