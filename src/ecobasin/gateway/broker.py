"""The gateway's link to a NATS JetStream broker: publish before the ack, share the registry.

With ``ecobasin gateway --broker nats://host:port`` the front process publishes every frame it
accepted to the JetStream stream :data:`STREAM` once the local raw log holds it, and sends the
device its 9014 only after the broker's publish ack (docs/gateway-scaling.md, "Ack after
durability"). The raw log stays as the forensic copy. Per frame:

- subject ``hj212.<city>.<MN>`` (:func:`subject_for`): one device's messages stay in order on
  one subject, and a store writer per city filters ``hj212.<city>.>``;
- header ``Nats-Msg-Id`` = the dedup key ``MN|CN|DataTime|PNO`` (HJ 212-2017 表3, hj212 brief
  §10 item 7; :func:`message_id`), so the stream's ``duplicate_window`` [s] drops a device's
  resend of a frame whose ack it lost;
- headers ``Ecobasin-Received-Us`` (receive time [µs since the epoch, UTC]) and
  ``Ecobasin-Peer`` (the device's address), which the store writer puts where the raw log's
  record puts them.

Publishes are asynchronous with at most :data:`MAX_IN_FLIGHT` awaiting their ack, so one group
commit's frames are not serialised behind one round trip each. When the broker does not answer
within :data:`PUBLISH_TIMEOUT` [s] (down, no quorum, connection lost) the batch is not
acknowledged: the devices keep their data and resend (HJ 212-2017 §6.2 表1 OverTime/ReCount),
the counters say ``broker_unreachable`` and the alarm of that name is raised until a publish
succeeds again.

The device registry is replicated through the JetStream key-value bucket :data:`DEVICE_BUCKET`
(key = MN, value = :func:`device_entry` as JSON): each gateway puts the devices of its own store
there and watches the bucket, so a device added on one side is accepted by every gateway as
soon as the watch delivers it (well under a second on a healthy broker). The bucket never holds
a device's PW in clear: each value carries ``password_sha256`` = ``sha256$<salt>$<digest>``
(:func:`hash_password`, a random salt per device) and a gateway compares the hash of the PW it
receives (:class:`PasswordHash`).

Least privilege (docs/security.md, "Broker"): with ``broker_user`` and ``broker_password_file``
(:func:`load_credentials`, a file readable by its owner only) every client logs in as a user of
the server's ``authorization`` block (:func:`authorization_config`, which holds only bcrypt
hashes of the passwords: :func:`bcrypt_password`): a gateway may publish only
to ``hj212.>`` and to the device bucket, a store writer may only consume through its own durable
and ack; nobody may delete or purge the stream. A refused publish or subscription raises the
``broker_permission_denied`` alarm besides ``broker_unreachable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import ssl
import stat
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.kv import KeyValue

from ecobasin.gateway.datatime import data_time_of
from ecobasin.ingest.hj212.codec import Message, read_head

__all__ = [
    "DEVICE_BUCKET",
    "HEADER_PEER",
    "HEADER_RECEIVED",
    "MAX_IN_FLIGHT",
    "STREAM",
    "BrokerConfigError",
    "BrokerCredentials",
    "BrokerRefused",
    "BrokerTls",
    "BrokerUnavailable",
    "ConnectionErrorLog",
    "FrontBroker",
    "PasswordHash",
    "authorization_config",
    "bcrypt_password",
    "close_client",
    "connect",
    "device_entry",
    "ensure_device_bucket",
    "ensure_stream",
    "gateway_permissions",
    "hash_password",
    "is_permission_error",
    "load_credentials",
    "message_id",
    "publish_devices",
    "sealed_entry",
    "server_config",
    "subject_for",
    "tls_config",
    "write_private",
    "writer_permissions",
]

log = logging.getLogger(__name__)

#: The JetStream stream of accepted HJ 212 frames and its subjects.
STREAM = "HJ212"
SUBJECT_ROOT = "hj212"
#: The key-value bucket of the device registry (key MN).
DEVICE_BUCKET = "ecobasin_devices"
#: [s] The stream's duplicate window: longer than a device's retry horizon (ReCount × OverTime
#: ≈ 4 × 10 s, HJ 212-2017 表1) and a reconnect through the balancer; minutes, not seconds.
DUPLICATE_WINDOW = 600.0
#: Publishes awaiting their ack at most (each holds one frame, ≤ 1 036 bytes, 表2).
MAX_IN_FLIGHT = 1024
#: [s] Longest wait for the acks of one batch before it counts as unacknowledged.
PUBLISH_TIMEOUT = 5.0
#: [s] Pause between attempts to reach an unreachable broker.
RECONNECT_WAIT = 0.5
#: [s] Longest wait for one attempt's TCP connection, TLS handshake and the broker's INFO.
CONNECT_TIMEOUT = 2
#: bcrypt cost of the users' password hashes (2^11 rounds: the ``nats server passwd`` default;
#: the server pays it once per client login, not per message).
BCRYPT_ROUNDS = 11
#: [bytes] The longest password bcrypt hashes whole.
BCRYPT_MAX_BYTES = 72
HEADER_RECEIVED = "Ecobasin-Received-Us"
HEADER_PEER = "Ecobasin-Peer"
#: Characters allowed in a subject token (NATS: no '.', '*', '>' or whitespace).
_TOKEN_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


class BrokerUnavailable(ConnectionError):
    """The broker did not acknowledge a publish: nothing of the batch is acknowledged."""


class BrokerConfigError(ValueError):
    """The broker credentials cannot be used (missing, empty or readable by others)."""


class BrokerRefused(ConnectionError):
    """The broker refused this client at its first connection (its TLS certificate is not
    trusted, the TLS handshake failed, or the login was refused): a setting to fix, named in
    the message with the broker's URL."""


def _private(path: Path, what: str) -> None:
    """Refuse a secret's file that group or others may read (it is the role's whole secret)."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise BrokerConfigError(
            f"{what} {path}: mode {mode:04o} lets others read it; chmod 600 {path}"
        )


@dataclass(frozen=True)
class BrokerTls:
    """TLS to the broker (``tls://`` URLs, ``--broker-ca``; docs/security.md, "Broker").

    The client starts TLS before the first NATS byte (``handshake_first``: the server's INFO and
    the client's CONNECT with its password never travel in clear, even to a host posing as the
    broker), verifies the broker's certificate against ``ca_file`` (None: the system's CAs) and
    its host name, and shows ``cert_file``/``key_file`` when the broker asks for client
    certificates.

    Attributes
    ----------
    ca_file : Path or None
        PEM file of the CA(s) that signed the broker's certificate.
    cert_file, key_file : Path or None
        This client's certificate and private key (PEM; the key file mode 0600 or 0400).
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        """A client context: TLS ≥ 1.2, the broker's certificate and host name checked.

        Raises
        ------
        BrokerConfigError
            A key without a certificate (or the reverse), a key others may read, or a file
            that is no PEM certificate or key.
        """
        if (self.cert_file is None) != (self.key_file is None):
            raise BrokerConfigError("broker TLS: give both the client certificate and its key")
        try:
            context = ssl.create_default_context(
                cafile=None if self.ca_file is None else str(self.ca_file)
            )
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.cert_file is not None and self.key_file is not None:
                _private(self.key_file, "broker TLS key file")
                context.load_cert_chain(self.cert_file, self.key_file)
        except (ssl.SSLError, OSError) as error:
            raise BrokerConfigError(f"broker TLS files: {error}") from error
        return context


def tls_wanted(url: str, tls: BrokerTls | None) -> BrokerTls | None:
    """The TLS settings a client uses: ``tls`` when given, else the system's CAs when a URL of
    ``url`` is ``tls://``, else None (plain NATS)."""
    if tls is not None:
        return tls
    if any(server.strip().startswith("tls://") for server in url.split(",")):
        return BrokerTls()
    return None


def tls_config(
    cert_file: Path, key_file: Path, ca_file: Path | None = None, *, verify: bool = False
) -> str:
    """The nats-server ``tls {}`` block of a broker with ``cert_file`` and ``key_file`` (PEM):
    TLS before anything else (``handshake_first``, as :class:`BrokerTls` clients do), TLS ≥
    1.2; with ``verify`` every client must show a certificate signed by ``ca_file``."""
    block: dict[str, Any] = {
        "cert_file": str(cert_file),
        "key_file": str(key_file),
        "handshake_first": True,
        "min_version": "1.2",
    }
    if ca_file is not None:
        block["ca_file"] = str(ca_file)
    if verify:
        block["verify"] = True
    return f"tls: {json.dumps(block, indent=1)}\n"


@dataclass(frozen=True)
class BrokerCredentials:
    """A NATS user and its password (never printed: ``repr`` hides it)."""

    user: str
    password: str = field(repr=False)


def load_credentials(user: str | None, password_file: Path | None) -> BrokerCredentials | None:
    """The credentials of ``broker_user`` with the password read from ``password_file`` (first
    line), or None when no user is set (an anonymous client: only for a server without users).

    Raises
    ------
    BrokerConfigError
        A user without a file, a file group or others may read (mode must be 0600 or 0400: a
        password on disk is the role's whole secret), or an empty password.
    """
    if not user:
        return None
    if password_file is None:
        raise BrokerConfigError(f"broker user {user!r}: no broker_password_file set")
    _private(password_file, "broker password file")
    lines = password_file.read_text(encoding="utf-8").splitlines()
    password = lines[0].strip() if lines else ""
    if not password:
        raise BrokerConfigError(f"broker password file {password_file} is empty")
    return BrokerCredentials(user, password)


def hash_password(password: str, salt: str | None = None) -> str:
    """``sha256$<salt hex>$<SHA-256 of salt + PW, hex>`` of a device's PW (表3); a new random
    16-byte salt unless one is given (to keep an unchanged device's value unchanged)."""
    salt = secrets.token_hex(16) if salt is None else salt
    digest = hashlib.sha256(bytes.fromhex(salt) + password.encode("utf-8")).hexdigest()
    return f"sha256${salt}${digest}"


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A device's PW as the bucket holds it (``sha256$<salt>$<digest>``, :func:`hash_password`):
    the session decision asks :meth:`matches` through
    :func:`ecobasin.gateway.session.password_matches`. No ``str``, so no comparison with a
    received PW can decide by accident."""

    value: str = field(repr=False)

    def matches(self, received: str) -> bool:
        """Whether ``received`` hashes, with this value's salt, to this value (constant
        time); False for a value that is no ``sha256$<hex salt>$<hex>``."""
        if self.value.count("$") != 2:
            return False
        kind, salt, _ = self.value.split("$")
        if kind != "sha256":
            return False
        try:
            expected = hash_password(received, salt)
        except ValueError:  # a salt that is no hex: nothing matches
            return False
        return hmac.compare_digest(expected.encode(), self.value.encode())


def sealed_entry(entry: dict[str, Any], salt: str | None = None) -> dict[str, Any]:
    """A :func:`device_entry` as the bucket holds it: the PW replaced by its salted hash."""
    sealed = {k: v for k, v in entry.items() if k != "password"}
    sealed["password_sha256"] = hash_password(str(entry["password"]), salt)
    return sealed


def _salt_of(value: bytes | None) -> str | None:
    """The salt of a bucket value already shared, to hash an unchanged PW to the same value."""
    if value is None:
        return None
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(value)["password_sha256"]).split("$")[1]
    return None


def gateway_permissions() -> dict[str, Any]:
    """What a gateway user may do: publish frames (``hj212.>``), use the device bucket (read,
    put, watch), create (never delete) the stream and the bucket, read replies."""
    bucket = f"KV_{DEVICE_BUCKET}"
    return {
        "publish": {
            "allow": [
                f"{SUBJECT_ROOT}.>",
                f"$KV.{DEVICE_BUCKET}.>",
                "$JS.API.INFO",
                f"$JS.API.STREAM.INFO.{STREAM}",
                f"$JS.API.STREAM.CREATE.{STREAM}",
                f"$JS.API.STREAM.INFO.{bucket}",
                f"$JS.API.STREAM.CREATE.{bucket}",
                f"$JS.API.DIRECT.GET.{bucket}.>",
                f"$JS.API.STREAM.MSG.GET.{bucket}",
                f"$JS.API.CONSUMER.CREATE.{bucket}",
                f"$JS.API.CONSUMER.CREATE.{bucket}.>",
                f"$JS.API.CONSUMER.INFO.{bucket}.>",
                f"$JS.API.CONSUMER.DELETE.{bucket}.>",
                "$JS.FC.>",
            ]
        },
        "subscribe": {"allow": ["_INBOX.>"]},
    }


def writer_permissions(durable: str) -> dict[str, Any]:
    """What a store writer user may do: consume through its durable ``durable`` (create it,
    fetch, ack) and watch the device bucket; no publish to ``hj212.>``, no delete."""
    bucket = f"KV_{DEVICE_BUCKET}"
    return {
        "publish": {
            "allow": [
                "$JS.API.INFO",
                f"$JS.API.STREAM.INFO.{STREAM}",
                f"$JS.API.STREAM.INFO.{bucket}",
                f"$JS.API.CONSUMER.INFO.{STREAM}.{durable}",
                f"$JS.API.CONSUMER.CREATE.{STREAM}.{durable}",
                f"$JS.API.CONSUMER.CREATE.{STREAM}.{durable}.>",
                f"$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.{durable}",
                f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{durable}",
                f"$JS.ACK.{STREAM}.{durable}.>",
                f"$JS.API.CONSUMER.CREATE.{bucket}",
                f"$JS.API.CONSUMER.CREATE.{bucket}.>",
                f"$JS.API.CONSUMER.INFO.{bucket}.>",
                f"$JS.API.CONSUMER.DELETE.{bucket}.>",
                "$JS.FC.>",
            ]
        },
        "subscribe": {"allow": ["_INBOX.>"]},
    }


def bcrypt_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """The bcrypt hash (``$2b$<rounds>$…``) nats-server checks a client's password against: the
    server's configuration then holds nothing a client could log in with (NATS server
    configuration, "Bcrypted Passwords"; the client keeps the password in its 0600 file).

    Raises
    ------
    BrokerConfigError
        A password bcrypt cannot hash whole (longer than 72 bytes in UTF-8).
    """
    secret = password.encode("utf-8")
    if len(secret) > BCRYPT_MAX_BYTES:  # bcrypt would ignore the rest: refuse, never truncate
        raise BrokerConfigError(
            f"broker password of {len(secret)} bytes: bcrypt takes at most {BCRYPT_MAX_BYTES}"
        )
    return bcrypt.hashpw(secret, bcrypt.gensalt(rounds)).decode("ascii")


def authorization_config(
    users: Iterable[tuple[str, str, dict[str, Any]]], rounds: int = BCRYPT_ROUNDS
) -> str:
    """The nats-server ``authorization`` block of ``(user, password, permissions)`` (NATS
    configuration accepts JSON values), each password as its bcrypt hash
    (:func:`bcrypt_password`); no ``no_auth_user``, so anonymous clients are refused."""
    block = {
        "users": [
            {"user": user, "password": bcrypt_password(password, rounds), "permissions": rights}
            for user, password, rights in users
        ]
    }
    return f"authorization: {json.dumps(block, indent=1)}\n"


def server_config(
    listen: str,
    store_dir: Path,
    users: Iterable[tuple[str, str, dict[str, Any]]],
    tls: str = "",
) -> str:
    """A whole nats-server configuration: ``listen`` (host:port), JetStream with file storage
    in ``store_dir``, the users' ``authorization`` block (bcrypt hashes only:
    :func:`authorization_config`) and ``tls`` (a :func:`tls_config` block, or "")."""
    return (
        f"listen: {json.dumps(listen)}\n"
        f"jetstream: {json.dumps({'store_dir': str(store_dir)})}\n"
        + authorization_config(users)
        + tls
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600, also when it existed)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)


def subject_for(city: int | str | None, mn: str) -> str:
    """The subject of a device's messages: ``hj212.<city code>.<MN>`` (``_`` for unknown).

    Characters a subject token cannot hold are replaced by ``_`` (an MN is 24 characters of
    letters and digits, 表3; anything else is still routed, never refused here).
    """
    city_token = _TOKEN_UNSAFE.sub("_", str(city)) if city not in (None, "") else "_"
    return f"{SUBJECT_ROOT}.{city_token}.{_TOKEN_UNSAFE.sub('_', mn) or '_'}"


def message_id(segment: bytes, head: Message | None = None) -> str | None:
    """The dedup key ``MN|CN|DataTime|PNO`` of a data segment, as the store writer forms it
    (:func:`ecobasin.gateway.writer.message_key`: DataTime as sent, else ``QN:<QN>``; PNO 0 for
    a whole message). None when the segment has neither DataTime nor QN (no broker dedup)."""
    head = read_head(segment) if head is None else head
    data_time = data_time_of(segment)
    if data_time:
        moment = data_time.decode("ascii", errors="replace")
    elif head.qn:
        moment = f"QN:{head.qn}"
    else:
        return None
    pno = head.head.get("PNO", "")
    return f"{head.mn or ''}|{head.cn or ''}|{moment}|{int(pno) if pno.isdigit() else 0}"


def device_entry(
    password: str, enabled: bool, crc_mode: str, city: int | None = None, **more: Any
) -> dict[str, Any]:
    """The bucket's value for one device (JSON): what a gateway checks (表3 PW, enabled, CRC
    mode), the city of its subject, and what a store writer registers (site, protocol …)."""
    return {
        "password": password,
        "enabled": enabled,
        "crc_mode": crc_mode,
        "city": city,
        **more,
    }


class _QuietTlsClose(logging.Filter):
    """Drop asyncio's note that nats-py's transport returns True from ``eof_received`` on a
    TLS link: it comes at every close, says nothing to an operator, and fills the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received() has no effect when using ssl" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_QuietTlsClose())


async def connect(
    url: str,
    name: str,
    credentials: BrokerCredentials | None = None,
    on_error: Callable[[Exception], Any] | None = None,
    tls: BrokerTls | None = None,
) -> NatsClient:
    """Connect to the broker as ``credentials``' user (anonymous when None), over TLS when
    :func:`tls_wanted` says so, reconnecting forever after a loss (the callers count
    failures); ``on_error`` sees each async error (a permissions violation among them) after
    it is logged.

    Raises
    ------
    BrokerRefused
        At the first connection, when the broker's certificate is not trusted, the TLS
        handshake fails or the login is refused (retrying would not help), naming ``url``.
    BrokerConfigError
        TLS files that cannot be used.
    """
    tls = tls_wanted(url, tls)
    context = None if tls is None else tls.context()
    log_error = ConnectionErrorLog()  # one for all attempts: its rate limit spans them

    async def error_cb(error: Exception) -> None:
        log_error(error)
        if on_error is not None:
            on_error(error)

    while True:
        try:
            return await _first_connection(url, name, credentials, error_cb, tls, context)
        except _FirstAttemptTimedOut:
            await asyncio.sleep(RECONNECT_WAIT)  # logged already; a fresh client tries again


class _FirstAttemptTimedOut(Exception):
    """A first connection attempt that timed out (a broker too busy to finish the TLS
    handshake within ``connect_timeout``). nats-py would retry on the same client, but first
    waits for the timed-out stream to close, and a TLS handshake cut short leaves that wait
    without an end: the gateway hung, never retrying, after one slow handshake. So the client
    is dropped and a new one tries. Not an ``OSError``, which nats-py would catch itself."""


async def _first_connection(
    url: str,
    name: str,
    credentials: BrokerCredentials | None,
    report: Callable[[Exception], Awaitable[None]],
    tls: BrokerTls | None,
    context: ssl.SSLContext | None,
) -> NatsClient:
    """One client's first connection (see :func:`connect`), every error ``report``-ed; raises
    :class:`_FirstAttemptTimedOut` when an attempt times out."""
    first = True

    async def error_cb(error: Exception) -> None:
        await report(error)
        if not first:
            return
        refusal = _refusal(url, error, tls)
        if refusal is not None:
            raise BrokerRefused(refusal) from error
        if isinstance(error, TimeoutError):
            raise _FirstAttemptTimedOut(url) from error

    nc = NatsClient()
    try:
        await nc.connect(
            [server.strip() for server in url.split(",")],  # a cluster: any node will do
            name=name,
            connect_timeout=CONNECT_TIMEOUT,
            reconnect_time_wait=RECONNECT_WAIT,  # type: ignore[arg-type]  # [s], used as a float
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            ping_interval=5,
            max_outstanding_pings=2,
            error_cb=error_cb,
            user=None if credentials is None else credentials.user,
            password=None if credentials is None else credentials.password,
            tls=context,
            tls_handshake_first=context is not None,
        )
    except BaseException:  # refused, timed out, cancelled (a gateway stopping) or anything else
        await _drop_transport(nc)
        raise
    first = False
    return nc


async def close_client(nc: NatsClient) -> None:
    """Close a client and, in every case, its socket.

    nats-py's ``close()`` can fail before it reaches the socket (a flush to a broker that
    died); a socket left open is closed much later by the garbage collector, on an event loop
    closed by then, with a ResourceWarning in whatever runs at that moment.
    """
    try:
        with contextlib.suppress(Exception):
            await nc.close()
    finally:
        await _drop_transport(nc)


async def _drop_transport(nc: NatsClient) -> None:
    """Close the socket of a client whose connection failed or whose ``close()`` did not
    finish (closing a closed one does nothing). nats-py has no public call for it: a refused
    first attempt's ``close()`` would wait for a connection that never came.

    Over TLS nats-py keeps two streams, the TLS one and the TCP one under it. Closing the TLS
    stream only starts its goodbye (close_notify, then the broker's answer), which needs the
    event loop; when the loop ended first (``asyncio.run`` returning with a refused login) the
    TCP socket stayed open, and the garbage collector closed it later, in whatever ran then,
    with a ResourceWarning. So both are aborted: a failed connection owes no goodbye.
    """
    transport = getattr(nc, "_transport", None)
    streams = [getattr(transport, name, None) for name in ("_io_writer", "_bare_io_writer")]
    for stream in streams:
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.transport.abort()
    # an aborted socket is closed by a callback the loop runs on its next turn, queued before
    # this task's own wake-up: after one yield it is closed, whatever the caller does next
    await asyncio.sleep(0)


def _refusal(url: str, error: Exception, tls: BrokerTls | None) -> str | None:
    """Why the broker refused a first connection, for a person (None: retry, it may pass)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        where = "the system's CAs" if tls is None or tls.ca_file is None else str(tls.ca_file)
        return (
            f"broker {url}: its TLS certificate is not trusted ({error.verify_message}; "
            f"checked against {where}): give the CA that signed it with --broker-ca or "
            "ECOBASIN_BROKER_CA_FILE"
        )
    if isinstance(error, ssl.SSLError):
        return (
            f"broker {url}: TLS handshake failed ({error.reason or error}): the broker needs "
            "tls { handshake_first: true } (gateway.broker.tls_config) and, if it verifies "
            "clients, ECOBASIN_BROKER_CERT_FILE and ECOBASIN_BROKER_KEY_FILE"
        )
    if "authorization violation" in str(error).lower():
        return f"broker {url}: login refused (authorization violation): check the broker user"
    return None


def is_permission_error(error: BaseException) -> bool:
    """Whether the server refused a publish or subscription (NATS ``Permissions Violation``)
    or the login (``Authorization Violation``)."""
    text = str(error).lower()
    return "permissions violation" in text or "authorization violation" in text


class ConnectionErrorLog:
    """Connection errors while the broker is away: the first one at once, then at most one line
    per ``every`` [s] saying how many were not shown (the client retries every
    :data:`RECONNECT_WAIT`, which would write two lines a second for as long as it is away)."""

    def __init__(self, every: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self.last: float | None = None
        self.hidden = 0

    def __call__(self, error: Exception) -> None:
        now = self.clock()
        if self.last is not None and now - self.last < self.every:
            self.hidden += 1
            return
        more = f" ({self.hidden} more like it not shown)" if self.hidden else ""
        log.warning("broker connection: %s: %s%s", type(error).__name__, error, more)
        self.last, self.hidden = now, 0


async def ensure_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the stream :data:`STREAM` if it does not exist (file storage, ``replicas``
    copies, dedup window :data:`DUPLICATE_WINDOW` [s]); an existing one is left as it is."""
    try:
        await js.stream_info(STREAM)
        return
    except nats.js.errors.NotFoundError:
        pass
    config = StreamConfig(
        name=STREAM,
        subjects=[f"{SUBJECT_ROOT}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW,
    )
    with contextlib.suppress(nats.js.errors.BadRequestError):  # created meanwhile by a peer
        await js.add_stream(config)


async def ensure_device_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    """The device bucket, created when missing (one value per key, file storage)."""
    try:
        return await js.key_value(DEVICE_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        pass
    with contextlib.suppress(nats.js.errors.BadRequestError):
        return await js.create_key_value(
            bucket=DEVICE_BUCKET, history=1, replicas=replicas, storage=StorageType.FILE
        )
    return await js.key_value(DEVICE_BUCKET)


@dataclass
class FrontBroker:
    """The front process's broker link (one event loop: the front's).

    Parameters
    ----------
    url : str
        ``nats://host:port`` (several, comma-separated, for a cluster).
    cities : dict
        MN → city code of the devices in the gateway's store (the subject's city token).
    on_device : callable
        ``on_device(mn, entry)`` for each registry entry the bucket delivers (entries of
        :func:`device_entry`), so the front accepts that device from then on.
    stats : GatewayStats
        The front's counters: ``published``, ``broker_errors`` and the alarm flag
        ``broker_unreachable`` are kept here.
    replicas : int
        Copies of the stream and the bucket when this gateway creates them.
    credentials : BrokerCredentials or None
        The gateway role's user (:func:`gateway_permissions`); None: anonymous.
    tls : BrokerTls or None
        TLS to the broker (:func:`tls_wanted`: also for ``tls://`` URLs without it).
    """

    url: str
    cities: dict[str, int | None]
    on_device: Callable[[str, dict[str, Any]], None]
    stats: Any
    replicas: int = 1
    credentials: BrokerCredentials | None = None
    tls: BrokerTls | None = None
    _nc: NatsClient | None = None
    _js: JetStreamContext | None = None
    _kv: KeyValue | None = None
    _shared: dict[str, bytes] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _local: dict[str, dict[str, Any]] = field(default_factory=dict)
    _sharing: set[asyncio.Task[None]] = field(default_factory=set)
    #: MN → entry, as the bucket delivered them.
    known: dict[str, dict[str, Any]] = field(default_factory=dict)

    def start(self, local: dict[str, dict[str, Any]]) -> None:
        """Connect in the background (retrying while the broker is unreachable), then put the
        ``local`` registry (MN → :func:`device_entry`) into the bucket and watch it."""
        self._local = dict(local)
        self.stats.broker_unreachable = True  # until the stream answers
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        said = ""  # the last refusal logged: a setting to fix, said once, not every retry
        while True:
            try:
                self._nc = await connect(
                    self.url, "ecobasin-gateway", self.credentials, self._on_error, self.tls
                )
                break
            except BrokerRefused as error:
                if str(error) != said:
                    log.error("broker_unreachable: %s; no acks until it is fixed", error)
                    said = str(error)
                self._fail(str(error))
                await asyncio.sleep(RECONNECT_WAIT)
            except (OSError, nats.errors.Error, TimeoutError, BrokerConfigError) as error:
                self._fail(f"cannot connect to {self.url}: {error}")
                await asyncio.sleep(RECONNECT_WAIT)
        self._js = self._nc.jetstream(publish_async_max_pending=MAX_IN_FLIGHT)
        while True:
            try:
                await ensure_stream(self._js, self.replicas)
                self._kv = await ensure_device_bucket(self._js, self.replicas)
                await self._share(self._local, only_new=True)
                watcher = await self._kv.watchall()
                break
            except Exception as error:  # not ready yet (no leader, a peer creating it …)
                self._fail(f"stream or device bucket not ready: {type(error).__name__} {error}")
                await asyncio.sleep(RECONNECT_WAIT)
        log.info("broker %s: stream %s and bucket %s ready", self.url, STREAM, DEVICE_BUCKET)
        self.stats.broker_unreachable = False
        async for entry in watcher:
            if entry is None or entry.value is None or entry.operation is not None:
                continue  # end of the initial values, or a deletion (devices are disabled)
            try:
                value = json.loads(entry.value)
            except ValueError:
                log.error("device bucket: key %s holds no JSON; ignored", entry.key)
                continue
            self._shared[entry.key] = entry.value
            self.known[entry.key] = value
            self.cities[entry.key] = value.get("city")
            self.on_device(entry.key, value)

    def share(self, local: dict[str, dict[str, Any]]) -> None:
        """The gateway's store was read again: put its changed entries into the bucket."""
        self._local = dict(local)
        if self._kv is not None:
            task = asyncio.create_task(self._share(local, only_new=False))
            self._sharing.add(task)  # kept until done (the loop holds tasks only weakly)
            task.add_done_callback(self._sharing.discard)

    async def _share(self, entries: dict[str, dict[str, Any]], *, only_new: bool) -> None:
        assert self._kv is not None
        for mn, entry in entries.items():
            self.cities.setdefault(mn, entry.get("city"))
            sealed = sealed_entry(entry, _salt_of(self._shared.get(mn)))
            value = json.dumps(sealed, sort_keys=True).encode()
            if self._shared.get(mn) == value:
                continue
            try:
                if only_new:  # at start: a peer's newer entry wins over a stale store
                    await self._kv.create(_key(mn), value)
                else:
                    await self._kv.put(_key(mn), value)
            except nats.js.errors.KeyWrongLastSequenceError:
                continue
            self._shared[mn] = value

    async def publish(self, frames: Iterable[tuple[bytes, bytes, int]]) -> None:
        """Publish ``(peer, frame, received µs)`` triples and wait for every ack.

        Raises
        ------
        BrokerUnavailable
            When the broker is not connected or an ack does not come within
            :data:`PUBLISH_TIMEOUT` [s]; none of the batch may then be acknowledged.
        """
        js = self._js
        if js is None or self._nc is None or not self._nc.is_connected:
            self._fail("not connected")
            raise BrokerUnavailable(f"broker {self.url} not connected")
        futures: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT):
                for peer, frame, micros in frames:
                    futures.append(await js.publish_async(*self._message(peer, frame, micros)))
                await asyncio.gather(*futures)
        except (TimeoutError, nats.errors.Error, OSError) as error:
            for future in futures:
                future.cancel()  # frees its place among the MAX_IN_FLIGHT
            self._fail(f"publish not acknowledged: {type(error).__name__} {error}")
            raise BrokerUnavailable(f"broker {self.url}: {error}") from error
        if self.stats.broker_unreachable:
            log.warning("broker %s acknowledges again", self.url)
        self.stats.broker_unreachable = False
        self.stats.broker_permission_denied = False  # the broker took this batch from us
        self.stats.published += len(futures)

    def _message(
        self, peer: bytes, frame: bytes, micros: int
    ) -> tuple[str, bytes, None, None, dict[str, str]]:
        """Subject, payload (the exact frame), stall limit (None: a ``wait_for`` per message
        costs half the publish CPU; the batch's timeout bounds it), stream, headers."""
        segment = frame[6:-6]  # between ## + 4-digit length and the CRC + CR LF (§6.3.1)
        head = read_head(segment)
        mn = head.mn or ""
        headers = {HEADER_RECEIVED: str(micros), HEADER_PEER: peer.decode("utf-8", "replace")}
        key = message_id(segment, head)
        if key is not None:
            headers["Nats-Msg-Id"] = key
        return subject_for(self.cities.get(mn), mn), frame, None, None, headers

    def _on_error(self, error: Exception) -> None:
        """A refused publish, subscription or login: the alarm ``broker_permission_denied``."""
        if is_permission_error(error):
            if not self.stats.broker_permission_denied:
                log.error("broker_permission_denied: %s (check the gateway's broker user)", error)
            self.stats.broker_permission_denied = True
            self._fail(f"permission denied: {error}")

    def _fail(self, why: str) -> None:
        if not self.stats.broker_unreachable:
            log.error("broker_unreachable: %s; no acks until the broker answers", why)
        self.stats.broker_unreachable = True
        self.stats.broker_errors += 1

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._nc is not None:
            await close_client(self._nc)


async def publish_devices(
    url: str,
    entries: dict[str, dict[str, Any]],
    credentials: BrokerCredentials | None = None,
    replicas: int = 1,
    tls: BrokerTls | None = None,
) -> None:
    """Put registry entries (MN → :func:`device_entry`, PW in clear) into the device bucket,
    hashed (:func:`sealed_entry`): every running gateway accepts them once its watch delivers
    them (``ecobasin device add --broker``)."""
    nc = await connect(url, "ecobasin-device-add", credentials, tls=tls)
    try:
        kv = await ensure_device_bucket(nc.jetstream(), replicas)
        for mn, entry in entries.items():
            await kv.put(_key(mn), json.dumps(sealed_entry(entry), sort_keys=True).encode())
    finally:
        await close_client(nc)


def _key(mn: str) -> str:
    """A bucket key for an MN (keys allow letters, digits, ``-``, ``_``, ``=``, ``.``, ``/``)."""
    return re.sub(r"[^A-Za-z0-9_\-=./]", "_", mn)
