"""The whole pipeline, end to end, through the CLI: the demo newsletter and exit codes."""

from __future__ import annotations

import email
import email.policy
import html
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import rss, rss_item

from digest.cli import main
from digest.config import load_config
from digest.models import Story
from digest.retention import DRY_RUN_DAYS
from digest.store import Store

DEMO = Path(__file__).parent.parent / "examples" / "demo"
DEMO_DATE = "2025-06-14"
LEAD_TITLE = "Meta to spend billions on data deal"
TUE, FRI = "Tue, 10 Jun 2025 08:00:00 GMT", "Fri, 13 Jun 2025 08:00:00 GMT"


def at(hour: int) -> str:
    """An RFC 822 time on the demo date."""
    return f"Sat, 14 Jun 2025 {hour:02d}:00:00 GMT"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A private copy of the demo newsletter (its state and out/ stay in tmp_path)."""
    copy = tmp_path / "demo"
    shutil.copytree(DEMO, copy, ignore=shutil.ignore_patterns("out", ".digest"))
    return copy


def build(sources: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["build", "--sources", str(sources), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def demo_issue(demo: Path) -> Path:
    code, out, err = build(demo / "sources.yaml", "--date", DEMO_DATE)
    assert code == 0, err
    return demo / "out" / DEMO_DATE


def test_demo_builds_every_file(demo_issue: Path) -> None:
    for name in ("index.html", "issue.txt", "issue.json", "report.html", "dedup.json"):
        assert (demo_issue / name).stat().st_size > 0, name
    html = (demo_issue / "index.html").read_text(encoding="utf-8")
    assert "<mj-" not in html and "</mj" not in html
    assert LEAD_TITLE in html
    assert "<script" not in html.lower() and "onerror" not in html.lower()
    assert "javascript:" not in html.lower()


def test_issue_json_follows_the_contract(demo_issue: Path) -> None:
    issue = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    assert issue["newsletter"]["name"] == "Future Blueprint"
    assert issue["number"] == 1 and issue["date"] == DEMO_DATE and issue["title"] == LEAD_TITLE
    story_keys = {"id", "title", "url", "source", "summary", "takeaways", "emoji", "published", "items"}
    for section in issue["sections"]:
        assert {"id", "title", "stories"} <= section.keys()
        for story in section["stories"]:
            assert story_keys <= story.keys()
            assert story["items"][0]["url"] == story["url"]
            for item in story["items"]:
                assert {"url", "title", "source", "published"} <= item.keys()
    stats = issue["stats"]
    assert stats["feeds_failed"] == [] and stats["feeds_ok"] >= 8
    assert stats["stories"] == sum(len(s["stories"]) for s in issue["sections"])


def test_five_takes_become_one_lead_story(demo_issue: Path) -> None:
    issue = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    stories = [s for section in issue["sections"] for s in section["stories"]]
    lead = next(s for s in stories if s["title"] == LEAD_TITLE)
    assert len(lead["items"]) == 5
    assert len({i["source"] for i in lead["items"]}) == 5
    assert 3 <= len(lead["takeaways"]) <= 5
    # Nothing else merged: every other story is a single take, and no take is lost.
    others = [s for s in stories if s is not lead and s["id"] != lead["id"]]
    assert all(len(s["items"]) == 1 for s in others), [s["title"] for s in others if len(s["items"]) > 1]
    titles = {s["title"] for s in others}
    assert "UK Pushes AI Skills for Students, Stat" in titles
    assert any("Nvidia" in t and "UK" in t for t in titles)
    text = (demo_issue / "issue.txt").read_text(encoding="utf-8")
    assert LEAD_TITLE in text and "Also covered by" in text


def test_the_editor_keeps_a_take_apart_and_joins_two_stories_in_the_notes(
    demo: Path, demo_issue: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    found = json.loads((demo_issue / "dedup.json").read_text(encoding="utf-8"))["totals"]["stories"]
    lead = next(s for section in before["sections"] for s in section["stories"] if s["title"] == LEAD_TITLE)
    apart = lead["items"][-1]
    one, other = [s["url"] for section in before["sections"] for s in section["stories"] if s is not lead][:2]
    # the link as an editor may paste it: with a tracking parameter; and one with a typo
    issue = rebuilt_with_notes(
        demo,
        f"\n## Keep apart\n- [{apart['title']}]({apart['url']}?utm_source=share)\n- https://nowhere.example/typo\n"
        f"\n## Same story\n- {one} and {other}\n",
        caplog,
    )
    stories = [s for section in issue["sections"] for s in section["stories"]]
    lead = next(s for s in stories if s["title"] == LEAD_TITLE)
    assert len(lead["items"]) == 4 and apart["url"] not in [i["url"] for i in lead["items"]]
    assert [[i["url"] for i in s["items"]] for s in stories if s["url"] == apart["url"]] == [[apart["url"]]]
    [joined] = [s for s in stories if one in {i["url"] for i in s["items"]}]
    assert {i["url"] for i in joined["items"]} == {one, other}
    [warning] = [r.getMessage() for r in caplog.records if "Keep apart" in r.getMessage()]
    assert "https://nowhere.example/typo" in warning and "no item of the day" in warning
    html = (demo_issue / "index.html").read_text(encoding="utf-8")
    text = (demo_issue / "issue.txt").read_text(encoding="utf-8")
    for shown in (html, text):
        assert "Keep apart" not in shown and "Same story" not in shown and "nowhere.example" not in shown
    dedup = json.loads((demo_issue / "dedup.json").read_text(encoding="utf-8"))
    assert [[i["url"] for i in group] for group in dedup["kept_apart"]] == [[apart["url"]]]
    assert dedup["unknown_links"] == ["https://nowhere.example/typo"]
    # one story more (the take kept apart), one fewer (the two joined)
    assert dedup["totals"]["links"]["editor"] == 1 and dedup["totals"]["stories"] == found
    report_page = (demo_issue / "report.html").read_text(encoding="utf-8")
    assert "Kept apart by the editor" in report_page
    assert "<li><code>https://nowhere.example/typo</code></li>" in report_page
    assert report_page.count("Same story, in the notes") == 1
    assert "<code>## Same story</code> (a link of each" in report_page


def test_the_editor_picks_the_lead_and_leaves_a_story_out_in_the_notes(
    demo: Path, demo_issue: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    others = [s for section in before["sections"] for s in section["stories"] if s["title"] != LEAD_TITLE]
    chosen, dropped = others[-1], others[0]
    issue = rebuilt_with_notes(
        demo, f"\n### Lead story\n{chosen['items'][-1]['url']}\n\n## Leave out\n- {dropped['url']}\n", caplog
    )
    assert issue["title"] == chosen["title"]
    lead = next(section for section in issue["sections"] if section["stories"][0]["id"] == chosen["id"])
    assert len(lead["stories"]) == 1
    shown = [s["id"] for section in issue["sections"] for s in section["stories"]]
    assert dropped["id"] not in shown and shown.count(chosen["id"]) == 1
    assert any(s["title"] == LEAD_TITLE for section in issue["sections"] for s in section["stories"])
    assert issue["stats"]["stories_left_out_in_notes"] == 1
    assert any("1 left out in the notes" in r.getMessage() for r in caplog.records)
    html = (demo_issue / "index.html").read_text(encoding="utf-8")
    assert "Leave out" not in html and "Lead story" not in html and dropped["title"] not in html
    assert "What we think" in html  # the editor's notes go under the lead they chose


def rebuilt_with_notes(demo: Path, more: str, caplog: pytest.LogCaptureFixture) -> dict:
    """The demo issue's issue.json once ``more`` is added to its notes and it is built
    again, with what the build logged in ``caplog``."""
    notes = demo / "notes" / f"{DEMO_DATE}.md"
    notes.write_text(notes.read_text(encoding="utf-8") + more, encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="digest.build"):
        code, _, err = build(demo / "sources.yaml", "--date", DEMO_DATE)
    assert code == 0, err
    return json.loads((demo / "out" / DEMO_DATE / "issue.json").read_text(encoding="utf-8"))


def next_day_item(demo: Path, url: str, title: str, description: str, guid: str = "") -> None:
    """Put an article of the 15th first in the demo's Circuit Daily feed (its GUID: ``guid``, or its link)."""
    feed = demo / "feeds" / "circuit-daily.xml"
    new = f"""<item>
      <title>{title}</title>
      <link>{url}</link>
      <guid isPermaLink="false">{guid or url}</guid>
      <pubDate>Sun, 15 Jun 2025 06:00:00 GMT</pubDate>
      <description>{description}</description>
    </item>
    <item>"""
    feed.write_text(feed.read_text(encoding="utf-8").replace("<item>", new, 1), encoding="utf-8")


def test_a_take_kept_apart_is_not_left_out_as_a_repeat_of_what_it_looked_like(
    demo: Path, demo_issue: Path
) -> None:
    # the next day a new article that dedup takes for a retelling of the 14th's lead
    url = "https://circuitdaily.example/news/scale-ai-ceo-wang-joins-meta"
    next_day_item(
        demo,
        url,
        "Scale AI CEO Alexandr Wang to join Meta after $14 billion investment closes",
        "Meta finalized its investment of more than $10 billion in Scale AI, the startup providing "
        "labeled data to companies building AI models; Scale CEO Alexandr Wang will join Meta to "
        "lead a new superintelligence lab.",
    )

    code, _, err = build(demo / "sources.yaml", "--date", "2025-06-15")
    assert code == 3 and "none new" in err  # the new take was left out as "already published"
    assert "within 2 days (try --date, or curate.lookback_days)" in err  # by hand, what to try
    (demo / "notes" / "2025-06-15.md").write_text(f"## Keep apart\n- {url}\n", encoding="utf-8")
    code, _, err = build(demo / "sources.yaml", "--date", "2025-06-15")
    assert code == 0, err
    issue = json.loads((demo / "out" / "2025-06-15" / "issue.json").read_text(encoding="utf-8"))
    # the take kept apart is shown; what the 14th published stays left out
    stories = [s for section in issue["sections"] for s in section["stories"]]
    assert [[i["url"] for i in s["items"]] for s in stories] == [[url]]


def test_a_take_kept_apart_is_not_told_before_by_another_feed_s_guid(demo: Path, demo_issue: Path) -> None:
    # the new take's GUID is the id that AI Tools Insider gave its take of the 14th's lead
    url = "https://circuitdaily.example/news/scale-ai-ceo-wang-joins-meta"
    next_day_item(
        demo,
        url,
        "Scale AI CEO Alexandr Wang to join Meta after $14 billion investment closes",
        "Meta finalized its investment of more than $10 billion in Scale AI; Scale CEO Alexandr Wang "
        "will join Meta to lead a new superintelligence lab.",
        guid="ati-news-2025-06-13-meta-scale-ai",
    )
    (demo / "notes" / "2025-06-15.md").write_text(f"## Keep apart\n- {url}\n", encoding="utf-8")
    issue = built_issue(demo / "sources.yaml", "2025-06-15")
    stories = [s for section in issue["sections"] for s in section["stories"]]
    assert [[i["url"] for i in s["items"]] for s in stories] == [[url]]


def test_a_story_kept_for_a_new_take_leads_with_it_not_with_what_was_published(
    demo: Path, demo_issue: Path
) -> None:
    # the next day a follow-up that the editor joins to the 14th's lead, whose takes are
    # all still in their feeds: the story is shown for its new take, which goes in front
    url = "https://circuitdaily.example/news/meta-lab-hires-three-researchers"
    next_day_item(
        demo,
        url,
        "Meta's new lab hires three researchers from rival labs",
        "The superintelligence team forming around the Scale AI deal made its first hires, three "
        "researchers from rival labs.",
    )
    published = "https://futureblueprint.example/p/meta-to-spend-billions-on-data-deal"
    (demo / "notes" / "2025-06-15.md").write_text(f"## Same story\n- {url} {published}\n", encoding="utf-8")

    code, _, err = build(demo / "sources.yaml", "--date", "2025-06-15")
    assert code == 0, err
    issue = json.loads((demo / "out" / "2025-06-15" / "issue.json").read_text(encoding="utf-8"))
    [story] = [s for section in issue["sections"] for s in section["stories"]]
    assert (story["url"], story["title"]) == (url, "Meta's new lab hires three researchers from rival labs")
    assert [i["url"] for i in story["items"]][0] == url and published in [i["url"] for i in story["items"]]
    assert len(story["items"]) == 6  # the 14th's five takes follow, as "also covered by"


def test_rebuilding_the_same_date_is_idempotent(demo: Path, demo_issue: Path) -> None:
    first = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    code, _, err = build(demo / "sources.yaml", "--date", DEMO_DATE)
    assert code == 0, err
    second = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    assert second["number"] == first["number"]
    assert [s["stories"] for s in second["sections"]] == [s["stories"] for s in first["sections"]]


def test_a_rebuild_of_a_recent_day_is_the_same_after_old_issues_are_forgotten(
    demo: Path, demo_issue: Path
) -> None:
    first = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    config = load_config(demo / "sources.yaml")
    with Store(config.resolve(config.state)) as store:  # an issue of a year and a half before
        old = store.issue_number("2024-01-02", "2024-01-02")
        taken = store.published_before("2025-06-15", "2025-06-01")[0]
        store.record_issue(old, "Long ago", [Story("s-old", [taken])])
    code, _, err = build(demo / "sources.yaml", "--date", DEMO_DATE)
    assert code == 0, err
    second = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    assert second["number"] == first["number"]
    assert [s["stories"] for s in second["sections"]] == [s["stories"] for s in first["sections"]]
    with sqlite3.connect(config.resolve(config.state)) as db:
        by_issue = dict(db.execute("SELECT issue, COUNT(*) FROM published GROUP BY issue"))
    assert by_issue == {
        first["number"]: sum(len(s["items"]) for sec in first["sections"] for s in sec["stories"])
    }
    # the memory of the day is whole: the next day has nothing new
    assert build(demo / "sources.yaml", "--date", "2025-06-15")[0] == 3


def test_old_dry_runs_are_removed_and_recent_ones_kept(demo: Path, demo_issue: Path) -> None:
    dry_runs = demo / ".digest" / "dry-run"
    old, recent = dry_runs / "2025-05-01", dry_runs / DEMO_DATE
    for folder in (old, recent):
        folder.mkdir(parents=True)
        (folder / "00001-ann@example.com.eml").write_bytes(b"Subject: x\r\n\r\nx")
    weeks_ago = time.time() - (DRY_RUN_DAYS + 1) * 86400
    os.utime(old, (weeks_ago, weeks_ago))
    assert build(demo / "sources.yaml", "--date", DEMO_DATE)[0] == 0
    assert [p.name for p in dry_runs.iterdir()] == [DEMO_DATE]


def test_next_issue_does_not_repeat_published_stories(demo: Path, demo_issue: Path) -> None:
    code, _, err = build(demo / "sources.yaml", "--date", "2025-06-15")
    # Every demo story went out on the 14th: nothing new for the 15th.
    assert code == 3
    assert "no stories" in err and "Traceback" not in err
    # A day with nothing to send takes no issue number.
    with Store(demo / ".digest" / "state.sqlite") as store:
        assert store.next_issue_number("2025-06-16") == 2


def test_archive_and_feed_list_the_issue(demo_issue: Path) -> None:
    out = demo_issue.parent
    assert LEAD_TITLE in (out / "index.html").read_text(encoding="utf-8")
    feed = ET.parse(out / "feed.xml").getroot()
    titles = [
        e.findtext("{http://www.w3.org/2005/Atom}title")
        for e in feed.iter("{http://www.w3.org/2005/Atom}entry")
    ]
    assert titles == [LEAD_TITLE]
    assert (out / "latest").resolve() == demo_issue.resolve()


def test_a_config_mistake_is_one_line_with_exit_2(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "newsletter:\n  name: X\n"
        "sources:\n  - name: A\n    url: https://a.example/feed\n    max_items: lots\n"
    )
    code, out, err = build(sources)
    assert code == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "sources.yaml:6" in err and "sources[0].max_items" in err and "integer" in err


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    code, _, err = build(tmp_path / "nope.yaml")
    assert code == 2 and "no such file" in err


def test_broken_feeds_are_reported_and_the_issue_still_built(demo: Path) -> None:
    sources = demo / "sources.yaml"
    (demo / "feeds" / "garbage.xml").write_bytes(b"\x00\xff this is not a feed <html>")
    config = yaml.safe_load(sources.read_text(encoding="utf-8"))
    config["sources"] += [
        {"name": "Garbage", "path": "feeds/garbage.xml"},
        {"name": "Missing", "path": "feeds/does-not-exist.xml"},
    ]
    sources.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    code, out, err = build(sources, "--date", DEMO_DATE)
    assert code == 0, err
    issue = json.loads((demo / "out" / DEMO_DATE / "issue.json").read_text(encoding="utf-8"))
    failed = {f["source"]: f["error"] for f in issue["stats"]["feeds_failed"]}
    assert set(failed) == {"Garbage", "Missing"}
    assert "not a readable" in failed["Garbage"] and "cannot read" in failed["Missing"]
    assert LEAD_TITLE in (demo / "out" / DEMO_DATE / "index.html").read_text(encoding="utf-8")


def test_nothing_to_build_exits_3(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("newsletter:\n  name: X\nsources:\n  - name: A\n    path: missing.xml\n")
    code, _, err = build(sources)
    assert code == 3 and "nothing to build: no source returned any item (see the errors above)" in err
    (tmp_path / "missing.xml").write_bytes(rss())  # there now, but with nothing in it
    code, _, err = build(sources)
    assert code == 3 and "(every feed is empty or filtered out)" in err and "errors above" not in err


def test_the_subject_line_follows_the_config_into_the_message(demo: Path, monkeypatch) -> None:
    sources = demo / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    sources.write_text(
        text.replace("newsletter:\n", 'newsletter:\n  subject: "{name} #{number} · {title} 🚀"\n', 1),
        encoding="utf-8",
    )
    code, _, err = build(sources, "--date", DEMO_DATE)
    assert code == 0, err
    issue = json.loads((demo / "out" / DEMO_DATE / "issue.json").read_text(encoding="utf-8"))
    assert issue["subject"] == f"Future Blueprint #1 · {LEAD_TITLE} 🚀"
    monkeypatch.setenv("DIGEST_UNSUBSCRIBE_SECRET", "a-secret-of-sixteen-chars")
    result = CliRunner().invoke(main, ["send", "--sources", str(sources), "--dry-run", DEMO_DATE])
    assert result.exit_code == 0, result.output
    first = sorted((demo / ".digest" / "dry-run" / DEMO_DATE).glob("*.eml"))[0]
    message = email.message_from_bytes(first.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == issue["subject"]
    assert "=?utf-8?" in first.read_text(encoding="ascii")  # RFC 2047, not raw UTF-8 in a header


def digest_process(sources: Path, *args: str) -> subprocess.Popen[str]:
    """``digest build`` as a process of its own, as cron or a second terminal would run it."""
    command = [sys.executable, "-m", "digest.cli", "-q", "build", "--sources", str(sources), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def published_numbers(demo: Path) -> dict[str, int]:
    """Each issue folder's number, by date, checked against the state's."""
    numbers = {}
    with Store(demo / ".digest" / "state.sqlite") as store:
        for path in sorted((demo / "out").glob("*/issue.json")):
            issue = json.loads(path.read_text(encoding="utf-8"))
            assert store.next_issue_number(issue["date"]) == issue["number"], path  # one number in both
            numbers[issue["date"]] = issue["number"]
    return numbers


DATES = ("2025-06-12", "2025-06-13", "2025-06-14")


def test_builds_at_once_publish_one_after_another(demo: Path) -> None:
    builds = [digest_process(demo / "sources.yaml", "--date", day) for day in (*DATES, DATES[-1], DATES[-1])]
    for process in builds:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    numbers = published_numbers(demo)
    assert sorted(numbers) == list(DATES) and sorted(numbers.values()) == [1, 2, 3]  # none twice
    out = demo / "out"
    assert (out / "latest").resolve() == (out / DATES[-1]).resolve()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary left behind
    archive = (out / "index.html").read_text(encoding="utf-8")
    assert all(day in archive for day in DATES)


# ``digest build`` that dies as SIGKILL would (no cleanup) at its Nth write or rename
DIES_AT = """
import os, pathlib, sys
from digest.cli import main
calls = 0
def dying(real):
    def call(*args, **kwargs):
        global calls
        calls += 1
        if calls == int(os.environ["DIE_AT"]):
            os._exit(137)
        return real(*args, **kwargs)
    return call
pathlib.Path.write_text = dying(pathlib.Path.write_text)
pathlib.Path.rename = dying(pathlib.Path.rename)
os.replace = dying(os.replace)
sys.exit(main(sys.argv[1:]))
"""


def test_a_build_killed_at_any_write_leaves_a_whole_folder_or_none(demo: Path) -> None:
    sources = demo / "sources.yaml"
    for day in DATES[:2]:
        assert build(sources, "--date", day)[0] == 0
    before = published_numbers(demo)
    for point in range(1, 17):
        command = [
            sys.executable,
            "-c",
            DIES_AT,
            "-q",
            "build",
            "--sources",
            str(sources),
            "--date",
            DATES[-1],
        ]
        subprocess.run(command, env={**os.environ, "DIE_AT": str(point)}, capture_output=True, timeout=120)
        folder = demo / "out" / DATES[-1]
        if folder.exists():  # whole: every file, and the number the state gave it
            assert {p.name for p in folder.iterdir()} >= {
                "email.html",
                "email.txt",
                "issue.json",
                "index.html",
            }
        numbers = published_numbers(demo)
        assert {d: n for d, n in numbers.items() if d in before} == before, point
        latest = demo / "out" / "latest"
        assert (latest / "issue.json").is_file(), point  # never missing, never dangling
    code, _, err = build(sources, "--date", DATES[-1])
    assert code == 0, err
    assert published_numbers(demo) == {**before, DATES[-1]: 3}
    assert not [p.name for p in (demo / "out").iterdir() if p.name.startswith(".")]


def test_the_web_version_fills_no_readers_details(demo: Path) -> None:
    sources = demo / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    sources.write_text(
        text.replace('greeting: "Hi AI Futurists,"', 'greeting: "Hi %%NAME%% (%%PLAN|reader%%),"'), "utf-8"
    )
    assert build(sources, "--date", DEMO_DATE)[0] == 0
    folder = demo / "out" / DEMO_DATE
    assert "Hi %%NAME%% (%%PLAN|reader%%)," in (folder / "email.html").read_text(
        encoding="utf-8"
    )  # send fills these
    for name in ("index.html", "issue.txt"):
        public = (folder / name).read_text(encoding="utf-8")
        assert "Hi  (reader)," in public and "%%" not in public, name  # or the field's fallback
        # the demo's unsubscribe page is made per reader (?u={email}&t={token}): the public gets the archive
        assert "{email}" not in public and "{token}" not in public, name
        assert "https://futureblueprint.example/archive" in public, name


def test_the_build_line_says_how_many_merges_to_check(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = build(demo / "sources.yaml", "--date", DEMO_DATE)
    assert code == 0, err
    assert out.strip().endswith(f"-> {demo / 'out' / DEMO_DATE}")  # the lead's joins are sure: none to check
    from digest.dedup import api

    monkeypatch.setattr(api, "CHECK_BELOW", 1.01)  # every join in doubt: the lead's story is to check
    code, out, err = build(demo / "sources.yaml", "--date", DEMO_DATE)
    assert code == 0, err
    assert out.strip().endswith(f"-> {demo / 'out' / DEMO_DATE}, 1 merged story to check in report.html")
    # a merged story the issue leaves out needs no check, though the report lists it
    dedup = json.loads((demo / "out" / DEMO_DATE / "dedup.json").read_text(encoding="utf-8"))
    [merged] = dedup["stories"]
    notes = demo / "notes" / f"{DEMO_DATE}.md"
    notes.write_text(
        notes.read_text(encoding="utf-8") + f"\n## Leave out\n- {merged['items'][0]['url']}\n", "utf-8"
    )
    code, out, err = build(demo / "sources.yaml", "--date", DEMO_DATE)
    assert code == 0, err
    assert out.strip().endswith(f"-> {demo / 'out' / DEMO_DATE}")
    reported = json.loads((demo / "out" / DEMO_DATE / "dedup.json").read_text(encoding="utf-8"))["stories"]
    assert [s["id"] for s in reported if s["check"]] == [merged["id"]]


def test_the_report_counts_the_items(demo_issue: Path) -> None:
    issue = json.loads((demo_issue / "issue.json").read_text(encoding="utf-8"))
    report = (demo_issue / "report.html").read_text(encoding="utf-8")
    assert f"{issue['stats']['items']} items → {issue['stats']['stories']} stories" in report


def newsletter(folder: Path, feeds: dict[str, list[str]], **config: object) -> Path:
    """A newsletter in ``folder``: one local feed per name (its ``<item>``s), and config."""
    (folder / "feeds").mkdir(exist_ok=True)
    for name, items in feeds.items():
        (folder / "feeds" / f"{name}.xml").write_bytes(rss(*items, title=name))
    data = {"newsletter": {"name": "Test Digest"}, **config}
    data.setdefault("sources", [{"name": name, "path": f"feeds/{name}.xml"} for name in feeds])
    sources = folder / "sources.yaml"
    sources.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return sources


def built_issue(sources: Path, day: str = DEMO_DATE) -> dict:
    code, _, err = build(sources, "--date", day)
    assert code == 0, err
    return json.loads((sources.parent / "out" / day / "issue.json").read_text(encoding="utf-8"))


def test_two_sources_of_one_article_give_one_story_with_the_better_take_in_front(tmp_path: Path) -> None:
    article = "https://orig.example/openai-gpt6"
    feeds = {
        "Aggregator": [rss_item("OpenAI releases GPT-6 language model", f"{article}?utm_source=agg")],
        "Original": [
            rss_item(
                "OpenAI releases GPT-6, a model that plans multi-step tasks",
                article,
                "Sat, 14 Jun 2025 07:00:00 GMT",
                "OpenAI released GPT-6, which it says can plan multi-step tasks.",
            )
        ],
    }
    sources = [
        {"name": "Aggregator", "path": "feeds/Aggregator.xml", "weight": 0.5},  # listed first
        {"name": "Original", "path": "feeds/Original.xml", "weight": 2.0},
    ]
    issue = built_issue(newsletter(tmp_path, feeds, sources=sources))
    [story] = [s for section in issue["sections"] for s in section["stories"]]
    assert story["source"] == "Original" and story["summary"].startswith("OpenAI released GPT-6")
    takes = [(i["source"], i["url"]) for i in story["items"]]
    assert takes == [("Original", article), ("Aggregator", article)]
    assert len({i["id"] for i in story["items"]}) == 2
    assert issue["stats"]["items"] == 2 and issue["title"] == story["title"]


def test_a_forum_s_post_of_the_front_take_s_article_links_its_thread_in_the_built_issue(
    tmp_path: Path,
) -> None:
    article, thread = "https://openai.example/gpt-6", "https://forum.example/item?id=4711"
    said = "OpenAI released GPT-6, which it says can plan multi-step tasks."
    post = rss_item("GPT-6 (openai.example)", article).replace(
        "</item>", f"<comments>{thread}</comments></item>"
    )
    feeds = {
        "OpenAI": [rss_item("Introducing GPT-6", article, "Sat, 14 Jun 2025 07:00:00 GMT", said)],
        "Forum": [post],
    }
    sources = newsletter(tmp_path, feeds)
    [story] = [s for section in built_issue(sources)["sections"] for s in section["stories"]]
    assert [(i["source"], i["url"]) for i in story["items"]] == [("OpenAI", article), ("Forum", article)]
    folder = tmp_path / "out" / DEMO_DATE
    html, text = ((folder / name).read_text(encoding="utf-8") for name in ("index.html", "issue.txt"))
    assert f'href="{thread}"' in html.replace("&amp;", "&") and f"] {thread}" in text


def test_the_build_asks_about_two_stories_that_may_be_one_event_and_the_notes_join_them(
    tmp_path: Path,
) -> None:
    news, analysis = "https://wire.example/nvidia-arm", "https://wire.example/nvidia-arm-analysis"
    feeds = {
        "Wire": [  # one outlet's two takes of one deal never join by themselves
            rss_item(
                "Nvidia agrees to buy Arm from SoftBank for $40 billion",
                news,
                body="Nvidia said on Sunday it would buy the British chip designer Arm from SoftBank in a "
                "cash and stock deal worth $40 billion, the largest chip deal ever.",
            ),
            rss_item(
                "What Nvidia's $40 billion Arm deal means for chipmakers",
                analysis,
                "Sat, 14 Jun 2025 09:00:00 GMT",
                "Nvidia's purchase of Arm from SoftBank for $40 billion puts the designer of most phone "
                "chips under one of its biggest customers' rivals.",
            ),
        ],
        "Daily": [rss_item("Tesla recalls 2 million cars over Autopilot", "https://daily.example/recall")],
    }
    sources = newsletter(tmp_path, feeds)
    folder = tmp_path / "out" / DEMO_DATE
    code, out, err = build(sources, "--date", DEMO_DATE)
    assert code == 0, err
    asked = ", 1 pair of stories that may be one event to check in report.html"
    assert out.strip().endswith(f"-> {folder}{asked}")
    [near] = json.loads((folder / "dedup.json").read_text(encoding="utf-8"))["near_misses"]
    assert {near["a"]["url"], near["b"]["url"]} == {news, analysis}
    line = f"- <{near['a']['url']}> <{near['b']['url']}>"
    assert f"<code>{html.escape(line)}</code>" in (folder / "report.html").read_text(encoding="utf-8")
    # the editor pastes the line under "Same story": one story, nothing left to ask
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / f"{DEMO_DATE}.md").write_text(f"## Same story\n{line}\n", "utf-8")
    code, out, err = build(sources, "--date", DEMO_DATE)
    assert code == 0, err
    assert out.strip().endswith(f"-> {folder}")
    issue = json.loads((folder / "issue.json").read_text(encoding="utf-8"))
    stories = [s for section in issue["sections"] for s in section["stories"]]
    assert sorted(len(s["items"]) for s in stories) == [1, 2]
    assert json.loads((folder / "dedup.json").read_text(encoding="utf-8"))["near_misses"] == []


def test_each_day_s_post_of_a_series_is_new_though_it_reads_like_the_last(tmp_path: Path) -> None:
    # three feeds whose daily posts differ from the day before's in their numbers
    topics = ["reasoning with small models", "agents that browse the web", "video diffusion at scale"]
    guests = ["Hamel Husain on evals", "Chip Huyen on machine learning systems", "Simon Willison on tools"]
    posts: dict[str, list[str]] = {"Papers": [], "Acme": [], "Podcast": []}
    for n, day in enumerate(("Fri, 13", "Sat, 14", "Sun, 15")):
        date, when = f"2025-06-{13 + n}", f"{day} Jun 2025 06:00:00 GMT"
        papers = f"Today's top trending papers: {topics[n]}, plus eleven more from the community."
        release = f"Acme Tool v1.{n + 2}.0 released. Highlights: {topics[n - 1]} support, {17 + n} bug fixes."
        today = {
            "Papers": rss_item(f"Daily Papers {date}", f"https://papers.example/{date}", when, papers),
            "Acme": rss_item(f"Acme Tool v1.{n + 2}.0", f"https://acme.example/v1.{n + 2}.0", when, release),
            "Podcast": rss_item(
                f"Practical AI podcast episode {120 + n}", f"https://pod.example/{120 + n}", when, guests[n]
            ),
        }
        for name, item in today.items():
            posts[name].insert(0, item)  # the feed keeps the days before
        issue = built_issue(newsletter(tmp_path, posts), date)
        titles = {s["title"] for section in issue["sections"] for s in section["stories"]}
        assert titles == {
            f"Daily Papers {date}",
            f"Acme Tool v1.{n + 2}.0",
            f"Practical AI podcast episode {120 + n}",
        }


def test_two_texts_of_a_feed_cannot_spell_a_readers_field_around_the_issues_markup(tmp_path: Path) -> None:
    # a headline ending "%%PLAN|" and a summary opening on "%%" are one field with a
    # fallback in the email ("%%PLAN|</a><br>%%"): send would refuse the issue for a
    # column no file has, or put a reader's plan in place of the markup between them
    from digest.recipients import Recipient
    from digest.render import PLACEHOLDER
    from digest.send import load_issue
    from digest.send.message import check_fields

    lead = rss_item(
        "Mistral launches Magistral, its first reasoning model",
        "https://b.example/magistral",
        at(9),
        "Mistral released Magistral, a family of reasoning models.",
    )
    chips = rss_item(
        "Chip prices fall 20%%PLAN|", "https://a.example/chips", at(8), "%% of the market runs open models."
    )
    sections = [{"id": "lead", "title": "Lead", "style": "lead"}, {"id": "news", "title": "News"}]
    sources = newsletter(tmp_path, {"Beat": [lead, chips]}, sections=sections)
    built_issue(sources)
    issue = load_issue(tmp_path / "out" / DEMO_DATE)
    fields = {m.group(1) for body in (issue.html, issue.text) for m in PLACEHOLDER.finditer(body)}
    assert fields == {"UNSUBSCRIBE_URL", "MANAGE_URL"}
    check_fields(issue, [Recipient("ada@example.com")])  # what send checks first
    assert "20%\u2060%PLAN|" in issue.html  # the headline still reads the same


def test_stories_left_out_are_counted_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    published = rss_item("Volcano erupts in Iceland, flights grounded", "https://w.example/volcano", FRI)
    sources = newsletter(
        tmp_path, {"Wire": [published]}, sections=[{"id": "top-news", "title": "Top", "max_stories": 2}]
    )
    built_issue(sources, "2025-06-13")
    today = [
        rss_item("Chess champion wins title in record time", "https://w.example/chess", at(11)),
        rss_item("Bakery chain opens a hundred stores in Texas", "https://w.example/bakery", at(10)),
        rss_item("Orchestra tours Japan with a new symphony", "https://w.example/orchestra", at(9)),
        rss_item("Railway strike halts trains across Germany", "https://w.example/strike", at(8)),
        rss_item("Gardening tips for a dry spring", "https://w.example/garden", TUE),
    ]
    (tmp_path / "feeds" / "Wire.xml").write_bytes(rss(published, *today, title="Wire"))
    with caplog.at_level(logging.INFO, logger="digest.build"):
        issue = built_issue(sources)
    titles = {s["title"] for section in issue["sections"] for s in section["stories"]}
    # the lead and two list stories; the railway strike, the oldest of today's four, is over the cap
    assert titles == {
        "Chess champion wins title in record time",
        "Bakery chain opens a hundred stores in Texas",
        "Orchestra tours Japan with a new symphony",
    }
    stats = issue["stats"]
    left_out = [stats[f"stories_{why}"] for why in ("published_before", "too_old", "too_new", "over_cap")]
    assert stats["stories"] == 3 and left_out == [1, 1, 0, 1]
    dedup = json.loads((sources.parent / "out" / DEMO_DATE / "dedup.json").read_text(encoding="utf-8"))
    assert dedup["totals"]["stories"] == 6  # every story found is in the issue or counted out
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("left out")]
    assert line == (
        "left out 3 of 6 stories: 1 already published in an earlier issue, "
        "1 older than the lookback, 1 over a section's max_stories"
    )


def test_stories_over_the_cap_are_named_for_the_editor_most_covered_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # "106 over a section's max_stories" named none of them: a launch six outlets covered
    # could be among them, and nothing in the build told the editor
    singles = [
        rss_item(title, f"https://w.example/{k}", at(11))
        for k, title in enumerate(
            ["Chess champion wins title", "Bakery chain opens stores", "Orchestra tours Japan"]
        )
    ]
    feeds: dict[str, list[str]] = {"Wire": singles}
    for outlet, title in [
        ("A", "Railway strike halts trains across Germany"),
        ("B", "Train strike stops German rail"),
    ]:
        feeds[outlet] = [rss_item(title, f"https://{outlet.lower()}.example/strike", at(6))]
    sections = [{"id": "top-news", "title": "Top", "max_stories": 1}]
    weights = {"Wire": 4.0}  # its one takes outrank a story two lighter outlets covered
    sources = newsletter(
        tmp_path,
        feeds,
        sections=sections,
        sources=[
            {"name": name, "path": f"feeds/{name}.xml", "weight": weights.get(name, 1.0)} for name in feeds
        ],
    )
    with caplog.at_level(logging.INFO, logger="digest.build"):
        built_issue(sources)
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("over the cap")]
    assert "German" in line and "(2 outlets)" in line and "(all in report.html)" in line
    report = (sources.parent / "out" / DEMO_DATE / "report.html").read_text(encoding="utf-8")
    cut = report[report.index('<h2 id="over-cap">') :]
    assert cut.startswith('<h2 id="over-cap">Left out for a section\'s cap (2)</h2>')
    assert cut.count("<li>") == 2 and ", 2 outlets" in cut


def test_a_source_routed_to_the_lead_section_gives_the_lead(tmp_path: Path) -> None:
    feeds = {
        "News": [rss_item("Robots take over Tokyo factories at night", "https://n.example/1", FRI)],
        "Social": [rss_item("A post about a sunny afternoon in the park", "https://s.example/1", at(9))],
    }
    sections = [
        {"id": "featured", "title": "Featured", "style": "lead"},
        {"id": "top", "title": "Top", "style": "list"},
    ]
    sources = [
        {"name": "News", "path": "feeds/News.xml", "section": "featured"},
        {"name": "Social", "path": "feeds/Social.xml", "section": "top"},
    ]
    issue = built_issue(newsletter(tmp_path, feeds, sections=sections, sources=sources))
    assert issue["title"] == "Robots take over Tokyo factories at night"
    shown = [(s["id"], [story["source"] for story in s["stories"]]) for s in issue["sections"]]
    assert shown == [("featured", ["News"]), ("top", ["Social"])]


def test_the_feed_keeps_the_newest_fifty_issues_and_the_archive_all(tmp_path: Path) -> None:
    from digest.config import load_config
    from digest.publish import FEED_ISSUES, refresh_archive

    sources = tmp_path / "sources.yaml"
    sources.write_text("newsletter:\n  name: Yearly\nsources:\n  - name: A\n    url: https://a.example/f\n")
    out = tmp_path / "out"
    for day in range(1, 61):  # sixty issues, 2025-01-01 on
        folder = out / f"2025-{1 + (day - 1) // 28:02d}-{1 + (day - 1) % 28:02d}"
        folder.mkdir(parents=True)
        issue = {"number": day, "date": folder.name, "title": f"Issue {day}", "subtitle": "", "sections": []}
        (folder / "issue.json").write_text(json.dumps(issue), encoding="utf-8")
    refresh_archive(load_config(sources), out)
    feed = ET.parse(out / "feed.xml").getroot()
    titles = [
        e.findtext("{http://www.w3.org/2005/Atom}title")
        for e in feed.iter("{http://www.w3.org/2005/Atom}entry")
    ]
    assert FEED_ISSUES == 50 and titles == [f"Issue {day}" for day in range(60, 10, -1)]
    archive = (out / "index.html").read_text(encoding="utf-8")
    assert "Issue 1<" in archive and "Issue 60<" in archive  # the page keeps every issue


def test_notes_links_match_the_day_s_items_as_an_editor_writes_them(caplog: pytest.LogCaptureFixture) -> None:
    from digest.build import directives
    from digest.models import Item
    from digest.notes import parse_notes

    items = [
        Item(id="a", title="A", url="https://news.example/a/", source="One"),
        Item(id="b", title="B", url="https://www.blog.example/b", source="Two"),
        Item(id="c", title="C", url="https://wire.example/c?id=7", source="Three"),
    ]
    notes = parse_notes(
        "## Keep apart\n- http://news.example/a\n- https://blog.example/b/\n"
        "- https://wire.example/c?id=7&utm_source=mail#top\n- https://wire.example/c?id=8\n"
    )
    with caplog.at_level(logging.WARNING, logger="digest.build"):
        steer = directives(notes, items)
    assert steer.apart == [["a"], ["b"], ["c"]]
    assert steer.unknown == ["https://wire.example/c?id=8"]
    assert [r.getMessage() for r in caplog.records] == [
        "'Keep apart' in the notes names https://wire.example/c?id=8, which no item of the day links to"
    ]


def test_a_lead_that_cannot_lead_is_named_and_leaving_out_all_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sunday = "Sun, 15 Jun 2025 08:00:00 GMT"
    wire = [
        rss_item("Chess champion wins title in record time", "https://w.example/chess", at(11)),
        rss_item("Bakery chain opens a hundred stores in Texas", "https://w.example/bakery", at(10)),
        rss_item("Railway strike halts trains across Germany", "https://w.example/strike", sunday),
    ]
    sources = newsletter(tmp_path, {"Wire": wire})
    notes = tmp_path / "notes" / f"{DEMO_DATE}.md"
    notes.parent.mkdir()
    notes.write_text("## Lead\n- https://w.example/strike\n", encoding="utf-8")  # dated the 15th
    with caplog.at_level(logging.WARNING, logger="digest.build"):
        issue = built_issue(sources)
    assert issue["title"] == "Chess champion wins title in record time"
    assert "names 'Railway strike halts trains across Germany', dated after the issue's day" in caplog.text
    caplog.clear()
    bakery = "- https://w.example/bakery\n"
    notes.write_text(f"## Lead\n{bakery}\n## Leave out\n{bakery}", "utf-8")
    with caplog.at_level(logging.WARNING, logger="digest.build"):
        issue = built_issue(sources)
    assert issue["title"] == "Chess champion wins title in record time"
    assert "names 'Bakery chain opens a hundred stores in Texas', which 'Leave out' leaves out" in caplog.text
    notes.write_text("## Leave out\n- https://w.example/bakery\n- https://w.example/chess\n", "utf-8")
    code, _, err = build(sources, "--date", DEMO_DATE)
    assert code == 3
    assert f"'Leave out' in {notes} leaves out 2 of the 3 stories; the other 1 are not new" in err


def test_a_post_within_a_longer_lookback_than_the_memory_is_not_published_twice(tmp_path: Path) -> None:
    # a section that looks back 10 days and a memory of 3: a post of the 13th still in its
    # feed on the 19th was within the lookback and out of memory, and went out again
    old = rss_item(
        "Lab releases an open robotics dataset", "https://lab.example/data", "Fri, 13 Jun 2025 08:00:00 GMT"
    )
    new = rss_item(
        "Startup ships a code review agent", "https://ship.example/agent", "Thu, 19 Jun 2025 08:00:00 GMT"
    )
    config = {
        "sections": [{"id": "wild", "title": "In the wild", "lookback_days": 10}],
        "dedup": {"memory_days": 3},
    }
    assert titles_of(built_issue(newsletter(tmp_path, {"Lab": [old]}, **config), "2025-06-14")) == [
        "Lab releases an open robotics dataset"
    ]
    sources = newsletter(tmp_path, {"Lab": [new, old]}, **config)
    assert titles_of(built_issue(sources, "2025-06-19")) == ["Startup ships a code review agent"]


def titles_of(issue: dict) -> list[str]:
    return [story["title"] for section in issue["sections"] for story in section["stories"]]
