"""The command line: thin commands that parse options and call the pipeline.

Every ``DigestError`` becomes one line on stderr and its exit code; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from . import __version__
from .build import build_issue, collect, dedup_settings
from .config import Config, load_config
from .errors import DigestError
from .store import Store

log = logging.getLogger("digest")


INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug of digest's, not the user's mistake


class DigestGroup(click.Group):
    """Renders ``DigestError`` as one line and an exit code, unless ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DigestError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: internal error: {type(exc).__name__}: {exc} (run with --debug)", err=True)
            sys.exit(INTERNAL_ERROR)


def sources_option(f: Any) -> Any:
    return click.option(
        "--sources",
        "sources_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default="sources.yaml",
        show_default=True,
        help="The newsletter's configuration file.",
    )(f)


def date_option(f: Any) -> Any:
    return click.option(
        "--date",
        "issue_date",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Issue date, YYYY-MM-DD (default: today in the newsletter's time zone).",
    )(f)


@click.group(cls=DigestGroup)
@click.version_option(__version__, prog_name="digest")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Turn a list of feeds into a finished newsletter issue, and send it."""
    ctx.obj = {"debug": debug}
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def today(config: Config) -> date:
    """Today's date in the newsletter's time zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(config.newsletter.timezone)).date()


def open_store(config: Config) -> Store:
    """The state database named by the config."""
    return Store(config.resolve(config.state))


def out_dir(config: Config, out: Path | None) -> Path:
    """``--out`` if given, else the config's ``out`` folder beside sources.yaml."""
    return out if out is not None else config.resolve(config.out)


@main.command()
@sources_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: 'out' beside sources.yaml).")
@date_option
@click.option("--offline", is_flag=True, help="Use cached feed bodies; make no request.")
def build(sources_path: Path, out: Path | None, issue_date: Any, offline: bool) -> None:
    """Fetch the feeds and build an issue into OUT/<date>/.

    Writes index.html, issue.txt, issue.json, dedup.json and report.html. Exits 0 when
    an issue was built, even if some feeds failed (they are listed in issue.json);
    2 when the configuration is invalid; 3 when nothing could be built.
    """
    config = load_config(sources_path)
    when = issue_date.date() if issue_date else today(config)
    with open_store(config) as store:
        items, stats = collect(config, store, offline=offline, on_fetched=_log_fetched)
        built = build_issue(config, when, out_dir(config, out), store, items, stats)
    failed = len(stats.feeds_failed)
    click.echo(
        f"built issue #{built.issue.number} ({built.issue.date}): {stats.stories} stories from "
        f"{stats.items} items, {stats.feeds_ok} feeds ok, {failed} failed, "
        f"{built.rendered.html_bytes / 1024:.0f} KB HTML -> {built.folder}"
    )


def _log_fetched(result: Any) -> None:
    if result.error:
        log.warning("%s: %s", result.source.name, result.error)
    else:
        how = "not modified" if result.status == 304 else f"{len(result.body or b''):,} bytes"
        log.info("fetched %s (%s)", result.source.name, how)


@main.command()
@click.argument("items_file", type=click.File("r", encoding="utf-8"))
@click.option("--sources", "sources_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Take the dedup settings from this sources.yaml (default: built-in).")
def dedup(items_file: Any, sources_path: Path | None) -> None:
    """Cluster the items of ITEMS_FILE (JSON lines) into stories.

    Each input line is {"id", "title", "summary", "text", "url", "source", "published"}
    (only id and title required; other fields are ignored). Prints one line per item,
    in input order: {"id": ..., "story": ...}. Use - to read standard input.
    """
    from .dedup import DedupSettings, cluster_jsonl

    settings = dedup_settings(load_config(sources_path)) if sources_path else DedupSettings()
    try:
        for line in cluster_jsonl(items_file, settings):
            click.echo(line)
    except ValueError as exc:
        raise DigestError(f"{items_file.name}: {exc}") from None


@main.command()
@sources_option
def check(sources_path: Path) -> None:
    """Validate the configuration and probe every source; print what works and why not.

    Exits 0 when every source works, 1 when some fail, 2 when the configuration is invalid.
    """
    config = load_config(sources_path)
    with open_store(config) as store:
        from .fetch import fetch_all
        from .parse import parse_feed

        results = fetch_all(config, store)
        failures = 0
        width = max(len(s.name) for s in config.sources)
        for result in results:
            status = _probe(result, parse_feed)
            failures += not status.startswith("ok")
            click.echo(f"{result.source.name:<{width}}  {status}")
    click.echo(f"{len(results) - failures} of {len(results)} sources ok")
    sys.exit(1 if failures else 0)


def _probe(result: Any, parse_feed: Any) -> str:
    if result.error:
        return f"FAILED  {result.error}"
    try:
        entries = parse_feed(result.body or b"", result.source.name, result.url)
    except DigestError as exc:
        return f"FAILED  {exc}"
    cached = ", not modified" if result.status == 304 else ""
    return f"ok      {len(entries)} entries{cached}"


if __name__ == "__main__":  # pragma: no cover
    main()
