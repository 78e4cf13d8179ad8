"""One error hierarchy for the whole platform, mapped once to problem details and CLI messages.

Every error a caller may want to answer derives from :class:`EcobasinError` and carries a human
``reason`` naming the record and what is wrong (the shape of ``ingest/hj212/errors.py``). The
built-in base of each class (``ValueError``, ``LookupError``, ``RuntimeError``) stays, so code
that catches the built-in keeps working.

Where they are answered:

* ``ecobasin.web.problems`` turns them into RFC 9457 problem details (:data:`HTTP_STATUS`);
* ``ecobasin.cli.common`` prints ``error 错误: <reason>`` on stderr and exits with status 1.
"""

from __future__ import annotations

__all__ = [
    "HTTP_STATUS",
    "Conflict",
    "EcobasinError",
    "InputError",
    "NotFound",
    "StoreBusyError",
    "UnitError",
    "http_status",
]


class EcobasinError(Exception):
    """Base class of every error of ecobasin.

    Parameters
    ----------
    reason : str
        What is wrong, naming the record, field or file where there is one.
    """

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class InputError(EcobasinError, ValueError):
    """Input (a file, a record, a request parameter) that cannot be accepted as it is."""


class UnitError(InputError):
    """A unit is unknown, or a value cannot be converted to the unit it is needed in.

    The one unit error of the platform: the observation unit table (``catalog/data/units.csv``),
    the carbon pint registry (``catalog/data/carbon/units.txt``) and the meteorological forecast
    reader all raise it (``ecobasin.catalog.units``).
    """


class NotFound(EcobasinError, LookupError):
    """Something named by the caller (a city, site, section, account, token…) does not exist."""


class Conflict(EcobasinError):
    """The request contradicts what is stored (a duplicate id, a closed period…)."""


class StoreBusyError(EcobasinError, RuntimeError):
    """The database file is held by another process (DuckDB allows one writer per file)."""


#: HTTP status of each error class (most specific first): 422 bad input, 404 unknown names,
#: 409 conflicts, 503 a busy store (the client may retry), 500 anything else of ours.
HTTP_STATUS: tuple[tuple[type[EcobasinError], int], ...] = (
    (InputError, 422),
    (NotFound, 404),
    (Conflict, 409),
    (StoreBusyError, 503),
    (EcobasinError, 500),
)


def http_status(error: EcobasinError) -> int:
    """The HTTP status an error is answered with.

    >>> http_status(UnitError("unit 'furlong' is unknown"))
    422
    >>> http_status(NotFound("no city 'Atlantis'"))
    404
    """
    return next(status for kind, status in HTTP_STATUS if isinstance(error, kind))
