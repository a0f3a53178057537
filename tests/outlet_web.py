"""A small web of news outlets for the reader tests: article pages of several outlets and
languages, and the ways they reach us (see ``serve_outlets`` in tests/web_server.py):

- ``/roundup/feed.xml``: an aggregator ("World press roundup", ``<language>en``) linking to
  pages of other outlets, which name their publisher (og:site_name), one French page among
  them, and one page naming no publisher;
- ``/morgenblatt/feed.xml``: a German outlet whose feed declares ``<language>en``;
- ``/courier/feed.json``: a JSON Feed 1.1;
- ``/harian/``: a home page declaring its RSS feed with ``<link rel="alternate">``;

Eight stories in all (more than a cap of 3): one told by three outlets (older), the others
by one or two (newer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape


@dataclass
class Page:
    path: str
    site: str | None  # og:site_name; None: the page names no publisher
    title: str
    paragraphs: list[str]
    hours_ago: float
    html_lang: str = "en"  # what the page declares (not always true)


BRIDGE = [
    "The old steel bridge over the Riverton canal collapsed on Monday evening, sending two "
    "delivery trucks into the water, and rescue divers pulled both drivers out alive.",
    "Mayor Alma Ruiz said the Riverton bridge had been closed to heavy traffic since an "
    "inspection in March found corrosion in its main girders.",
    "Engineers from the state transport agency arrived at the canal on Tuesday morning to "
    "examine the wreckage of the Riverton bridge and the corroded girders.",
    "Residents of the east bank now face a detour of twelve kilometres while the city plans "
    "a temporary pontoon crossing over the Riverton canal.",
]
BRIDGE_EXTRA = [
    "The transport agency confirmed that a replacement for the Riverton bridge had been "
    "budgeted for next year but that no contract had been signed.",
    "Both truck drivers were treated in hospital for hypothermia and released on Tuesday, "
    "Mayor Alma Ruiz told reporters at the canal.",
]
BANJIR = [
    "Banjir merendam ribuan rumah di Kecamatan Rawalumbu, Bekasi, setelah hujan deras "
    "mengguyur wilayah itu sejak Senin malam hingga Selasa pagi.",
    "Badan Penanggulangan Bencana Daerah Kota Bekasi mencatat sedikitnya tiga ribu rumah "
    "terendam dan seribu dua ratus warga mengungsi ke masjid dan sekolah.",
    "Petugas gabungan mengerahkan perahu karet untuk mengevakuasi warga lanjut usia, "
    "anak-anak dan ibu hamil dari rumah yang terendam banjir di Rawalumbu.",
    "Warga Rawalumbu diminta tetap waspada karena hujan diperkirakan masih turun hingga "
    "akhir pekan, kata kepala pelaksana BPBD Kota Bekasi.",
]
BOLA = [
    "Manchester United menelan kekalahan 0-3 dari Newcastle United di St James' Park pada "
    "laga pekan ke-20 Liga Inggris, Sabtu malam waktu setempat.",
    "Alexander Isak mencetak dua gol untuk Newcastle, sementara gol ketiga dicetak Anthony "
    "Gordon setelah memanfaatkan kesalahan lini belakang Manchester United.",
    "Kekalahan dari Newcastle membuat Manchester United tertahan di posisi kedelapan "
    "klasemen sementara Liga Inggris dengan selisih gol negatif.",
]
STREIK = [
    "Die Lokführer der Berliner S-Bahn haben am Mittwoch ihren Streik fortgesetzt, und "
    "zwischen Spandau und Erkner fuhr den ganzen Tag kein einziger Zug.",
    "Die Gewerkschaft fordert mehr Lohn und kürzere Schichten und hat angekündigt, den "
    "Streik bis Freitag auszuweiten, wenn die Bahn kein neues Angebot vorlegt.",
    "Pendler wichen auf Busse und Fahrräder aus, die Straßen in der Berliner Innenstadt "
    "waren schon am frühen Morgen verstopft.",
]
LYON = [
    "La ville de Lyon a inauguré samedi une nouvelle ligne de tramway qui relie la gare de "
    "la Part-Dieu au quartier de Gerland en moins de vingt minutes.",
    "Selon la métropole, la ligne devrait transporter plus de quarante mille voyageurs par "
    "jour, et les rames circuleront toutes les cinq minutes aux heures de pointe.",
    "Les commerçants du quartier espèrent que le tramway attirera de nouveaux clients après "
    "deux années de travaux qui ont perturbé la circulation.",
]
MUSEUM = [
    "The Harbour Museum of Modern Art reopened on Sunday after a three-year renovation that "
    "added a glass roof garden and two new galleries for photography.",
    "Director Kwame Mensah said the museum expects half a million visitors in its first "
    "year and will keep free admission on the first Sunday of every month.",
    "The opening exhibition brings together two hundred photographs of the harbour taken "
    "by dock workers between 1950 and 1990.",
]
MARATHON = [
    "Kenyan runner Faith Chepkoech broke the course record at the Lakeside Marathon on "
    "Saturday, finishing in two hours, seventeen minutes and nine seconds.",
    "Chepkoech pulled away from the leading group after thirty kilometres and crossed the "
    "line almost two minutes ahead of the defending champion.",
    "Organisers said more than eighteen thousand runners started the race under clear "
    "skies and mild temperatures along the lake shore.",
]
CHIPS = [
    "The chipmaker Novalith announced on Thursday that it will build a new factory near "
    "Port Elmore, creating about two thousand jobs over the next five years.",
    "Novalith chief executive Dana Whitfield said the Port Elmore plant will produce "
    "sensors for electric cars and should open at the end of 2027.",
    "The regional government agreed to pay for a new road and a water pipeline to the "
    "factory site, according to the agreement signed in Port Elmore.",
]


def _pages() -> dict[str, list[Page]]:
    """The pages of each way in, by feed."""
    return {
        "roundup": [
            Page(
                "/coastal/bridge",
                "Coastal Herald",
                "Riverton bridge collapses into canal",
                [BRIDGE[0], BRIDGE[1], BRIDGE[2], BRIDGE_EXTRA[0]],
                30,
            ),
            Page(
                "/ledger/bridge",
                "Morning Ledger",
                "Drivers rescued as Riverton bridge falls",
                [BRIDGE[0], BRIDGE[3], BRIDGE[1], BRIDGE_EXTRA[1]],
                29,
            ),
            Page("/warta/mu", "Warta Bola", "MU Ditekuk Newcastle", BOLA, 6, "id"),
            Page(
                "/matin/lyon",
                "Le Matin Libre",
                "Lyon inaugure sa nouvelle ligne de tramway",
                LYON,
                5,
                "en",
            ),
            Page("/anon/chips", None, "Novalith to build chip factory in Port Elmore", CHIPS, 4),
        ],
        "morgenblatt": [
            Page(
                "/morgenblatt/streik",
                "Berliner Morgenblatt",
                "S-Bahn-Streik legt Berlin lahm",
                STREIK,
                3,
                "en",
            ),
        ],
        "courier": [
            Page(
                "/courier/bridge",
                "Daily Courier",
                "Riverton bridge collapse: what we know",
                [BRIDGE[2], BRIDGE[0], BRIDGE[3], BRIDGE[1]],
                28,
            ),
            Page(
                "/courier/museum",
                "Daily Courier",
                "Harbour Museum reopens with roof garden",
                MUSEUM,
                2,
            ),
            Page(
                "/courier/marathon",
                "Daily Courier",
                "Chepkoech breaks Lakeside course record",
                MARATHON,
                1,
            ),
        ],
        "harian": [
            Page(
                "/harian/banjir",
                "Harian Pagi",
                "Banjir Rendam Ribuan Rumah di Rawalumbu",
                BANJIR,
                8,
                "id",
            ),
            Page(
                "/harian/mu",
                "Harian Pagi",
                "Newcastle Tekuk MU",
                [BOLA[1], BOLA[0], BOLA[2]],
                7,
                "id",
            ),
        ],
    }


def page_html(page: Page, now: datetime) -> bytes:
    when = (now - timedelta(hours=page.hours_ago)).isoformat()
    site = f'<meta property="og:site_name" content="{escape(page.site)}">' if page.site else ""
    paras = "".join(f"<p>{escape(p)}</p>" for p in page.paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{page.html_lang}"><head><meta charset="utf-8">'
        f"<title>{escape(page.title)}</title>"
        f'<meta property="og:type" content="article">'
        f'<meta property="og:title" content="{escape(page.title)}">{site}'
        f'<meta property="article:published_time" content="{when}">'
        f'</head><body><header><nav><a href="/">Home</a></nav></header><main><article>'
        f"<h1>{escape(page.title)}</h1>{paras}</article></main>"
        f"<footer><p>All rights reserved.</p></footer></body></html>"
    ).encode()


def rss(title: str, link: str, lang: str, items: list[tuple[str, str, datetime]]) -> bytes:
    from email.utils import format_datetime

    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(u)}</link>"
        f"<pubDate>{format_datetime(d)}</pubDate><description>{escape(t)}</description></item>"
        for t, u, d in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<language>{lang}</language><description>{escape(title)}</description>"
        f"{entries}</channel></rss>"
    ).encode()


def json_feed(title: str, home: str, items: list[tuple[str, str, datetime]]) -> bytes:
    import json

    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": home,
            "language": "en",
            "items": [
                {
                    "id": u,
                    "url": u,
                    "title": t,
                    "content_text": t,
                    "date_published": d.isoformat(),
                    "authors": [{"name": "Courier staff"}],
                }
                for t, u, d in items
            ],
        }
    ).encode()


def home_page(title: str, feed_href: str) -> bytes:
    links = "".join(f'<li><a href="/harian/{n}">Berita {n}</a></li>' for n in range(20))
    return (
        f'<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:type" content="website">'
        f'<link rel="alternate" type="application/rss+xml" title="{title}" href="{feed_href}">'
        f"</head><body><h1>{title}</h1><ul>{links}</ul>"
        f"<p>Berita terkini dari Harian Pagi setiap hari, dari pagi sampai malam.</p>"
        f"</body></html>"
    ).encode()


def build(base: str, now: datetime | None = None) -> dict[str, tuple[bytes, str]]:
    """Every route of the outlet web: path -> (body, content type)."""
    now = now or datetime.now(UTC)
    routes: dict[str, tuple[bytes, str]] = {}
    pages = _pages()
    html = "text/html; charset=utf-8"
    for group in pages.values():
        for p in group:
            routes[p.path] = (page_html(p, now), html)

    def items(group: str) -> list[tuple[str, str, datetime]]:
        return [(p.title, base + p.path, now - timedelta(hours=p.hours_ago)) for p in pages[group]]

    rss_type = "application/rss+xml; charset=utf-8"
    routes["/roundup/feed.xml"] = (
        rss("World press roundup", base + "/roundup/", "en", items("roundup")),
        rss_type,
    )
    routes["/morgenblatt/feed.xml"] = (
        rss("Berliner Morgenblatt", base + "/morgenblatt/", "en", items("morgenblatt")),
        rss_type,
    )
    routes["/courier/feed.json"] = (
        json_feed("Daily Courier", base + "/courier/", items("courier")),
        "application/feed+json",
    )
    routes["/harian/rss.xml"] = (
        rss("Harian Pagi", base + "/harian/", "id", items("harian")),
        rss_type,
    )
    routes["/harian/"] = (home_page("Harian Pagi", "/harian/rss.xml"), html)
    return routes


STORIES = 8
THREE_OUTLET_HEADLINE_WORD = "Riverton"
