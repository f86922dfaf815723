"""The CLI against real parts: `check` and `build` over a loopback HTTP server, `dedup`'s contract."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from conftest import Reply, rss, rss_item

from digest.cli import main


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_command_explains_itself() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in ("build", "check", "dedup"):
        assert command in out
        code, text, _ = invoke(command, "--help")
        assert code == 0 and "Usage:" in text and len(text.splitlines()) > 4


def test_check_prints_what_works_and_why_not(feed_server, write_config) -> None:
    good = feed_server.route("/good.xml", Reply(body=rss(rss_item("One", "https://a.example/1"))))
    missing = feed_server.route("/missing.xml", Reply(status=404))
    broken = rss(rss_item("A & B", "https://a.example/2"), "<x>" * 400_000)  # malformed, 1.2 MB
    large = feed_server.route("/large.xml", Reply(body=broken))
    sources = [
        {"name": "Good", "url": good},
        {"name": "Missing", "url": missing},
        {"name": "Large", "url": large},
    ]
    code, out, _ = invoke("check", "--sources", str(write_config(sources).file))
    assert code == 1
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "ok" in lines["Good"] and "1 entry" in lines["Good"]
    assert "FAILED" in lines["Missing"] and "404" in lines["Missing"]
    unread = len(broken) - broken.index(b"</item><x>") - len(b"</item>")
    assert f"ok      1 entry (malformed: {unread:,} of {len(broken):,} bytes unread)" in lines["Large"]
    assert "2 of 3 sources ok" in out


def test_check_says_whether_sending_is_ready(feed_server, write_config, tmp_path: Path, monkeypatch) -> None:
    url = feed_server.route("/good.xml", Reply(body=rss(rss_item("One", "https://a.example/1"))))
    sources = [{"name": "Good", "url": url}]
    code, out, _ = invoke("check", "--sources", str(write_config(sources).file))
    assert code == 0 and "sending: not set up (no 'recipients' in the config" in out

    (tmp_path / "subscribers.csv").write_text("email,name\nada@example.com,Ada\n", encoding="utf-8")
    recipients = {"csv": "subscribers.csv", "unsubscribe_url": "https://a.example/u?e={email}&t={token}"}
    config = write_config(sources, recipients=recipients, smtp={"username": "digest"})
    monkeypatch.delenv("DIGEST_UNSUBSCRIBE_SECRET", raising=False)
    monkeypatch.delenv("DIGEST_SMTP_PASSWORD", raising=False)
    code, out, _ = invoke("check", "--sources", str(config.file))
    assert code == 1 and "1 of 1 sources ok" in out
    assert "sending: FAILED  recipients.unsubscribe_url uses {token} but" in out
    monkeypatch.setenv("DIGEST_UNSUBSCRIBE_SECRET", "a-secret-of-16-characters")
    code, out, _ = invoke("check", "--sources", str(config.file))
    assert code == 1 and "sending: FAILED  smtp.username is set but the environment variable" in out
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "pw")
    code, out, _ = invoke("check", "--sources", str(config.file))
    assert code == 0 and "sending: ok      1 recipients, relay localhost:587" in out
    (tmp_path / "subscribers.csv").unlink()
    code, out, _ = invoke("check", "--sources", str(config.file))
    assert code == 1 and "recipients file not found" in out


def test_a_second_build_gets_304s_and_still_builds(feed_server, write_config, tmp_path: Path) -> None:
    body = rss(
        rss_item("Meta invests in Scale AI", "https://a.example/meta", body="Meta puts $10B into Scale AI."),
        rss_item("OpenAI ships a model", "https://a.example/openai", body="A new model."),
    )
    url = feed_server.route("/feed.xml", Reply(body=body, headers={"ETag": '"v1"'}))

    def answer(request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(status=304)
        return Reply(body=body, headers={"ETag": '"v1"'})

    feed_server.route("/feed.xml", answer)
    config = write_config([{"name": "A", "url": url}])
    for _ in range(2):
        code, out, err = invoke("build", "--sources", str(config.file), "--date", "2025-06-14")
        assert code == 0, err
    conditional = [r for r in feed_server.seen if r.path == "/feed.xml"]
    assert len(conditional) == 2 and conditional[1].headers.get("if-none-match") == '"v1"'
    issue = json.loads((tmp_path / "out" / "2025-06-14" / "issue.json").read_text(encoding="utf-8"))
    assert issue["stats"]["feeds_ok"] == 1 and issue["stats"]["items"] == 2


def test_an_out_folder_that_cannot_be_written_is_a_usage_error_naming_it(
    feed_server, write_config, tmp_path: Path
) -> None:
    body = rss(rss_item("OpenAI ships a model", "https://a.example/openai", body="A new model."))
    config = write_config([{"name": "A", "url": feed_server.route("/feed.xml", Reply(body=body))}])
    (tmp_path / "taken").write_text("a file, not a folder")
    out = tmp_path / "taken" / "out"
    code, _, err = invoke("build", "--sources", str(config.file), "--date", "2025-06-14", "--out", str(out))
    assert code == 2, err  # was 70, "internal error: NotADirectoryError"
    assert f"{out}: cannot write the issue there: Not a directory ('out' in sources.yaml, or --out)" in err
    assert "internal error" not in err


def test_a_build_against_hostile_servers_finishes_in_time(feed_server, write_config, tmp_path: Path) -> None:
    good = feed_server.route("/good.xml", Reply(body=rss(rss_item("Fine story", "https://a.example/fine"))))
    sources = [
        {"name": "Good", "url": good},
        {"name": "Hangs", "url": feed_server.route("/hang", Reply(hang=True))},
        {"name": "Error", "url": feed_server.route("/500", Reply(status=500))},
        {"name": "Loop", "url": feed_server.route("/loop", Reply(status=302, headers={"Location": "/loop"}))},
        {"name": "Garbage", "url": feed_server.route("/junk", Reply(body=b"\x89PNG\r\n\x1a\n not a feed"))},
        {"name": "Trickle", "url": feed_server.route("/slow", Reply(body=b"x" * 100, trickle=0.5))},
    ]
    config = write_config(sources, fetch={"timeout": 1, "deadline": 4, "retries": 1})
    started = time.monotonic()
    code, out, err = invoke("build", "--sources", str(config.file), "--date", "2025-06-14")
    elapsed = time.monotonic() - started
    assert code == 0, err
    # the 4 s deadline holds the hung and trickling feeds (the trickle alone would take 50 s);
    # the rest is the build, slower on a loaded machine
    assert elapsed < 15, elapsed
    issue = json.loads((tmp_path / "out" / "2025-06-14" / "issue.json").read_text(encoding="utf-8"))
    failed = {f["source"]: f["error"] for f in issue["stats"]["feeds_failed"]}
    assert set(failed) == {"Hangs", "Error", "Loop", "Garbage", "Trickle"}
    assert "timed out" in failed["Hangs"] and "500" in failed["Error"]
    assert "redirect" in failed["Loop"] and "timed out" in failed["Trickle"]
    assert issue["stats"]["feeds_ok"] == 1


def test_dedup_follows_the_contract(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "title": "Meta in talks to invest $10 billion in Scale AI", "gold": "x", "extra": [1]},
        {"id": "b", "title": "Meta Platforms eyes $10B stake in data-labeling startup Scale AI"},
        {"id": "c", "title": "Earthquake of magnitude 6.1 strikes off the coast of Chile", "source": "Wire"},
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    code, out, err = invoke("dedup", str(path))
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    assert all(set(line) == {"id", "story"} for line in lines)
    assert lines[2]["story"] != lines[0]["story"]


def test_dedup_reports_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('{"id": "a", "title": "ok"}\n{not json\n', encoding="utf-8")
    code, _, err = invoke("dedup", str(path))
    assert code != 0 and "line 2" in err and "Traceback" not in err


def test_dedup_into_a_closed_pipe_ends_quietly_as_sigpipe_would(tmp_path: Path) -> None:
    import subprocess
    import sys

    items = tmp_path / "items.jsonl"
    rows = (
        json.dumps({"id": f"n{k}", "title": f"Story number {k} about topic {k % 97}"}) for k in range(3000)
    )
    items.write_text("\n".join(rows) + "\n", encoding="utf-8")
    command = [sys.executable, "-c", "from digest.cli import main; main()", "dedup", str(items)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        first = proc.stdout.readline()  # as `digest dedup items.jsonl | head -1` reads one line
        proc.stdout.close()
        error = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert json.loads(first)["id"] == "n0"
    assert code == 141 and error == ""  # not "internal error: BrokenPipeError" and exit 70


def test_python_m_digest_is_the_digest_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "digest", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("Usage: digest [OPTIONS] COMMAND")
