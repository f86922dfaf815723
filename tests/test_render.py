"""Rendering an issue: the blocks of the sample, size, accessibility, links, safety, text.

Issues are built directly (``make_issue``) so these tests need no feeds; the browser
checks are in test_email_browser.py, which reuses ``make_issue`` and ``make_config``.
"""

from __future__ import annotations

import html
import json
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from digest import render
from digest.config import Config, Theme
from digest.contrast import low_contrast, ratio
from digest.errors import TemplateError
from digest.models import Issue, Item, Section, Stats, Story, Takeaway
from digest.notes import parse_notes
from digest.publish import publish, subject_line, web_page
from digest.render import GMAIL_CLIP_BYTES, MANAGE, UNSUBSCRIBE, first_sentence, labels, render_issue, wrap

BASE = datetime(2025, 6, 14, 8, tzinfo=UTC)
LEAD = "Meta to spend billions on data deal"
NOTES = """\
## What we think
This is the kind of move that doesn't make headlines but reshapes the landscape.
- Meta is building the roads and power lines of AI.

## What you can do right now
- Keep an eye on open-source options like Llama.

## Poll
Should AI tools be open to the public?
- Yes, open
- No, closed
"""


def _item(n: int, **fields: Any) -> Item:
    values = {
        "id": f"i{n}",
        "title": f"Story {n}: AI makes news again",
        "url": f"https://news{n % 7}.example.com/2025/06/story-{n}",
        "source": f"Outlet {n % 5}",
        "published": BASE - timedelta(hours=n % 40),
        "summary": f"A one-sentence summary of story {n}, with a little detail. And a second one.",
        "section": "top-news",
    }
    return Item(**{**values, **fields})


def make_lead(takes: int = 5) -> Story:
    """The lead story: ``takes`` outlets on one event, with takeaways and a body."""
    items = [
        _item(
            100 + k,
            title=LEAD,
            source=f"Outlet {k}",
            summary="Meta is in talks to partner with Scale AI for open-source model training.",
        )
        for k in range(takes)
    ]
    bullets = [
        Takeaway(
            f"Fact {k}: Meta and Scale AI agree on point {k}.", items[k % takes].url, items[k % takes].source
        )
        for k in range(4)
    ]
    body = [
        "Meta is making one of its biggest bets yet on AI, a deal worth billions with Scale AI.",
        "Scale AI labels data across language, code and images so Meta can train Llama.",
    ]
    return Story("lead", items, emoji="🤝", takeaways=bullets, body=body)


def make_issue(stories: int = 10, lead: bool = True, extra: list[Story] | None = None) -> Issue:
    """An issue like the sample: a news list, the lead story, tools cards and a quote."""
    news = [
        Story(f"s{k}", [_item(k)] + [_item(1000 + 10 * k + j) for j in range(k % 3)], emoji="📰")
        for k in range(stories)
    ] + (extra or [])
    tools = [
        Story(f"t{k}", [_item(200 + k, title=f"Tool {k}", summary=f"Tool {k} does one useful thing.")])
        for k in range(3)
    ]
    post = Item(
        id="q",
        title="omg",
        url="https://x.com/EHuanglu/status/1",
        source="X",
        author="el.cine (@EHuanglu)",
        published=BASE,
        text="omg.. this can't be real 🤯\n\nChina's 4DV AI just dropped 4D Gaussian Splatting.",
    )
    lead_story = make_lead() if lead else None
    sections = [Section("top-news", "Top AI news", "list", news)]
    if lead_story:
        sections.append(Section("lead", LEAD, "lead", [lead_story]))
    sections += [
        Section("tools", "Get more done with these AI tools", "cards", tools),
        Section("in-the-wild", "AI in the wild", "quote", [Story("q", [post])]),
    ]
    subtitle = "Meta is in talks to partner with Scale AI for open-source model training."
    return Issue(
        "Future Blueprint", 7, "2025-06-14", "2025-06-14", LEAD, subtitle, sections, Stats(), lead_story
    )


def make_config(**overrides: Any) -> Config:
    """A config like the demo newsletter's, with one sponsor."""
    data: dict[str, Any] = {
        "newsletter": {
            "name": "Future Blueprint",
            "url": "https://futureblueprint.example.com",
            "greeting": "Hi AI Futurists,",
            "closing": "That's all for today, folks!",
            "author": "Lex",
            "postal_address": "1 Example Street, Springfield",
            "reply_to": "editor@futureblueprint.example.com",
        },
        "sources": [{"name": "Example", "url": "https://example.com/feed.xml"}],
        "sponsors": [
            {
                "title": "StartEngine's $30M Surge",
                "text": "Own a piece before June 26.",
                "url": "https://startengine.example.com/",
            }
        ],
    }
    for key, value in overrides.items():
        data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
    return Config(**data)


class _Tags(HTMLParser):
    """Every start tag of an HTML document, with its attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def not_in_order(text: str, landmarks: list[str]) -> list[str]:
    """The landmarks not found in ``text`` one after the other (empty: all in order)."""
    missing, at = [], 0
    for landmark in landmarks:
        found = text.find(landmark, at)
        if found < 0:
            missing.append(landmark)
        else:
            at = found + len(landmark)
    return missing


@pytest.fixture(scope="module")
def rendered():
    return render_issue(make_issue(), make_config(), parse_notes(NOTES))


def test_every_block_of_the_sample_renders_in_order(rendered) -> None:
    html = rendered.html
    assert "<mj-" not in html and "</mj" not in html
    landmarks = [
        "View in browser", "Future Blueprint", "June 14, 2025", "Issue #7", f">{LEAD}</h1>",
        "Hi AI Futurists,", "Here's our agenda", "Sponsored", "StartEngine's $30M Surge",
        ">Top AI news<", "📰", "Also covered by", "Takeaways at a glance", "Fact 0",
        "What we think", "What you can do right now", "Should AI tools be open",
        "Also covered by", "Get more done with these AI tools", "Tool 0", "AI in the wild",
        "el.cine (@EHuanglu)", "That's all for today, folks!", "Best,<br>Lex", MANAGE, UNSUBSCRIBE,
        "1 Example Street",
    ]  # fmt: skip
    assert not_in_order(unescape(html), landmarks) == []


def test_news_list_has_emoji_bold_link_sentence_and_other_takes(rendered) -> None:
    line = re.search(
        r"📰</span> <a[^>]*font-weight:\s*700[^>]*>Story 2: AI makes news again</a><br>(.*?)</p>",
        rendered.html,
    )
    assert line, "emoji, then the headline as a bold link"
    assert "A one-sentence summary of story 2, with a little detail." in line.group(1)
    assert "And a second one" not in line.group(1)
    assert re.search(r"Also covered by <a[^>]*>Outlet 0</a>, <a[^>]*>Outlet 1</a></span>$", line.group(1))


def test_lead_story_shows_every_other_take(rendered) -> None:
    also = rendered.html.split('class="block block-lead"')[1].split("Also covered by")[1].split("</ul>")[0]
    for k in range(1, 5):
        assert f"Outlet {k}</a>" in also


def _block(html: str, name: str) -> str:
    """The HTML of one block (``list``, ``lead``, ``cards``, ...) of a rendered issue."""
    return html.split(f'class="block block-{name}"')[1].split('class="block')[0]


def _links(text: str) -> dict[str, str]:
    """The plaintext's links list: each URL and its ``[n]`` marker."""
    return {url: f"[{n}]" for n, url in re.findall(r"^\[(\d+)\] (\S+)$", text, re.M)}


def test_every_section_links_the_other_takes_of_a_merged_story() -> None:
    issue = make_issue(3)  # the news list's Story 1 and Story 2 are merged already
    tools, wild = issue.sections[2], issue.sections[3]
    tools.stories[1].items.append(_item(310, title="Tool 1 review", source="Tool Hunt"))
    wild.stories[0].items += [_item(320, source="Threads"), _item(321, source="Bluesky")]
    rendered = render_issue(issue, make_config(), [])
    links = _links(rendered.text)
    for section in (issue.sections[0], tools, wild):
        block = _block(rendered.html, section.style)
        also = [item for story in section.stories for item in story.also]
        assert also and block.count("Also covered by") == sum(1 for s in section.stories if s.also)
        for item in also:
            assert re.search(rf'<a href="{re.escape(item.url)}"[^>]*>{item.source}</a>', block), item.url
            assert item.url in links, item.url
        text = rendered.text.split(section.title.upper() + "\n" + "-" * 72)[1].split("-" * 72)[0]
        for story in section.stories:
            if story.also:
                takes = ", ".join(f"{item.source} {links[item.url]}" for item in story.also)
                assert f"Also covered by {takes}" in " ".join(text.split()), story.lead.title


def test_absent_notes_and_takeaways_leave_no_empty_heading() -> None:
    issue = make_issue()
    issue.lead.takeaways = []
    html = render_issue(issue, make_config(sponsors=[]), []).html
    for heading in ("What we think", "Takeaways at a glance", "Sponsored", "Our sponsors", "box-title"):
        assert heading not in html
    assert "<h2" in html and "<ul" in html


def test_poll_answers_are_reply_links(rendered) -> None:
    answers = re.findall(r'<a class="answer"[^>]*href="([^"]+)"', rendered.html)
    assert answers == [
        "mailto:editor@futureblueprint.example.com?subject=Poll%3A%20Yes%2C%20open",
        "mailto:editor@futureblueprint.example.com?subject=Poll%3A%20No%2C%20closed",
    ]


def test_intro_comes_from_notes_then_config_then_lead_summary() -> None:
    issue = make_issue()
    issue.lead.items[0] = _item(100, title=LEAD, summary="Meta bets big. Let's take a look.")
    config = make_config()
    assert "Meta bets big. Let's take a look." in unescape(render_issue(issue, config, []).html)
    configured = make_config(newsletter={"intro": "Today: data deals."})
    assert "Today: data deals." in render_issue(issue, configured, []).html
    noted = render_issue(issue, configured, parse_notes("## Intro\nA word from the editor.\n")).html
    assert "A word from the editor." in noted and "Today: data deals." not in noted


def test_sponsor_has_label_link_image_with_alt_and_button() -> None:
    sponsor = {
        "title": "Artisan",
        "text": "Hire Ava.",
        "url": "https://artisan.example.com/",
        "image": "https://artisan.example.com/ava.png",
        "position": "middle",
    }
    html = render_issue(make_issue(), make_config(sponsors=[sponsor]), []).html
    tags = _Tags(html)
    assert {"src": "https://artisan.example.com/ava.png", "alt": "Artisan"}.items() <= next(
        i for i in tags.all("img") if "ava.png" in i["src"]
    ).items()
    assert not_in_order(html, ["Takeaways at a glance", "Hire Ava.", "Get more done"]) == []
    assert html.count('href="https://artisan.example.com/"') >= 3  # image, title, button


def test_thirty_story_issue_fits_under_gmail_clipping() -> None:
    rendered = render_issue(make_issue(30), make_config(), parse_notes(NOTES))
    assert rendered.html_bytes <= GMAIL_CLIP_BYTES, rendered.html_bytes


def test_oversized_issue_warns(caplog: pytest.LogCaptureFixture) -> None:
    long = [Story(f"x{k}", [_item(5000 + k, summary="word " * 120 + ".")]) for k in range(250)]
    with caplog.at_level(logging.WARNING, logger="digest.render"):
        rendered = render_issue(make_issue(extra=long), make_config(), [])
    assert rendered.html_bytes > GMAIL_CLIP_BYTES
    assert any("Gmail clips" in r.getMessage() for r in caplog.records)


def test_outlook_gets_cell_buttons_list_margins_and_card_spacers() -> None:
    # Outlook for Windows ignores a link's padding, margin and background, a list's
    # padding and a table's margin: the poll's answers were colored words jammed
    # together, bullets fell on the column's edge, and the tool cards touched
    html = render_issue(make_issue(), make_config(), parse_notes(NOTES)).html
    cells = re.findall(
        r'<td class="answer-cell" bgcolor="#1a56db" style="[^"]*mso-padding-alt:10px 14px[^"]*">', html
    )
    assert len(cells) == 2
    lists = re.findall(r"<ul[^>]*>", html)
    assert lists and all(re.search(r"margin:0 0 (?:0|\d+px) 22px; padding:0\b", ul) for ul in lists), lists
    spacer = '<!--[if mso]><table role="presentation" width="100%"'
    assert _block(html, "cards").count(spacer) == 2  # between three cards
    assert '<meta name="x-apple-disable-message-reformatting">' in html


def test_accessibility_basics(rendered) -> None:
    tags = _Tags(rendered.html)
    html_tag = tags.all("html")[0]
    assert html_tag.get("lang") == "en"
    assert all(img.get("alt") for img in tags.all("img"))
    assert all(t.get("role") == "presentation" for t in tags.all("table"))
    metas = {m.get("name"): m.get("content") for m in tags.all("meta")}
    assert metas.get("color-scheme") == "light dark"
    assert "@media (prefers-color-scheme: dark)" in rendered.html


def test_the_inbox_preview_is_the_subtitle_and_nothing_after_it(rendered) -> None:
    # An inbox shows 100-200 characters of the body after the subject. With 60 characters
    # of blank filler a short subtitle was followed by "View in browser · ..." there.
    start = rendered.html.index('<div class="preheader"')
    preheader = html.unescape(
        re.sub(r"<[^>]+>", "", rendered.html[start : rendered.html.index("</div>", start)])
    )
    subtitle = make_issue().subtitle
    assert preheader.startswith(subtitle) and subtitle.strip()
    filler = preheader[len(subtitle) :]
    assert len(filler) >= 200 and not filler.translate({0x2007: None, 0x34F: None}).strip()


def test_email_and_web_version_keep_the_doctype(rendered, tmp_path: Path) -> None:
    # without it, clients render in quirks mode: tables drop the theme's color and line height
    assert rendered.html.startswith("<!doctype html><html ")
    folder = publish(make_issue(), rendered, {}, make_config(), tmp_path)
    for name in ("email.html", "index.html"):
        assert (folder / name).read_text(encoding="utf-8").startswith("<!doctype html><html "), name


def test_logo_and_lead_image_have_alt_text() -> None:
    issue = make_issue()
    issue.lead.items[0] = _item(100, title=LEAD, image="https://img.example.com/meta.jpg")
    config = make_config(theme={"logo": "https://futureblueprint.example.com/logo.png"})
    tags = _Tags(render_issue(issue, config, []).html)
    alts = {i["src"]: i.get("alt") for i in tags.all("img")}
    assert alts == {
        "https://futureblueprint.example.com/logo.png": "Future Blueprint",
        "https://img.example.com/meta.jpg": LEAD,
    }


def test_a_lead_without_a_picture_shows_another_takes_linked_to_that_take(tmp_path: Path) -> None:
    issue = make_issue()
    pictured = replace(
        issue.lead.items[3], image="https://img.example.com/scale.jpg", title="Scale AI's chief"
    )
    issue.lead.items[3] = pictured
    issue.lead.items[4] = replace(issue.lead.items[4], image="https://img.example.com/later.jpg")
    config = make_config()
    rendered = render_issue(issue, config, [])
    images = [i for i in _Tags(rendered.html).all("img") if "img.example.com" in i["src"]]
    assert [(i["src"], i["alt"]) for i in images] == [
        ("https://img.example.com/scale.jpg", "Scale AI's chief")
    ]
    before_image = _block(rendered.html, "lead").split('src="https://img.example.com/scale.jpg"')[0]
    assert re.findall(r'href="([^"]+)"', before_image)[-1] == pictured.url
    folder = publish(issue, rendered, {}, config, tmp_path)
    lead = next(s for s in json.loads((folder / "issue.json").read_text())["sections"] if s["id"] == "lead")
    assert lead["stories"][0]["image"] == "https://img.example.com/scale.jpg"
    # the front take's own picture comes first
    issue.lead.items[0] = replace(issue.lead.items[0], image="https://img.example.com/meta.jpg")
    images = [
        i["src"]
        for i in _Tags(render_issue(issue, config, []).html).all("img")
        if "img.example.com" in i["src"]
    ]
    assert images == ["https://img.example.com/meta.jpg"]


def test_a_single_takeaway_is_a_sentence_of_the_lead_not_a_box_of_one_bullet() -> None:
    issue = make_issue()
    one = Takeaway("Scale AI will label data for Llama.", issue.lead.items[2].url, "Outlet 2")
    issue.lead.takeaways = [one]
    rendered = render_issue(issue, make_config(), [])
    lead = _block(rendered.html, "lead")
    assert "Takeaways at a glance" not in lead and "box-title" not in lead and 'class="bullets"' not in lead
    source = rf'<a class="source" href="{one.url}"[^>]*>Outlet 2</a>'
    sentence = rf'<p class="takeaway"[^>]*>{re.escape(one.text)} {source}</p>'
    assert re.search(sentence, lead)
    assert not_in_order(lead, ["can train Llama.", one.text, "Read the full story"]) == []
    text = rendered.text
    assert "Takeaways at a glance" not in text and "  - Scale AI" not in text
    ref = re.search(r"Scale AI will label data for Llama\. (\[\d+\])\n\nRead the full story", text)
    assert ref and f"{ref.group(1)} {one.url}" in text
    # two or more are the box, as before
    issue.lead.takeaways = [one, replace(one, text="Meta will pay billions.")]
    assert "Takeaways at a glance" in render_issue(issue, make_config(), []).html


def test_the_subject_writes_its_date_as_the_issue_does_and_keeps_an_iso_date() -> None:
    subject = "{name}, {date}: {title} ({iso_date})"
    german = make_config(newsletter={"subject": subject, "language": "de"})
    assert subject_line(make_issue(), german) == f"Future Blueprint, 14. Juni 2025: {LEAD} (2025-06-14)"
    english = make_config(newsletter={"subject": "{date} · {title}"})
    assert subject_line(make_issue(), english) == f"June 14, 2025 · {LEAD}"


def test_an_issue_works_out_its_labels_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(render, "labels", lambda config: calls.append(config) or labels(config))
    render_issue(make_issue(), make_config(), [])
    assert len(calls) == 1


def test_theme_colors_have_enough_contrast() -> None:
    assert low_contrast(Theme()) == []
    assert round(ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(ratio("#767676", "#ffffff"), 2) == 4.54  # the lightest grey that passes on white


def test_a_low_contrast_theme_warns(caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(theme={"muted": "#aaaaaa", "dark_text": "#333333"})
    with caplog.at_level(logging.WARNING, logger="digest.render"):
        render_issue(make_issue(), config, [])
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "muted on surface" in warnings and "dark_text on dark_surface" in warnings
    # exactly the two changed colors, on each background they meet; nothing else is flagged
    assert [pair.split(" (")[0] for pair in low_contrast(config.theme)] == [
        "muted on surface", "muted on tint", "muted on background",
        "dark_text on dark_surface", "dark_text on dark_tint", "dark_text on dark_background",
    ]  # fmt: skip


def _hrefs(html: str) -> list[str]:
    return [a["href"] for a in _Tags(html).all("a") if "href" in a]


def test_every_link_is_http_or_mailto_without_tracking(rendered) -> None:
    links = _hrefs(rendered.html)
    assert len(links) > 30
    for href in links:
        assert href.startswith(("https://", "http://", "mailto:")) or href in (UNSUBSCRIBE, MANAGE), href
    assert not any("utm_" in href for href in links)


def test_utm_tagging_only_when_configured() -> None:
    config = make_config(
        theme={"utm": {"source": "futureblueprint", "medium": "email", "campaign": "{date}"}}
    )
    html = render_issue(make_issue(), config, []).html
    assert (
        "https://news2.example.com/2025/06/story-2?utm_source=futureblueprint&amp;utm_medium=email&amp;utm_campaign=2025-06-14"
        in html
    )
    assert "mailto:editor@futureblueprint.example.com?subject=Poll" not in html  # no notes, no poll
    assert f'href="{UNSUBSCRIBE}"' in html  # placeholders stay untouched


def test_hostile_content_is_escaped() -> None:
    evil = Story(
        "evil",
        [
            _item(
                666,
                title="<script>alert(1)</script> Breaking",
                summary='<img src=x onerror="alert(1)"> gotcha.',
                url="javascript:alert(1)",
            )
        ],
    )
    rendered = render_issue(make_issue(extra=[evil]), make_config(), [])
    lowered = rendered.html.lower()
    tags = _Tags(rendered.html)
    assert not tags.all("script") and not re.search(r"<script[\s>]", lowered)
    assert not [a for _, attrs in tags.tags for a in attrs if a.startswith("on")]  # no event handlers
    assert "<img src=x" not in lowered and "javascript:" not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Breaking" in rendered.html


def test_a_story_without_a_link_shows_its_headline_as_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    issue = make_issue(3)
    news, tools, wild = issue.sections[0], issue.sections[2], issue.sections[3]
    news.stories[0].items[0] = replace(news.stories[0].lead, url="")
    tools.stories[0].items[0] = replace(tools.stories[0].lead, url="")
    wild.stories[0].items[0] = replace(wild.stories[0].lead, url="")
    issue.lead.items[0] = replace(issue.lead.lead, url="", image="https://img.example.com/meta.jpg")
    issue.lead.items.append(replace(issue.lead.lead, id="unlinked", url="", source="Linkless Wire"))
    config = make_config()
    with caplog.at_level(logging.WARNING, logger="digest.render"):
        rendered = render_issue(issue, config, [])
        publish(issue, rendered, {}, config, tmp_path)
    html = rendered.html
    assert not [href for href in _hrefs(html) if not href.startswith(("https://", "mailto:", "%%"))]
    assert re.search(r"📰</span> <strong[^>]*>Story 0: AI makes news again</strong><br>", html)
    assert re.search(rf'<h2 class="lead-title"[^>]*>{LEAD}</h2>', html)
    assert re.search(r'<p class="card-name"[^>]*>Tool 0</p>', html) and "Try Tool 0" not in html
    assert "el.cine (@EHuanglu) · Jun 14, 2025</p>" in html  # no "View post"
    assert not [url for url in _links(rendered.text) if not url.startswith(("https://", "mailto:", "%%"))]
    assert "\n📰 Story 0: AI makes news again\n" in rendered.text
    assert "\nTool 0\n" in rendered.text and "Read the full story" not in rendered.text
    assert re.search(r"<li[^>]*>Linkless Wire: ", html) and "Linkless Wire: " in rendered.text
    assert not caplog.records
    feed = (tmp_path / "feed.xml").read_text(encoding="utf-8")
    assert 'href=""' not in unescape(feed) and "<li>Story 0: AI makes news again</li>" in unescape(feed)


def test_unicode_survives_html_text_and_json(tmp_path: Path) -> None:
    issue = make_issue()
    issue.sections[0].stories[0].items[0] = _item(
        0, title="Zürich’s “AI” café — naïve? 🤖", summary="Ünïcödé summary — ok."
    )
    config = make_config()
    rendered = render_issue(issue, config, [])
    assert "Zürich’s “AI” café — naïve? 🤖" in rendered.html
    assert "Zürich’s “AI” café — naïve? 🤖" in rendered.text
    folder = publish(issue, rendered, {}, config, tmp_path)
    data = json.loads((folder / "issue.json").read_bytes().decode("utf-8"))
    assert data["sections"][0]["stories"][0]["title"] == "Zürich’s “AI” café — naïve? 🤖"
    assert "Zürich’s" in (folder / "issue.json").read_text(encoding="utf-8")  # not \\u-escaped


def test_plaintext_wraps_at_72_and_numbers_links(rendered) -> None:
    text = rendered.text
    for line in text.splitlines():
        assert len(line) <= 72 or re.search(r"(https?://|mailto:)\S+|%%\w+%%", line), line
    body, links = text.split("\nLinks\n")
    assert "<" not in body.replace("<br>", "")
    listed = re.findall(r"^\[(\d+)\] (\S+)$", links, re.M)
    numbers = [int(n) for n, _ in listed]
    assert numbers == list(range(1, len(listed) + 1))
    assert {int(n) for n in re.findall(r"\[(\d+)\]", body)} == set(numbers)
    assert "https://news2.example.com/2025/06/story-2" in dict(listed).values()
    assert "http" not in body.split("Here's our agenda")[1].split("That's all for today")[0]


def test_plaintext_has_the_same_blocks_in_the_same_order(rendered) -> None:
    text = rendered.text
    landmarks = [
        "FUTURE BLUEPRINT", "Issue #7", LEAD, "Hi AI Futurists,", "Here's our agenda", "SPONSORED",
        "StartEngine's $30M Surge", "TOP AI NEWS", "📰 Story 0", "Also covered by Outlet 0 [",
        "Takeaways at a glance",
        "What we think:", "Should AI tools be open", "Also covered by:", "GET MORE DONE", "Tool 0",
        "AI IN THE WILD", "> omg", "That's all for today, folks!", "Best,\nLex", "Links", MANAGE,
        UNSUBSCRIBE, "1 Example Street",
    ]  # fmt: skip
    assert not_in_order(text, landmarks) == []


# A line of one symbol that NVDA speaks at its default punctuation level ("some"), such
# as "=", "*", "#" or "+": a screen reader reads the rule out, symbol by symbol. Dashes
# are spoken only at "most" and above.
_SPOKEN_RULE = re.compile(r"^[ \t]*([=*#+~_<>])\1{3,}[ \t]*$", re.M)


def test_plaintext_rules_are_not_read_out_by_a_screen_reader() -> None:
    # Each section's banner was two rules of 72 "=": NVDA read "equals" 144 times
    # around every section title (and 72 times more above notes without a lead story).
    for rendered in (
        render_issue(make_issue(), make_config(), parse_notes(NOTES)),
        render_issue(make_issue(lead=False), make_config(), parse_notes(NOTES)),
    ):
        assert _SPOKEN_RULE.findall(rendered.text) == []
        banner = "\n".join(["-" * 72, "TOP AI NEWS", "-" * 72])
        assert banner in rendered.text  # a section still stands out under its rule


def test_wrap_never_breaks_urls() -> None:
    url = "https://example.com/" + "a" * 90
    wrapped = wrap(f"Read this long sentence about many things before the link {url} and after it.")
    assert url in wrapped.splitlines()
    assert all(len(line) <= 72 for line in wrapped.splitlines() if url not in line)


def test_a_long_url_or_word_in_a_summary_is_cut_inside_not_dropped() -> None:
    url = "https://example.com/" + "a" * 180
    cut = first_sentence(f"Visit {url} for more. And then some.")
    assert cut.startswith("Visit https://example.com/aaaa") and cut.endswith("a…") and len(cut) == 200
    assert first_sentence("The word " + "x" * 300).startswith("The word xxxx")
    words = "A sentence of many short words " * 10
    cut = first_sentence(words)  # ordinary words: cut between them
    assert cut.endswith("…") and len(cut) <= 200 and words.startswith(cut[:-1] + " ")
    issue = make_issue(2)
    issue.sections[0].stories[0].items[0] = _item(0, summary=f"Visit {url} for more.")
    wild = issue.sections[3].stories[0]
    wild.items[0] = replace(wild.lead, text=f"See {url * 3} now.")  # a quote is cut at 400
    html = render_issue(issue, make_config(), []).html
    assert "<br>Visit https://example.com/" + "a" * 170 in html
    assert re.search(r'<p class="quote"[^>]*>See https://example\.com/a{170}', html)


@pytest.mark.parametrize(
    ("zone", "day"),
    [("Asia/Tokyo", "Jun 14, 2025"), ("UTC", "Jun 13, 2025"), ("America/New_York", "Jun 13, 2025")],
)
def test_quote_date_is_the_day_in_the_newsletters_time_zone(zone: str, day: str) -> None:
    issue = make_issue(2)
    wild = issue.sections[3].stories[0]
    wild.items[0] = replace(wild.lead, published=datetime(2025, 6, 13, 20, tzinfo=UTC))
    rendered = render_issue(issue, make_config(newsletter={"timezone": zone}), [])
    assert f"— el.cine (@EHuanglu) · {day} · <a" in rendered.html
    assert f"— el.cine (@EHuanglu) · {day} [" in rendered.text


def test_a_right_to_left_language_is_laid_out_right_to_left() -> None:
    rtl = render_issue(make_issue(2), make_config(newsletter={"language": "ar"}), []).html
    assert {"lang": "ar", "dir": "rtl"}.items() <= _Tags(rtl).all("html")[0].items()
    assert "direction:ltr" not in rtl and "direction:rtl" in rtl
    assert re.search(r'<td align="right"[^>]*><div style="[^"]*text-align:right', _block(rtl, "list"))
    ltr = render_issue(make_issue(2), make_config(), []).html
    assert _Tags(ltr).all("html")[0]["dir"] == "auto" and "rtl" not in ltr


def _templates(tmp_path: Path, name: str, content: str) -> Config:
    folder = tmp_path / "mytheme"
    (folder / Path(name).parent).mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(content, encoding="utf-8")
    return make_config(templates=str(folder), root=tmp_path)


def test_own_templates_override_builtin_file_by_file(tmp_path: Path) -> None:
    partial = (
        '<mj-section css-class="block"><mj-column><mj-text>'
        "<p>MY LIST: {{ section.stories | length }}</p></mj-text></mj-column></mj-section>\n"
    )
    config = _templates(tmp_path, "partials/list.mjml", partial)
    html = render_issue(make_issue(), config, []).html
    assert "MY LIST: 10" in html
    assert "Takeaways at a glance" in html  # the other partials are the built-in ones
    assert "📰 <a" not in html


def test_an_override_in_the_wrong_place_is_named_in_a_warning(tmp_path: Path, caplog) -> None:
    # footer.mjml beside email.mjml overrides nothing: the built-in one is partials/footer.mjml
    config = _templates(tmp_path, "footer.mjml", "<mj-section><mj-column></mj-column></mj-section>\n")
    _templates(tmp_path, "partials/foooter.txt", "MY FOOTER\n")
    _templates(tmp_path, "partials/promo.mjml", "<mj-text>Our own partial</mj-text>\n")
    _templates(tmp_path, "partials/closing.mjml", '{% include "partials/promo.mjml" %}\n')
    with caplog.at_level("WARNING", logger="digest.render"):
        render_issue(make_issue(), config, [])
    folder = tmp_path / "mytheme"
    warned = [r.getMessage() for r in caplog.records if r.getMessage().startswith("templates: ")]
    assert warned == [
        f"templates: {folder / 'footer.mjml'} overrides no built-in template and no template includes it: "
        f"to override the built-in partials/footer.mjml, name it {folder / 'partials/footer.mjml'}",
        f"templates: {folder / 'partials/foooter.txt'} overrides no built-in template and no template "
        f"includes it: to override the built-in partials/footer.txt, "
        f"name it {folder / 'partials/footer.txt'}",
    ]  # a partial of one's own that an override includes is no mistake


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    config = _templates(tmp_path, "partials/quote.mjml", "<mj-section>\n{% for x in %}\n</mj-section>\n")
    with pytest.raises(TemplateError, match=r"partials/quote\.mjml:2: "):
        render_issue(make_issue(), config, [])


def test_an_element_left_open_in_mjml_is_shown_where_it_starts(tmp_path: Path) -> None:
    text = "<mj-text><p>Thanks for reading, friends</p></mj-text>"
    content = f"<mj-section>\n  <mj-column>\n    {text}\n</mj-section>\n"
    config = _templates(tmp_path, "partials/closing.mjml", content)
    with pytest.raises(TemplateError) as caught:
        render_issue(make_issue(), config, [])
    message = str(caught.value)
    assert message.startswith("email.mjml: the MJML does not render: ")
    assert re.search(r"<mj-column> on line \d+ of the MJML is not closed before </mj-section>", message), (
        message
    )
    assert "(before “Thanks for reading, friends”)" in message


def test_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    content = (
        "<mj-section><mj-column>\n"
        "  <mj-text>{{ section.title }}</mj-text>\n"
        "  <mj-text>{{ no_such_thing }}</mj-text>\n"
        "</mj-column></mj-section>\n"
    )
    config = _templates(tmp_path, "partials/cards.mjml", content)
    with pytest.raises(TemplateError, match=r"mytheme/partials/cards\.mjml:3: 'no_such_thing' is undefined"):
        render_issue(make_issue(), config, [])
    config = _templates(tmp_path / "text", "partials/cards.txt", "{{ section.nope }}\n")
    with pytest.raises(TemplateError, match=r"partials/cards\.txt:1: .*nope"):
        render_issue(make_issue(), config, [])


def test_web_version_archive_and_feed(tmp_path: Path) -> None:
    config = make_config()
    for day, title in (("2025-06-13", "Yesterday & before"), ("2025-06-14", LEAD)):
        issue = make_issue()
        issue.date = issue.slug = day
        issue.title = title
        publish(issue, render_issue(issue, config, []), {}, config, tmp_path)
    web = (tmp_path / "2025-06-14" / "index.html").read_text(encoding="utf-8")
    email = (tmp_path / "2025-06-14" / "email.html").read_text(encoding="utf-8")
    assert UNSUBSCRIBE in email and UNSUBSCRIBE not in web and MANAGE not in web
    # on the web, "Unsubscribe" asks for it by mail: the archive's page unsubscribed nobody
    by_mail = "mailto:editor@futureblueprint.example.com?subject=unsubscribe"
    public = email.replace(UNSUBSCRIBE, by_mail).replace(MANAGE, config.newsletter.url)
    assert web == web_page(public)
    archive = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert archive.index('href="2025-06-14/index.html"') < archive.index('href="2025-06-13/index.html"')
    assert "Yesterday &amp; before" in archive
    feed = ET.parse(tmp_path / "feed.xml").getroot()
    atom = "{http://www.w3.org/2005/Atom}"
    entries = feed.findall(f"{atom}entry")
    assert [e.findtext(f"{atom}title") for e in entries] == [LEAD, "Yesterday & before"]
    assert entries[0].find(f"{atom}link").get("href") == "https://futureblueprint.example.com/2025-06-14/"
    assert "<li><a href=" in entries[0].findtext(f"{atom}content")


def test_feed_without_a_site_url_is_still_valid_atom(tmp_path: Path) -> None:
    config = make_config(newsletter={"url": ""})
    issue = make_issue()
    folder = publish(issue, render_issue(issue, config, []), {}, config, tmp_path)
    root = ET.parse(tmp_path / "feed.xml").getroot()
    ids = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}id")]
    assert ids == ["urn:digest:future-blueprint", "urn:digest:future-blueprint:2025-06-14"]
    web = (folder / "index.html").read_text(encoding="utf-8")
    assert 'href="mailto:editor@futureblueprint.example.com?subject=unsubscribe"' in web


def test_plaintext_draws_one_rule_between_a_sponsor_and_the_next_section() -> None:
    # a sponsor's closing rule ran into the next section's opening one: two rules in a row
    text = render_issue(make_issue(), make_config(), parse_notes(NOTES)).text
    lines = text.splitlines()
    rules = [k for k, line in enumerate(lines) if line == "-" * 72]
    assert "SPONSORED" in text and len(rules) >= 6
    assert [k for k in rules if k + 2 in rules and not lines[k + 1].strip()] == []


def test_plaintext_lines_fit_with_a_long_name_source_or_word() -> None:
    # The header line (name, date, number), "Read the full story at <source>" and the
    # sponsor's call to action were not wrapped, and a word longer than a line stayed whole.
    word = "Supercalifragilistic" * 6
    issue = make_issue(2)
    issue.lead.items[0] = replace(issue.lead.lead, source="The International Journal of Technology Affairs")
    issue.sections[0].stories[0].items[0] = _item(0, title=f"The {word} story", summary=f"It is {word}.")
    config = make_config(
        newsletter={"name": "The Weekly Newsletter of Artificial Intelligence Progress"},
        sponsors=[{"title": "Artisan", "url": "https://artisan.example.com/", "cta": "Hire Ava " * 9}],
    )
    text = render_issue(issue, config, parse_notes(NOTES)).text
    long = [line for line in text.splitlines() if len(line) > 72]
    assert all(re.search(r"(https?://|mailto:)\S+|%%\w+%%", line) for line in long), long
    assert "THE WEEKLY NEWSLETTER OF ARTIFICIAL INTELLIGENCE PROGRESS ·" in text
    assert "Read the full story at The International Journal of Technology Affairs" in " ".join(text.split())
    assert f"The {word} story" in re.sub(r"(?<=\w)\n *(?=\w)", "", text)  # cut across lines, not lost


def test_wrap_cuts_a_long_word_but_never_a_url() -> None:
    url = "https://example.com/" + "a" * 90
    wrapped = wrap(f"{'x' * 100} then {url} and %%UNSUBSCRIBE_URL%% [12]", 40)
    lines = ["x" * 40, "x" * 40, "x" * 20 + " then", url, "and %%UNSUBSCRIBE_URL%% [12]"]
    assert wrapped.splitlines() == lines
    for link in ("www.example.com/" + "b" * 60, "HTTPS://EXAMPLE.COM/" + "c" * 60):
        assert link in wrap(f"see {link} now", 40).splitlines()  # a link without http://, or in capitals


def test_the_plaintext_keeps_a_fields_fallback_on_one_line() -> None:
    # wrapped at a space of its fallback, "%%NAME|dear reader\nand friend%%" was no field:
    # every reader of the plaintext, and the web version, got it as it is written
    greeting = "Good morning and welcome back to the Friday edition, %%NAME|dear reader and friend%%!"
    config = make_config(newsletter={"greeting": greeting})
    text = render_issue(make_issue(), config, parse_notes(NOTES)).text
    assert (
        "\nGood morning and welcome back to the Friday edition,\n%%NAME|dear reader and friend%%!\n" in text
    )
    fallback = "%%NAME|a fallback longer than a line of the plaintext%%"
    assert wrap(f"Hello {fallback}, welcome.", 40).splitlines() == ["Hello", f"{fallback},", "welcome."]


def test_a_card_invites_to_try_the_product_not_its_whole_headline() -> None:
    issue = make_issue(3)
    tools = next(s for s in issue.sections if s.style == "cards")
    titles = ["Clipwise: turn long videos into shorts", "Ledgerly – AI bookkeeping for freelancers"]
    for story, title in zip(tools.stories, titles, strict=False):
        story.items[0] = replace(story.lead, title=title)
    html = render_issue(issue, make_config(), []).html
    ctas = [unescape(re.sub(r"<[^>]+>", "", a)) for a in re.findall(r'<a class="cta"[^>]*>(.*?)</a>', html)]
    assert ctas == ["Try Clipwise →", "Try Ledgerly →", "Try Tool 2 →"]


def test_intro_from_the_lead_summary_does_not_repeat_the_subtitle_or_the_lead_body() -> None:
    summary = (
        "Nimbus AI released Orion 2 on Thursday, saying the model scored 87.4% on MathArena. "
        "It is priced at $3 per million input tokens."
    )
    issue = make_issue()
    issue.lead.items[0] = _item(100, title=LEAD, summary=summary)
    issue.subtitle = "Nimbus AI released Orion 2 on Thursday, saying the model scored 87.4% on MathArena."
    issue.lead.body = [summary]
    text = render_issue(issue, make_config(), []).text
    assert text.count("87.4%") == 2, text  # the subtitle and the lead's paragraph, no intro
    issue.lead.body = ["Orion 2 has a context window of 400,000 tokens, double that of its predecessor."]
    text = render_issue(issue, make_config(), []).text
    assert text.count("87.4%") == 1 and text.count("It is priced at $3") == 1, text


def test_a_label_no_built_in_template_uses_is_named_in_a_warning(caplog, tmp_path) -> None:
    config = make_config(newsletter={"labels": {"agendaa": "Today's menu", "agenda": "On the menu"}})
    with caplog.at_level("WARNING", logger="digest.render"):
        html = render_issue(make_issue(), config, []).html
    assert "On the menu" in html
    (warning,) = [
        r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "labels" in r.getMessage()
    ]
    assert (
        warning.startswith("newsletter.labels: no built-in template uses agendaa (known: ")
        and "agenda," in warning
    )
    caplog.clear()
    (tmp_path / "templates").mkdir()  # with templates of one's own, a label of one's own is fine
    own = Config(**{**config.model_dump(), "templates": "templates", "root": tmp_path})
    with caplog.at_level("WARNING", logger="digest.render"):
        render_issue(make_issue(), own, [])
    assert not [r for r in caplog.records if "newsletter.labels" in r.getMessage()]


def test_a_long_headline_wraps_under_itself_in_the_plaintext() -> None:
    # a headline's second line lines up with the summary under it, as the email shows
    # them, not at the margin where the eye reads it as a story of its own
    title = "Import AI 417: Robots that read manuals; a benchmark for scientific agents"
    long = Story("long", [_item(500, title=title, summary="A robot arm reads manuals.")], emoji="🔬")
    issue = make_issue(2, extra=[long])
    tool = issue.sections[2].stories[0]
    tool.items[0] = replace(tool.items[0], title="Tool 0, " + "a tool with a very long name " * 3)
    text = render_issue(issue, make_config(), []).text
    lines = text.splitlines()
    for first in ("🔬 Import AI 417:", "Tool 0, a tool"):
        at = next(k for k, line in enumerate(lines) if line.startswith(first))
        assert lines[at + 1].startswith("   ") and lines[at + 1].strip(), lines[at : at + 2]
    assert re.search(r"^   agents \[\d+\]$", text, re.M)


def test_the_front_takes_own_article_relayed_by_an_aggregator_is_no_other_coverage() -> None:
    issue = make_issue(1)
    story = issue.sections[0].stories[0]
    front = story.lead
    relay = replace(
        front, id="relay", url="https://news.google.example/r/1", source=f"{front.source} (via Google News)"
    )
    other = replace(
        front, id="other", url="https://bi.example/1", source="Business Insider (via Google News)"
    )
    story.items[1:1] = [relay, other]
    assert story.also[0] is other and relay not in story.also  # another outlet's take stays
    rendered = render_issue(issue, make_config(), [])
    assert "news.google.example" not in rendered.html and "news.google.example" not in rendered.text
    assert "https://bi.example/1" in rendered.html and "https://bi.example/1" in rendered.text


def test_a_forum_s_post_of_another_take_s_article_links_to_its_thread() -> None:
    # "Hacker News" under OpenAI's own post linked to openai.com a second time: the same
    # article under two names. Its thread is where the forum covers the story
    issue = make_issue(1)
    story = issue.sections[0].stories[0]
    front = story.lead
    thread, elsewhere = "https://forum.example/item?id=7", "https://elsewhere.example/a"
    post = replace(front, id="post", source="Forum", discussion=thread)
    own = replace(
        front, id="own", url=elsewhere, source="Forum 2", discussion="https://forum.example/item?id=8"
    )
    story.items[1:1] = [post, own]
    assert [(i.source, i.url) for i in story.also[:2]] == [("Forum", thread), ("Forum 2", elsewhere)]
    rendered = render_issue(issue, make_config(), [])
    assert re.search(rf'<a href="{re.escape(thread)}"[^>]*>Forum</a>', rendered.html.replace("&amp;", "&"))
    assert f"] {thread}" in rendered.text and f"] {elsewhere}" in rendered.text
    assert "id=8" not in rendered.html + rendered.text  # its own article: no second link


# What a German editor translates: every label but the dates, which the language gives.
GERMAN = {
    "view_in_browser": "Im Browser ansehen",
    "issue": "Ausgabe",
    "agenda": "Das erwartet dich heute",
    "sponsors": "Unsere Sponsoren",
    "takeaways": "Das Wichtigste auf einen Blick",
    "read_more": "Den ganzen Artikel lesen bei",
    "also_covered": "Auch berichtet von",
    "share": "Teilen",
    "archive": "Frühere Ausgaben",
    "manage": "Einstellungen",
    "unsubscribe": "Abbestellen",
    "sponsored": "Anzeige",
    "learn_more": "Mehr erfahren",
}


def test_a_german_issue_writes_its_dates_and_sponsor_in_german() -> None:
    # The header said "June 14, 2025", a quote card "Jun 14, 2025" and a sponsor
    # "Sponsored" / "Learn more" whatever newsletter.labels said.
    config = make_config(newsletter={"language": "de", "timezone": "Europe/Berlin", "labels": GERMAN})
    issue = make_issue()
    post = issue.sections[-1].stories[0]
    post.items[0] = replace(post.lead, published=datetime(2025, 6, 13, 22, 30, tzinfo=UTC))  # 00:30 in Berlin
    rendered = render_issue(issue, config, parse_notes(NOTES))
    text, page = rendered.text, unescape(re.sub(r"<[^>]+>", " ", rendered.html))
    assert text.startswith("FUTURE BLUEPRINT · 14. Juni 2025 · Ausgabe #7\n")
    assert "14. Juni 2025 · Ausgabe #7" in " ".join(page.split())
    assert "— el.cine (@EHuanglu) · 14.06.2025" in text and "· 14.06.2025 ·" in " ".join(page.split())
    assert "ANZEIGE" in text and "Mehr erfahren: [" in text and "Anzeige" in page and "Mehr erfahren" in page
    for english in ("June 14", "Jun 14", "Sponsored", "Learn more", "Issue #"):
        assert english not in text and english not in page, english


@pytest.mark.parametrize(
    ("language", "labels", "header", "card"),
    [
        ("fr", {}, "14 juin 2025 · Issue #7", "14 juin 2025"),
        ("es-MX", {}, "14 de junio de 2025 · Issue #7", "14 jun 2025"),
        ("ja", {"issue_number": "第{number}号"}, "2025年6月14日 · 第7号", "2025年6月14日"),
        ("ar", {}, "14 يونيو 2025 · Issue #7", "14 يونيو 2025"),
        ("en", {}, "June 14, 2025 · Issue #7", "Jun 14, 2025"),
        (  # any other language, through the labels
            "sv",
            {
                "date": "{day} {month} {year}",
                "short_date": "{year}-{month_number:02}-{day:02}",
                "months": "januari, februari, mars, april, maj, juni, juli, augusti, september, "
                "oktober, november, december",
            },
            "14 juni 2025 · Issue #7",
            "2025-06-14",
        ),
    ],
)
def test_dates_and_the_issue_number_are_written_as_the_language_writes_them(
    language: str, labels: dict[str, str], header: str, card: str
) -> None:
    config = make_config(newsletter={"language": language, "labels": labels})
    text = render_issue(make_issue(), config, []).text
    assert text.splitlines()[0] == f"FUTURE BLUEPRINT · {header}"
    assert f"— el.cine (@EHuanglu) · {card} [" in text


@pytest.mark.parametrize(
    ("language", "card"),
    [("de", "3. Okt. 2025"), ("ja", "3. 10月 2025"), ("zh", "3. 10月 2025"), ("ar", "3. أكتوبر 2025")],
)
def test_a_date_pattern_of_ones_own_has_the_languages_month_names(language: str, card: str) -> None:
    # a built-in language without its short names wrote "3. Oct 2025" in a German issue
    config = make_config(
        newsletter={"language": language, "labels": {"short_date": "{day}. {month_short} {year}"}}
    )
    issue = make_issue()
    post = issue.sections[-1].stories[0]
    post.items[0] = replace(post.lead, published=datetime(2025, 10, 3, 12, tzinfo=UTC))
    assert f"— el.cine (@EHuanglu) · {card} [" in render_issue(issue, config, []).text


@pytest.mark.parametrize(
    ("labels", "error"),
    [
        ({"date": "{dya}. {month} {year}"}, "date: '{dya}. {month} {year}' is no pattern of {day}, {month}"),
        ({"issue_number": "Nr. {nummer}"}, "issue_number: 'Nr. {nummer}' is no pattern of {issue}, {number}"),
        ({"months": "Jan, Feb"}, "months: the twelve month names, separated by commas"),
    ],
)
def test_a_date_label_that_cannot_be_filled_is_a_config_error(labels: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        make_config(newsletter={"labels": labels})


@pytest.mark.parametrize("title", ["どう思いますか？", "ما رأيك؟", "Was denkt ihr…"])
def test_a_notes_heading_ending_in_its_languages_stop_gets_no_colon(title: str) -> None:
    # "どう思いますか？:" and "ما رأيك؟:": a colon was added after any stop but ?!.:
    rendered = render_issue(make_issue(), make_config(), parse_notes(f"## {title}\n- x\n"))
    assert f">{title}</h3>" in rendered.html and f"\n{title}\n" in rendered.text
