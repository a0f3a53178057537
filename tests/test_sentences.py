"""Sentence splitting and the candidate filter (digest/sentences.py)."""

from __future__ import annotations

import pytest

from digest.sentences import is_candidate, is_footer, split_sentences


def _check_verbatim(text: str, sentences: list[str]) -> None:
    pos = 0
    for s in sentences:
        assert s == s.strip() and s
        found = text.find(s, pos)
        assert found >= 0, s
        pos = found + len(s)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Acara dibuka oleh Prof. Dr. Budi Santoso, S.H., M.Si. di Jl. Merdeka No. 5. "
            "Ia datang pukul 10.30 WIB.",
            [
                "Acara dibuka oleh Prof. Dr. Budi Santoso, S.H., M.Si. di Jl. Merdeka No. 5.",
                "Ia datang pukul 10.30 WIB.",
            ],
        ),
        (
            "Harganya Rp 1.500.000 per unit. Penjualan naik 2,5 persen.",
            ["Harganya Rp 1.500.000 per unit.", "Penjualan naik 2,5 persen."],
        ),
        (
            "Dr. Andi Wijaya, M.Si. Ia menjabat sejak 2019.",  # a title line then a sentence
            ["Dr. Andi Wijaya, M.Si.", "Ia menjabat sejak 2019."],
        ),
        (
            "Menurut saya, banyak batasan tersebut ... akan menjadi faktor. Ia pun pergi.",
            ["Menurut saya, banyak batasan tersebut ... akan menjadi faktor.", "Ia pun pergi."],
        ),
        (
            "Kim akan meninggalkan Pyongyang.... Ia naik kereta.",
            ["Kim akan meninggalkan Pyongyang....", "Ia naik kereta."],
        ),
        (
            '"Saya pikir itu kesalahan besar. Itu akan mengisolasi mereka," sebutnya. '
            "Lalu ia pergi.",
            [
                '"Saya pikir itu kesalahan besar. Itu akan mengisolasi mereka," sebutnya.',
                "Lalu ia pergi.",
            ],
        ),
        (
            "“Apa ini?” tanya dia. Semua diam!",
            ["“Apa ini?” tanya dia.", "Semua diam!"],
        ),
        (
            "Mr. Smith met U.S. officials on Jan. 5. They agreed.",
            ["Mr. Smith met U.S. officials on Jan. 5.", "They agreed."],
        ),
    ],
)
def test_split_cases(text, expected):
    got = split_sentences(text, "id")
    assert got == expected
    _check_verbatim(text, got)


@pytest.mark.parametrize(
    "text, first",
    [
        ("REPUBLIKA.CO.ID, WASHINGTON – Korea Utara diingatkan agar tak memasok senjata.", "Korea"),
        ("TEMPO.CO, Jakarta - Wakil Presiden Kamala Harris mengatakan hal itu.", "Wakil"),
        ("Jakarta, CNN Indonesia -- Pemerintah menaikkan harga BBM hari ini.", "Pemerintah"),
        ("WASHINGTON (Reuters) - The White House said on Tuesday it was ready.", "The"),
        ("Merdeka.com - Bentrokan antara napi terjadi di Lapas Bengkulu.", "Bentrokan"),
    ],
)
def test_dateline_is_not_part_of_the_sentence(text, first):
    got = split_sentences(text, None)
    assert len(got) == 1
    assert got[0].split()[0] == first
    assert not got[0].startswith(("CO.ID", "CO,", "CO "))
    _check_verbatim(text, got)


def test_subject_with_dash_is_kept():
    text = "Presiden Joko Widodo - yang baru tiba - langsung meninjau lokasi banjir."
    assert split_sentences(text, "id") == [text]


def test_paragraphs_and_wrapped_lines():
    text = "Judul Berita Hari Ini\n\nKalimat pertama yang\nterpotong baris. Kalimat kedua.\n"
    got = split_sentences(text, "id")
    assert got == [
        "Judul Berita Hari Ini",
        "Kalimat pertama yang\nterpotong baris.",
        "Kalimat kedua.",
    ]
    _check_verbatim(text, got)


def test_empty_and_unknown_language():
    assert split_sentences("", "id") == []
    assert split_sentences("   \n ", None) == []
    got = split_sentences("Это первое предложение. Это второе предложение!", "ru")
    assert len(got) == 2


@pytest.mark.parametrize(
    "sentence",
    [
        "SCROLL TO CONTINUE WITH CONTENT",
        "Baca Juga: Harga BBM Naik Lagi, Ini Daftar Lengkapnya untuk Semua Wilayah",
        "Lihat juga Video 'Kim Jong Un Akan Bertemu Putin di Rusia, Bahas Pasokan Senjata':",
        "Simak berita selengkapnya di halaman berikutnya.",
        "Yuk koleksi buku bacaan berkualitas dari buku Republika ...",
        "Apa alasan sembilan negara ini menolak Palestina menjadi anggota penuh PBB?",
        '"Saya pikir itu akan menjadi kesalahan besar bagi mereka semua.',
        'Saya juga sangat meyakini bahwa hal itu akan semakin mengisolasi mereka," sebutnya.',
        "Selanjutnya, inilah wanti-wanti Amerika Serikat kepada Korea Utara:",
        "Kim akan meninggalkan Pyongyang menuju Vladivostok dengan kereta....",
        "Vladimir Putin Akui Dapat Dukungan Beijing untuk Akhiri Perang Ukraina dengan Damai",
        "Jumat, 8 September 2023 09:09 WIB",
        "Ikuti berita terkini dari kami di Google News dan WhatsApp Channel.",
        "dan mungkin mengupayakan kesepakatan dalam penjualan senjata ke Rusia.",
        "Skor akhir 3-1, 2-2, 1-0, 4-3, 0-0, 5-2.",
    ],
)
def test_rejects_non_candidates(sentence):
    assert not is_candidate(sentence, "id")


@pytest.mark.parametrize(
    "sentence",
    [
        "Sullivan memperingatkan Kim Jong Un bahwa Korut akan membayar harga untuk pasokan "
        "senjata ke Rusia.",
        '"Mereka akan menanggung konsekuensinya di komunitas internasional," kata Sullivan.',
        "Harga cabai di Jl. Pasar Baru mencapai Rp 85.000 per kilogram pada pukul 10.30 WIB.",
        "The White House warned North Korea on Tuesday that it would pay a price.",
    ],
)
def test_accepts_real_sentences(sentence):
    assert is_candidate(sentence, None)


def test_length_bounds():
    assert not is_candidate("Ia pergi.", "id")
    long = "Ini kalimat yang sangat panjang sekali " * 20 + "."
    assert not is_candidate(long, "id")


def test_footer():
    assert is_footer("Berita terkait")
    assert is_footer("Related articles")
    assert not is_footer("Berita itu terkait dengan Rusia.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Rainsy fled after threats of arrest from strongman Hun Sen. Hun Sen complained "
            "Monday that the opposition was lying.",
            [
                "Rainsy fled after threats of arrest from strongman Hun Sen.",
                "Hun Sen complained Monday that the opposition was lying.",
            ],
        ),
        (
            "Gov. Arnold Schwarzenegger and Rep. Nancy Pelosi met Lt. Gen. David Petraeus at "
            "10 a.m. Tuesday in the U.S. Capitol. Sen. John McCain did not.",
            [
                "Gov. Arnold Schwarzenegger and Rep. Nancy Pelosi met Lt. Gen. David Petraeus "
                "at 10 a.m. Tuesday in the U.S. Capitol.",
                "Sen. John McCain did not.",
            ],
        ),
        (
            "The quake hit at 3:36 a.m. The U.S. Geological Survey said so. Troops left the "
            "U.S. The move surprised allies. Police came at 10:30 a.m. Oregon police said.",
            [
                "The quake hit at 3:36 a.m.",
                "The U.S. Geological Survey said so.",
                "Troops left the U.S.",
                "The move surprised allies.",
                "Police came at 10:30 a.m.",
                "Oregon police said.",
            ],
        ),
        (
            "WASHINGTON (AP) _ President Bush said Monday he would veto the bill. "
            "Democrats disagreed.",
            ["President Bush said Monday he would veto the bill.", "Democrats disagreed."],
        ),
        (
            "John F. Kennedy met Mr. Condon and Mr. Mark. An L. A Superior Court judge came.",
            ["John F. Kennedy met Mr. Condon and Mr. Mark.", "An L. A Superior Court judge came."],
        ),
        (
            "`` We appreciate your respect at this time. It matters,'' the rep told People. "
            "He left.",
            [
                "`` We appreciate your respect at this time. It matters,'' the rep told People.",
                "He left.",
            ],
        ),
    ],
)
def test_split_english_wire_text(text, expected):
    assert split_sentences(text, "en") == expected


def test_english_bylines_and_ptb_quotes_as_candidates():
    assert not is_candidate("By MATT APUZZO and Eileen Sullivan, Associated Press", "en")
    quoted = "`` We appreciate your respect to her privacy,'' her rep Jack Ketsoyan told People."
    assert is_candidate(quoted, "en")
    assert not is_candidate("`` We appreciate your respect to her privacy, her rep said.", "en")
    assert not is_candidate("Scammers wrote " + "x" * 60 + " in the email they sent.", "en")
