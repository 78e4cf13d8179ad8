"""HTTP from the tests to the servers they start on loopback (``ecobasin serve`` in a process
of its own): one TLS context for every client, and the wait for a server to answer.

httpx builds a TLS context for each client it makes, loading the CA bundle (~50 ms of CPU),
though every URL here is plain http on 127.0.0.1 and no TLS is ever spoken: a whole-suite run
spent ~70 CPU-s on them, most in the polls of starting servers, which then started slower on
the cores those polls took. Every client of the tests passes :data:`TLS_CONTEXT` instead.
"""

from __future__ import annotations

import ssl
import subprocess
import time
from contextlib import AbstractContextManager
from typing import Any

import httpx

#: The one TLS context of the tests' HTTP clients (never used on loopback's plain http).
TLS_CONTEXT = ssl.create_default_context()
#: [s] A request's bound: a shared, noisy machine answers late at times (httpx's own 5 s failed
#: answers that a machine at load 25 gave late); not a performance limit.
REQUEST_TIMEOUT = 120.0
#: [s] A bound for a wedged server's start, not a performance limit.
START_TIMEOUT = 120.0
#: [s] Between two polls of a starting server.
POLL_INTERVAL = 0.1


def client(**options: Any) -> httpx.Client:
    """An ``httpx.Client`` with :data:`TLS_CONTEXT` and, unless ``options`` say otherwise,
    :data:`REQUEST_TIMEOUT`."""
    return httpx.Client(verify=TLS_CONTEXT, **{"timeout": REQUEST_TIMEOUT, **options})


def get(url: str, **options: Any) -> httpx.Response:
    """``httpx.get`` (one request) with :data:`TLS_CONTEXT` and :data:`REQUEST_TIMEOUT`."""
    return httpx.get(url, verify=TLS_CONTEXT, **{"timeout": REQUEST_TIMEOUT, **options})


def post(url: str, **options: Any) -> httpx.Response:
    """``httpx.post`` as :func:`get`."""
    return httpx.post(url, verify=TLS_CONTEXT, **{"timeout": REQUEST_TIMEOUT, **options})


def stream(method: str, url: str, **options: Any) -> AbstractContextManager[httpx.Response]:
    """``httpx.stream`` as :func:`get`."""
    options = {"timeout": REQUEST_TIMEOUT, **options}
    return httpx.stream(method, url, verify=TLS_CONTEXT, **options)


def wait_for_health(
    url: str, process: subprocess.Popen[bytes], timeout: float = START_TIMEOUT
) -> httpx.Response:
    """Poll ``url``/api/v1/health until the server answers 200, and return that answer.

    Raises
    ------
    RuntimeError
        When ``process`` exits first (naming its exit code), or after ``timeout`` [s].
    """
    deadline = time.monotonic() + timeout
    with client(timeout=5) as probe:  # one client for every poll
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server at {url} exited with {process.returncode}")
            try:
                answer = probe.get(f"{url}/api/v1/health")
                if answer.status_code == 200:
                    return answer
            except httpx.TransportError:
                pass
            time.sleep(POLL_INTERVAL)
    raise RuntimeError(f"the server at {url} did not answer in {timeout} s")
