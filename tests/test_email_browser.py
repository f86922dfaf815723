"""The rendered email in real headless Chromium, at desktop and phone width, light and dark.

Screenshots land in the repository's out/screenshots/ (git-ignored) for a person to look
at: email-600.png and email-375.png (and -dark variants).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_render import NOTES, make_config, make_issue

from digest.notes import parse_notes
from digest.render import render_issue

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SCREENSHOTS = Path(__file__).parent.parent / "out" / "screenshots"
BLOCKS = ["top", "header", "sponsor", "list", "lead", "cards", "quote", "closing", "footer"]

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian's chromium")

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


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


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
    assert sizes and min(sizes) >= 12  # the "Sponsored" label is the smallest


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
