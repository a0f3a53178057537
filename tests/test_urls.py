"""digest.urls: one spelling per article URL, and which site a URL belongs to."""

from digest.urls import (
    canonical_from_html,
    canonical_url,
    canonicalize_url,
    is_tracking_param,
    same_site,
)


def test_canonicalize_removes_tracking_and_noise_but_keeps_the_rest():
    url = "HTTPS://News.Example.COM:443/a/b?id=7&utm_source=x&fbclid=1&page=2#top"
    assert canonicalize_url(url) == "https://news.example.com/a/b?id=7&page=2"
    assert canonicalize_url("http://x.example:8080") == "http://x.example:8080/"
    assert canonicalize_url("  https://x.example/p?b=2&a=1 ") == "https://x.example/p?b=2&a=1"
    assert canonicalize_url("mailto:someone@x.example") == "mailto:someone@x.example"
    assert is_tracking_param("UTM_medium") and not is_tracking_param("id")


def test_declared_canonical_is_used_only_on_the_same_site():
    html = '<head><link rel="canonical" href="/berita/123?utm_campaign=a"></head>'
    assert canonical_from_html(html, "https://m.detik.com/x") == (
        "https://m.detik.com/berita/123?utm_campaign=a"
    )
    assert canonical_url("https://m.detik.com/x?utm_source=y", html) == (
        "https://m.detik.com/berita/123"
    )
    other = '<meta property="og:url" content="https://partner.example/copy">'
    assert canonical_url("https://news.detik.com/a", other) == "https://news.detik.com/a"
    assert (
        canonical_from_html('<link rel="canonical" href="javascript:x()">', "https://a.b/") is None
    )


def test_same_site_knows_second_level_domains():
    assert same_site("https://news.detik.com/a", "https://www.detik.com/b")
    assert same_site("https://a.kompas.co.id/x", "https://b.kompas.co.id/y")
    assert not same_site("https://kompas.co.id/x", "https://tempo.co.id/y")
    assert not same_site("https://a.example.com/", "https://a.example.org/")
