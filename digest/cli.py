"""The command line: thin commands that parse options and call the pipeline.

Every ``DigestError`` becomes one line on stderr and its exit code; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from . import __version__
from .build import build_issue, collect, dedup_settings
from .config import Config, load_config
from .errors import DigestError
from .retention import forget_old
from .store import Store

log = logging.getLogger("digest")


INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug of digest's, not the user's mistake
BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell reports for a program ended by a closed pipe


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
        except BrokenPipeError:
            # the reader of standard output went away (``digest dedup ... | head``): say
            # nothing more, and end as a program ended by SIGPIPE would
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(BROKEN_PIPE)
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
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
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
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: 'out' beside sources.yaml).",
)
@date_option
@click.option("--offline", is_flag=True, help="Use cached feed bodies; make no request.")
@click.option("--force", is_flag=True, help="Rebuild an issue that was already sent, or sent in part.")
def build(sources_path: Path, out: Path | None, issue_date: Any, offline: bool, force: bool) -> None:
    """Fetch the feeds and build an issue into OUT/<date>/.

    Writes index.html, issue.txt, issue.json, dedup.json, report.html, and the email
    (email.html, email.txt) that send fills in; updates OUT/index.html, OUT/feed.xml and
    OUT/latest. Exits 0 when an issue was built, even if some feeds failed (they are
    listed in issue.json); 2 when the configuration is invalid or the issue was already
    sent, or sent to part of the list (--force rebuilds it anyway); 3 when nothing could
    be built.
    """
    config = load_config(sources_path)
    when = issue_date.date() if issue_date else today(config)
    with open_store(config) as store:
        items, stats = collect(config, store, offline=offline, on_fetched=_log_fetched)
        forget_old(config, store)
        built = build_issue(config, when, out_dir(config, out), store, items, stats, resent=force)
    failed = len(stats.feeds_failed)
    click.echo(
        f"built issue #{built.issue.number} ({built.issue.date}): {stats.stories} stories from "
        f"{stats.items} items, {stats.feeds_ok} feeds ok, {failed} failed, "
        f"{built.rendered.html_bytes / 1024:.0f} KB HTML -> {built.folder}{built.to_check()}"
    )


def _log_fetched(result: Any) -> None:
    """Progress, one line a source (failures are reported once, by ``collect``)."""
    if not result.error:
        how = "not modified" if result.status == 304 else f"{len(result.body or b''):,} bytes"
        log.info("fetched %s (%s)", result.source.name, how)


@main.command()
@click.argument("items_file", type=click.File("rb"))
@click.option(
    "--sources",
    "sources_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Take the dedup settings from this sources.yaml (default: built-in).",
)
def dedup(items_file: Any, sources_path: Path | None) -> None:
    """Cluster the items of ITEMS_FILE (JSON lines) into stories.

    Each input line is {"id", "title", "summary", "text", "url", "source", "published"}
    (only id and title required; other fields are ignored). Prints one line per item,
    in input order: {"id": ..., "story": ...}, the id as given (a string or an integer,
    unique). Use - to read standard input. A malformed line exits 2 and prints nothing.
    """
    from .dedup import DedupSettings, cluster_jsonl
    from .errors import ConfigError

    settings = dedup_settings(load_config(sources_path)) if sources_path else DedupSettings()
    try:
        # bytes in: cluster_jsonl decodes each line, so a bad byte is reported by its line
        for line in cluster_jsonl(items_file, settings):
            click.echo(line)
    except ValueError as exc:
        raise ConfigError(f"{items_file.name}: {exc}") from None


@main.command()
@sources_option
def check(sources_path: Path) -> None:
    """Validate the configuration and probe every source; print what works and why not.

    Then says whether sending is ready here: the recipients file, the token secret and
    the relay's password in the environment (the relay itself is not contacted: send
    --test-to tries it). Exits 0 when all of it works, 1 when a source fails or sending
    is not ready, 2 when the configuration is invalid.
    """
    config = load_config(sources_path)
    with open_store(config) as store:
        from .fetch import fetch_all

        results = fetch_all(config, store)
        failures = 0
        width = max(len(s.name) for s in config.sources)
        for result in results:
            status = _probe(result)
            failures += not status.startswith("ok")
            click.echo(f"{result.source.name:<{width}}  {status}")
    click.echo(f"{len(results) - failures} of {len(results)} sources ok")
    ready, sending = _sending_status(config)
    click.echo(f"sending: {sending}")
    sys.exit(1 if failures or not ready else 0)


def _probe(result: Any) -> str:
    from .ingest import entries as read_entries
    from .parse import MAX_TAGS

    parsed = read_entries(result)
    if isinstance(parsed, str):
        return f"FAILED  {parsed}"
    cached = ", not modified" if result.status == 304 else ""
    if parsed.unread:
        why = f"over {MAX_TAGS:,} XML tags" if parsed.over_tags else "malformed"
        partly = f" ({why}: {parsed.unread:,} of {parsed.size:,} bytes unread)"
    else:
        partly = " (cut short: the XML stops before its end)" if parsed.cut_short else ""
    moved = f" (moved permanently to {result.moved_to}: put that in sources.yaml)" if result.moved_to else ""
    count = len(parsed.entries)
    return f"ok      {count} entr{'y' if count == 1 else 'ies'}{cached}{partly}{moved}"


def _sending_status(config: Config) -> tuple[bool, str]:
    """Whether ``send`` and ``run`` have what they need on this machine, and a line saying so."""
    from .send.delivery import ready_to_send

    if config.recipients is None:
        return True, "not set up (no 'recipients' in the config: send and run need them)"
    try:
        recipients = ready_to_send(config)
    except DigestError as exc:
        return False, f"FAILED  {exc}"
    relay = f"{config.smtp.host}:{config.smtp.port}"
    return True, (
        f"ok      {len(recipients)} recipients, relay {relay} "
        "(not contacted here: digest send --test-to ADDR tries it)"
    )


@main.command()
@sources_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (anything but loopback makes the preview public).",
)
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on."
)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in the default browser.")
@date_option
@click.option(
    "--refetch", is_flag=True, help="Fetch the feeds anew first (default: cached bodies, no network)."
)
def preview(
    sources_path: Path, host: str, port: int, open_browser: bool, issue_date: Any, refetch: bool
) -> None:
    """Serve the issue and the archive from out/ and rebuild it on every save.

    Shows the issue at desktop (600 px) and phone (375 px) width, the plaintext, the
    dedup report and the send headers. Saving sources.yaml, a template, the theme, the
    notes file or a local feed file re-renders without fetching and reloads the page; "Fetch
    again" (or --refetch) fetches the feeds anew. Ctrl-C stops it.
    """
    from .preview import serve

    when = issue_date.date() if issue_date else None
    serve(sources_path, host, port, when, refetch=refetch, open_browser=open_browser, echo=click.echo)


@main.command()
@click.argument("issue", required=False)
@sources_option
@click.option("--test-to", metavar="ADDR", help="Send one copy marked [TEST] to ADDR; no log is written.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Write the messages to .digest/dry-run/DATE/*.eml (beside the state); send nothing.",
)
@click.option("--retry-failed", is_flag=True, help="Also resend to recipients whose relay answered 5xx.")
@click.option("--retry-unknown", is_flag=True, help="Also resend to recipients left in doubt by a crash.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before sending (it asks only on a terminal).")
def send(
    issue: str | None, sources_path: Path, test_to: str | None, dry_run: bool, retry_failed: bool,
    retry_unknown: bool, yes: bool,
) -> None:  # fmt: skip
    """Send ISSUE (an issue folder or a date; default: the latest in out/) to the recipients.

    Every recipient's delivery is logged in the state: a second run sends only to those
    who have not had the issue yet (an issue that went to the whole list longer ago than
    retention.send_log_days goes to nobody). Suppressed addresses never get it. On a terminal it
    asks first (--yes does not). Prints a summary;
    exits 1 if any recipient failed, is deferred or is in doubt, 6 if the relay could not be used
    (wrong password, unreachable, missing issue), 75 if another send or run is going on.
    """
    from .lock import lock_path, run_lock
    from .send import dry_run_folder, find_issue, load_issue, send_issue, send_test, write_dry_run
    from .send.delivery import plan, recipients_of

    config = load_config(sources_path)
    files = load_issue(find_issue(issue, out_dir(config, None)))
    if dry_run:
        with open_store(config) as store:
            paths = write_dry_run(config, files, store, test_to)
        click.echo(f"dry run: wrote {len(paths)} messages to {dry_run_folder(config, files)}")
        return
    if test_to:
        reply = send_test(config, files, test_to)
        click.echo(f"sent a test copy of {files.key} to {test_to}: {reply}")
        return
    retry = {"retry_failed": retry_failed, "retry_unknown": retry_unknown}
    recipients = recipients_of(config)  # read (and its bad lines reported) once
    if not yes and _interactive():
        with open_store(config) as store:
            todo, _ = plan(recipients, store, files.key, **retry)
        relay = f"{config.smtp.host}:{config.smtp.port}"
        question = f"Send “{files.subject}” ({files.key}) to {len(todo)} recipients through {relay}?"
        if todo and not click.confirm(question):
            click.echo("not sent: nobody got the issue")  # the editor's choice, not a failure
            return
    with run_lock(lock_path(config)), open_store(config) as store:
        with _Progress(f"sending {files.key}") as on_result:
            summary = send_issue(config, files, store, recipients, on_result=on_result, **retry)
    _report(summary)


@main.command()
@sources_option
@date_option
def run(sources_path: Path, issue_date: Any) -> None:
    """Build today's issue and send it: the command for cron or a systemd timer.

    Never runs twice at once (exit 75 while another run holds the lock), never sends an
    issue twice (exit 0 with nothing to do once today's issue went out), resumes an
    interrupted send without rebuilding, and skips a day without new stories
    (curate.skip_when_empty). Stops before building when it could not send (no recipients
    file, no password or secret in the environment). Exits 1 if anyone was left out; a
    run never resends recipients left in doubt by a crash (digest send DATE --retry-unknown does).
    """
    from .lock import lock_path, run_lock
    from .send.daily import run_daily

    config = load_config(sources_path)
    when = issue_date.date() if issue_date else today(config)
    with run_lock(lock_path(config)), open_store(config) as store:
        with _Progress(f"sending {when}") as on_result:
            result = run_daily(
                config, when, out_dir(config, None), store, on_result=on_result, on_fetched=_log_fetched
            )
    if result.summary is None:
        click.echo(result.message)
        return
    _report(result.summary)


@main.command()
@click.argument("address")
@sources_option
def unsubscribe(address: str, sources_path: Path) -> None:
    """Add ADDRESS to the suppression list: no issue is ever sent to it again."""
    from .recipients import InvalidAddress, check_address

    config = load_config(sources_path)
    try:
        email = check_address(address)
    except InvalidAddress as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESS") from None
    with open_store(config) as store:
        added = store.suppress([email], "unsubscribed")
    click.echo(f"{email}: unsubscribed" if added else f"{email}: already on the suppression list")


@main.command()
@click.argument("addresses", nargs=-1)
@click.option(
    "--import",
    "import_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of addresses: one a line, or a CSV with an 'email' column.",
)
@click.option("--reason", default="suppressed", show_default=True, help="Why (kept in the state).")
@sources_option
def suppress(addresses: tuple[str, ...], import_file: Path | None, reason: str, sources_path: Path) -> None:
    """Add ADDRESSES (and those of --import FILE) to the suppression list.

    Bad addresses are reported and skipped. Sending always leaves suppressed addresses out.
    """
    from .recipients import InvalidAddress, check_address, read_addresses

    config = load_config(sources_path)
    good, bad = read_addresses(import_file) if import_file else ([], [])
    for address in addresses:
        try:
            good.append(check_address(address))
        except InvalidAddress as exc:
            bad.append(f"{address!r}: {exc}")
    for problem in bad:
        click.echo(f"skipped {problem}", err=True)
    if not good and not bad:
        raise click.UsageError("give addresses, or --import FILE")
    with open_store(config) as store:
        added = store.suppress(good, reason)
    click.echo(f"suppressed {added} new addresses ({len(good) - added} already there, {len(bad)} invalid)")


def _interactive() -> bool:
    """Whether a person is at the keyboard (a terminal on stdin), not cron or a pipe."""
    return sys.stdin.isatty()


class _Progress:
    """A per-recipient callback: a progress bar on a terminal. Else (cron, a pipe) log
    lines: one for each recipient not sent to (deferred, failed, in doubt), one for every
    tenth of the list (at most every 1,000 recipients) and one at its end, so that a list of
    10,000 does not write 10,000 lines a day; each delivery is logged at ``--debug``, and
    every one is in the state database anyway."""

    def __init__(self, label: str) -> None:
        self.label, self.bar, self.interactive = label, None, sys.stderr.isatty()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def __call__(self, outcome: Any) -> None:
        if not self.interactive:
            where = f"{outcome.position}/{outcome.total}"
            level = logging.DEBUG if outcome.status == "sent" else logging.INFO
            # as the summary says it: "unknown" before an address reads as a mailbox that does not exist
            status = "in doubt" if outcome.status == "unknown" else outcome.status
            log.log(level, "%s %s %s: %s", where, status, outcome.recipient.email, outcome.reply)
            step = min(1_000, -(-outcome.total // 10))
            if outcome.position % step == 0 or outcome.position == outcome.total:
                log.info("%s of this send's recipients done", where)
            return
        if self.bar is None:  # the total is known once the send log was read
            bar = click.progressbar(length=outcome.total, label=self.label, file=sys.stderr, show_pos=True)
            self.bar = bar
            self.bar.__enter__()
        self.bar.update(1)


def _report(summary: Any) -> None:
    """Print the summary (and each failure); exit 1 if anyone was left out."""
    for email, reply in summary.failed:
        click.echo(f"failed {email}: {reply}", err=True)
    for email, reply in summary.deferred:
        click.echo(f"deferred {email}: {reply}", err=True)
    for email in summary.in_doubt:
        click.echo(f"in doubt {email}: may have been sent before a crash; not resent", err=True)
    click.echo(summary.line())
    if not summary.ok:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
