"""parse: feed bytes -> entries, for every format; hostile XML costs nothing and reads nothing."""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import astuple
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FEEDS, rss, rss_item

from digest.errors import ParseError
from digest.models import Entry
from digest.parse import LENIENT_BYTES, MAX_ENTRIES, MAX_TAGS, parse_feed, read_feed

REMOTE = "https://feeds.example/feed"


def parse_fixture(name: str, url: str = REMOTE) -> list[Entry]:
    return parse_feed((FEEDS / name).read_bytes(), "Source", url)


@pytest.mark.parametrize(
    ("name", "title", "link", "published", "content"),
    [
        (
            "rss091.xml",
            "Café robots open in Zürich",  # a Latin-1 document
            "https://oldschool.example/2025/06/cafe-robots",
            None,
            "A café staffed by robots opened on Friday.",
        ),
        (
            "rss20.xml",
            "Meta to spend billions on data deal",
            "https://aidaily.example/2025/06/13/meta-data-deal?utm_source=rss&utm_medium=feed",
            datetime(2025, 6, 13, 16, 30, tzinfo=UTC),
            "<p>Meta agreed to buy a <b>49%</b> stake in a data-labelling firm.</p>"
            "<p>The deal values the company at $29 billion.</p>",
        ),
        (
            "rss10.rdf",
            "A new benchmark for agents",
            "https://research.example/papers/42",
            datetime(2025, 6, 12, 7, 15, tzinfo=UTC),
            "Researchers propose a benchmark for tool-using agents.",
        ),
        (
            "atom10.xml",
            "Open weights & closed doors",
            "https://modelwatch.example/posts/open-weights",
            datetime(2025, 6, 13, 12, 0, tzinfo=UTC),
            "<p>The full <strong>story</strong> about open weights.</p>",
        ),
        (
            "jsonfeed11.json",
            "Chips & models",
            "https://jsonai.example/posts/1",
            datetime(2025, 6, 13, 8, 0, tzinfo=UTC),
            "<p>Chips <em>and</em> models.</p>",
        ),
    ],
)
def test_each_format_gives_title_link_date_and_content(
    name: str, title: str, link: str, published: datetime | None, content: str
) -> None:
    first = parse_fixture(name)[0]
    assert (first.source, first.base) == ("Source", REMOTE)
    assert (first.title, first.link, first.published, first.content) == (title, link, published, content)


def test_rss_2_details() -> None:
    first, second = parse_fixture("rss20.xml")
    assert first.guid == "aidaily-1001" and first.author == "Jane Reporter"
    assert first.summary == "Meta agreed to buy a stake in a data-labelling firm."
    assert second.link == "/2025/06/13/att"  # as written: normalize resolves it against base
    assert second.base == REMOTE
    assert second.content == '<p>Escaped <a href="/relative/link">HTML</a> in a description.</p>'


def test_atom_details() -> None:
    first, second = parse_fixture("atom10.xml")
    assert first.guid == "tag:modelwatch.example,2025:open-weights" and first.author == "Sam Writer"
    assert first.published == datetime(2025, 6, 13, 12, 0, tzinfo=UTC)  # <published>, not <updated>
    assert first.summary == "A short summary."
    assert second.title == "Plain <text> title"  # type="text": the markup is text
    assert second.content == "<p>XHTML <em>content</em>.</p>"
    assert second.published == datetime(2025, 6, 12, 10, 0, tzinfo=UTC)  # only <updated>


def test_json_feed_details() -> None:
    first, second = parse_fixture("jsonfeed11.json")
    assert (first.guid, first.author, first.image) == ("1", "Ada", "https://jsonai.example/img/1.png")
    assert first.summary == "Chips and models."
    assert second.link == "/posts/2"  # normalize resolves it against base
    assert second.content == "<p>First paragraph.</p><p>Second &lt;paragraph&gt;.</p>"  # text, escaped


def test_a_local_feed_resolves_against_its_own_link() -> None:
    local = str(FEEDS / "rss20.xml")
    assert {e.base for e in parse_fixture("rss20.xml", local)} == {"https://aidaily.example/"}
    assert parse_fixture("rss20.xml", local)[1].link == "/2025/06/13/att"
    assert {e.base for e in parse_fixture("jsonfeed11.json", local)} == {"https://jsonai.example/"}


def test_titles_are_unescaped_exactly_once() -> None:
    body = rss(
        rss_item("AT&amp;T", "https://x.example/1"),
        rss_item("&amp;amp;", "https://x.example/2"),
        rss_item("Meta&#8217;s &lt;b&gt;bold&lt;/b&gt; move", "https://x.example/3"),
        rss_item("5 &lt; 6", "https://x.example/4"),
        rss_item("<![CDATA[Q&A with <em>the</em> CEO]]>", "https://x.example/5"),
    )
    titles = [e.title for e in parse_feed(body, "S", REMOTE)]
    assert titles == ["AT&T", "&amp;", "Meta’s bold move", "5 < 6", "Q&A with the CEO"]


def test_an_atom_html_title_is_decoded_and_its_script_dropped() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b'<entry><title type="html">&lt;script&gt;alert(1)&lt;/script&gt;Fish &amp;amp; chips</title>'
        b'<link href="https://x.example/1"/><id>1</id><updated>2025-06-13T10:00:00Z</updated></entry></feed>'
    )
    [entry] = parse_feed(body, "S", REMOTE)
    assert entry.title == "Fish & chips"


def test_a_truncated_feed_keeps_its_complete_entries() -> None:
    entries = parse_fixture("truncated.xml")
    assert [e.title for e in entries[:2]] == ["First complete item", "Second complete item"]
    assert [e.link for e in entries[:2]] == ["https://cutshort.example/1", "https://cutshort.example/2"]
    assert entries[0].published == datetime(2025, 6, 13, 9, 0, tzinfo=UTC)
    assert entries[1].content == "Also complete & with a bare ampersand."


def test_an_html_page_is_not_a_feed() -> None:
    with pytest.raises(ParseError, match="not a readable RSS, Atom or JSON feed: a web page"):
        parse_fixture("page.html")


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x01\x02\xff garbage \xfe",
        b"Just some words.",
        b"<rss><channel>",
        b"<?xml version='1.0'?><a/>",
    ],
)
def test_garbage_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a readable RSS, Atom or JSON feed"):
        parse_feed(body, "S", REMOTE)


def test_json_that_is_not_a_json_feed() -> None:
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(b'{"title": "x", "items": []}', "S", REMOTE)
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(b"[1, 2, 3]", "S", REMOTE)
    with pytest.raises(ParseError, match=r"not valid JSON \(line 2\)"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1",\n "items": [,]}', "S", REMOTE)
    with pytest.raises(ParseError, match="without an 'items' list"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', "S", REMOTE)


def test_media_content_and_image_enclosures_are_picked() -> None:
    images = [e.image for e in parse_fixture("media.xml")]
    assert images == [
        "https://cdn.pictures.example/1.jpg",  # media:content medium="image"
        "https://cdn.pictures.example/2.png",  # <enclosure type="image/png">
        "",  # an audio enclosure is not an image
        "https://cdn.pictures.example/4-thumb.jpg",  # media:thumbnail
    ]


def parse_measured(body: bytes) -> tuple[list[Entry], float, int]:
    """Entries, seconds and peak traced bytes of parsing ``body``."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        entries = parse_feed(body, "S", REMOTE)
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return entries, elapsed, peak


def test_billion_laughs_is_not_expanded() -> None:
    body = (FEEDS / "billion_laughs.xml").read_bytes()
    entries, elapsed, peak = parse_measured(body)
    assert elapsed < 1 and peak < 5_000_000
    assert [e.title for e in entries] == ["Bomb &lol9;", "Harmless"]
    assert all("lollol" not in field for e in entries for field in astuple(e) if isinstance(field, str))


def quadratic_blowup(entity_size: int, references: int) -> str:
    """One big "safe" entity (no markup in it) referenced many times."""
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        f'<!ENTITY big "{"a" * entity_size}">\n]>\n'
        '<rss version="2.0"><channel><title>T</title><link>https://x.example/</link>'
        "<item><title>Blow-up</title><link>https://x.example/1</link>"
        f"<description>{'&big;' * references}</description></item></channel></rss>"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_quadratic_entity_blowup_is_not_expanded(encoding: str) -> None:
    document = quadratic_blowup(100_000, 2_000)  # 200 MB if expanded
    # In UTF-16 the DOCTYPE is not ASCII bytes: it must be found after decoding.
    body = document.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>').encode(
        encoding
    )
    entries, elapsed, peak = parse_measured(body)
    assert elapsed < 2, elapsed
    assert peak < 30_000_000, peak
    [entry] = entries
    assert entry.title == "Blow-up" and len(entry.content) < 20_000


def test_an_entity_declaration_hidden_in_a_comment_or_string_is_still_cut() -> None:
    # '>' and ']' inside the DOCTYPE's strings and comments must not end it early.
    document = quadratic_blowup(100_000, 2_000).replace(
        "<!DOCTYPE rss [\n", '<!DOCTYPE rss [\n<!-- ]> -->\n<!ENTITY trick "]>">\n'
    )
    entries, elapsed, peak = parse_measured(document.encode())
    assert elapsed < 2 and peak < 30_000_000
    assert len(entries[0].content) < 20_000


def test_an_external_entity_reads_no_file() -> None:
    passwd = Path("/etc/passwd")
    assert "root:" in passwd.read_text()  # the file exists, so a leak would show
    entries = parse_fixture("xxe.xml") + parse_fixture("xxe.xml", str(FEEDS / "xxe.xml"))
    assert entries and entries[0].title == "Passwords &xxe;"
    for entry in entries:
        for field in astuple(entry):
            assert "root:" not in str(field)


def test_at_most_max_entries_are_kept() -> None:
    items = [rss_item(f"Item {n}", f"https://x.example/{n}") for n in range(MAX_ENTRIES + 5)]
    assert len(parse_feed(rss(*items), "S", REMOTE)) == MAX_ENTRIES


@pytest.mark.parametrize(
    "reference", ["&#xD800;", "&#x110000;", "&#xFFFE;", "&#1;", "&#99999999999999999999;"]
)
def test_a_reference_to_what_is_not_a_character_keeps_the_feed(reference: str) -> None:
    body = rss(
        rss_item(f"Bad {reference} title", "https://x.example/1"), rss_item("Good", "https://x.example/2")
    )
    assert [e.title for e in parse_feed(body, "S", REMOTE)] == ["Bad \ufffd title", "Good"]


def test_a_doctype_written_in_an_items_text_is_text() -> None:
    body = rss(
        rss_item("One", "https://x.example/1", body="<![CDATA[<p>The <!DOCTYPE isn't the only thing.</p>]]>"),
        rss_item("Two's", "https://x.example/2", body="it's 'quoted' and \"double\" > less"),
        rss_item("Three", "https://x.example/3", body="<![CDATA[<!DOCTYPE html [ <!ENTITY x 'y'> ]>]]>"),
    )
    entries = parse_feed(body, "S", REMOTE)
    assert [e.title for e in entries] == ["One", "Two's", "Three"]
    assert entries[0].content == "<p>The <!DOCTYPE isn't the only thing.</p>"


def test_a_doctype_in_a_comment_before_the_root_is_still_cut() -> None:
    # feedparser looks for entity declarations up to the first "<" and letter, comments or not
    document = quadratic_blowup(100_000, 2_000).replace("<!DOCTYPE rss [", "<!-- <!DOCTYPE rss [", 1)
    document = document.replace("]>\n<rss", "]> -->\n<rss", 1).replace(
        "</channel></rss>", "</channel>"
    )  # broken
    entries, elapsed, peak = parse_measured(document.encode())
    assert elapsed < 2 and peak < 30_000_000
    assert entries[0].title == "Blow-up" and len(entries[0].content) < 20_000


def test_a_doctype_of_a_million_unclosed_comments_costs_one_pass() -> None:
    started = time.perf_counter()
    with pytest.raises(ParseError):
        parse_feed(b'<?xml version="1.0"?><!DOCTYPE x [' + b"<!--" * 1_000_000, "S", REMOTE)
    assert time.perf_counter() - started < 5


def test_xml_base_resolves_the_entrys_markup_too() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/2026/12/"><title>T</title>'
        b'<entry><title>Bridge</title><link href="bridge.html"/><id>1</id>'
        b'<content type="html">&lt;img src="bridge.jpg"&gt;</content></entry>'
        b'<entry xml:base="/other/"><title>Ferry</title><link href="ferry.html"/><id>2</id>'
        b"<summary>s</summary></entry></feed>"
    )
    bridge, ferry = parse_feed(body, "S", REMOTE)
    assert (bridge.base, bridge.link) == (
        "https://blog.example/2026/12/",
        "https://blog.example/2026/12/bridge.html",
    )
    assert ferry.base == "https://blog.example/other/"


def test_a_json_feed_with_a_byte_order_mark() -> None:
    body = (
        b'\xef\xbb\xbf{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "BOM"}]}'
    )
    assert [e.title for e in parse_feed(body, "S", REMOTE)] == ["BOM"]


@pytest.mark.parametrize(
    ("item", "author", "link"),
    [
        ('"authors": 5', "", "https://j.example/1"),
        ('"authors": [{"name": null}], "author": "bob"', "", "https://j.example/1"),
        ('"author": {"name": "Ada"}', "Ada", "https://j.example/1"),
        ('"authors": {"name": "Ada"}', "Ada", "https://j.example/1"),
        ('"url": 5, "external_url": "https://j.example/e"', "", "https://j.example/e"),
        ('"url": "", "external_url": "https://j.example/e"', "", "https://j.example/e"),
    ],
)
def test_a_json_feed_item_of_odd_types(item: str, author: str, link: str) -> None:
    fields = '"id": "1", "title": "T", ' + (
        item if '"url"' in item else f'"url": "https://j.example/1", {item}'
    )
    body = ('{"version": "https://jsonfeed.org/version/1.1", "items": [{' + fields + "}]}").encode()
    [entry] = parse_feed(body, "S", REMOTE)
    assert (entry.author, entry.link) == (author, link)


def test_json_nested_too_deep_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="nested too deep"):
        parse_feed(b"[" * 200_000 + b"]" * 200_000, "S", REMOTE)


def test_a_json_number_too_long_for_python_is_a_parse_error_that_speaks_of_the_feed() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": ' + b"9" * 5000 + b"}]}"
    with pytest.raises(ParseError) as caught:
        parse_feed(body, "S", REMOTE)
    assert str(caught.value) == "not valid JSON for a feed: a number of more than 4,300 digits"


@pytest.mark.parametrize("body", [b"", b" \r\n\t", b"\xef\xbb\xbf\n"])
def test_an_empty_response_says_so(body: bytes) -> None:
    with pytest.raises(ParseError, match="^an empty response: no feed in it$"):
        parse_feed(body, "S", REMOTE)


@pytest.mark.parametrize(
    "body",
    [
        rss(),
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>x</id>'
        b"<updated>2025-01-01T00:00:00Z</updated></feed>",
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}',
    ],
)
def test_a_well_formed_feed_without_entries_is_empty_not_broken(body: bytes) -> None:
    assert parse_feed(body, "S", REMOTE) == []


def test_a_large_malformed_feed_is_read_leniently_only_in_its_first_megabyte() -> None:
    # hostile markup after two good items: feedparser's lenient parser takes ~6 µs a byte on
    # unclosed tags, so the 9 MB of them would take about a minute read whole
    good = [rss_item(f"Story {k} & friends", f"https://m.example/{k}") for k in range(2)]  # bare "&"
    body = rss(*good, "<x>" * 3_000_000 + rss_item("Past the cut", "https://m.example/late"))
    started = time.monotonic()
    parsed = read_feed(body, "S", REMOTE)
    assert time.monotonic() - started < 3
    assert [e.title for e in parsed.entries] == ["Story 0 & friends", "Story 1 & friends"]
    assert parsed.size == len(body) and parsed.unread == len(body) - body.index(b"</item><x>") - len(
        b"</item>"
    )
    # well-formed, a feed of the same size is read whole, as is a malformed one under the limit
    posts = "<![CDATA[" + "<p>a <b>post</b></p>" * 300 + "]]>"  # HTML in CDATA is text: no tags
    whole = rss(
        *good[:1], *(rss_item(f"Post {k}", f"https://m.example/p{k}", body=posts) for k in range(400))
    )
    assert whole.count(b"&") == 1 and len(whole) > 2 * LENIENT_BYTES and whole.count(b"<") > 2 * MAX_TAGS
    fixed = whole.replace(b" & ", b" &amp; ")
    assert len(parse_feed(fixed, "S", REMOTE)) == 401
    small = rss(*good, rss_item("Last", "https://m.example/last"))
    assert read_feed(small, "S", REMOTE).unread == 0 and len(parse_feed(small, "S", REMOTE)) == 3


def test_a_feed_of_too_many_tags_is_read_up_to_its_last_entry_within_them() -> None:
    # well-formed and 10 KB gzipped, 2.5 million tags held the build 40 s: feedparser spends
    # 10-40 µs of Python on each element, however small
    good = [rss_item(f"Story {k}", f"https://m.example/{k}") for k in range(2)]
    body = rss(*good, "<x/>" * 2_500_000, rss_item("Past the cut", "https://m.example/late"))
    started = time.monotonic()
    parsed = read_feed(body, "S", REMOTE)
    assert time.monotonic() - started < 3
    assert [e.title for e in parsed.entries] == ["Story 0", "Story 1"]
    assert parsed.unread == len(body) - body.index(b"</item><x/>") - len(b"</item>")
    assert parsed.warning.startswith("over 100,000 XML tags: read up to its last entry within them, ")
    malformed = rss(*good, "<x>" * 330_000)  # under LENIENT_BYTES: parsed twice, strict then lenient
    started = time.monotonic()
    assert [e.title for e in read_feed(malformed, "S", REMOTE).entries] == ["Story 0", "Story 1"]
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("cut", [b"Sto", b"Story 1 & co</ti", b"</channel></rs"])
def test_a_feed_cut_short_is_told_from_a_whole_malformed_one(cut: bytes) -> None:
    whole = rss(*(rss_item(f"Story {k} & co", f"https://c.example/{k}") for k in range(2)))  # bare "&"s
    body = whole[: whole.index(cut, whole.index(b"</item>")) + len(cut)]
    parsed = read_feed(body, "S", REMOTE)
    assert parsed.cut_short and parsed.entries[0].title == "Story 0 & co"
    assert not read_feed(whole, "S", REMOTE).cut_short  # malformed, but whole: no word, as before
    assert not read_feed(whole.replace(b" & ", b" &amp; "), "S", REMOTE).cut_short


def test_comments_after_the_root_and_a_stray_line_cost_nothing() -> None:
    # a cache plugin's comments after </rss>, then a PHP notice: the look for a cut end
    # backtracked through every way of joining the comments, twice as long per comment
    # (25 took 7 s, 40 would take days, and nothing stops a build that hangs)
    whole = rss(rss_item("Robots & more robots", "https://c.example/1"))  # a bare "&": lenient
    body = whole + b"\n<!-- served from cache -->" * 25 + b"\n<b>Notice</b>: Undefined index"
    started = time.monotonic()
    parsed = read_feed(body, "S", REMOTE)
    assert time.monotonic() - started < 1
    assert [e.title for e in parsed.entries] == ["Robots & more robots"]
    assert not read_feed(whole + b"\n<!-- served from cache -->" * 25 + b"\n", "S", REMOTE).cut_short


def test_a_stray_line_after_a_whole_feed_is_not_a_cut() -> None:
    whole = rss(rss_item("Robots & more robots", "https://c.example/1"))  # a bare "&": lenient
    for tail in (b"\n<b>Notice</b>: Undefined index on line 12\n", b"\n<!-- 0.2 s -->\nPHP warning"):
        parsed = read_feed(whole + tail, "S", REMOTE)
        assert not parsed.cut_short and [e.title for e in parsed.entries] == ["Robots & more robots"]


@pytest.mark.parametrize(
    ("date", "published"),
    [
        ("Sa, 14 Jun 2025 08:00:00 +0200", datetime(2025, 6, 14, 6, 0, tzinfo=UTC)),  # German day
        ("Samstag, 14. Juni 2025 08:00:00 +0200", datetime(2025, 6, 14, 6, 0, tzinfo=UTC)),
        ("Mo, 03 Mär 2025 10:00:00 +0100", datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        ("Di, 07 Okt 2025 08:00:00 MESZ", datetime(2025, 10, 7, 6, 0, tzinfo=UTC)),
        ("mer., 15 janv. 2025 08:00:00 +0100", datetime(2025, 1, 15, 7, 0, tzinfo=UTC)),  # French
        ("jeu., 14 août 2025 08:00 +0200", datetime(2025, 8, 14, 6, 0, tzinfo=UTC)),
        ("sáb, 14 jun 2025 08:00:00 +0200", datetime(2025, 6, 14, 6, 0, tzinfo=UTC)),  # Spanish
        ("lun, 06 dic 2025 08:00:00 GMT", datetime(2025, 12, 6, 8, 0, tzinfo=UTC)),
        ("Sat, 14 Jun 2025 08:00:00 CEST", datetime(2025, 6, 14, 6, 0, tzinfo=UTC)),  # not UTC
        ("Sat, 14 Jun 2025 08:00:00 EST", datetime(2025, 6, 14, 13, 0, tzinfo=UTC)),  # feedparser's
        ("Sa, 31 Jun 2025 08:00:00 +0200", None),  # no such day
    ],
)
def test_a_date_written_in_the_sites_language_is_read(date: str, published: datetime | None) -> None:
    # A CMS formatting RFC 822 dates with its server's locale: feedparser reads English
    # names only, and the item would be dated by when it was first seen (left out of an
    # issue built for its own day as "dated after the day").
    (entry,) = parse_feed(
        rss(rss_item("Siemens baut ein KI-Rechenzentrum", "https://a.example/1", date)), "S", REMOTE
    )
    assert entry.published == published
