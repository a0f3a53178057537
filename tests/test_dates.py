"""digest.dates: dates from metadata and from the top of article texts, in UTC."""

from datetime import UTC, datetime

from digest.dates import find_date_in_text, is_date_line, parse_date


def test_parse_date_shapes_and_time_zones():
    assert parse_date("2024-05-06T07:08:09Z") == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert parse_date("2024-05-06") == datetime(2024, 5, 6, tzinfo=UTC)  # naive is UTC
    assert parse_date("8/9/2023") == datetime(2023, 9, 8, tzinfo=UTC)  # day first
    # Western Indonesia Time is UTC+7.
    assert parse_date("Jumat, 8 September 2023 14:30 WIB") == datetime(
        2023, 9, 8, 7, 30, tzinfo=UTC
    )
    assert parse_date("8 Sep 2023") == datetime(2023, 9, 8, tzinfo=UTC)
    for nothing in (None, "", "   ", "bukan tanggal", "31/2/2023"):
        assert parse_date(nothing) is None, nothing


def test_date_near_the_top_of_a_text():
    text = "JAKARTA - Kamis (7/9/2023), presiden berkata.\nLalu pada 1 Januari 2020 hal lain."
    assert find_date_in_text(text) == datetime(2023, 9, 7, tzinfo=UTC)
    assert find_date_in_text("Tidak ada tanggal di sini sama sekali.") is None
    assert is_date_line("Selasa, 05 Sep 2023 10:15 WIB")
    assert not is_date_line("Presiden bertemu menteri pada Selasa untuk membahas anggaran.")
