"""``digest run``, the cron command: build and send once a day, never twice at once.

Runs the whole pipeline on a tiny newsletter with a local feed file, against the real
SMTP server of ``test_send``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import rss, rss_item
from test_preview import DAY as PREVIEW_DAY
from test_preview import TOPICS, write_site
from test_send import (
    DEADLINE,
    DROP,
    HOLD,
    SECRET,
    ScriptedHandler,
    SmtpServer,
    once_at,
    wait_for,
    write_recipients,
)

from digest.cli import main
from digest.config import load_config
from digest.errors import BuildError
from digest.lock import AlreadyRunning, run_lock
from digest.preview import Preview
from digest.store import Store

DATE = "2025-06-14"


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    server = SmtpServer(ScriptedHandler())
    yield server
    server.stop()


@pytest.fixture
def newsletter(tmp_path: Path, relay: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A newsletter with one local feed of two stories and four recipients."""
    monkeypatch.setenv("DIGEST_UNSUBSCRIBE_SECRET", SECRET)
    (tmp_path / "feed.xml").write_bytes(
        rss(
            rss_item("Lab releases a small open model", "https://news.example/model"),
            rss_item("Chip maker opens a new plant", "https://news.example/plant"),
        )
    )
    write_recipients(tmp_path / "subscribers.csv", 4)
    data = {
        "newsletter": {"name": "Run Digest", "sender": {"email": "news@digest.example"}},
        "sources": [{"name": "Local", "path": "feed.xml"}],
        "smtp": {"host": "127.0.0.1", "port": relay.port, "security": "none", "timeout": 5,
                 "backoff": 0.01, "rate_per_second": 1000},
        "recipients": {"csv": "subscribers.csv",
                       "unsubscribe_url": "https://digest.example/u?e={email}&t={token}"},
    }  # fmt: skip
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def send_by_hand_then_run_quietly(
    newsletter: Path, relay: SmtpServer, caplog: pytest.LogCaptureFixture
) -> str:
    """``digest send DATE`` finishes the issue (every reader has it once), and the next
    day's run warns of nothing; the send's output."""
    result = CliRunner().invoke(main, ["send", DATE, "--sources", str(newsletter), "--yes"])
    assert result.exit_code == 0 and relay.delivered() == {f"reader{k}@example.com": 1 for k in range(4)}
    caplog.clear()
    assert run(newsletter, "2025-06-16")[0] == 0
    assert not warnings(caplog)
    return result.output


def run(sources: Path, date: str = DATE) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", "--sources", str(sources), "--date", date])
    return result.exit_code, result.output


def test_run_builds_and_sends_once_a_day(
    newsletter: Path, relay: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="digest")
    code, output = run(newsletter)
    assert code == 0, output
    assert "sent 4, failed 0" in output
    assert f"built issue #1 of {DATE}: 2 stories" in caplog.text  # the cron log says what went out
    assert (newsletter.parent / "out" / DATE / "email.html").is_file()
    assert len(relay.messages) == 4

    code, output = run(newsletter)
    assert code == 0 and "already sent; nothing to do" in output
    assert len(relay.messages) == 4


def add_a_feed_that_is_gone(newsletter: Path) -> None:
    """Add to the newsletter's sources a feed file that does not exist."""
    config = yaml.safe_load(newsletter.read_text(encoding="utf-8"))
    config["sources"].append({"name": "Gone", "path": "gone.xml"})
    newsletter.write_text(yaml.safe_dump(config), encoding="utf-8")


def test_a_run_logs_a_line_per_feed(
    newsletter: Path, relay: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # the cron log shows each feed read, as `build` does, not only those that failed
    add_a_feed_that_is_gone(newsletter)
    caplog.set_level("INFO", logger="digest")
    assert run(newsletter)[0] == 0
    lines = [r.getMessage() for r in caplog.records]
    fetched = (newsletter.parent / "feed.xml").stat().st_size
    assert f"fetched Local ({fetched:,} bytes)" in lines
    assert sum("Gone" in line for line in lines) == 1  # a failure once, by the build


def test_run_without_new_stories_skips_the_day(newsletter: Path, relay: SmtpServer) -> None:
    assert run(newsletter)[0] == 0
    code, output = run(newsletter, "2025-06-15")  # the same two stories: already published
    assert code == 0 and len(relay.messages) == 4
    # the day once, then why ("no issue for 2025-06-15: no stories for 2025-06-15: …" said it
    # twice), and no "try --date": a quiet day is no mistake of a daily run
    assert output.strip() == (
        "no issue for 2025-06-15, a day without new stories (curate.skip_when_empty): "
        "2 items, none new and within 2 days"
    )


def test_a_run_names_an_earlier_send_left_unfinished_and_how_to_finish_it(
    newsletter: Path, relay: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    relay.handler.on = lambda stage, address, n: (
        "450 4.2.1 mailbox busy" if stage == "RCPT" and address == "reader1@example.com" else None
    )
    code, output = run(newsletter)
    assert code == 1 and "deferred 1" in output

    caplog.clear()
    code, output = run(newsletter, "2025-06-15")  # a quiet day: nothing new to send
    assert code == 0 and "no issue for 2025-06-15" in output
    warned = warnings(caplog)
    unfinished = f"the send of the issue of {DATE} never finished (1 deferred, 3 sent)"
    assert warned == [f"{unfinished}: 'digest send {DATE}' finishes it"]

    relay.handler.on = lambda stage, address, n: None
    assert "sent 1" in send_by_hand_then_run_quietly(newsletter, relay, caplog)


def test_the_log_line_of_a_recipient_in_doubt_says_in_doubt(
    newsletter: Path, relay: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # the connection drops once the relay has the whole message: the copy may have gone out
    relay.on = lambda stage, address, n: (
        DROP if stage == "DATA" and address == "reader1@example.com" else None
    )
    caplog.set_level("INFO", logger="digest")
    code, output = run(newsletter)
    assert code == 1 and "in doubt 1" in output
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("2/4 in doubt reader1@example.com: connection lost") for line in lines), lines
    assert not any(" unknown " in line for line in lines)


def test_a_run_names_an_earlier_issue_built_but_never_sent(
    newsletter: Path, relay: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # the relay refuses the sender on the 14th: the issue is built, nobody gets it
    relay.handler.on = lambda stage, address, n: "550 5.7.1 sender refused" if stage == "MAIL" else None
    code, output = run(newsletter)
    assert code == 6 and (newsletter.parent / "out" / DATE / "email.html").is_file()
    assert relay.messages == []

    relay.handler.on = lambda stage, address, n: None
    caplog.clear()
    code, output = run(newsletter, "2025-06-15")  # its stories are the 14th's: nothing new
    assert code == 0 and "no issue for 2025-06-15" in output
    warned = warnings(caplog)
    assert warned == [
        f"the issue of {DATE} was built but never sent, and later issues leave its stories out: "
        f"'digest send {DATE}' sends it"
    ]
    send_by_hand_then_run_quietly(newsletter, relay, caplog)


def test_a_draft_only_built_is_not_taken_for_an_issue_left_unsent(
    newsletter: Path, relay: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    draft = CliRunner().invoke(main, ["build", "--sources", str(newsletter), "--date", DATE])
    assert draft.exit_code == 0  # as the preview builds a day the editor looks at
    caplog.clear()
    assert run(newsletter, "2025-06-15")[0] == 0
    assert not warnings(caplog)
    assert relay.messages == []


def test_an_issue_already_sent_is_not_rebuilt_unless_forced(newsletter: Path, relay: SmtpServer) -> None:
    assert run(newsletter)[0] == 0
    issue = newsletter.parent / "out" / DATE / "issue.json"
    sent = issue.read_text(encoding="utf-8")
    feed = newsletter.parent / "feed.xml"  # a late story of the 14th appears after the send
    feed.write_bytes(
        feed.read_bytes().replace(
            b"</channel>", rss_item("A late story", "https://n.example/late").encode() + b"</channel>"
        )
    )
    build = ["build", "--sources", str(newsletter), "--date", DATE]
    result = CliRunner().invoke(main, build)
    assert result.exit_code == 2 and f"the issue of {DATE} was already sent" in result.output
    assert issue.read_text(encoding="utf-8") == sent  # the archive keeps what was mailed
    result = CliRunner().invoke(main, [*build, "--force"])
    assert result.exit_code == 0 and "A late story" in issue.read_text(encoding="utf-8")
    assert len(relay.messages) == 4


def test_an_issue_sent_to_some_readers_is_not_rebuilt_unless_forced(
    newsletter: Path, relay: SmtpServer
) -> None:
    build = ["build", "--sources", str(newsletter), "--date", DATE]
    assert CliRunner().invoke(main, build).exit_code == 0
    issue = newsletter.parent / "out" / DATE / "issue.json"
    built = issue.read_text(encoding="utf-8")
    config = load_config(newsletter)
    with Store(config.resolve(config.state)) as store:  # a send that reached one reader, then died
        store.mark_send_begun(DATE)
        store.log_send(DATE, "first@example.org", "sent", "250 OK")
    (newsletter.parent / "feed.xml").write_bytes(
        (newsletter.parent / "feed.xml")
        .read_bytes()
        .replace(b"</channel>", rss_item("A late story", "https://n.example/late").encode() + b"</channel>")
    )
    result = CliRunner().invoke(main, build)
    assert (
        result.exit_code == 2
        and f"the send of the issue of {DATE} began and is not finished" in result.output
    )
    assert issue.read_text(encoding="utf-8") == built  # the rest of the list gets what the first got
    code, _ = run(newsletter)  # the run resumes the send as built
    assert code == 0 and "A late story" not in issue.read_text(encoding="utf-8")
    assert len(relay.messages) == 4 and all(b"A late story" not in m[2] for m in relay.messages)
    result = CliRunner().invoke(main, [*build, "--force"])
    assert result.exit_code == 0 and "A late story" in issue.read_text(encoding="utf-8")


def test_a_run_that_cannot_send_stops_before_it_builds(
    newsletter: Path, relay: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cron's environment lacks the relay's password: the day's issue is neither built,
    # numbered nor published, so that its stories are still there once the password is
    data = yaml.safe_load(newsletter.read_text(encoding="utf-8"))
    data["smtp"]["username"] = "digest"
    newsletter.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.delenv("DIGEST_SMTP_PASSWORD", raising=False)
    code, output = run(newsletter)
    assert code == 2 and "DIGEST_SMTP_PASSWORD is empty" in output
    assert not (newsletter.parent / "out").exists() and relay.messages == []

    data["smtp"].pop("username")  # the relay takes mail without a login
    newsletter.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, output = run(newsletter)
    assert code == 0 and "sent 4, failed 0" in output
    issue = json.loads((newsletter.parent / "out" / DATE / "issue.json").read_text(encoding="utf-8"))
    assert issue["number"] == 1 and sum(len(s["stories"]) for s in issue["sections"]) == 2


def test_run_with_every_feed_down_fails_and_sends_nothing(newsletter: Path, relay: SmtpServer) -> None:
    (newsletter.parent / "feed.xml").write_bytes(b"<html>the feed moved</html>")
    code, output = run(newsletter)
    assert code == BuildError.exit_code and "nothing to build" in output  # not a quiet day: exit 3
    assert not relay.messages


def test_the_lock_refuses_a_second_run(newsletter: Path, relay: SmtpServer) -> None:
    lock = newsletter.parent / ".digest" / "state.sqlite.lock"
    with run_lock(lock):
        code, output = run(newsletter)
    assert code == AlreadyRunning.exit_code and "another digest run or send is in progress" in output
    assert not relay.messages
    assert run(newsletter)[0] == 0  # released with the block


def test_a_lock_taken_an_instant_ago_is_refused_in_plain_words(newsletter: Path, relay: SmtpServer) -> None:
    # the holder has the lock but has not written its pid yet (two runs started together)
    lock = newsletter.parent / ".digest" / "state.sqlite.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        code, output = run(newsletter)
    assert code == AlreadyRunning.exit_code
    assert f"another digest run or send is in progress (lock {lock}); this one exits" in output
    assert not relay.messages


def test_two_concurrent_runs_the_second_is_refused(newsletter: Path, relay: SmtpServer) -> None:
    relay.on = once_at("MAIL", 1, HOLD)
    command = [sys.executable, "-m", "digest.cli", "run", "--sources", str(newsletter), "--date", DATE]
    first = subprocess.Popen(command, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: relay.holding.is_set() or first.poll() is not None)
        assert first.poll() is None, first.communicate()[1].decode()
        code, output = run(newsletter)  # while the first one is sending
        assert code == 75 and "in progress (pid " in output
        relay.release.set()
        _, stderr = first.communicate(timeout=DEADLINE)
        assert first.returncode == 0, stderr.decode()
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert sorted(relay.delivered().values()) == [1, 1, 1, 1]


def test_an_interrupted_run_resumes_the_same_issue_without_rebuilding(
    newsletter: Path, relay: SmtpServer
) -> None:
    def script(stage: str, address: str, n: int) -> str | None:
        if stage == "MAIL" and n == 2:
            relay.handler.down = True  # the relay goes away after two messages
            return "DROP"
        return None

    relay.on = script
    code, output = run(newsletter)
    assert code == 6 and "run digest send again to resume" in output
    html = (newsletter.parent / "out" / DATE / "email.html").read_bytes()
    feed = newsletter.parent / "feed.xml"  # a new story arrives before the next run
    feed.write_bytes(
        feed.read_bytes().replace(
            b"<item>", rss_item("A third story", "https://news.example/3").encode() + b"<item>", 1
        )
    )

    relay.handler.down = False
    relay.on = lambda stage, address, n: None
    code, output = run(newsletter)
    assert code == 0 and "sent 2, failed 0" in output
    assert (newsletter.parent / "out" / DATE / "email.html").read_bytes() == html
    assert sorted(relay.delivered().values()) == [1, 1, 1, 1]


def test_a_day_only_previewed_does_not_use_up_its_stories(tmp_path: Path) -> None:
    """An editor looks at one day in the preview and sends the next: the stories of the
    day looked at are not published yet, so the next issue still has them."""
    site = write_site(tmp_path)
    with Preview(site, site.parent / "out", PREVIEW_DAY, port=0) as app:  # a draft of the 14th
        assert app.wait_ready(30), app.rebuilder.status
    next_day = ["build", "--sources", str(site), "--date", "2025-06-15"]
    result = CliRunner().invoke(main, next_day)
    assert result.exit_code == 0, result.output
    issue = (site.parent / "out" / "2025-06-15" / "issue.txt").read_text(encoding="utf-8")
    assert all(title in issue for title, _ in TOPICS)
    # built by `build`, the 14th is published: the 15th no longer repeats its stories
    assert (
        CliRunner().invoke(main, ["build", "--sources", str(site), "--date", str(PREVIEW_DAY)]).exit_code == 0
    )
    result = CliRunner().invoke(main, [*next_day, "--force"])
    assert result.exit_code == 3 and "no stories for 2025-06-15" in result.output


def test_a_previewed_day_whose_send_began_counts_as_published(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    with Preview(site, site.parent / "out", PREVIEW_DAY, port=0) as app:
        assert app.wait_ready(30), app.rebuilder.status
    config = load_config(site)
    with Store(config.resolve(config.state)) as store:  # `digest send` of the previewed folder
        store.mark_send_begun(str(PREVIEW_DAY))
    result = CliRunner().invoke(main, ["build", "--sources", str(site), "--date", "2025-06-15"])
    assert result.exit_code == 3 and "no stories for 2025-06-15" in result.output


def test_a_preview_never_makes_a_built_issue_a_draft_again(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    day = ["build", "--sources", str(site), "--date", str(PREVIEW_DAY)]
    assert CliRunner().invoke(main, day).exit_code == 0  # the 14th, built for real
    with Preview(site, site.parent / "out", PREVIEW_DAY, port=0) as app:  # then looked at again
        assert app.wait_ready(30), app.rebuilder.status
    result = CliRunner().invoke(main, ["build", "--sources", str(site), "--date", "2025-06-15"])
    assert result.exit_code == 3 and "no stories for 2025-06-15" in result.output  # nothing repeated


def test_a_half_sent_issue_whose_folder_is_gone_names_the_rebuild(
    newsletter: Path, relay: SmtpServer
) -> None:
    build = ["build", "--sources", str(newsletter), "--date", DATE]
    assert CliRunner().invoke(main, build).exit_code == 0
    config = load_config(newsletter)
    with Store(config.resolve(config.state)) as store:  # one reader got it, one is in doubt
        store.mark_send_begun(DATE)
        store.log_send(DATE, "first@example.org", "sent", "250 OK")
        store.log_send(DATE, "second@example.org", "sending")
    result = CliRunner().invoke(main, build)
    assert result.exit_code == 2 and f"'digest send {DATE} --retry-unknown'" in result.output
    shutil.rmtree(newsletter.parent / "out" / DATE)
    code, output = run(newsletter)
    assert code == 2 and "is gone" in output and f"'digest build --date {DATE} --force'" in output
    assert "digest run" not in output.split("error:")[-1]  # not the command that just failed
    result = CliRunner().invoke(main, [*build, "--force"])
    assert result.exit_code == 0 and (newsletter.parent / "out" / DATE / "issue.json").is_file()


def test_a_day_of_feeds_down_or_cut_short_names_every_one(
    newsletter: Path, relay: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # one feed gone, the other cut inside its first entry: no item at all; the run exits 3,
    # and the log names both feeds, not only the one that failed outright
    add_a_feed_that_is_gone(newsletter)
    cut = b'<?xml version="1.0"?><rss><channel><item><title>Lab rel'
    (newsletter.parent / "feed.xml").write_bytes(cut)
    code, output = run(newsletter)
    assert code == BuildError.exit_code and "nothing to build: no source returned any item" in output
    assert not relay.messages
    warned = warnings(caplog)
    assert any(w.startswith("Gone: cannot read ") for w in warned)
    assert "Local: the XML stops before its end (cut short in transfer" in "\n".join(warned)


def add_story(newsletter: Path, title: str, day: str) -> None:
    """Put a story dated ``day`` (an RFC 822 date) in the newsletter's feed."""
    feed = newsletter.parent / "feed.xml"
    story = rss_item(title, f"https://news.example/{len(title)}", f"{day} 08:00:00 GMT").encode()
    feed.write_bytes(feed.read_bytes().replace(b"</channel>", story + b"</channel>"))


def test_the_send_log_of_an_issue_sent_long_ago_is_cleared_and_it_is_never_sent_again(
    newsletter: Path, relay: SmtpServer
) -> None:
    assert run(newsletter)[0] == 0  # the 14th goes to all four readers
    add_story(newsletter, "A story of the fifteenth", "Sun, 15 Jun 2025")
    relay.on = lambda stage, address, n: (
        DROP if stage == "DATA" and address == "reader1@example.com" else None
    )
    assert "in doubt 1" in run(newsletter, "2025-06-15")[1]  # the 15th: one reader in doubt
    relay.on = lambda stage, address, n: None
    add_story(newsletter, "A story of September", "Sat, 20 Sep 2025")
    build = ["build", "--sources", str(newsletter), "--date"]
    assert CliRunner().invoke(main, [*build, "2025-09-20"]).exit_code == 0
    assert CliRunner().invoke(main, [*build, "2025-09-21"]).exit_code == 3  # a quiet day forgets all the same
    config = load_config(newsletter)
    with Store(config.resolve(config.state)) as store:
        assert store.send_status(DATE) == {}  # 90 days and more before the latest issue
        assert store.send_status("2025-06-15")["reader1@example.com"] == "sending"  # unfinished: kept

    write_recipients(newsletter.parent / "subscribers.csv", 5)  # a reader who came since
    sent_before = len(relay.messages)
    result = CliRunner().invoke(main, ["send", DATE, "--sources", str(newsletter), "--yes"])
    assert (
        result.exit_code == 0 and "skipped 5 (5 sent to the list before its log was cleared)" in result.output
    )
    assert len(relay.messages) == sent_before  # nobody gets it twice
    result = CliRunner().invoke(
        main, ["send", "2025-06-15", "--sources", str(newsletter), "--yes", "--retry-unknown"]
    )
    assert result.exit_code == 0, result.output
    assert [rcpts for _, rcpts, _ in relay.messages[sent_before:]] == [
        ["reader1@example.com"],
        ["reader4@example.com"],
    ]
