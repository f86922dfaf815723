"""fetch: every source's bytes from a real HTTP server on 127.0.0.1, bounded in time and size."""

from __future__ import annotations

import codecs
import gzip
import logging
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest
from conftest import FeedServer, Reply, Request, rss, rss_item

from digest import __version__
from digest.build import collect
from digest.config import Config
from digest.fetch import (
    FULL_FETCH_AFTER,
    MAX_RETRY_WAIT,
    USER_AGENT,
    Fetched,
    _connection_error,
    _retry_delay,
    fetch_all,
)
from digest.store import Store

FEED = rss(rss_item("Hello", "https://news.example/hello"))


def conditional(request: Request) -> Reply:
    """A server that answers 304 to a request holding its ETag "v1", else the feed."""
    fresh = request.headers.get("if-none-match") == '"v1"'
    return Reply(304) if fresh else Reply(200, FEED, {"ETag": '"v1"'})


WriteConfig = Callable[..., Config]


def fetch_one(config: Config, store: Store) -> Fetched:
    [result] = fetch_all(config, store)
    return result


def test_a_feed_is_fetched(feed_server: FeedServer, write_config: WriteConfig, store: Store) -> None:
    url = feed_server.route("/feed.xml", Reply(200, FEED))
    result = fetch_one(write_config([{"name": "A", "url": url}]), store)
    assert (result.status, result.body, result.error, result.cached) == (200, FEED, None, False)
    assert result.url == url and result.base == url and result.source.name == "A"
    [request] = feed_server.requests("/feed.xml")
    assert request.headers["user-agent"] == USER_AGENT
    assert "if-none-match" not in request.headers and "if-modified-since" not in request.headers


@pytest.mark.parametrize(
    ("address", "written"),
    [
        # it pointed at a package page of another project's name, no one a publisher could ask
        ("https://news.example/letter/", "https://news.example/letter/"),
        # a header holds ASCII only: every request of every build failed with an internal error
        ("https://bücher.example/brief/", "https://xn--bcher-kva.example/brief/"),
    ],
)
def test_the_user_agent_names_the_newsletter_whose_feed_reader_it_is(
    feed_server: FeedServer, write_config: WriteConfig, store: Store, address: str, written: str
) -> None:
    url = feed_server.route("/feed.xml", Reply(200, FEED))
    newsletter = {"name": "Test Digest", "url": address}
    result = fetch_one(write_config([{"name": "A", "url": url}], newsletter=newsletter), store)
    assert result.body == FEED
    agent = feed_server.requests("/feed.xml")[0].headers["user-agent"]
    assert agent == f"digest/{__version__} (newsletter digest; +{written})"


def test_a_source_can_set_its_own_user_agent(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/feed.xml", Reply(200, FEED))
    fetch_one(write_config([{"name": "A", "url": url, "user_agent": "Polite/1.0"}]), store)
    assert feed_server.requests("/feed.xml")[0].headers["user-agent"] == "Polite/1.0"


def test_a_second_fetch_is_conditional_and_a_304_reuses_the_cached_body(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    modified = "Sat, 14 Jun 2025 08:00:00 GMT"

    def dated(request: Request) -> Reply:  # ``conditional``, with a Last-Modified too
        fresh = request.headers.get("if-none-match") == '"v1"'
        return Reply(304) if fresh else Reply(200, FEED, {"ETag": '"v1"', "Last-Modified": modified})

    url = feed_server.route("/feed.xml", dated)
    config = write_config([{"name": "A", "url": url}])
    first = fetch_one(config, store)
    second = fetch_one(config, store)

    assert first.status == 200 and not first.cached
    assert second.status == 304 and second.cached and second.error is None
    assert second.body == first.body == FEED
    unconditional, conditional_request = feed_server.requests("/feed.xml")
    assert "if-none-match" not in unconditional.headers
    assert conditional_request.headers["if-none-match"] == '"v1"'
    assert conditional_request.headers["if-modified-since"] == modified


def test_a_server_whose_validators_never_change_still_gets_a_full_request_now_and_then(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    # the server's ETag stays "v1" while its feed changes: a 304 for ever, unless asked without it
    newer = rss(rss_item("Newer", "https://news.example/newer"))

    def stuck(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(200, newer if stuck.served else FEED, {"ETag": '"v1"'})

    stuck.served = False  # type: ignore[attr-defined]
    url = feed_server.route("/feed.xml", stuck)
    config = write_config([{"name": "A", "url": url}])
    fetch_one(config, store)
    stuck.served = True  # type: ignore[attr-defined]
    assert fetch_one(config, store).body == FEED  # a day later: the 304 is trusted

    stale = (datetime.now(UTC) - FULL_FETCH_AFTER - timedelta(minutes=1)).isoformat(timespec="seconds")
    store.db.execute("UPDATE feeds SET fetched_at = ? WHERE url = ?", (stale, url))
    later = fetch_one(config, store)
    assert (later.status, later.body) == (200, newer)
    assert "if-none-match" not in feed_server.requests("/feed.xml")[-1].headers
    assert fetch_one(config, store).status == 304  # fresh again: conditional again


def test_a_changed_feed_replaces_the_cache(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    newer = rss(rss_item("Newer", "https://news.example/newer"))
    url = feed_server.route(
        "/feed.xml", Reply(200, FEED, {"ETag": '"v1"'}), Reply(200, newer, {"ETag": '"v2"'})
    )
    config = write_config([{"name": "A", "url": url}])
    fetch_one(config, store)
    assert fetch_one(config, store).body == newer
    cached = store.cached_feed(url)
    assert cached is not None and (cached.etag, cached.body) == ('"v2"', newer)


def test_an_empty_200_does_not_replace_the_cached_feed(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    # a glitch: one empty 200 with the feed's own ETag, then the server is right again
    url = feed_server.route("/feed.xml", conditional, Reply(200, b"", {"ETag": '"v1"'}), conditional)
    config = write_config([{"name": "A", "url": url}])
    first, glitch, after = fetch_one(config, store), fetch_one(config, store), fetch_one(config, store)
    assert (first.status, glitch.status, glitch.body) == (200, 200, b"")  # parse reports it empty
    assert after.status == 304 and after.body == FEED


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (410, "Gone"), (403, "Forbidden")])
def test_a_client_error_is_reported_with_its_status_and_not_retried(
    feed_server: FeedServer, write_config: WriteConfig, store: Store, status: int, reason: str
) -> None:
    url = feed_server.route("/feed.xml", Reply(status, b"nope"))
    result = fetch_one(write_config([{"name": "A", "url": url}]), store)
    assert result.body is None and result.error == f"HTTP {status} {reason}"
    assert len(feed_server.requests("/feed.xml")) == 1


def test_a_server_error_is_retried_then_reported_with_its_status(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/feed.xml", Reply(500, b"oops"))
    result = fetch_one(write_config([{"name": "A", "url": url}], fetch={"retries": 1}), store)
    assert result.body is None and result.error == "HTTP 500 Internal Server Error"
    assert len(feed_server.requests("/feed.xml")) == 2


def test_a_server_error_with_retries_off_is_asked_once(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/feed.xml", Reply(503, b"busy"))
    result = fetch_one(write_config([{"name": "A", "url": url}], fetch={"retries": 0}), store)
    assert result.error == "HTTP 503 Service Unavailable"
    assert len(feed_server.requests("/feed.xml")) == 1


def test_429_with_retry_after_is_retried_after_the_wait_and_succeeds(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/feed.xml", Reply(429, b"slow down", {"Retry-After": "1"}), Reply(200, FEED))
    started = time.monotonic()
    result = fetch_one(write_config([{"name": "A", "url": url}]), store)
    elapsed = time.monotonic() - started
    assert (result.status, result.body, result.error) == (200, FEED, None)
    assert len(feed_server.requests("/feed.xml")) == 2
    assert 0.9 <= elapsed < 3, elapsed  # it waited the second it was told to, not more


def test_a_retry_after_past_the_deadline_reports_the_status_at_once(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/feed.xml", Reply(503, b"busy", {"Retry-After": "999999"}))
    config = write_config([{"name": "A", "url": url}], fetch={"deadline": 60, "retries": 2})  # the defaults
    started = time.monotonic()
    result = fetch_one(config, store)
    elapsed = time.monotonic() - started
    assert result.error == "HTTP 503 Service Unavailable (the server asks to retry in 999999 s)"
    assert elapsed < 2, elapsed  # not the whole 60 s deadline
    assert len(feed_server.requests("/feed.xml")) == 1


def test_a_retry_after_longer_than_digest_waits_reports_the_status_at_once(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    # within the deadline, but past MAX_RETRY_WAIT: a retry after 30 s would come before
    # the server allows one, hold the build, and most likely be refused again
    asked = int(MAX_RETRY_WAIT) + 15
    url = feed_server.route("/feed.xml", Reply(429, b"busy", {"Retry-After": str(asked)}))
    config = write_config([{"name": "A", "url": url}], fetch={"deadline": 60, "retries": 2})  # the defaults
    started = time.monotonic()
    result = fetch_one(config, store)
    elapsed = time.monotonic() - started
    assert result.error == f"HTTP 429 Too Many Requests (the server asks to retry in {asked} s)"
    assert elapsed < 2, elapsed
    assert len(feed_server.requests("/feed.xml")) == 1


def test_retry_after_forms() -> None:
    assert _retry_delay("1", 0) == 1.0
    assert _retry_delay("3600", 0) == MAX_RETRY_WAIT
    assert _retry_delay(None, 0) == 0.5 and _retry_delay(None, 2) == 2.0  # backoff
    assert _retry_delay("soon", 1) == 1.0  # unreadable: backoff
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    assert _retry_delay(past, 0) == 0.0
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 <= _retry_delay(future, 0) <= 20


def test_a_server_that_never_answers_times_out_without_stalling_the_others(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    hung = feed_server.route("/hung.xml", Reply(hang=True))
    fine = feed_server.route("/fine.xml", Reply(200, FEED))
    done_at: dict[str, float] = {}
    config = write_config(
        [{"name": "Hung", "url": hung}, {"name": "Fine", "url": fine}], fetch={"timeout": 1}
    )
    started = time.monotonic()
    results = fetch_all(config, store, on_done=lambda r: done_at.setdefault(r.source.name, time.monotonic()))
    elapsed = time.monotonic() - started

    assert [r.source.name for r in results] == ["Hung", "Fine"]  # the order of the config
    # tried twice: 1 s, the 0.5 s backoff, 1 s (the 5 s deadline leaves room for it)
    assert results[0].error == "timed out waiting for the server, and again when retried"
    assert results[0].body is None and len(feed_server.requests("/hung.xml")) == 2
    assert results[1].body == FEED and results[1].error is None
    assert 2.4 <= elapsed < 3.5, elapsed
    assert done_at["Fine"] - started < 0.8  # not held up by the hung source (timeout: 1 s)


def test_a_request_that_timed_out_is_tried_once_more(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/feed.xml", Reply(hang=True), Reply(200, FEED))  # a moment's stall
    started = time.monotonic()
    result = fetch_one(write_config([{"name": "A", "url": url}], fetch={"timeout": 1, "deadline": 5}), store)
    elapsed = time.monotonic() - started
    assert (result.status, result.body, result.error) == (200, FEED, None)
    assert len(feed_server.requests("/feed.xml")) == 2
    assert 1.4 <= elapsed < 2.5, elapsed  # the timeout, then the usual 0.5 s backoff


CUT_OFF = "timed out: the feed did not arrive whole within 1 s (fetch.timeout)"


@pytest.mark.parametrize(
    ("timeout", "deadline", "error", "seconds"),
    [
        # each read is within the 1 s timeout, but the request as a whole is not: it must
        # not hold the build until the 5 s deadline (tried twice: 1 s, 0.5 s backoff, 1 s)
        (1, 5, f"{CUT_OFF}, and again when retried", (2.4, 3.5)),
        # no room left for a whole second try (0.5 s backoff + 1 s) before the deadline
        (1, 2.2, CUT_OFF, (0.9, 1.8)),
        (10, 2, "gave up after the 2 s deadline", (1.9, 3.0)),  # a deadline shorter than the timeout
    ],
)
def test_a_feed_that_trickles_is_cut_off_at_the_timeout_or_the_deadline(
    feed_server: FeedServer,
    write_config: WriteConfig,
    store: Store,
    timeout: float,
    deadline: float,
    error: str,
    seconds: tuple[float, float],
) -> None:
    slow = feed_server.route("/slow.xml", Reply(200, FEED * 100, trickle=0.2))  # a byte every 0.2 s
    fine = feed_server.route("/fine.xml", Reply(200, FEED))
    config = write_config(
        [{"name": "Slow", "url": slow}, {"name": "Fine", "url": fine}],
        fetch={"timeout": timeout, "deadline": deadline},
    )
    started = time.monotonic()
    results = fetch_all(config, store)
    elapsed = time.monotonic() - started
    assert seconds[0] <= elapsed < seconds[1], elapsed
    assert results[0].error == error and results[0].body is None
    assert results[1].body == FEED


def test_a_redirect_is_followed(feed_server: FeedServer, write_config: WriteConfig, store: Store) -> None:
    feed_server.route("/new.xml", Reply(200, FEED))
    url = feed_server.route("/old.xml", Reply(301, headers={"Location": "/new.xml"}))
    result = fetch_one(write_config([{"name": "A", "url": url}]), store)
    assert (result.status, result.body) == (200, FEED)


def test_the_base_is_the_address_after_redirects_also_from_the_cache(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    final = feed_server.route("/sub/dir/feed.xml", conditional)
    url = feed_server.route("/r", Reply(302, headers={"Location": "/sub/dir/feed.xml"}))
    config = write_config([{"name": "A", "url": url}])
    first = fetch_one(config, store)
    second = fetch_one(config, store)
    [offline] = fetch_all(config, store, offline=True)

    assert (first.status, first.url, first.base) == (200, url, final)
    assert second.status == 304 and second.cached and second.base.endswith("/sub/dir/feed.xml")
    assert offline.cached and offline.base == final


def test_a_permanent_redirect_says_where_the_feed_moved_also_on_a_304(
    feed_server: FeedServer, write_config: WriteConfig, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    new = feed_server.route("/new.xml", conditional)
    feed_server.route("/tmp.xml", Reply(200, FEED))
    feed_server.route("/gone.xml", Reply(410, b"gone"))
    feed_server.route("/lost.xml", Reply(404, b"lost"))
    feed_server.route("/f.xml", Reply(302, headers={"Location": "/lost.xml"}))
    sources = [
        {"name": "Moved", "url": feed_server.route("/old.xml", Reply(301, headers={"Location": "/new.xml"}))},
        {
            "name": "Moved 308",
            "url": feed_server.route("/o.xml", Reply(308, headers={"Location": "/new.xml"})),
        },
        {
            "name": "Borrowed",
            "url": feed_server.route("/b.xml", Reply(302, headers={"Location": "/tmp.xml"})),
        },
        {"name": "Then", "url": feed_server.route("/t.xml", Reply(301, headers={"Location": "/b.xml"}))},
        {"name": "Lost", "url": feed_server.route("/l.xml", Reply(302, headers={"Location": "/lost.xml"}))},
        {"name": "Dead", "url": feed_server.route("/d.xml", Reply(301, headers={"Location": "/gone.xml"}))},
        {
            "name": "Then lost",
            "url": feed_server.route("/fl.xml", Reply(301, headers={"Location": "/f.xml"})),
        },
    ]
    config = write_config(sources)
    first = fetch_all(config, store)
    second = fetch_all(config, store)  # conditional: the new address answers 304

    assert [r.moved_to for r in first] == [new, new, "", feed_server.url("/b.xml"), "", "", ""]
    assert second[0].status == 304 and second[0].cached and second[0].moved_to == new
    # an error after redirects names the address that gave it: the configured one may be fine
    assert first[4].error == f"HTTP 404 Not Found at {feed_server.url('/lost.xml')}"
    # and where the feed moved for good, though it fails there too: the editor should know
    gone = feed_server.url("/gone.xml")
    assert (
        first[5].error
        == f"HTTP 410 Gone at {gone}, where the feed moved permanently (put that in sources.yaml)"
    )
    assert first[6].error == (
        f"HTTP 404 Not Found at {feed_server.url('/lost.xml')}; the feed moved permanently to "
        f"{feed_server.url('/f.xml')} (put that in sources.yaml)"
    )
    with caplog.at_level(logging.WARNING, logger="digest"):
        collect(config, store)
    assert f"Moved: moved permanently to {new} (put that in sources.yaml)" in caplog.messages
    assert not any(m.startswith("Borrowed: moved") for m in caplog.messages)


def test_a_redirect_loop_reports_too_many_redirects(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/a.xml", Reply(302, headers={"Location": "/b.xml"}))
    feed_server.route("/b.xml", Reply(302, headers={"Location": "/a.xml"}))
    result = fetch_one(write_config([{"name": "A", "url": url}], fetch={"max_redirects": 3}), store)
    assert result.body is None and result.error is not None
    assert "too many redirects" in result.error
    assert len(feed_server.requests("/a.xml")) + len(feed_server.requests("/b.xml")) == 4  # 1 + 3 redirects


def test_a_gzip_encoded_body_is_decoded(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/feed.xml", Reply(200, FEED, gzip=True))
    result = fetch_one(write_config([{"name": "A", "url": url}]), store)
    assert result.body == FEED
    assert "gzip" in feed_server.requests("/feed.xml")[0].headers.get("accept-encoding", "")


def test_the_charset_of_the_content_type_decodes_the_body_also_from_the_cache(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    utf8 = rss(rss_item("Señor García", "https://news.example/a"))
    cp1252 = utf8.decode("utf-8").replace(' encoding="utf-8"', "").encode("cp1252")  # nothing declared
    headers = {"Content-Type": "application/rss+xml; charset=windows-1252", "ETag": '"v1"'}

    def conditional(request: Request) -> Reply:
        return Reply(304) if request.headers.get("if-none-match") == '"v1"' else Reply(200, cp1252, headers)

    # JSON is not XML: RFC 3023 does not apply, and a JSON body is kept byte for byte.
    json_body = codecs.BOM_UTF8 + ' {"version": "https://jsonfeed.org/version/1", "title": "Señor"}'.encode()
    json_url = feed_server.route(
        "/feed.json", Reply(200, json_body, {"Content-Type": "application/feed+json; charset=iso-8859-1"})
    )
    config = write_config([{"name": "A", "url": feed_server.route("/feed.xml", conditional)}])
    for result in (fetch_one(config, store), fetch_one(config, store)):  # a 200, then a 304
        assert result.body is not None and "Señor" in result.body.decode("utf-8", "replace")
        assert feedparser.parse(result.body).entries[0].title == "Señor García"
    assert fetch_one(write_config([{"name": "J", "url": json_url}]), store).body == json_body


def test_a_body_declared_over_max_bytes_is_refused(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/big.xml", Reply(200, b"x" * 5000))
    result = fetch_one(write_config([{"name": "A", "url": url}], fetch={"max_bytes": 2048}), store)
    assert result.body is None and result.error is not None and "2,048-byte limit" in result.error


def test_an_undeclared_body_over_max_bytes_is_cut_off(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/big.xml", Reply(200, b"x" * 200_000, length=False))
    result = fetch_one(write_config([{"name": "A", "url": url}], fetch={"max_bytes": 2048}), store)
    assert result.body is None and result.error is not None and "2,048-byte limit" in result.error


def test_a_gzip_bomb_is_refused_by_its_decoded_size(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    bomb = b"\0" * 5_000_000  # ~5 KB on the wire
    url = feed_server.route("/bomb.xml", Reply(200, bomb, gzip=True))
    assert len(gzip.compress(bomb)) < 10_000
    result = fetch_one(write_config([{"name": "A", "url": url}], fetch={"max_bytes": 100_000}), store)
    assert result.body is None and result.error is not None and "100,000-byte limit" in result.error


def test_local_feeds_by_file_url_and_by_path_relative_to_the_config(
    tmp_path: Path, write_config: WriteConfig, store: Store
) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "a.xml").write_bytes(FEED)
    config = write_config(
        [
            {"name": "By URL", "url": (feeds / "a.xml").as_uri()},
            {"name": "By relative file URL", "url": "file:feeds/a.xml", "include": ["x"]},
            {"name": "By path", "path": "feeds/a.xml", "exclude": ["x"]},
        ]
    )
    results = fetch_all(config, store)
    assert [(r.status, r.body, r.error) for r in results] == [(200, FEED, None)] * 3
    assert results[2].url == str((feeds / "a.xml").resolve())
    assert [r.base for r in results] == [""] * 3  # a file has no web address


def test_a_missing_local_file_is_reported(tmp_path: Path, write_config: WriteConfig, store: Store) -> None:
    result = fetch_one(write_config([{"name": "A", "path": "feeds/missing.xml"}]), store)
    assert result.body is None and result.error is not None
    assert result.error.startswith("cannot read ") and "missing.xml" in result.error
    assert "No such file" in result.error


def test_a_local_file_over_max_bytes_is_refused(
    tmp_path: Path, write_config: WriteConfig, store: Store
) -> None:
    (tmp_path / "big.xml").write_bytes(b"x" * 5000)
    result = fetch_one(write_config([{"name": "A", "path": "big.xml"}], fetch={"max_bytes": 2048}), store)
    assert result.body is None and result.error is not None and "2,048-byte limit" in result.error


def test_a_refused_connection_is_reported(write_config: WriteConfig, store: Store) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = fetch_one(write_config([{"name": "A", "url": f"http://127.0.0.1:{port}/feed.xml"}]), store)
    assert (
        result.body is None
        and result.error == f"connection refused by 127.0.0.1:{port} (is the server running?)"
    )


def test_an_unknown_host_is_named() -> None:
    try:
        raise OSError("wrapped") from socket.gaierror(-2, "Name or service not known")
    except OSError as exc:
        reason = _connection_error("https://feeds.exampel.com/rss", exc)
    assert reason == "cannot resolve the host 'feeds.exampel.com' (a typo, or no network?)"


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("http://127.0.0.1:port/feed.xml", "not a valid URL"),
        # past 65535 it was an OverflowError in the socket layer, which ended the whole fetch
        ("http://127.0.0.1:99999/feed.xml", "not a valid URL: port 99999 is out of range (1-65535)"),
        ("/moved.xml", "not a valid URL: port 70000 is out of range (1-65535)"),  # a redirect there
    ],
)
def test_a_malformed_url_fails_that_source_only(
    feed_server: FeedServer, write_config: WriteConfig, store: Store, where: str, reason: str
) -> None:
    fine = feed_server.route("/fine.xml", Reply(200, FEED))
    if where.startswith("/"):
        where = feed_server.route(where, Reply(301, b"", {"Location": "http://127.0.0.1:70000/feed.xml"}))
    config = write_config([{"name": "Bad", "url": where}, {"name": "Fine", "url": fine}])
    bad, good = fetch_all(config, store)
    assert bad.error is not None and bad.error.startswith(reason), bad.error
    assert good.body == FEED


def test_twenty_slow_sources_take_about_as_long_as_one(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    sources = [
        {"name": f"S{n}", "url": feed_server.route(f"/s{n}.xml", Reply(200, FEED, delay=0.5))}
        for n in range(20)
    ]
    config = write_config(sources, fetch={"concurrency": 20, "per_host": 20})  # one host: this server
    started = time.monotonic()
    results = fetch_all(config, store)
    elapsed = time.monotonic() - started
    assert all(r.body == FEED for r in results)
    assert 0.5 <= elapsed < 1.5, elapsed  # one after another would take 10 s


def test_concurrency_is_bounded(feed_server: FeedServer, write_config: WriteConfig, store: Store) -> None:
    sources = [
        {"name": f"S{n}", "url": feed_server.route(f"/s{n}.xml", Reply(200, FEED, delay=0.3))}
        for n in range(4)
    ]
    started = time.monotonic()
    results = fetch_all(write_config(sources, fetch={"concurrency": 2}), store)
    assert all(r.body == FEED for r in results)
    assert time.monotonic() - started >= 0.55  # two rounds of two


def test_feeds_of_one_host_are_fetched_per_host_at_a_time(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    arrived: list[float] = []

    def slow(request: Request) -> Reply:
        arrived.append(time.monotonic())
        return Reply(200, FEED, delay=0.3)

    # ten categories of one site, as arXiv's: not all ten at once, though 16 may go at once
    sources = [{"name": f"cs.{n}", "url": feed_server.route(f"/rss/cs.{n}", slow)} for n in range(10)]
    results = fetch_all(write_config(sources, fetch={"concurrency": 16}), store)  # per_host: 4
    assert all(r.body == FEED for r in results)
    arrived.sort()
    assert all(fifth - first >= 0.25 for first, fifth in zip(arrived, arrived[4:])), arrived


def test_offline_reads_the_cache_and_makes_no_request(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    url = feed_server.route("/feed.xml", Reply(200, FEED))
    never = feed_server.route("/never.xml", Reply(200, FEED))
    fetch_one(write_config([{"name": "A", "url": url}]), store)
    config = write_config([{"name": "A", "url": url}, {"name": "B", "url": never}])
    cached, uncached = fetch_all(config, store, offline=True)
    assert cached.body == FEED and cached.cached and cached.error is None
    assert uncached.body is None and uncached.error is not None and "nothing cached" in uncached.error
    assert len(feed_server.requests("/feed.xml")) == 1 and feed_server.requests("/never.xml") == []


def test_on_done_reports_each_source_as_it_finishes(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    slow = feed_server.route("/slow.xml", Reply(200, FEED, delay=0.3))
    fast = feed_server.route("/fast.xml", Reply(200, FEED))
    seen: list[str] = []
    fetch_all(
        write_config([{"name": "Slow", "url": slow}, {"name": "Fast", "url": fast}]),
        store,
        on_done=lambda r: seen.append(r.source.name),
    )
    assert seen == ["Fast", "Slow"]


def _gzip_of_zeros(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    return b"".join([packer.compress(zeros) for _ in range(megabytes)] + [packer.flush()])


def test_a_bomb_gzipped_twice_is_refused_without_inflating_it(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    # 256 MB of zeros, gzipped twice: ~1 KB on the wire, the whole 256 MB in one chunk
    bomb = gzip.compress(_gzip_of_zeros(256))
    assert len(bomb) < 2_000
    url = feed_server.route("/bomb.xml", Reply(200, bomb, {"Content-Encoding": "gzip, gzip"}))
    config = write_config([{"name": "A", "url": url}], fetch={"max_bytes": 100_000})
    tracemalloc.start()
    try:
        result = fetch_one(config, store)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.body is None and result.error == "body is over the 100,000-byte limit"
    assert peak < 20_000_000, f"{peak:,} bytes held at once"
    assert feed_server.requests("/bomb.xml")[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_and_stacked_encodings_are_decoded_and_an_unknown_one_is_named(
    feed_server: FeedServer, write_config: WriteConfig, store: Store, wbits: int
) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    deflated = packer.compress(FEED) + packer.flush()
    url = feed_server.route("/d.xml", Reply(200, deflated, {"Content-Encoding": "deflate"}))
    assert fetch_one(write_config([{"name": "A", "url": url}]), store).body == FEED
    twice = gzip.compress(gzip.compress(FEED))
    url = feed_server.route("/gg.xml", Reply(200, twice, {"Content-Encoding": "gzip, gzip"}))
    assert fetch_one(write_config([{"name": "A", "url": url}]), store).body == FEED
    url = feed_server.route("/br.xml", Reply(200, b"\x8b\x00", {"Content-Encoding": "br"}))
    result = fetch_one(write_config([{"name": "A", "url": url}]), store)
    assert result.body is None
    assert result.error == "the body is in an encoding digest cannot read (Content-Encoding: br)"


def test_a_gzip_body_of_several_members_is_decoded_whole(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    # RFC 1952: a gzip file may be members one after another (written in parts, or by a
    # compressor flushing as it goes); each decompresses to the next part of the text
    feed = rss(*(rss_item(f"Story {k}", f"https://news.example/{k}") for k in range(20)))
    middle = len(feed) // 2
    body = gzip.compress(feed[:middle]) + gzip.compress(feed[middle:])
    url = feed_server.route("/parts.xml", Reply(200, body, {"Content-Encoding": "gzip"}))
    assert fetch_one(write_config([{"name": "A", "url": url}]), store).body == feed
    url = feed_server.route("/twice.xml", Reply(200, gzip.compress(body), {"Content-Encoding": "gzip, gzip"}))
    assert fetch_one(write_config([{"name": "A", "url": url}]), store).body == feed


def test_bytes_after_the_end_of_a_gzip_stream_count_toward_the_limit(
    feed_server: FeedServer, write_config: WriteConfig, store: Store
) -> None:
    # a small gzip stream, then junk that decodes to nothing: it must not pile up unread
    body = gzip.compress(FEED) + b"\0" * 300_000
    url = feed_server.route("/tail.xml", Reply(200, body, {"Content-Encoding": "gzip"}))
    result = fetch_one(write_config([{"name": "A", "url": url}], fetch={"max_bytes": 100_000}), store)
    assert result.body is None and result.error == "body is over the 100,000-byte limit"
    small = gzip.compress(FEED) + b"\0" * 100  # a little padding after the stream is read as before
    url = feed_server.route("/pad.xml", Reply(200, small, {"Content-Encoding": "gzip"}))
    assert (
        fetch_one(write_config([{"name": "A", "url": url}], fetch={"max_bytes": 100_000}), store).body == FEED
    )
