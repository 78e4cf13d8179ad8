"""How :func:`ecobasin.ingest.sourcefile.split_lines` sorts a file's lines: blank lines dropped,
bad lines kept aside with their line numbers, whatever the delimiter."""

from __future__ import annotations

import pandas as pd

from ecobasin.ingest.sourcefile import split_lines


def test_white_space_lines_of_a_tab_file_are_blank_not_short() -> None:
    # a tab is white space: a line of tabs alone is blank, though it has two or three cells
    text = "a\tb\tc\n1\t2\t3\n\t\n \t \n4\t5\t6\n\t\t\n"
    lines = split_lines(text, "tabs.tsv", "\t")
    assert lines.header == ["a", "b", "c"]
    assert lines.lines == ["1\t2\t3", "4\t5\t6"]
    assert lines.line_numbers.tolist() == [2, 5]
    assert lines.rejected == []


def test_quoted_delimiters_and_a_repeated_header_with_a_carriage_return() -> None:
    text = 'a,b,c\r\n1,"x,y",3\r\n"4,5",6\r\n a,b,c \r\n  \r\n7,8,9'
    lines = split_lines(text, "mixed.csv")
    assert lines.lines == ['1,"x,y",3']
    assert lines.line_numbers.tolist() == [2]
    assert [(r["record_ref"], r["reason_code"]) for r in lines.rejected] == [
        ("line 3", "wrong_field_count"),
        ("line 4", "repeated_header"),
        ("line 6", "truncated_line"),
    ]


def test_the_table_of_good_lines_has_every_cell_as_text_without_its_quotes() -> None:
    text = 'a,b,c,d\n"NNW",4.4,"Aotizhongxin",1\n"x,y","",NA,2\n"",-0.7, 1 ,3\n'
    table = split_lines(text, "quoted.csv").table()
    assert table.to_dict("list") == {
        "a": ["NNW", "x,y", ""],
        "b": ["4.4", "", "-0.7"],
        "c": ["Aotizhongxin", "NA", " 1 "],
        "d": ["1", "2", "3"],
    }
    assert all(dtype == "str" for dtype in table.dtypes)
    assert isinstance(table.index, pd.RangeIndex)
