"""The pairwise same-event model: gradient-boosted trees over pair features, shipped as
JSON node arrays in ``digest/data/dedup_model.json`` (retrain with
``benchmarks/train_dedup.py``) and walked here with numpy alone."""

from __future__ import annotations

import json
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

from .halves import concurrently
from .pairs import FEATURES

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "dedup_model.json"


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH) -> dict:
    """The model's weights; its feature list must match the code's."""
    model = json.loads(path.read_text(encoding="utf-8"))
    if tuple(model["features"]) != FEATURES:
        raise ValueError(f"{path}: features {model['features']} do not match {FEATURES}; retrain")
    return model


TREE_CHUNK = 4_000  # pairs walked down all trees at once: temporaries of a few MB


@lru_cache(maxsize=4)
def _forest(path: Path) -> tuple[np.ndarray, ...]:
    """The trees of ``path`` as complete binary trees of the model's depth in heap order
    (the children of inner node k are 2k+1 and 2k+2): per tree, the feature and threshold
    of each inner node and the value of each leaf. A leaf above the full depth becomes a
    split that every pair passes to the left (threshold +inf), down to copies of it."""
    model = load(path)
    depth, trees = model["depth"], model["trees"]
    inner = 2**depth - 1
    feature = np.zeros((len(trees), inner), np.int64)
    threshold = np.full((len(trees), inner), np.inf)
    value = np.zeros((len(trees), inner + 1))
    for k, t in enumerate(trees):
        stack = [(0, 0, 0)]  # (node, heap position, level)
        while stack:
            node, at, level = stack.pop()
            leaf = t["left"][node] < 0
            if level == depth:
                if not leaf:
                    raise ValueError(f"{path}: tree {k} is deeper than its depth {depth}; retrain")
                value[k, at - inner] = t["value"][node]
            elif leaf:
                stack += [(node, 2 * at + 1, level + 1), (node, 2 * at + 2, level + 1)]
            else:
                feature[k, at], threshold[k, at] = t["feature"][node], t["threshold"][node]
                stack += [(t["left"][node], 2 * at + 1, level + 1), (t["right"][node], 2 * at + 2, level + 1)]
    return feature, threshold, value


def logit(x: np.ndarray, path: Path | None = None) -> np.ndarray:
    """Log-odds of each pair: the baseline plus the leaf value it reaches in every tree
    (going right where its feature exceeds the threshold, as in scikit-learn). ``path``
    defaults to the shipped model."""
    path = path or MODEL_PATH
    model = load(path)
    feature, threshold, value = _forest(path)
    n_trees, inner = feature.shape
    tree_inner = np.arange(n_trees) * inner
    tree_leaf = np.arange(n_trees) * (inner + 1) - inner
    feature, threshold, value = feature.ravel(), threshold.ravel(), value.ravel()
    out = np.full(x.shape[0], model["baseline"], np.float64)

    def walk(s: int) -> None:
        rows = np.nan_to_num(np.asarray(x[s : s + TREE_CHUNK], np.float64))
        flat, row_start = rows.ravel(), (np.arange(rows.shape[0]) * rows.shape[1])[:, None]
        at = np.zeros((rows.shape[0], n_trees), np.int64)
        for _ in range(model["depth"]):
            node = tree_inner + at
            at = 2 * at + 1 + (flat[row_start + feature[node]] > threshold[node])
        out[s : s + TREE_CHUNK] += value[tree_leaf + at].sum(axis=1)

    starts = range(0, x.shape[0], TREE_CHUNK)
    concurrently([partial(walk, s) for s in starts], len(starts) > 1)  # each chunk writes its own rows
    return out


def probability(x: np.ndarray, offset: np.ndarray | float = 0.0, path: Path | None = None) -> np.ndarray:
    """Probability that each pair (a row of features) tells the same event; ``offset`` is
    added to the log-odds (the time prior)."""
    return 1.0 / (1.0 + np.exp(-(logit(x, path) + offset)))
