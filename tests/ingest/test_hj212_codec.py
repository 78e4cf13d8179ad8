"""The HJ 212 codec: Appendix A CRC, stream framing, segment parsing, Flag bits, encoder, errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecobasin.ingest.hj212 import (
    BadCrcField,
    BadEncoding,
    BadHeader,
    BadLengthField,
    BadTerminator,
    CrcMismatch,
    CrcMode,
    DuplicateField,
    Frame,
    FrameError,
    Framer,
    GarbageSkipped,
    InvalidField,
    InvalidValue,
    LengthMismatch,
    MalformedItem,
    MalformedSegment,
    MissingField,
    OversizedFrame,
    TruncatedFrame,
    UnknownField,
    crc_hex,
    encode_frame,
    encode_message,
    inspect_packet,
    parse_frame,
    parse_segment,
    read_segment,
    reply_for,
)
from ecobasin.ingest.hj212.codec import read_head

APP_A_SEGMENT = (
    "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
    "CP=&&RtdInterval=30&&"
)
APP_A = f"##0101{APP_A_SEGMENT}1C80\r\n".encode()
UPLOAD = (
    b"##0139QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&DataTime=20160801085857;w01018-Rtd=2.2,w01018-Flag=N&&17C0\r\n"
)
ACK = (
    b"##0087QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;"
    b"CP=&&&&3240\r\n"
)
HEAD = "ST=32;CN=2011;PW=123456;MN=DEV01;"


def frames(out: list[Frame | FrameError]) -> list[Frame]:
    return [x for x in out if isinstance(x, Frame)]


# --- CRC (Appendix A) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "hj212", "modbus"),
    [
        (b"123456789", "2F80", "4B37"),
        (b"A", "7080", "707F"),
        (b"", "FFFF", "FFFF"),
        (APP_A_SEGMENT.encode(), "1C80", "0759"),
    ],
)
def test_crc_vectors_from_the_brief(data: bytes, hj212: str, modbus: str) -> None:
    assert crc_hex(data) == hj212
    assert crc_hex(data, CrcMode.MODBUS) == modbus


def test_crc_of_the_worked_9014_example() -> None:
    assert UPLOAD.endswith(b"17C0\r\n") and crc_hex(UPLOAD[6:-6]) == "17C0"
    assert crc_hex(ACK[6:-6]) == "3240"


def test_modbus_swapped_mode() -> None:
    assert crc_hex(b"123456789", CrcMode.MODBUS_SWAPPED) == "374B"


# --- Framer -------------------------------------------------------------------------------------


def test_framer_concatenated_packets_in_one_read() -> None:
    out = Framer().feed(APP_A + UPLOAD + ACK)
    assert [f.raw for f in frames(out)] == [APP_A, UPLOAD, ACK]
    assert len(out) == 3


def test_framer_packet_split_byte_by_byte() -> None:
    framer = Framer()
    out: list[Frame | FrameError] = []
    for i in range(len(UPLOAD)):
        out += framer.feed(UPLOAD[i : i + 1])
    assert out == [Frame(segment=UPLOAD[6:-6], crc="17C0", raw=UPLOAD)]
    assert framer.pending == 0


def test_framer_garbage_prefix_and_between() -> None:
    out = Framer().feed(b"\x00junk#" + APP_A + b"#x##ab" + UPLOAD)
    assert [f.raw for f in frames(out)] == [APP_A, UPLOAD]
    assert all(isinstance(x, GarbageSkipped) for x in out if not isinstance(x, Frame))
    assert isinstance(out[0], GarbageSkipped)


def test_framer_lower_case_crc_accepted() -> None:
    out = Framer().feed(APP_A.replace(b"1C80", b"1c80"))
    assert frames(out)[0].crc == "1c80"


def test_framer_crc_mismatch_then_next_frame_kept() -> None:
    out = Framer().feed(APP_A.replace(b"1C80", b"1C81") + UPLOAD)
    assert isinstance(out[0], CrcMismatch) and "1C81" in out[0].reason
    assert frames(out)[0].raw == UPLOAD


def test_framer_modbus_crc_rejected_by_default_accepted_in_modbus_mode() -> None:
    packet = f"##0101{APP_A_SEGMENT}0759\r\n".encode()
    assert isinstance(Framer().feed(packet)[0], CrcMismatch)
    assert frames(Framer(CrcMode.MODBUS).feed(packet))


def test_framer_bad_crc_field() -> None:
    out = Framer().feed(APP_A.replace(b"1C80", b"1CZ0"))
    assert isinstance(out[0], BadCrcField)


def test_framer_oversized_rejected_without_waiting() -> None:
    out = Framer().feed(b"##1025QN=1;")
    assert isinstance(out[0], OversizedFrame)


def test_framer_wrong_length_resyncs_on_next_header() -> None:
    short = APP_A.replace(b"##0101", b"##0100")
    out = Framer().feed(short + UPLOAD)
    assert isinstance(out[0], BadTerminator)
    assert frames(out)[0].raw == UPLOAD


def test_framer_lf_only_terminator_rejected() -> None:
    out = Framer().feed(APP_A[:-2] + b"\n" + b"  ")
    assert isinstance(out[0], BadTerminator)


def test_framer_truncated_at_close() -> None:
    framer = Framer()
    assert framer.feed(APP_A[:50]) == []
    out = framer.close()
    assert len(out) == 1 and isinstance(out[0], TruncatedFrame)
    assert framer.pending == 0


def test_framer_buffer_stays_bounded_on_garbage() -> None:
    framer = Framer()
    for _ in range(100):
        framer.feed(b"x" * 1000)
    assert framer.pending <= 1


# --- Segment parsing ---------------------------------------------------------------------------


def test_parse_app_a_example_and_flag_bits() -> None:
    message = parse_frame(frames(Framer().feed(APP_A))[0])
    assert message.head["MN"] == "010000A8900016F000169DC0"
    assert (message.flag, message.version_bits, message.has_pno, message.ack_required) == (
        5,
        1,
        False,
        True,
    )
    assert message.cp == {"RtdInterval": "30"}


@pytest.mark.parametrize(
    ("flag", "version", "d", "a"),
    [("0", 0, False, False), ("4", 1, False, False), ("7", 1, True, True), ("8", 2, False, False)],
)
def test_flag_bits(flag: str, version: int, d: bool, a: bool) -> None:
    extra = "PNUM=2;PNO=1;" if d else ""
    message = parse_segment(f"{HEAD}Flag={flag};{extra}CP=&&&&")
    assert (message.version_bits, message.has_pno, message.ack_required) == (version, d, a)


def test_no_flag_means_2005_without_ack() -> None:
    message = parse_segment(f"{HEAD}CP=&&&&")
    assert (message.flag, message.version_bits, message.ack_required) == (None, None, False)
    assert "flag_D_has_pno" not in message.to_dict()


def test_head_fields_in_any_order_with_spaces() -> None:
    message = parse_segment("MN=DEV01; Flag = 6 ;PNO=0002;PNUM=0002;PW=1;CN=2051;ST=31;CP=&&&&")
    assert message.head == {
        "MN": "DEV01",
        "Flag": "6",
        "PNO": "0002",
        "PNUM": "0002",
        "PW": "1",
        "CN": "2051",
        "ST": "31",
    }


def test_cp_separators_two_dash_keys_unknown_keys_and_exact_numbers() -> None:
    message = parse_segment(
        f"{HEAD}CP=&&DataTime=20160801085857;a21026-Rtd=35.20,a21026-Flag=N;"
        "a21026-i22004-Info=1;FANSTATUS=1;O3-Rtd=;i11001-Info=//a;b,c//&&"
    )
    items = {item.key: item for item in message.items}
    assert items["a21026-i22004-Info"].code == "a21026-i22004"
    assert items["a21026-i22004-Info"].suffix == "Info"
    assert items["FANSTATUS"].code == "FANSTATUS" and items["FANSTATUS"].suffix is None
    assert str(items["a21026-Rtd"].number) == "35.20"
    assert items["O3-Rtd"].value == "" and items["O3-Rtd"].number is None
    assert items["i11001-Info"].value == "//a;b,c//"


def test_non_numeric_value_invalid_names_item_and_is_not_a_number() -> None:
    message = read_segment(f"{HEAD}CP=&&a21026-Rtd=3O.5,a21026-Flag=N&&")
    assert isinstance(message.problems[0], InvalidValue)
    assert "a21026-Rtd" in message.problems[0].reason
    assert message.items[0].number is None and message.cp["a21026-Rtd"] == "3O.5"
    assert message.head_ok
    with pytest.raises(InvalidValue, match="a21026-Rtd"):
        parse_segment(f"{HEAD}CP=&&a21026-Rtd=3O.5&&")


def test_17_digit_datatime_strict_and_lenient() -> None:
    segment = f"{HEAD}CP=&&DataTime=20160824003817000&&"
    with pytest.raises(InvalidValue, match="DataTime"):
        parse_segment(segment)
    assert not read_segment(segment, lenient=True).problems


@pytest.mark.parametrize(
    ("segment", "error"),
    [
        (f"{HEAD}Flag=5", MalformedSegment),
        (f"{HEAD}CP=&&a=1", MalformedSegment),
        (f"{HEAD.rstrip(';')}CP=&&&&", MalformedSegment),
        (f"ST32;{HEAD}CP=&&&&", MalformedSegment),
        ("ST=32;CN=2011;PW=1;CP=&&&&", MissingField),
        (f"{HEAD}Flag=6;CP=&&&&", MissingField),
        (f"{HEAD}XX=1;CP=&&&&", UnknownField),
        (f"{HEAD}ST=31;CP=&&&&", DuplicateField),
        (f"{HEAD}CP=&&a-Rtd=1;a-Rtd=2&&", DuplicateField),
        (f"{HEAD}Flag=256;CP=&&&&", InvalidField),
        ("QN=123;ST=32;CN=2011;PW=1;MN=D;CP=&&&&", InvalidField),
        (f"{HEAD}PNUM=1;PNO=1;CP=&&&&", InvalidField),
        (f"{HEAD}CP=&&junk&&", MalformedItem),
        (f"{HEAD}CP=&&a-Rtd=1;&&", MalformedItem),
        (f"{HEAD}CP=&&a-Flag=NN&&", InvalidValue),
        (f"{HEAD}CP=&&QnRtn=x&&", InvalidValue),
    ],
)
def test_segment_error_classes(segment: str, error: type[FrameError]) -> None:
    with pytest.raises(error) as info:
        parse_segment(segment)
    assert info.value.reason


def test_bad_encoding() -> None:
    with pytest.raises(BadEncoding):
        parse_segment(HEAD.encode() + b"CP=&&x-Info=\xff&&")


# --- inspect_packet (single packets) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("packet", "error"),
    [
        (b"xx0101", BadHeader),
        (APP_A.replace(b"##0101", b"##01a1"), BadLengthField),
        (APP_A.replace(b"##0101", b"##0102"), LengthMismatch),
        (APP_A[:40], TruncatedFrame),
        (APP_A[:-2] + b"XY", BadTerminator),
        (APP_A[:-2], TruncatedFrame),
        (APP_A.replace(b"1C80", b"0759"), CrcMismatch),
        (APP_A.replace(b"1C80", b"1C8G"), BadCrcField),
        (b"##1025" + b"a" * 1025 + b"FFFF\r\n", OversizedFrame),
    ],
)
def test_inspect_framing_errors_are_silent(packet: bytes, error: type[FrameError]) -> None:
    result = inspect_packet(packet)
    assert not result.valid and isinstance(result.errors[0], error)
    assert result.response is None


# --- Encoder and replies ---------------------------------------------------------------------------


def test_worked_example_9014_reply() -> None:
    message = parse_frame(frames(Framer().feed(UPLOAD))[0])
    assert reply_for(message) == ACK


def test_9013_for_1013_notification_and_no_reply_without_ack() -> None:
    note = encode_message(
        {"QN": "20160801085857223", "ST": "32", "CN": "1013", "PW": "1", "MN": "D", "Flag": "4"}
    )
    reply = reply_for(parse_frame(frames(Framer().feed(note))[0]))
    assert reply is not None and b";CN=9013;" in reply and b";ST=91;" in reply
    no_ack = parse_segment(f"{HEAD}Flag=4;CP=&&&&")
    assert reply_for(no_ack) is None


def test_2005_ack_uses_flag_0() -> None:
    message = parse_segment(f"{HEAD}Flag=1;CP=&&&&")
    assert reply_for(message) == encode_message(
        {"ST": "91", "CN": "9014", "PW": "123456", "MN": "DEV01", "Flag": "0"}
    )


def test_bad_value_still_acked_bad_head_not() -> None:
    bad_value = encode_message(
        {"ST": "32", "CN": "2011", "PW": "1", "MN": "D", "Flag": "5"}, {"a-Rtd": "3O.5"}
    )
    result = inspect_packet(bad_value)
    assert not result.valid and result.response is not None
    bad_head = encode_message({"ST": "32", "CN": "2011", "PW": "1", "Flag": "5"})
    assert inspect_packet(bad_head).response is None


def test_encoder_round_trip() -> None:
    head = {
        "QN": "20240101000000000",
        "ST": "22",
        "CN": "2061",
        "PW": "123456",
        "MN": "DEV01",
        "Flag": "5",
    }
    cp = {"DataTime": "20240101000000", "a34004-Avg": "14", "a34004-Flag": "N", "a21026-Avg": "7.5"}
    raw = encode_message(head, cp)
    assert b"a34004-Avg=14,a34004-Flag=N;a21026-Avg=7.5" in raw
    assert raw[-6:-2] == crc_hex(raw[6:-6]).encode()  # upper case
    message = parse_frame(frames(Framer().feed(raw))[0])
    assert message.head == head and message.cp == cp


def test_encoder_length_counts_utf8_bytes_and_refuses_oversize() -> None:
    raw = encode_frame(f"{HEAD}CP=&&i11001-Info=//日志//&&")
    assert int(raw[2:6]) == len(raw) - 12
    assert frames(Framer().feed(raw))
    with pytest.raises(OversizedFrame):
        encode_frame("a" * 1025)


# --- Fuzz ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_fuzz_framer_arbitrary_bytes(chunks: list[bytes]) -> None:
    framer = Framer()
    for chunk in chunks:
        for item in framer.feed(chunk):
            if isinstance(item, Frame):
                read_segment(item.segment)
    framer.close()
    assert framer.pending == 0


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([APP_A, UPLOAD, ACK]),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=5),
    st.integers(1, 50),
)
def test_fuzz_mutated_frames_only_raise_frame_errors(
    packet: bytes, edits: list[tuple[int, int]], split: int
) -> None:
    data = bytearray(packet)
    for pos, byte in edits:
        data[pos % len(data)] = byte
    framer = Framer()
    out = framer.feed(bytes(data[:split])) + framer.feed(bytes(data[split:])) + framer.close()
    for item in out:
        if isinstance(item, Frame):
            with contextlib.suppress(FrameError):
                parse_frame(item)
    inspect_packet(bytes(data)).to_json()
    with contextlib.suppress(FrameError):
        parse_segment(bytes(data[6:-6]))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([APP_A, UPLOAD, ACK]),
    st.lists(st.tuples(st.integers(0, 200), st.sampled_from(b";,=&-/ 0CPFlag\xff")), max_size=4),
)
def test_head_only_read_answers_like_the_full_read(
    packet: bytes, edits: list[tuple[int, int]]
) -> None:
    # the gateway's front acks from read_head alone: same head, same head_ok, same reply
    data = bytearray(packet[6:-6])
    for pos, byte in edits:
        data[pos % len(data)] = byte
    full, head = read_segment(bytes(data)), read_head(bytes(data))
    assert (head.head, head.head_ok, head.items) == (full.head, full.head_ok, ())
    assert reply_for(head) == reply_for(full)
    assert set(map(str, head.problems)) <= set(map(str, full.problems))


def test_time_fields_checked_by_calendar_without_strptime() -> None:
    ok = read_segment(f"{HEAD}CP=&&DataTime=20240229235959&&")
    assert not ok.problems  # 2024 is a leap year
    for bad in ("20230229000000", "20240101240000", "20240101000060", "00000101000000"):
        problems = read_segment(f"{HEAD}CP=&&DataTime={bad}&&").problems
        assert [type(p) for p in problems] == [InvalidValue], bad
