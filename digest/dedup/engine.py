"""The three layers run in order over one batch of items, giving a cluster per item and
the links that joined them."""

from __future__ import annotations

import functools
import gc
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from ..models import Item, Link
from . import model
from . import text as tx
from .cluster import UnionFind, average_link
from .pairs import FEATURES, candidates, features, rowwise_dot, shingle_similarity, strangers
from .text import display_amount
from .vectors import LEAD_CHARS, Prepared, prepare

MIN_HEADLINE = 0.05  # least title-title or title-lead cosine of a same-event pair
EXCLUSIVE_ENOUGH = 0.5  # exclusive_terms at which two dated items may share one term fewer
FEWER_TERMS_FROM = 100  # takes a batch needs before its word counts can tell an exclusive word
NAMELESS = 0.1  # cos_names under which two takes share no name worth the word
SURE_WITHOUT_NAMES = 0.7  # what such a pair needs in a small batch (the report's "check" mark)
DOUBTS_UNDER = 5_000  # takes of a batch whose report an editor reads (a day's): see _doubts
MIN_SHARED_EVER = 2  # terms of title and lead any same-event pair shares, however few a take has
UNDONE_BELOW = 0.7  # the best pair score under which a join the headlines doubt is undone
SURE_OF_STRANGERS = 0.8  # what a pair needs in a small batch when each names someone the other never does
NEAR_MISS = 0.4  # the pair score from which two stories whose headlines share a name may be one event


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the duration (as it was, after). Deduplication
    allocates millions of short-lived lists, tuples and dicts, all freed by reference
    counting (it makes no cycles), and each of them counts toward the collector's next
    pass over every object alive, the items included: at 10k items those passes took a
    tenth of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Params:
    """The tunables the engine needs (a view of ``DedupSettings``)."""

    threshold: float
    window_days: float
    neighbors: int
    meaning_neighbors: int
    min_candidate_similarity: float
    same_text_jaccard: float
    time_penalty: float
    min_shared_terms: int


def normalized_title(title: str) -> str:
    """The title folded for exact comparison: case, accents, punctuation and spacing.
    Chinese and Japanese letters are kept: two titles of theirs that differ only there
    ("小米SU7 Ultra发布，售价52.99万元", "小米SU7 Ultra召回，涉及52.99万元版本") are two titles."""
    if not title.isascii():
        title = unicodedata.normalize("NFKD", title)
        if tx.CJK.search(title):
            return " ".join(CJK_TITLE_WORD.findall(CJK_TITLE_DROP.sub("", title).lower()))
        title = title.encode("ascii", "ignore").decode()
    folded = title.lower()
    return " ".join(re.findall(r"[a-z0-9]+", folded))


# a Chinese or Japanese title's key: its Latin letters, digits and Han, kana (accents, once
# apart from their letters, dropped as the ASCII key drops them)
CJK_TITLE_DROP = re.compile(r"[\u0300-\u036f]")
CJK_TITLE_WORD = re.compile(rf"[a-z0-9{tx.HAN}{tx.KATAKANA}{tx.HIRAGANA}]+")


def two_posts(a: Item, b: Item) -> bool:
    """Whether ``a`` and ``b`` are two posts of one feed, however alike their titles or
    texts (a weekly roundup's issues, a show's episodes under its boilerplate): one source
    and two GUIDs (or one missing) at two links, or at one link (a changelog page) with two
    publication times. One GUID is one post, its link or title changed or not."""
    if not a.source or a.source != b.source or (a.guid and a.guid == b.guid):
        return False
    if a.url and b.url and a.url != b.url:
        return True
    return bool(a.guid and b.guid and a.published and b.published) and a.published != b.published


class _Copies(UnionFind):
    """The groups of copies of layers 1 and 2, which never hold two posts of one feed
    (``two_posts``): a third item like both, such as an aggregator's relay of one of them,
    would otherwise join a weekly roundup's two issues through itself."""

    def __init__(self, items: Sequence[Item]) -> None:
        super().__init__(len(items))
        self.items = items
        self.posts: dict[int, dict[str, list[int]]] = {}  # a group's items by source (groups of 2+)

    def union(self, a: int, b: int) -> bool:
        """Join the groups of ``a`` and ``b``; False when they were one already, or when
        they hold two posts of one feed."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        posts_a, posts_b = self._posts(ra), self._posts(rb)
        for source, members in posts_b.items():
            if any(two_posts(self.items[x], self.items[y]) for x in posts_a.get(source, ()) for y in members):
                return False
        super().union(ra, rb)
        for source, members in posts_b.items():
            posts_a.setdefault(source, []).extend(members)
        self.posts.pop(max(ra, rb), None)
        self.posts[min(ra, rb)] = posts_a
        return True

    def _posts(self, root: int) -> dict[str, list[int]]:
        return self.posts.get(root) or {self.items[root].source: [root]}


def _same_item(items: Sequence[Item], fence: np.ndarray, uf: _Copies, links: list[Link]) -> None:
    """Layer 1: join items with the same URL, GUID (of one feed: another feed's "1" is another
    item) or normalized title (3+ words), within one ``fence``; not two posts of one feed."""
    # each key's earlier items that no join could make one (a series' posts under one title)
    seen: dict[tuple[str, int, str], list[int]] = {}
    fence_of = fence.tolist()  # plain ints: indexing numpy per item costs more than the lookups
    for idx, item in enumerate(items):
        title = normalized_title(item.title or "")
        keys = [
            ("url", item.url, item.url),
            ("guid", item.guid or "", f"{item.source}\n{item.guid}"),
            ("title", title if title.count(" ") >= 2 else "", title),
        ]
        for kind, value, key in keys:
            if not value:
                continue
            earlier = seen.setdefault((kind, fence_of[idx], key), [])
            if len(earlier) > 1:  # a series' posts: a copy is of the one nearest in time
                earlier.sort(key=lambda k: _apart(items[k], item))
            for first in earlier:
                if uf.union(first, idx):
                    why = (f"{kind}: {value}"[:120],)
                    links.append(Link(items[first].id, item.id, "same-item", 1.0, why))
                if uf.find(first) == uf.find(idx):
                    break
            else:
                earlier.append(idx)


def _apart(a: Item, b: Item) -> float:
    """Seconds between the publication of ``a`` and ``b`` (infinite when one is undated)."""
    if a.published is None or b.published is None:
        return float("inf")
    return abs((a.published - b.published).total_seconds())


def _same_text(
    items: Sequence[Item],
    fence: np.ndarray,
    prep: Prepared,
    i: np.ndarray,
    j: np.ndarray,
    params: Params,
    uf: _Copies,
    links: list[Link],
) -> None:
    """Layer 2: join syndicated copies and light rewrites of the candidate pairs ``i``,
    ``j`` by word-shingle Jaccard, within one ``fence``; not two posts of one feed."""
    likely = np.flatnonzero((rowwise_dot(prep.body, prep.body, i, j) >= 0.5) & (fence[i] == fence[j]))
    sim = shingle_similarity(prep, i[likely], j[likely])
    for k in np.flatnonzero(sim >= params.same_text_jaccard):
        a, b = int(i[likely[k]]), int(j[likely[k]])
        if uf.union(a, b):  # not two posts of one feed (``_Copies``)
            links.append(
                Link(items[a].id, items[b].id, "same-text", round(float(sim[k]), 3), shared_terms(prep, a, b))
            )


def shared_terms(prep: Prepared, a: int, b: int, limit: int = 8) -> tuple[str, ...]:
    """What two items have in common, rarest first: amounts, then terms of title and lead."""
    common_amounts = [display_amount(k) for k in sorted(prep.amounts[a] & prep.amounts[b])]
    h = prep.headline
    both = np.intersect1d(h.indices[h.indptr[a] : h.indptr[a + 1]], h.indices[h.indptr[b] : h.indptr[b + 1]])
    common = sorted((-float(prep.idf[t]), prep.terms[t]) for t in both.tolist())
    return tuple(common_amounts + [term for _, term in common])[:limit]


@dataclass(frozen=True)
class Headline:
    """What the rules read in a take's headline and lead, name variants made one first
    ("Facebook parent" is Meta)."""

    subjects: tuple[str, ...]  # tx.subject_names: the subject as the headline may write it
    names: frozenset[str]  # tx.headline_names: each name of the headline its lead repeats
    said: str  # title and lead, lower-cased

    @property
    def subject(self) -> str:
        """An early name of the headline its lead repeats (tx.headline_subject), "" if none."""
        return self.subjects[0] if self.subjects else ""


class Headlines:
    """The ``Headline`` of each of ``takes`` by index, and the kinds of event its title
    reports, each read once and only when asked. The caches hold the takes, not this
    object: dedup makes no reference cycles (``collector_paused``)."""

    def __init__(self, takes: Sequence[Item]) -> None:
        self.takes = takes
        self.read = functools.cache(functools.partial(_read_headline, takes))
        self.kinds = functools.cache(lambda k: tx.event_kinds(takes[k].title))
        self.versions = functools.cache(lambda k: tx.versions(takes[k].title))
        # the kinds of event title and lead speak of (with hints): only the kinds rule asks
        self.told = functools.cache(lambda k, read=self.read: tx.event_kinds(read(k).said, hints=True))


def _read_headline(takes: Sequence[Item], k: int) -> Headline:
    take = takes[k]
    title = tx.canonical_names(take.title)
    # the source opens the lead: a firm's own post names itself there, not in a lead that
    # says "we" ("Mistral AI raises €2.7B Series D", "We are announcing…", Mistral AI
    # News), and its headline had no subject for the two-names rule. Held out, no eval
    # figure moves; a labeled AI day of 98 takes lost a wrong join (0.919 -> 0.927)
    lead = tx.canonical_names(" ".join(x for x in (take.source, take.summary, take.text) if x)[:LEAD_CHARS])
    found = tx.headline_names(title, lead)
    names = frozenset(name for _, name in found)
    return Headline(tx.subject_names(title, found), names, f"{title}\n{lead}".lower())


def _subjects_apart(heads: Headlines, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Which pairs have headlines about two names, each in neither the title nor the lead
    of the other: two firms' like news ("Nvidia shares jump after earnings beat", "AMD
    shares jump after earnings beat"), however sure the model is. In a small batch of one
    field such twins score 0.9 and more, as their words are rare there. Held out on days
    of one beat (40 of about 60 takes per eval half), precision rises by 0.001-0.003
    (AllSides) and B-cubed F1 moves by -0.002 to +0.001 (ECB+ recall -0.005 on one half):
    takes of one event name its subject in each other's leads."""

    def named_in(subject: str, other: Headline) -> bool:
        return re.search(rf"\b{re.escape(subject)}\b", other.said) is not None

    def apart(a: Headline, b: Headline) -> bool:
        sa, sb = a.subject, b.subject
        if not (sa and sb and sa != sb):
            return False
        return not any(named_in(s, b) for s in a.subjects) and not any(named_in(s, a) for s in b.subjects)

    read = heads.read
    return np.fromiter((apart(read(a), read(b)) for a, b in zip(i.tolist(), j.tolist())), bool, i.size)


def _kinds_apart(heads: Headlines, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Which pairs have headlines about one name reporting kinds of event (a launch, a
    lawsuit, a funding round) each of which the other's title and lead never speak of:
    one firm's two events of one week ("Meta launches Llama 4 models", "Meta sued by
    authors over AI training on pirated books"), which share its name and words."""

    def apart(a: int, b: int) -> bool:
        kinds_a, kinds_b = heads.kinds(a), heads.kinds(b)
        if not (kinds_a and kinds_b):  # most titles report no kind: the cheap test first
            return False
        ha, hb = heads.read(a), heads.read(b)
        about_one = ha.subject in hb.names or hb.subject in ha.names
        return about_one and not (kinds_a & heads.told(b) or kinds_b & heads.told(a))

    return np.fromiter((apart(a, b) for a, b in zip(i.tolist(), j.tolist())), bool, i.size)


def _doubts(heads: Headlines, joins: list[tuple[int, int, float, float]]) -> list[str]:
    """Why an editor should look at each join, however sure the model was ("" if not):
    two headlines about two names, which a batch of fewer than 100 takes never joins (and
    a larger one only at ``UNDONE_BELOW`` or more: see ``_cluster``). In
    larger ones that rule costs recall, yet a day of one field's news is where two firms'
    like news ("Sierra raises $350M at $10B", "Mercor hits $10B with $350M") joins. On
    the eval files and a constructed day of AI news, a third to two thirds of the stories
    it marks (and no low score does) mix two events; "each names someone the other never
    does" marks many more, a tenth of them mixed, and is left out. Reading the headlines
    costs a tenth of the time of a batch of 10,000 takes, so a batch of ``DOUBTS_UNDER``
    or more (an archive, not a day) goes without."""
    if not joins or len(heads.takes) >= DOUBTS_UNDER:
        return [""] * len(joins)
    i, j = (np.fromiter((join[k] for join in joins), np.int64, len(joins)) for k in (0, 1))
    return [
        "the two headlines are about two names" if apart else "" for apart in _subjects_apart(heads, i, j)
    ]


def _near_misses(
    heads: Headlines, final: dict[int, int], i: np.ndarray, j: np.ndarray, p: np.ndarray
) -> list[tuple[int, int, float]]:
    """The best pair (``a``, ``b``, score) of each two clusters of ``final`` that may
    still be one event: a pair scoring ``NEAR_MISS`` or more whose headlines share a name
    (not joined for the average over the other takes, one outlet's two takes, or a doubt
    undone). Not joined, they show twice, and the report asks the editor. On three labeled
    days of AI news (167-220 takes), 4-9 such pairs a day, 10 of their 19 one event each
    (without the shared name, 13-18 a day, 14 of their 48); in ten pools of 100 AllSides
    events (about 300 takes), 19 of 70; on ECB+, 1 of 7. Asking only from 0.5 (11 of 47
    there), or only for a name few takes share (3 of 29), asks fewer but less aptly."""
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    for a, b, score in zip(i.tolist(), j.tolist(), p.tolist()):
        pair = (min(final[a], final[b]), max(final[a], final[b]))
        if score >= NEAR_MISS and pair[0] != pair[1] and score > best.get(pair, (0.0,))[0]:
            if heads.read(a).names & heads.read(b).names:
                best[pair] = (score, a, b)
    return [(a, b, score) for score, a, b in best.values()]


# a path segment that numbers a document ("2605.09203v2", "1234567"); a version aside
_DOCUMENT_NUMBER = re.compile(r"\d+(?:[._-]\d+)*(?:v\d+)?")
_VERSION = re.compile(r"v\d+$")


def _numbered(url: str) -> tuple[tuple[str, ...], str] | None:
    """The place of ``url``'s document in its publisher's numbered series (host and path,
    the number left out) and its number; None unless exactly one path segment is a number."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[abc": no link of a series (``digest dedup`` reads any text)
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:  # an id ("1001"), not a link
        return None
    segments = parts.path.split("/")
    numbered = [k for k, segment in enumerate(segments) if _DOCUMENT_NUMBER.fullmatch(segment)]
    if len(numbered) != 1:
        return None
    k = numbered[0]
    place = (parts.hostname.removeprefix("www."), *segments[:k], "", *segments[k + 1 :])
    return place, _VERSION.sub("", segments[k])


def _two_documents(urls: Sequence[str], i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Which pairs link two numbered documents of one publisher ("arxiv.org/abs/2605.09203"
    and ".../2605.09255"; a document's two versions are one), by the take's link."""
    documents = [_numbered(url) for url in urls]
    numbered = np.fromiter((d is not None for d in documents), bool, len(documents))
    both = np.flatnonzero(numbered[i] & numbered[j])  # most takes are not numbered: few pairs to read
    two = np.zeros(i.size, bool)
    for k, a, b in zip(both.tolist(), i[both].tolist(), j[both].tolist()):
        (place_a, number_a), (place_b, number_b) = documents[a], documents[b]
        two[k] = place_a == place_b and number_a != number_b
    return two


def _enough_shared(
    prep: Prepared,
    i: np.ndarray,
    j: np.ndarray,
    exclusive: np.ndarray,
    least: int,
    heads: Headlines | None = None,
) -> np.ndarray:
    """Whether each pair shares at least ``least`` terms of title and lead, or every term
    of a take that has fewer (two at least): in a small batch, idf makes one shared word
    look significant; one word is never an event.

    Two dated items (so within the time window of each other) may share one term fewer
    when few other items use the terms they share (``exclusive``, the ``exclusive_terms``
    feature, at least ``EXCLUSIVE_ENOUGH``): two headlines of one event often have only a
    name and a word in common ("Nvidia", "antitrust"), and within a few days few other
    items use both. Not in an undated pool, which spans years: two such words recur in
    other events of one long story. Nor in a batch of fewer than ``FEWER_TERMS_FROM``
    takes (items once copies are joined), where a word that two of them use may still be
    a common one ("agents" in 2 of 19).

    With ``heads`` (the takes' headlines), a take of one term counts a name with its
    version that the other names as well ("Grok 5") as a second."""
    shared = rowwise_dot(prep.headline, prep.headline, i, j)
    fewer = ~np.isnan(prep.days[i]) & ~np.isnan(prep.days[j]) & (exclusive >= EXCLUSIVE_ENOUGH)
    fewer &= prep.days.shape[0] >= FEWER_TERMS_FROM
    need = np.where(fewer, least - 1, least)
    # a take of two terms (a forum's link post has its title alone: "Claude Haiku 5
    # (anthropic.com)", "DeepSeek-V4 (huggingface.co)") never had three to share, and stayed
    # a story of its own: it shares both. Held out, no eval figure moves; a labeled AI day
    # of 209 takes rose from 0.900 to 0.914 (its first day's 98 from 0.927 to 0.946)
    terms = np.diff(prep.headline.indptr)
    enough = shared >= np.maximum(np.minimum(need, np.minimum(terms[i], terms[j])), MIN_SHARED_EVER)
    if heads is not None:
        # a take of one term and a version ("Grok 5 (x.ai)", "Llama 5 (ai.meta.com)") has
        # one term to share, a number being none: the name with its version is its second
        fewest = np.minimum(terms[i], terms[j])
        for n in np.flatnonzero(~enough & (shared >= 1) & (fewest < MIN_SHARED_EVER)).tolist():
            a, b = (i[n], j[n]) if terms[i[n]] <= terms[j[n]] else (j[n], i[n])
            said = heads.read(b).said
            enough[n] = any(tx.names_version(said, *version) for version in heads.versions(a))
    return enough


@dataclass
class Takes:
    """The items after the same-item and same-text layers: one take per group of copies."""

    groups: np.ndarray  # each item's group of copies (the smallest input index in it)
    takes: np.ndarray  # the first item of each group, in input order
    fence: np.ndarray  # each take's fence (0: none; see ``cluster``)
    prep: Prepared  # of the takes only
    i: np.ndarray  # candidate pairs of takes (indices into ``takes``)
    j: np.ndarray
    links: list[Link]  # what joined the copies


def find_takes(items: Sequence[Item], params: Params, fence: Sequence[int] = ()) -> Takes:
    """Layers 1 and 2, then the candidate pairs of the event layer. That layer compares
    takes, not copies: a take's copies would crowd its nearest candidates, and count its
    words once per copy in the idf."""
    n = len(items)
    fences = np.asarray(fence, np.int64) if len(fence) else np.zeros(n, np.int64)
    links: list[Link] = []
    uf = _Copies(items)
    _same_item(items, fences, uf, links)
    prep = prepare(items)
    limits = (params.window_days, params.neighbors, params.min_candidate_similarity, params.meaning_neighbors)
    i, j = candidates(prep, *limits)
    _same_text(items, fences, prep, i, j, params, uf, links)
    groups = np.array([uf.find(k) for k in range(n)])
    first = np.flatnonzero(groups == np.arange(n))
    if first.size < n:
        prep = prep.subset(first)
        i, j = candidates(prep, *limits)
    return Takes(groups, first, fences[first], prep, i, j, links)


def cluster(
    items: Sequence[Item],
    params: Params,
    fence: Sequence[int] = (),
    outlets: Sequence[str] | None = None,
    near_misses: bool = True,
) -> tuple[list[int], list[Link]]:
    """The cluster of each item (the smallest input index in it) and the links joining them,
    then (``near_misses``) those of a batch an editor reads (layer "near-miss", see
    ``_near_misses``), which join nothing.

    ``fence`` (one int per item, or empty): items of different fences never join, in any
    layer; 0 is the fence of every item the editor did not set apart. ``outlets`` (one
    per item; default: their sources): two takes of one outlet never join as one event
    ("" for none)."""
    outlet_of = [item.source for item in items] if outlets is None else outlets
    with collector_paused():
        return _cluster(items, params, fence, outlet_of, near_misses)


def _cluster(
    items: Sequence[Item], params: Params, fence: Sequence[int], outlet_of: Sequence[str], near_misses: bool
) -> tuple[list[int], list[Link]]:
    if not items:
        return [], []
    t = find_takes(items, params, fence)
    groups, first, prep, i, j, links = t.groups, t.takes, t.prep, t.i, t.j, t.links
    heads = Headlines([items[k] for k in first.tolist()])
    keep, p, foes = _scored(t, heads, params)
    final, joins, doubts = _events(t, heads, keep, p, foes, params, _outlets(groups, first, outlet_of))
    for (a, b, best, _avg), doubt in zip(joins, doubts):
        ids = items[first[a]].id, items[first[b]].id
        links.append(Link(*ids, "same-event", round(best, 3), shared_terms(prep, a, b), doubt))
    if near_misses and first.size < DOUBTS_UNDER:
        # the editor kept apart what a fence parts: nothing to ask about
        asked = keep & (t.fence[i] == t.fence[j])
        for a, b, score in _near_misses(heads, final, i[asked], j[asked], p[asked]):
            ids = items[first[a]].id, items[first[b]].id
            links.append(Link(*ids, "near-miss", round(score, 3), shared_terms(prep, a, b)))
    cluster_of = first[[final[k] for k in range(first.size)]]  # each take's cluster, as an input index
    return cluster_of[np.searchsorted(first, groups)].tolist(), links


def _scored(t: Takes, heads: Headlines, params: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which candidate pairs of ``t`` may join (a mask), the model's score of each (0 for
    a pair no rule let through), and the pairs that must never join (indices: two events
    told apart, a cannot-link)."""
    first, prep, i, j = t.takes, t.prep, t.i, t.j
    x = features(prep, i, j)
    # cheap rules first, so that the model scores only pairs that could merge:
    # the headlines must share something (title with title or with the other's lead): two
    # leads alike under unrelated headlines are two stories of one beat, mostly in small batches
    headline = np.maximum(x[:, FEATURES.index("cos_title")], x[:, FEATURES.index("cos_title_lead")])
    keep = headline >= MIN_HEADLINE
    # names and numbers tell two events of one kind apart: both state numbers yet share
    # none, and a central name of one is missing from the other (a deal with Nvidia by 2030
    # against a schools plan by 2026) is another event, however alike the words. The rule
    # holds however sure the model is: letting pairs it scores 0.8 or more through gains
    # 0.003 B-cubed F1 on held-out eval halves, but two announcements of one government on
    # one day score 0.95 and would become one story
    numbers, names = x[:, FEATURES.index("number_conflict")], x[:, FEATURES.index("title_name_missing")]
    keep &= ~((numbers > 0) & (names > 0))
    exclusive = x[keep, FEATURES.index("exclusive_terms")]
    keep[keep] = _enough_shared(prep, i[keep], j[keep], exclusive, params.min_shared_terms, heads)
    gap = np.nan_to_num(np.abs(prep.days[i] - prep.days[j])) / max(params.window_days, 1e-9)
    p = np.zeros(i.size)
    if keep.any():
        p[keep] = model.probability(x[keep], offset=-params.time_penalty * gap[keep])
    keep &= p >= 0.05  # negligible scores only dilute averages; dropping them saves time
    if first.size < FEWER_TERMS_FROM:
        # a day of a few dozen takes: its idf makes a beat's common words ("robots",
        # "evals") look rare, so two stories of one topic look like one event. Takes of one
        # event name who did it; a pair sharing no name must be sure. Held out on days of
        # one beat (40 of about 60 takes per eval half), precision rises by 0.005-0.011
        # (AllSides), 0.007-0.014 (ECB+) and 0.001-0.002 (dated stream), B-cubed F1 moving
        # between -0.002 and +0.003; larger batches are not affected
        nameless = x[:, FEATURES.index("cos_names")] < NAMELESS
        keep &= ~(nameless & (p < SURE_WITHOUT_NAMES))
        # so must a pair each of whose takes has a central name (in title and lead) the
        # other never mentions: two firms' like news, two steps of one saga. Held out the
        # same way, precision rises by 0.008-0.011 (AllSides) and 0.002-0.004 (dated
        # stream), B-cubed F1 moving between -0.002 and +0.004 (ECB+ -0.001 to 0); a
        # veto at any score cost the dated stream 0.004-0.012 of F1, in recall
        keep &= ~(strangers(prep, i, j) & (p < SURE_OF_STRANGERS))
        keep &= ~_subjects_apart(heads, i, j)
    # one firm's news of one week shares its name and words: headlines about one name
    # reporting kinds of event the other take never speaks of are two events, unless they
    # state a sum of money in common ("Meta hires Scale AI chief in $14.3 billion deal",
    # "Scale AI confirms $14.3 billion Meta investment"; a year is no such sum), and their
    # stories never meet through a third take whose headline reports no kind. Needing one
    # name keeps it narrow: on the eval files it parts 18 pairs of two events (most
    # scoring under 0.3) and none of one, and no figure moves
    check = np.flatnonzero(keep)
    apart = check[_kinds_apart(heads, i[check], j[check])]
    money = (any(map(tx.is_money, prep.amounts[a] & prep.amounts[b])) for a, b in zip(i[apart], j[apart]))
    foes = apart[~np.fromiter(money, bool, apart.size)]
    # two numbered documents of one publisher (two papers of arXiv, two of its cs.CL and
    # cs.LG feeds) are two events, however alike their topic
    documents = check[_two_documents([take.url for take in heads.takes], i[check], j[check])]
    foes = np.union1d(foes, documents)
    keep[foes] = False
    return keep, p, foes


def _outlets(groups: np.ndarray, first: np.ndarray, outlet_of: Sequence[str]) -> list[str]:
    """The outlet of each take (its group of copies), "" for one of several outlets."""
    # one outlet, one take: a take names its outlet only when all its copies are that
    # outlet's (an aggregator that reposts two outlets' takes of one event must not keep them apart)
    named: dict[int, str] = {}
    for k, group in enumerate(groups.tolist()):
        named[group] = outlet_of[k] if named.get(group, outlet_of[k]) == outlet_of[k] else ""
    return [named[k] for k in first.tolist()]


def _events(
    t: Takes,
    heads: Headlines,
    keep: np.ndarray,
    p: np.ndarray,
    foes: np.ndarray,
    params: Params,
    outlets: list[str],
) -> tuple[dict[int, int], list[tuple[int, int, float, float]], list[str]]:
    """The takes of ``t`` clustered into events (see ``average_link``: each take's cluster
    and the joins), and the doubt of each join ("" if none)."""
    first, prep, i, j = t.takes, t.prep, t.i, t.j
    # a join the headlines doubt (two names, see _doubts) whose best pair scores under
    # UNDONE_BELOW (where a join is marked to check anyway) is undone: its pair becomes a
    # cannot-link and the takes cluster once more. A wrong join hides a story, a missed one
    # shows it twice. Held out (models fitted on the other half of each eval file), B-cubed
    # F1 moves by -0.001 to +0.001 but for one dated half (-0.003) at 0.7, and falls by up
    # to 0.006 at 0.9; on two labeled days of AI news (220 and 167 takes) F1 rises by
    # 0.003 and 0.000 at 0.7 (0.007 and 0.004 at 0.9), on the first day's 101 by 0.010
    foe_pairs = list(zip(i[foes].tolist(), j[foes].tolist()))
    for last in (False, True):
        final, joins = average_link(
            np.arange(first.size),
            prep.days,
            i[keep],
            j[keep],
            p[keep],
            params.threshold,
            params.window_days,
            outlets,
            t.fence.tolist() if t.fence.any() else None,  # most batches have no fence: skip the per-item pass
            foe_pairs,
        )
        doubts = _doubts(heads, joins)
        undone = [(a, b) for (a, b, best, _), doubt in zip(joins, doubts) if doubt and best < UNDONE_BELOW]
        if last or not undone:
            break
        foe_pairs += undone
    return final, joins, doubts
