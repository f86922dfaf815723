"""Candidate pairs without comparing all pairs, and the similarity features of a pair.

Candidates come from a sparse product of rare-term vectors (an inverted index in matrix
form), item blocks sorted by time so that each block meets only the items of its window.
Candidates also come from each item's nearest by meaning (static word vectors), which
finds takes told in other words. Features are similarities of title, lead, body, names
and meaning; how a pair compares with each item's other candidates (relative to the
best, excess over the background, rank, nearest candidates shared); how few other items
use the words a pair shares; and conflicts of fact: amounts, central names, named weekdays.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from scipy import sparse

from . import text as tx
from .halves import concurrently
from .vectors import Prepared, shingles

FEATURES = (
    "cos_title",
    "cos_lead",
    "cos_body",
    "cos_blocking",
    "cos_names",
    "cos_title_names",
    "shared_amounts",
    "money_conflict",
    "cos_title_lead",
    "relative_near",
    "relative_far",
    "title_name_missing",
    "number_conflict",
    "excess",
    "weekday_conflict",
    "cos_meaning",
    "meaning_near",
    "meaning_far",
    "meaning_excess",
    "rank_worse",
    "rank_better",
    "shared_neighbors",
    "exclusive_terms",
    "exclusive_share",
)
BACKGROUND_RANK = 5  # the candidate whose similarity stands for "same beat, other event"
NEIGHBORHOOD = 5  # nearest candidates of an item whose overlap with another's is a feature
BLOCK_ROWS = 1000  # items whose candidates are searched at once (on two threads: two blocks at once)
THREADED_PAIRS = 20_000  # pairs from which their features are computed on two threads
DENSE_CELLS = 2_000_000  # similarities of the meaning vectors held at once per block (8 MB)


def _column_ranges(
    days: np.ndarray, order: np.ndarray, window: float, start: int, stop: int, dated: int
) -> np.ndarray:
    """Columns an item block (rows ``order[start:stop]``) must meet: its time range and the undated."""
    undated = order[dated:]
    if start >= dated:  # undated rows meet everyone
        return order
    sorted_days = days[order[:dated]]
    lo = np.searchsorted(sorted_days, sorted_days[start] - window, side="left")
    hi = np.searchsorted(sorted_days, sorted_days[min(stop, dated) - 1] + window, side="right")
    return np.concatenate([order[lo:hi], undated])


def _top_k(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, k: int) -> np.ndarray:
    """Mask of the ``k`` highest values of each row (ties broken by column, deterministic)."""
    order = np.lexsort((cols, -vals, rows))
    rows_sorted = rows[order]
    first = np.searchsorted(rows_sorted, rows_sorted, side="left")
    keep = np.zeros(rows.size, bool)
    keep[order[(np.arange(rows.size) - first) < k]] = True
    return keep


def _blocks(n: int, dated: int) -> list[tuple[int, int]]:
    """Row blocks over the time-sorted items, dated and undated items never in one block."""
    bounds = [(s, min(s + BLOCK_ROWS, dated)) for s in range(0, dated, BLOCK_ROWS)]
    return bounds + [(s, min(s + BLOCK_ROWS, n)) for s in range(dated, n, BLOCK_ROWS)]


def _dense_top_k(
    prep: Prepared, rows: np.ndarray, cols: np.ndarray, window: float, k: int, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest columns by meaning, within the time window, in chunks of
    rows so that no more than ``DENSE_CELLS`` similarities are held at once. ``cols`` are
    the dated items in time order, then the undated (as ``_column_ranges`` gives them).
    An item without a word the vectors know has no meaning to be near: it is left out
    (as row and column), else its zero similarities would tie with every other's and
    pick arbitrary neighbours, slowly (``known``: the items with a meaning vector)."""
    rows, cols = rows[known[rows]], cols[known[cols]]
    if k <= 0 or cols.size <= 1 or rows.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    days, vecs = prep.days, prep.meaning
    k = min(k, cols.size - 1)
    step = max(1, DENSE_CELLS // cols.size)
    col_days = days[cols]
    dated = int((~np.isnan(col_days)).sum())
    position = np.full(days.shape[0], -1)
    position[cols] = np.arange(cols.size)
    column = np.arange(cols.size)[None, :]
    found_r, found_c = [], []
    target = vecs[cols].T
    for s in range(0, rows.size, step):
        part = rows[s : s + step]
        sim = vecs[part] @ target
        row_days = days[part]
        # the window is a run of the time-ordered dated columns; undated rows meet all
        undated = np.isnan(row_days)
        lo = np.where(undated, 0, np.searchsorted(col_days[:dated], row_days - window, "left"))
        hi = np.where(undated, dated, np.searchsorted(col_days[:dated], row_days + window, "right"))
        outside = ((column < lo[:, None]) | (column >= hi[:, None])) & (column < dated)
        np.copyto(sim, -np.inf, where=outside)
        own = position[part]
        sim[np.flatnonzero(own >= 0), own[own >= 0]] = -np.inf
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        ok = np.isfinite(np.take_along_axis(sim, top, axis=1)).ravel()
        found_r.append(np.repeat(part, k)[ok])
        found_c.append(cols[top.ravel()][ok])
    return np.concatenate(found_r), np.concatenate(found_c)


def candidates(
    prep: Prepared, window: float, k: int, min_sim: float, k_meaning: int = 0
) -> tuple[np.ndarray, ...]:
    """Pairs (i < j) worth scoring: each item's ``k`` nearest by rare terms (with a cosine
    of at least ``min_sim``) and its ``k_meaning`` nearest by meaning, within the time window."""
    days, n = prep.days, prep.days.shape[0]
    order = np.argsort(np.where(np.isnan(days), np.inf, days), kind="stable")
    dated = int((~np.isnan(days)).sum())
    m = prep.blocking
    known = np.any(prep.meaning != 0, axis=1)  # once, not per block

    def block(start: int, stop: int) -> list[tuple[np.ndarray, np.ndarray]]:
        rows, cols = order[start:stop], _column_ranges(days, order, window, start, stop, dated)
        prod = (m[rows] @ m[cols].T).tocoo()
        r, c, v = rows[prod.row], cols[prod.col], prod.data
        ok = (r != c) & (v >= min_sim) & ~(np.abs(days[r] - days[c]) > window)
        r, c, v = r[ok], c[ok], v[ok]
        keep = _top_k(r, c, v, k)
        return [(r[keep], c[keep]), _dense_top_k(prep, rows, cols, window, k_meaning, known)]

    blocks = _blocks(n, dated)
    done = concurrently([partial(block, *b) for b in blocks])  # blocks of BLOCK_ROWS: each worth a thread
    found = [pair for pairs in done for pair in pairs]
    i = np.concatenate([f[0] for f in found] + [np.zeros(0, np.int64)]).astype(np.int64)
    j = np.concatenate([f[1] for f in found] + [np.zeros(0, np.int64)]).astype(np.int64)
    key = np.unique(np.minimum(i, j) * n + np.maximum(i, j))
    return key // n, key % n


def rowwise_dot(a: sparse.csr_matrix, b: sparse.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Dot products of rows ``a[i]`` and ``b[j]``, pair by pair, in chunks to bound memory."""
    out = np.zeros(i.size, np.float32)
    for s in range(0, i.size, 200_000):
        sl = slice(s, s + 200_000)
        out[sl] = np.asarray(a[i[sl]].multiply(b[j[sl]]).sum(axis=1)).ravel()
    return out


def _dense_rowwise(vecs: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Dot products of dense rows ``vecs[i]`` and ``vecs[j]``, in chunks to bound memory."""
    out = np.zeros(i.size, np.float32)
    for s in range(0, i.size, 100_000):
        sl = slice(s, s + 100_000)
        out[sl] = np.einsum("ij,ij->i", vecs[i[sl]], vecs[j[sl]])
    return out


def _positions(i: np.ndarray, j: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where each pair stands among the candidates of each endpoint by ``v`` (0 = the
    nearest): for ``i`` in the first half of the result, for ``j`` in the second."""
    ends = np.concatenate([i, j])
    order = np.argsort(-np.concatenate([v, v]), kind="stable")  # by value, then (stable) by end
    order = order[np.argsort(ends[order], kind="stable")]
    sorted_ends = ends[order]
    position = np.empty(ends.size, np.int64)
    position[order] = np.arange(ends.size) - np.searchsorted(sorted_ends, sorted_ends, side="left")
    return position


def _ranks(position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The worse and the better of a pair's two ranks (``_positions``, capped at 5)."""
    half = position.size // 2
    a, b = np.minimum(position[:half], 5), np.minimum(position[half:], 5)
    return np.maximum(a, b).astype(np.float32), np.minimum(a, b).astype(np.float32)


def _shared_neighbors(i: np.ndarray, j: np.ndarray, position: np.ndarray, n: int) -> np.ndarray:
    """The share of their ``NEIGHBORHOOD`` nearest candidates (by ``_positions``) two
    items have in common: the takes of one event sit among the same other takes, while
    two stories of one kind that merely read alike each have neighbors of their own."""
    near = position < NEIGHBORHOOD
    ends, others = np.concatenate([i, j])[near], np.concatenate([j, i])[near]
    hood = sparse.csr_matrix((np.ones(ends.size, np.float32), (ends, others)), shape=(n, n))
    return rowwise_dot(hood, hood, i, j) / NEIGHBORHOOD


def _relative(i: np.ndarray, j: np.ndarray, v: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's similarity over each endpoint's best candidate similarity (1 = its nearest):
    the higher and the lower of the two ratios."""
    best = np.zeros(n, np.float32)
    np.maximum.at(best, i, v)
    np.maximum.at(best, j, v)
    ra, rb = v / np.maximum(best[i], 1e-9), v / np.maximum(best[j], 1e-9)
    strength = np.sqrt(v)  # being the nearest of nothing much is worth little (small inputs)
    return np.maximum(ra, rb) * strength, np.minimum(ra, rb) * strength


def _excess(i: np.ndarray, j: np.ndarray, v: np.ndarray, n: int, rank: int = BACKGROUND_RANK) -> np.ndarray:
    """How far a pair's similarity stands above both items' background, the similarity of
    each item's ``rank``-th best candidate (0 for fewer): in a large pool, or a busy beat,
    many unrelated items look alike, and only what rises above them tells one event."""
    at_rank = _positions(i, j, v) == rank - 1
    background = np.zeros(n, np.float32)
    background[np.concatenate([i, j])[at_rank]] = np.concatenate([v, v])[at_rank]
    return v - np.maximum(background[i], background[j])


def _weekday_conflict(prep: Prepared, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Whether both items name a weekday in title or lead but never the same one: two
    takes of one event tell of the same day, a later development of another."""
    a, b = prep.weekdays[i], prep.weekdays[j]
    return ((a > 0) & (b > 0) & ((a & b) == 0)).astype(np.float32)


def _amount_features(prep: Prepared, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, ...]:
    """Shared amounts (capped, 0..1), whether both state money but never the same, and
    whether both state numbers (years and counts too) but share none."""
    shared = np.zeros(i.size, np.float32)
    conflict = np.zeros(i.size, np.float32)
    numbers = np.zeros(i.size, np.float32)
    amounts, money = prep.amounts, prep.money
    stated = np.fromiter(map(bool, amounts), bool, len(amounts))
    both = np.flatnonzero(stated[i] & stated[j])
    for idx, a, b in zip(both.tolist(), i[both].tolist(), j[both].tolist()):
        common = amounts[a] & amounts[b]
        shared[idx] = min(len(common), 3) / 3
        if _other_currencies(amounts[a], amounts[b]):
            continue
        numbers[idx] = float(not common)
        if money[a] and money[b] and not any(map(tx.is_money, common)):
            conflict[idx] = 1.0
    return shared, conflict, numbers


def _other_currencies(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two items state sums only, in currencies the other never uses ("$700M"
    against "€600M": one round, converted), which cannot conflict."""
    kinds_a, kinds_b = {k[0] for k in a}, {k[0] for k in b}
    return kinds_a <= CURRENCIES and kinds_b <= CURRENCIES and not kinds_a & kinds_b


CURRENCIES = frozenset("$€£¥")


def _missing_names(prep: Prepared, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """How many central names of one item (in its title and again in its lead) the other
    never mentions in its title or lead
    (the larger side, capped at 2, as 0..1): "UK and Nvidia" against a story naming only
    the UK is another deal, however alike the rest reads."""
    miss_i, miss_j = _names_missing_each(prep, i, j)
    return np.minimum(np.maximum(miss_i, miss_j), 2) / 2


def strangers(prep: Prepared, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Whether each item of a pair has a central name the other never mentions in its
    title or lead ("Mistral raises $120M" and "Cohere raises $120M"): both sides, where
    ``title_name_missing`` counts the larger."""
    miss_i, miss_j = _names_missing_each(prep, i, j)
    return (miss_i > 0) & (miss_j > 0)


def _names_missing_each(prep: Prepared, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many central names (in the title and again in the lead) of ``i`` the other
    item of its pair never mentions in its title or lead, and of ``j``."""
    t, a = prep.title_names, prep.names
    tb, ab = (t > 0).astype(np.float32), (a > 0).astype(np.float32)
    tb = tb.multiply(prep.lead_names).tocsr()  # central names: in the title and again in the lead
    count = np.asarray(tb.sum(axis=1)).ravel()
    return count[i] - rowwise_dot(tb, ab, i, j), count[j] - rowwise_dot(tb, ab, j, i)


def features(prep: Prepared, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The feature matrix (pairs x FEATURES) of pairs ``(i[k], j[k])``.

    Time is not a feature: the window is a hard constraint (eval sets date takes of one
    event identically, which would teach the model that any gap means another event)."""
    n = prep.days.shape[0]

    def dot(a: sparse.csr_matrix, b: sparse.csr_matrix) -> Callable[[], np.ndarray]:
        return lambda: rowwise_dot(a, b, i, j)

    # what each pair alone decides, on two threads for many pairs (the sparse products
    # release the GIL); the exclusive words first: their temporaries go before the rest pile up
    (
        exclusive,
        block,
        body,
        meaning,
        title,
        lead,
        title_lead,
        lead_title,
        names,
        title_names,
        amount,
        missing,
    ) = concurrently(
        [
            lambda: _exclusive_terms(prep, i, j),
            dot(prep.blocking, prep.blocking),
            dot(prep.body, prep.body),
            lambda: _dense_rowwise(prep.meaning, i, j),
            dot(prep.title, prep.title),
            dot(prep.lead, prep.lead),
            dot(prep.title, prep.lead),
            dot(prep.lead, prep.title),
            dot(prep.names, prep.names),
            dot(prep.title_names, prep.title_names),
            lambda: _amount_features(prep, i, j),
            lambda: _missing_names(prep, i, j),
        ],
        i.size >= THREADED_PAIRS,
    )
    shared, conflict, numbers = amount

    def neighborhood() -> tuple[np.ndarray, ...]:
        position = _positions(i, j, body + meaning)
        return *_ranks(position), _shared_neighbors(i, j, position, n)

    # then how each pair compares with the other candidates of its two items
    relative, meaning_relative, excess, meaning_excess, hood = concurrently(
        [
            lambda: _relative(i, j, body, n),
            lambda: _relative(i, j, np.maximum(meaning, 0), n),
            lambda: _excess(i, j, body, n),
            lambda: _excess(i, j, meaning, n),
            neighborhood,
        ],
        i.size >= THREADED_PAIRS,
    )
    cols = [
        title,
        lead,
        body,
        block,
        names,
        title_names,
        shared,
        conflict,
        np.maximum(title_lead, lead_title),
        *relative,
        missing,
        numbers,
        excess,
        _weekday_conflict(prep, i, j),
        meaning,
        *meaning_relative,
        meaning_excess,
        *hood,
        *exclusive,
    ]
    x = np.empty((i.size, len(cols)))  # filled column by column: one copy of the matrix, not two
    for k, col in enumerate(cols):
        x[:, k] = col
    return x


def _exclusive_terms(prep: Prepared, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How few other items use the terms of title and lead a pair shares: each shared term
    counts 1 / (df - 1), df being how many items of the batch use it, so a word only the
    two use counts 1 and a word ten use counts 1/9. The takes of one event share a word or
    two that hardly anyone else uses; two events of one kind share the words of their
    kind, which many items use. The sum is not divided by the items' length (one exclusive
    word in a one-line item is strong evidence); the second feature is its share of the
    smaller of the two items' own such sums (terms of one item alone count nothing there:
    no other item could share them). A df means less in a small batch, so the model
    learns from batches too (``benchmarks/train_dedup.py --batches``)."""
    weight = np.where(prep.df >= 2, 1.0 / np.maximum(prep.df - 1.0, 1.0), 0.0)
    h = prep.headline
    weighted = sparse.csr_matrix((weight[h.indices].astype(np.float32), h.indices, h.indptr), shape=h.shape)
    own = np.asarray(weighted.sum(axis=1)).ravel()
    shared = rowwise_dot(h, weighted, i, j).astype(np.float64)
    return shared, shared / np.maximum(np.minimum(own[i], own[j]), 1e-9)


def shingle_similarity(prep: Prepared, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Jaccard similarity of the word 3-shingles of each pair (shingled on demand: only
    pairs already close by tf-idf get here)."""
    out = np.zeros(i.size)
    cache: dict[int, np.ndarray] = {}
    for idx, (a, b) in enumerate(zip(i.tolist(), j.tolist())):
        for k in (a, b):
            if k not in cache:
                cache[k] = shingles(prep, k)
        sa, sb = cache[a], cache[b]
        if sa.size and sb.size:
            inter = np.intersect1d(sa, sb, assume_unique=True).size
            out[idx] = inter / (sa.size + sb.size - inter)
    return out
