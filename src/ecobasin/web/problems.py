"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API returns — a bad query parameter, a value the store does not know, an unknown
route, a server fault — is one JSON object with ``type``, ``title``, ``status``, ``detail`` and
``instance``; request-parameter problems add an ``errors`` list naming each bad parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ecobasin.errors import Conflict, EcobasinError, NotFound, StoreBusyError, http_status
from ecobasin.services.writes import FieldError

__all__ = [
    "INVALID_PARAMETER",
    "PROBLEM_MEDIA_TYPE",
    "UNKNOWN_VALUE",
    "ParameterError",
    "Problem",
    "ProblemError",
    "error_type",
    "install",
    "problem_responses",
    "service_problems",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: A query parameter is malformed, out of range or inconsistent with another (422).
INVALID_PARAMETER = "urn:ecobasin:problem:invalid-parameter"
#: A query parameter names a city, parameter or site that does not exist (422).
UNKNOWN_VALUE = "urn:ecobasin:problem:unknown-value"


class ParameterError(BaseModel):
    """One bad request parameter."""

    parameter: str = Field(description="The query parameter's name.", examples=["limit"])
    detail: str = Field(
        description="What is wrong with it.", examples=["must be at most 100000 (got 200000)"]
    )


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(
        default="about:blank",
        description="URI identifying the kind of problem; about:blank for plain HTTP errors.",
        examples=[INVALID_PARAMETER],
    )
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.", examples=[422])
    detail: str | None = Field(
        default=None, description="Explanation of this occurrence, naming the bad input."
    )
    instance: str | None = Field(
        default=None, description="The request path and query this problem occurred at."
    )
    errors: list[ParameterError] | None = Field(
        default=None, description="Each bad request parameter (422 only)."
    )


class ProblemError(Exception):
    """Raise in an endpoint or dependency to answer with a problem details response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str = "about:blank",
        title: str | None = None,
        errors: Sequence[ParameterError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type
        self.title = title or HTTPStatus(status).phrase
        self.errors = list(errors) if errors else None
        self.headers = headers

    @classmethod
    def invalid(cls, parameter: str, detail: str) -> ProblemError:
        """A malformed, out-of-range or inconsistent query parameter (422)."""
        return cls(
            422,
            f"query parameter '{parameter}': {detail}",
            type=INVALID_PARAMETER,
            title="Invalid request parameter",
            errors=[ParameterError(parameter=parameter, detail=detail)],
        )

    @classmethod
    def unknown(cls, parameter: str, detail: str) -> ProblemError:
        """A query parameter naming something the platform does not know (422)."""
        return cls(
            422,
            f"query parameter '{parameter}': {detail}",
            type=UNKNOWN_VALUE,
            title="Unknown value in request parameter",
            errors=[ParameterError(parameter=parameter, detail=detail)],
        )


@contextmanager
def service_problems() -> Iterator[None]:
    """The write service's errors (:mod:`ecobasin.services.writes`) as the problems the write
    API answers: a bad field 422 naming it, an unknown site 404, an existing one 409."""
    try:
        yield
    except FieldError as error:
        make = ProblemError.unknown if error.unknown else ProblemError.invalid
        raise make(error.field, error.reason) from None
    except NotFound as error:
        raise ProblemError(404, error.reason) from None
    except Conflict as error:
        raise ProblemError(409, error.reason) from None


def _instance(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def problem_response(
    request: Request, problem: Problem, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A ``JSONResponse`` carrying ``problem`` with the problem+json media type."""
    if problem.instance is None:
        problem = problem.model_copy(update={"instance": _instance(request)})
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _validation_errors(errors: Sequence[Any]) -> list[ParameterError]:
    """One :class:`ParameterError` per pydantic error, named by the query parameter."""
    found = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if len(loc) > 1 and loc[0] in ("query", "path", "header", "cookie"):
            name = loc[1]
        else:
            name = ".".join(loc) or "request"
        message = str(error.get("msg", "is invalid"))
        if "input" in error and error.get("type") != "missing":
            message += f" (got {error['input']!r})"
        found.append(ParameterError(parameter=name, detail=message))
    return found


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    problem = Problem(
        type=exc.type, title=exc.title, status=exc.status, detail=exc.detail, errors=exc.errors
    )
    return problem_response(request, problem, exc.headers)


def error_type(error: EcobasinError) -> str:
    """The problem ``type`` URI of an ecobasin error: its class, kebab-cased.

    >>> from ecobasin.errors import UnitError
    >>> error_type(UnitError("unknown unit 'furlong'"))
    'urn:ecobasin:problem:unit-error'
    """
    name = type(error).__name__
    kebab = "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
    return f"urn:ecobasin:problem:{kebab}"


async def _on_ecobasin_error(request: Request, exc: Exception) -> JSONResponse:
    """The one mapping of :mod:`ecobasin.errors` to problem details (status by class)."""
    assert isinstance(exc, EcobasinError)
    status = http_status(exc)
    if status == 500:  # an error of ours that no route expected: same answer as any fault
        return await _on_error(request, exc)
    # a busy store frees itself when the other writer stops: tell clients when to retry
    headers = {"Retry-After": "1"} if isinstance(exc, StoreBusyError) else None
    problem = Problem(
        type=error_type(exc),
        title=HTTPStatus(status).phrase,
        status=status,
        detail=exc.reason or str(exc),
    )
    return problem_response(request, problem, headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc.errors())
    detail = "; ".join(f"query parameter '{e.parameter}': {e.detail}" for e in errors)
    problem = Problem(
        type=INVALID_PARAMETER,
        title="Invalid request parameter",
        status=422,
        detail=detail or "the request is invalid",
        errors=errors or None,
    )
    return problem_response(request, problem)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404 and exc.detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"no resource at {request.url.path}; see /docs for the API"
    elif status == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail)
    problem = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail)
    return problem_response(request, problem, dict(exc.headers) if exc.headers else None)


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    problem = Problem(
        title="Internal Server Error",
        status=500,
        detail=f"the server failed to answer ({type(exc).__name__}); the error is logged",
    )
    return problem_response(request, problem)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with problem details and document them in OpenAPI."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(EcobasinError, _on_ecobasin_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem details with the given statuses."""
    descriptions = {
        404: "Not found (problem details).",
        409: "The request contradicts what is stored (problem details).",
        422: "A query parameter is malformed, out of range or names an unknown value "
        "(problem details naming the parameter).",
        500: "Server error (problem details).",
        503: "The database is held by another process; retry after Retry-After seconds.",
    }
    return {
        status: {
            "description": descriptions.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def openapi_components() -> dict[str, Any]:
    """The JSON schemas of :class:`Problem` and :class:`ParameterError` as OpenAPI components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = dict(schema.pop("$defs", {}))
    components["Problem"] = schema
    return components
