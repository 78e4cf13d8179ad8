"""Helpers of the gateway tests: a store with sites and devices, the gateway running in-process
on a background event loop (real TCP on a free port), and a blocking device client."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import threading
from collections.abc import Callable, Coroutine, Hashable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pandas as pd

from ecobasin import catalog
from ecobasin.gateway import Gateway, GatewayConfig, register_devices
from ecobasin.ingest.hj212 import encode_message
from ecobasin.store import Store, _sql
from store_files import new_synced_store_file, private_copy, template_folder

T = TypeVar("T")
SITES = {"S_AIR": "air_station", "S_GAS": "gas_outlet", "S_WATER": "water_outlet"}
#: Safety net for socket reads, never an assertion about speed.
PATIENCE = 30.0


def open_sockets() -> set[str]:
    """This process's open sockets (``socket:[inode]``), whatever their state. A TCP socket whose
    peer has closed or reset it has no remote address any more, and the kernel's connection
    tables (what :func:`sockets_to` reads) no longer list it: only the descriptors show it."""
    found = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # a descriptor closed while listing
            target = os.readlink(fd)
            if target.startswith("socket:"):
                found.add(target)
    return found


_TEMPLATES: dict[Hashable, Path] = {}
_TEMPLATE_NUMBERS = itertools.count()


def from_template(path: Path, key: Hashable, build: Callable[[Path], Store]) -> Store:
    """The store ``build`` makes at ``path``, as a private copy of the one it made once per
    process for ``key`` (a store's catalog, sites and devices cost ~0.35 s of CPU, a copy
    ~0.04 s: the gateway tests make over a hundred). A store already at ``path`` is opened by
    ``build`` itself, as before."""
    if path.exists():
        return build(path)
    template = _TEMPLATES.get(key)
    if template is None:  # named before it is built: a build may make a template of its own
        template = template_folder() / f"gateway-{next(_TEMPLATE_NUMBERS)}.duckdb"
        build(template).close()
        _TEMPLATES[key] = template
    return Store(private_copy(template, path))


def new_store(path: Path, devices: tuple[tuple[str, str], ...] = ()) -> Store:
    """A store with the three :data:`SITES` and ``devices`` (MN, site; PW 123456)."""
    return from_template(path, ("sites", devices), lambda at: _sites_store(at, devices))


def synced_store(path: Path) -> Store:
    """A store at ``path`` with the region's catalog: a copy of the synced template where no
    store is yet, else the store already there, its catalog synced again."""
    if not path.exists():
        return Store(new_synced_store_file(path))
    store = Store(path)
    store.sync_catalog(catalog.load_region())
    return store


def _sites_store(path: Path, devices: tuple[tuple[str, str], ...]) -> Store:
    store = synced_store(path)
    store.upsert_sites(
        pd.DataFrame(
            {
                "site_id": list(SITES),
                "kind": list(SITES.values()),
                "level": "enterprise",
                "city_code": 510100,
                "name_zh": None,
                "name_en": None,
                "lon": None,
                "lat": None,
            }
        ),
        source="test",
    )
    for mn, site in devices:
        add_device(store, mn, site=site)
    return store


def add_device(
    store: Store, mn: str, password: str = "123456", site: str = "S_AIR", **more: Any
) -> None:
    register_devices(
        store, pd.DataFrame([{"mn": mn, "password": password, "site_id": site, **more}])
    )


def upload(
    mn: str = "DEV1",
    qn: str = "20240101100000001",
    data_time: str = "20240101100000",
    cn: str = "2011",
    flag: str = "5",
    pw: str = "123456",
    cp: dict[str, str] | None = None,
    **head: str,
) -> bytes:
    """An upload frame (2011 real-time by default, Flag=5: HJ 212-2017, ack required)."""
    fields = {"QN": qn, "ST": "22", "CN": cn, "PW": pw, "MN": mn, "Flag": flag, **head}
    items = {"DataTime": data_time, **(cp or {"a21026-Rtd": "12.5", "a21026-Flag": "N"})}
    return encode_message(fields, items)


class Running:
    """The gateway on its own event loop in a background thread."""

    def __init__(self, store: Store, config: GatewayConfig, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.gateway = Gateway(store, config, **kwargs)
        self.port = self.call(self.gateway.start())

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(PATIENCE)

    def flush(self) -> None:
        self.call(self.gateway.flush())

    def reload(self) -> None:
        self.call(self.gateway.reload_devices())

    def stop(self) -> None:
        self.call(self.gateway.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(PATIENCE)
        self.loop.close()


class Client:
    """A blocking device connection (closed by the ``close_clients`` fixture at the end)."""

    opened: ClassVar[list[Client]] = []

    def __init__(self, port: int) -> None:
        Client.opened.append(self)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def replies(self, n: int) -> list[bytes]:
        """The next ``n`` reply frames (CR LF terminated)."""
        out: list[bytes] = []
        while len(out) < n:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                out.append(self.buffer[: end + 2])
                self.buffer = self.buffer[end + 2 :]
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed after {len(out)} of {n} replies")
            self.buffer += chunk
        return out

    def closed_by_server(self) -> bool:
        """True once the server has closed the connection (reads EOF or a reset)."""
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def rejected(store: Store) -> pd.DataFrame:
    view = store.reader()
    try:
        return _sql.frame(
            view, "SELECT * FROM rejected WHERE source = 'gateway' ORDER BY rejected_at"
        )
    finally:
        view.close()


def query(store: Store, sql: str) -> pd.DataFrame:
    view = store.reader()
    try:
        return _sql.frame(view, sql)
    finally:
        view.close()
