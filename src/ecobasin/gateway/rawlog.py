"""The gateway's raw log: every accepted frame, exactly as received, before it is acknowledged.

A raw log is a directory of append-only segment files ``seg-<first seq>.log``. Each file starts
with a header naming the log's id; then records::

    u32 body length | u32 zlib.crc32(body) | body
    body = u64 sequence number | i64 received_at [µs since 1970, UTC] | u16 peer length
           | peer (UTF-8) | frame bytes (``##`` … CR LF, as received)

A crash can leave a half-written record at the end of the newest segment: its checksum (or
length) does not match, and :meth:`RawLog.open` truncates the file there. The store keeps the
last sequence number it has written per log id (``gateway_checkpoints``), so after a restart
the records past it are written again, exactly once.
"""

from __future__ import annotations

import logging
import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = [
    "SEGMENT_BYTES",
    "RawLog",
    "RawLogError",
    "RawRecord",
    "decode_records",
    "encode_raw",
    "encode_record",
    "log_id_of",
    "read_records",
]

log = logging.getLogger(__name__)

#: A new segment file is started once the current one has reached this size [bytes].
SEGMENT_BYTES = 64 * 1024 * 1024
MAGIC = b"ECOBASIN-RAWLOG 1 "
_HEADER_LEN = len(MAGIC) + 32 + 1  # magic, log id (32 hex digits), newline
_RECORD = struct.Struct("<II")
_BODY = struct.Struct("<QqH")
#: Longest possible body: a 1036-byte frame and a peer name (defends against a torn length).
_MAX_BODY = _BODY.size + 1024 + 1036 + 64 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RawLogError(ValueError):
    """A path is not a raw log, or its segments belong to different logs."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One frame as it was received.

    Attributes
    ----------
    seq : int
        Sequence number, 1, 2, … within the log.
    received_at : datetime
        When it arrived (UTC).
    peer : str
        ``host:port`` of the sender.
    frame : bytes
        The frame, ``##`` to CR LF, byte for byte.
    """

    seq: int
    received_at: datetime
    peer: str
    frame: bytes


def encode_record(seq: int, received_at: datetime, peer: str, frame: bytes) -> bytes:
    """One record in the segment-file layout (see the module docstring)."""
    micros = (received_at - _EPOCH) // timedelta(microseconds=1)
    return encode_raw(seq, micros, peer.encode("utf-8")[:65535], frame)


def encode_raw(seq: int, micros: int, peer: bytes, frame: bytes) -> bytes:
    """:func:`encode_record` from the receive time in µs since 1970 (UTC) and the peer's
    UTF-8 name (at most 65,535 bytes): the gateway's hot path."""
    body = _BODY.pack(seq, micros, len(peer)) + peer + frame
    return _RECORD.pack(len(body), zlib.crc32(body)) + body


def decode_records(data: bytes) -> list[RawRecord]:
    """The records of a run of encoded records (as written to a segment after its header).

    Raises
    ------
    RawLogError
        When the bytes do not end with a whole, undamaged record.
    """
    records, end = [], 0
    for end, record in _scan(data, 0):  # noqa: B007 (end is used after)
        records.append(record)
    if end != len(data):
        raise RawLogError(f"damaged raw-log records at byte {end} of {len(data)}")
    return records


def _header(log_id: str) -> bytes:
    return MAGIC + log_id.encode("ascii") + b"\n"


def _read_header(path: Path, data: bytes) -> str:
    if len(data) < _HEADER_LEN or not data.startswith(MAGIC) or data[_HEADER_LEN - 1] != 10:
        raise RawLogError(f"{path} is not an ecobasin raw-log segment (bad header)")
    return data[len(MAGIC) : _HEADER_LEN - 1].decode("ascii")


def _scan(data: bytes, start: int) -> Iterator[tuple[int, RawRecord]]:
    """Records from ``start`` until the end or the first damaged one: (end offset, record)."""
    pos, n = start, len(data)
    while pos + _RECORD.size <= n:
        length, crc = _RECORD.unpack_from(data, pos)
        end = pos + _RECORD.size + length
        if length < _BODY.size or length > _MAX_BODY or end > n:
            return
        body = data[pos + _RECORD.size : end]
        if zlib.crc32(body) != crc:
            return
        seq, micros, peer_len = _BODY.unpack_from(body)
        peer = body[_BODY.size : _BODY.size + peer_len].decode("utf-8", errors="replace")
        frame = bytes(body[_BODY.size + peer_len :])
        yield end, RawRecord(seq, _EPOCH + timedelta(microseconds=micros), peer, frame)
        pos = end


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("seg-*.log"))


def log_id_of(path: Path) -> str:
    """The id of the raw log a directory or segment file belongs to."""
    files = _segments(path) if path.is_dir() else [path]
    if not files:
        raise RawLogError(f"{path} holds no raw-log segments (seg-*.log)")
    with files[0].open("rb") as handle:
        return _read_header(files[0], handle.read(_HEADER_LEN))


def read_records(path: Path, after: int = 0) -> Iterator[RawRecord]:
    """The records of a raw log (a directory) or of one segment file, in sequence order.

    Parameters
    ----------
    path : Path
        The raw-log directory or one ``seg-*.log`` file.
    after : int
        Skip records with a sequence number up to this one (a store's checkpoint).

    Raises
    ------
    RawLogError
        When a file is not a segment or the segments belong to different logs.
    """
    files = _segments(path) if path.is_dir() else [path]
    log_id = None
    for number, file in enumerate(files):
        data = file.read_bytes()
        this_id = _read_header(file, data)
        if log_id is not None and this_id != log_id:
            raise RawLogError(f"{file} belongs to raw log {this_id}, not {log_id}")
        log_id = this_id
        if number + 1 < len(files) and _first_seq(files[number + 1]) <= after:
            continue  # the whole segment is before the checkpoint
        end = _HEADER_LEN
        for end, record in _scan(data, _HEADER_LEN):  # noqa: B007 (end is used after)
            if record.seq > after:
                yield record
        if end < len(data):
            log.warning("%s: %d damaged bytes at offset %d ignored", file, len(data) - end, end)


def _first_seq(path: Path) -> int:
    try:
        return int(path.stem.removeprefix("seg-"))
    except ValueError:
        return 0


class RawLog:
    """The writable end of a raw log (one process; one thread writes at a time).

    Use :meth:`open`; then :meth:`write` encoded records in sequence order and :meth:`sync`
    (fsync) them before acknowledging.

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
    """

    def __init__(self, directory: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.log_id = ""
        self.last_seq = 0
        self.truncated = 0
        self._fd = -1
        self._size = 0

    @classmethod
    def open(cls, directory: Path, segment_bytes: int = SEGMENT_BYTES) -> RawLog:
        """Open (or create) the raw log in ``directory``, truncating a torn last record."""
        raw_log = cls(directory, segment_bytes)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)  # raw packets name devices and enterprises: owner only
        files = _segments(directory)
        if not files:
            raw_log.log_id = uuid.uuid4().hex
            raw_log._start_segment(1)
            return raw_log
        raw_log.log_id = log_id_of(directory)
        for file in reversed(files):  # the newest segment with a record gives last_seq
            data = file.read_bytes()
            _read_header(file, data)
            end = _HEADER_LEN
            for end, record in _scan(data, _HEADER_LEN):  # noqa: B007 (end is used after)
                raw_log.last_seq = record.seq
            if file == files[-1] and end < len(data):
                raw_log.truncated = len(data) - end
                log.warning("%s: torn tail of %d bytes truncated", file, raw_log.truncated)
                with file.open("r+b") as handle:
                    handle.truncate(end)
                    os.fsync(handle.fileno())
            if raw_log.last_seq:
                break
        newest = files[-1]
        raw_log._fd = os.open(newest, os.O_WRONLY | os.O_APPEND)
        raw_log._size = newest.stat().st_size
        return raw_log

    def _start_segment(self, first_seq: int) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
        path = self.directory / f"seg-{first_seq:016d}.log"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        header = _header(self.log_id)
        os.write(self._fd, header)
        os.fsync(self._fd)
        self._size = len(header)
        self._sync_directory()

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write(self, data: bytes, first_seq: int, last_seq: int) -> None:
        """Append encoded records ``first_seq``..``last_seq`` (rotating the segment first when
        it is full). The bytes reach the OS; call :meth:`sync` to make them durable."""
        if self._size >= self.segment_bytes:
            self._start_segment(first_seq)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)
        self.last_seq = last_seq

    def sync(self) -> None:
        """fsync the current segment: everything written so far survives a crash."""
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
