"""Commands imported when they run, not when ``ecobasin`` starts.

Importing every command module pulls in the web app, pandas, scipy, networkx and every service:
about 3 s of CPU per process on this machine (docs/measurements.md, "The command line imports
what the command needs"), paid by each ``ecobasin`` process, the tests' included. The root group
:class:`LazyGroup` holds a table of :class:`Lazy` entries instead: a command's module is imported
when that command is looked up to run, and ``ecobasin --help`` lists every command from the
table's one-line helps without importing any of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click as click  # Typer's own Click, which its groups and commands are built on
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import TyperInfo

__all__ = ["Lazy", "LazyGroup", "load"]


@dataclass(frozen=True)
class Lazy:
    """One command of the root group: ``target`` is ``"module:attribute"``, a ``typer.Typer``
    (a group of sub-commands) or a command function; ``help`` its first help paragraph, shown
    by ``ecobasin --help`` (tests/cli/test_lazy_cli.py checks it against the command's own)."""

    name: str
    target: str
    help: str
    #: further sub-commands defined elsewhere, added to a group: (name, "module:function")
    extra: tuple[tuple[str, str], ...] = ()


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def load(entry: Lazy, *, rich_markup_mode: Any, suggest_commands: bool) -> click.Command:
    """The Click command of ``entry``, as ``app.add_typer``/``app.command`` would have built it."""
    target = _resolve(entry.target)
    if isinstance(target, typer.Typer):
        group = get_group_from_info(
            TyperInfo(target, name=entry.name),
            pretty_exceptions_short=True,
            suggest_commands=suggest_commands,
            rich_markup_mode=rich_markup_mode,
        )
        for name, function in entry.extra:
            group.add_command(_function_command(name, _resolve(function), rich_markup_mode))
        return group
    return _function_command(entry.name, target, rich_markup_mode)


def _function_command(name: str, function: Any, rich_markup_mode: Any) -> click.Command:
    holder = typer.Typer()
    holder.command(name)(function)
    return get_command_from_info(
        holder.registered_commands[0],
        pretty_exceptions_short=True,
        rich_markup_mode=rich_markup_mode,
    )


class LazyGroup(TyperGroup):
    """A Typer root group whose commands are the :attr:`lazy` table, imported on first use.

    Subclass it with the table (``cli/__init__.py``) and pass the subclass as
    ``typer.Typer(cls=...)``.
    """

    lazy: ClassVar[tuple[Lazy, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._describing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(entry.name for entry in self.lazy)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = next((entry for entry in self.lazy if entry.name == cmd_name), None)
        if entry is None:
            return None
        if self._describing:  # listing for --help: the table's help, nothing imported
            return TyperCommand(entry.name, help=entry.help)
        command = load(
            entry, rich_markup_mode=self.rich_markup_mode, suggest_commands=self.suggest_commands
        )
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with self.describing():
            super().format_help(ctx, formatter)

    @contextmanager
    def describing(self) -> Iterator[None]:
        """Look commands up for their one-line help only (no import) inside this block."""
        self._describing = True
        try:
            yield
        finally:
            self._describing = False
