"""What a build publishes beside the email: the archive page, the Atom feed of issues and
the dedup report, as a feed reader, a reader on a phone and the editor see them.

The pages are opened from disk in Debian's Chromium (skipped without it, or failing under
``DIGEST_REQUIRE_BROWSER=1``), as someone opens ``out/index.html``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from test_build import DEMO_DATE, demo, digest_process  # noqa: F401 (demo: a fixture)

from digest.config import load_config
from digest.dedup import report as dedup_report
from digest.models import Item, Link, Story
from digest.publish import refresh_archive
from digest.render import render_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ATOM = "{http://www.w3.org/2005/Atom}"
LONG_WORD = "SuperResolutionVideoUpscalerProMaxUltraEdition2"  # a product name, one word


def archive(tmp_path: Path, issues: list[dict], newsletter: str = "") -> Path:
    """``out/`` with an issue folder per ``issues`` entry (its issue.json and a page),
    the archive refreshed as a build refreshes it; ``newsletter``: more YAML under it."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"newsletter:\n  name: Daily\n{newsletter}sources:\n  - name: A\n    url: https://a.example/f\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    for number, fields in enumerate(issues, 1):
        issue = {"number": number, "title": f"Issue {number}", "subtitle": "", "sections": [], **fields}
        folder = out / issue["date"]
        folder.mkdir(parents=True)
        (folder / "issue.json").write_text(json.dumps(issue), encoding="utf-8")
        page = f"<!doctype html><html><head><title>{issue['title']}</title></head><body></body></html>"
        (folder / "index.html").write_text(page, encoding="utf-8")
    refresh_archive(load_config(sources), out)
    return out


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "UTC", "Pacific/Auckland"])
def test_a_feed_reader_dates_each_issue_on_its_own_day(tmp_path: Path, zone: str) -> None:
    # Midnight UTC is the evening before west of Greenwich: a reader in Los Angeles saw
    # the issue of June 14 dated June 13.
    days = ["2025-06-14", "2025-01-05"]  # summer and winter time
    out = archive(tmp_path, [{"date": day} for day in days], f"  timezone: {zone}\n")
    feed = ET.parse(out / "feed.xml").getroot()
    for entry, day in zip(feed.iter(f"{ATOM}entry"), days, strict=True):
        for tag in ("published", "updated"):
            when = datetime.fromisoformat(entry.findtext(f"{ATOM}{tag}"))
            assert when.tzinfo is not None, tag
            assert when.astimezone(ZoneInfo(zone)).date().isoformat() == day, (tag, when)


def test_the_archive_speaks_the_newsletters_language(tmp_path: Path) -> None:
    # Its dates were "June 14, 2025" and "Atom feed" and "No issues yet." were English
    # whatever newsletter.labels said.
    labels = "  labels: {issue: Ausgabe, atom_feed: Atom-Feed, no_issues: Noch keine Ausgaben.}\n"
    page = (
        archive(tmp_path, [{"date": "2025-06-14"}], "  language: de\n" + labels) / "index.html"
    ).read_text()
    assert 'Ausgabe #1 · <time datetime="2025-06-14">14. Juni 2025</time>' in page
    assert '<a href="feed.xml">Atom-Feed</a>' in page and "June" not in page
    (tmp_path / "empty" / "out").mkdir(parents=True)
    empty = archive(tmp_path / "empty", [], "  language: de\n" + labels) / "index.html"
    assert "<li>Noch keine Ausgaben.</li>" in empty.read_text()


# -- in the browser --------------------------------------------------------------------


def on_a_phone(browser: Browser, page: Path, script: str):
    """What ``script`` returns in ``page`` (a file) opened on a phone 375 px wide."""
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    try:
        tab = context.new_page()
        tab.goto(page.as_uri())
        return tab.evaluate(script)
    finally:
        context.close()


WIDTH_JS = "() => [window.innerWidth, document.documentElement.scrollWidth]"


def test_the_archive_fits_a_phone_with_a_long_word_in_a_title(browser: Browser, tmp_path: Path) -> None:
    # A headline's long product name (or a link as a tagline) pushed the page sideways.
    tagline = "  tagline: https://daily.example/about-this-newsletter-and-how-to-read-it\n"
    out = archive(tmp_path, [{"date": "2025-06-14", "title": f"{LONG_WORD} is out"}], tagline)
    assert on_a_phone(browser, out / "index.html", WIDTH_JS) == [375, 375]


def built(sources: Path, day: str = DEMO_DATE) -> Path:
    """The folder of the issue of ``day``, built by ``digest build`` in a process of its
    own (Playwright's event loop runs in this one)."""
    process = digest_process(sources, "--date", day)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return sources.parent / "out" / day


def test_the_dedup_report_fits_a_phone(browser: Browser, demo: Path) -> None:  # noqa: F811
    # The report had no viewport (a phone drew it 980 px wide, its text a third of its
    # size), and each merge's shared terms, with nothing between them, made one line
    # wider than the screen.
    report = built(demo / "sources.yaml") / "report.html"
    assert on_a_phone(browser, report, WIDTH_JS) == [375, 375]
    lines = on_a_phone(
        browser, report, "() => [...document.querySelectorAll('.term')].map(t => t.getClientRects().length)"
    )
    assert lines and set(lines) == {1}  # each shared term ("$10 billion") whole on its line


def test_the_dedup_report_fits_a_small_window_with_a_long_shared_term(
    browser: Browser, tmp_path: Path
) -> None:
    # wider than a phone, the report is a table, and a term cannot break: a 600 px window
    # scrolled sideways (690 px) for one long word two takes shared
    a, b = (Item(id=k, title=f"{LONG_WORD * 2} ships", url=f"https://{k}.example/", source=k) for k in "ab")
    story = Story(id="s-1", items=[a, b], links=[Link("a", "b", "same-event", 0.9, (LONG_WORD * 2, "ships"))])
    config = load_config(archive(tmp_path, [{"date": "2025-06-14"}]).parent / "sources.yaml")
    html = render_page(config, "report.html", report=dedup_report([story]), newsletter="N", date="2025-06-14")
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    context = browser.new_context(viewport={"width": 600, "height": 800})
    try:
        tab = context.new_page()
        tab.goto(page.as_uri())
        assert tab.evaluate(WIDTH_JS) == [600, 600]
    finally:
        context.close()


def test_the_archive_opened_from_disk_opens_each_issue(browser: Browser, tmp_path: Path) -> None:
    # "2025-06-14/" is the issue's page on a web server, but a folder's listing from disk.
    issues = [
        {"date": "2025-06-13", "title": "Robots at sea"},
        {"date": "2025-06-14", "title": "Robots in space"},
    ]
    out = archive(tmp_path, issues)
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        tab = context.new_page()
        tab.goto((out / "index.html").as_uri())
        titles = []
        for at in range(len(issues)):
            tab.locator("a.title").nth(at).click()
            tab.wait_for_load_state()
            titles.append(tab.title())
            tab.go_back()
    finally:
        context.close()
    assert titles == ["Robots in space", "Robots at sea"]  # newest first


@pytest.mark.parametrize(("language", "title"), [("en", "hebrew"), ("ar", "What is new in AI?")])
def test_a_title_written_the_other_way_reads_in_order_in_the_archive(
    browser: Browser, tmp_path: Path, language: str, title: str
) -> None:
    # The archive had no direction of its own: an Arabic newsletter's archive was laid
    # out left to right, and a Hebrew headline in an English one had its "?" at its start.
    from test_email_browser import ENDS_JS, HEBREW

    title = HEBREW if title == "hebrew" else title
    out = archive(tmp_path, [{"date": "2025-06-14", "title": title}], f"  language: {language}\n")
    found = on_a_phone(
        browser,
        out / "index.html",
        f"() => ({{ends: ({ENDS_JS})('a.title'), page: getComputedStyle(document.body).direction}})",
    )
    ends = found["ends"]
    assert ends["text"] == title and found["page"] == ("rtl" if language == "ar" else "ltr")
    if title == HEBREW:  # read from the right: the question mark is the leftmost character
        assert ends["last"][1] <= ends["first"][0], ends
    else:
        assert ends["last"][0] >= ends["first"][1], ends


def test_the_archive_with_a_logo_keeps_its_heading(browser: Browser, tmp_path: Path) -> None:
    # With a logo the archive's name was an image alone and the page had no heading: a
    # screen reader's first heading, where a reader starts on a page, was missing.
    logo = "theme:\n  logo: https://daily.example/logo.png\n"
    out = archive(tmp_path, [{"date": "2025-06-14", "title": "Robots in space"}], logo)
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        tab = context.new_page()
        tab.route("https://daily.example/**", lambda route: route.abort())  # nothing leaves the machine
        tab.goto((out / "index.html").as_uri())
        heading = tab.get_by_role("heading", level=1)
        assert heading.count() == 1
        assert heading.aria_snapshot() == '- heading "Daily" [level=1]:\n  - img "Daily"'
    finally:
        context.close()
