"""The feeds an AI newsletter's editor reads, as their platforms really write them: what
a reader sees of each item (title, summary, text, image, link), without the boilerplate
the platform adds to every post."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from conftest import FEEDS

from digest.config import SourceConfig
from digest.dedup import dedup
from digest.models import Item
from digest.normalize import normalize
from digest.parse import parse_feed

FETCHED_AT = datetime(2025, 6, 14, 20, 0, tzinfo=UTC)
PLATFORM_FEEDS = (
    "arxiv.xml",
    "arxiv_legacy.rdf",
    "github_releases.atom",
    "google_news.xml",
    "hn.xml",
    "hnrss.xml",
    "medium.xml",
    "medium_tag.xml",
    "podcast.xml",
    "reddit.atom",
    "substack.xml",
    "title_only.xml",
    "wordpress.xml",
    "youtube.atom",
)


def items(name: str, source: str = "Source", url: str = "https://feeds.example/feed") -> list[Item]:
    entries = parse_feed((FEEDS / name).read_bytes(), source, url)
    return normalize(entries, SourceConfig(name=source, url=url), FETCHED_AT, "top-news")


def by_title(found: list[Item], start: str) -> Item:
    return next(i for i in found if i.title.startswith(start))


def test_arxiv_summary_is_the_abstract_without_id_and_announce_type() -> None:
    paper = by_title(items("arxiv.xml"), "Sparse Mixture")
    assert paper.summary.startswith("Long-context language models spend most of their compute")
    assert paper.text.startswith("Long-context language models")
    cross = by_title(items("arxiv.xml"), "On the Calibration")
    assert cross.summary.startswith("Reward models used for RLHF")
    assert paper.author == "Wei Zhang, Priya Natarajan, Tomas Berg"


def test_arxiv_legacy_title_loses_its_identifier_and_authors_their_links() -> None:
    [paper] = items("arxiv_legacy.rdf")
    assert paper.title == "Agents That Plan With World Models"
    assert paper.author == "Jiho Kim, Petra Novak"


def test_hnrss_description_is_only_its_links_and_counts() -> None:
    show, ask = sorted(items("hnrss.xml"), key=lambda i: i.title, reverse=True)
    assert show.url == "https://github.com/octo/llamafile-router"  # the article, not the thread
    assert (show.summary, show.text) == ("", "")
    # an Ask HN keeps its own text, without the counts under it
    assert ask.summary == (
        "We ship an agent that files support tickets. Offline evals look great, "
        "production is a mess. What do you actually measure?"
    )
    assert "Points" not in ask.text and "Comments URL" not in ask.text


def test_hacker_news_comments_link_is_no_summary() -> None:
    [story] = items("hn.xml")
    assert story.url == "https://www.theverge.com/news/685000/meta-scale-ai-investment-alexandr-wang"
    assert (story.summary, story.text) == ("", "")


def test_github_release_names_its_project_and_has_no_avatar_for_picture() -> None:
    [release] = items("github_releases.atom", source="vLLM")
    assert release.title == "vLLM v0.9.1"
    assert release.image is None  # the author's 30 px avatar is not the release's picture
    # the summary is the notes' first sentence of prose, not their "Highlights" heading
    assert release.summary == "This release features 274 commits from 123 contributors (27 new contributors!)"
    # a code block ends where the next heading starts
    assert "--tensor-parallel-size 2\n\nWhat's Changed" in release.text


def test_version_title_already_naming_the_project_is_kept() -> None:
    [release] = items("github_releases.atom", source="v0.9.1")
    assert release.title == "v0.9.1"


def test_substack_subscribe_box_buttons_and_footnote_numbers_go() -> None:
    [post] = items("substack.xml")
    assert post.summary.startswith("Researchers at a robotics lab have trained a robot arm")
    assert "41 of 50 flat-pack kits. The system" in post.summary  # not "kits1."
    assert "subscribe" not in post.text.lower()
    assert post.image == "https://substack-post-media.s3.amazonaws.com/public/images/7f1d5c2e-robot.png"


def test_medium_tracking_pixel_is_no_picture_and_footer_goes() -> None:
    [post] = items("medium.xml")
    assert post.image is None
    assert "medium.com/_/stat" not in post.html
    assert "originally published" not in post.text
    # the summary is the opening paragraph, not the whole post copied into it
    assert post.summary == (
        "I spent three weekends fine-tuning Mistral 7B with QLoRA on one RTX 4090. "
        "Most guides skip the parts that broke. Here is what actually worked."
    )
    assert "--lr 2e-4\n\nGradient checkpointing" in post.text  # not "2e-4Gradient"


def test_medium_teaser_loses_continue_reading() -> None:
    [post] = items("medium_tag.xml")
    assert post.summary == "Retrieval looks solved in the demo. Then real users show up with real questions."
    assert post.image == "https://cdn-images-1.medium.com/max/1024/1*Qw3rTy.png"


def test_google_news_headline_loses_publisher_and_description_repeating_it() -> None:
    single, cluster = items("google_news.xml")  # newest first
    assert cluster.title == (
        "Meta invests $14.3 billion in Scale AI, hires CEO Alexandr Wang to lead new superintelligence lab"
    )
    assert single.title == "Scale AI's Alexandr Wang joins Meta: what it means for OpenAI"
    assert (cluster.summary, single.summary) == ("", "")
    # each is shown as the outlet's take, relayed: not two takes of one outlet "Google News"
    found = items("google_news.xml", source="Google News")
    assert [i.source for i in found] == ["Business Insider (via Google News)", "The Verge (via Google News)"]


def test_publisher_suffix_stays_without_a_source_naming_it() -> None:
    body = (
        (FEEDS / "google_news.xml")
        .read_bytes()
        .replace(b"<source", b"<notsource")
        .replace(b"</source>", b"</notsource>")
    )
    entries = parse_feed(body, "Source", "https://feeds.example/feed")
    assert entries[0].title.endswith(" - The Verge")


def test_reddit_submitted_by_boilerplate_goes() -> None:
    self_post, link_post = sorted(items("reddit.atom"), key=lambda i: i.title, reverse=True)
    assert self_post.text == (
        "We release a 1.2T-token open dataset of permissively licensed code with full provenance. "
        "Paper: https://arxiv.org/abs/2506.11777\n\nHappy to answer questions!"
    )
    assert (link_post.summary, link_post.text) == ("", "")
    assert link_post.image and link_post.image.startswith("https://external-preview.redd.it/")
    # the kind-of-post tag says nothing to a newsletter's reader
    assert link_post.title == "Meta invests $14.3B in Scale AI" and self_post.title.startswith(
        "OpenCodeStack: "
    )


def test_wordpress_footer_continue_reading_and_stats_pixel_go() -> None:
    post, hiring = items("wordpress.xml")
    assert post.title == "Acme’s warehouse robots now run on a vision-language model – here’s what changed"
    assert post.summary == (
        "Our pick-and-place fleet now plans grasps with a vision-language model, cutting mis-picks "
        "by 38% across 14 warehouses. Here’s how we rolled it out without downtime …"
    )
    assert "appeared first on" not in post.text
    assert post.image == "https://acmerobotics.com/wp-content/uploads/2025/06/fleet-1024x576.jpg"
    assert hiring.image is None  # pixel.wp.com's 1x1 stats image was the only one
    assert hiring.summary.endswith("shipped models to robots …")  # "[…]" as a plain ellipsis


def test_podcast_episode_links_to_its_audio_and_shows_its_art() -> None:
    [episode] = items("podcast.xml")
    assert episode.url == "https://op3.dev/e/cdn.practicalai.example/audio/317.mp3"
    assert episode.image == "https://cdn.practicalai.example/episodes/317-art.jpg"


def test_youtube_video_thumbnail_and_description() -> None:
    [video] = items("youtube.atom")
    assert video.summary.startswith(
        '📝 The paper "Physics-Grounded World Models from Video"'
    )  # not the sponsor
    assert video.url == "https://www.youtube.com/watch?v=Xq3gE2Ah9Ck"
    assert video.image == "https://i2.ytimg.com/vi/Xq3gE2Ah9Ck/hqdefault.jpg"
    assert video.published == datetime(2025, 6, 14, 15, 0, 25, tzinfo=UTC)


def test_description_that_only_repeats_the_title_is_no_summary() -> None:
    [post] = items("title_only.xml")
    assert post.title == "Claude can now search your Google Workspace"
    assert post.summary == ""


@pytest.mark.parametrize(
    ("markup", "kept"),
    [
        # prose that mentions these words is not boilerplate
        ("<p>Read more about the model in the paper.</p>", "Read more about the model in the paper."),
        ("<p>The post office <a href='https://x.example'>closed</a>.</p>", "The post office closed."),
        ("<p>He said [...] that it works.</p>", "He said [...] that it works."),
        ('<p>See chapter <a href="#c2">2</a> for the proof</p>', "See chapter 2 for the proof"),
        # a link named so inside a sentence is the sentence's, not a link onward closing an excerpt
        (
            '<p>You can <a href="https://x.example/docs">read more</a> about the API in the docs.</p>',
            "You can read more about the API in the docs.",
        ),
        (
            '<p>Now <a href="https://x.example/rest">continue reading the guide</a> at part two.</p>',
            "Now continue reading the guide at part two.",
        ),
    ],
)
def test_prose_naming_boilerplate_words_stays(markup: str, kept: str) -> None:
    from digest.normalize import html_to_text, without_boilerplate

    assert html_to_text(without_boilerplate(markup)) == kept


@pytest.mark.parametrize(
    "opening",
    [
        '<a href="x">Continue reading ',
        ' submitted by <a href="u">/u/x',
        'w<a href="#f',
        "<img ",
        "<p>The post <a>",
    ],
)
def test_boilerplate_patterns_read_hostile_markup_once(opening: str) -> None:
    from digest.normalize import without_boilerplate

    started = time.perf_counter()
    without_boilerplate(opening * (1_000_000 // len(opening)))
    assert time.perf_counter() - started < 1.0


def test_a_description_repeating_the_title_gives_way_to_the_lead_of_the_text() -> None:
    from conftest import rss

    item = (
        "<item><title>Claude can now search your Google Workspace</title>"
        "<link>https://news.example/workspace</link>"
        "<description>Claude can now search your Google Workspace</description>"
        "<content:encoded>&lt;p&gt;Claude reads mail, calendar and docs when asked. It cites each file."
        "&lt;/p&gt;</content:encoded></item>"
    )
    body = rss(item).replace(
        b'<rss version="2.0">',
        b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
    )
    entries = parse_feed(body, "Source", "https://feeds.example/feed")
    [post] = normalize(
        entries, SourceConfig(name="Source", url="https://feeds.example/feed"), FETCHED_AT, "x"
    )
    assert post.summary == "Claude reads mail, calendar and docs when asked. It cites each file."


def test_a_small_day_of_these_feeds_keeps_two_stories_of_one_topic_apart() -> None:
    # the newsletter post on robots that read manuals and a robotics company's hiring post
    # share a beat's words ("robots", "vision-language", "models") and no name: in a day of
    # a few dozen takes those words look rare, and the pair scored above the threshold
    found = [
        item
        for path in sorted(FEEDS.iterdir())
        if path.name in PLATFORM_FEEDS
        for item in items(path.name, source=path.stem, url=f"https://feeds.example/{path.name}")
    ]
    assert 15 <= len(found) < 100
    stories = {s.lead.title: [i.title for i in s.items] for s in dedup(found)}
    assert len(stories[next(t for t in stories if "Robots that read manuals" in t)]) == 1
    meta = [titles for titles in stories.values() if any("Meta invests" in t for t in titles)]
    # one event's takes still join, by the names they share: Reddit's, Hacker News's and both
    # outlets' relayed by Google News (one aggregator, but not one outlet: see test above)
    assert len(meta) == 1 and len(meta[0]) == 4


@pytest.mark.parametrize(
    "description",
    ["Rust 1.80 released with LazyCell and new lints.", "Rust 1.80 released at last"],
)
def test_a_description_going_on_from_the_title_is_the_summary(description: str) -> None:
    from conftest import rss, rss_item

    body = rss(rss_item("Rust 1.80 released", "https://blog.example/rust-1-80", body=description))
    entries = parse_feed(body, "Source", "https://feeds.example/feed")
    [post] = normalize(
        entries, SourceConfig(name="Source", url="https://feeds.example/feed"), FETCHED_AT, "x"
    )
    assert post.summary == description


@pytest.mark.parametrize(
    "markup",
    [
        '<p>41 of 50 kits<a href="#footnote-1">1</a>.</p>',  # href first, as most generators write it
        '<p>41 of 50 kits<sup><a href="#fn1" id="fnref1">1</a></sup>.</p>',  # Pandoc, Jekyll
        '<p>41 of 50 kits<a class="footnote-anchor" href="#footnote-1">1</a>.</p>',  # Substack
    ],
)
def test_a_footnote_number_goes_whatever_its_attributes_order(markup: str) -> None:
    from digest.normalize import html_to_text, without_boilerplate

    assert html_to_text(without_boilerplate(markup)) == "41 of 50 kits."


def test_only_a_promotion_with_its_link_is_passed_over() -> None:
    from digest.normalize import _after_promotion

    ad = "Check out Lambda and sign up for their GPU Cloud: https://lambda.example/p"
    story = "Researchers trained a model on video that predicts how objects fall."
    assert _after_promotion(f"{ad}\n\n{story}") == story
    assert _after_promotion(ad) == ""  # nothing but the advertisement: no summary
    for kept in (f"{story}\n\n{ad}", "Check out the new model in the playground today.", story):
        assert _after_promotion(kept) == kept  # a story first, or a call without a link, stays


@pytest.mark.parametrize(
    "pitch",
    [
        "<p><em>Join our daily and weekly newsletters for the latest updates and exclusive content on"
        " industry-leading AI coverage.</em>"
        ' <a href="https://beat.example/newsletters">Learn More</a></p><hr>',
        '<p>Sign up for our AI newsletter to get the news every morning. <a href="https://x.example/s">Subscribe</a></p>',
    ],
)
def test_a_post_opening_on_an_invitation_to_a_newsletter_opens_on_its_story(pitch: str) -> None:
    from html import escape

    from conftest import rss, rss_item

    story = "Mistral released Magistral, its first family of reasoning models."
    more = "Magistral Small is open under the Apache 2.0 license."
    markup = escape(f"{pitch}<p>{story}</p><p>{more}</p>")
    body = rss(rss_item("Mistral launches Magistral", "https://beat.example/magistral", body=markup))
    [post] = normalize(
        parse_feed(body, "Source", "https://feeds.example/feed"),
        SourceConfig(name="Source", url="https://feeds.example/feed"),
        FETCHED_AT,
        "x",
    )
    assert post.summary == f"{story}\n\n{more}"
    assert post.text == f"{story}\n\n{more}"


def test_a_paragraph_about_newsletters_is_text() -> None:
    from digest.normalize import _after_promotion

    for kept in (
        "Substack's newsletters grew 20% this year as writers joined.",
        "Join the conversation: OpenAI's new model beats the newsletter writers at their own game.",
        "Subscribers of our newsletter asked how to run Magistral. " * 8,  # longer than a subscribe box
    ):
        assert _after_promotion(kept) == kept
