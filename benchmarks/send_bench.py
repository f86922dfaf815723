"""Send benchmark: N recipients through a local aiosmtpd relay, one reused connection.

    .venv/bin/python benchmarks/send_bench.py [--recipients 5000] [--html-kb 40] [--dkim]

The relay (aiosmtpd's Sink handler) runs in its own process, as a real relay would.
Everything else is the real path of ``digest send``: the recipients CSV, the send log in
SQLite (two commits per message: "sending" before the final dot, "sent" after), MIME
composition per recipient and, with ``--dkim``, a 2048-bit RSA signature per message.
The rate limit is raised out of the way. Prints messages per second and peak memory
(``--trace-memory`` adds the Python heap peak, but tracing slows the send about 2x).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

from digest.config import load_config
from digest.send import load_issue, send_issue
from digest.store import Store

PARAGRAPH = (
    '<tr><td style="padding:8px 0;font-family:Helvetica,Arial,sans-serif"><a href="https://news.example/'
    '{n}">Story {n}: a headline of ordinary length about AI</a> — Ümlauts, “quotes” and an emoji 🚀 '
    "in a summary sentence that runs to a realistic length for a newsletter.</td></tr>\n"
)


def write_issue(folder: Path, html_kb: int) -> None:
    """An issue folder with an HTML body of about ``html_kb`` KB and its plaintext twin."""
    folder.mkdir(parents=True)
    rows, n = [], 0
    while sum(len(r) for r in rows) < html_kb * 1024:
        rows.append(PARAGRAPH.format(n=n))
        n += 1
    footer = '<a href="%%MANAGE_URL%%">Manage</a> <a href="%%UNSUBSCRIBE_URL%%">Unsubscribe</a>'
    (folder / "email.html").write_text(f"<html><body><table>{''.join(rows)}</table>{footer}</body></html>")
    text = "\n".join(f"Story {i}: a headline https://news.example/{i}" for i in range(n))
    (folder / "email.txt").write_text(f"{text}\nUnsubscribe: %%UNSUBSCRIBE_URL%%\n")
    data = {"newsletter": {"name": "Bench"}, "number": 1, "date": folder.name, "title": "Bench ✓ issue"}
    (folder / "issue.json").write_text(json.dumps(data))


def write_config(root: Path, port: int, recipients: int, dkim: bool) -> Path:
    lines = ["email,name"] + [f"reader{i}@example.com,Reader Nº{i}" for i in range(recipients)]
    (root / "subscribers.csv").write_text("\n".join(lines) + "\n")
    smtp = {"host": "127.0.0.1", "port": port, "security": "none",
            "rate_per_second": 1e6, "rate_per_minute": 1e8}  # fmt: skip
    if dkim:
        subprocess.run(
            ["openssl", "genrsa", "-out", str(root / "dkim.pem"), "2048"], check=True, capture_output=True
        )
        smtp.update(dkim_key="dkim.pem", dkim_selector="bench")
    data = {
        "newsletter": {"name": "Bench", "sender": {"email": "news@bench.example"}},
        "sources": [{"name": "x", "path": "x.xml"}],
        "smtp": smtp,
        "recipients": {
            "csv": "subscribers.csv",
            "unsubscribe_url": "https://bench.example/u?e={email}&t={token}",
        },
    }
    (root / "sources.yaml").write_text(yaml.safe_dump(data))
    return root / "sources.yaml"


def start_relay() -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Sink",
    ]
    relay = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return relay, port
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--html-kb", type=int, default=40)
    parser.add_argument("--dkim", action="store_true")
    parser.add_argument("--trace-memory", action="store_true", help="Python heap peak (tracemalloc; slower)")
    args = parser.parse_args()
    os.environ.setdefault("DIGEST_UNSUBSCRIBE_SECRET", "bench-secret-0123456789")
    relay, port = start_relay()
    try:
        with tempfile.TemporaryDirectory() as temporary:
            root = Path(temporary)
            write_issue(root / "out" / "2025-06-14", args.html_kb)
            config = load_config(write_config(root, port, args.recipients, args.dkim))
            issue = load_issue(root / "out" / "2025-06-14")
            if args.trace_memory:
                tracemalloc.start()
            started = time.perf_counter()
            with Store(config.resolve(config.state)) as store:
                summary = send_issue(config, issue, store)
                rows = store.send_log(issue.key)
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] if args.trace_memory else 0
            tracemalloc.stop()
    finally:
        relay.terminate()
        relay.wait()
    assert summary.sent == args.recipients and all(status == "sent" for _, status, _, _ in rows), (
        summary.line()
    )
    size = len(issue.html.encode()) / 1024
    print(f"{args.recipients} recipients, {size:.0f} KB HTML, dkim={'on' if args.dkim else 'off'}")
    print(
        f"sent {summary.sent} in {elapsed:.1f} s: {summary.sent / elapsed:.0f} messages/s over one connection"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    heap = f"peak Python heap {peak / 2**20:.1f} MiB (tracemalloc); " if args.trace_memory else ""
    print(f"{heap}max RSS {rss:.0f} MiB (the whole process: interpreter, libraries, state)")


if __name__ == "__main__":
    main()
