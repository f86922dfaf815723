"""Quality and speed of dedup.

Usage (from the repository root)::

    python benchmarks/dedup_bench.py [EVAL_DIR] [--sizes 1000,10000,100000]

Scores ``digest dedup`` on every ``*.jsonl`` of EVAL_DIR (default ``../shared/eval``)
with the functions of its ``score.py`` (B-cubed and pairwise P/R/F1), then times
``dedup()`` on synthetic inputs of each size, each run in a fresh subprocess that
reports wall time and peak memory (the peak resident size; from 4,000 items on, also that of
the forked process that reads half the texts, whose resident size counts the pages it
shares with its parent). Synthetic items are rewritten copies of
the eval items (words dropped and swapped, a few new words), one date per event spread
over a year, generated at run time and never stored.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from train_dedup import whole_numbers  # noqa: E402  (beside this script)

from digest.dedup import DedupSettings, cluster_jsonl, dedup  # noqa: E402
from digest.models import Item  # noqa: E402


def load_score(eval_dir: Path):
    """The eval's score.py, imported by path."""
    spec = importlib.util.spec_from_file_location("score", eval_dir / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quality(eval_dir: Path) -> None:
    """Print B-cubed and pairwise P/R/F1 and the run time of every eval file."""
    score = load_score(eval_dir)
    for path in sorted(eval_dir.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        start = time.perf_counter()
        pred = {row["id"]: row["story"] for row in map(json.loads, cluster_jsonl(lines, DedupSettings()))}
        took = time.perf_counter() - start
        gold = score.load(path, "gold")
        ids = list(gold)
        g, s = [gold[i] for i in ids], [pred.get(i, ("missing", i)) for i in ids]
        bp, br, bf = score.bcubed(g, s)
        pp, pr, pf = score.pairwise(g, s)
        print(
            f"{path.name:28s} items {len(ids):5d}  B-cubed P {bp:.3f} R {br:.3f} F1 {bf:.3f}  "
            f"pairwise P {pp:.3f} R {pr:.3f} F1 {pf:.3f}  ({took:.2f} s)",
            flush=True,
        )


def rewrite(text: str, rng: random.Random, extra: list[str]) -> str:
    """A light rewrite: drop some words, swap neighbors, add a few words."""
    words = [w for w in text.split() if rng.random() > 0.15]
    for _ in range(len(words) // 8):
        k = rng.randrange(max(len(words) - 1, 1))
        words[k : k + 2] = words[k : k + 2][::-1]
    words += rng.sample(extra, min(3, len(extra)))
    return " ".join(words)


def synthetic(eval_dir: Path, size: int, seed: int = 1) -> list[Item]:
    """``size`` items rewritten from the eval items; each copy of an event gets its own date."""
    rng = random.Random(seed)
    rows = [
        json.loads(line)
        for path in sorted(eval_dir.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    extra = sorted({w for row in rows[:2000] for w in row["title"].split()})
    start = datetime(2025, 1, 1, tzinfo=UTC)
    items, dates = [], {}
    for n in range(size):
        row = rows[n % len(rows)]
        copy = n // len(rows)
        day = dates.setdefault((row["gold"], copy), rng.uniform(0, 365))
        when = start + timedelta(days=day, hours=rng.uniform(0, 30))
        items.append(
            Item(
                id=f"syn-{n}",
                title=rewrite(row["title"], rng, extra),
                url=f"https://syn.example/{n}",
                source=row.get("source") or "Synthetic",
                published=when,
                summary=rewrite(row.get("text") or "", rng, extra),
            )
        )
    return items


def peak_mb() -> float:
    """Peak resident memory of this process in MB. Linux's VmHWM, where it exists: a
    child's ru_maxrss also counts the parent's size at fork, before exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_run(eval_dir: Path, size: int) -> None:
    """Time ``dedup`` on ``size`` synthetic items in this process and print one JSON line."""
    items = synthetic(eval_dir, size)
    start = time.perf_counter()
    stories = dedup(items)
    took = time.perf_counter() - start
    peak = peak_mb()
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the text reader, if forked
    print(
        json.dumps(
            {
                "size": size,
                "seconds": round(took, 2),
                "peak_mb": round(peak),
                "worker_mb": round(worker),
                "stories": len(stories),
            }
        )
    )


def speed(eval_dir: Path, sizes: list[int]) -> None:
    """Run each size in a fresh subprocess so that peak memory is its own."""
    for size in sizes:
        out = subprocess.run(
            [sys.executable, __file__, str(eval_dir), "--one", str(size)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        worker = f" (+ worker {r['worker_mb']} MB, pages shared)" if r["worker_mb"] else ""
        took = f"{r['size']:7d} items  {r['seconds']:6.2f} s"
        print(f"{took}  peak {r['peak_mb']} MB{worker}  ({r['stories']} stories)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("eval_dir", nargs="?", type=Path, default=ROOT.parent / "shared" / "eval")
    ap.add_argument(
        "--sizes", default="1000,10000,100000", help="comma-separated item counts to time ('' for none)"
    )
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--no-quality", action="store_true")
    args = ap.parse_args()
    try:
        sizes = whole_numbers("--sizes", args.sizes)
    except ValueError as e:
        ap.error(str(e))
    if args.one:
        return timed_run(args.eval_dir, args.one)
    if not args.no_quality:
        quality(args.eval_dir)
    speed(args.eval_dir, sizes)


if __name__ == "__main__":
    main()
