"""The story headline: the title of the article most central to the story."""

from __future__ import annotations

from digest.models import Doc
from digest.summarize import choose_headline

MAIN = (
    "Manchester United ditekuk Newcastle United 1-2 di St James' Park, Minggu malam. Gol "
    "Newcastle dicetak Alexander Isak dan Bruno Guimaraes, sementara United hanya membalas "
    "lewat Bruno Fernandes. Pelatih Erik ten Hag menyebut timnya kalah dalam duel lini tengah. "
    "Kekalahan ini membuat United tertahan di posisi kedelapan klasemen Liga Inggris."
)
SECOND = (
    "Newcastle United menang 2-1 atas Manchester United di St James' Park. Alexander Isak "
    "membuka skor, Bruno Guimaraes menambah gol kedua, dan Bruno Fernandes memperkecil "
    "kekalahan United. Erik ten Hag mengakui Newcastle lebih baik di lini tengah. United kini "
    "di posisi kedelapan klasemen."
)
SIDE = (
    "Suporter Manchester United di Jakarta menggelar nonton bareng laga melawan Newcastle "
    "United di sebuah kafe di Kemang. Ratusan suporter datang mengenakan jersey merah. Panitia "
    "menyiapkan layar besar dan doorprize. Acara serupa akan digelar pada laga berikutnya."
)


def test_a_short_real_title_of_the_central_article_is_the_headline():
    docs = [
        Doc(title="Nobar Suporter Manchester United dan Newcastle United di Kemang", text=SIDE),
        Doc(title="MU Ditekuk Newcastle", text=MAIN),
        Doc(title="Isak dan Guimaraes bawa Newcastle tekuk MU 2-1", text=SECOND),
    ]
    assert choose_headline(docs, "id") in {"MU Ditekuk Newcastle", docs[2].title}
    # three words are a title, not a fragment: preferred over a sentence of the summary
    assert choose_headline([docs[1], Doc(title="", text=SECOND)], "id") == "MU Ditekuk Newcastle"


def test_a_side_article_does_not_give_the_headline_with_the_story_words_in_its_title():
    docs = [
        Doc(title="Manchester United Ditekuk Newcastle United, Suporter Nobar", text=SIDE),
        Doc(title="MU Ditekuk Newcastle", text=MAIN),
        Doc(title="Newcastle menang atas MU di St James' Park", text=SECOND),
    ]
    assert choose_headline(docs, "id") != docs[0].title
