"""The ``ecobasin`` command line run in the test's own process, as its console script would run
it in a process of its own: the same entry point (``ecobasin.cli.main``, so an uncaught
ecobasin error still ends in its one line and a read-only command may still be forwarded to
the process holding the database), its own command line, environment and working directory,
and what it printed on stdout and stderr kept apart.

A new ``ecobasin`` process costs 1.3–1.9 s of CPU before it does anything (the interpreter and
the package's imports); run here it costs what the command does. Tests use it where no process
boundary is under test; the list of those that stay processes, and why, is in
docs/measurements.md ("sixth pass"). What a process would have thrown away at its exit, this
process gets back after each run (:func:`fresh_process_state`): the environment, the working
directory, ``sys.argv``, the loggers' handlers and levels, and the caches ecobasin reads its
settings into once per process.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from subprocess import CompletedProcess

from click.testing import CliRunner

from ecobasin import limits
from ecobasin.cli import main, readpath
from ecobasin.services import credentials


def run_ecobasin(
    *args: str,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> CompletedProcess[str]:
    """``ecobasin ARGS`` run here; the answer the console script's own process would give
    through the subprocess module's ``run(..., capture_output=True, text=True)`` (``env``: the
    whole environment, as for a process; None keeps this process's). Nothing here starts a
    process, so tests/classify.py leaves a test that only calls this in the quick subset."""
    argv = ["ecobasin", *args]
    with (
        fresh_process_state(env=env, cwd=cwd),
        CliRunner().isolation(input=stdin) as (stdout, stderr, _),
    ):
        sys.argv = argv
        code = _exit_code_of_main()
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = stdout.getvalue(), stderr.getvalue()
    return CompletedProcess(argv, code, out.decode(), err.decode())


def _exit_code_of_main() -> int:
    """Run the console script's entry point; its exit code as the process would end with."""
    try:
        main()
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)  # what the interpreter does with sys.exit("text")
        return 1
    except Exception:  # an uncaught error: the interpreter prints it and exits with 1
        traceback.print_exc()
        return 1
    return 0


@contextmanager
def fresh_process_state(
    *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[None]:
    """Run the body as a new process would start (``env``, ``cwd``, no cached settings), and
    give this process back its own state afterwards, whatever the body left behind."""
    saved_environ, saved_cwd, saved_argv = dict(os.environ), Path.cwd(), sys.argv
    saved_loggers = _logger_state()
    saved_invocation = readpath.INVOCATION
    _forget_settings_read_once()
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.argv = saved_argv
        readpath.INVOCATION = saved_invocation
        _restore_loggers(saved_loggers)
        _forget_settings_read_once()


def _forget_settings_read_once() -> None:
    """Empty the caches ecobasin fills once per process from its settings (the Argon2 cost,
    the limits), so a run sees its own environment and leaves nothing for the next test."""
    credentials._hasher.cache_clear()
    credentials._make_dummy_hash.cache_clear()
    limits.configured_limits.cache_clear()


_LoggerState = dict[str, tuple[list[logging.Handler], int, bool]]


def _logger_state() -> _LoggerState:
    """Handlers, level and propagation of the root logger and of every named logger."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return {
        logger.name: (list(logger.handlers), logger.level, logger.propagate)
        for logger in loggers
        if isinstance(logger, logging.Logger)
    }


def _restore_loggers(saved: _LoggerState) -> None:
    """Put the loggers back as :func:`_logger_state` found them; close the handlers a run added
    (a process would have closed them at its exit)."""
    for name, (handlers, _, _) in _logger_state().items():
        before = saved.get(name, ([], logging.NOTSET, True))
        logger = logging.getLogger(name if name != "root" else None)
        for added in [h for h in handlers if h not in before[0]]:
            logger.removeHandler(added)
            added.close()
        logger.handlers[:] = before[0]
        logger.setLevel(before[1])
        logger.propagate = before[2]
