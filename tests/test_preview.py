"""``digest preview``: a real server on a free loopback port, real file saves, real Chromium.

Each test starts the preview in-process on a newsletter written into tmp_path (a local
feed, its own templates folder overriding one partial, a notes file); the browser tests
drive Debian's Chromium through Playwright and wait with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import http.client
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from click.testing import CliRunner
from conftest import FeedServer, Reply, rss, rss_item

from digest.cli import main
from digest.config import load_config
from digest.preview import Preview, Status
from digest.preview.pages import send_preview
from digest.preview.server import Forbidden, PreviewServer, resolve_inside
from digest.render import builtin_templates

try:
    from playwright.sync_api import expect
except ImportError:  # the browser tests skip (or fail under DIGEST_REQUIRE_BROWSER=1)
    expect = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DAY = date(2025, 6, 14)
GREETING = "<p>{{ newsletter.greeting }}</p>"
TOPICS = [
    ("Orbital Labs opens a lunar greenhouse", "Farming experiments begin on the Moon."),
    ("Harbor City votes on a tram network", "Councillors debate rail funding for the port."),
    ("Quillsoft ships a fountain pen robot", "Calligraphy by machine arrives at stationers."),
    ("Glacier survey finds record melt in Patagonia", "Scientists measure ice loss over ten years."),
]


# -- the newsletter under preview ---------------------------------------------------


def write_site(root: Path, extra_sources: list[dict[str, object]] | None = None) -> Path:
    """A small newsletter in ``root``: a local feed, a templates folder, notes; its sources.yaml."""
    items = [rss_item(t, f"https://news.example/{i}", body=s) for i, (t, s) in enumerate(TOPICS)]
    (root / "feeds").mkdir()
    (root / "feeds" / "news.xml").write_bytes(rss(*items))
    (root / "templates" / "partials").mkdir(parents=True)
    write_header(root, "Marker zero")
    (root / "notes").mkdir()
    (root / "notes" / f"{DAY}.md").write_text("## What we think\nNotes version one.\n", encoding="utf-8")
    config = {
        "newsletter": {"name": "Preview Digest", "sender": {"name": "Ed", "email": "ed@digest.example"}},
        "sources": [{"name": "News", "path": "feeds/news.xml"}, *(extra_sources or [])],
        "fetch": {"timeout": 1, "deadline": 5, "retries": 0},
        "templates": "templates",
    }
    path = root / "sources.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def write_header(root: Path, marker: str, broken: bool = False) -> None:
    """Override the header partial: the greeting followed by ``marker`` (or a syntax error)."""
    source = (builtin_templates() / "partials" / "header.mjml").read_text(encoding="utf-8")
    assert GREETING in source, "the built-in header changed: update GREETING"
    line = "<p>{{ newsletter.greeting }} " + marker + (" {% if %}" if broken else "") + "</p>"
    (root / "templates" / "partials" / "header.mjml").write_text(source.replace(GREETING, line), "utf-8")


def wait_status(preview: Preview, done: Callable[[Status], bool], timeout: float = 15.0) -> Status:
    """The preview's status once ``done(status)``; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    status = preview.rebuilder.status
    while not done(status):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; last status: {status}"
        status = preview.rebuilder.wait_change(status.seq, left)
    return status


def get(preview: Preview, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (no normalization); status and body."""
    host, port = preview.server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=bool(headers and "Host" in headers))
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The newsletter's sources.yaml."""
    return write_site(tmp_path)


def previewing(site: Path) -> Iterator[Preview]:
    """The preview of ``site`` on a free loopback port, first build done, watching."""
    app = Preview(site, site.parent / "out", DAY, port=0).start()
    try:
        assert app.wait_ready(30), f"preview not ready: {app.rebuilder.status}"
        yield app
    finally:
        app.stop()


@pytest.fixture
def preview(site: Path) -> Iterator[Preview]:
    """The preview of the small newsletter (``previewing``)."""
    yield from previewing(site)


# -- the browser --------------------------------------------------------------------


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page, with a 15 s deadline on every wait."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    try:
        yield tab
    finally:
        context.close()


def test_page_shows_issue_at_desktop_and_phone_width(preview: Preview, page: Page) -> None:
    page.goto(preview.url)
    for frame, width in (("#desktop", 600), ("#phone", 375)):
        expect(page.frame_locator(frame).locator("body")).to_contain_text(
            "Orbital Labs opens a lunar greenhouse"
        )
        expect(page.frame_locator(frame).locator("body")).to_contain_text("Marker zero")
        inner = (
            page.frame_locator(frame).locator("html").evaluate("e => e.ownerDocument.defaultView.innerWidth")
        )
        assert inner <= width and inner >= width - 20  # the frame's viewport, less a scrollbar
    page.click("nav button[data-view=text]")
    expect(page.frame_locator("#text").locator("body")).to_contain_text("Harbor City votes on a tram network")
    expect(page.locator("[data-panel=email]")).to_be_hidden()
    page.click("nav button[data-view=send]")
    expect(page.frame_locator("#send").locator("#headers")).to_contain_text("List-Unsubscribe")


def test_template_change_appears_without_reload(preview: Preview, site: Path, page: Page) -> None:
    page.goto(preview.url)
    desktop = page.frame_locator("#desktop").locator("body")
    expect(desktop).to_contain_text("Marker zero")
    page.evaluate("window.sameDocument = true")
    write_header(site.parent, "Marker one")
    expect(desktop).to_contain_text("Marker one")
    expect(page.frame_locator("#phone").locator("body")).to_contain_text("Marker one")
    assert page.evaluate("window.sameDocument") is True  # frames only


def test_broken_template_shows_error_page_and_fix_recovers(
    preview: Preview, site: Path, page: Page, caplog: pytest.LogCaptureFixture
) -> None:
    page.goto(preview.url)
    expect(page.frame_locator("#desktop").locator("body")).to_contain_text("Marker zero")
    write_header(site.parent, "Marker broken", broken=True)
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(f"{site.parent / 'templates' / 'partials' / 'header.mjml'}:")
    assert "header.mjml:" in caplog.text and "build failed" in caplog.text  # the terminal too
    write_header(site.parent, "Marker fixed")
    expect(error).to_be_hidden()
    expect(page.frame_locator("#desktop").locator("body")).to_contain_text("Marker fixed")


def test_issue_page_opened_directly_reloads_itself(preview: Preview, site: Path, page: Page) -> None:
    page.goto(preview.url + "out/latest/")
    expect(page.locator("body")).to_contain_text("Notes version one")
    (site.parent / "notes" / f"{DAY}.md").write_text("## What we think\nNotes version two.\n", "utf-8")
    expect(page.locator("body")).to_contain_text("Notes version two")


def test_warnings_of_a_build_show_on_the_page_as_text(preview: Preview, site: Path, page: Page) -> None:
    page.goto(preview.url)
    expect(page.frame_locator("#desktop").locator("body")).to_contain_text("Notes version one")
    expect(page.locator("#warnings")).to_be_hidden()
    notes = site.parent / "notes" / f"{DAY}.md"
    notes.write_text("## Keep apart\n- https://nowhere.example/typo\n- <b>bold</b> and no link\n", "utf-8")
    warnings = page.locator("#warnings")
    expect(warnings).to_contain_text("2 warnings from the last build")
    expect(warnings).to_contain_text("names no link: <b>bold</b> and no link")  # as text, not markup
    expect(warnings).to_contain_text("https://nowhere.example/typo, which no item of the day links to")
    assert warnings.locator("b").count() == 0
    notes.write_text("## What we think\nNotes version two.\n", "utf-8")
    expect(warnings).to_be_hidden()
    expect(page.frame_locator("#desktop").locator("body")).to_contain_text("Notes version two")


def test_a_page_of_another_site_cannot_frame_the_preview(
    preview: Preview, page: Page, feed_server: FeedServer
) -> None:
    """A see-through frame of the preview under a page's own button would make the
    editor's click a click on "Fetch again" (the preview's own frames: the tests above)."""
    frames = "".join(
        f'<iframe id="f{n}" src="{preview.url}{path}" onload="document.title = +document.title + 1"></iframe>'
        for n, path in enumerate(("", "out/latest/index.html", "_preview/send"))
    )
    feed_server.route("/win.html", Reply(200, frames.encode(), {"Content-Type": "text/html"}))
    page.goto(f"http://localhost:{feed_server.port}/win.html")
    expect(page).to_have_title("3")  # every frame has loaded, or failed to
    for n in range(3):
        expect(page.frame_locator(f"#f{n}").locator("body")).not_to_contain_text("Fetch again")
        expect(page.frame_locator(f"#f{n}").locator("body")).not_to_contain_text("Orbital Labs")
        expect(page.frame_locator(f"#f{n}").locator("body")).not_to_contain_text("List-Id")
    assert preview.rebuilder.status.reason == "start"


def test_the_frames_run_no_script_and_their_links_open_in_a_tab_of_their_own(
    preview: Preview, page: Page, feed_server: FeedServer
) -> None:
    """A script in an issue page (a template's, or a feed's that got through) would run as
    the preview itself, free to "Fetch again"; its links must still open, as in a mail client."""
    article = feed_server.route(
        "/article",
        Reply(200, b"<script>document.title = 'Article'</script>The article", {"Content-Type": "text/html"}),
    )
    issue = preview.out / str(DAY) / "index.html"
    hostile = (
        f'<script>top.document.title = "ran"</script><a id="go" href="{article}" target="_blank">Read</a>'
        f'<a id="plain" href="{article}?plain">Read too</a>'  # as most of an issue's links: no target
    )
    issue.write_text(issue.read_text(encoding="utf-8").replace("</body>", hostile + "</body>"), "utf-8")
    page.goto(preview.url)
    desktop = page.frame_locator("#desktop")
    expect(desktop.locator("#go")).to_be_visible()
    expect(desktop.locator("body")).to_contain_text("Orbital Labs opens a lunar greenhouse")
    assert page.title() == "Preview · digest"  # the frame's script did not run
    with page.context.expect_page() as opened:
        desktop.locator("#go").click()
    tab = opened.value
    expect(tab).to_have_title("Article")  # a tab of its own, out of the sandbox: its scripts run
    assert tab.url == article
    with page.context.expect_page() as opened:
        desktop.locator("#plain").click()
    assert opened.value.url == f"{article}?plain"
    expect(desktop.locator("#go")).to_be_visible()  # the frame still shows the issue
    page.click("nav button[data-view=send]")
    send = page.frame_locator("#send")
    send.locator("input[name=to]").fill("ann@example.org")
    send.locator("button[type=submit]").click()  # the send preview's form still works
    expect(send.locator("#headers")).to_contain_text("ann@example.org")


# -- rebuilding ---------------------------------------------------------------------


def test_a_failed_feed_stays_among_the_warnings_of_later_rebuilds(tmp_path: Path) -> None:
    sources = [{"name": "Gone", "path": "feeds/gone.xml"}, {"name": "Large", "path": "feeds/large.xml"}]
    site = write_site(tmp_path, sources)
    large = rss(rss_item("Tides & turbines", "https://large.example/1"), "<x>" * 400_000)  # malformed, 1.2 MB
    (tmp_path / "feeds" / "large.xml").write_bytes(large)
    app = Preview(site, site.parent / "out", DAY, port=0).start()
    try:
        assert app.wait_ready(30), f"preview not ready: {app.rebuilder.status}"
        first = app.rebuilder.status
        gone = [w for w in first.warnings if w.startswith(("Gone: ", "Large: not well-formed XML"))]
        assert len(gone) == 2 and first.state == "ok"
        # a notes edit rebuilds from the items kept, without collecting the feeds again
        (site.parent / "notes" / f"{DAY}.md").write_text("## What we think\nVersion two.\n", "utf-8")
        status = wait_status(app, lambda s: s.build > first.build and s.state == "ok")
        assert [w for w in status.warnings if w.startswith(("Gone: ", "Large: "))] == gone
        # nor do many other warnings push it out of the list, which has room for 20
        typos = "".join(f"- https://typo.example/{n}\n" for n in range(25))
        (site.parent / "notes" / f"{DAY}.md").write_text(f"## Leave out\n{typos}", "utf-8")
        status = wait_status(app, lambda s: s.state == "ok" and len(s.warnings) > 2)
        assert len(status.warnings) == 20 and list(status.warnings[:2]) == gone
    finally:
        app.stop()


def test_a_build_s_warnings_are_in_the_status_and_the_page(preview: Preview, site: Path) -> None:
    assert preview.rebuilder.status.warnings == ()
    notes = site.parent / "notes" / f"{DAY}.md"
    notes.write_text("## Same story\n- https://news.example/0 https://nowhere.example/x\n", "utf-8")
    status = wait_status(preview, lambda s: s.state == "ok" and s.warnings)
    assert status.warnings == (
        "'Same story' in the notes names https://nowhere.example/x, which no item of the day links to",
    )
    code, body = get(preview, "/")
    assert code == 200 and b"1 warning from the last build" in body and b"nowhere.example/x" in body
    notes.write_text("## What we think\nNotes version two.\n", "utf-8")
    assert wait_status(preview, lambda s: s.state == "ok" and not s.warnings).warnings == ()


OTHER_TAKE = (  # another outlet's take on TOPICS[0]: the same event, in other words
    "Orbital Labs starts growing crops in its greenhouse on the Moon",
    "The lunar farming experiments of Orbital Labs have begun.",
)


@pytest.fixture
def doubted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Preview]:
    """A preview whose one merge (two outlets' takes on TOPICS[0]) its report marks "check":
    the mark's level is raised above every score, so that no model decides the test."""
    from digest.dedup import api

    monkeypatch.setattr(api, "CHECK_BELOW", 1.01)
    site = write_site(tmp_path, [{"name": "Other", "path": "feeds/other.xml"}])
    title, body = OTHER_TAKE
    (tmp_path / "feeds" / "other.xml").write_bytes(
        rss(rss_item(title, "https://other.example/moon", body=body))
    )
    yield from previewing(site)


def test_the_status_and_the_report_tab_count_the_merges_to_check(doubted: Preview) -> None:
    status = doubted.rebuilder.status
    assert len(status.checks) == 1 and status.checks[0] in (TOPICS[0][0], OTHER_TAKE[0])
    code, body = get(doubted, "/")
    assert code == 200 and " · 1 to check</span></button>".encode() in body
    # the editor keeps the other take apart: nothing is merged, nothing to check
    notes = doubted.rebuilder.sources.parent / "notes" / f"{DAY}.md"
    notes.write_text("## Keep apart\n- https://other.example/moon\n", "utf-8")
    assert wait_status(doubted, lambda s: s.state == "ok" and s.build > status.build).checks == ()


def test_the_report_tab_s_count_follows_rebuilds_on_the_page(doubted: Preview, page: Page) -> None:
    page.goto(doubted.url)
    checks = page.locator("#checks")
    expect(checks).to_have_text(" · 1 to check")
    notes = doubted.rebuilder.sources.parent / "notes" / f"{DAY}.md"
    notes.write_text("## Keep apart\n- https://other.example/moon\n", "utf-8")
    expect(checks).to_have_text("")
    notes.write_text("## What we think\nBack together.\n", "utf-8")
    expect(checks).to_have_text(" · 1 to check")


NEWS_AND_ANALYSIS = (  # one outlet's two takes of one deal: two stories, which the report asks about
    (
        "Nvidia agrees to buy Arm from SoftBank for $40 billion",
        "https://news.example/arm",
        "Nvidia said on Sunday it would buy the British chip designer Arm from SoftBank in a cash and "
        "stock deal worth $40 billion, the largest chip deal ever.",
    ),
    (
        "What Nvidia's $40 billion Arm deal means for chipmakers",
        "https://news.example/arm-analysis",
        "Nvidia's purchase of Arm from SoftBank for $40 billion puts the designer of most phone chips "
        "under one of its biggest customers' rivals.",
    ),
)


@pytest.fixture
def near_missing(site: Path) -> Iterator[Preview]:
    """A preview of one outlet's two takes of one deal (``NEWS_AND_ANALYSIS``)."""
    takes = [rss_item(title, url, body=body) for title, url, body in NEWS_AND_ANALYSIS]
    (site.parent / "feeds" / "news.xml").write_bytes(rss(*takes))
    yield from previewing(site)


def test_the_report_tab_counts_two_stories_that_may_be_one_event(near_missing: Preview) -> None:
    status = near_missing.rebuilder.status
    [asked] = status.checks
    assert sorted(asked.split(" / ")) == sorted(f"“{title}”" for title, _, _ in NEWS_AND_ANALYSIS)
    code, body = get(near_missing, "/")
    assert code == 200 and " · 1 to check</span></button>".encode() in body
    # the editor answers: one story, nothing left to ask
    notes = near_missing.rebuilder.sources.parent / "notes" / f"{DAY}.md"
    notes.write_text(
        "## Same story\n- <https://news.example/arm> <https://news.example/arm-analysis>\n", "utf-8"
    )
    assert wait_status(near_missing, lambda s: s.state == "ok" and s.build > status.build).checks == ()


def test_invalid_config_is_reported_with_line_and_recovers(preview: Preview, site: Path) -> None:
    good = site.read_text(encoding="utf-8")
    site.write_text(good.replace("name: News", "name: News\n  colour: red"), encoding="utf-8")
    status = wait_status(preview, lambda s: s.state == "error")
    assert f"{site}:" in status.message and "colour" in status.message
    code, body = get(preview, "/")
    assert code == 200 and b"colour" in body  # the error page, even without scripts
    site.write_text(good, encoding="utf-8")
    status = wait_status(preview, lambda s: s.state == "ok")
    assert get(preview, "/out/latest/index.html")[0] == 200


def test_burst_of_saves_is_coalesced(preview: Preview, site: Path) -> None:
    before = preview.rebuilder.status.build
    for n in range(10):
        write_header(site.parent, f"Burst {n}")
    index = site.parent / "out" / str(DAY) / "index.html"
    wait_status(preview, lambda s: s.state == "ok" and "Burst 9" in index.read_text(encoding="utf-8"))
    assert preview.rebuilder.status.build - before <= 3


def test_rebuilds_use_no_network_until_fetch_again(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.route("/remote.xml", Reply(200, rss(rss_item("Remote item", "https://r.example/1"))))
    site = write_site(tmp_path, [{"name": "Remote", "url": url}])
    with Preview(site, tmp_path / "out", DAY, port=0) as app:
        assert app.wait_ready(30)
        write_header(tmp_path, "Marker offline")
        wait_status(app, lambda s: s.build >= 2 and s.state == "ok")
        assert feed_server.requests("/remote.xml") == []
        host, port = app.server.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=10)
        connection.request("POST", "/_preview/refetch", body=b"")
        assert connection.getresponse().status == 303
        connection.close()
        wait_status(app, lambda s: s.build >= 3 and s.state == "ok")
        assert len(feed_server.requests("/remote.xml")) == 1
        assert "Remote item" in (tmp_path / "out" / str(DAY) / "issue.txt").read_text(encoding="utf-8")


# -- what is served -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/out/../sources.yaml",
        "/out/%2e%2e/sources.yaml",
        "/out/%2E%2E%2Fsources.yaml",
        "/out/..%2fsources.yaml",
        "/out/latest/../../sources.yaml",
        "/../../../etc/passwd",
        "/out/..%5csources.yaml",
        "/out/escape/sources.yaml",
        "/out/secret.txt",
        "/sources.yaml",
        "/notes/2025-06-14.md",
    ],
)
def test_paths_outside_out_are_refused(preview: Preview, site: Path, path: str) -> None:
    (site.parent / "secret.txt").write_text("top secret", encoding="utf-8")
    out = site.parent / "out"
    if not (out / "escape").exists():
        (out / "escape").symlink_to("..", target_is_directory=True)  # resolves outside out/
        (out / "secret.txt").symlink_to(site.parent / "secret.txt")
    code, body = get(preview, path)
    assert code in (403, 404)
    assert b"top secret" not in body and b"newsletter:" not in body and b"root:" not in body


def test_raw_socket_traversal_is_refused(preview: Preview) -> None:
    host, port = preview.server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(
            b"GET /out/%2e%2e/%2e%2e/sources.yaml HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 403")


def test_latest_symlink_and_issue_files_are_served(preview: Preview) -> None:
    for path in ("/out/latest/index.html", "/out/latest/issue.txt", f"/out/{DAY}/report.html", "/out/"):
        code, body = get(preview, path)
        assert code == 200, path
    code, _ = get(preview, "/out/latest")
    assert code == 303  # to /out/latest/, so that relative links work


def test_foreign_host_header_is_refused(preview: Preview) -> None:
    code, _ = get(preview, "/out/latest/index.html", {"Host": "evil.example:8000"})
    assert code == 403


@pytest.mark.parametrize("host", ["127.0.0.2", "0.0.0.0"])
def test_the_host_header_must_name_the_preview_on_any_address(site: Path, host: str) -> None:
    """A page of evil.example whose name DNS rebinding points at the preview may read nothing
    and fetch nothing, on whatever address the preview listens; the editor, who opens it by
    its address, is served."""
    app = Preview(site, site.parent / "out", DAY, host=host, port=0).start()
    try:
        assert app.wait_ready(30), f"preview not ready: {app.rebuilder.status}"
        port = app.server.server_address[1]
        own = "127.0.0.1" if host == "0.0.0.0" else host
        for name in (own, "localhost"):
            assert get(app, "/out/latest/issue.txt", {"Host": f"{name}:{port}"})[0] == 200, name
        for path in ("/", "/_preview/status", "/_preview/send", "/out/latest/issue.txt"):
            code, body = get(app, path, {"Host": f"evil.example:{port}"})
            assert code == 403 and b"Orbital" not in body and b"List-Id" not in body, path
        connection = http.client.HTTPConnection(app.server.server_address[0], port, timeout=10)
        connection.request(
            "POST", "/_preview/refetch", body=b"", headers={"Host": f"evil.example:{port}",
                                                          "Origin": f"http://evil.example:{port}"}
        )  # fmt: skip
        assert connection.getresponse().status == 403
        connection.close()
        assert app.rebuilder.status.reason == "start"
    finally:
        app.stop()


def _ask(preview: Preview, request: bytes) -> bytes:
    """What the server answers to ``request`` written to a raw socket (b"" if nothing in 5 s)."""
    host, port = preview.server.server_address[:2]
    answer = b""
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(request)
        try:
            while chunk := raw.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    return answer


def test_malformed_and_abandoned_requests_are_answered_without_a_traceback(
    preview: Preview, capfd: pytest.CaptureFixture[str]
) -> None:
    post = b"POST /_preview/refetch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for header in (b"Content-Length: abc", b"Content-Length: -1", b"Content-Length: 999999999",
                   b"Transfer-Encoding: chunked"):  # fmt: skip
        answer = _ask(preview, post + header + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400"), (header, answer[:100])
    # browsers that drop the connection before the answer (a frame reloaded, a tab closed)
    host, port = preview.server.server_address[:2]
    for _ in range(20):
        with socket.create_connection((host, port), timeout=5) as raw:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset
            raw.sendall(b"GET /out/latest/index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    deadline = time.monotonic() + 10
    while any("process_request" in thread.name for thread in threading.enumerate()):
        assert time.monotonic() < deadline, "requests still being answered"
        time.sleep(0.05)
    assert "Traceback" not in capfd.readouterr().err
    assert get(preview, "/_preview/status")[0] == 200
    assert preview.rebuilder.status.reason == "start"


def _connect(preview: Preview, client: str, sent: bytes = b"") -> socket.socket:
    """A raw connection to the preview from the loopback address ``client`` (127.0.0.2, …:
    another machine, as the preview sees it), having sent ``sent``."""
    raw = socket.socket()
    raw.bind((client, 0))
    raw.settimeout(5)
    raw.connect(preview.server.server_address[:2])
    raw.sendall(sent)
    return raw


def _serving(preview: Preview, count: int) -> None:
    """Wait until ``count`` connections are being served, each on its thread."""
    deadline = time.monotonic() + 10
    while sum("process_request" in thread.name for thread in threading.enumerate()) != count:
        assert time.monotonic() < deadline, threading.enumerate()
        time.sleep(0.02)


def test_a_silent_connection_is_closed_after_the_idle_timeout(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slowloris or a scan on the LAN would otherwise hold a thread and a descriptor
    for ever with each connection."""
    monkeypatch.setattr(PreviewServer, "idle_timeout", 1.0)
    for app in previewing(site):
        for sent in (b"", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"):  # nothing, or half a request
            with _connect(app, "127.0.0.2", sent) as raw:
                started = time.monotonic()
                assert raw.recv(1024) == b""  # closed by the server, before the 5 s of the client
                assert 0.9 <= time.monotonic() - started < 4.5  # the client gives up at 5 s
        _serving(app, 0)
        assert get(app, "/_preview/status")[0] == 200


def test_connections_past_the_caps_are_answered_503_at_once_and_the_editor_is_still_served(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PreviewServer, "max_per_client", 6)
    monkeypatch.setattr(PreviewServer, "max_connections", 9)
    # the idle connections must outlive the test: on a loaded machine it took more than the
    # 10 s after which the server cuts a silent one, and the count of those served fell
    monkeypatch.setattr(PreviewServer, "idle_timeout", 120.0)
    for app in previewing(site):
        flood = [_connect(app, "127.0.0.2") for _ in range(6)]  # idle: each holds a thread
        _serving(app, 6)
        with _connect(app, "127.0.0.2") as seventh:  # one address's share is taken
            assert seventh.recv(1024).startswith(b"HTTP/1.1 503 Service Unavailable")
        started = time.monotonic()
        assert get(app, "/_preview/status")[0] == 200  # the editor, from another address
        assert time.monotonic() - started < 2  # at once: a thread held by the flood frees in 120 s
        _serving(app, 6)  # the editor's connection has given its place back (a loaded machine lags)
        flood += [_connect(app, "127.0.0.3") for _ in range(3)]
        _serving(app, 9)
        with _connect(app, "127.0.0.4") as late:  # all places are taken
            answer = late.recv(1024)
        assert answer.startswith(b"HTTP/1.1 503") and b"too many connections" in answer
        _serving(app, 9)  # no thread for the refused
        for raw in flood:
            raw.close()
        _serving(app, 0)
        assert get(app, "/_preview/status")[0] == 200


def test_resolve_inside(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    (tmp_path / "link").symlink_to("a", target_is_directory=True)
    assert resolve_inside(tmp_path, "/link/f.txt") == (tmp_path / "a" / "f.txt").resolve()
    for bad in ("/../x", "/a/%2e%2e/%2e%2e/x", "/a\\..\\x", "/a/%00"):
        with pytest.raises(Forbidden):
            resolve_inside(tmp_path, bad)


def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.SubprocessError):
        found = []
    candidates = [a for a in found if "." in a and not a.startswith("127.")]
    if not candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
                candidates = [probe.getsockname()[0]]
            except OSError:
                return None
    address = candidates[0]
    return None if address.startswith(("127.", "0.")) else address


def test_not_reachable_on_other_addresses_by_default(preview: Preview) -> None:
    assert preview.server.server_address[0] == "127.0.0.1"
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    with pytest.raises(OSError):
        socket.create_connection((address, preview.server.server_address[1]), timeout=3).close()


# -- the command --------------------------------------------------------------------


def test_port_in_use_is_one_clear_line(site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["preview", "--sources", str(site), "--port", str(port)])
    assert result.exit_code != 0
    assert f"--port {port + 1}" in result.output and "in use" in result.output
    assert "Traceback" not in result.output


def test_ctrl_c_stops_cleanly(site: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "digest.cli", "preview", "--sources", str(site), "--port", str(port)]
    # a shell's background job ignores Ctrl-C, and a child would inherit that: start it as
    # a terminal starts a command, with Ctrl-C's default
    default = partial(signal.signal, signal.SIGINT, signal.SIG_DFL)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default
    )
    try:
        assert "serving http://127.0.0.1:" in process.stdout.readline()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)  # a deadline: under load the first build may still run
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


# -- the send preview ---------------------------------------------------------------


def _send_site(root: Path) -> tuple[Path, Path]:
    """A config with a recipients file, and a published issue folder; both paths."""
    (root / "recipients.csv").write_text("email,name\nann@example.org,Ann\n", encoding="utf-8")
    data = {
        "newsletter": {"name": "Preview Digest", "sender": {"name": "Ed", "email": "ed@digest.example"}},
        "sources": [{"name": "News", "path": "feeds/news.xml"}],
        "recipients": {"csv": "recipients.csv", "unsubscribe_url": "https://digest.example/u?e={email}"},
    }
    (root / "sources.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    folder = root / "out" / str(DAY)
    folder.mkdir(parents=True)
    (folder / "issue.json").write_text('{"title": "Big news", "date": "2025-06-14", "number": 1}', "utf-8")
    (folder / "email.html").write_text('<p><a href="%%UNSUBSCRIBE_URL%%">x</a></p>', "utf-8")
    (folder / "email.txt").write_text("Unsubscribe: %%UNSUBSCRIBE_URL%%\n", "utf-8")
    return root / "sources.yaml", folder


@pytest.mark.parametrize("composer", [True, False], ids=["digest-send", "computed"])
def test_send_preview_fills_the_recipient(tmp_path: Path, composer: bool) -> None:
    sources, folder = _send_site(tmp_path)
    if not composer:  # the DKIM key cannot be read: digest send would stop, the preview still shows
        data = yaml.safe_load(sources.read_text(encoding="utf-8"))
        data["smtp"] = {"dkim_key": "missing.pem", "dkim_selector": "s1"}
        sources.write_text(yaml.safe_dump(data), encoding="utf-8")
    sent = send_preview(load_config(sources), folder, "" if composer else "ann@example.org")
    headers = dict(sent.headers)
    assert sent.recipient == "ann@example.org" and "ann@example.org" in headers["To"]
    assert headers["From"] == "Ed <ed@digest.example>" and headers["Subject"] == "Big news"
    assert headers["List-Unsubscribe"] == "<https://digest.example/u?e=ann@example.org>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == "Preview Digest <preview-digest.digest.example>"
    substitutions = dict(sent.substitutions)
    assert substitutions["%%EMAIL%%"] == "ann@example.org"
    assert substitutions["%%UNSUBSCRIBE_URL%%"] == "https://digest.example/u?e=ann@example.org"
    assert ("Message-ID" in headers) is composer
    assert composer or "smtp.dkim_key: cannot read" in sent.notes[0]


def test_send_page_is_served(preview: Preview) -> None:
    code, body = get(preview, "/_preview/send?to=bob%40example.org")
    assert code == 200 and b"bob@example.org" in body and b"List-Id" in body


def test_editing_a_local_feed_file_rebuilds_with_its_items(preview: Preview, site: Path) -> None:
    feed = site.parent / "feeds" / "news.xml"
    added = rss_item("Harbor City opens a tidal power plant", "https://news.example/tidal", body="Tidal.")
    items = [rss_item(t, f"https://news.example/{i}", body=s) for i, (t, s) in enumerate(TOPICS)]
    feed.write_bytes(rss(added, *items))
    index = site.parent / "out" / str(DAY) / "index.html"
    wait_status(
        preview, lambda s: s.state == "ok" and "tidal power plant" in index.read_text(encoding="utf-8")
    )


def test_a_notes_file_in_a_notes_folder_made_while_previewing_rebuilds(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    notes = tmp_path / "notes"
    (notes / f"{DAY}.md").unlink()
    notes.rmdir()  # as in a new newsletter: no notes/ yet when the preview starts
    index = tmp_path / "out" / str(DAY) / "index.html"
    with Preview(site, tmp_path / "out", DAY, port=0) as preview:
        assert preview.wait_ready(30), f"preview not ready: {preview.rebuilder.status}"
        before = preview.rebuilder.status.build
        notes.mkdir()
        wait_status(preview, lambda s: s.build > before)  # the new folder is watched from now on
        (notes / f"{DAY}.md").write_text("## What we think\nNotes written later.\n", encoding="utf-8")
        wait_status(
            preview, lambda s: s.state == "ok" and "Notes written later" in index.read_text(encoding="utf-8")
        )
