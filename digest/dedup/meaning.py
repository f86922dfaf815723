"""Static word vectors: what an item is about, beyond the words it shares with another.

Takes of one event are told in different words ("buys" and "acquires", "stake" and
"investment"); tf-idf sees none of that. Each word of a general English vocabulary has a
vector distilled from a sentence encoder (all-MiniLM-L6-v2), shipped in
``digest/data/word_vectors.npz`` and rebuilt by ``benchmarks/build_word_vectors.py``. An
item's vector is the sum of its words' vectors (frequent words weigh little), so a
thousand items cost one sparse product: no model runs and nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

VECTORS_PATH = Path(__file__).resolve().parent.parent / "data" / "word_vectors.npz"


@lru_cache(maxsize=2)
def load(path: Path = VECTORS_PATH) -> tuple[dict[str, int], np.ndarray]:
    """The vocabulary (word -> row) and the vectors (float32, one row per word)."""
    with np.load(path) as data:
        words = data["words"].tobytes().decode("utf-8").split("\n")
        vectors = data["vectors"].astype(np.float32) * data["scales"][:, None]
    return {w: k for k, w in enumerate(words)}, vectors


def size(path: Path = VECTORS_PATH) -> int:
    """How many words have a vector."""
    return load(path)[1].shape[0]


def rows(words: Sequence[str], path: Path = VECTORS_PATH) -> np.ndarray:
    """The vector row of each word (looked up lower-cased), -1 for a word without one."""
    vocab, _ = load(path)
    return np.fromiter((vocab.get(w.lower(), -1) for w in words), np.int64, len(words))


def embed_counts(counts: sparse.csr_matrix, path: Path = VECTORS_PATH) -> np.ndarray:
    """Unit vectors (float32) of documents given as word counts over the vector rows; a
    document with no known word gets a zero row, similar to nothing."""
    out = np.asarray(counts @ load(path)[1], dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)
