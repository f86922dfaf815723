"""Items as sparse tf-idf vectors, name vectors, amounts and shingles, built once per run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..models import Item
from . import meaning as mn
from . import text as tx

BODY_CHARS = 1000  # enough of the body to tell events apart; bounds the cost per item
LEAD_WORDS = 45  # the lead: roughly the first two sentences
LEAD_CHARS = 400  # where amounts are looked for, after the title
MEANING_WORDS = 100  # words of the body that go into the meaning vector, after the title


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
    meaning: np.ndarray  # unit word-vector sum of title and start of body (dense, float32)
    amounts: list[frozenset[str]]  # normalized amounts and numbers
    money: np.ndarray  # bool: the item states money, a percentage or a large count
    days: np.ndarray  # publication time in days (NaN when undated)
    weekdays: np.ndarray  # bit mask of the weekdays named in title and lead
    fields: list[tuple[str, str]]  # title and body text, for shingles on demand
    words: list[tuple[str, ...]]  # terms of title and lead, for explaining links
    idf: dict[str, float]


def item_fields(item: Item) -> tuple[str, str]:
    """Title and body text of ``item`` (summary, then text, cut short), name variants unified."""
    body = " ".join(x for x in (item.summary, item.text) if x)[:BODY_CHARS]
    return tx.canonical_names(item.title or ""), tx.canonical_names(body)


def name_lexicon(
    title_tokens: list[list[tuple[bool, str]]], body_tokens: list[list[tuple[bool, str]]]
) -> frozenset[str]:
    """Words that are names in this collection: mostly capitalized inside sentences.

    Titles are often in title case, so capitalization is learned from body text; a word
    seen only in titles counts as a name when capitalized in most of them.
    """
    caps: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for toks in body_tokens:
        total.update(w.lower() for _, w in toks)
        caps.update(w.lower() for start, w in toks if not start and w[0].isupper())
    title_caps: Counter[str] = Counter()
    title_total: Counter[str] = Counter()
    for toks in title_tokens:
        title_total.update(w.lower() for _, w in toks)
        title_caps.update(w.lower() for start, w in toks if not start and w[0].isupper())
    names = {w for w, n in total.items() if caps[w] >= 0.6 * n}
    names |= {w for w, n in title_total.items() if w not in total and title_caps[w] >= 0.8 * n and len(w) > 2}
    return frozenset(names - tx.STOPWORDS)


def _counts_matrix(docs: list[list[str]], vocab: dict[str, int]) -> sparse.csr_matrix:
    """Term-count matrix of ``docs`` over ``vocab`` (new terms are added to it)."""
    indptr, indices, data = [0], [], []
    for doc in docs:
        for term, count in Counter(doc).items():
            indices.append(vocab.setdefault(term, len(vocab)))
            data.append(count)
        indptr.append(len(indices))
    shape = (len(docs), max(len(vocab), 1))
    return sparse.csr_matrix(
        (np.asarray(data, np.float32), np.asarray(indices, np.int64), indptr), shape=shape
    )


def _weighted(
    counts: sparse.csr_matrix, idf: np.ndarray, keep: np.ndarray | None = None
) -> sparse.csr_matrix:
    """Sublinear tf times idf, optionally on the columns in ``keep`` only, rows l2-normalized."""
    m = counts.copy()
    m.resize((m.shape[0], idf.shape[0]))
    m.data = 1.0 + np.log(m.data)
    m = m @ sparse.diags(idf if keep is None else idf * keep)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    m = sparse.diags(1.0 / norms) @ m
    return sparse.csr_matrix(m, dtype=np.float32)


def _idf(matrices: Sequence[sparse.csr_matrix], size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed idf and document frequency, a document being the union of an item's fields."""
    total = sum((sparse.csr_matrix(m, shape=(n, size)) for m in matrices), sparse.csr_matrix((n, size)))
    df = np.asarray((total > 0).sum(axis=0)).ravel().astype(np.float64)
    return (np.log((n + 1) / (df + 1)) + 1.0).astype(np.float32), df


def _resized(m: sparse.csr_matrix, size: int) -> sparse.csr_matrix:
    m = m.copy()
    m.resize((m.shape[0], size))
    return m


def shingles(words: list[str], vocab: dict[str, int]) -> np.ndarray:
    """Sorted unique hashes of the word 3-shingles of ``words`` (case folded)."""
    ids = np.fromiter((vocab.setdefault(w.lower(), len(vocab)) for w in words), np.int64)
    if ids.size < 3:
        return ids[:0]
    return np.unique((ids[:-2] * 1_000_003 + ids[1:-1]) * 1_000_003 + ids[2:])


def _days(item: Item) -> float:
    return item.published.timestamp() / 86400.0 if item.published else np.nan


def _terms(toks: list[tuple[bool, str]]) -> list[str]:
    return [t for t in map(tx.term, (w for _, w in toks)) if t]


def prepare(items: Sequence[Item], max_df_share: float = 0.02, min_df_cap: int = 30) -> Prepared:
    """Vectors and extracted facts for every item of ``items``."""
    fields = [item_fields(item) for item in items]
    n = len(items)
    title_toks = [tx.tokens(f[0]) for f in fields]
    body_toks = [tx.tokens(f[1]) for f in fields]
    names_lex = name_lexicon(title_toks, body_toks)
    vocab: dict[str, int] = {}
    t_terms = [_terms(t) for t in title_toks]
    b_terms = [_terms(b) for b in body_toks]
    l_terms = [_terms(b[:LEAD_WORDS]) for b in body_toks]
    title_c = _counts_matrix(t_terms, vocab)
    lead_c = _counts_matrix(l_terms, vocab)
    body_c = _counts_matrix([t + b for t, b in zip(t_terms, b_terms)], vocab)
    size = len(vocab)
    idf, df = _idf([title_c, body_c], size, n)
    rare = ((df >= 2) & (df <= max(min_df_cap, max_df_share * n))).astype(np.float32)
    block_c = _resized(title_c, size) * 2 + _resized(lead_c, size)
    nvocab: dict[str, int] = {}
    title_names = [[tx.term(w) for _, w in t if w.lower() in names_lex] for t in title_toks]
    lead_names = [[tx.term(w) for _, w in b[:LEAD_WORDS] if w.lower() in names_lex] for b in body_toks]
    name_c = _counts_matrix([t + b for t, b in zip(title_names, lead_names)], nvocab)
    tname_c = _counts_matrix(title_names, nvocab)
    lname_c = _counts_matrix(lead_names, nvocab)
    nidf, _ = _idf([name_c], len(nvocab), n)
    amounts = [frozenset(tx.amounts(f"{f[0]} {f[1][:LEAD_CHARS]}")) for f in fields]
    return Prepared(
        title=_weighted(title_c, idf),
        lead=_weighted(lead_c, idf),
        body=_weighted(body_c, idf),
        names=_weighted(name_c, nidf),
        title_names=_weighted(tname_c, nidf),
        lead_names=(_resized(lname_c, len(nvocab) or 1) > 0).astype(np.float32).tocsr(),
        blocking=_weighted(block_c, idf, rare),
        meaning=mn.embed(
            [[w for _, w in t] + [w for _, w in b[:MEANING_WORDS]] for t, b in zip(title_toks, body_toks)]
        ),
        amounts=amounts,
        money=np.array([any(map(tx.is_money, a)) for a in amounts], bool),
        days=np.array([_days(i) for i in items], np.float64),
        weekdays=np.array([tx.weekdays(f"{f[0]} {f[1][:LEAD_CHARS]}") for f in fields], np.int64),
        fields=fields,
        words=[tuple(dict.fromkeys(t + lead)) for t, lead in zip(t_terms, l_terms)],
        idf=dict(zip(vocab, idf.tolist())),
    )
