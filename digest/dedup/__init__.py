"""Deduplication: items into stories, in three layers, cheapest first.

1. same item: the same canonical URL, GUID or normalized title;
2. same text: syndicated copies and light rewrites (word-shingle Jaccard);
3. same event: a pairwise model (boosted trees) over title, lead, names, amounts, meaning
   (static word vectors) and time, on candidate pairs from a rare-term index and from
   nearest neighbours by meaning, clustered by constrained average link (no chaining).
   Besides plain similarity the model sees how a pair stands out from each item's other
   candidates (its best one and its fifth best: a large pool or a busy beat raises the
   background) and conflicts of fact (amounts, central names, named weekdays); it is
   fitted on takes of one event, many reports of like events and a dated stream at
   once, so one probability threshold serves them all.
"""

from __future__ import annotations

from .api import DedupSettings, already_published, cluster_jsonl, dedup, only_retelling, report, retold_takes

__all__ = [
    "DedupSettings",
    "already_published",
    "cluster_jsonl",
    "dedup",
    "only_retelling",
    "report",
    "retold_takes",
]
