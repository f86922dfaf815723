"""The rendered email in real headless Chromium, at desktop and phone width, light and dark.

Screenshots land in the repository's out/screenshots/ (git-ignored) for a person to look
at: email-600.png and email-375.png (and -dark variants).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from test_render import LEAD, NOTES, make_config, make_issue

from digest.notes import parse_notes
from digest.publish import web_page
from digest.render import render_issue

SCREENSHOTS = Path(__file__).parent.parent / "out" / "screenshots"
BLOCKS = ["top", "header", "sponsor", "list", "lead", "cards", "quote", "closing", "footer"]

# Every visible element with text of its own: its color against the first opaque
# background behind it, as a WCAG contrast ratio.
LOW_CONTRAST_JS = """() => {
  const rgba = s => {
    const m = s.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const lum = c => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const behind = el => {
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  const low = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    if (+style.opacity === 0 || !box.width) continue;
    const a = lum(rgba(style.color)), b = lum(behind(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return low;
}"""

BLOCKS_JS = """(names) => names.map(name => {
  const el = document.querySelector('.block-' + name);
  if (!el) return [name, 'missing'];
  const box = el.getBoundingClientRect(), style = getComputedStyle(el);
  const shown = box.width > 0 && box.height > 0 && style.display !== 'none' && style.visibility !== 'hidden';
  return [name, shown ? (box.right <= window.innerWidth + 0.5 ? 'ok' : 'overflows') : 'hidden'];
})"""


@pytest.fixture(scope="module")
def email_html() -> str:
    sponsor = {"title": "Artisan", "text": "Hire Ava, your AI BDR.", "url": "https://artisan.example.com/"}
    config = make_config(sponsors=[*make_config().sponsors, {**sponsor, "position": "middle"}])
    return render_issue(make_issue(), config, parse_notes(NOTES)).html


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [600, 375])
def test_email_fits_shows_every_block_and_stays_readable(
    browser, email_html: str, width: int, scheme: str
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    try:
        page.set_content(email_html, wait_until="load")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        blocks = dict(page.evaluate(BLOCKS_JS, BLOCKS))
        assert blocks == dict.fromkeys(BLOCKS, "ok")
        assert page.evaluate(LOW_CONTRAST_JS) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        suffix = "" if scheme == "light" else "-dark"
        page.screenshot(path=str(SCREENSHOTS / f"email-{width}{suffix}.png"), full_page=True)
    finally:
        page.close()
    assert (SCREENSHOTS / f"email-{width}{suffix}.png").stat().st_size > 10_000


def test_phone_layout_keeps_text_large_enough(browser, email_html: str) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 900})
    try:
        page.set_content(email_html, wait_until="load")
        sizes = page.evaluate(
            "() => [...document.querySelectorAll('.block p, .block li')]"
            ".map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
    finally:
        page.close()
    assert sizes and min(sizes) >= 13  # the "Sponsored" label is the smallest


# What a finger taps: each button, poll answer and footer link, as [text, height, width].
TAP_TARGETS_JS = """() => [...document.querySelectorAll('.btn a, a.answer, a.footer-link')].map(el => {
  const box = el.getBoundingClientRect();
  return [el.textContent.trim(), Math.round(box.height), Math.round(box.width)];
})"""


@pytest.mark.parametrize("width", [320, 375])
def test_buttons_and_footer_links_are_big_enough_for_a_finger(browser, email_html: str, width: int) -> None:
    # A sponsor's button was 38 px tall, a poll answer 40 px (wrapping inside its button
    # at 320 px), and the footer's links, Unsubscribe among them, 15 px: under the 44 px
    # a phone needs
    targets = _in_page(browser, email_html, TAP_TARGETS_JS, width=width)
    names = [name for name, _, _ in targets]
    assert names == [
        "Learn more",
        "Yes, open",
        "No, closed",
        "Learn more",
        "Share",
        "Past issues",
        "Manage preferences",
        "Unsubscribe",
    ]
    assert [name for name, height, _ in targets if height < 44] == []
    answers = [t for t in targets if t[0] in ("Yes, open", "No, closed")]
    assert all(height < 60 for _, height, _ in answers)  # one line each: no answer wraps


def _in_page(browser, html: str, script: str, width: int = 600):
    """What ``script`` returns in a page showing ``html``."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.set_content(html, wait_until="load")
        return page.evaluate(script)
    finally:
        page.close()


def _rgb(color: str) -> str:
    """A theme color (``#1f2937``) as the browser computes it: ``rgb(31, 41, 55)``."""
    red, green, blue = (int(color[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_standards_mode_gives_boxes_and_cards_the_theme_text(browser, email_html: str) -> None:
    # In quirks mode (no doctype) tables inherit no font: the text in the takeaways box
    # and the cards turns black with a "normal" line height.
    found = _in_page(
        browser,
        email_html,
        """() => ({
          mode: document.compatMode,
          styles: ['td.box li', 'td.card p.card-text', 'td.quote-card p.quote'].map(selector => {
            const style = getComputedStyle(document.querySelector(selector));
            return [selector, style.color, style.lineHeight === 'normal'];
          }),
        })""",
    )
    assert found["mode"] == "CSS1Compat"
    text = _rgb(make_config().theme.text)
    assert found["styles"] == [
        ["td.box li", text, False],
        ["td.card p.card-text", text, False],
        ["td.quote-card p.quote", text, False],
    ]


@pytest.mark.parametrize(("language", "align"), [("ar", "right"), ("en", "left")])
def test_a_right_to_left_language_aligns_text_right(browser, language: str, align: str) -> None:
    html = render_issue(make_issue(), make_config(newsletter={"language": language}), []).html
    style = _in_page(
        browser,
        html,
        """() => {
          const style = getComputedStyle(document.querySelector('.block-list p.item'));
          return [style.textAlign, style.direction];
        }""",
        width=375,
    )
    assert style == [align, "rtl" if language == "ar" else "ltr"]


def test_a_long_source_name_in_the_takeaways_stays_on_a_phone_screen(browser) -> None:
    # A source name kept on one line (nowrap) wider than the takeaways box pushed the
    # whole lead story past the right edge of a phone: its text was cut off.
    issue = make_issue(3)
    source = "The International Journal of Technology Affairs Weekly"
    issue.lead.takeaways = [replace(t, source=source) for t in issue.lead.takeaways]
    html = render_issue(issue, make_config(), parse_notes(NOTES)).html
    found = _in_page(
        browser,
        html,
        f"""() => ({{
          width: document.documentElement.scrollWidth,
          blocks: ({BLOCKS_JS})(['lead']),
          sources: [...document.querySelectorAll('a.source')].map(a => a.getBoundingClientRect().right),
        }})""",
        width=375,
    )
    assert found["width"] <= 375
    assert found["blocks"] == [["lead", "ok"]]
    assert len(found["sources"]) == 4 and max(found["sources"]) <= 375


def test_dark_mode_keeps_the_quote_cards_accent_bar(browser, email_html: str) -> None:
    # The dark cards' border color also painted the quote card's 4 px accent bar in the
    # card's own color: the bar vanished.
    page = browser.new_page(viewport={"width": 600, "height": 900}, color_scheme="dark")
    try:
        page.set_content(email_html, wait_until="load")
        bar = page.evaluate(
            """() => {
              const style = getComputedStyle(document.querySelector('td.quote-card'));
              return [style.borderLeftWidth, style.borderLeftColor, style.backgroundColor];
            }"""
        )
    finally:
        page.close()
    theme = make_config().theme
    assert bar == ["4px", _rgb(theme.dark_primary), _rgb(theme.dark_tint)]


BUTTONS_WITHOUT_LINK_JS = """(primary) => [...document.querySelectorAll('.block *')]
  .filter(el => getComputedStyle(el).backgroundColor === primary && !el.closest('a[href]'))
  .filter(el => el.textContent.trim() && !el.querySelector('a[href]'))
  .map(el => el.textContent.trim())"""


@pytest.mark.parametrize("reply_to", ["editor@futureblueprint.example.com", ""])
def test_poll_answers_look_like_buttons_only_when_a_tap_replies(browser, reply_to: str) -> None:
    # Without a reply address the answers were drawn as buttons that did nothing.
    config = make_config(newsletter={"reply_to": reply_to})
    html = render_issue(make_issue(3), config, parse_notes(NOTES)).html
    found = _in_page(
        browser,
        html,
        f"""() => ({{
          dead: ({BUTTONS_WITHOUT_LINK_JS})('{_rgb(config.theme.primary)}'),
          answers: [...[...document.querySelectorAll('.block-lead td.box')].pop()
            .querySelectorAll('li, a.answer')].map(el => el.textContent.trim()),
        }})""",
    )
    assert found["dead"] == []
    assert found["answers"] == ["Yes, open", "No, closed"]


HEBREW = "מה חדש בבינה מלאכותית?"

# Where the first and the last character of an element's text are drawn.
ENDS_JS = """(selector) => {
  const el = document.querySelector(selector);
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (walker.currentNode.textContent.trim()) nodes.push(walker.currentNode);
  const box = (node, at) => {
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + 1);
    return range.getBoundingClientRect();
  };
  const last = nodes[nodes.length - 1];
  const first = box(nodes[0], 0), end = box(last, last.textContent.trimEnd().length - 1);
  return {text: el.textContent, first: [first.left, first.right], last: [end.left, end.right]};
}"""


@pytest.mark.parametrize(
    ("language", "title"), [("en", HEBREW), ("ar", "What is new in AI?")], ids=["rtl-in-en", "ltr-in-ar"]
)
@pytest.mark.parametrize("selector", ["a.headline", "h2.lead-title a", "p.card-name a"])
def test_a_headline_written_the_other_way_reads_in_order(
    browser, language: str, title: str, selector: str
) -> None:
    # A Hebrew headline in an English issue had its closing "?" drawn at its start
    # (the right end), and an English one in an Arabic issue at its left end.
    issue = make_issue(2)
    news, tools = issue.sections[0], issue.sections[2]
    news.stories[0].items[0] = replace(news.stories[0].lead, title=title)
    issue.lead.items[0] = replace(issue.lead.lead, title=title)
    tools.stories[0].items[0] = replace(tools.stories[0].lead, title=title)
    html = render_issue(issue, make_config(newsletter={"language": language}), []).html
    ends = _in_page(browser, html, f"() => ({ENDS_JS})({selector!r})")
    assert ends["text"] == title
    if title == HEBREW:  # read from the right: the question mark is the leftmost character
        assert ends["last"][1] <= ends["first"][0], ends
    else:
        assert ends["last"][0] >= ends["first"][1], ends


# Apple Mail turns dates, addresses and phone numbers in the text into links of its own:
# the text wrapped in <a x-apple-data-detectors="true">. The page's own CSS then colors
# them as links (a { color }, and in dark mode .block a { ... !important }).
DATA_DETECTORS_JS = """(needles) => needles.map(needle => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, at = node.textContent.indexOf(needle);
    if (at < 0 || node.parentElement.closest('a, .preheader')) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + needle.length);
    const link = document.createElement('a');
    link.setAttribute('href', 'x-apple-data-detectors://0');
    link.setAttribute('x-apple-data-detectors', 'true');
    link.setAttribute('x-apple-data-detectors-type', 'calendar-event');
    range.surroundContents(link);
    const own = getComputedStyle(link), around = getComputedStyle(link.parentElement);
    return [needle, own.color === around.color, own.textDecorationLine];
  }
  return [needle, 'not found'];
})"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_dates_and_addresses_apple_mail_links_keep_the_texts_look(
    browser, email_html: str, scheme: str
) -> None:
    # The issue's date in the header, a post's date, a date in a sponsor's text and the
    # postal address were underlined in the link color: in dark mode the header's date
    # a dark blue on its dark background (3.1:1), a story's a light blue in light text.
    needles = ["June 14, 2025", "Jun 14, 2025", "June 26", "1 Example Street, Springfield"]
    page = browser.new_page(viewport={"width": 375, "height": 900}, color_scheme=scheme)
    try:
        page.set_content(email_html, wait_until="load")
        found = page.evaluate(DATA_DETECTORS_JS, needles)
    finally:
        page.close()
    assert found == [[needle, True, "none"] for needle in needles]


def _read_aloud(browser, html: str, selector: str = "body") -> str:
    """What a screen reader gets of ``selector`` in a page showing ``html``: Chromium's
    accessibility tree of it (roles, names, levels, text), as YAML."""
    page = browser.new_page(viewport={"width": 600, "height": 900})
    try:
        page.set_content(html, wait_until="load")
        return page.locator(selector).first.aria_snapshot()
    finally:
        page.close()


def _headings(tree: str) -> list[tuple[int, str]]:
    """The headings of an accessibility tree (``_read_aloud``): level and name, in order."""
    return [(int(level), name) for name, level in re.findall(r'- heading "(.*)" \[level=(\d)\]', tree)]


def test_a_screen_reader_lists_the_lead_storys_parts_among_the_headings(browser, email_html: str) -> None:
    # "Takeaways at a glance", the notes' titles and "Also covered by" look like headings
    # but were bold paragraphs: a screen reader's list of headings (VoiceOver's rotor,
    # NVDA's H key) went from the lead story's title straight to the next sponsor.
    assert _headings(_read_aloud(browser, email_html)) == [
        (1, LEAD), (2, "StartEngine's $30M Surge"), (2, "Top AI news"), (2, LEAD),
        (3, "Takeaways at a glance"), (3, "What we think:"), (3, "What you can do right now:"),
        (3, "Also covered by"), (2, "Artisan"), (2, "Get more done with these AI tools"),
        (2, "AI in the wild"),
    ]  # fmt: skip
    # and they look as they did: bold, in the text's size
    sizes = _in_page(
        browser,
        email_html,
        """() => [...document.querySelectorAll('.block-lead h3')].map(h => {
          const style = getComputedStyle(h);
          return [style.fontSize, style.fontWeight];
        })""",
    )
    assert sizes == [["16px", "700"]] * 4


def test_notes_without_a_lead_story_head_a_section_of_their_own(browser) -> None:
    # a block of their own after the last section: not sub-headings of "AI in the wild"
    html = render_issue(make_issue(lead=False), make_config(), parse_notes(NOTES)).html
    outline = _headings(_read_aloud(browser, html))
    assert outline[-3:] == [(2, "AI in the wild"), (2, "What we think:"), (2, "What you can do right now:")]


def test_a_screen_reader_skips_the_decorative_emoji_and_arrows(browser, email_html: str) -> None:
    # VoiceOver and NVDA read each story's emoji by its name before its headline
    # ("rolled-up newspaper, Story 0: ..."), and a tool's link as "Try Tool 0 right arrow".
    news = _read_aloud(browser, email_html, ".block-list")
    assert "📰" not in news and "Story 0: AI makes news again" in news
    tools = _read_aloud(browser, email_html, ".block-cards")
    assert re.findall(r'- link "(Try [^"]*)"', tools) == ["Try Tool 0", "Try Tool 1", "Try Tool 2"]
    shown = _in_page(browser, email_html, "() => document.querySelector('.block-list').innerText")
    assert shown.count("📰") == 10 and "Try Tool 0 →" in _in_page(
        browser, email_html, "() => document.querySelector('.block-cards').innerText"
    )


# Each button (a sponsor's, a poll answer): its border and background, as drawn.
BUTTON_EDGES_JS = """() => [...document.querySelectorAll('.btn td[bgcolor], a.answer')].map(el => {
  const style = getComputedStyle(el);
  return [el.textContent.trim(), style.borderTopStyle, parseFloat(style.borderTopWidth),
          style.borderTopColor === style.backgroundColor];
})"""


@pytest.mark.parametrize("forced", ["none", "active"])
def test_buttons_keep_their_edges_in_a_contrast_theme(browser, email_html: str, forced: str) -> None:
    # A contrast theme (Windows' high contrast, forced colors) drops background colors:
    # the sponsor's button and the poll's answers turned into bare words, side by side,
    # nothing showing where one answer ends and the next begins.
    page = browser.new_page(viewport={"width": 600, "height": 900}, forced_colors=forced)
    try:
        page.set_content(email_html, wait_until="load")
        edges = page.evaluate(BUTTON_EDGES_JS)
    finally:
        page.close()
    names = ["Learn more", "Yes, open", "No, closed", "Learn more"]
    # a border in the button's own color: unseen in the theme's colors, drawn in a contrast theme
    assert edges == [[name, "solid", 1, forced == "none"] for name in names]


def test_the_web_version_has_a_main_landmark(browser, email_html: str) -> None:
    # "Skip to main content" found none on the issue's page: the email has no <main>
    # (a mail client shows it inside its own), the web page around it does.
    assert "- main" not in _read_aloud(browser, email_html)
    page = _read_aloud(browser, web_page(email_html))
    assert page.startswith("- main:") and LEAD in page.split("- contentinfo")[0]
