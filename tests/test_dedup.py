"""Deduplication: the three layers, the clustering, and the public contracts."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from digest.dedup import DedupSettings, already_published, cluster_jsonl, dedup, engine, report, retold_takes
from digest.dedup.api import item_from_json
from digest.dedup.cluster import average_link
from digest.dedup.engine import _enough_shared, normalized_title
from digest.dedup.pairs import (
    _amount_features,
    _excess,
    _exclusive_terms,
    _positions,
    _ranks,
    _shared_neighbors,
)
from digest.dedup.text import (
    amounts,
    canonical_names,
    describes_only,
    event_kinds,
    headline_names,
    headline_subject,
    subject_names,
    versions,
    weekdays,
)
from digest.dedup.vectors import prepare
from digest.models import Item, Link, Story

FIXTURES = Path(__file__).parent / "fixtures" / "dedup"
T0 = datetime(2025, 6, 10, 8, tzinfo=UTC)


def load(name: str) -> list[Item]:
    """Items of a fixture file (JSON lines written for these tests)."""
    items = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        published = datetime.fromisoformat(row["published"]) if row.get("published") else None
        items.append(
            Item(
                id=row["id"],
                title=row["title"],
                url=f"https://example.org/{row['id']}",
                source=row["source"],
                published=published,
                summary=row.get("summary", ""),
                image=row.get("image"),
                weight=row.get("weight", 1.0),
            )
        )
    return items


def story_of(stories) -> dict[str, str]:
    return {item.id: story.id for story in stories for item in story.items}


def together(stories, ids) -> bool:
    where = story_of(stories)
    return len({where[i] for i in ids}) == 1


def test_sums_in_two_currencies_do_not_conflict_but_two_sums_in_one_do():
    leads = [
        "Mistral raises €600 million from investors in Europe",
        "Mistral bags $700M to build out European compute",  # the same round, converted
        "Mistral raises $900M from investors in Europe",
        "Mistral raises €600 million in 2025, a 12% stake",
    ]
    items = [Item(id=str(k), title=t, url=f"https://ex.org/{k}", source="S") for k, t in enumerate(leads)]
    shared, conflict, numbers = _amount_features(prepare(items), np.array([0, 1, 0]), np.array([1, 2, 3]))
    assert conflict.tolist() == [0.0, 1.0, 0.0] and numbers.tolist() == [0.0, 1.0, 0.0]
    assert shared.tolist() == pytest.approx([0.0, 0.0, 1 / 3])


@pytest.fixture(scope="module")
def background() -> list[Item]:
    return load("background.jsonl")


def test_every_item_lands_in_exactly_one_story(background):
    items = load("deal.jsonl") + background
    stories = dedup(items)
    ids = [item.id for story in stories for item in story.items]
    assert sorted(ids) == sorted(item.id for item in items)
    firsts = [min(items.index(i) for i in s.items) for s in stories]
    assert firsts == sorted(firsts)  # stories in the order of their first input item


def test_same_url_and_same_title_merge(background):
    a = Item(id="a", title="Council votes on the harbour plan", url="https://x.org/harbour", source="A")
    b = Item(id="b", title="Harbour plan: what happens next", url="https://x.org/harbour", source="B")
    c = Item(id="c", title="Storm closes the ferry line!", url="https://c.org/1", source="C")
    d = Item(id="d", title="storm closes the Ferry line", url="https://d.org/2", source="D")
    stories = dedup([a, b, c, d, *background])
    assert together(stories, ["a", "b"]) and together(stories, ["c", "d"])
    assert not together(stories, ["a", "c"])
    layers = {link.layer for s in stories for link in s.links}
    assert layers == {"same-item"}


def test_titles_compare_without_case_accents_or_punctuation():
    from digest.dedup.engine import normalized_title

    assert normalized_title("Café prices RISE in Zürich!") == "cafe prices rise in zurich"
    assert normalized_title("Cafe prices rise in Zurich") == "cafe prices rise in zurich"
    a = Item(id="a", title="Café prices rise in Zürich", url="https://a.org/1", source="A")
    b = Item(id="b", title="CAFE PRICES RISE IN ZURICH", url="https://b.org/2", source="B")
    stories = dedup([a, b])
    assert together(stories, ["a", "b"]) and stories[0].links[0].layer == "same-item"


def test_syndicated_copy_merges_as_same_text(background):
    body = (
        "The regional transit agency will add night buses on six routes from September, "
        "after a pilot showed strong demand among shift workers and students. The agency "
        "said the service would cost four million a year and be paid from fare revenue."
    )
    a = Item(id="orig", title="Transit agency adds night buses", url="https://a.org/1", source="A", text=body)
    b = Item(
        id="copy",
        title="Night buses coming to six routes",
        url="https://b.org/2",
        source="B",
        text=body.replace("The regional", "Our regional") + " (Syndicated.)",
    )
    stories = dedup([a, b, *background])
    assert together(stories, ["orig", "copy"])
    link = next(link for s in stories for link in s.links)
    assert link.layer == "same-text" and link.similarity >= 0.5


def test_five_takes_on_one_deal_become_one_story_with_heaviest_source_first(background):
    deal = load("deal.jsonl")
    stories = dedup(deal + background)
    assert together(stories, [i.id for i in deal])
    story = next(s for s in stories if s.items[0].id.startswith("deal"))
    assert story.items[0].id == "deal-2"  # weight 3.0
    assert [i.id for i in story.items][1] == "deal-4"  # weight 2.0 next
    assert all(not together(stories, ["deal-1", b.id]) for b in background)


def test_takes_the_editor_keeps_apart_join_no_take_outside_their_group(background):
    deal = load("deal.jsonl")
    stories = dedup(deal + background, apart=[["deal-3"]])
    assert together(stories, ["deal-1", "deal-2", "deal-4", "deal-5"])
    assert [[i.id for i in s.items] for s in stories if "deal-3" in {i.id for i in s.items}] == [["deal-3"]]
    # a group is a story of its own: its takes may still join each other
    stories = dedup(deal + background, apart=[["deal-3", "deal-1"], ["deal-5"]])
    assert together(stories, ["deal-3", "deal-1"]) and together(stories, ["deal-2", "deal-4"])
    assert not together(stories, ["deal-1", "deal-2"]) and not together(stories, ["deal-5", "deal-2"])
    facts = report(stories, [["deal-5"]])["kept_apart"]
    five = {"id": "deal-5", "title": deal[4].title, "url": deal[4].url, "story": story_of(stories)["deal-5"]}
    assert facts == [[five]]


def test_takes_the_editor_calls_one_story_become_one_unless_kept_apart(background, caplog):
    deal = load("deal.jsonl")
    alone = [dedup(background)[k].items[0].id for k in (0, 1)]  # two unrelated stories
    stories = dedup(deal + background, together=[[alone[0], alone[1], "unknown-id"], ["deal-1", alone[0]]])
    assert together(stories, [*alone, *[i.id for i in deal]])
    story = next(s for s in stories if alone[0] in {i.id for i in s.items})
    editor = [(link.a, link.b) for link in story.links if link.layer == "editor"]
    assert editor == [(alone[0], alone[1]), ("deal-1", alone[0])]
    assert report(stories)["totals"]["links"]["editor"] == 2
    joins = [["deal-1", "deal-2"], [alone[0], alone[1]]]
    stories = dedup(deal + background, apart=[["deal-1"]], together=joins)
    assert not together(stories, ["deal-1", "deal-2"]) and together(stories, alone)
    assert "kept apart, and not joined" in caplog.text
    # the takes of a line not kept apart still join, whichever comes first
    stories = dedup(deal + background, apart=[["deal-1"]], together=[["deal-1", *alone]])
    assert together(stories, alone) and not together(stories, ["deal-1", alone[0]])


def test_the_editor_keeps_apart_even_items_of_one_title_or_text(background):
    # two outlets' weekly columns of one title, and a syndicated copy, are joined by
    # the same-item and same-text layers unless the editor keeps one apart
    a = Item(id="a", title="This week in AI: the models to watch", url="https://one.example/w", source="One",
             published=T0, summary="Three new models and a lawsuit, from our desk.")  # fmt: skip
    b = replace(a, id="b", url="https://two.example/w", source="Two", summary="A funding round, two chips.")
    c = replace(a, id="c", url="https://three.example/w", source="Three", summary=a.summary)
    assert together(dedup([a, b, c, *background]), ["a", "b", "c"])
    stories = dedup([a, b, c, *background], apart=[["b"]])
    assert together(stories, ["a", "c"]) and not together(stories, ["a", "b"])
    stories = dedup([a, b, c, *background], apart=[["c"]])
    assert together(stories, ["a", "b"]) and not together(stories, ["a", "c"])


def test_takes_reposted_by_one_aggregator_still_become_one_story(background):
    # an aggregator reposts every outlet's take: its copies join their takes (same item,
    # same text), and do not keep the takes apart as "two takes from one outlet"
    deal = load("deal.jsonl")
    reposts = [replace(i, id=f"{i.id}-repost", url=f"https://aggregator.example/{n}", source="Aggregator")
               for n, i in enumerate(deal)]  # fmt: skip
    stories = dedup(deal + reposts + background)
    assert together(stories, [i.id for i in deal + reposts])
    assert all(not together(stories, ["deal-1", b.id]) for b in background)


def test_a_subset_of_prepared_items_is_weighted_as_if_prepared_alone(background):
    from digest.dedup.pairs import rowwise_dot, shingle_similarity
    from digest.dedup.vectors import prepare

    items = load("deal.jsonl") + background
    copies = [replace(i, id=f"{i.id}-copy", url=f"https://copy.example/{n}") for n, i in enumerate(items[:6])]
    rows = np.arange(len(items))
    sub, alone = prepare(items + copies).subset(rows), prepare(items)
    i, j = np.triu_indices(len(items), 1)
    for field in ("title", "lead", "body", "blocking"):
        a, b = getattr(sub, field), getattr(alone, field)
        assert np.allclose(rowwise_dot(a, a, i, j), rowwise_dot(b, b, i, j), atol=1e-5), field
    assert np.allclose(sub.meaning, alone.meaning) and np.array_equal(sub.days, alone.days, equal_nan=True)
    assert sub.amounts == alone.amounts and np.array_equal(sub.word_starts, alone.word_starts)
    assert np.array_equal(shingle_similarity(sub, i, j), shingle_similarity(alone, i, j))
    # word counts (df) too: a copy left out does not make a word look more common
    for a, b in zip(_exclusive_terms(sub, i, j), _exclusive_terms(alone, i, j)):
        assert np.allclose(a, b, atol=1e-5)


def test_name_variants_and_amounts_are_unified():
    assert set(amounts("$10B")) == set(amounts("$10 billion")) == set(amounts("ten billion dollars"))
    # as Canadian papers write it: "$600-million" was read as $600, a conflict with "$600 million"
    assert amounts("Cohere closes US$600-million round") == amounts("Cohere raises $600 million")
    assert amounts("a $2.5-billion fund") == amounts("a $2.5 billion fund")
    assert amounts("a EUR 90M penalty") == amounts("fined X €90 million") == amounts("a fine of 90m euros")
    assert amounts("USD 1.5 billion") == amounts("$1.5bn") and amounts("a Europe-wide 15 years") == ["15"]
    assert amounts("files its 10-K report") == amounts("files its 10 report")  # a hyphen joins words only
    # a spoken decimal, as a transcript writes it: "two point four billion" was $4 billion
    assert amounts("two point four billion dollars") == amounts("$2.4 billion") != amounts("$4 billion")
    assert amounts("up one point five percent") == amounts("up 1.5%")
    assert amounts("two-point-four billion dollars") == amounts("$2.4 billion")
    assert amounts("one point two three four five billion dollars") == amounts("$1.2345 billion")
    assert "Meta" in canonical_names("Meta Platforms") and "Meta" in canonical_names("the Facebook parent")
    assert canonical_names("The iPhone maker and the TikTok owner") == "The Apple and the ByteDance"
    assert canonical_names("Pella, the windows maker") == "Pella, the windows maker"  # Microsoft: capitalized
    # the longest variant wins, case is ignored except for the case-sensitive ("US"), and a
    # variant inside a longer word is left alone
    assert canonical_names("META PLATFORMS INC and the GOP's plan") == "Meta and the Republican's plan"
    assert canonical_names("US and us, U.S.-made, Alphabetical") == "USA and us, USA-made, Alphabetical"
    # "İ" is two characters once lower-cased: offsets in the lower-cased text would be off
    assert canonical_names("İstanbul talks with Meta Platforms") == "İstanbul talks with Meta"


@pytest.mark.parametrize(
    ("written", "english"),
    [
        ("Siemens investiert 1,5 Mrd. Euro", "Siemens invests €1.5 billion"),
        ("Siemens steckt 1,5 Milliarden Euro in", "Siemens invests €1.5 billion"),
        ("Mistral sammelt 600 Mio. Euro ein", "Mistral raises €600 million"),
        ("Mistral lève 600 millions d'euros", "Mistral raises 600 million"),
        ("Der Umsatz stieg um 3,5 Prozent", "Sales rose 3.5%"),
        ("Les ventes ont augmenté de 3,5 %", "Sales rose 3.5%"),
        ("Das Projekt kostet 1.200.000 Euro", "The project costs €1,200,000"),
        ("ソフトバンク、10億ドルを出資", "SoftBank invests $1 billion"),
        ("約1500億円を出資", "invests about ¥150 billion"),
        ("1億5000万ドルを調達", "raises $150 million"),
        ("小米投资10亿美元", "Xiaomi invests $1 billion"),
        ("售价21.59万元起", "from ¥215,900"),
        ("売上高は3.5％増えた", "Sales rose 3.5%"),
    ],
)
def test_amounts_written_in_other_languages_read_as_in_english(written: str, english: str) -> None:
    # "1,5" was read as the single digits 1 and 5 (no amount), "3,5 %" as 5%, "Mrd." and
    # "Milliarden" as no scale: two takes of one event stating one amount shared none.
    assert amounts(written) == amounts(english)


def _names(titles: list[str], bodies: list[str]) -> set[str]:
    """The lower-cased words the name lexicon takes for names in these items."""
    from digest.dedup.text import lower
    from digest.dedup.vectors import _index, join, name_lexicon, tokenize

    toks = join([tokenize(titles), tokenize(bodies)])
    lower_of, lower = _index([lower(w) for w in toks.vocab])
    flags = name_lexicon(toks, toks.doc < len(titles), lower_of, lower)
    return {w for w, name in zip(lower, flags) if name}


def test_names_are_compared_as_written_not_stemmed():
    from digest.dedup.vectors import prepare

    takes = [
        Item("a", "Firefly Image Model 5 arrives in Photoshop", "https://a.example/1", "A",
             summary="Adobe said Firefly Image Model 5 makes layered images in Photoshop."),
        Item("b", "The best AI note-taking apps", "https://b.example/2", "B",
             summary="I tested Otter and Fireflies and Granola. Fireflies was the most accurate."),
        Item("c", "Adobe's Firefly comes to phones", "https://c.example/3", "C",
             summary="Adobe's Firefly app is now on Android, Adobe said."),
    ]  # fmt: skip
    names = prepare(takes).names
    assert names[1].nnz > 0 and (names[0] @ names[1].T).sum() == 0  # no name in common
    assert (names[0] @ names[2].T).sum() > 0  # "Adobe's" is Adobe, "Firefly" Firefly


def test_a_name_that_opens_its_sentences_is_still_a_name():
    names = _names(
        ["Clipwise: turn long videos into shorts", "Nvidia to buy Arm", "Atlas rolls out agents"],
        [
            "Clipwise finds the best moments of a long video. Clipwise's plan is free.",
            "Nvidia said it would buy Arm. The deal gives Nvidia the designs.",
            "Atlas said the agents check payments. Here's why. T800 chips run them.",
        ],
    )
    # an unknown word seen only at the starts of sentences, and a word capitalized inside
    # its sentence once while opening two others
    assert {"clipwise", "nvidia", "arm", "t800"} <= names
    # a common word seen only at starts ("Atlas", "Here's") may be anything
    assert not {"atlas", "here's", "the", "rolls"} & names


def test_names_that_open_their_sentences_in_odd_spellings():
    names = _names(
        ["İzmirspor wins the cup", "x", "x"],
        [
            "İzmirspor won. İzmirspor’s coach left.",
            "O'Brientech said no. Don't worry. They’re fine.",
            'Zorblax is up. (zorblax is down) "zorblax" fine: zorblax again.',
        ],
    )
    assert {"izmirspor", "izmirspor’s", "o'brientech"} <= names
    # and a word with "İ" finds its word vector: "İstanbul" means what "Istanbul" does
    dotted, plain = prepare(
        [Item(id=k, title=k, url="", source="") for k in ("İstanbul", "Istanbul")]
    ).meaning
    assert np.abs(dotted).sum() > 0 and np.allclose(dotted, plain)
    # a contraction is no name; nor a word mostly lower-case where a clause opens
    assert not {"don't", "they’re", "zorblax"} & names


def test_tokens_of_many_texts_keep_each_text_s_words_positions_and_sentence_starts():
    from digest.dedup.vectors import join, tokenize

    texts = ["Meta buys. Scale AI", "", "“Quote” starts here", "Meta again"]
    toks = join([tokenize(texts[:2]), tokenize(texts[2:])])  # parts joined: one vocabulary
    for field in ("ids", "doc", "pos", "start"):
        assert np.array_equal(getattr(toks, field), getattr(tokenize(texts), field))
    words = [toks.vocab[k] for k in toks.ids]
    assert words == ["Meta", "buys", "Scale", "AI", "Quote", "starts", "here", "Meta", "again"]
    assert toks.doc.tolist() == [0, 0, 0, 0, 2, 2, 2, 3, 3]
    assert toks.pos.tolist() == [0, 1, 2, 3, 0, 1, 2, 0, 1]
    assert toks.start.tolist() == [True, False, True, False, True, True, False, True, False]  # after a quote
    assert toks.vocab.count("Meta") == 1
    # a mark counts only right before a word of its own text; decimals and initials keep their dots
    toks = tokenize(["Rates rose 3.5 percent. U.S. (banks) lag.", "Next"])
    assert [toks.vocab[k] for k in toks.ids] == [
        "Rates",
        "rose",
        "3.5",
        "percent",
        "U.S",
        "banks",
        "lag",
        "Next",
    ]
    assert toks.start.tolist() == [True, False, False, False, True, True, False, True]


def test_in_two_does_half_the_work_in_a_forked_process_and_falls_back_when_it_fails(monkeypatch):
    from digest.dedup import halves

    monkeypatch.setattr(halves, "can_fork", lambda: True)  # a second core or not
    here = os.getpid()
    assert halves.in_two(lambda x: (x, os.getpid()), 1, 2, items=10) == ((1, here), (2, here))  # small
    mine, theirs = halves.in_two(lambda x: (x, os.getpid()), 1, 2, items=halves.PARALLEL_FROM)
    assert mine == (1, here) and theirs[0] == 2 and theirs[1] != here
    # a child that dies, or stalls, leaves its half to this process
    died = halves.in_two(lambda x: os._exit(1) if os.getpid() != here else x, 1, 2, halves.PARALLEL_FROM)
    assert died == (1, 2)
    monkeypatch.setattr(halves, "GRACE", 0.2)
    started = time.monotonic()
    stalled = halves.in_two(
        lambda x: time.sleep(60) if os.getpid() != here else x, 1, 2, halves.PARALLEL_FROM
    )
    assert stalled == (1, 2) and time.monotonic() - started < 10
    # when this process's half fails, the error comes at once and the child is gone

    def fail_here(x):
        if os.getpid() == here:
            raise ValueError("bad half")
        time.sleep(60)

    started = time.monotonic()
    with pytest.raises(ValueError, match="bad half"):
        halves.in_two(fail_here, 1, 2, halves.PARALLEL_FROM)
    assert time.monotonic() - started < 10 and multiprocessing.active_children() == []


def test_prepared_items_are_the_same_read_in_two_processes(monkeypatch, tmp_path):
    from digest.dedup import halves, vectors

    fixtures = load("background.jsonl") + load("deal.jsonl") + load("company_week.jsonl")
    items = [replace(item, id=f"{item.id}-{k}") for k in range(4) for item in fixtures]
    monkeypatch.setattr(vectors, "READ_ITEMS", 17)
    alone = vectors.prepare(items)
    monkeypatch.setattr(halves, "PARALLEL_FROM", 50)
    monkeypatch.setattr(halves, "can_fork", lambda: True)
    read_chunks, readers = vectors._read_chunks, tmp_path / "readers"

    def reader(part):
        with readers.open("a") as f:
            f.write(f"{os.getpid()}\n")
        return read_chunks(part)

    monkeypatch.setattr(vectors, "_read_chunks", reader)
    both = vectors.prepare(items)
    assert len(set(readers.read_text().split())) == 2  # each half read by its own process
    for field in ("title", "lead", "body", "names", "blocking"):
        assert (getattr(both, field) != getattr(alone, field)).nnz == 0
    assert both.amounts == alone.amounts and both.terms == alone.terms
    assert np.array_equal(both.words, alone.words) and np.array_equal(both.weekdays, alone.weekdays)


def test_weekdays_and_background_excess():
    assert weekdays("Council votes on Tuesday, after Monday's storm") == 0b11
    assert weekdays("No day named here") == 0
    # item 0 has five candidates; its fifth best (0.2) is its background, item 5 has none
    i, j = np.zeros(5, np.int64), np.arange(1, 6)
    excess = _excess(i, j, np.array([0.9, 0.5, 0.4, 0.3, 0.2], np.float32), 6)
    assert np.allclose(excess, [0.7, 0.3, 0.2, 0.1, 0.0])
    # for item 0 these pairs rank 0..4; for items 1..5 each is their only candidate (rank 0)
    worse, better = _ranks(_positions(i, j, np.array([0.9, 0.5, 0.4, 0.3, 0.2], np.float32)))
    assert worse.tolist() == [0, 1, 2, 3, 4] and better.tolist() == [0, 0, 0, 0, 0]


def test_shared_neighbors_count_the_nearest_candidates_two_items_have_in_common():
    # items 0, 1, 2 are each other's nearest; 3 is near 0 only; 4..9 are near 3 only
    pairs = [(0, 1, 0.9), (0, 2, 0.8), (1, 2, 0.85), (0, 3, 0.7)] + [(3, k, 0.95) for k in range(4, 10)]
    i, j, v = (np.array(c) for c in zip(*pairs))
    shared = _shared_neighbors(i, j, _positions(i, j, v.astype(np.float32)), 10)
    assert np.allclose(shared[:3], 0.2)  # 0 and 1 both have 2 as a neighbor, and so on
    assert shared[3] == 0.0  # 0's neighbors are 1, 2, 3; 3's five nearest are 4..8


def test_exclusive_terms_weigh_each_shared_word_by_how_few_other_items_use_it():
    titles = [
        "Zorblat merger approved",
        "Regulators see Zorblat merger approved after a long review",
        "Merger talk",
        "Merger news",
        "Merger watch",
        "Zorblat layoffs announced",
        "Layoffs announced at Quux",
    ]
    items = [Item(id=str(k), title=t, url=f"https://ex.org/{k}", source="S") for k, t in enumerate(titles)]
    shared, share = _exclusive_terms(prepare(items), np.array([0, 2, 0]), np.array([1, 3, 5]))
    # a word used by df items counts 1 / (df - 1): approved 1, zorblat 1/2, merger 1/4;
    # not divided by length, so the long title does not dilute it
    assert shared.tolist() == pytest.approx([1 + 1 / 2 + 1 / 4, 1 / 4, 1 / 2])
    # the share of the smaller own sum (words of one item alone count nothing): 0's words
    # are all in 1, but 5 has more exclusive words of its own (layoffs, announced)
    assert share.tolist() == pytest.approx([1.0, 1.0, (1 / 2) / (1 + 1 / 2 + 1 / 4)])


@pytest.fixture(scope="module")
def cjk() -> list[Item]:
    """Japanese and Chinese takes: SoftBank's funding of OpenAI told three ways, Docomo's
    of a robot startup twice, Sony's and an NTT Data hiring plan once; Xiaomi's car launch
    told twice, Nio's once; two English items naming OpenAI and Xiaomi."""
    return load("cjk.jsonl")


def test_japanese_takes_of_one_event_become_one_story_and_another_funding_stays_apart(background, cjk):
    # Japanese writes no spaces: a whole clause was one word, and three takes of one
    # funding round shared none of their words
    stories = dedup(cjk + background)
    assert together(stories, ["ja-sb-1", "ja-sb-2", "ja-sb-3"])
    assert together(stories, ["ja-docomo-1", "ja-docomo-2"])
    for a, b in (("ja-sb-1", "ja-docomo-1"), ("ja-sb-1", "ja-sony-1"), ("ja-docomo-1", "ja-sony-1")):
        assert not together(stories, [a, b]), (a, b)
    assert not together(stories, ["ja-docomo-1", "ja-nttdata"])


def test_chinese_and_japanese_are_read_as_character_pairs_with_latin_words_and_numbers_apart():
    from digest.dedup.text import TOKEN, words

    assert words("米OpenAIに10億ドルを追加出資した。「ソフトバンク」") == [
        *("米", "OpenAI", "10", "億", "ドル", "追加", "加出", "出資", "「"),
        *("ソフ", "フト", "トバ", "バン", "ンク"),
    ]
    assert words("小米SU7售价21.59万元") == ["小米", "SU7", "售价", "21.59", "万元"]
    english = "Meta’s “deal” in the U.S. — 1,500.5 café"
    assert words(english) == TOKEN.findall(english)


def test_chinese_takes_of_one_event_merge_and_another_launch_stays_apart(background, cjk):
    stories = dedup(cjk + background)
    assert together(stories, ["zh-xiaomi-1", "zh-xiaomi-2"])
    assert not together(stories, ["zh-xiaomi-1", "zh-nio-1"])


def test_chinese_and_japanese_titles_that_differ_only_in_their_letters_are_two_items(background):
    # folded to ASCII, a launch and a recall weeks later were one title, "su7 ultra 52 99":
    # the same item, whatever the time between them
    launch = post("Huadong Caijing", "launch", "小米SU7 Ultra发布，售价52.99万元", "小米发布SU7 Ultra。", 0)
    recall = post("Keji Ribao", "recall", "小米SU7 Ultra召回，涉及52.99万元版本", "小米召回部分车辆。", 30)
    assert normalized_title(launch.title) != normalized_title(recall.title)
    assert normalized_title("ＯｐｅｎＡＩ　新モデル") == normalized_title("OpenAI 新モデル")
    assert not together(dedup([launch, recall, *background]), ["launch", "recall"])


def test_chinese_and_japanese_stories_take_in_no_english_item(tmp_path, background, cjk):
    rows = [
        {"id": i.id, "title": i.title, "text": i.summary, "source": i.source, "published": i.published}
        for i in cjk + background
    ]
    lines = [json.dumps(row, ensure_ascii=False, default=datetime.isoformat).encode() for row in rows]
    code, out, _ = run_dedup(tmp_path, lines)
    assert code == 0
    story = {row["id"]: row["story"] for row in map(json.loads, out.splitlines())}
    members: dict[str, set[str]] = {}
    for item, label in story.items():
        members.setdefault(label, set()).add(item)
    cjk_ids = {i.id for i in cjk if not i.id.startswith("en-")}
    stories = [ids for ids in members.values() if ids & cjk_ids]
    assert sorted(map(sorted, stories)) == sorted(
        [["ja-sb-1", "ja-sb-2", "ja-sb-3"], ["ja-docomo-1", "ja-docomo-2"], ["zh-xiaomi-1", "zh-xiaomi-2"]]
        + [[k] for k in ("ja-nttdata", "ja-sony-1", "zh-nio-1")]
    )


def test_one_company_three_events_in_a_week_stay_apart(background):
    week = load("company_week.jsonl")
    stories = dedup(week + background)
    assert together(stories, ["acme-funding", "acme-funding-2"])
    assert together(stories, ["acme-launch", "acme-launch-2"])
    assert together(stories, ["acme-lawsuit", "acme-lawsuit-2"])
    assert not together(stories, ["acme-funding", "acme-launch"])
    assert not together(stories, ["acme-funding", "acme-lawsuit"])
    assert not together(stories, ["acme-launch", "acme-lawsuit"])


def test_one_firms_launch_and_lawsuit_on_one_day_stay_two_stories(background):
    # A day of AI news with two to four events per firm. Meta's Llama 4 launch and the
    # authors' suit over Llama's training share Meta, Llama and the model's words, and the
    # model joins them (0.80); the headlines report a launch and a lawsuit, and neither
    # take speaks of the other's kind of event. Anthropic's app and the publishers' suit
    # over Claude share Anthropic, though the suit's headline opens on "Music". Nvidia's
    # stake in Intel and their chips made together are one event told as an investment and
    # as a partnership: each take speaks of the other's kind ("stake", "jointly develop").
    # "The iPhone maker is the latest tech giant facing a copyright suit" is Apple's.
    # So too in a batch of 100 and more, where the rules of small days do not hold.
    day = load("one_firm_day.jsonl")
    events = {}
    for item in day:
        events.setdefault(item.id.rsplit("-", 1)[0], []).append(item.id)
    for others in ([], _filler(120)):
        stories = dedup(day + background + others)
        assert not together(stories, ["meta-llama4-1", "meta-authors-suit"])
        assert not together(stories, ["meta-llama4-2", "meta-authors-suit"])
        assert not together(stories, ["anthropic-windows-1", "anthropic-lyrics-1"])
        for ids in events.values():  # each told event is one story, and no two events are
            assert together(stories, ids), ids
        assert len({story_of(stories)[ids[0]] for ids in events.values()}) == len(events)


def test_a_firms_new_event_is_not_hidden_as_a_retelling_of_its_last_one(background):
    # Yesterday's issue told of Meta's Llama 4 launch; today the authors sue Meta over
    # Llama's training. The suit must not be dropped as already published.
    day = {item.id: item for item in load("one_firm_day.jsonl")}
    yesterday = [
        replace(day[k], published=day[k].published - timedelta(days=1))
        for k in ("meta-llama4-1", "meta-llama4-2")
    ]
    stories = dedup([day["meta-authors-suit"], *background])
    suit = story_of(stories)["meta-authors-suit"]
    assert suit not in already_published(stories, yesterday, DedupSettings())
    # while a retelling of the launch is
    retold = dedup(
        [
            replace(day["meta-llama4-1"], id="again", url="https://example.org/again", source="Wired"),
            *background,
        ]
    )
    assert story_of(retold)["again"] in already_published(retold, yesterday, DedupSettings())


def test_event_kinds_of_a_headline():
    assert event_kinds("Meta sued by authors over AI training") == {"legal"}
    assert event_kinds("OpenAI raises $40B and launches GPT-5") == {"deal", "launch"}
    assert event_kinds("Top EPA official stepping down amid ethics probe") == {"people", "legal"}
    assert event_kinds("Investigation of facility pending") == set()  # not an investment
    assert event_kinds("Gemini 2.5 Pro is now generally available") == set()
    assert event_kinds("Gemini 2.5 Pro is now generally available", hints=True) == {"launch"}
    assert event_kinds("OpenAI signs cloud deal with Google") == {"partnership"}
    # words that report no event in other senses
    for headline in (
        "Netflix raises prices for its ad-free plans",
        "Sullivan acquitted on appeal",
        "Nvidia shows signs of slowing data center growth",
        "Steve Jobs biopic gets a release date",  # a release, but no jobs
        "Euro zone economy contracts as weather forecast worsens",
    ):
        assert event_kinds(headline) <= {"launch"}, headline
    assert event_kinds("Mistral raises 20 million euros") == {"deal"}
    assert event_kinds("Meta cuts 600 jobs") == event_kinds("Intel is cutting thousands of jobs") == {"jobs"}
    # a word may hint at two kinds: a deal is a purchase's or a partnership's
    assert event_kinds("the deal was announced", hints=True) == {"deal", "partnership"}


def test_two_events_of_one_kind_stay_apart(background):
    stories = dedup(load("quakes.jsonl") + background)
    assert together(stories, ["quake-a1", "quake-a2"]) and together(stories, ["quake-b1", "quake-b2"])
    assert not together(stories, ["quake-a1", "quake-b1"])


def test_two_firms_like_news_on_one_day_stay_two_stories(background):
    # A day of one field: Nvidia's and AMD's earnings, their supercomputers, two
    # humanoid-robot trials, two apps for Windows, two cloud deals, two authors' lawsuits.
    # Their words are rare in a small batch, so the model took each pair for one event
    # (0.9 and more); each headline names early on a firm its lead repeats and the other
    # take never mentions.
    stories = dedup(load("parallel_day.jsonl") + background)
    for pair in (
        ["nvidia-earnings", "amd-earnings"],
        ["nvidia-supercomputer", "amd-supercomputer"],
        ["amazon-humanoids", "tesla-humanoids"],
        ["claude-windows", "comet-windows"],
        ["openai-cloud", "xai-cloud"],
        ["apple-authors", "salesforce-authors"],
    ):
        assert not together(stories, pair), pair
    assert together(stories, ["magistral-1", "magistral-2"])  # one firm's one launch, told twice


def _filler(count: int) -> list[Item]:
    """``count`` dated one-line items of made-up words, each its own event."""
    rng = random.Random(5)
    word = partial(rng.choices, "bcdfghklmnprstvz", k=5)
    return [
        Item(
            id=f"f{k}",
            title=" ".join("".join(word()) for _ in range(6)),
            url=f"https://filler.example/{k}",
            source=f"Filler {k % 7}",
            published=T0 + timedelta(hours=k % 48),
        )
        for k in range(count)
    ]


def test_dated_headlines_may_share_one_term_fewer_when_few_others_use_them(background):
    """Two headlines of one event that share only "Nvidia" and "antitrust": within the
    time window, in a batch large enough to tell a rare word, that is enough; in an
    undated pool (years of news), or in a small batch, it is not."""
    take = partial(Item, summary="", text="")
    x = take(
        id="x",
        title="Nvidia faces EU antitrust probe over Run:ai purchase",
        url="https://a.example/x",
        source="Outlet A",
        published=T0,
    )
    y = take(
        id="y",
        title="Brussels opens antitrust investigation into Nvidia",
        url="https://b.example/y",
        source="Outlet B",
        published=T0 + timedelta(hours=5),
    )
    day = [x, y, *background, *_filler(100)]
    undated = [replace(v, published=None) for v in day]
    assert together(dedup(day), ["x", "y"])
    assert not together(dedup(undated), ["x", "y"])
    assert not together(dedup([x, y, *background]), ["x", "y"])  # 22 items
    # the rule itself: one term fewer only for two dated items whose shared terms are exclusive
    one, two = np.array([0]), np.array([1])
    dated = prepare(day)
    assert _enough_shared(dated, one, two, np.array([1.0]), 3)
    assert not _enough_shared(dated, one, two, np.array([0.4]), 3)
    assert not _enough_shared(dated, one, two, np.array([1.0]), 4)
    assert not _enough_shared(prepare(undated), one, two, np.array([1.0]), 3)


def test_items_outside_the_window_are_not_merged(background):
    deal = load("deal.jsonl")
    late = replace(deal[1], id="late", url="https://example.org/late", published=T0 + timedelta(days=10))
    stories = dedup([deal[0], late, *background], DedupSettings(window_days=3))
    assert not together(stories, ["deal-1", "late"])
    stories = dedup([deal[0], late, *background], DedupSettings(window_days=14))
    assert together(stories, ["deal-1", "late"])


def test_average_link_does_not_chain():
    # A~B, B~C, C~D, D~E strongly; no other pair is similar: a chain, not one event.
    i, j = np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4])
    final, _ = average_link(np.arange(5), np.full(5, np.nan), i, j, np.full(4, 0.95), 0.5, 3.0)
    assert len(set(final.values())) >= 3
    # With every pair similar, the same items do become one cluster.
    a, b = np.triu_indices(5, 1)
    final, _ = average_link(np.arange(5), np.full(5, np.nan), a, b, np.full(a.size, 0.9), 0.5, 3.0)
    assert len(set(final.values())) == 1


def test_average_link_never_joins_two_foes_through_a_third_item():
    # 0 and 1 are one event (0.9); 2 is 1's neighbor (0.7) but 0's foe. Without the
    # cannot-link, {0, 1} and 2 average (0 + 0.7) / 2 = 0.35, over the threshold
    i, j, score, undated = np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.7]), np.full(3, np.nan)
    final, _ = average_link(np.arange(3), undated, i, j, score, 0.3, 3.0)
    assert final[0] == final[1] == final[2]
    final, joins = average_link(np.arange(3), undated, i, j, score, 0.3, 3.0, foes=[(2, 0)])
    assert final[0] == final[1] != final[2] and len(joins) == 1


def _plain_average_link(n: int, i: np.ndarray, j: np.ndarray, score: np.ndarray, threshold: float) -> set:
    """Average link the slow way: merge the two clusters whose cross pairs average highest
    (unscored pairs count 0), ties to the smallest ids, until none reaches ``threshold``."""
    sim = np.zeros((n, n))
    sim[i, j] = sim[j, i] = score
    clusters = {k: [k] for k in range(n)}
    while True:
        best = None
        for a in sorted(clusters):
            for b in sorted(clusters):
                if a < b:
                    avg = sim[np.ix_(clusters[a], clusters[b])].mean()
                    if avg >= threshold and (best is None or avg > best[0]):
                        best = (avg, a, b)
        if best is None:
            return {frozenset(c) for c in clusters.values()}
        _, a, b = best
        clusters[a] += clusters.pop(b)


def test_average_link_merges_as_a_plain_average_link_would_on_random_graphs():
    # the fast one skips pairs that cannot count toward a merge: the result must not change
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = int(rng.integers(5, 25))
        i, j = np.triu_indices(n, 1)
        scored = rng.random(i.size) < 0.3
        i, j = i[scored], j[scored]
        score = rng.random(i.size)
        final, joins = average_link(np.arange(n), np.full(n, np.nan), i, j, score, 0.45, 3.0)
        got: dict[int, set] = {}
        for item, root in final.items():
            got.setdefault(root, set()).add(item)
        assert {frozenset(c) for c in got.values()} == _plain_average_link(n, i, j, score, 0.45)
        assert len(joins) == n - len(got)


def test_candidates_features_and_scores_are_the_same_on_two_threads(monkeypatch, background):
    from digest.dedup import halves, model, pairs

    items = [replace(item, id=f"{item.id}-{k}") for k in range(3) for item in background + load("deal.jsonl")]
    prep = prepare(items)
    settings = DedupSettings().params()
    limits = (
        settings.window_days,
        settings.neighbors,
        settings.min_candidate_similarity,
        settings.meaning_neighbors,
    )
    for module in (pairs, model):
        monkeypatch.setattr(module, "concurrently", lambda tasks, worth_it=True: [task() for task in tasks])
    i, j = pairs.candidates(prep, *limits)
    alone = pairs.features(prep, i, j)
    scores = model.logit(alone)

    threads = set()

    def on_threads(tasks, worth_it=True):
        def noted(task):
            threads.add(threading.get_ident())
            return task()

        return halves.concurrently([partial(noted, task) for task in tasks], worth_it)

    for module in (pairs, model):
        monkeypatch.setattr(module, "concurrently", on_threads)
    monkeypatch.setattr(halves, "_cores", lambda: 2)
    monkeypatch.setattr(pairs, "BLOCK_ROWS", 40)  # several row blocks
    monkeypatch.setattr(pairs, "THREADED_PAIRS", 0)
    monkeypatch.setattr(model, "TREE_CHUNK", 50)  # several chunks of pairs down the trees
    i2, j2 = pairs.candidates(prep, *limits)
    assert np.array_equal(i, i2) and np.array_equal(j, j2) and i.size > 100
    assert np.array_equal(pairs.features(prep, i, j), alone)
    assert np.array_equal(model.logit(alone), scores)
    assert threads and threading.get_ident() not in threads  # the work did run on other threads
    assert threading.active_count() == 1  # and they are gone: a fork later stays safe


def test_dedup_pauses_the_cycle_collector_and_restores_it(monkeypatch, background):
    from digest.dedup import engine

    seen = []
    real = engine.features

    def noting(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(engine, "features", noting)
    assert gc.isenabled()
    dedup(background)
    assert seen == [False] and gc.isenabled()
    gc.disable()  # whoever turned it off keeps it off
    try:
        dedup(background)
        assert not gc.isenabled()
    finally:
        gc.enable()
    monkeypatch.setattr(engine, "features", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        dedup(background)
    assert gc.isenabled()


def test_dedup_leaves_no_cycle_for_the_paused_collector(background):
    # the collector is off during dedup: what it allocates must go by reference counting
    from digest.dedup import engine

    gc.collect()
    gc.disable()
    try:
        dedup(load("one_firm_day.jsonl") + background)
        assert not [obj for obj in gc.get_objects() if isinstance(obj, engine.Headlines)]
    finally:
        gc.enable()


def test_dedup_drops_arxivs_listing_line_as_the_build_does():
    # every arXiv listing opens "arXiv:2603.07120v1 Announce Type: new Abstract:": read
    # as words of the text, it joined unrelated papers posted at one time (five pairs in
    # a labeled day of 167 takes); the build's normalize drops it, and so does dedup
    papers = json.loads((FIXTURES / "arxiv_papers.json").read_text(encoding="utf-8"))
    rows = [
        {
            "id": f"p{k}",
            "title": title,
            "text": f"arXiv:2603.0{7100 + k}v1 Announce Type: new Abstract: {lead}",
        }
        for k, (title, lead) in enumerate(papers)
    ]
    items = [item_from_json(row, k) for k, row in enumerate(rows, 1)]
    assert [item.text for item in items] == [lead for _, lead in papers]
    stories = [json.loads(line)["story"] for line in cluster_jsonl(map(json.dumps, rows), DedupSettings())]
    assert len(set(stories)) == len(papers)


def test_cluster_jsonl_contract():
    lines = [
        json.dumps({"id": "x1", "title": "Acme Robotics raises $200 million", "gold": "g1", "extra": [1]}),
        "",
        json.dumps({"id": "x2", "title": "Acme Robotics raises $200 million", "summary": "Funding."}),
        json.dumps({"id": "x3", "title": "Something else entirely", "published": "2025-06-10T08:00:00Z"}),
    ]
    out = [json.loads(line) for line in cluster_jsonl(lines, DedupSettings())]
    assert [row["id"] for row in out] == ["x1", "x2", "x3"]
    assert out[0]["story"] == out[1]["story"] != out[2]["story"]
    with pytest.raises(ValueError, match="line 2"):
        list(cluster_jsonl([lines[0], "{not json"], DedupSettings()))
    with pytest.raises(ValueError, match="line 1"):
        list(cluster_jsonl([json.dumps({"title": "no id"})], DedupSettings()))


def run_dedup(tmp_path: Path, lines: list[bytes], name: str = "items.jsonl") -> tuple[int, str, str]:
    """``digest dedup`` on a real file holding ``lines``: its exit code, stdout and stderr."""
    from click.testing import CliRunner

    from digest.cli import main

    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(main, ["dedup", str(path)])
    return result.exit_code, result.stdout, result.stderr


def jsonl(*rows: dict) -> list[bytes]:
    return [json.dumps(row).encode() for row in rows]


def test_dedup_refuses_a_duplicate_id_naming_both_lines(tmp_path):
    code, out, err = run_dedup(
        tmp_path,
        jsonl(
            {"id": "x", "title": "Meta in talks to invest $10 billion in Scale AI"},
            {"id": "y", "title": "Meta Platforms eyes $10B stake in data-labeling startup Scale AI"},
            {"id": "x", "title": "Apple unveils a new iPhone with a titanium frame"},
            {"id": "z", "title": "Apple's titanium iPhone is here"},
        ),
    )
    assert (code, out) == (2, "")
    assert err == f'error: {tmp_path / "items.jsonl"}: line 3: id "x" is already used on line 1\n'
    # story ids are made from item ids: 1 and "1" would be one id there too
    code, out, err = run_dedup(tmp_path, jsonl({"id": 1, "title": "One"}, {"id": "1", "title": "Two"}))
    assert (code, out) == (2, "") and 'line 2: id "1" is already used on line 1 (as 1)' in err


def test_dedup_echoes_integer_ids_as_integers_in_input_order(tmp_path):
    rows = [
        {"id": 30, "title": "Meta in talks to invest $10 billion in Scale AI"},
        {"id": "b", "title": "Earthquake of magnitude 6.1 strikes off the coast of Chile"},
        {"id": 7, "title": "Meta Platforms eyes $10B stake in data-labeling startup Scale AI"},
        {"id": 12345678901234567890, "title": "Central bank holds interest rates steady"},
    ]
    code, out, err = run_dedup(tmp_path, jsonl(*rows))
    assert code == 0, err
    answers = [json.loads(line) for line in out.splitlines()]
    given = [row["id"] for row in rows]
    assert [a["id"] for a in answers] == given
    assert [type(a["id"]) for a in answers] == [type(i) for i in given]
    assert answers[0]["story"] == answers[2]["story"] != answers[1]["story"]


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("id", None, '"id" must be a string or an integer, not null'),
        ("id", 1.5, '"id" must be a string or an integer, not 1.5'),
        ("id", ["a"], '"id" must be a string or an integer, not an array'),
        ("id", {"a": 1}, '"id" must be a string or an integer, not an object'),
        ("id", True, '"id" must be a string or an integer, not true'),
        ("title", None, '"title" must be a non-empty string, not null'),
        ("title", 123, '"title" must be a non-empty string, not 123'),
        ("title", ["x"], '"title" must be a non-empty string, not an array'),
        ("title", "", '"title" must be a non-empty string, not ""'),
        ("title", " ", '"title" must be a non-empty string, not " "'),
    ],
)
def test_dedup_refuses_an_id_or_title_of_the_wrong_kind_by_its_line(tmp_path, field, value, said):
    bad = {"id": "b", "title": "Two", field: value}
    code, out, err = run_dedup(tmp_path, jsonl({"id": "a", "title": "One"}, bad))
    assert (code, out) == (2, "")
    assert err == f"error: {tmp_path / 'items.jsonl'}: line 2: {said}\n"


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (b'{"id": "c", "title": "caf\xe9"}', "line 3: not UTF-8 (byte 0xe9 at offset 25)"),
        (b'{"id": "c", "title": "t", "n": ' + b"9" * 5000 + b"}", "line 3: a number with too many digits"),
        (b"[" * 100_000 + b"]" * 100_000, "line 3: arrays or objects nested too deeply"),
        (b"{not json", "line 3: not JSON (Expecting property name enclosed in double quotes)"),
    ],
)
def test_dedup_names_the_line_of_input_it_cannot_read(tmp_path, line, said):
    code, out, err = run_dedup(tmp_path, [*jsonl({"id": "a", "title": "One"}), b"", line], name="lat.jsonl")
    assert (code, out) == (2, "")
    assert err == f"error: {tmp_path / 'lat.jsonl'}: {said}\n"


def test_dedup_skips_a_byte_order_mark_in_a_file_and_on_stdin(tmp_path):
    from click.testing import CliRunner

    from digest.cli import main

    lines = jsonl({"id": "a", "title": "Meta buys a stake in Scale AI"}, {"id": 2, "title": "Chile quake"})
    code, out, err = run_dedup(tmp_path, [b"\xef\xbb\xbf" + lines[0], lines[1]])
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", 2]
    piped = CliRunner().invoke(main, ["dedup", "-"], input=b"\xef\xbb\xbf" + b"\r\n".join(lines))
    assert piped.exit_code == 0, piped.stderr
    assert piped.stdout == out


def test_report_lists_links_with_shared_terms(background):
    facts = report(dedup(load("deal.jsonl") + background))
    assert facts["totals"]["items"] == 25 and facts["totals"]["merged_stories"] == 1
    story = facts["stories"][0]
    assert {i["id"] for i in story["items"]} == {f"deal-{n}" for n in range(1, 6)}
    assert len(story["links"]) == 4
    assert all(link["layer"] == "same-event" and link["shared"] for link in story["links"])
    assert any("$10 billion" in link["shared"] for link in story["links"])
    shared = {term for link in story["links"] for term in link["shared"]}
    assert "labeling" in shared and "label" not in shared  # words as written, not stems
    json.dumps(facts)


def doubtful_day() -> list[Story]:
    """Stories joined surely, doubtfully (one join at 0.55), by copies only, and one alone."""
    take = lambda k: Item(id=k, title=f"Take {k}", url=f"https://x.org/{k}", source=k)  # noqa: E731
    doubtful_links = [Link("c", "d", "same-event", 0.93), Link("d", "e", "same-event", 0.55, ("ai",))]
    return [
        Story("sure", [take("a"), take("b")], [Link("a", "b", "same-event", 0.95)]),
        Story("copies", [take("f"), take("g")], [Link("f", "g", "same-text", 0.9)]),
        Story("alone", [take("h")]),
        Story("doubtful", [take("c"), take("d"), take("e")], doubtful_links),
    ]


def test_report_lists_the_least_sure_merge_first_and_marks_it_for_a_check():
    facts = report(doubtful_day())
    assert [s["id"] for s in facts["stories"]] == ["doubtful", "sure", "copies"]
    assert [(s["weakest"], s["check"]) for s in facts["stories"]] == [
        (0.55, True),
        (0.95, False),
        (None, False),
    ]
    assert facts["check_below"] == 0.7
    json.dumps(facts)


def report_page(stories: list[Story]) -> str:
    """report.html as a build writes it for ``stories``."""
    from digest.config import Config
    from digest.render import render_page

    config = Config.model_validate({"newsletter": {"name": "N"}, "sources": [{"name": "S", "path": "s.xml"}]})
    return render_page(config, "report.html", report=report(stories), newsletter="N", date="2026-12-05")


def test_report_page_shows_the_doubtful_merge_first_with_its_weakest_score():
    page = report_page(doubtful_day())
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == ['<span class="check">check</span> Take c', "Take a", "Take f"]
    assert "Its weakest join scored 0.55." in page and page.count("Its weakest join") == 1
    assert "a score below 0.70" in page


def test_two_firms_like_news_joined_on_a_large_day_is_marked_for_a_check_whatever_its_score():
    # past 100 takes two headlines about two names may join (the rule that keeps them apart
    # costs recall there); the model was sure of this pair, so no low score marked it
    rounds = [
        (
            "sierra",
            "Sierra raises $350 million at a $10 billion valuation",
            "Sierra, the customer-service AI startup, raised $350 million at a $10 billion valuation.",
        ),
        (
            "mercor",
            "Mercor hits $10 billion valuation with $350 million Series C",
            "Mercor, which hires experts to train AI, raised $350 million at a $10 billion valuation.",
        ),
    ]
    takes = [
        Item(id=k, title=t, url=f"https://{k}.example/", source=k, summary=lead, published=T0)
        for k, t, lead in rounds
    ]
    stories = dedup(takes + _filler(120))
    [joined] = [s for s in stories if len(s.items) > 1]
    assert {i.id for i in joined.items} == {
        "sierra",
        "mercor",
    }  # two firms, one story: the join to mark
    [facts] = report(stories)["stories"]
    assert facts["check"] and facts["links"][0]["doubt"] == "the two headlines are about two names"
    page = report_page(stories)
    assert '<span class="check">check</span>' in page and "yet the two headlines are about two names" in page
    assert "Its weakest join" not in page  # the score is no reason here
    # the same two in a small batch stay apart
    assert all(len(s.items) == 1 for s in dedup(takes))


def test_a_join_the_headlines_doubt_is_undone_under_its_bar(monkeypatch: pytest.MonkeyPatch):
    # Sierra's and Mercor's rounds join at a score above the bar (0.7): marked, kept.
    # Under it, undone: the two takes are two stories, and no link or mark is left of the join
    takes = [
        Item(id=k, title=t, url=f"https://{k}.example/", source=k, summary=lead, published=T0)
        for k, t, lead in (
            (
                "sierra",
                "Sierra raises $350 million at a $10 billion valuation",
                "Sierra raised $350 million.",
            ),
            (
                "mercor",
                "Mercor hits $10 billion valuation with $350 million Series C",
                "Mercor raised $350 million.",
            ),
        )
    ]
    day = takes + _filler(120)
    [joined] = [s for s in dedup(day) if len(s.items) > 1]
    score = joined.links[0].similarity
    assert joined.links[0].doubt and score >= engine.UNDONE_BELOW
    monkeypatch.setattr(engine, "UNDONE_BELOW", score + 0.01)
    stories = dedup(day)
    assert len(stories) == len(day) and not [link for s in stories for link in s.links]


def test_report_page_does_not_round_a_doubtful_score_up_to_the_mark():
    take = lambda k: Item(id=k, title=f"Take {k}", url=f"https://x.org/{k}", source=k)  # noqa: E731
    page = report_page([Story("close", [take("a"), take("b")], [Link("a", "b", "same-event", 0.698)])])
    assert "Its weakest join scored 0.698." in page  # not "0.70", which is not below 0.70
    assert "<td>0.698</td>" in page and "<td>0.70</td>" not in page  # the link's row says the same


def test_already_published_finds_a_reworded_take(background):
    deal = load("deal.jsonl")
    earlier = [replace(deal[0], published=T0 - timedelta(days=2))]
    today = [replace(i, published=T0 + timedelta(days=1)) for i in (deal[2], deal[4])]
    stories = dedup(today + load("quakes.jsonl") + background)
    found = already_published(stories, earlier, DedupSettings())
    deal_story = story_of(stories)["deal-3"]
    assert found == {deal_story}


def test_already_published_drops_only_stories_that_are_all_retold(background):
    deal, quakes = load("deal.jsonl"), load("quakes.jsonl")
    earlier = [replace(deal[0], published=T0 - timedelta(days=1))]
    retold, also = (replace(i, published=T0) for i in (deal[2], deal[4]))
    first, second = (replace(i, published=T0) for i in quakes[:2])
    stories = [Story("retold", [retold]), Story("mixed", [also, first]), Story("new", [second])]
    # a story with one new take is kept whole: a wrong match must not lose it
    assert already_published(stories, earlier, DedupSettings()) == {"retold"}
    assert retold_takes(stories, earlier, DedupSettings()) == {retold.id, also.id}  # not first's


def test_already_published_matches_another_take_only_within_the_window(background):
    deal = load("deal.jsonl")
    earlier = [replace(deal[0], published=T0 - timedelta(days=6))]
    later = [replace(deal[2], published=T0)]  # another outlet, six days on: another event
    same = [replace(deal[0], id="again", published=T0)]  # the same article, still in its feed
    settings = DedupSettings()  # window_days 3, memory_days 7
    assert already_published(dedup(later + background), earlier, settings) == set()
    stories = dedup(same + background)
    assert already_published(stories, earlier, settings) == {story_of(stories)["again"]}


def post(source: str, key: str, title: str, text: str, day: int, **more: object) -> Item:
    """A post of ``source``'s feed on day ``day`` after T0 (its link ends in ``key``)."""
    url = more.pop("url", f"https://{source.lower().replace(' ', '')}.example/{key}")
    published = T0 + timedelta(days=day)
    return Item(id=key, title=title, url=url, source=source, summary=text, published=published, **more)


def series(day: int) -> list[Item]:
    """The day's instalment of three series, each told as the day before in other numbers."""
    topics = ["reasoning with small models", "agents that browse the web", "video diffusion at scale"]
    guests = ["Hamel Husain on evals", "Chip Huyen on machine learning systems", "Simon Willison on tools"]
    date, topic, guest, version = f"2025-06-{10 + day}", topics[day], guests[day], f"1.{day + 2}.0"
    papers = f"Today's top trending papers: {topic}, plus eleven more from the community."
    release = f"Acme Tool v{version} released. Highlights: {topics[day - 1]} support, {17 + day} bug fixes."
    return [
        post("Papers", f"papers-{day}", f"Daily Papers {date}", papers, day),
        post("Acme", f"release-{day}", f"Acme Tool v{version}", release, day),
        post("Practical AI", f"episode-{day}", f"Practical AI podcast episode {120 + day}", guest, day),
    ]


def test_the_next_instalment_of_a_series_is_not_taken_for_the_one_published(background):
    earlier = series(0)  # the papers of the 10th, v1.2.0 and episode 120 went out
    still = [replace(item, id=f"{item.id}-again") for item in earlier]  # still in their feeds
    stories = dedup(series(1) + still + background)
    assert retold_takes(stories, earlier, DedupSettings()) == {item.id for item in still}
    assert already_published(stories, earlier, DedupSettings()) == {story_of(stories)[i.id] for i in still}


def two_episodes() -> list[Item]:
    """Two episodes of a show whose notes under each are the same boilerplate."""
    notes = (
        " Subscribe to Practical AI on Apple Podcasts, Spotify or wherever you listen. Join the "
        "community at practicalai.fm/community and follow us on X and LinkedIn. Sponsored by "
        "Fly.io, the home of Changelog.com. Our theme music is by Breakmaster Cylinder."
    )
    show = partial(post, "Practical AI")
    return [
        show("evals", "Evals that matter, with Hamel Husain", "Hamel joins us to talk evals." + notes, 0),
        show("systems", "Building ML systems, with Chip Huyen", "Chip talks about ML systems." + notes, 1),
    ]


def test_two_posts_of_one_feed_are_two_stories_however_alike(background):
    episodes = two_episodes()
    daily = [
        post("Roundup", f"issue-{n}", "Your daily AI roundup", f"Today: {t}.", n)
        for n, t in (
            (0, "reasoning models and a chip export rule"),
            (1, "robot arms for warehouses and a court ruling on training data"),
        )
    ]
    stories = dedup(episodes + daily + background)
    assert not together(stories, ["evals", "systems"]) and not together(stories, ["issue-0", "issue-1"])
    # nor does one tell the other again in a later issue
    assert retold_takes(dedup(episodes[1:] + background), episodes[:1], DedupSettings()) == set()
    assert retold_takes(dedup(daily[1:] + background), daily[:1], DedupSettings()) == set()
    # while another outlet's copy of a title, or the same post at a new link, is one item
    copy = replace(daily[1], id="copy", source="Digest Mirror", url="https://mirror.example/roundup")
    moved = replace(episodes[1], id="moved", url="https://practicalai.fm/systems", guid="ep-2")
    stories = dedup([*daily, copy, replace(episodes[1], guid="ep-2"), moved, *background])
    assert together(stories, ["issue-1", "copy"]) and together(stories, ["systems", "moved"])


def test_a_relayed_copy_of_one_post_does_not_join_it_to_the_feeds_other_post(background):
    # the copy has the title of one episode and, with the show's notes, a text like both:
    # joined to each as a copy, it made the two episodes one group of copies
    episodes = two_episodes()
    relay = replace(
        episodes[1], id="relay", source="Practical AI (via Podcasts)", url="https://pods.example/s"
    )
    for order in ([*episodes, relay], [relay, *episodes]):
        stories = dedup([*order, *background])
        assert together(stories, ["systems", "relay"]) and not together(stories, ["evals", "systems"])


def test_a_guid_names_a_post_of_its_own_feed_only(background):
    arm = post(
        "Alpha", "arm", "Acme unveils a robot arm for grocery warehouses", "It sorts produce.", 0, guid="1"
    )
    act = post("Beta", "act", "EU delays parts of the AI Act by a year", "Big models wait.", 0, guid="1")
    assert not together(dedup([arm, act, *background]), ["arm", "act"])  # a feed's "1" is not another's
    assert retold_takes(dedup([act, *background]), [arm], DedupSettings()) == set()
    # in one feed, one GUID is one post, though its title or link changed since
    updated = replace(arm, id="updated", title="Acme's Picker 3 arm sorts produce, and now eggs too")
    moved = replace(arm, id="moved", url="https://alpha.example/2025/arm")
    assert retold_takes(dedup([updated, moved, *background]), [arm], DedupSettings()) == {"updated", "moved"}


def test_a_new_post_at_a_link_its_feed_reuses_is_not_taken_for_the_published_one(background):
    page = "https://docs.acme.example/release-notes"  # each entry links to its anchor on one page
    notes = partial(post, "Acme docs", url=page)
    published = notes("notes-0", "API release notes: June 10", "Files take PDFs of 100 pages.", 0, guid="n0")
    today = notes(
        "notes-1", "API release notes: June 11", "Prompt caching comes to all regions.", 1, guid="n1"
    )
    again = replace(published, id="again")  # the published entry, still in its feed
    stories = dedup([today, again, *background])
    assert not together(stories, ["notes-1", "again"])
    assert retold_takes(stories, [published], DedupSettings()) == {"again"}


def test_two_thousand_synthetic_items_cluster():
    rng = random.Random(7)
    vocab = sorted(
        {
            "".join(rng.choices("bcdfghklmnprstvz", k=3)) + "".join(rng.choices("aeiou", k=2))
            for _ in range(3000)
        }
    )
    items = []
    for event in range(500):
        core = rng.sample(vocab, 8)
        for take in range(4):
            words = core[:6] + rng.sample(vocab, 4)
            rng.shuffle(words)
            items.append(
                Item(
                    id=f"e{event}-{take}",
                    title=" ".join(words[:6]),
                    url=f"https://s.org/{event}/{take}",
                    source=f"S{take}",
                    summary=" ".join(words),
                    published=T0 + timedelta(hours=event),
                )
            )
    stories = dedup(items)
    assert sum(len(s.items) for s in stories) == 2000
    assert 400 <= len(stories) < 2000


DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"


def test_demo_day_merges_the_five_deal_takes_and_nothing_else(tmp_path):
    """The demo run exactly as the pipeline builds it: a small day, where batch idf makes
    one shared word look rare. The five takes on the Meta–Scale AI deal are one story
    (one of them says "billions", not "$10 billion"); nothing else merges."""
    import shutil

    from digest.build import collect, dedup_settings
    from digest.config import load_config
    from digest.store import Store

    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo)
    config = load_config(demo / "sources.yaml")
    with Store(demo / "st.sqlite") as store:
        items, _ = collect(config, store)
    stories = dedup(items, dedup_settings(config))
    merged = [s for s in stories if len(s.items) > 1]
    titles = [sorted(i.title for i in s.items) for s in merged]
    assert len(merged) == 1, titles
    deal = merged[0]
    assert len(deal.items) == 5, titles
    assert all("Meta" in i.title for i in deal.items)
    assert any(i.title == "Meta to spend billions on data deal" for i in deal.items)
    assert sum(len(s.items) for s in stories) == len(items)


def titled(titles: list[str]) -> list[Item]:
    """Title-only items, each from its own source."""
    return [
        Item(id=str(k), title=t, url=f"https://example.org/{k}", source=f"s{k}") for k, t in enumerate(titles)
    ]


def test_word_vectors_see_a_rewording_that_shares_no_word():
    from digest.dedup.vectors import prepare

    titles = [
        "Meta buys a big stake in Scale AI",
        "Facebook owner acquires large share of data labeling startup",
        "Earthquake shakes northern Japan, tsunami warning lifted",
        "zzqx qqzz",
    ]
    items = [
        Item(id=str(k), title=t, url=f"https://example.org/{k}", source=f"s{k}") for k, t in enumerate(titles)
    ]
    deal, reworded, other, unknown = prepare(items).meaning
    assert float(deal @ reworded) > float(deal @ other) + 0.1
    assert not unknown.any()  # no known word: a zero vector, similar to nothing


def test_takes_in_other_words_become_candidates_by_meaning():
    from digest.dedup.pairs import candidates
    from digest.dedup.vectors import prepare

    titles = [
        "Carmaker recalls half a million vehicles over faulty brakes",
        "Automaker pulls 500,000 cars back to fix braking defect",
        "Central bank holds interest rates steady",
        "Heavy snow closes mountain passes",
        "Museum returns looted statues to Greece",
    ]
    prep = prepare(titled(titles))
    by_terms = set(zip(*(a.tolist() for a in candidates(prep, 3.0, 20, 0.05, 0))))
    by_meaning = set(zip(*(a.tolist() for a in candidates(prep, 3.0, 20, 0.05, 1))))
    assert (0, 1) not in by_terms  # no rare term in common
    assert (0, 1) in by_meaning


def test_items_of_no_known_word_get_no_neighbours_by_meaning():
    from digest.dedup.pairs import candidates
    from digest.dedup.vectors import prepare

    unknown = [f"zqx{n}a zqx{n}b zqx{n}c" for n in range(6)]  # words the vectors do not know
    known = ["Carmaker recalls half a million vehicles", "Automaker pulls 500,000 cars back"]
    prep = prepare(titled(unknown + known))
    assert not prep.meaning[:6].any()
    found = set(zip(*(a.tolist() for a in candidates(prep, 3.0, 20, 0.05, 2))))
    assert found == {(6, 7)}  # zero vectors used to tie and pair at random with everyone


def test_tree_model_walks_each_tree_to_its_leaf(tmp_path):
    from digest.dedup import model
    from digest.dedup.pairs import FEATURES

    # two stumps on cos_title (feature 0) and cos_lead (feature 1), baseline -1
    stump = {"left": [1, -1, -1], "right": [2, -1, -1], "value": [0.0, -2.0, 3.0]}
    trees = [{**stump, "feature": [0, 0, 0], "threshold": [0.5, 0, 0]}]
    trees.append({**stump, "feature": [1, 0, 0], "threshold": [0.2, 0, 0], "value": [0.0, 0.0, 1.0]})
    path = tmp_path / "trees.json"
    path.write_text(json.dumps({"features": list(FEATURES), "baseline": -1.0, "depth": 1, "trees": trees}))
    x = np.zeros((3, len(FEATURES)))
    x[1, 0] = 0.9  # right in the first tree: -1 + 3
    x[2, 0], x[2, 1] = 0.9, 0.5  # right in both: -1 + 3 + 1
    logit = -1.0 + np.array([-2.0, 3.0, 4.0])
    assert np.allclose(model.probability(x, path=path), 1 / (1 + np.exp(-logit)))
    assert "trees" in model.load()  # the shipped model is the boosted trees


def test_meaning_neighbors_match_a_brute_force_search_within_the_window():
    from types import SimpleNamespace

    from scipy import sparse

    from digest.dedup.pairs import candidates

    rng = np.random.default_rng(1)
    n, k, window = 600, 4, 3.0
    days = rng.uniform(0, 30, n)
    days[rng.random(n) < 0.2] = np.nan  # undated items meet everyone
    vecs = rng.normal(size=(n, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    prep = SimpleNamespace(days=days, meaning=vecs, blocking=sparse.csr_matrix((n, 5), dtype=np.float32))
    found = set(zip(*(a.tolist() for a in candidates(prep, window, 0, 0.05, k))))
    expected = set()
    for row in range(n):
        sim = vecs @ vecs[row]
        sim[row] = -np.inf
        if not np.isnan(days[row]):
            sim[np.abs(days - days[row]) > window] = -np.inf
        expected |= {(min(row, c), max(row, c)) for c in np.argsort(-sim)[:k] if np.isfinite(sim[c])}
    assert found == expected


def test_a_hostile_title_is_read_only_as_far_as_a_headline_goes():
    from digest.dedup.vectors import BODY_CHARS, TITLE_CHARS, item_fields

    huge = Item(id="h", title="Meta " * 200_000, url="https://example.org/h", source="s", summary="x" * 9999)
    title, body = item_fields(huge)
    assert len(title) <= TITLE_CHARS and len(body) <= BODY_CHARS
    stories = dedup([huge, Item(id="m", title="Meta buys a stake", url="https://example.org/m", source="t")])
    assert sorted(len(s.items) for s in stories) == [1, 1]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--headline-share", "2"], "--headline-share must be between 0 and 1, not 2.0"),
        (["--headline-weight", "0"], "--headline-weight must be above 0, not 0.0"),
        (["--single-share", "-0.1"], "--single-share must be between 0 and 1, not -0.1"),
        (["--odd", "--even"], "argument --even: not allowed with argument --odd"),
        (["--pools", "1k"], "--pools takes whole numbers above 0 separated by commas, not '1k'"),
        (["--pools", "300,0"], "--pools takes whole numbers above 0 separated by commas, not '300,0'"),
        (["--batches", "3e2"], "--batches takes whole numbers above 0 separated by commas, not '3e2'"),
        (["--grid", "0.3,x"], "--grid takes thresholds between 0 and 1 separated by commas, not '0.3,x'"),
        (["--grid", "30"], "--grid takes thresholds between 0 and 1 separated by commas, not '30'"),
        (["--mixed", "-1"], "--mixed must be 0 or more, not -1"),
        (["--beats", "-2"], "--beats must be 0 or more, not -2"),
        (["--beat-test", "-1"], "--beat-test must be 0 or more, not -1"),
        (["--beat-size", "1"], "--beat-size must be 2 or more, not 1"),
        (["--beat-single", "1.5"], "--beat-single must be between 0 and 1, not 1.5"),
        (["--beat-weight", "0"], "--beat-weight must be above 0, not 0.0"),
        (["--beat-weight", "inf"], "--beat-weight must be above 0, not inf"),
        (["--mixed", "1.5k"], "argument --mixed: invalid int value: '1.5k'"),
    ],
)
def test_train_dedup_refuses_bad_options_in_one_line(args, said):
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "train_dedup.py"
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith(said)


@pytest.mark.parametrize("sizes", ["1k", "1000,0", "-5"])
def test_dedup_bench_refuses_sizes_that_are_not_whole_numbers_in_one_line(sizes):
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "dedup_bench.py"
    done = subprocess.run(
        [sys.executable, str(script), "--sizes", sizes], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    said = f"--sizes takes whole numbers above 0 separated by commas, not {sizes!r}"
    assert done.stderr.strip().splitlines()[-1].endswith(said)


def _train_dedup_module():
    import importlib.util

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "train_dedup.py"
    spec = importlib.util.spec_from_file_location("train_dedup", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_dedup_scores_pools_of_whole_events(capsys):
    train_dedup = _train_dedup_module()
    words = ["Nvidia", "Apple", "Tesla", "Boeing", "Pfizer", "Intel", "Oracle", "Airbus", "Shell", "Sony"]
    items, gold = [], []
    for e, word in enumerate(words):  # ten events of three copies of one headline
        for k in range(3):
            url = f"https://example.org/{e}/{k}"
            items.append(Item(id=f"{e}-{k}", title=f"{word} reports record sales", url=url, source=f"s{k}"))
            gold.append(f"event-{e}")
    settings = train_dedup.DedupSettings()
    train_dedup.pool_sweep("right", list(zip(items, gold)), settings, [0.3], size=9)
    paired_gold = [f"pair-{k // 6}" for k in range(len(gold))]  # gold that calls two events one
    train_dedup.pool_sweep("paired", list(zip(items, paired_gold)), settings, [0.3], size=9)
    same = [replace(it, title="Chipmaker reports record sales") for it in items]  # one headline for all
    train_dedup.pool_sweep("same", list(zip(same, gold)), settings, [0.3], size=3)
    right, right_single, paired, paired_single, alone, alone_single = capsys.readouterr().out.splitlines()
    # pools of one event each are scored apart: the headline they share joins nothing across pools
    assert alone.startswith("same pools of 3 (x10)") and alone.endswith("P 1.000  R 1.000  F1 1.000")
    assert right.startswith("right pools of 9 (x3)") and right.endswith("P 1.000  R 1.000  F1 1.000")
    # pools of two 6-item "events" (the last 6 items make too small a pool); each splits in two
    assert paired.startswith("paired pools of 9 (x2)") and paired.endswith("P 1.000  R 0.500  F1 0.667")
    # each pool again with half of its events cut to one take: a lone take is right alone
    assert right_single.startswith("right pools of 9, half single") and right_single.endswith("F1 1.000")
    assert alone_single.startswith("same pools of 3, half single") and alone_single.endswith("F1 1.000")
    assert paired_single.startswith("paired pools of 9, half single") and " R 0.500" not in paired_single


def test_singles_cuts_a_share_of_the_events_to_their_first_take():
    train_dedup = _train_dedup_module()
    rows = [(f"{e}-{k}", f"event-{e}") for e in range(40) for k in range(3)]
    cut = train_dedup.singles(rows, 0.5, seed=1)
    sizes = {}
    for key, gold in cut:
        sizes.setdefault(gold, []).append(key)
    assert set(sizes) == {f"event-{e}" for e in range(40)}  # no event is lost
    alone = [g for g, keys in sizes.items() if len(keys) == 1]
    assert 10 <= len(alone) <= 30  # about half
    assert all(sizes[g] == [g.removeprefix("event-") + "-0"] for g in alone)  # the first take stays
    assert all(len(keys) == 3 for g, keys in sizes.items() if g not in alone)  # the others are whole
    assert train_dedup.singles(rows, 0.5, seed=1) == cut  # seeded
    assert train_dedup.singles(rows, 0.0, seed=1) == rows


def test_beat_batches_hold_the_nearest_events_of_one_beat_mostly_cut_to_one_take():
    train_dedup = _train_dedup_module()
    beats = {
        "chip": ["Nvidia export rules", "Intel foundry deal", "AMD accelerator launch", "Arm license fight"],
        "court": [
            "Supreme asylum ruling",
            "Appeals tariff ruling",
            "Judge blocks merger",
            "Vaccine mandate case",
        ],
        "storm": ["Hurricane hits Florida", "Tornado hits Kansas", "Floods in Texas", "Season forecast"],
    }  # each event's headline names its beat: "chip", "court" or "storm"

    def take(beat: str, e: int, headline: str, k: int) -> tuple[Item, str]:
        title, url = f"{beat.title()} news: {headline}, take {k}", f"https://x.org/{beat}/{e}/{k}"
        return Item(id=f"{beat}-{e}-{k}", title=title, url=url, source=f"s{k}"), f"{beat}-{e}"

    rows = [take(b, e, h, k) for b, events in beats.items() for e, h in enumerate(events) for k in range(3)]
    batches = train_dedup.beat_batches(rows, size=12, count=6, single_share=0.5, seed=1)
    assert len(batches) == 6
    for batch in batches:
        topics = {gold.split("-")[0] for _, gold in batch}
        assert len(topics) == 1, topics  # the 12 nearest takes of an event are its beat's
        takes = {}
        for item, gold in batch:
            takes.setdefault(gold, []).append(item.id)
        assert len(takes) == 4  # every event of the beat, none lost
        assert all(len(ids) in (1, 3) for ids in takes.values())  # whole, or cut to one take
        assert all(ids[0].endswith("-0") for ids in takes.values())  # the first take stays
    assert sum(len(b) for b in batches) < 6 * 12  # some events were cut to one take
    assert train_dedup.beat_batches(rows, size=12, count=6, single_share=0.5, seed=1) == batches  # seeded
    assert train_dedup.beat_batches(rows, size=12, count=0, single_share=0.5) == []
    # an event as large as a batch still shares it: a batch of one event would test nothing
    big = [take("chip", 9, "Samsung memory plant", k) for k in range(15)] + rows
    assert all(len({g for _, g in b}) >= 2 for b in train_dedup.beat_batches(big, 12, 40, 0.0, seed=1))


def test_train_dedup_scores_a_held_out_part_among_other_files_takes_counting_only_its_own(capsys):
    train_dedup = _train_dedup_module()

    def rows(prefix: str, titles: list[str], copies: int) -> list:
        return [
            (
                Item(
                    id=f"{prefix}{e}-{k}",
                    title=title,
                    url=f"https://example.org/{prefix}{e}/{k}",
                    source=f"s{k}",
                ),
                f"{prefix}{e}",
            )
            for e, title in enumerate(titles)
            for k in range(copies)
        ]

    own = rows("own", ["Nvidia reports record sales", "Boeing delays its new jet"], 3)
    # another file's event told in nearly the same words as the first: its copies join it
    # (same text), which counts against precision only if the other file's takes are scored
    close = rows("other", ["Nvidia reports record sales today", "Tesla recalls its trucks"], 2)
    same_title = rows("copy", ["NVIDIA reports record sales!"], 1)  # one of own's articles again
    extra = train_dedup.distractors(own, close + same_title, size=100)
    assert sorted(it.id for it, _ in extra) == ["other0-0", "other0-1", "other1-0", "other1-1"]
    assert {g for _, g in extra}.isdisjoint(g for _, g in own)

    settings = train_dedup.DedupSettings()
    train_dedup.mixed_sweep("own", own, close + same_title, settings, [0.3], size=100)
    train_dedup.sweep("all", [own + extra], settings, [0.3])
    mixed, everything = capsys.readouterr().out.splitlines()
    assert mixed.startswith("own among 4 others") and mixed.endswith("P 1.000  R 1.000  F1 1.000")
    assert everything.startswith("all") and " P 1.000" not in everything  # the join costs precision


def test_train_dedup_never_learns_from_an_article_held_out_of_another_file():
    train_dedup = _train_dedup_module()

    def item(key: str, title: str) -> Item:
        return Item(id=key, title=title, url=f"https://example.org/{key}", source="s")

    first = [
        item("a1", "Meta buys a stake in Scale AI"),
        item("a2", "Nvidia unveils a new chip"),
        item("a3", ""),
    ]
    second = [
        item("b1", "META buys a stake in Scale AI!"),
        item("b2", "Apple delays its headset"),
        item("b3", ""),
    ]
    files = [
        ("first", first, ["m", "n", "o"], [True, False, True]),  # "m" and "o" are held out
        ("second", second, ["x", "y", "z"], [False, False, False]),
    ]
    (rows_first, dropped_first), (rows_second, dropped_second) = train_dedup.training_rows(files)
    assert [it.id for it, _ in rows_first] == ["a2"] and dropped_first == 0
    assert [it.id for it, _ in rows_second] == ["b2", "b3"] and dropped_second == 1


def test_amounts_are_shown_as_an_editor_writes_them():
    from digest.dedup.text import display_amount

    assert display_amount("$4e+08") == "$400 million"  # not "$4e+02 million"
    assert display_amount("€2.2e+08") == "€220 million"
    assert display_amount("$1.43e+10") == "$14.3 billion"
    assert display_amount("$1e+10") == "$10 billion"
    assert display_amount("$2.5e+12") == "$2.5 trillion"
    assert display_amount("%50") == "50%" and display_amount("2026") == "2026"


@pytest.mark.parametrize(
    ("title", "lead", "subject"),
    [
        ("Nvidia shares jump after earnings beat", "Nvidia stock rose 6% late on Tuesday.", "nvidia"),
        ("AMD's new chip ships", "AMD said the MI400 ships in June.", "amd"),
        ("xAI signs cloud deal with Oracle", "Elon Musk's xAI has agreed to rent servers.", "xai"),
        ("The EU fines Apple", "The European Commission fined Apple.", "apple"),  # the first name repeated
        ("Researchers find a flaw", "A team at MIT found that models fail.", ""),  # not named again
        ("Authors sue Salesforce over AI data", "Two novelists sued Salesforce on Monday.", "salesforce"),
        ("The five new things that OpenAI shipped", "OpenAI shipped five things.", ""),  # past four words
        ("nvidia shares jump", "nvidia stock rose.", ""),  # no capital, no name
    ],
)
def test_a_headline_s_subject_is_an_early_name_its_lead_repeats(title, lead, subject):
    assert headline_subject(title, lead) == subject


@pytest.mark.parametrize(
    ("title", "lead", "ways"),
    [
        ("China's DeepSeek releases V4 model", "China's DeepSeek released V4.", ("china", "deepseek")),
        ("Musk's xAI releases Grok 5", "Musk's xAI released Grok 5.", ("musk", "xai")),
        ("DeepSeek-V4 (huggingface.co)", "DeepSeek-V4 is out.", ("deepseek-v4", "deepseek")),
        ("Nvidia shares jump", "Nvidia stock rose.", ("nvidia",)),
        ("Nvidia's Huang says little", "Nvidia stock rose.", ("nvidia",)),  # Huang: not in the lead
        ("Researchers find a flaw", "A team at MIT found it.", ()),
    ],
)
def test_a_headline_writes_its_subject_as_an_owner_s_name_or_a_compound(title, lead, ways):
    assert subject_names(title, headline_names(title, lead)) == ways


def test_one_firm_s_release_told_as_a_compound_and_with_its_country_is_one_story():
    # "China's DeepSeek" had the subject "china", and "DeepSeek-V4" one "deepseek" never
    # wrote as such: the two-names rule parted a forum's link post from the wire's report
    link = Item(
        "link", "DeepSeek-V4 (huggingface.co)", "https://forum.example/1", "Forum", text="DeepSeek-V4."
    )
    wire = Item(
        "wire",
        "China's DeepSeek releases V4 model, says it rivals top US systems",
        "https://wire.example/v4",
        "Wire",
        summary="China's DeepSeek on Tuesday released V4, a new version of its flagship AI model.",
    )
    for others in ([], _filler(30)):
        stories = dedup([link, wire, *others])
        assert together(stories, ["link", "wire"]) and len(stories) == len(others) + 1


@pytest.mark.parametrize(
    ("other", "why"),
    [
        ("Llama 5 (ai.meta.com)", "a forum's post of a link"),
        ("Show HN: I ran Llama 5 on my laptop", "a forum's post"),
        ("Is Llama 5 the open model to beat?", "a question"),
        ("Llama 5: what it means for open models", "an explainer"),
        ("Llama 5", "a name for a headline, no news"),
        ("Meta's Llama 5", "a name for a headline, no news"),
    ],
)
def test_a_report_fronts_its_story_over_a_take_that_only_points_at_the_event(other: str, why: str) -> None:
    # one weight, and the other take's text two characters longer: it fronted the story
    said = "Meta released Llama 5 on Tuesday, its first open-weight models since Llama 4"
    headline = "Meta releases Llama 5 open-weight models"
    report_take = Item("report", headline, "https://news.example/l5", "News", summary=f"{said}.")
    pointer = Item("pointer", other, "https://forum.example/l5", "Forum", summary=f"{said} came out.")
    assert _order(pointer, report_take) == ["report", "pointer"], why
    opinion = replace(
        pointer,
        title="Meta's Llama 5 and the open model race",
        summary="Meta released Llama 5 on Tuesday, its first open models in a year. I think it got it right.",
    )
    assert _order(opinion, report_take)[0] == "report"  # a lead in the first person is a column's
    quoted = replace(
        opinion, summary='"I think we got it right," Mark Zuckerberg said of Llama 5 on Tuesday at length.'
    )
    assert (
        _order(quoted, report_take)[0] == "pointer"
    )  # a quote's "I" is its speaker's: the longer take fronts


def test_a_short_headline_that_tells_news_is_a_report() -> None:
    said = "Nvidia agreed on Sunday to buy the chip designer Arm from SoftBank for $40 billion"
    report_take = Item("report", "Nvidia buys Arm", "https://news.example/arm", "News", summary=f"{said}.")
    column = Item("column", "Why Nvidia wanted Arm so badly", "https://blog.example/arm", "Blog")
    column = replace(column, summary=f"{said}. I think it paid too much.")
    assert _order(column, report_take) == ["report", "column"]  # three words, but a purchase
    # Chinese is written without spaces: its words are not counted, and a question is no report
    question = Item("q", "英伟达会收购Arm吗?", "https://cn.example/q", "CN", summary=f"{said}, sources said.")
    deal = Item("deal", "英伟达同意以400亿美元收购Arm", "https://cn.example/d", "CN2", summary=f"{said}.")
    assert _order(question, deal) == ["deal", "q"]


def test_a_headline_that_names_the_firm_fronts_one_that_only_describes_it() -> None:
    said = "Meta signed a deal with Entergy for 2.2 gigawatts of nuclear power for its Louisiana data center"
    described = Item(
        "ap",
        "Facebook parent signs nuclear power deal",
        "https://ap.example/1",
        "AP",
        summary=f"{said}, it said.",
    )
    named = Item(
        "bb", "Meta strikes nuclear power deal with Entergy", "https://bb.example/1", "BB", summary=f"{said}."
    )
    assert _order(described, named) == ["bb", "ap"]  # the described take's text is longer
    both = replace(described, title="Facebook parent Meta signs nuclear power deal")
    assert _order(both, named) == ["ap", "bb"]  # it names Meta too: the longer text fronts
    assert describes_only("ChatGPT maker to buy Loomwright") and not describes_only(
        "Claude maker Anthropic raises"
    )
    assert not describes_only("Google parent Alphabet posts results")  # named by another of its names
    started = time.perf_counter()
    assert not describes_only("facebook parent " * 6000 + "meta")  # each firm looked for once
    assert time.perf_counter() - started < 2


def test_a_report_fronts_its_story_over_the_firm_s_own_announcement() -> None:
    # "Introducing o5" fronted o5's story: its headline does not say whose o5, and its
    # lead speaks as "we"; a report of one weight says who did what
    said = "OpenAI on Tuesday released o5, a reasoning model it says leads coding benchmarks."
    report_take = Item(
        "report", "OpenAI debuts o5, claiming top marks", "https://news.example/o5", "News", summary=said
    )
    own = "Today we're releasing o5, our most capable reasoning model yet, to every paid plan at once."
    announcement = Item("own", "Introducing o5", "https://openai.example/o5", "OpenAI", summary=own)
    assert _order(announcement, report_take)[0] == "report"
    # "US" is a country, not "us": a longer report that names it still fronts
    wire = replace(announcement, title="OpenAI releases o5 in the US", summary=f"{said} In the US first.")
    assert _order(wire, report_take)[0] == "own"


def _order(*takes: Item) -> list[str]:
    """The ids of ``takes`` in the order of the story the editor made of them, the front first."""
    [story] = dedup(list(takes), together=[[take.id for take in takes]])
    return [item.id for item in story.items]


def test_a_firm_s_own_post_is_about_the_firm_its_source_names():
    # Vexa's own post does not name Vexa in its lead ("We are announcing a Series D…"), so
    # its headline had no subject, and the two-names rule let it join another firm's round
    # that shared "Series", "raises" and "led"
    own = "We are announcing a Series D of €2.7B, led by ASML and MGX, with our existing investors."
    other = "Quillo, whose app summarizes meetings, has raised an $80 million Series B led by Index Ventures."
    takes = [
        Item(
            "own",
            "Vexa AI raises €2.7B Series D",
            "https://vexa.example/news",
            "Vexa AI News",
            T0,
            summary=own,
        ),
        Item(
            "other",
            "AI notetaker Quillo raises $80M Series B",
            "https://tc.example/q",
            "TechCrunch",
            T0,
            summary=other,
        ),
    ]
    for filler in (0, 96):
        assert all(len(story.items) == 1 for story in dedup(takes + _filler(filler))), filler


def test_a_forum_s_link_post_joins_its_story_on_its_title_alone():
    # "Claude Haiku 5 (anthropic.com)" has no text: its title's few terms never made the
    # three a pair must share, and the link post was a story of its own
    own = "Claude Haiku 5 is our fastest model yet, with computer use, at $1 per million input tokens."
    report_lead = (
        "Anthropic released Claude Haiku 5 on Tuesday, a small model priced at $1 per million input tokens."
    )
    takes = [
        Item(
            "hn",
            "Claude Haiku 5 (anthropic.com)",
            "https://www.anthropic.com/news/haiku-5",
            "Hacker News",
            T0,
        ),
        Item(
            "own",
            "Introducing Claude Haiku 5",
            "https://anthropic.example/haiku-5",
            "Anthropic",
            T0,
            summary=own,
        ),
        Item(
            "tc",
            "Anthropic's Claude Haiku 5 undercuts OpenAI",
            "https://tc.example/h",
            "TechCrunch",
            T0,
            summary=report_lead,
        ),
    ]
    [story] = dedup(takes)
    assert {item.id for item in story.items} == {"hn", "own", "tc"} and story.items[-1].id == "hn"


def test_a_link_post_of_a_name_and_its_version_joins_the_story_of_that_version():
    # "Grok 5 (x.ai)" has one term, "grok", a number being none: it stayed a story of its
    # own however sure the model was. The name with its version is its second term, and
    # the post of another version stays apart
    lead = "Elon Musk's xAI released Grok 5 on Tuesday, claiming it beats every rival on reasoning tests."
    takes = [
        Item("hn", "Grok 5 (x.ai)", "https://x.ai/news/grok-5", "Hacker News", T0),
        Item("tc", "Musk's xAI releases Grok 5, claiming it beats its rivals", "https://tc.example/g5",
             "TechCrunch", T0, summary=lead),
        Item("bi", "Elon Musk says Grok 5 is the 'smartest AI in the world'", "https://bi.example/g5",
             "Business Insider", T0, summary=lead.replace("released", "launched")),
        Item("old", "Grok 4 (x.ai)", "https://x.ai/news/grok-4", "Lobsters", T0),
    ]  # fmt: skip
    for filler in (0, 120):
        stories = dedup(takes + _filler(filler))
        assert together(stories, ["hn", "tc", "bi"]), filler
        assert not together(stories, ["old", "tc"]) and not together(stories, ["old", "hn"]), filler
    assert versions("OpenAI launches GPT-5.5 with a 2M context") == {("gpt", "5.5")}
    assert versions("Mistral raises 500 million") == versions("Shares up 5% on Tuesday") == set()
    started = time.monotonic()  # read in one pass: a run of "a'a'a'…" took minutes
    assert versions("a'" * 50_000 + " 5") == set() and versions("Ab" + " " * 100_000) == set()
    assert time.monotonic() - started < 2


ANALYSIS = "What Nvidia's $40 billion Arm deal means for chipmakers"


def one_outlet_s_two_takes(second_title: str = ANALYSIS) -> list[Item]:
    """One wire's news report and analysis of one deal (one outlet, one take: they stay
    two stories), and an unrelated story."""
    rows = [
        {
            "id": "news",
            "source": "Wire",
            "url": "https://wire.example/nvidia-arm",
            "title": "Nvidia agrees to buy Arm from SoftBank for $40 billion",
            "text": "Nvidia said on Sunday it would buy the British chip designer Arm from SoftBank in a "
            "cash and stock deal worth $40 billion, the largest chip deal ever.",
        },
        {
            "id": "analysis",
            "source": "Wire",
            "url": "https://wire.example/nvidia-arm-analysis",
            "title": second_title,
            "text": "Nvidia's purchase of Arm from SoftBank for $40 billion puts the designer of most "
            "phone chips under one of its biggest customers' rivals.",
        },
        {
            "id": "recall",
            "source": "Daily",
            "title": "Tesla recalls 2 million cars over Autopilot",
            "text": "Tesla is recalling two million vehicles to fix its Autopilot system, regulators said.",
        },
    ]
    return [item_from_json(row, k) for k, row in enumerate(rows, 1)]


def test_two_stories_that_may_be_one_event_are_a_near_miss_in_the_report():
    stories = dedup(one_outlet_s_two_takes())
    assert [[i.id for i in s.items] for s in stories] == [["news"], ["analysis"], ["recall"]]
    [near] = report(stories)["near_misses"]
    assert (near["a"]["id"], near["b"]["id"]) == ("news", "analysis")
    assert (near["a"]["story"], near["b"]["story"]) == (stories[0].id, stories[1].id)
    assert near["similarity"] >= engine.NEAR_MISS and {"nvidia", "arm", "$40 billion"} <= set(near["shared"])
    assert near["b"]["url"] == "https://wire.example/nvidia-arm-analysis"
    # only two stories the issue shows can show one event twice
    assert report(stories, shown={stories[0].id, stories[2].id})["near_misses"] == []
    # the editor joins them: one story, no near miss
    [joined, _] = dedup(one_outlet_s_two_takes(), together=[["news", "analysis"]])
    assert [i.id for i in joined.items] == ["news", "analysis"] and joined.near == []
    assert report([joined])["near_misses"] == []
    json.dumps(report(stories))
    # the cross-issue memory clusters without asking: it would drop the answers
    params = DedupSettings().params()
    asked = engine.cluster(one_outlet_s_two_takes(), params)[1]
    unasked = engine.cluster(one_outlet_s_two_takes(), params, near_misses=False)[1]
    assert [link.layer for link in asked] == ["near-miss"] and unasked == []


def test_takes_the_editor_keeps_apart_are_no_near_miss():
    items = [
        replace(item, source="Other") if item.id == "analysis" else item for item in one_outlet_s_two_takes()
    ]
    assert len(dedup(items)) == 2  # two outlets: one story
    stories = dedup(items, apart=[["analysis"]])
    assert len(stories) == 3 and report(stories, [["analysis"]])["near_misses"] == []


def test_two_stories_are_asked_about_once_though_the_editor_joined_two_near_misses():
    third = {
        "id": "sale",
        "source": "Wire",
        "url": "https://wire.example/softbank-arm",
        "title": "SoftBank sells Arm to Nvidia for $40 billion",
        "text": "SoftBank agreed to sell the chip designer Arm to Nvidia in a $40 billion cash and stock "
        "deal, the largest chip deal ever.",
    }
    items = [*one_outlet_s_two_takes(), item_from_json(third, 4)]
    assert len(report(dedup(items))["near_misses"]) == 3  # three stories of one outlet, each two asked about
    stories = dedup(items, together=[["news", "analysis"]])
    [near] = report(stories)["near_misses"]
    assert {near["a"]["id"], near["b"]["id"]} & {"news", "analysis"} and "sale" in (
        near["a"]["id"],
        near["b"]["id"],
    )


def test_a_near_miss_needs_a_name_both_headlines_share():
    # the same take, its headline naming no one: scored as high, yet not worth asking
    stories = dedup(one_outlet_s_two_takes("Chip designer sold for $40 billion in record deal"))
    assert len(stories) == 3 and report(stories)["near_misses"] == []


def test_report_page_gives_the_line_that_joins_a_near_miss():
    from html import unescape

    from digest.notes import SAME_STORY, link_groups, parse_notes

    # a link Markdown would cut at its bracket when written bare
    wiki = "https://wiki.example/Arm_(company)"
    stories = dedup(
        [replace(item, url=wiki) if item.id == "analysis" else item for item in one_outlet_s_two_takes()]
    )
    page = report_page(stories)
    assert "Maybe one event, shown as two stories (1)" in page
    assert '<a href="#near-misses">1 pair of stories may be one event</a>' in page  # said at the top too
    assert page.index('href="#near-misses"') < page.index('id="near-misses"')
    [line] = re.findall(r"<code>(- &lt;.*?)</code>", page)
    assert unescape(line) == f"- <https://wire.example/nvidia-arm> <{wiki}>"
    assert link_groups(parse_notes(f"## Same story\n{unescape(line)}\n"), SAME_STORY) == [
        ["https://wire.example/nvidia-arm", wiki]
    ]
    assert "<code>## Same story</code>" in page
    assert "Maybe one event" not in report_page(stories[2:])


def test_two_papers_of_one_topic_from_two_arxiv_feeds_stay_two_stories():
    said = "coding agents that special-case tests or edit the grader on software engineering benchmarks"
    rows = [
        {
            "id": "probes",
            "source": "arXiv cs.LG",
            "url": "https://arxiv.org/abs/2605.09015",
            "title": "Detecting reward hacking in coding agents with linear probes",
            "text": f"We show that reward hacking by {said} can be detected from model activations.",
        },
        {
            "id": "audit",
            "source": "arXiv cs.AI",
            "url": "https://arxiv.org/abs/2605.08230v2",
            "title": "Reward hacking in coding agents: a taxonomy and audit of benchmarks",
            "text": f"We audit benchmarks for reward hacking by {said}, and propose a taxonomy.",
        },
        {
            "id": "news",
            "source": "Tech Weekly",
            "url": "https://techweekly.example/reward-hacking-probes",
            "title": "Linear probes catch coding agents reward hacking, paper finds",
            "text": f"A new paper shows linear probes on model activations can detect {said}.",
        },
    ]
    stories = dedup([item_from_json(row, k) for k, row in enumerate(rows, 1)])
    assert sorted(sorted(i.id for i in s.items) for s in stories) == [["audit"], ["news", "probes"]]
    assert report(stories)["near_misses"] == []  # two papers: nothing to ask
    # one paper's two versions are one document: its first version, reworded, joins as one event
    first = {
        "id": "audit-v1",
        "source": "arXiv cs.SE",
        "url": "https://arxiv.org/abs/2605.08230v1",
        "title": "An audit of reward hacking by coding agents across software benchmarks",
        "text": f"Auditing benchmarks, we find reward hacking by {said}.",
    }
    [both] = dedup([item_from_json(rows[1], 1), item_from_json(first, 2)])
    assert [link.layer for link in both.links] == ["same-event"]
    # a link no parser reads, or an id in the link's place, is no numbered document (and no error)
    for links in (["http://[2605.09015/abs/1", "http://[2605.08230/abs/2"], ["2605.09015", "2605.08230"]):
        papers = [item_from_json({**row, "url": url}, k) for k, (row, url) in enumerate(zip(rows, links), 1)]
        assert len(dedup(papers)) == 1
