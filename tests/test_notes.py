"""The editor's notes: their Markdown parsed into blocks in the file's order, rendered in
the HTML and the plaintext (links as ``[n]``), hostile input inert, and shown on their
own in an issue without a lead story. Issues and configs come from test_render."""

from __future__ import annotations

import logging
import re
from html import unescape

import pytest
from test_render import NOTES, _block, _links, _Tags, make_config, make_issue, not_in_order

from digest.notes import KEEP_APART, SAME_STORY, inline_html, inline_text, link_groups, parse_notes
from digest.render import render_issue

MARKDOWN = """\
## What we think
First, a **bold** claim, an *italic* aside and `code`; read [the filing](https://sec.example/f?a=1&b=2).
- a dash bullet
* a star bullet
+ a plus bullet

A paragraph between the lists.

3. third
4. fourth

### A sub-heading
After the sub-heading.
"""


def _shape(text: str) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """Each block's title and its parts: kind and source of each item."""
    return [
        (block.title, [(part.kind, [str(item) for item in part.items]) for part in block.parts])
        for block in parse_notes(text)
    ]


def test_each_construct_is_a_part_in_the_files_order() -> None:
    assert _shape(MARKDOWN) == [
        (
            "What we think",
            [
                (
                    "paragraph",
                    [
                        "First, a **bold** claim, an *italic* aside and `code`; read "
                        "[the filing](https://sec.example/f?a=1&b=2)."
                    ],
                ),
                ("bullets", ["a dash bullet"]),
                ("bullets", ["a star bullet"]),
                ("bullets", ["a plus bullet"]),
                ("paragraph", ["A paragraph between the lists."]),
                ("numbered", ["third", "fourth"]),
                ("heading", ["A sub-heading"]),
                ("paragraph", ["After the sub-heading."]),
            ],
        )
    ]
    assert parse_notes(MARKDOWN)[0].parts[5].start == 3


def test_untitled_text_bare_heading_and_empty_blocks() -> None:
    text = (
        "Before any heading.\n\n##\nAfter a bare heading.\n\n## Empty\n\n"
        "## Kept\n- one\n  - nested\n\nSteps:\n1. first\n2. second\n"
    )
    assert _shape(text) == [
        ("", [("paragraph", ["Before any heading."])]),
        ("", [("paragraph", ["After a bare heading."])]),
        (
            "Kept",
            [("bullets", ["one", "nested"]), ("paragraph", ["Steps:"]), ("numbered", ["first", "second"])],
        ),
    ]
    assert parse_notes("") == [] and parse_notes("## Only a heading\n\n## Another\n") == []


def test_poll_and_intro_keep_their_roles() -> None:
    poll, intro = parse_notes("## Poll\nWhich?\n- Yes\n1. No\n\n## Intro\nHello.\n- and a point\n")
    assert poll.is_poll and [str(p) for p in poll.paragraphs] == ["Which?"]
    assert [str(b) for b in poll.bullets] == ["Yes", "No"]
    assert [str(line) for line in intro.lines] == ["Hello.", "and a point"]


def test_inline_markdown_as_html_and_text() -> None:
    source = "A **b** *i* `<c>` [l](https://x.example/?q=1&r=2) ![alt](https://x.example/i.png)"
    assert inline_html(source) == (
        "A <strong>b</strong> <em>i</em> <code>&lt;c&gt;</code> "
        '<a href="https://x.example/?q=1&amp;r=2">l</a> alt'
    )
    assert inline_text(source, ref=lambda url: f"<{url}>") == "A b i <c> l <https://x.example/?q=1&r=2> alt"
    assert inline_text(source) == "A b i <c> l alt"


@pytest.fixture(scope="module")
def noted():
    return render_issue(make_issue(), make_config(), parse_notes(MARKDOWN))


def test_every_construct_renders_in_order_in_the_html(noted) -> None:
    lead = _block(noted.html, "lead")
    landmarks = [
        '<h3 class="note-title"', "What we think:</h3>",
        "<strong", "bold</strong> claim, an <em", "italic</em> aside and <code", "code</code>; read ",
        '<a href="https://sec.example/f?a=1&amp;b=2"', "the filing</a>.</p>",
        '<ul class="bullets"', "a dash bullet</li>", "a star bullet</li>", "a plus bullet</li></ul>",
        "A paragraph between the lists.</p>",
        '<ol class="bullets" start="3"', "third</li>", "fourth</li></ol>",
        '<h4 class="note-subtitle"', "A sub-heading</h4>", "After the sub-heading.</p>",
    ]  # fmt: skip
    assert not_in_order(lead, landmarks) == []
    assert "**" not in lead and "](" not in lead and "###" not in lead
    link = next(a for a in _Tags(lead).all("a") if a["href"].startswith("https://sec.example"))
    assert "color:" in link.get("style", "")  # styled like the issue's other links


def test_every_construct_renders_in_order_in_the_text(noted) -> None:
    text = noted.text
    ref = _links(text)["https://sec.example/f?a=1&b=2"]
    landmarks = [
        "What we think:\n", "First, a bold claim, an italic aside and code; read", f"the filing {ref}.",
        "\n  - a dash bullet\n", "\n  - a star bullet\n", "\n  - a plus bullet\n",
        "\nA paragraph between the lists.\n", "\n  3. third\n  4. fourth\n",
        "\nA sub-heading\nAfter the sub-heading.\n",
    ]  # fmt: skip
    assert not_in_order(text, landmarks) == []
    notes = text.split("What we think:")[1].split("Also covered by:")[0]
    assert "**" not in notes and "`" not in notes and "https://" not in notes


def test_notes_links_are_tagged_like_the_others() -> None:
    config = make_config(theme={"utm": {"source": "fb"}})
    rendered = render_issue(make_issue(), config, parse_notes(MARKDOWN))
    assert 'href="https://sec.example/f?a=1&amp;b=2&amp;utm_source=fb"' in rendered.html
    assert "https://sec.example/f?a=1&b=2&utm_source=fb" in _links(rendered.text)


def test_hostile_notes_stay_inert(caplog: pytest.LogCaptureFixture) -> None:
    hostile = """\
## What we think
<script>alert(1)</script>
- A [bad link](javascript:alert(1)) and a [data one](data:text/html,<b>x</b>).
- <img src=x onerror="alert(1)"> and <a href="https://evil.example" onclick="x()">raw</a>
- [**bold** trick](JavaScript:alert(2)) `<b>code</b>`
"""
    with caplog.at_level(logging.WARNING, logger="digest.notes"):
        notes = parse_notes(hostile)
    assert sum("is shown as text" in r.getMessage() for r in caplog.records) == 3
    rendered = render_issue(make_issue(), make_config(), notes)
    tags = _Tags(rendered.html)
    assert not tags.all("script") and not tags.all("b")
    assert not [img for img in tags.all("img") if img.get("src") == "x"]
    assert not [a for _, attrs in tags.tags for a in attrs if a.startswith("on")]  # no event handlers
    assert not [a for a in tags.all("a") if "evil.example" in a.get("href", "")]
    lowered = rendered.html.lower()
    assert "javascript:" not in lowered and "data:text" not in lowered
    lead = unescape(_block(rendered.html, "lead"))
    for shown in (
        "<script>alert(1)</script>",
        "A bad link and a data one.",
        '<img src=x onerror="alert(1)">',
    ):
        assert shown in lead
    assert re.search(r"<strong[^>]*>bold</strong> trick <code[^>]*><b>code</b></code>", lead)  # as text
    text = rendered.text
    assert "A bad link and a data one." in text and "<script>alert(1)</script>" in text
    assert not [url for url in _links(text) if not url.startswith(("https://", "mailto:", "%%"))]


def test_intro_markdown_is_rendered_with_its_links() -> None:
    notes = parse_notes("## Intro\nA **word** from [the editor](https://ed.example/).\n")
    rendered = render_issue(make_issue(), make_config(), notes)
    header = _block(rendered.html, "header")
    assert re.search(
        r'A <strong[^>]*>word</strong> from <a href="https://ed.example/"[^>]*>the editor</a>', header
    )
    assert "A word from the editor [1]." in rendered.text
    assert _links(rendered.text)["https://ed.example/"] == "[1]"


def test_poll_question_is_markdown_and_answers_are_bare_text() -> None:
    notes = parse_notes("## Poll\nIs **this** [good](https://q.example/)?\n- **Yes**\n- *No*\n")
    rendered = render_issue(make_issue(), make_config(), notes)
    assert re.search(
        r'<p class="box-title"[^>]*>Is <strong[^>]*>this</strong> <a href="https://q.example/"', rendered.html
    )
    answers = re.findall(r'<a class="answer"[^>]*href="([^"]+)"[^>]*>([^<]*)</a>', rendered.html)
    assert answers == [
        ("mailto:editor@futureblueprint.example.com?subject=Poll%3A%20Yes", "Yes"),
        ("mailto:editor@futureblueprint.example.com?subject=Poll%3A%20No", "No"),
    ]
    assert f"Is this good {_links(rendered.text)['https://q.example/']}?" in rendered.text
    assert "\n  - Yes [" in rendered.text and "**" not in rendered.text


def test_notes_without_a_lead_story_are_a_block_of_their_own() -> None:
    issue = make_issue(lead=False)
    rendered = render_issue(issue, make_config(), parse_notes(NOTES))
    landmarks = ["AI in the wild", "What we think:", "doesn't make headlines", "roads and power lines",
                 "What you can do right now:", "open-source options", "Should AI tools be open"]  # fmt: skip
    block = _block(rendered.html, "notes")
    assert not_in_order(unescape(block), landmarks[1:]) == []
    assert not_in_order(unescape(rendered.html), [*landmarks, "That's all for today"]) == []
    assert "subject=Poll%3A%20Yes%2C%20open" in block
    text_landmarks = ["AI IN THE WILD", *landmarks[1:], "  - Yes, open [", "That's all for today"]
    assert not_in_order(rendered.text, text_landmarks) == []
    # with a lead story they are under it, once
    with_lead = render_issue(make_issue(), make_config(), parse_notes(NOTES))
    assert "block-notes" not in with_lead.html and with_lead.html.count("What we think") == 1
    assert with_lead.text.count("What we think") == 1
    assert "What we think" in _block(with_lead.html, "lead")


def test_no_notes_and_no_lead_leave_no_block() -> None:
    rendered = render_issue(make_issue(lead=False), make_config(), [])
    assert "block-notes" not in rendered.html
    # the three sections' banners only, beside the sponsor's opening rule and the closing's
    assert rendered.text.count("-" * 72 + "\n") == 2 * 3 + 1 + 2
    only_intro = render_issue(make_issue(lead=False), make_config(), parse_notes("## Intro\nHi.\n"))
    assert "block-notes" not in only_intro.html and "Hi." in only_intro.html


def test_keep_apart_and_same_story_list_links_for_dedup_and_are_not_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notes = parse_notes(
        "## What we think\nSee [the filing](https://sec.example/f).\n\n"
        "## Keep  apart\n"
        "- [Clipwise launches](https://a.example/clip) and https://b.example/clip?id=1.\n"
        "- <https://c.example/spot>\n"
        "- the one about chips\n\n"
        "https://d.example/x, https://d.example/x\n\n"
        "## Same story\n"
        "- https://e.example/1 https://f.example/2\n"
        "- https://g.example/alone\n"
    )
    assert [block.is_directive for block in notes] == [False, True, True]
    with caplog.at_level(logging.WARNING, logger="digest.notes"):
        apart, together = link_groups(notes, KEEP_APART), link_groups(notes, SAME_STORY)
    assert apart == [
        ["https://a.example/clip", "https://b.example/clip?id=1"],
        ["https://c.example/spot"],
        ["https://d.example/x"],
    ]
    assert together == [["https://e.example/1", "https://f.example/2"]]
    assert [r.getMessage() for r in caplog.records] == [
        "a line under 'Keep apart' in the notes names no link: the one about chips",
        "a line under 'Same story' in the notes names one link only, and joins nothing: https://g.example/alone",
    ]
    rendered = render_issue(make_issue(), make_config(), notes)
    assert "the filing" in rendered.html and "What we think" in rendered.text
    for shown in (rendered.html, rendered.text):
        for hidden in ("Keep", "Same story", "a.example", "Clipwise", "https://e.example"):
            assert hidden not in shown


def test_a_dedup_heading_is_known_by_its_words_and_a_near_miss_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for heading in ("## Keep apart:", "### Keep apart", "## Keep-apart", "# KEEP APART.", "## *Same story*",
                    "## Lead story", "### Lead:", "## Leave-out"):  # fmt: skip
        [block] = parse_notes(f"{heading}\n- https://a.example/x https://b.example/y\n")
        assert block.is_directive, heading
    shown = shown_with_a_warning(
        caplog,
        "## Keep apart (dedup)\n- https://a.example/x\n\n## Same stories\n- https://b.example/y\n\n"
        "## What we think\nKeep apart\n\n- https://c.example/z\n",
    )
    assert shown == ["Keep apart (dedup)", "Same stories", "Keep apart"]
    caplog.clear()
    parse_notes("## What we think\nWe keep apart what is different, and the same story once.\n")
    assert caplog.records == []  # a sentence using the words is no near miss


def test_links_under_keep_apart_one_a_line_and_before_quotes_or_an_ellipsis() -> None:
    notes = parse_notes(
        "## Keep apart\nhttps://a.example/x\nhttps://b.example/y\u2026\n\n"
        "- \u201chttps://c.example/z\u201d and https://d.example/w\u2019\n\n"
        "## Same story\nhttps://e.example/1\nhttps://f.example/2\n"
    )
    assert link_groups(notes, KEEP_APART) == [
        ["https://a.example/x"],
        ["https://b.example/y"],
        ["https://c.example/z", "https://d.example/w"],
    ]
    assert link_groups(notes, SAME_STORY) == [["https://e.example/1", "https://f.example/2"]]


def test_near_misses_of_lead_and_leave_out_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    shown = shown_with_a_warning(
        caplog,
        "## Lead (today)\n- https://a.example/x\n\n## Leads\nx\n\n## Leaving out\nx\n\n"
        "## What we think\nLead: https://a.example/x\n\n## Leadership lessons\nx\n",
    )
    assert shown == ["Lead (today)", "Leads", "Leaving out", "Lead: https://a.example/x"]


def shown_with_a_warning(caplog: pytest.LogCaptureFixture, notes: str) -> list[str]:
    """The headings and lines of ``notes`` that look meant as directives: none is one,
    and each is named in a warning that it is shown to readers."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="digest.notes"):
        assert not any(block.is_directive for block in parse_notes(notes))
    assert all("is shown to readers" in r.getMessage() for r in caplog.records)
    return [r.getMessage().split("'")[1] for r in caplog.records]


def test_a_directive_under_a_sub_heading_hides_only_its_own_lines() -> None:
    notes = parse_notes(
        "## What we think\n- first thought\n\n### Keep apart\n- https://a.example/x\n\n"
        "### Our second point\n- still shown\n\n### Lead story\nhttps://b.example/y\n\n"
        "### Why it matters\nAlso shown.\n\n## Poll\nWhich?\n- Yes\n"
    )
    assert [(block.title, block.is_directive) for block in notes] == [
        ("What we think", False), ("Keep apart", True), ("Lead story", True), ("Poll", False)
    ]  # fmt: skip
    thought = notes[0]
    assert [(part.kind, [str(i) for i in part.items]) for part in thought.parts] == [
        ("bullets", ["first thought"]),
        ("heading", ["Our second point"]),
        ("bullets", ["still shown"]),
        ("heading", ["Why it matters"]),
        ("paragraph", ["Also shown."]),
    ]
    assert link_groups(notes, KEEP_APART) == [["https://a.example/x"]]
    rendered = render_issue(make_issue(), make_config(), notes)
    for shown in (rendered.html, rendered.text):
        assert "still shown" in shown and "Also shown." in shown and "a.example" not in shown
