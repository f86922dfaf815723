"""Items as sparse tf-idf vectors, name vectors, meaning vectors, amounts and word ids, built once per run."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from itertools import chain

import numpy as np
from scipy import sparse

from ..models import Item
from . import meaning as mn
from . import text as tx
from .halves import in_two

BODY_CHARS = 1000  # enough of the body to tell events apart; bounds the cost per item
TITLE_CHARS = 500  # longer than any headline; bounds the cost of a hostile one
LEAD_WORDS = 45  # the lead: roughly the first two sentences
LEAD_CHARS = 400  # where amounts are looked for, after the title
MEANING_WORDS = 100  # words of the body that go into the meaning vector, after the title
READ_ITEMS = 2500  # items whose text is read at once
RARE_SHARE, RARE_CAP = 0.02, 30  # blocking terms: in at most this share of items (or this many)


@dataclass
class Counts:
    """Each item's raw term and name counts (rows: items), which the weights come from."""

    title: sparse.csr_matrix
    lead: sparse.csr_matrix
    body: sparse.csr_matrix  # title + summary + text
    title_names: sparse.csr_matrix
    lead_names: sparse.csr_matrix

    def rows(self, rows: np.ndarray) -> Counts:
        """The counts of the items ``rows`` only."""
        return Counts(*(getattr(self, f.name)[rows] for f in fields(self)))


@dataclass
class Prepared:
    """What the similarity features need about each item, aligned with the input order."""

    title: sparse.csr_matrix  # tf-idf of the title, rows l2-normalized
    lead: sparse.csr_matrix  # tf-idf of the lead (summary, or the start of the text)
    body: sparse.csr_matrix  # tf-idf of title + summary + text
    names: sparse.csr_matrix  # idf-weighted names (entities) of title and lead
    title_names: sparse.csr_matrix  # names of the title only
    lead_names: sparse.csr_matrix  # names of the lead only (binary)
    blocking: sparse.csr_matrix  # title and lead on rare terms: candidate generation
    headline: sparse.csr_matrix  # binary: the terms of title and lead
    meaning: np.ndarray  # unit word-vector sum of title and start of body (dense, float32)
    amounts: list[frozenset[str]]  # normalized amounts and numbers
    money: np.ndarray  # bool: the item states money, a percentage or a large count
    days: np.ndarray  # publication time in days (NaN when undated)
    weekdays: np.ndarray  # bit mask of the weekdays named in title and lead
    words: np.ndarray  # lower-cased word ids of each item's title then body, item after item
    word_starts: np.ndarray  # where each item's words start in ``words`` (n + 1 bounds)
    terms: list[str]  # each column's term as first written (lower-cased): "finalizing", not "finaliz"
    idf: np.ndarray  # idf of each term
    df: np.ndarray  # how many items use each term (title, summary or text)
    counts: Counts  # what the tf-idf weights were made from

    def subset(self, rows: np.ndarray) -> Prepared:
        """The same facts for the items ``rows`` only, in that order, weighted anew
        among them (idf counts each of them once)."""
        starts, lengths = self.word_starts[rows], np.diff(self.word_starts)[rows]
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        at = np.repeat(starts - bounds[:-1], lengths) + np.arange(bounds[-1])
        return replace(
            self,
            **_weigh(self.counts.rows(rows)),
            meaning=self.meaning[rows],
            amounts=[self.amounts[r] for r in rows.tolist()],
            money=self.money[rows],
            days=self.days[rows],
            weekdays=self.weekdays[rows],
            words=self.words[at],
            word_starts=bounds,
        )


@dataclass
class Tokens:
    """The words of many texts, flat: each distinct word once in ``vocab``, each token an
    index into it. Work per word is then done once per distinct word, and the rest with numpy."""

    vocab: list[str]  # the distinct words, case kept, in order of first sight
    ids: np.ndarray  # the word of each token (index into vocab)
    doc: np.ndarray  # the text each token is in
    pos: np.ndarray  # the token's position in its text
    start: np.ndarray  # bool: the token starts its text, a sentence, a quote or a clause
    texts: int  # how many texts (the last ones may have no token)


def tokenize(texts: Sequence[str]) -> Tokens:
    """The tokens of ``texts`` (see ``text.TOKEN``); when some are Chinese or Japanese, as
    ``text.words`` reads them. Whether any are is seen in the distinct words, which are far
    fewer than the characters of the texts."""
    found = [tx.TOKEN.findall(t) for t in texts]
    words = list(chain.from_iterable(found))
    distinct = dict.fromkeys(words)
    if tx.CJK.search("".join(distinct)):
        found = [tx.words(t) for t in texts]
        words = list(chain.from_iterable(found))
        distinct = dict.fromkeys(words)
    length = np.fromiter(map(len, found), np.int64, len(found))
    index = {word: k for k, word in enumerate(distinct)}
    every = np.fromiter(map(index.__getitem__, words), np.int32, len(words))
    is_mark = np.fromiter((w[0] in tx.MARKS for w in index), bool, len(index))
    mark = is_mark[every]
    doc = np.repeat(np.arange(length.size, dtype=np.int32), length)
    start = np.zeros(every.size, bool)
    start[1:] = mark[:-1] & (doc[1:] == doc[:-1])  # a mark's word: the next token of its text
    word = ~mark
    doc, start = doc[word], start[word]
    length = np.bincount(doc, minlength=length.size)
    first = np.cumsum(length) - length  # each text's first word
    start[first[length > 0]] = True
    # the vocabulary without the marks, each word keeping its order of first sight
    renumber = np.cumsum(~is_mark) - 1
    return Tokens(
        vocab=[w for w, m in zip(index, is_mark.tolist()) if not m],
        ids=renumber[every[word]].astype(np.int32),
        doc=doc,
        pos=(np.arange(doc.size) - first[doc]).astype(np.int32),
        start=start,
        texts=len(texts),
    )


def join(parts: Sequence[Tokens]) -> Tokens:
    """Several ``Tokens`` as one: one vocabulary (in order of first sight over the parts,
    in order), the texts of each part numbered after those of the parts before."""
    every = list(chain.from_iterable(part.vocab for part in parts))
    index = {word: k for k, word in enumerate(dict.fromkeys(every))}
    mapping = np.fromiter(map(index.__getitem__, every), np.int32, len(every))
    ids, docs, offset, at = [], [], 0, 0
    for part in parts:
        ids.append(mapping[at : at + len(part.vocab)][part.ids])
        docs.append(part.doc + offset)
        offset, at = offset + part.texts, at + len(part.vocab)
    return Tokens(
        vocab=list(index),
        ids=np.concatenate([np.zeros(0, np.int32), *ids]),
        doc=np.concatenate([np.zeros(0, np.int32), *docs]).astype(np.int32),
        pos=np.concatenate([np.zeros(0, np.int32), *(p.pos for p in parts)]),
        start=np.concatenate([np.zeros(0, bool), *(p.start for p in parts)]),
        texts=offset,
    )


@dataclass
class _Read:
    """What the text of some items says, before any weighting: their titles' and bodies'
    tokens, and the amounts and weekdays of each item's title and lead."""

    titles: Tokens
    bodies: Tokens
    amounts: list[frozenset[str]]
    weekdays: list[int]


def _read(items: Sequence[Item]) -> _Read:
    parts = [item_fields(item) for item in items]
    heads = [f"{title} {body[:LEAD_CHARS]}" for title, body in parts]
    return _Read(
        tokenize([title for title, _ in parts]),
        tokenize([body for _, body in parts]),
        [frozenset(tx.amounts(h)) for h in heads],
        [tx.weekdays(h) for h in heads],
    )


def _read_all(items: Sequence[Item]) -> list[_Read]:
    """``_read`` of the items, ``READ_ITEMS`` at a time (so that only that many items'
    words are ever held as Python strings at once); half of them in a second process when
    there are many (see ``halves``)."""
    half = len(items) // 2
    mine, theirs = in_two(_read_chunks, items[:half], items[half:], len(items))
    return mine + theirs


def _read_chunks(items: Sequence[Item]) -> list[_Read]:
    return [_read(items[s : s + READ_ITEMS]) for s in range(0, len(items), READ_ITEMS)]


def name_lexicon(toks: Tokens, in_title: np.ndarray, lower_of: np.ndarray, lower: list[str]) -> np.ndarray:
    """Which lower-cased words (``lower``; ``lower_of`` maps each word of ``toks.vocab``)
    are names in this collection: mostly capitalized inside sentences.

    Only words inside a sentence tell: the first word of a sentence is capitalized
    whatever it is. Titles are often in title case, so capitalization is learned from body
    text; a word seen only in titles counts as a name when capitalized in most of them.
    Japanese has no capitals: a word in katakana, the script of foreign names ("ソフトバンク",
    "OpenAI" being read as a Latin word), counts as a name.
    A word seen only at the start of sentences ("Clipwise finds the best moments..."),
    capitalized at most of them, is a name when it has no vector in ``meaning``
    ("PromptPad"; well-known names such as "Nvidia" have one) or has a digit ("T800"):
    the subject of a headline and its lead is often named only there.
    """
    size = len(lower)
    low = lower_of[toks.ids]
    inside = ~toks.start
    capital = np.fromiter((w[0].isupper() for w in toks.vocab), bool, len(toks.vocab))[toks.ids]

    def counts(where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.bincount(low[where], minlength=size), np.bincount(low[where & capital], minlength=size)

    total, caps = counts(~in_title & inside)
    title_total, title_caps = counts(in_title & inside)
    longer = np.fromiter((len(w) > 2 for w in lower), bool, size)
    stop = np.fromiter((w in tx.STOPWORDS for w in lower), bool, size)
    names = (total > 0) & (caps >= 0.6 * total)
    if tx.CJK.search("".join(lower)):
        names |= np.fromiter(map(tx.is_katakana, lower), bool, size)
    names |= (total == 0) & (title_total > 0) & (title_caps >= 0.8 * title_total) & longer
    start_total, start_caps = counts(toks.start)
    at_starts = (start_caps > 0) & (start_caps >= 0.6 * start_total)  # "(zorblax" is a lower-case use
    at_starts &= (total == 0) & (title_total == 0) & longer
    which = np.flatnonzero(at_starts)
    at_starts[which] = _brand_like([lower[k] for k in which.tolist()])
    return (names | at_starts) & ~stop


POSSESSIVE = re.compile(r"['’]s?$")
CONTRACTION = re.compile(r"['’](?:t|ll|re|ve|d|m)$")  # don't, we'll, they're, I've, you'd, I'm
# letters and digits, maybe joined by "." or an apostrophe ("node.js", "o'brien"); tokens hold no "-"
PLAIN_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*")


def _brand_like(words: list[str]) -> np.ndarray:
    """Which lower-cased words seen only at the start of sentences are names: no
    contraction ("don't"), and, once a possessive is cut, three letters or more with no
    word vector (common English words and well-known names have one) or a digit after
    the first letter ("t800")."""
    bare = [POSSESSIVE.sub("", w) for w in words]
    plain = np.fromiter(
        (len(b) > 2 and PLAIN_WORD.fullmatch(b) is not None and not CONTRACTION.search(b) for b in bare),
        bool,
        len(bare),
    )
    digit = np.fromiter((any(c.isdigit() for c in b[1:]) for b in bare), bool, len(bare))
    return plain & ((mn.rows(bare) < 0) | digit)


def _index(keys: Sequence[str], where: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Each key's position among the distinct keys (-1 where ``where`` is False), and those keys."""
    found: dict[str, int] = {}
    out = np.full(len(keys), -1, np.int32)
    for k, key in enumerate(keys):
        if where is None or where[k]:
            out[k] = found.setdefault(key, len(found))
    return out, list(found)


def _counts(rows: np.ndarray, cols: np.ndarray, n: int, size: int) -> sparse.csr_matrix:
    """Count matrix (n x size) of (row, column) occurrences."""
    m = sparse.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(n, size))
    m.sum_duplicates()
    return m


def item_fields(item: Item) -> tuple[str, str]:
    """Title and body text of ``item`` (summary, then text, cut short), name variants unified.
    A forum's link post names the linked site after its title ("Claude Haiku 5
    (anthropic.com)"): the site is no word of the event, and is left out."""
    body = " ".join(x for x in (item.summary, item.text) if x)[:BODY_CHARS]
    title = _LINKED_SITE.sub("", (item.title or "")[:TITLE_CHARS])
    return tx.canonical_names(title), tx.canonical_names(body)


_LINKED_SITE = re.compile(tx.LINKED_SITE, re.I)


def _weighted(
    counts: sparse.csr_matrix, idf: np.ndarray, keep: np.ndarray | None = None
) -> sparse.csr_matrix:
    """Sublinear tf times idf, optionally on the columns in ``keep`` only, rows l2-normalized."""
    m = counts.copy()
    m.data = 1.0 + np.log(m.data)
    m = m @ sparse.diags(idf if keep is None else idf * keep)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    m = sparse.diags(1.0 / norms) @ m
    return sparse.csr_matrix(m, dtype=np.float32)


def _idf(counts: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed idf and document frequency of each column of ``counts``."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    return (np.log((n + 1) / (df + 1)) + 1.0).astype(np.float32), df


def shingles(prep: Prepared, k: int) -> np.ndarray:
    """Sorted unique hashes of the word 3-shingles of item ``k`` (title, then body)."""
    ids = prep.words[prep.word_starts[k] : prep.word_starts[k + 1]].astype(np.int64)
    if ids.size < 3:
        return ids[:0]
    return np.unique((ids[:-2] * 1_000_003 + ids[1:-1]) * 1_000_003 + ids[2:])


def _days(item: Item) -> float:
    return item.published.timestamp() / 86400.0 if item.published else np.nan


def _counts_in(
    row: np.ndarray, column: np.ndarray, where: np.ndarray, n: int, size: int
) -> sparse.csr_matrix:
    """Count matrix (n x size) of the tokens in ``where`` that have a column (not -1)."""
    keep = where & (column >= 0)
    return _counts(row[keep], column[keep], n, size)


def _weigh(c: Counts) -> dict[str, object]:
    """The weighted matrices of ``Prepared`` (and idf, df) from raw counts."""
    idf, df = _idf(c.body)
    rare = ((df >= 2) & (df <= max(RARE_CAP, RARE_SHARE * c.body.shape[0]))).astype(np.float32)
    names = c.title_names + c.lead_names
    nidf, _ = _idf(names)
    weighed = {
        "title": _weighted(c.title, idf),
        "lead": _weighted(c.lead, idf),
        "body": _weighted(c.body, idf),
        "names": _weighted(names, nidf),
        "title_names": _weighted(c.title_names, nidf),
        "lead_names": (c.lead_names > 0).astype(np.float32).tocsr(),
        "blocking": _weighted(c.title * 2 + c.lead, idf, rare),
        "headline": ((c.title + c.lead) > 0).astype(np.float32).tocsr(),
    }
    for m in weighed.values():  # canonical now: scipy would sort a matrix in place on first
        m.sum_duplicates()  # use, which two threads reading it at once must not do
    return {**weighed, "idf": idf, "df": df, "counts": c}


def prepare(items: Sequence[Item]) -> Prepared:
    """Vectors and extracted facts for every item of ``items``."""
    n = len(items)
    reads = _read_all(items)
    toks = join([r.titles for r in reads] + [r.bodies for r in reads])
    in_title = toks.doc < n
    row = np.where(in_title, toks.doc, toks.doc - n)  # titles are texts 0..n-1, bodies n..2n-1
    lead = ~in_title & (toks.pos < LEAD_WORDS)
    lower_of, lower = _index([tx.lower(w) for w in toks.vocab])
    low = lower_of[toks.ids]  # the lower-cased word of each token
    word_terms = [tx.term(w) for w in lower]
    term_of, terms = _index(word_terms, [bool(t) for t in word_terms])
    written = dict(zip(term_of.tolist()[::-1], lower[::-1]))  # the first word of each term wins
    term, size = term_of[low], max(len(terms), 1)
    title_c, lead_c, body_c = (_counts_in(row, term, w, n, size) for w in (in_title, lead, term >= 0))
    # a name is compared as written, less a possessive ("Nvidia's" is Nvidia), never
    # stemmed: "Fireflies" (a note-taker) is not "Firefly" (an image model). Held out, ECB+
    # rose by 0.010 on each half and the dated stream by 0.004-0.005, AllSides moving by
    # -0.002 and 0.000
    name_keys = [POSSESSIVE.sub("", w) if t else "" for w, t in zip(lower, word_terms)]
    name_of, name_terms = _index(name_keys, name_lexicon(toks, in_title, lower_of, lower))
    name, nsize = name_of[low], max(len(name_terms), 1)
    tname_c, lname_c = (_counts_in(row, name, w, n, nsize) for w in (in_title, lead))
    meaning_c = _counts_in(row, mn.rows(lower)[low], in_title | (toks.pos < MEANING_WORDS), n, mn.size())
    by_item = np.argsort(row, kind="stable")  # title tokens come first: texts 0..n-1
    amounts = [a for r in reads for a in r.amounts]
    return Prepared(
        **_weigh(Counts(title_c, lead_c, body_c, tname_c, lname_c)),
        meaning=mn.embed_counts(meaning_c),
        amounts=amounts,
        money=np.array([any(map(tx.is_money, a)) for a in amounts], bool),
        days=np.array([_days(i) for i in items], np.float64),
        weekdays=np.array([w for r in reads for w in r.weekdays], np.int64),
        words=low[by_item],
        word_starts=np.searchsorted(row[by_item], np.arange(n + 1)),
        terms=[written[t] for t in range(len(terms))],
    )
