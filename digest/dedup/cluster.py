"""Clustering: union-find for certain merges, constrained average link for events.

Average link merges two clusters only when the mean similarity over *all* their cross
pairs reaches the threshold (pairs never scored count as 0), so A~B and B~C do not pull
A and C together unless A resembles C too: no chaining.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components


class UnionFind:
    """Disjoint sets over 0..n-1; the root is always the smallest index (deterministic)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        """The root of ``x``'s set."""
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> bool:
        """Join the sets of ``a`` and ``b``; False when they were already one."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


@dataclass
class _Cluster:
    size: int
    first: float  # earliest publication day (inf when undated)
    last: float  # latest publication day (-inf when undated)
    sources: frozenset = frozenset()  # outlets of its items (cannot-link: one outlet, one take)
    fence: int = 0  # the fence of its items (only clusters of one fence merge)
    foes: frozenset = frozenset()  # groups it must never hold (cannot-link: two events told apart)
    sums: dict[int, float] = field(default_factory=dict)  # neighbor -> sum of pair scores
    best: dict[int, tuple[float, int, int]] = field(default_factory=dict)  # neighbor -> best pair


def _initial(
    groups: np.ndarray,
    days: np.ndarray,
    sources: list[str] | None,
    fences: list[int] | None,
    involved: np.ndarray,
) -> dict[int, _Cluster]:
    """A cluster for each group of ``involved`` (the others cannot merge)."""
    size = np.bincount(groups)
    first, last = np.full(size.size, np.inf), np.full(size.size, -np.inf)
    dated = ~np.isnan(days)
    np.minimum.at(first, groups[dated], days[dated])
    np.maximum.at(last, groups[dated], days[dated])
    clusters = {g: _Cluster(int(size[g]), float(first[g]), float(last[g])) for g in involved.tolist()}
    if sources:
        for item, g in enumerate(groups.tolist()):
            if sources[item] and g in clusters:
                clusters[g].sources = clusters[g].sources | {sources[item]}
    if fences:
        for item, g in enumerate(groups.tolist()):
            if g in clusters:
                clusters[g].fence = fences[item]
    return clusters


def _mergeable(
    groups: np.ndarray, i: np.ndarray, j: np.ndarray, score: np.ndarray, threshold: float
) -> np.ndarray:
    """The pairs that can count toward a merge. Two clusters merge only when their cross
    pairs average ``threshold``, so at least one of those pairs reaches it: every cluster
    lies within one connected part of the graph of such pairs, and a pair between two
    parts (or within one group) never counts. Dropping those first leaves the result
    unchanged and spares most of the work on large inputs."""
    a, b = groups[i], groups[j]
    strong = score >= threshold
    n = int(groups.max()) + 1 if groups.size else 0
    graph = sparse.csr_matrix((np.ones(int(strong.sum())), (a[strong], b[strong])), shape=(n, n))
    _, part = connected_components(graph, directed=False)
    return (a != b) & (part[a] == part[b])


def _add_edges(
    clusters: dict[int, _Cluster], groups: np.ndarray, i: np.ndarray, j: np.ndarray, score: np.ndarray
) -> None:
    for a, b, s in zip(i.tolist(), j.tolist(), score.tolist()):
        ga, gb = int(groups[a]), int(groups[b])
        if ga == gb:
            continue
        for x, y in ((ga, gb), (gb, ga)):
            c = clusters[x]
            c.sums[y] = c.sums.get(y, 0.0) + s
            if s > c.best.get(y, (-1.0, 0, 0))[0]:
                c.best[y] = (s, a, b)


def _merge(clusters: dict[int, _Cluster], keep: int, gone: int) -> None:
    """Fold cluster ``gone`` into ``keep``, summing their pair scores toward every neighbor."""
    k, g = clusters[keep], clusters.pop(gone)
    k.size += g.size
    k.first, k.last = min(k.first, g.first), max(k.last, g.last)
    k.sources = k.sources | g.sources
    k.foes = k.foes | g.foes
    k.sums.pop(gone, None), k.best.pop(gone, None)
    for other, s in g.sums.items():
        if other == keep:
            continue
        o = clusters[other]
        k.sums[other] = k.sums.get(other, 0.0) + s
        o.sums[keep] = o.sums.get(keep, 0.0) + o.sums.pop(gone)
        pair = max(k.best.get(other, (-1.0, 0, 0)), g.best[other])
        k.best[other] = o.best[keep] = pair
        o.best.pop(gone, None)


def average_link(
    groups: np.ndarray,
    days: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    score: np.ndarray,
    threshold: float,
    window: float,
    sources: list[str] | None = None,
    fences: list[int] | None = None,
    foes: list[tuple[int, int]] = (),
) -> tuple[dict[int, int], list[tuple[int, int, float, float]]]:
    """Merge the ``groups`` (initial cluster of each item) by average link over the scored
    pairs; never let a cluster span more than ``window`` days, nor hold two items of one
    source (``sources[item]``, "" for unknown): an outlet does not publish two different
    takes of one event, and its re-posts are joined before, by the same-item and same-text layers.
    Nor two items of different ``fences`` (``fences[item]``; the items of a group share one),
    nor the two items of a pair of ``foes``.

    Returns the final cluster of each initial group and the joins made, each as
    (item a, item b, best pair score, average score).
    """
    keep = _mergeable(groups, i, j, score, threshold)
    i, j, score = i[keep], j[keep], score[keep]
    clusters = _initial(groups, days, sources, fences, np.unique(np.concatenate([groups[i], groups[j]])))
    _add_edges(clusters, groups, i, j, score)
    for a, b in foes:
        ga, gb = int(groups[a]), int(groups[b])
        if ga in clusters and gb in clusters:
            clusters[ga].foes, clusters[gb].foes = clusters[ga].foes | {gb}, clusters[gb].foes | {ga}
    heap = [  # only what could merge now: a pair's average changes only by a merge, which pushes it anew
        (-avg, a, b)
        for a, c in clusters.items()
        for b, s in c.sums.items()
        if a < b and (avg := s / (c.size * clusters[b].size)) >= threshold
    ]
    heapq.heapify(heap)
    final = {g: g for g in np.unique(groups).tolist()}
    joins = []
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in clusters or b not in clusters or b not in clusters[a].sums:
            continue
        ca, cb = clusters[a], clusters[b]
        avg = ca.sums[b] / (ca.size * cb.size)
        if abs(avg + neg) > 1e-12:
            continue  # stale: a merge changed this pair's average (and pushed it anew if it still counts)
        if max(ca.last, cb.last) - min(ca.first, cb.first) > window:
            continue
        if not ca.sources.isdisjoint(cb.sources) or ca.fence != cb.fence:
            continue
        if ca.foes and cb.foes and any(_root(final, foe) == b for foe in ca.foes):
            continue
        keep, gone = min(a, b), max(a, b)
        s, x, y = ca.best[b]
        joins.append((x, y, s, avg))
        _merge(clusters, keep, gone)
        final[gone] = keep
        kc = clusters[keep]
        for other, total in kc.sums.items():
            avg = total / (kc.size * clusters[other].size)
            if avg >= threshold:
                heapq.heappush(heap, (-avg, min(keep, other), max(keep, other)))
    return {g: _root(final, g) for g in final}, joins


def _root(final: dict[int, int], g: int) -> int:
    while final[g] != g:
        g = final[g]
    return g
