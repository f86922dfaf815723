"""Takeaways at a glance: short, factual, distinct bullets that several takes agree on.

The takes are excerpts of the five outlets' takes on the sample's lead story (the
seeds of the demo newsletter), trimmed to their first paragraphs.
"""

from __future__ import annotations

import re

import pytest

from digest.models import Item, Story
from digest.takeaways import is_boilerplate, shorten, split_sentences, takeaways

TAKES = {
    "Future Blueprint": """\
Meta is making one of its biggest bets yet on the future of AI. It is in talks to sign a deal \
worth billions with a company called Scale AI, which specializes in preparing the enormous piles \
of data that AI systems need to learn.

As Bloomberg reports, Scale AI will label and organize data across things like language, code, \
and images so Meta can use it to train its LLaMA AI models, the open-source alternative to \
systems like ChatGPT. It's a behind-the-scenes deal, but a huge one.

If you're curious about using AI tools, keep an eye on Meta's open-source options!""",
    "Medium": """\
Meta's at it again, and this time they're not just playing, they're diving in, headfirst, wallet \
open. Word on the street is that Zuckerberg's empire is eyeing a $10 billion+ deal with Scale \
AI.

What Is Scale AI?

Imagine an AI gym trainer who feeds your models clean, high-quality protein, aka data. Founded \
in 2016 by Alexandr Wang, Scale AI specializes in data labeling, model validation, and synthetic \
data.

Wang worked with OpenAI, Meta, Microsoft, Amazon, and even the U.S. Department of Defense.""",
    "Benzinga": """\
Meta is reportedly preparing to invest more than $10 billion in Scale AI, a startup providing \
high-quality labeled data to companies building next-generation AI models, including OpenAI and \
Microsoft. If finalized, the deal would rank among the largest private funding rounds in tech \
history, Bloomberg reports.

Scale AI plays a pivotal role in the artificial intelligence supply chain by powering data \
pipelines used to train large language models like ChatGPT and Meta's Llama. Meta's potential \
investment builds on its prior participation in Scale's $1 billion Series F round in 2024, which \
valued the firm at $18 billion.

Scale AI expects to generate $2 billion in revenue this year, more than doubling the $870 \
million earned last year.""",
    "LinkedIn": """\
Today, Meta Platforms is reportedly in talks to invest over $10 billion into Scale AI, one of \
the world's leading AI-data startups. If finalized, this would be one of the largest private \
tech investments ever.

Why This Matters
- The Data Kingpin
Scale AI specializes in annotating and structuring massive datasets, images, text, and more, \
that power large language models like LLaMA. They've already worked with Meta, Microsoft, and \
OpenAI.
- Smarter engagement tools: Imagine ads that not only reach the right people, but truly \
understand you.""",
    "OpenTools": """\
In a landmark move, Meta Platforms is rumored to be negotiating a staggering $10 billion \
investment in AI startup Scale AI, aiming to bolster its data labeling and AI infrastructure \
capabilities. This could mark one of the largest private funding rounds ever.

Learn to use AI like a Pro
Get the latest AI workflows to boost your productivity, delivered weekly. Subscribe to our \
newsletter now.

Scale AI, renowned for its data labeling and AI infrastructure solutions, represents an \
appealing opportunity for Meta. More details about this development can be found in this \
Bloomberg report.""",
}


def meta_story() -> Story:
    title = "Meta to spend billions on data deal"
    items = [
        Item(f"t{n}", title, f"https://{source.lower().replace(' ', '')}.example/meta", source, text=text)
        for n, (source, text) in enumerate(TAKES.items())
    ]
    return Story("meta", items)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def test_three_to_five_short_bullets_each_linked_to_a_take() -> None:
    story = meta_story()
    bullets = takeaways(story)
    assert 3 <= len(bullets) <= 5
    urls = {i.url: i.source for i in story.items}
    for bullet in bullets:
        assert urls[bullet.url] == bullet.source
        assert len(bullet.text.split()) <= 30, bullet.text
        assert bullet.text[0].isupper() and bullet.text.endswith(".")


def test_bullets_are_facts_several_takes_agree_on() -> None:
    bullets = takeaways(meta_story())
    texts = " ".join(b.text for b in bullets)
    assert "$10 billion" in texts  # the deal, which four takes report
    assert re.search(r"label|annotat", texts)  # what Scale AI does, which every take says
    for bullet in bullets:
        assert not is_boilerplate(bullet.text), bullet.text
        assert not re.search(r"\b(you|your|I|we|imagine|subscribe)\b", bullet.text, re.I), bullet.text


def test_bullets_are_distinct() -> None:
    bullets = takeaways(meta_story())
    for a in bullets:
        for b in bullets:
            if a is not b:
                words_a, words_b = _words(a.text), _words(b.text)
                assert len(words_a & words_b) / len(words_a | words_b) < 0.35, (a.text, b.text)
    assert sum("$10 billion" in b.text for b in bullets) == 1


def test_same_takes_same_bullets() -> None:
    assert takeaways(meta_story()) == takeaways(meta_story())


def test_single_take_and_empty_story() -> None:
    one = Story("one", [meta_story().items[2]])
    bullets = takeaways(one, most=3)
    assert 1 <= len(bullets) <= 3
    assert takeaways(Story("empty", [Item("e", "Just a title", "https://e.example", "E")])) == []


def test_shorten_drops_filler_and_attribution() -> None:
    assert shorten("Today, Meta is in talks to invest, Bloomberg reports.") == "Meta is in talks to invest."
    assert shorten("According to Investor's Business Daily, the round valued Scale at $18 billion.") == (
        "The round valued Scale at $18 billion."
    )
    long = "Meta Platforms is reportedly in talks to invest over $10 billion into Scale AI, one of the world's leading AI-data startups."  # noqa: E501
    assert shorten(long) == "Meta Platforms is reportedly in talks to invest over $10 billion into Scale AI."


def test_split_sentences_keeps_abbreviations() -> None:
    sentences = [s for _, s in split_sentences("He worked with the U.S. Department of Defense. Then more.")]
    assert sentences == ["He worked with the U.S. Department of Defense.", "Then more."]


def _story(*texts: str) -> Story:
    return Story(
        "s",
        [
            Item(id=f"t{k}", title="Harbor City opens a tidal power plant", url=f"https://o{k}.example/a",
                 source=f"Outlet {k}", text=text)
            for k, text in enumerate(texts)
        ],
    )  # fmt: skip


def test_guesses_and_back_references_do_not_become_bullets() -> None:
    facts = (
        "Harbor City opened a 40 megawatt tidal power plant on Tuesday in its northern bay. "
        "The plant cost 300 million euros and powers 60,000 homes, the city said. "
        "Construction took three years and employed 400 workers from the Algarve region. "
        "Backers say that plan could reshape coastal energy across Portugal and Spain. "
        "Building turbines in Lisbon backs up that strategy for the whole region."
    )
    again = (
        "The northern bay of Harbor City now hosts a tidal power plant of 40 megawatt. "
        "At 300 million euros, it powers 60,000 homes. "
        "Three years of construction employed 400 Algarve workers. "
        "The plant may reshape coastal energy across Portugal and Spain, engineers in Lisbon said. "
        "Building turbines in Lisbon backs up that strategy for the whole region."
    )
    bullets = [t.text for t in takeaways(_story(facts, again))]
    assert bullets and all("that strategy" not in b for b in bullets)
    assert all(not re.search(r"\b(may|could)\b", b) for b in bullets), bullets
    assert any("60,000 homes" in b for b in bullets)


def test_a_month_is_not_a_guess() -> None:
    from digest.takeaways import _needs_context

    assert not _needs_context("Meta announced in May that it raised $10 billion from investors.")
    assert _needs_context("The deal may close in May.")
    assert _needs_context("Could the deal close by June?")


def _orion_story() -> Story:
    """A model launch told by five outlets; two of them repeat the benchmark score."""
    takes = {
        "The Circuit": "Nimbus AI on Thursday released Orion 2, its most capable model yet, and said "
        "it scored 87.4% on the MathArena benchmark, ahead of every model the leaderboard lists.\n\n"
        "The San Francisco company said Orion 2 is available immediately to paying subscribers of "
        "its Nimbus Chat app and through its API, priced at $3 per million input tokens and $12 per "
        "million output tokens. Free users get access next week.\n\n"
        "Orion 2 has a context window of 400,000 tokens, double that of its predecessor, and can "
        "call external tools such as a web browser and a code interpreter while it reasons.\n\n"
        "Chief executive Mara Okafor said in a briefing that the model was trained on a cluster "
        "of 60,000 Tessellate accelerators in Nevada.",
        "Wire Desk": "Nimbus AI released Orion 2 on Thursday, saying the model scored 87.4% on the "
        "MathArena benchmark. It is priced at $3 per million input tokens.",
        "Model Watch": "Nimbus AI's Orion 2 scored 87.4% on MathArena, according to the company, "
        "and costs $3 per million input tokens, about half what rivals charge.",
        "ByteBeat": "What's new\n\nNimbus AI's Orion 2 arrived Thursday with a 400,000-token "
        "context window and tool use during reasoning.",
        "AI Daily Brief": "Nimbus AI has released Orion 2, a new reasoning model with a 400,000-token "
        "context window, priced at $3 per million input tokens. The company says the model scored "
        "87.4% on MathArena and will reach free users next week.\n\n"
        "The post Nimbus AI's Orion 2 is out appeared first on AI Daily Brief.",
    }
    items = [
        Item(f"o{n}", f"Nimbus AI releases Orion 2 ({source})", f"https://o{n}.example/", source, text=text)
        for n, (source, text) in enumerate(takes.items())
    ]
    return Story("orion", items)


def test_takeaways_do_not_repeat_a_figure_another_bullet_states() -> None:
    bullets = [t.text for t in takeaways(_orion_story(), 5)]
    assert sum("87.4%" in b for b in bullets) == 1, bullets
    assert any("60,000 Tessellate accelerators" in b for b in bullets), bullets


def test_a_blog_platform_footer_is_no_takeaway() -> None:
    assert is_boilerplate("The post Nimbus AI's Orion 2 is out appeared first on AI Daily Brief.")
    assert not any("appeared first" in t.text for t in takeaways(_orion_story(), 5))


@pytest.mark.parametrize(
    "sentence",
    [
        "Here is what the omnibus actually changes, and why Parliament should reject it.",
        "Here’s how the deal works.",
        "This is why it matters for every cloud customer.",
        "Below, a look at the numbers behind the round.",
    ],
)
def test_a_sentence_pointing_at_the_rest_of_its_article_is_no_takeaway(sentence: str) -> None:
    # a bullet read "Here is what the omnibus actually changes…": the reader has no omnibus to read
    assert is_boilerplate(sentence)
    assert not is_boilerplate("Here comes a new chip from Intel, due in March.")  # news that opens so
