"""Check: the demo issue's message scored by SpamAssassin's offline rules.

    .venv/bin/python benchmarks/spam_score.py [--keep DIR]

Copies the demo newsletter into a temporary folder, builds its issue, writes the
per-recipient messages with ``digest send --dry-run`` and scores the first one with
Debian's ``spamassassin -L -t`` (local tests only: no DNS or network lookups).
Prints the score and every rule that fired. Target: below 2.0; the exit code says
whether it was met (2 when spamassassin is not installed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"
DATE = "2025-06-14"
TARGET = 2.0
RULE = re.compile(r"^\s*(-?\d+\.\d+)\s+([A-Z0-9_]+)\s+(.*)$")


def digest(*args: str, env: dict[str, str]) -> None:
    """Run the digest CLI of this interpreter's environment; stop on failure."""
    command = [sys.executable, "-m", "digest.cli", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:1])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")


def score(message: Path) -> tuple[float, list[tuple[float, str, str]]]:
    """SpamAssassin's score of ``message`` and the rules that fired (points, name, description)."""
    report = subprocess.run(
        ["spamassassin", "-L", "-t"], stdin=message.open("rb"), capture_output=True, timeout=300
    ).stdout.decode("utf-8", "replace")
    found = re.search(r"^X-Spam-Status: \w+, score=(-?\d+\.\d+)", report, re.MULTILINE)
    if not found:
        sys.exit("spamassassin printed no X-Spam-Status header")
    details = report.split("Content analysis details:", 1)[-1]
    rules = [(float(m[1]), m[2], m[3].strip()) for m in map(RULE.match, details.splitlines()) if m]
    return float(found[1]), rules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build in DIR (kept) instead of a temporary folder")
    args = parser.parse_args()
    if not shutil.which("spamassassin"):
        print("spamassassin is not installed (Debian: apt-get install spamassassin)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch) / "demo"
        shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns("out", ".digest"), dirs_exist_ok=True)
        env = {**os.environ, "DIGEST_UNSUBSCRIBE_SECRET": "spam-check-secret-0123456789"}
        sources = str(folder / "sources.yaml")
        digest("build", "--sources", sources, "--date", DATE, env=env)
        digest("send", "--sources", sources, "--dry-run", DATE, env=env)
        message = sorted((folder / ".digest" / "dry-run" / DATE).glob("*.eml"))[0]
        points, rules = score(message)
    print(f"{message.name}: SpamAssassin score {points:.1f} (target < {TARGET})")
    for value, name, description in rules:
        print(f"  {value:5.1f} {name:<24} {description}")
    print(f"target: {'met' if points < TARGET else 'NOT met'}")
    return 0 if points < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
