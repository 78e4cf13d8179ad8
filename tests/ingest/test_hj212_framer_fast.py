"""The framer's one-whole-frame read (issue 12, ninth pass) gives exactly what the buffered
framer gives, for any stream cut into any reads (HJ 212-2017 §6.3.1 表2, Appendix A)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from ecobasin.ingest.hj212.crc import CrcMode, crc_hex
from ecobasin.ingest.hj212.errors import FrameError
from ecobasin.ingest.hj212.framer import Frame, Framer


def _packet(segment: bytes, crc: str | None = None, length: int | None = None) -> bytes:
    crc = crc_hex(segment) if crc is None else crc
    size = len(segment) if length is None else length
    return b"##%04d" % size + segment + crc.encode("ascii") + b"\r\n"


_SEGMENT = st.builds(
    lambda qn, mn, cp: b"QN=%s;ST=22;CN=2011;PW=123456;MN=%s;Flag=5;CP=&&%s&&" % (qn, mn, cp),
    st.from_regex(rb"\A[0-9]{17}\Z"),
    st.from_regex(rb"\A[0-9A-Z]{1,24}\Z"),
    st.binary(max_size=120),
)
_PIECE = st.one_of(
    _SEGMENT.map(_packet),  # the usual frame
    _SEGMENT.map(lambda s: _packet(s, crc_hex(s).lower())),  # lower-case CRC (accepted)
    _SEGMENT.map(lambda s: _packet(s, "0000" if crc_hex(s) != "0000" else "0001")),  # wrong
    _SEGMENT.map(lambda s: _packet(s, "12G4")),  # not hex
    _SEGMENT.map(lambda s: _packet(s, length=len(s) + 1)),  # wrong length
    _SEGMENT.map(lambda s: _packet(s)[:-1]),  # no LF
    st.binary(max_size=40),  # garbage
    st.sampled_from([b"##", b"#", b"##9999", b"##12ab", b"##\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4"]),
    st.just(b"##0000FFFF\r\n"),  # the empty segment
)


def _seen(items: list[Frame | FrameError]) -> list[object]:
    return [
        item if isinstance(item, Frame) else (type(item).__name__, item.reason, item.raw)
        for item in items
    ]


@given(st.lists(_PIECE, max_size=12), st.data(), st.sampled_from(list(CrcMode)))
def test_whole_frame_reads_frame_as_the_buffered_framer(
    pieces: list[bytes], data: st.DataObject, mode: CrcMode
) -> None:
    stream = b"".join(pieces)
    if data.draw(st.booleans(), label="one read per piece"):
        reads = pieces
    else:
        cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8), label="cuts"))
        reads = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    fast, buffered = Framer(mode), Framer(mode)
    got, expected = [], []
    for read in reads:
        got += fast.feed(read)
        expected += buffered._feed_buffered(read, None)
    got += fast.close()
    expected += buffered.close()
    assert _seen(got) == _seen(expected)


def test_a_whole_usual_frame_takes_the_one_read_path() -> None:
    """The fast path answers the usual upload (the raw frame is the read itself, not a copy)
    and leaves nothing buffered; a frame with a wrong CRC still gets its error."""
    packet = _packet(b"QN=20260101000000000;ST=22;CN=2011;PW=1;MN=A1;Flag=5;CP=&&a=1&&")
    framer = Framer()
    [frame] = framer.feed(packet)
    assert isinstance(frame, Frame) and frame.raw is packet and framer.pending == 0
    [error] = framer.feed(packet.replace(packet[-6:-2], b"0000"))
    assert type(error).__name__ == "CrcMismatch"


_USUAL = _packet(b"QN=20260101000000000;ST=22;CN=2011;PW=1;MN=A1;Flag=5;CP=&&a=1&&")


@given(st.lists(_PIECE, max_size=3), st.binary(max_size=8), st.sampled_from(list(CrcMode)))
@example([_USUAL], b"", CrcMode.HJ212)  # the usual read
@example([_USUAL], b"##00", CrcMode.HJ212)  # the same after a partial start: buffered path
def test_whole_segment_is_the_segment_of_the_one_frame_feed_gives(
    pieces: list[bytes], held: bytes, mode: CrcMode
) -> None:
    """``whole_segment`` answers exactly when ``feed`` would give one frame through its
    one-read path (nothing buffered, the read one upper-case, right frame), and then with that
    frame's segment; the read is the frame. It changes nothing in the framer."""
    read = b"".join(pieces)
    framer = Framer(mode)
    if held:  # something already buffered: never the one-read path
        framer._buf += held
    segment = framer.whole_segment(read)
    assert framer.pending == len(held)
    items = Framer(mode).feed(read) if not held else []
    one_read = (
        not held
        and len(items) == 1
        and isinstance(items[0], Frame)
        and items[0].raw == read
        and mode is CrcMode.HJ212
        and items[0].crc == items[0].crc.upper()
    )
    if not one_read:
        assert segment is None
        return
    assert isinstance(items[0], Frame)
    assert segment == items[0].segment and read[6:-6] == segment
