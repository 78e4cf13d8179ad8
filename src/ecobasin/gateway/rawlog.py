"""The gateway's raw log: every accepted frame, exactly as received, before it is acknowledged.

A raw log is a directory of append-only segment files ``seg-<first seq>.log``. Each file starts
with a header naming the format version and the log's id; then records. Version 2 (the one
written now)::

    u32 MARK | u32 body length | u32 zlib.crc32(body) | body
    body = u64 sequence number | i64 received_at [µs since 1970, UTC] | u8 refusal code
           | u16 peer length | peer (UTF-8) | frame bytes (``##`` … CR LF, as received)

Version 1 segments (no MARK, no refusal code) are still read. The refusal code is 0 for a frame
that was accepted and acknowledged, else the reason it got no reply (``REFUSALS``).

Damage:

- A write or fsync error (ENOSPC, EIO, EFBIG) can leave part of a record at the end of the
  newest segment. :meth:`RawLog.write` and :meth:`RawLog.rollback` cut the file back to the
  last whole record before anything else is appended, so later records never sit behind a
  torn one; a torn tail found at :meth:`RawLog.open` (after a crash) is truncated too.
- A reader meeting a damaged record (length or checksum wrong) looks for the next MARK from
  which a whole record with a higher sequence number checks out: only that proof of
  resynchronisation lets it skip the damage (counted in :class:`ScanReport`); without one the
  damage is a torn tail and reading stops there.

The store keeps the last sequence number it has written per log id (``gateway_checkpoints``),
so after a restart the records past it are written again, exactly once; segments wholly before
the checkpoint are not even opened (:func:`read_records`), and :func:`prune_segments` deletes
or archives stored segments past the retention.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import shutil
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = [
    "REFUSALS",
    "SEGMENT_BYTES",
    "RawLog",
    "RawLogError",
    "RawRecord",
    "ScanReport",
    "decode_records",
    "encode_raw",
    "encode_record",
    "log_id_of",
    "prune_segments",
    "read_records",
]

log = logging.getLogger(__name__)

#: A new segment file is started once the current one has reached this size [bytes].
SEGMENT_BYTES = 64 * 1024 * 1024
#: Refusal codes of version-2 records: frames logged without a reply, and why.
REFUSALS = {0: "", 1: "implausible_datatime"}
_REFUSAL_CODES = {reason: code for code, reason in REFUSALS.items()}
MAGIC = b"ECOBASIN-RAWLOG 2 "
_MAGIC_V1 = b"ECOBASIN-RAWLOG 1 "
_HEADER_LEN = len(MAGIC) + 32 + 1  # magic, log id (32 hex digits), newline
#: Start of every version-2 record: where a reader resynchronises after damage.
MARK = b"\xecRL\x02"
_RECORD = struct.Struct("<4sII")
_RECORD_V1 = struct.Struct("<II")
_BODY = struct.Struct("<QqBH")
#: A version-2 record's header and its body's fixed fields, read at once (the hand-over).
_RECORD_BODY = struct.Struct("<4sIIQqBH")
_BODY_V1 = struct.Struct("<QqH")
#: Longest possible body: a 1036-byte frame and a peer name (defends against a torn length).
_MAX_BODY = _BODY.size + 1024 + 1036 + 64 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


#: ``pwritev2``'s flag "this write is durable on return" (Linux ≥ 4.7; 0 elsewhere).
_RWF_DSYNC: int = getattr(os, "RWF_DSYNC", 0)
#: Whether :meth:`RawLog.write_durable` uses it (cleared when the kernel refuses the flag).
_DSYNC_WRITES = [bool(_RWF_DSYNC) and hasattr(os, "pwritev")]
#: The errors of a kernel without ``pwritev2`` or its ``RWF_DSYNC`` flag.
_NO_DSYNC = frozenset({errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})


class _DsyncUnsupported(Exception):
    """The kernel refused ``RWF_DSYNC`` before writing anything."""


class RawLogError(ValueError):
    """A path is not a raw log, or its segments belong to different logs."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One frame as it was received.

    Attributes
    ----------
    seq : int
        Sequence number within the log (increasing; a write that failed leaves a gap).
    received_at : datetime
        When it arrived (UTC).
    peer : str
        ``host:port`` of the sender.
    frame : bytes
        The frame, ``##`` to CR LF, byte for byte.
    refused : str
        Empty for an accepted frame; else why the front refused it without a reply
        (``implausible_datatime``).
    """

    seq: int
    received_at: datetime
    peer: str
    frame: bytes
    refused: str = ""


@dataclass
class ScanReport:
    """What a reader skipped: damaged records proven followed by valid ones."""

    damaged: int = 0
    damaged_bytes: int = 0


def encode_record(
    seq: int, received_at: datetime, peer: str, frame: bytes, refused: str = ""
) -> bytes:
    """One record in the segment-file layout (see the module docstring)."""
    micros = (received_at - _EPOCH) // timedelta(microseconds=1)
    return encode_raw(seq, micros, peer.encode("utf-8")[:65535], frame, refused)


def encode_raw(seq: int, micros: int, peer: bytes, frame: bytes, refused: str = "") -> bytes:
    """:func:`encode_record` from the receive time in µs since 1970 (UTC) and the peer's
    UTF-8 name (at most 65,535 bytes): the gateway's hot path."""
    body = _BODY.pack(seq, micros, _REFUSAL_CODES[refused], len(peer)) + peer + frame
    return _RECORD.pack(MARK, len(body), zlib.crc32(body)) + body


def decode_records(data: bytes) -> list[RawRecord]:
    """The records of a run of encoded records (version 2, as the front hands them over).

    The store writer's side of the hand-over (issue 12, ninth pass): one loop reading each
    record's header and body fields with one ``unpack_from``, the checksum over a view (no
    copy of the body), the peer's name decoded once per peer; the records equal those of the
    segment reader (``_scan``), which the tests compare.

    Raises
    ------
    RawLogError
        When the bytes do not end with a whole, undamaged record.
    """
    records: list[RawRecord] = []
    append, unpack, crc32 = records.append, _RECORD_BODY.unpack_from, zlib.crc32
    view, pos, n = memoryview(data), 0, len(data)
    peers: dict[bytes, str] = {}
    epoch, microseconds = _EPOCH, timedelta(microseconds=1)
    while pos < n:
        if pos + _RECORD_BODY.size > n:
            raise RawLogError(f"damaged raw-log records at byte {pos} of {n}")
        mark, length, crc, seq, micros, refusal, peer_len = unpack(data, pos)
        end = pos + _RECORD.size + length
        start = pos + _RECORD_BODY.size
        if (
            mark != MARK
            or end > n
            or not _BODY.size <= length <= _MAX_BODY
            or start + peer_len > end
            or crc32(view[pos + _RECORD.size : end]) != crc
        ):
            raise RawLogError(f"damaged raw-log records at byte {pos} of {n}")
        peer_bytes = data[start : start + peer_len]
        peer = peers.get(peer_bytes)
        if peer is None:
            peer = peers[peer_bytes] = peer_bytes.decode("utf-8", errors="replace")
        refused = REFUSALS.get(refusal, f"refusal_{refusal}") if refusal else ""
        at = epoch + micros * microseconds
        append(RawRecord(seq, at, peer, data[start + peer_len : end], refused))
        pos = end
    return records


def _header(log_id: str) -> bytes:
    return MAGIC + log_id.encode("ascii") + b"\n"


def _read_header(path: Path, data: bytes) -> tuple[str, int]:
    """(log id, format version) of a segment's first bytes."""
    if len(data) < _HEADER_LEN or data[_HEADER_LEN - 1] != 10:
        raise RawLogError(f"{path} is not an ecobasin raw-log segment (bad header)")
    if data.startswith(MAGIC):
        version = 2
    elif data.startswith(_MAGIC_V1):
        version = 1
    else:
        raise RawLogError(f"{path} is not an ecobasin raw-log segment (bad header)")
    return data[len(MAGIC) : _HEADER_LEN - 1].decode("ascii"), version


def _record_at(data: bytes, pos: int, version: int) -> tuple[int, RawRecord] | None:
    """The whole, undamaged record starting at ``pos`` and its end offset; None if damaged."""
    n = len(data)
    head = _RECORD if version == 2 else _RECORD_V1
    body_struct = _BODY if version == 2 else _BODY_V1
    if pos + head.size > n:
        return None
    if version == 2:
        mark, length, crc = _RECORD.unpack_from(data, pos)
        if mark != MARK:
            return None
    else:
        length, crc = _RECORD_V1.unpack_from(data, pos)
    end = pos + head.size + length
    if length < body_struct.size or length > _MAX_BODY or end > n:
        return None
    body = data[pos + head.size : end]
    if zlib.crc32(body) != crc:
        return None
    if version == 2:
        seq, micros, refusal, peer_len = _BODY.unpack_from(body)
    else:
        (seq, micros, peer_len), refusal = _BODY_V1.unpack_from(body), 0
    start = body_struct.size
    peer = body[start : start + peer_len].decode("utf-8", errors="replace")
    frame = bytes(body[start + peer_len :])
    refused = REFUSALS.get(refusal, f"refusal_{refusal}")
    return end, RawRecord(seq, _EPOCH + timedelta(microseconds=micros), peer, frame, refused)


def _resync(data: bytes, pos: int, last_seq: int) -> int | None:
    """The offset of the next whole record after damage at ``pos`` whose sequence number
    follows ``last_seq`` (the proof that the framing is back); None: the damage is a tail."""
    found = data.find(MARK, pos + 1)
    while found >= 0:
        at = _record_at(data, found, 2)
        if at is not None and at[1].seq > last_seq:
            return found
        found = data.find(MARK, found + 1)
    return None


def _scan(
    data: bytes, start: int, version: int, report: ScanReport | None = None
) -> Iterator[tuple[int, RawRecord]]:
    """Records from ``start``: (end offset, record). Damage followed by a valid record is
    skipped (counted in ``report``); damage at the end stops the scan (a torn tail)."""
    pos, n, last_seq = start, len(data), 0
    while pos < n:
        at = _record_at(data, pos, version)
        if at is None:
            after = _resync(data, pos, last_seq) if version == 2 else None
            if after is None:
                return
            log.warning("raw log: %d damaged bytes skipped at offset %d", after - pos, pos)
            if report is not None:
                report.damaged += 1
                report.damaged_bytes += after - pos
            pos = after
            continue
        end, record = at
        last_seq = record.seq
        yield end, record
        pos = end


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("seg-*.log"))


def log_id_of(path: Path) -> str:
    """The id of the raw log a directory or segment file belongs to."""
    files = _segments(path) if path.is_dir() else [path]
    if not files:
        raise RawLogError(f"{path} holds no raw-log segments (seg-*.log)")
    with files[0].open("rb") as handle:
        return _read_header(files[0], handle.read(_HEADER_LEN))[0]


def read_records(
    path: Path, after: int = 0, report: ScanReport | None = None
) -> Iterator[RawRecord]:
    """The records of a raw log (a directory) or of one segment file, in sequence order.

    Segments wholly before ``after`` (the next one starts at or before ``after + 1``) are not
    opened: a restart reads from the checkpoint's segment on, whatever the log's size.

    Parameters
    ----------
    path : Path
        The raw-log directory or one ``seg-*.log`` file.
    after : int
        Skip records with a sequence number up to this one (a store's checkpoint).
    report : ScanReport, optional
        Counts the damaged records skipped.

    Raises
    ------
    RawLogError
        When a file is not a segment or the segments belong to different logs.
    """
    files = _segments(path) if path.is_dir() else [path]
    log_id = None
    for number, file in enumerate(files):
        if number + 1 < len(files) and _first_seq(files[number + 1]) <= after + 1:
            continue  # the whole segment is before the checkpoint
        data = file.read_bytes()
        this_id, version = _read_header(file, data)
        if log_id is not None and this_id != log_id:
            raise RawLogError(f"{file} belongs to raw log {this_id}, not {log_id}")
        log_id = this_id
        end = _HEADER_LEN
        for end, record in _scan(data, _HEADER_LEN, version, report):  # noqa: B007
            if record.seq > after:
                yield record
        if end < len(data):
            log.warning("%s: %d damaged bytes at offset %d ignored", file, len(data) - end, end)


def _first_seq(path: Path) -> int:
    try:
        return int(path.stem.removeprefix("seg-"))
    except ValueError:
        return 0


def prune_segments(
    directory: Path,
    stored_seq: int,
    retention: timedelta,
    *,
    archive: Path | None = None,
    now: float | None = None,
) -> list[Path]:
    """Delete (or move to ``archive``) the segments whose every record is in the store and
    whose last write is older than ``retention``; the newest segment is always kept.

    Parameters
    ----------
    directory : Path
        The raw-log directory.
    stored_seq : int
        The store's checkpoint: every record up to it is stored.
    retention : timedelta
        How long a stored segment is kept after its last write.
    archive : Path, optional
        Move the segments there instead of deleting them.
    now : float, optional
        [s since 1970] The clock (default: now).

    Returns
    -------
    list of Path
        The segments removed (their old paths).
    """
    cutoff = (time.time() if now is None else now) - retention.total_seconds()
    files = _segments(directory)
    removed = []
    for file, following in itertools.pairwise(files):
        if _first_seq(following) - 1 > stored_seq or file.stat().st_mtime > cutoff:
            continue
        if archive is not None:
            archive.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.move(file, archive / file.name)
        else:
            file.unlink()
        removed.append(file)
    if removed:
        log.info("raw log: %d stored segments past the retention removed", len(removed))
    return removed


class RawLog:
    """The writable end of a raw log (one process; one thread writes at a time).

    Use :meth:`open`; then :meth:`write` encoded records in sequence order and :meth:`sync`
    (fsync) them before acknowledging. A failed write or fsync leaves the log unhealthy
    (:attr:`healthy` False) until :meth:`rollback` has cut the torn bytes off again, which
    :meth:`write` does first.

    Attributes
    ----------
    directory : Path
        Where the segment files are.
    log_id : str
        The log's id (written in every segment's header).
    last_seq : int
        The sequence number of the last record written (0 for a new log).
    truncated : int
        Bytes of a damaged tail cut off when the log was opened.
    healthy : bool
        False from a write or fsync error until the torn bytes are cut off and a write and
        fsync succeed again.
    size : int
        [bytes] Length of the current segment (whole records only while healthy).
    """

    def __init__(
        self, directory: Path, segment_bytes: int = SEGMENT_BYTES, max_age: float | None = None
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.max_age = max_age
        self.log_id = ""
        self.last_seq = 0
        self.truncated = 0
        self.healthy = True
        self._fd = -1
        self._size = 0
        self._good = 0  # [bytes] end of the last whole record written
        self._last_write_at = 0  # [bytes] where the last write began
        self._started = time.time()  # [s] when the current segment began

    @property
    def size(self) -> int:
        return self._size

    @classmethod
    def open(
        cls, directory: Path, segment_bytes: int = SEGMENT_BYTES, max_age: float | None = None
    ) -> RawLog:
        """Open (or create) the raw log in ``directory``, truncating a torn last record.

        Parameters
        ----------
        directory : Path
            The raw-log directory (created private, mode 0700).
        segment_bytes : int
            [bytes] Rotate to a new segment past this size.
        max_age : float, optional
            [s] Rotate to a new segment once the current one is this old.
        """
        raw_log = cls(directory, segment_bytes, max_age)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)  # raw packets name devices and enterprises: owner only
        files = _segments(directory)
        if not files:
            raw_log.log_id = uuid.uuid4().hex
            raw_log._start_segment(1)
            return raw_log
        raw_log.log_id = log_id_of(directory)
        newest_version, first_time = 2, None
        for file in reversed(files):  # the newest segment with a record gives last_seq
            data = file.read_bytes()
            _, version = _read_header(file, data)
            end = _HEADER_LEN
            for end, record in _scan(data, _HEADER_LEN, version):  # noqa: B007
                raw_log.last_seq = record.seq
                first_time = first_time or record.received_at
            if file == files[-1]:
                newest_version = version
                if end < len(data):
                    raw_log.truncated = len(data) - end
                    log.warning("%s: torn tail of %d bytes truncated", file, raw_log.truncated)
                    with file.open("r+b") as handle:
                        handle.truncate(end)
                        os.fsync(handle.fileno())
            if raw_log.last_seq:
                break
        newest = files[-1]
        if newest_version != 2:  # never append version-2 records to a version-1 segment
            if newest.stat().st_size <= _HEADER_LEN:  # an empty one would clash by name
                newest.unlink()
            raw_log._start_segment(raw_log.last_seq + 1)
            return raw_log
        raw_log._fd = os.open(newest, os.O_WRONLY | os.O_APPEND)
        raw_log._size = raw_log._good = newest.stat().st_size
        if first_time is not None and newest == files[-1]:
            raw_log._started = first_time.timestamp()
        return raw_log

    def _start_segment(self, first_seq: int) -> None:
        """Close the current segment (fsynced) and start ``seg-<first_seq>.log``; a header
        that cannot be written leaves no file behind."""
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
        path = self.directory / f"seg-{first_seq:016d}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        header = _header(self.log_id)
        try:
            if os.write(fd, header) != len(header):
                raise OSError(f"short write of the header of {path}")
            os.fsync(fd)
            self._sync_directory()
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        self._fd = fd
        self._size = self._good = len(header)
        self._started = time.time()

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _due_for_rotation(self) -> bool:
        if self._size >= self.segment_bytes:
            return True
        return self.max_age is not None and time.time() - self._started >= self.max_age

    def write(self, data: bytes, first_seq: int, last_seq: int) -> None:
        """Append encoded records ``first_seq``..``last_seq`` (rotating the segment first when
        it is full or old). The bytes reach the OS; call :meth:`sync` to make them durable.

        Raises
        ------
        OSError
            The write failed (ENOSPC, EIO, EFBIG): the log is unhealthy, the torn bytes are cut
            off (now if possible, else before the next write), nothing of ``data`` is kept.
        """
        self._prepare(first_seq)
        self._write(data, last_seq, durable=False)

    def _prepare(self, first_seq: int) -> None:
        """Before a write: cut a torn tail off, and rotate when the segment is full or old."""
        if not self.healthy or self._fd < 0:
            self.rollback()
        try:
            if self._due_for_rotation() and self._size > _HEADER_LEN:
                self._start_segment(first_seq)
        except OSError:
            self.healthy = False
            self._try_rollback()
            raise

    def _write(self, data: bytes, last_seq: int, *, durable: bool) -> None:
        """Append ``data`` whole (``durable``: each ``pwritev2`` with ``RWF_DSYNC``); on an
        error the log is unhealthy and the bytes written are cut off again."""
        try:
            self._last_write_at = self._size
            view = memoryview(data)
            while view:
                if durable:
                    written = os.pwritev(self._fd, [view], -1, _RWF_DSYNC)
                else:
                    written = os.write(self._fd, view)
                view = view[written:]
        except OSError as error:
            if durable and len(view) == len(data) and error.errno in _NO_DSYNC:
                raise _DsyncUnsupported from error
            self.healthy = False
            self._try_rollback()
            raise
        self._size += len(data)
        self._good = self._size
        self.last_seq = last_seq
        if durable:
            self.healthy = True

    def write_durable(self, data: bytes, first_seq: int, last_seq: int) -> None:
        """:meth:`write` and make the records durable: on return they survive a crash.

        Where the kernel has it (Linux ≥ 4.7), one ``pwritev2`` with ``RWF_DSYNC``: the write
        returns once its data and the metadata needed to read them back (the file's size) are
        on stable storage, as ``fdatasync`` after it would; the segment file and its directory
        entry were fsynced when it was created (:meth:`_start_segment`). Why: one system call
        and one release of the GIL per group commit instead of two (issue 12, tenth pass).
        Elsewhere :meth:`write`, then :meth:`sync`.

        Raises
        ------
        OSError
            The write or its sync failed (ENOSPC, EIO, EFBIG): nothing of ``data`` is kept
            (the torn or unsynced bytes are cut off now if possible, else before the next
            write) and the log is unhealthy until then.
        """
        self._prepare(first_seq)
        if _DSYNC_WRITES[0]:
            try:
                self._write(data, last_seq, durable=True)
                return
            except _DsyncUnsupported:  # an old kernel: nothing written, write and fsync
                _DSYNC_WRITES[0] = False
        self._write(data, last_seq, durable=False)
        try:
            self.sync()
        except OSError:
            self.discard_last_write()
            raise

    def sync(self) -> None:
        """fsync the current segment: everything written so far survives a crash.

        Raises
        ------
        OSError
            The fsync failed: the log is unhealthy until :meth:`rollback`.
        """
        try:
            os.fsync(self._fd)
        except OSError:
            self.healthy = False
            raise
        self.healthy = True

    def discard_last_write(self) -> None:
        """Drop the records of the last :meth:`write` (their fsync failed: never acknowledged):
        cut them off now if possible, else before the next write."""
        self._good = min(self._good, self._last_write_at)
        self.healthy = False
        self._try_rollback()

    def rollback(self) -> None:
        """Cut the current segment back to its last good record (the records written since are
        dropped: they were never acknowledged) and fsync; then the log may be written again.

        Raises
        ------
        OSError
            When the file cannot be truncated or synced (the log stays unhealthy).
        """
        if self._fd < 0:  # a new segment's header failed: start it again
            self._start_segment(self.last_seq + 1)
            return
        os.ftruncate(self._fd, self._good)
        os.fsync(self._fd)
        self._size = self._good
        self.healthy = True

    def _try_rollback(self) -> None:
        try:
            self.rollback()
        except OSError as error:
            log.error(
                "raw log: cannot cut the torn tail yet (%s); retried before next write", error
            )

    def close(self) -> None:
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1
