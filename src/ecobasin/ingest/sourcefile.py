"""A delimited text file checked line by line before any reader parses it.

Every CSV reader goes through :func:`read_source`: it decodes the bytes (UTF-8, a UTF-8 or
UTF-16 byte-order mark, or GBK/GB 18030 as detected by charset-normalizer), and splits the lines
into those a CSV parser may take and those kept aside with a reason a person can act on:

* ``truncated_line``: the file ends inside a line (no line break after it), so its last cell
  may be cut short (an interrupted copy or download: ``112`` would read as ``11``);
* ``wrong_field_count``: a line with more or fewer cells than the header (an unquoted comma,
  a decimal comma, a line broken in two);
* ``repeated_header``: the header again inside the file (files joined together).

A reader then parses only the good lines, so one bad line costs that line, never the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

__all__ = ["SourceError", "SourceLines", "decode", "read_source"]

#: Encodings the detector may name for simplified-Chinese text; all are read as GB 18030,
#: their superset (GB 18030-2005 contains GBK, which contains GB 2312).
GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "cp936"})
SAVE_AS_UTF8 = "save it as UTF-8 (Excel: Save As › CSV UTF-8) and import it again"


class SourceError(ValueError):
    """A file that cannot be read as text at all (the message says what to do)."""


def decode(data: bytes, name: str) -> tuple[str, str]:
    """The text of a file and the encoding it was read with.

    UTF-8 (with or without a byte-order mark) is read as is; UTF-16 needs its byte-order mark;
    anything else is handed to charset-normalizer, and read as GB 18030 when one of the
    encodings it finds plausible is Chinese (short Chinese files are often also plausible as
    Korean or Japanese, so the region's encoding is preferred over its first guess).

    Raises
    ------
    SourceError
        When the bytes are neither UTF-8 nor Chinese text (the message names the first bad
        byte and says to save the file as UTF-8).
    """
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", name, "UTF-8 (it starts with a UTF-8 BOM)"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", name, "UTF-16 (it starts with a UTF-16 BOM)"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        first_bad = error.start
    import charset_normalizer  # only a file that is not UTF-8 needs the detector

    candidates = [match.encoding for match in charset_normalizer.from_bytes(data)]
    if any(candidate in GB_FAMILY for candidate in candidates):
        return _strict(data, "gb18030", name, "GBK/GB 18030 (detected)"), "gb18030"
    raise SourceError(
        f"{name}: not UTF-8 (byte {first_bad} is not valid UTF-8) and not GBK/GB 18030 "
        f"(detected: {', '.join(candidates) or 'no known encoding'}); {SAVE_AS_UTF8}"
    )


def _strict(data: bytes, encoding: str, name: str, what: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceError(
            f"{name}: read as {what}, but byte {error.start} does not fit that encoding; "
            f"{SAVE_AS_UTF8}"
        ) from None


def _fields(line: str, delimiter: str) -> list[str]:
    """The cells of one CSV line (quotes honoured)."""
    if '"' not in line:
        return line.split(delimiter)
    return next(csv.reader([line], delimiter=delimiter), [])


@dataclass
class SourceLines:
    """A file's header and the data lines a CSV parser may take, with the rest kept aside."""

    name: str
    encoding: str
    header: list[str]
    lines: list[str]
    #: 1-based line number in the file of each entry of ``lines`` (the header is line 1 or more).
    line_numbers: np.ndarray
    #: Lines kept aside: record_ref, reason_code, reason, raw.
    rejected: list[dict[str, Any]] = field(default_factory=list)
    delimiter: str = ","

    def duplicate_columns(self) -> dict[str, list[int]]:
        """Header names that appear more than once, with their 1-based column numbers."""
        counts = Counter(name.strip() for name in self.header)
        return {
            name: [i + 1 for i, h in enumerate(self.header) if h.strip() == name]
            for name, n in counts.items()
            if n > 1
        }

    def table(self, columns: list[str] | None = None, **read_csv: Any) -> pd.DataFrame:
        """The good lines parsed by pandas, every cell as text (empty cells as ""), one row
        per entry of ``line_numbers``; ``columns`` renames the header (e.g. made unique)."""
        names = columns if columns is not None else [h.strip() for h in self.header]
        if not self.lines:
            return pd.DataFrame({name: pd.Series([], dtype=object) for name in names})
        text = "\n".join(self.lines)
        if not read_csv:
            plain = _plain_table(text, names, self.delimiter)
            if plain is not None:
                return plain
        table: pd.DataFrame = pd.read_csv(
            io.StringIO(text),
            header=None,
            names=names,
            dtype=str,
            keep_default_na=False,
            sep=self.delimiter,
            skip_blank_lines=False,
            **read_csv,
        )
        return table


#: The column type the Arrow reader gives every cell: the storage of pandas' ``str`` dtype.
ARROW_TEXT = pa.large_string()
PANDAS_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def _plain_table(text: str, names: list[str], delimiter: str) -> pd.DataFrame | None:
    """The lines parsed by Arrow's CSV reader (~5 times less CPU than pandas' for the UCI
    Beijing file), or None where the two parsers could read a line differently.

    Arrow is used only for text both read alike: a one-byte delimiter, distinct names, no
    carriage return or NUL inside a line, and quotes only as whole cells (an opening quote at
    the start of a cell, its closing one at the end, no quote inside): ``"NNW"``, ``"x,y"``,
    ``""``; then a cell is its text between the delimiters, without the quotes, as in pandas.
    """
    if (
        len(delimiter.encode("utf-8")) != 1
        or delimiter in '"\r\n\0'
        or len(set(names)) < len(names)
    ):
        return None
    data = text.encode("utf-8", "surrogatepass")
    if b"\r" in data or b"\0" in data or not _whole_cell_quotes(data, ord(delimiter)):
        return None
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, ARROW_TEXT),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    frame: pd.DataFrame = table.to_pandas(types_mapper={ARROW_TEXT: PANDAS_TEXT}.get)
    return frame


def _whole_cell_quotes(data: bytes, delimiter: int) -> bool:
    """Whether every quote of the lines opens or closes a whole cell: the quotes of a line
    pair up (first and second, third and fourth ...), an opening one at the start of the line
    or after a delimiter, a closing one at the end or before a delimiter."""
    array = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(array == ord('"'))
    if not len(quotes):
        return True
    line_breaks = np.flatnonzero(array == ord("\n"))
    lines_of = np.searchsorted(line_breaks, quotes)
    opening, closing = quotes[0::2], quotes[1::2]
    if len(opening) != len(closing) or (lines_of[0::2] != lines_of[1::2]).any():
        return False
    before = array[np.maximum(opening - 1, 0)]
    after = array[np.minimum(closing + 1, len(array) - 1)]
    opens_cell = (opening == 0) | (before == delimiter) | (before == ord("\n"))
    closes_cell = (closing == len(array) - 1) | (after == delimiter) | (after == ord("\n"))
    return bool(opens_cell.all() and closes_cell.all())


def _is_header(line: str, header: list[str], delimiter: str) -> bool:
    return [c.strip() for c in _fields(line, delimiter)] == [h.strip() for h in header]


def _reject(rejected: list[dict[str, Any]], number: int, code: str, reason: str, raw: str) -> None:
    rejected.append(
        {"record_ref": f"line {number}", "reason_code": code, "reason": reason, "raw": raw[:2000]}
    )


#: A quoted cell (doubled quotes inside it included): removed before counting delimiters.
QUOTED_CELL = re.compile(r'"[^"]*"')


def _widths(lines: list[str], delimiter: str) -> np.ndarray:
    """The cell count of every line: delimiters counted, those inside quoted cells left out
    (a national file has ~600k cells, the UCI Beijing file 420k lines, each with quotes).
    Counted by ``str.count`` mapped over the lines, no Python code run per line."""
    widths = np.fromiter(
        map(str.count, lines, itertools.repeat(delimiter)), dtype=np.int64, count=len(lines)
    )
    quotes = np.fromiter(
        map(str.count, lines, itertools.repeat('"')), dtype=np.int64, count=len(lines)
    )
    even = np.flatnonzero((quotes > 0) & (quotes % 2 == 0))
    single_byte = len(delimiter.encode("utf-8")) == 1 and delimiter not in '"\n'
    if single_byte and len(even):
        widths[even] -= _inside_quotes([lines[i] for i in even.tolist()], delimiter)
    rest = np.flatnonzero(quotes % 2 == 1) if single_byte else np.flatnonzero(quotes)
    for i in rest.tolist():
        widths[i] = QUOTED_CELL.sub("", lines[i]).count(delimiter)
    widths += 1
    return widths


def _inside_quotes(lines: list[str], delimiter: str) -> np.ndarray:
    """How many delimiters of each line (each with an even number of quotes) lie inside its
    quoted cells, as :data:`QUOTED_CELL` pairs them: those after an odd number of quotes.

    The lines are joined and read as bytes (a quote, a line break and a one-byte delimiter
    are never part of a longer UTF-8 sequence); as every line has an even number of quotes,
    the quotes counted from the start of the text have the parity of those of the line."""
    data = np.frombuffer("\n".join(lines).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    parity = np.cumsum(data == ord('"'), dtype=np.uint8) & 1  # wraps at 256, parity kept
    inside = np.flatnonzero((data == ord(delimiter)) & (parity == 1))
    if not len(inside):
        return np.zeros(len(lines), dtype=np.int64)
    line_of = np.searchsorted(np.flatnonzero(data == ord("\n")), inside)
    return np.bincount(line_of, minlength=len(lines)).astype(np.int64)


def _problem(
    line: str, number: int, cells: int, width: int, last_unfinished: bool
) -> tuple[str, str] | None:
    """The reason code and reason a line is kept aside, or None when a parser may take it."""
    if last_unfinished:
        return (
            "truncated_line",
            f"the file ends inside line {number} (no line break after it): the line may have "
            "been cut short by an interrupted copy or download, so none of it was stored; if "
            "the file is complete, end it with a line break and import it again",
        )
    if cells != width:
        hint = (
            "an unquoted comma inside a cell, or a decimal comma (write 12.5, not 12,5)?"
            if cells > width
            else "a line broken in two, or cells left out?"
        )
        return (
            "wrong_field_count",
            f"line {number} has {cells} cells but the header has {width} ({hint}); correct "
            "the line and import the file again",
        )
    return None


def _without_marks(physical: list[str], text: str) -> list[str]:
    """The lines without a carriage return at their end or a byte-order mark at their start
    (a file with neither keeps its lines as they are)."""
    if "\r" not in text and "\ufeff" not in text:
        return physical
    return [line.rstrip("\r").lstrip("\ufeff") for line in physical]


def _blank(lines: list[str], widths: np.ndarray, delimiter: str) -> np.ndarray:
    """Which lines hold nothing but white space: with a delimiter that is not white space,
    only a line of one cell can."""
    blank = np.zeros(len(lines), dtype=bool)
    maybe = range(len(lines)) if delimiter.isspace() else np.flatnonzero(widths == 1).tolist()
    for i in maybe:
        blank[i] = not lines[i].strip()
    return blank


def split_lines(text: str, name: str, delimiter: str = ",") -> SourceLines:
    """Check the lines of a decoded file: see the module docstring for what is kept aside."""
    physical = text.split("\n")
    # a file ending in a line break leaves one empty piece after it; otherwise the last line
    # was not finished
    unterminated = physical[-1] != ""
    if not unterminated:
        physical.pop()
    lines = _without_marks(physical, text)
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise SourceError(f"{name}: the file is empty: expected a header line")
    header = _fields(lines[start], delimiter)
    body = lines[start + 1 :]
    widths = _widths(body, delimiter)
    blank = _blank(body, widths, delimiter)
    suspect = ~blank & (widths != len(header))
    if unterminated and len(body):
        suspect[-1] = not blank[-1]
    header_text = lines[start].strip()
    # a body line equal to the header holds its text: with one copy in the file, none does
    if text.count(header_text) > 1:
        suspect |= np.array([line.strip() == header_text for line in body], dtype=bool)
    rejected: list[dict[str, Any]] = []
    for i in np.flatnonzero(suspect):
        number = start + 2 + int(i)
        last_unfinished = unterminated and i == len(body) - 1
        problem = _problem(body[i], number, int(widths[i]), len(header), last_unfinished)
        if problem is None and _is_header(body[i], header, delimiter):
            problem = (
                "repeated_header",
                f"line {number} repeats the header (files joined together?); it was skipped",
            )
        if problem is None:
            suspect[i] = False
            continue
        _reject(rejected, number, problem[0], problem[1], body[i])
    good = np.flatnonzero(~blank & ~suspect)
    return SourceLines(
        name=name,
        encoding="",
        header=header,
        lines=body if len(good) == len(body) else [body[i] for i in good.tolist()],
        line_numbers=good.astype(np.int64) + start + 2,
        rejected=rejected,
        delimiter=delimiter,
    )


def read_source(source: str | Path | io.StringIO, delimiter: str = ",") -> SourceLines:
    """Read, decode and check a file (gzip-compressed or not) or an in-memory buffer."""
    if isinstance(source, io.StringIO):
        return split_lines(source.getvalue(), "<buffer>", delimiter)
    path = Path(source)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise SourceError(
                f"{path.name}: the gzip file is damaged or cut short ({error}); "
                "copy it again and import it again"
            ) from None
    text, encoding = decode(data, path.name)
    lines = split_lines(text, path.name, delimiter)
    lines.encoding = encoding
    return lines
