"""Retrain the pairwise same-event model of dedup and write its weights as JSON.

Usage (from the repository root, with scikit-learn: ``pip install -e '.[train]'``)::

    python benchmarks/train_dedup.py [--eval DIR] [--train FILE ...] [--holdout 0.5 | --odd | --even]
                                     [--trees 80 --depth 4 --rate 0.15] [--batches 300]
                                     [--headline-share 0.5 --headline-weight 0.3] [--single-share 0.5]
                                     [--beats 60 --beat-size 60 --beat-single 0.7 --beat-weight 1]
                                     [--beat-test 40]
                                     [--pools 300,1000] [--mixed 1500] [--out digest/data/dedup_model.json]

Features are computed exactly as ``digest.dedup`` computes them at run time (word
vectors included), on the candidate pairs it would score; a pair is positive when both
items carry the same ``gold`` label. The model is gradient-boosted trees (scikit-learn's
histogram boosting) on the raw features, exported as JSON node arrays that
``digest.dedup.model`` walks with numpy, so scikit-learn is needed only here; the export
is checked against scikit-learn's own scores once written. With ``--holdout F`` a share F of
the training events (chosen by a hash of their label, deterministic) is kept out of
fitting, and the script reports B-cubed F1 over a threshold grid on the held-out part
and on every other eval file, so the threshold can be chosen on data the model did not
see; ``--odd`` holds out every other event instead (labels in sorted order), ``--even``
the other half. An article held out of one file is left out of training in every
file (``training_rows``). The held-out part is also scored cut into pools of whole
events of each ``--pools`` size (the mean over those pools): a day's feeds hold a few
hundred items, and an undated pool of thousands spanning years is harder; each pool is
scored again with half of its events cut to one take, as most events of a day are. And each
held-out part is scored clustered among about ``--mixed`` held-out takes of the other
files, counting only its own items, which a model that tells the files apart by their
pools' size or kind fails. The
shipped weights are fitted on every pair of the three eval files (the default
``--train``), whole and cut into batches of about 300 items (``--batches``),
each batch a second time with half of its items cut to their titles (``--headline-share``:
many feeds give a headline and nothing else; those pairs weigh 0.3 of the others,
``--headline-weight``, so that they do not pull the model away from full items), and
a third time with half of its events cut to one take (``--single-share``: a take whose
nearest candidate is another event's must be seen to stay alone); and from 60 small
batches of one beat per file (``--beats``: an event and its nearest events, about 60
takes, 70% of those events cut to one take), as a day of one field holds them, where
two events of one beat are each other's nearest candidates (held-out parts are scored
that way too, ``--beat-test``). One threshold serves all of them: news of different
kinds (three outlets' takes, many short reports of two like events, a dated stream)
calibrate one probability. Eval data stay outside the repo: only the fitted weights are written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.dedup import DedupSettings  # noqa: E402
from digest.dedup.api import item_from_json  # noqa: E402
from digest.dedup.engine import cluster, find_takes, normalized_title  # noqa: E402
from digest.dedup.model import MODEL_PATH  # noqa: E402
from digest.dedup.pairs import FEATURES, features  # noqa: E402
from digest.dedup.vectors import prepare  # noqa: E402


def load_eval(path: Path) -> tuple[list, list[str]]:
    """Items and gold labels of an eval file."""
    items, gold = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                row = json.loads(line)
                items.append(item_from_json(row, number))
                gold.append(row["gold"])
    return items, gold


def held_out(label: str, share: float) -> bool:
    """Whether an event goes to the held-out part (stable across runs). ECB+ labels are
    split by topic ("ecb-12-ecbplus" -> "12"), so both events of a topic stay together."""
    group = label.split("-")[1] if label.startswith("ecb-") else label
    return int(hashlib.sha1(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def odd_event(labels: list[str], parity: int = 1) -> dict[str, bool]:
    """Whether each label is held out by ``--odd`` (by ``--even`` with parity 0): every
    other event (ECB+ topic) in sorted order, so that both halves hold events of every kind."""
    group = {g: g.split("-")[1] if g.startswith("ecb-") else g for g in labels}
    order = {k: n for n, k in enumerate(sorted(set(group.values())))}
    return {g: order[k] % 2 == parity for g, k in group.items()}


def training_rows(files: list[tuple[str, list, list[str], list[bool]]]) -> list[tuple[list, int]]:
    """For each eval file (name, items, gold, held out?), its training rows (item, gold) and
    how many items were left out because a held-out item of any file has the same
    normalized title: the eval files share articles (allsides2021's are among
    allsides-train's dated ones), and a held-out article must not be learned from."""
    held = {normalized_title(it.title) for _, items, _, part in files for it, h in zip(items, part) if h}
    held.discard("")  # an item without a title is no article to recognise
    out = []
    for _, items, gold, part in files:
        fresh = [not h and normalized_title(it.title) not in held for it, h in zip(items, part)]
        rows = [(it, g) for it, g, keep in zip(items, gold, fresh) if keep]
        out.append((rows, part.count(False) - len(rows)))
    return out


def pair_data(items: list, gold: list[str], settings: DedupSettings) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the candidate pairs dedup would score on ``items`` (pairs of
    takes: copies joined by the same-item and same-text layers count once)."""
    t = find_takes(items, settings.params())
    x = features(t.prep, t.i, t.j)
    y = np.array([gold[a] == gold[b] for a, b in zip(t.takes[t.i], t.takes[t.j])], bool)
    return x, y


def headlines_only(rows: list, share: float, seed: int) -> list:
    """``rows`` (item, gold) with a seeded random ``share`` of the items cut to their title."""
    rng = random.Random(seed)
    return [(replace(it, summary="", text="") if rng.random() < share else it, g) for it, g in rows]


def singles(rows: list, share: float, seed: int) -> list:
    """``rows`` (item, gold) with a seeded random ``share`` of the events cut to their
    first take. Most events of a day's feeds are told once, and a take with nowhere to go
    must stay alone; in the labeled files nearly every event has two takes or more, so
    that a model learning from them alone takes a take's nearest candidate for its mate."""
    rng = random.Random(seed)
    cut = {g for g in sorted({g for _, g in rows}) if rng.random() < share}
    seen: set[str] = set()
    out = []
    for item, g in rows:
        if g not in cut or g not in seen:
            out.append((item, g))
        seen.add(g)
    return out


def by_event(rows: list) -> dict[str, list]:
    """``rows`` (item, gold) grouped by event, in the order of their first take."""
    events: dict[str, list] = {}
    for row in rows:
        events.setdefault(row[1], []).append(row)
    return events


def day_batches(rows: list, size: int, seed: int = 3) -> list[list]:
    """``rows`` (item, gold) cut into batches of about ``size`` items, whole events kept
    together, events in a seeded random order: the small batches dedup sees on a normal day."""
    events = by_event(rows)
    order = sorted(events)
    random.Random(seed * 1000 + size).shuffle(order)
    batches, current = [], []
    for label in order:
        current += events[label]
        if len(current) >= size:
            batches.append(current)
            current = []
    return batches + ([current] if len(current) > 1 else [])


BEAT_TEST_SINGLE = 0.7  # share of a held-out beat's events cut to one take: most of a day's are told once


def beat_batches(rows: list, size: int, count: int, single_share: float, seed: int = 7) -> list[list]:
    """``count`` small batches of about ``size`` (item, gold) rows, each one beat: a seeded
    random event and the events whose titles and leads are nearest it (dedup's own tf-idf,
    summed over each event's takes), with ``single_share`` of those events cut to one take
    (``singles``). A day of one field holds a few dozen items, most told once, many alike
    in their words ("AI", "model", "startup"); in the labeled files' random batches a
    take's nearest candidate is mostly its mate, and a model that learned only from them
    joins two events of one beat."""
    events = by_event(rows)
    labels = sorted(events)
    if len(labels) < 2 or count <= 0:
        return []
    prep = prepare([it for g in labels for it, _ in events[g]])
    owner = np.repeat(np.arange(len(labels)), [len(events[g]) for g in labels])
    per_event = sparse.csr_matrix((np.ones(owner.size), (owner, np.arange(owner.size))))
    vectors = per_event @ (prep.title + prep.lead)
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
    vectors = sparse.diags(1 / np.maximum(norms, 1e-9)) @ vectors
    rng = random.Random(seed * 1000 + size)
    batches = []
    for k in range(count):
        near = np.argsort(-(vectors @ vectors[rng.randrange(len(labels))].T).toarray().ravel(), kind="stable")
        batch: list = []
        for n, e in enumerate(near.tolist()):
            batch += events[labels[e]]
            if len(batch) >= size and n > 0:  # two events at least, however large the first
                break
        batches.append(singles(batch, single_share, seed=seed * 7919 + k))
    return batches


def fit_trees(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, trees: int, depth: int, rate: float
) -> tuple[dict, object]:
    """Gradient-boosted trees (scikit-learn's histogram boosting) on the raw features, each
    pair counting ``weight``: a JSON-able dict of node arrays that ``digest.dedup.model``
    walks with numpy, and the fitted classifier (to check the export against)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(
        max_iter=trees, max_depth=depth, learning_rate=rate, l2_regularization=1.0, random_state=0
    ).fit(x, y, sample_weight=weight)
    exported = []
    for (predictor,) in clf._predictors:  # one tree per iteration (binary classification)
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        exported.append(
            {
                "feature": nodes["feature_idx"].tolist(),
                "threshold": nodes["num_threshold"].tolist(),  # exact: ties decide
                "left": np.where(leaf, -1, nodes["left"].astype(np.int64)).tolist(),
                "right": np.where(leaf, -1, nodes["right"].astype(np.int64)).tolist(),
                "value": [round(float(v), 6) for v in np.where(leaf, nodes["value"], 0.0)],
            }
        )
    model = {
        "features": list(FEATURES),
        "baseline": float(np.ravel(clf._baseline_prediction)[0]),
        "depth": depth,
        "trees": exported,
        "trained_on": {"pairs": int(len(y)), "positives": int(y.sum())},
    }
    return model, clf


def bcubed(gold: list[str], pred: list) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (as in shared/eval/score.py)."""
    from collections import Counter

    joint, in_pred, in_gold = Counter(zip(pred, gold)), Counter(pred), Counter(gold)
    p = sum(c * c / in_pred[s] for (s, _), c in joint.items()) / len(gold)
    r = sum(c * c / in_gold[g] for (_, g), c in joint.items()) / len(gold)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def sweep(
    name: str, pools: list[list], settings: DedupSettings, grid: list[float], scored: int | None = None
) -> None:
    """Print the B-cubed P/R/F1 of clustering each pool of (item, gold) rows on its own,
    averaged over the pools, for each threshold of ``grid``; only the first ``scored``
    rows of a pool count, when given."""
    for t in grid:
        s = DedupSettings(**{**settings.__dict__, "threshold": t})
        scores = []
        for one in pools:
            labels = cluster([it for it, _ in one], s.params())[0]
            scores.append(bcubed([g for _, g in one[:scored]], labels[:scored]))
        p, r, f = np.mean(scores, axis=0)
        print(f"{name:28s} t={t:.2f}  P {p:.3f}  R {r:.3f}  F1 {f:.3f}", flush=True)


def pool_sweep(name: str, rows: list, settings: DedupSettings, grid: list[float], size: int) -> None:
    """``sweep`` over pools of about ``size`` (item, gold) rows of whole events
    (``day_batches``; a last short pool is left out), and again with half of each pool's
    events cut to one take (``singles``), as in a day's feeds, where most events are told
    once. Nothing when fewer than two pools fit, since one would be the whole part again."""
    pools = [p for p in day_batches(rows, size) if len(p) >= size]
    if len(pools) >= 2:
        sweep(f"{name} pools of {size} (x{len(pools)})", pools, settings, grid)
        cut = [singles(p, 0.5, seed=1000 + k) for k, p in enumerate(pools)]
        sweep(f"{name} pools of {size}, half single", cut, settings, grid)


def distractors(rows: list, others: list, size: int, seed: int = 5) -> list:
    """About ``size`` (item, gold) rows of ``others``, whole events drawn at random
    (``day_batches``), their labels kept apart from those of ``rows``, and none with the
    normalized title of an item of ``rows`` (the eval files share some articles)."""
    titles = {normalized_title(it.title) for it, _ in rows}
    batches = day_batches(others, size, seed)
    picked = batches[0] if batches else []
    return [(it, ("other", g)) for it, g in picked if normalized_title(it.title) not in titles]


def mixed_sweep(
    name: str, rows: list, others: list, settings: DedupSettings, grid: list[float], size: int
) -> None:
    """``sweep`` of ``rows`` clustered among ``distractors`` from ``others``, scoring only
    the items of ``rows``. A pool's size and kind then say nothing of which file a take
    came from: a model that learned that from them fails here. (One given the pool's size
    as a feature, and batches of 150 to 2,400 items to learn it from, did: held-out ECB+
    halves rose from 0.91 to 0.93 B-cubed F1 on their own and fell to 0.60-0.65 among 600
    to 3,000 held-out AllSides takes, where the same fit without that feature scores
    0.83-0.94.)"""
    extra = distractors(rows, others, size)
    if extra:
        sweep(f"{name} among {len(extra)} others", [rows + extra], settings, grid, scored=len(rows))


def whole_numbers(option: str, value: str) -> list[int]:
    """A comma-separated list of whole numbers above 0, or an error naming ``option``."""
    parts = [v.strip() for v in value.split(",") if v.strip()]
    if not all(v.isdigit() and int(v) > 0 for v in parts):
        raise ValueError(f"{option} takes whole numbers above 0 separated by commas, not {value!r}")
    return [int(v) for v in parts]


def thresholds(value: str) -> list[float]:
    """``--grid``: comma-separated thresholds between 0 and 1, or an error saying so."""
    try:
        grid = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        grid = []
    if not grid or not all(0 <= t <= 1 for t in grid):
        raise ValueError(f"--grid takes thresholds between 0 and 1 separated by commas, not {value!r}")
    return grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval")
    ap.add_argument(
        "--train",
        nargs="*",
        default=["allsides-train.jsonl", "ecbplus-dev.jsonl", "allsides2021-aprjun.jsonl"],
    )
    ap.add_argument("--holdout", type=float, default=0.0)
    halves = ap.add_mutually_exclusive_group()
    halves.add_argument("--odd", action="store_true", help="hold out every other event")
    halves.add_argument("--even", action="store_true", help="hold out the other half of --odd")
    ap.add_argument("--trees", type=int, default=80)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--rate", type=float, default=0.15)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument(
        "--batches",
        default="300",
        help="also learn from batches of these sizes (whole events, shuffled; comma-separated, "
        "'' for none): features that count how many items use a word mean less in a small "
        "batch, and the model must see that; smaller batches add little (eval events lie far "
        "apart in them)",
    )
    ap.add_argument(
        "--headline-share",
        type=float,
        default=0.5,
        help="learn from each batch a second time with this share of its items cut to their "
        "titles, as from feeds that give only a headline (0 for none)",
    )
    ap.add_argument(
        "--single-share",
        type=float,
        default=0.5,
        help="learn from each batch again with this share of its events cut to one take (0 for "
        "none): most events of a day's feeds are told once, and a take with nowhere to go must "
        "stay alone",
    )
    ap.add_argument(
        "--headline-weight",
        type=float,
        default=0.3,
        help="what a pair of those headline batches weighs in the fit, against 1 for the others",
    )
    ap.add_argument(
        "--beats",
        type=int,
        default=60,
        help="also learn from this many batches of one beat per file (0 for none): an event and "
        "its nearest events, as a day of one field holds them",
    )
    ap.add_argument("--beat-size", type=int, default=60, help="takes of a batch of one beat, before the cut")
    ap.add_argument("--beat-single", type=float, default=0.7, help="share of a beat's events cut to one take")
    ap.add_argument("--beat-weight", type=float, default=1.0, help="what a pair of those batches weighs")
    ap.add_argument(
        "--beat-test",
        type=int,
        default=40,
        help="also score the held-out part cut into this many batches of one beat, 70%% of their "
        "events cut to one take (0 for none)",
    )
    ap.add_argument("--grid", default="0.2,0.25,0.3,0.35,0.4")
    ap.add_argument(
        "--pools",
        default="300,1000",
        help="also score the held-out part cut into pools of whole events of these sizes "
        "(comma-separated, '' for none)",
    )
    ap.add_argument(
        "--mixed",
        type=int,
        default=1500,
        help="also score each held-out part clustered among about this many held-out takes of "
        "the other files, counting only its own items (0 for none)",
    )
    args = ap.parse_args()
    try:
        batch_sizes = whole_numbers("--batches", args.batches)
        pool_sizes = whole_numbers("--pools", args.pools)
        grid = thresholds(args.grid)
    except ValueError as exc:
        ap.error(str(exc))
    for option, value, ok, allowed in (
        ("--headline-share", args.headline_share, 0 <= args.headline_share <= 1, "between 0 and 1"),
        ("--headline-weight", args.headline_weight, 0 < args.headline_weight < math.inf, "above 0"),
        ("--single-share", args.single_share, 0 <= args.single_share <= 1, "between 0 and 1"),
        ("--mixed", args.mixed, args.mixed >= 0, "0 or more"),
        ("--beats", args.beats, args.beats >= 0, "0 or more"),
        ("--beat-size", args.beat_size, args.beat_size >= 2, "2 or more"),
        ("--beat-single", args.beat_single, 0 <= args.beat_single <= 1, "between 0 and 1"),
        ("--beat-weight", args.beat_weight, 0 < args.beat_weight < math.inf, "above 0"),
        ("--beat-test", args.beat_test, args.beat_test >= 0, "0 or more"),
    ):
        if not ok:
            ap.error(f"{option} must be {allowed}, not {value}")
    settings = DedupSettings()
    half = args.odd or args.even
    files = []
    for name in args.train:
        items, gold = load_eval(args.eval / name)
        odd = odd_event(gold, 1 if args.odd else 0) if half else {}
        files.append((name, items, gold, [odd[g] if half else held_out(g, args.holdout) for g in gold]))
    xs, ys, weights, tests = [], [], [], []
    for (name, items, gold, part), (train, dropped) in zip(files, training_rows(files)):
        if dropped:
            print(f"{name}: {dropped} training items left out, their title held out")
        x, y = pair_data([t[0] for t in train], [t[1] for t in train], settings)
        xs.append(x), ys.append(y), weights.append(np.ones(len(y)))
        for size in batch_sizes:
            for k, batch in enumerate(day_batches(train, size)):
                cut = headlines_only(batch, args.headline_share, seed=k) if args.headline_share else None
                alone = singles(batch, args.single_share, seed=k) if args.single_share else None
                for rows in (part for part in (batch, cut, alone) if part):
                    x, y = pair_data([t[0] for t in rows], [t[1] for t in rows], settings)
                    xs.append(x), ys.append(y)
                    weights.append(np.full(len(y), args.headline_weight if rows is cut else 1.0))
        for rows in beat_batches(train, args.beat_size, args.beats, args.beat_single):
            x, y = pair_data([t[0] for t in rows], [t[1] for t in rows], settings)
            xs.append(x), ys.append(y), weights.append(np.full(len(y), args.beat_weight))
        if args.holdout or half:
            test = [(it, g) for it, g, h in zip(items, gold, part) if h]
            tests.append((f"{name} (held out)", test, pool_sizes))
    x, y = np.vstack(xs), np.concatenate(ys)
    model, clf = fit_trees(x, y, np.concatenate(weights), args.trees, args.depth, args.rate)
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {model['trained_on']}")
    from digest.dedup import model as runtime

    runtime.MODEL_PATH = args.out  # score with the model just written
    runtime.load.cache_clear()
    runtime._forest.cache_clear()
    if not np.allclose(runtime.logit(x[:2000]), clf.decision_function(x[:2000]), atol=1e-3):
        sys.exit(f"{args.out}: the exported trees disagree with the fitted model")
    others = [p for p in sorted(args.eval.glob("*.jsonl")) if p.name not in args.train]
    held = [part for _, part, _ in tests]  # the held-out parts: each is also scored among the others'
    for path in others:
        tests.append((path.name, list(zip(*load_eval(path))), []))
    for k, (name, rows, sizes) in enumerate(tests):  # pools only of the held-out parts
        sweep(name, [rows], settings, grid)
        for size in sizes:
            pool_sweep(name, rows, settings, grid, size)
        if args.beat_test and k < len(held):
            beats = beat_batches(rows, args.beat_size, args.beat_test, BEAT_TEST_SINGLE, seed=11)
            if beats:
                sweep(f"{name} {len(beats)} beats of {args.beat_size}", beats, settings, grid)
        if args.mixed and k < len(held):
            rest = [row for m, part in enumerate(held) if m != k for row in part]
            mixed_sweep(name, rows, rest, settings, grid, args.mixed)


if __name__ == "__main__":
    main()
