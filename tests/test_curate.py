"""Curation: sections, the lead story with its body and takeaways, emoji by topic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from test_takeaways import meta_story

from digest.config import Config
from digest.curate import FALLBACK_EMOJI, curate, emoji_for, lead_paragraphs
from digest.models import Item, Stats, Story
from digest.render import render_issue

DAY = date(2025, 6, 14)
NOON = datetime(2025, 6, 14, 12, tzinfo=UTC)


def config(**extra: object) -> Config:
    sections = [
        {"id": "top-news", "title": "Top AI news"},
        {"id": "tools", "title": "Tools", "style": "cards", "max_stories": 2},
    ]
    return Config(
        **{
            "newsletter": {"name": "Future Blueprint"},
            "sources": [{"name": "x", "url": "https://x.example/feed"}],
            "sections": sections,
            **extra,
        }
    )


def single(n: int, title: str, section: str = "top-news", hours: int = 1) -> Story:
    item = Item(f"i{n}", title, f"https://e.example/{n}", "E", NOON - timedelta(hours=hours), section=section)
    return Story(f"s{n}", [item])


def test_emoji_by_topic_with_config_rules_first() -> None:
    assert emoji_for("RSM Bets $1B on AI Agents", {}) == "💰"
    assert emoji_for("UK Pushes AI Skills for Students", {}) == "🎓"
    assert emoji_for("AI Helps Radiologists Work Faster", {}) == "🩻"
    assert emoji_for("Something else entirely", {}) == FALLBACK_EMOJI
    assert emoji_for("UK Pushes AI Skills for Students", {"uk": "🇬🇧"}) == "🇬🇧"


# a day of AI news got the fallback for 93 of 220 headlines: such topics, and whole words
# only ("round", "office": a roundup raises nothing, an officer opens no office)
@pytest.mark.parametrize(
    ("headline", "emoji"),
    [
        ("Mistral bags $700M to build out European AI compute", "💰"),
        ("Irish regulator fines Musk's X €90m over Grok", "⚖️"),
        ("OpenAI, Microsoft Must Face NYT Suit, Judge Rules", "⚖️"),
        ("ChatGPT is down", "🚨"),
        ("Introducing o5", "🚀"),
        ("Anthropic's Claude can now take over your Chrome browser", "💬"),
        ("Teens Are Falling for AI Chatbots. Their Parents Have No Idea", "👪"),
        ("OpenAI, Oracle pick Michigan for Stargate data center", "🏗️"),
        ("Anthropic Finalizes Mega-Round as Revenue Surges", "💰"),
        ("Nvidia's $6.5bn optics deal faces EU competition probe", "⚖️"),
        ("Segmentation for Laparoscopic Surgical Video", "🩺"),
        ("Weekly roundup of papers", FALLBACK_EMOJI),
        ("Chief officer named", FALLBACK_EMOJI),
        # more of three days' fallbacks: a suit, a purchase, results, robotaxis, biology, gadgets
        ("Hundreds of German publishers are suing OpenAI", "⚖️"),
        ("Meta's Book-Torrenting Fight Is Headed to Trial", "⚖️"),
        ("OpenAI Agrees to Buy Coding Startup Loomwright", "🤝"),
        ("Hugging Face buys robotics startup Kinema", "🤝"),
        ("TSMC Revenue Climbs 41% as AI Spending Boom Shows No Letup", "📈"),
        ("Driverless Waymo cars begin picking up passengers in the nation's capital", "🚗"),
        ("AlphaFold 4 predicts how proteins move", "🧬"),
        ("Meta Ray-Ban Display glasses get live translation in 12 more languages", "👓"),
        ("Buy for Me now lets Rufus shop from any brand's site", "🛒"),  # a feature's name, no purchase
        ("4 new ways to edit with AI in Google Photos", "📷"),
        ("Muon at Scale: Optimizer Stability in 400B-Parameter Pretraining", "🧠"),
        ("A shopkeeper's tale", FALLBACK_EMOJI),  # a whole word: no shop
        # what those rules must not catch
        ("UK to trial AI tutors in schools", "🎓"),
        ("Is now the time to buy Nvidia stock?", "🔌"),
        ("OpenAI completes for-profit restructuring", FALLBACK_EMOJI),
        ("Photoshop gets a new generative fill", FALLBACK_EMOJI),
        ("Decoding the Fed's AI plans", FALLBACK_EMOJI),
    ],
)
def test_emoji_for_the_topics_of_a_day_of_ai_news(headline: str, emoji: str) -> None:
    assert emoji_for(headline, {}) == emoji


def test_lead_paragraphs_skip_headings_and_calls_to_action() -> None:
    item = meta_story().items[1]  # has a "What Is Scale AI?" heading and "Imagine ..." filler
    body = lead_paragraphs(item, most=3)
    assert 1 <= len(body) <= 3
    assert all("What Is Scale AI?" not in p and "Imagine" not in p for p in body)
    assert sum(len(p.split()) for p in body) <= 260
    assert lead_paragraphs(Item("e", "T", "https://e.example", "E", summary="Only a summary.")) == [
        "Only a summary."
    ]


def test_curate_builds_lead_with_body_takeaways_and_emoji() -> None:
    lead = meta_story()
    when, summary = NOON - timedelta(hours=2), "Meta bets on Scale AI. More."
    lead.items = [
        Item(i.id, i.title, i.url, i.source, when, summary=summary, text=i.text, section="top-news")
        for i in lead.items
    ]
    stories = [
        lead,
        single(1, "RSM Bets $1B on AI Agents"),
        single(2, "Cursor", "tools"),
        single(3, "Old", hours=80),
    ]
    issue = curate(stories, config(curate={"emoji": {"cursor": "🖱️"}}), DAY, 7, Stats())
    assert [s.style for s in issue.sections] == ["list", "lead", "cards"]
    assert (
        issue.lead is lead and issue.title == lead.lead.title and issue.subtitle == "Meta bets on Scale AI."
    )
    assert 3 <= len(lead.takeaways) <= 5 and lead.body
    assert issue.sections[0].stories[0].emoji == "💰"
    assert issue.sections[2].stories[0].emoji == "🖱️"
    assert "Old" not in [s.lead.title for s in issue.stories]
    assert issue.stats.stories == 3


def take(n: int, title: str, when: datetime, source: str = "E", section: str = "top-news") -> Item:
    return Item(f"i{n}", title, f"https://{source.lower()}.example/{n}", source, when, section=section)


def test_a_story_covered_today_stays_in_however_old_its_first_take() -> None:
    # Outlet A's take is from Thursday evening, past the two-day lookback; B and C wrote today
    covered = Story(
        "nvidia",
        [
            take(
                1, "Nvidia to unveil Blackwell Ultra at Computex", datetime(2025, 6, 12, 20, tzinfo=UTC), "A"
            ),
            take(2, "Nvidia unveils Blackwell Ultra at Computex", NOON - timedelta(hours=4), "B"),
            take(3, "Nvidia's Blackwell Ultra doubles training speed", NOON - timedelta(hours=3), "C"),
        ],
    )
    stale = Story(
        "stale", [take(4, "Thursday news about bananas", datetime(2025, 6, 12, 20, tzinfo=UTC), "A")]
    )
    stats = Stats()
    issue = curate([covered, single(5, "Other news about tractors"), stale], config(), DAY, 1, stats)
    assert issue.lead is covered and len(covered.items) == 3
    assert [s.id for s in issue.stories] == ["s5", "nvidia"]
    assert stats.stories == 2 and stats.stories_too_old == 1 and stats.stories_too_new == 0


def test_stories_left_out_are_counted_by_reason() -> None:
    capped = config(sections=[{"id": "top-news", "title": "Top", "max_stories": 2}])
    stories = [single(n, f"Story {n}", hours=n) for n in range(1, 6)]  # the lead and 2 shown: 2 over
    stories.append(single(6, "Last week", hours=24 * 7))
    stories.append(single(7, "Tomorrow", hours=-24))  # an issue built for an earlier day
    stats = Stats()
    issue = curate(stories, capped, DAY, 1, stats)
    assert issue.lead is stories[0] and [s.id for s in issue.sections[0].stories] == ["s2", "s3"]
    counts = (stats.stories, stats.stories_over_cap, stats.stories_too_old, stats.stories_too_new)
    assert counts == (3, 2, 1, 1) and stats.stories_left_out == 4


def test_a_story_many_outlets_covered_outranks_fewer_takes_of_heavier_sources() -> None:
    # only the front take's weight counted: two wires' takes (weight 2) outranked a launch
    # five outlets covered that morning, and the section's cap left the launch out
    capped = config(sections=[{"id": "top-news", "title": "Top", "max_stories": 1}])
    big = Story("big", [take(n, f"Big story, take {n}", NOON, f"Outlet{n}") for n in range(1, 9)])
    pair = Story("pair", [replace(take(n, f"Wire pair {n}", NOON, f"W{n}"), weight=2.0) for n in (9, 10)])
    morning = NOON - timedelta(hours=6)
    launch = Story("launch", [take(n, f"Model launch, take {n}", morning, f"Blog{n}") for n in range(11, 16)])
    issue = curate([pair, launch, big], capped, DAY, 1, Stats())
    assert issue.lead is big and [s.id for s in issue.sections[0].stories] == ["launch"]


def test_the_editor_s_lead_comes_first_even_from_a_card_or_past_the_lookback() -> None:
    stories = [single(n, f"Story {n}", hours=n) for n in range(1, 4)]
    card = single(4, "A tool for tractors", "tools")
    old = single(5, "Last week's big story", hours=24 * 7)
    tomorrow = single(6, "Tomorrow's story", hours=-24)  # an issue built for an earlier day
    for chosen in (card, old):
        stats = Stats()
        issue = curate([*stories, card, old, tomorrow], config(), DAY, 1, stats, lead=chosen.id)
        assert issue.lead is chosen and issue.title == chosen.lead.title
        listed = [s for section in issue.sections if section.style != "lead" for s in section.stories]
        assert chosen not in listed
        assert stats.stories + stats.stories_left_out == 6 and stats.stories_too_new == 1
    issue = curate([*stories, card, old, tomorrow], config(), DAY, 1, Stats(), lead=tomorrow.id)
    assert issue.lead is stories[0]  # a story dated after the issue's day does not lead it


LEAD_SECTION = [
    {"id": "featured", "title": "Featured", "style": "lead"},
    {"id": "top-news", "title": "Top AI news"},
]


def test_the_lead_comes_from_the_sources_routed_to_the_lead_section() -> None:
    featured = single(1, "Robots in Tokyo factories", "featured", hours=20)
    also_featured = single(2, "Robots in Osaka warehouses", "featured", hours=22)
    stories = [
        featured,
        also_featured,
        single(3, "Fresher list story", hours=1),
        single(4, "Another", hours=2),
    ]
    stats = Stats()
    issue = curate(stories, config(sections=LEAD_SECTION), DAY, 1, stats)
    assert issue.lead is featured and issue.title == "Robots in Tokyo factories"
    assert [(s.id, s.style) for s in issue.sections] == [("featured", "lead"), ("top-news", "list")]
    # the lead section shows one story: its source's others join the first list section, by rank
    assert [s.id for s in issue.sections[1].stories] == ["s3", "s4", "s2"]
    assert stats.stories == 4 and stats.stories_left_out == 0


def test_a_lead_section_first_takes_the_sources_without_a_section() -> None:
    # sources without ``section`` go to the first section: here the lead one
    stories = [single(n, f"Story {n}", "featured", hours=n) for n in range(1, 4)]
    issue = curate(stories, config(sections=LEAD_SECTION), DAY, 1, Stats())
    assert issue.lead is stories[0]
    assert [s.id for s in issue.sections[1].stories] == ["s2", "s3"]


@pytest.mark.parametrize("more", ["", " Rivals are expected to follow within weeks, analysts said."])
def test_the_lead_s_opening_sentence_is_shown_once_under_the_title_or_in_its_body(more: str) -> None:
    # a lead whose text is its one sentence showed it under the title and again as its body
    said = "Regulators cleared the $2 billion chip merger on Friday after a long review."
    item = Item("i1", "Chip merger cleared", "https://e.example/1", "E", NOON, said, said + more)
    issue = curate([Story("s1", [replace(item, section="top-news")])], config(), DAY, 1, Stats())
    text = render_issue(issue, config(), []).text
    assert " ".join(text.split()).count(said) == 1 and issue.subtitle == said  # the inbox preview keeps it
    assert issue.show_subtitle == bool(more)
    assert issue.lead is not None and issue.lead.body == ([more.strip()] if more else [said])


def lead_with_summary(summary: str) -> Story:
    item = Item("i1", "Headline", "https://e.example/1", "E", NOON, summary=summary, section="top-news")
    return Story("s1", [item])


@pytest.mark.parametrize(
    "summary, subtitle",
    [
        (
            "U.S. regulators approved the $2 billion merger on Friday. The deal closes next week.",
            "U.S. regulators approved the $2 billion merger on Friday.",
        ),
        ("The U.S. Army bought 500 drones. More follow.", "The U.S. Army bought 500 drones."),
        ("Dr. Lee said the trial worked. Others disagree.", "Dr. Lee said the trial worked."),
        ("Agents, e.g. Cursor, got faster. More soon.", "Agents, e.g. Cursor, got faster."),
        ("Acme is No. 5 in the ranking. It wants No. 1 by 2027.", "Acme is No. 5 in the ranking."),
        ("Meta bets on Scale AI. Talks go on.", "Meta bets on Scale AI."),
        ("Is it over? Not yet.", "Is it over?"),
        ("A summary with no full stop", "A summary with no full stop"),
    ],
)
def test_the_subtitle_is_the_lead_summarys_first_sentence(summary: str, subtitle: str) -> None:
    issue = curate([lead_with_summary(summary)], config(), DAY, 1, Stats())
    assert issue.subtitle == subtitle


def test_lead_body_keeps_questions_in_the_middle_of_prose() -> None:
    text = (
        "Subscribe to our newsletter. Acme Robotics agreed on Friday to acquire Widget Corp for "
        "$2 billion in cash, the largest warehouse robotics deal this year. Why does that matter? "
        "Because Widget makes the forklifts that half of American retailers rely on. Read more here.\n\n"
        "What Is Widget Corp?\n\n"
        "Why does it matter to shoppers? Widget's forklifts move most of the goods that big "
        "retailers in the United States sell online every single day.\n\n"
        "Widget Corp shareholders will receive $45 a share, a premium of 30 percent over Thursday's "
        "closing price. Click here to sign up!"
    )
    body = lead_paragraphs(Item("a", "Acme to buy Widget", "https://a.example/1", "A", text=text))
    assert body == [
        "Acme Robotics agreed on Friday to acquire Widget Corp for $2 billion in cash, the largest "
        "warehouse robotics deal this year. Why does that matter? Because Widget makes the forklifts "
        "that half of American retailers rely on.",
        "Why does it matter to shoppers? Widget's forklifts move most of the goods that big retailers "
        "in the United States sell online every single day.",
        "Widget Corp shareholders will receive $45 a share, a premium of 30 percent over Thursday's "
        "closing price.",
    ]


def test_emoji_of_a_fine_or_an_investigation_is_the_law_not_money() -> None:
    assert emoji_for("EU fines Vexa €220 million over scraped training data", {}) == "⚖️"
    assert emoji_for("Vexa hit with €220 million GDPR fine", {}) == "⚖️"
    assert emoji_for("FTC opens investigation into Nimbus AI's data practices", {}) == "⚖️"
    assert emoji_for("Harbor Peak invests $2 billion in data centers", {}) == "💰"
    assert emoji_for("New method halves the memory needed to fine-tune models", {}) == "🧠"
    assert emoji_for("The finest AI apps of the year", {}) == FALLBACK_EMOJI


def test_lead_paragraphs_leave_out_a_blog_platform_footer() -> None:
    text = (
        "Nimbus AI has released Orion 2, a reasoning model.\n\n"
        "The post Orion 2 is out appeared first on AI Daily Brief."
    )
    body = lead_paragraphs(Item("e", "T", "https://e.example", "E", text=text))
    assert body == ["Nimbus AI has released Orion 2, a reasoning model."]


def test_takeaways_do_not_repeat_a_sentence_of_the_lead_body() -> None:
    closed = (
        "Nimbus AI closed a $6 billion funding round at a $90 billion valuation, led by Harbor Peak Capital."
    )
    talks = (
        "Nimbus AI is in talks with investors to raise new funding at a $90 billion valuation, "
        "people familiar with the matter said."
    )
    chips = "Nimbus AI will spend most of the money on 400,000 Nvidia chips for a data center in Texas."
    items = [
        Item("w", "Nimbus AI raises $6 billion", "https://w.example/1", "Wire", NOON, closed, closed),
        Item("u", "Nimbus AI in talks to raise", "https://u.example/1", "Ledger", NOON, talks, talks),
        Item("c", "Nimbus AI's $6 billion buys chips", "https://c.example/1", "Chips", NOON, chips, chips),
    ]
    issue = curate([Story("nimbus", items)], config(), DAY, 1, Stats())
    lead = issue.lead
    assert lead is not None and lead.body == [closed]
    # neither the body's sentence nor the talks before it, told in other words: the new fact
    assert [t.text for t in lead.takeaways] == [chips]


def test_research_words_near_the_law_keywords_are_not_the_law() -> None:
    for headline in (
        "Mistral opens fine tuning to all developers",
        "Researchers investigate why chatbots hallucinate",
        "Startup raises $20M to probe dark matter",
    ):
        assert emoji_for(headline, {}) != "⚖️", headline
    assert emoji_for("FTC opens investigation into AI chatbot ads", {}) == "⚖️"


@pytest.mark.parametrize(
    ("headline", "emoji"),
    [
        ("Scaling Laws for Sparse Autoencoders", FALLBACK_EMOJI),  # machine learning's laws
        ("The weights are open; the license fine print is not", FALLBACK_EMOJI),  # no fine
        ("OpenAI's Applied Research Chief Is Leaving", "💼"),  # a departure, not research
        ("Meta hires OpenAI researcher to lead its lab", "💼"),
        ("New AI law passes the Senate", "⚖️"),
        ("EU fines Apple $500 million", "⚖️"),
    ],
)
def test_an_emoji_tells_what_happened_not_a_word_in_passing(headline: str, emoji: str) -> None:
    assert emoji_for(headline, {}) == emoji


def test_a_job_post_an_event_a_sponsors_post_or_a_patch_release_ranks_after_the_news() -> None:
    # the notices are the day's freshest posts; the news is hours older
    notices = [
        single(1, "We’re hiring: robotics ML engineers", hours=1),
        single(2, "Webinar: Building reliable RAG pipelines (June 24)", hours=1),
        single(3, "Sponsored: Cut your GPU bill in half with SpotCompute", hours=1),
        single(4, "vLLM v0.9.1", hours=1),
    ]
    live = Item(
        "i7", "Building agents that last", "https://e.example/7", "E", NOON, summary="Join us. Register now."
    )
    notices.append(Story("s7", [live]))
    news = [single(5, "OpenAI releases o3-pro", hours=9), single(6, "Mistral launches Magistral", hours=10)]
    issue = curate([*notices, *news], config(), DAY, 1, Stats())
    assert issue.lead is news[0]
    assert [s.id for s in issue.sections[0].stories] == ["s6", "s7", "s1", "s2", "s3", "s4"]
    capped = config(sections=[{"id": "top-news", "title": "Top", "max_stories": 2}])
    stats = Stats()
    issue = curate([*notices, *news], capped, DAY, 1, stats)
    assert [s.id for s in issue.sections[0].stories] == ["s6", "s7"] and stats.stories_over_cap == 4


@pytest.mark.parametrize(
    "title",
    [
        "OpenAI is hiring a head of preparedness",
        "State-sponsored hackers use AI to write phishing mail",
        "Zoom's new webinar tool writes the recap for you",
        "vLLM v0.9.0 brings a new scheduler",
        "LLM 0.27 adds tool support for every plugin model",
        "Llama 3.1 405B is here",
    ],
)
def test_news_about_hiring_sponsors_or_releases_is_news(title: str) -> None:
    story, older = single(1, title, hours=1), single(2, "Older news", hours=9)
    assert curate([older, story], config(), DAY, 1, Stats()).lead is story


def test_the_law_keywords_are_whole_words_not_the_start_of_others() -> None:
    # the start of words in English and, more often, in other languages' headlines
    for headline in (
        "Lawinengefahr in den Alpen steigt",
        "Sueños de silicio: la IA llega a las aulas",
        "Suelo fértil para las startups de IA",
        "Lawrence Livermore lab turns on a new supercomputer",
        "Suez Canal traffic is routed by a new model",
    ):
        assert emoji_for(headline, {}) != "⚖️", headline
    for headline in (
        "Authors sue Nimbus AI over training data",
        "Nimbus AI sued by authors",
        "Colorado passes AI law",
        "Lawmakers question AI chatbots",
        "Lawyers fined for AI-made citations",
        "Nimbus AI hit with lawsuit",
    ):
        assert emoji_for(headline, {}) == "⚖️", headline
