"""config: sources.yaml -> Config; every mistake is one line naming file, line, key and what is allowed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from digest.config import DEFAULT_SECTION, Config, load_config
from digest.errors import ConfigError

MINIMAL = """\
newsletter:
  name: Example Digest
sources:
  - name: Example
    url: https://example.com/feed.xml
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    """The message of the ConfigError that loading ``text`` raises (one line)."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    return message


def test_the_minimal_config_of_the_design_loads_with_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    config = load_config(path)
    assert isinstance(config, Config)
    assert config.newsletter.name == "Example Digest"
    assert config.newsletter.timezone == "UTC"
    [source] = config.sources
    assert (source.name, source.url, source.path, source.section) == (
        "Example",
        "https://example.com/feed.xml",
        None,
        None,
    )
    assert source.max_items == 50 and source.weight == 1.0
    assert [s.id for s in config.sections] == [DEFAULT_SECTION] and config.default_section == DEFAULT_SECTION
    assert config.fetch.timeout == 10 and config.fetch.retries == 2 and config.fetch.max_redirects == 5
    assert config.root == tmp_path.resolve() and config.file == path
    assert config.resolve(config.state) == tmp_path.resolve() / ".digest" / "state.sqlite"


def test_a_word_where_a_number_belongs_names_file_line_key_and_what_is_allowed(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        MINIMAL + "    max_items: lots\n",  # line 6
    )
    assert message.startswith(f"{tmp_path / 'sources.yaml'}:6: sources[0].max_items: ")
    assert "integer" in message and "'lots'" in message


def test_an_out_of_range_number_says_the_bound(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL + "fetch:\n  timeout: 0\n")
    assert ":7: fetch.timeout: " in message and "greater than 0" in message


def test_a_misspelt_key_is_reported_with_its_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL + "    sectoin: news\n")
    assert ":6: sources[0].sectoin: unknown key" in message
    # and what may stand there instead
    known = "exclude, include, max_items, name, path, section, url, user_agent, weight"
    assert f"known keys here: {known};" in message


def test_a_misspelt_nested_key_lists_the_keys_of_its_section(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL + "dedup:\n  treshold: 0.4\n")
    assert ":7: dedup.treshold: unknown key" in message
    assert "known keys here: memory_days, threshold, window_days;" in message


def test_a_color_that_is_not_rrggbb_says_how_to_write_one(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL + "theme:\n  primary: blue\n")
    assert message.endswith(
        ':7: theme.primary: a color written "#rrggbb", six hex digits in quotes: "#1a56db" (got \'blue\')'
    )


def test_an_unquoted_color_read_as_a_comment_says_to_quote_it(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL + "theme:\n  primary: #6b21a8\n")
    assert ":7: theme.primary: " in message and "(got nothing: the value is empty)" in message
    assert 'a value starting with # goes in quotes ("#6b21a8"), else YAML reads it as a comment' in message
    message = config_error(tmp_path, MINIMAL.replace("Example Digest", "") + "")
    assert ":2: newsletter.name: " in message and "(got nothing: the value is empty)" in message
    assert "#" not in message


def test_a_section_id_says_what_it_may_hold(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL + "sections:\n  - {id: Top News, title: Top}\n")
    assert (
        ":7: sections[0].id: lower-case letters, digits and hyphens, such as top-news (got 'Top News')"
        in message
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # a key's keys not indented under it
        (
            "newsletter:\nname: X\n" + MINIMAL.split("\n", 2)[2],
            ":1: newsletter: keys belong here (author, closing, greeting, intro, labels, language, name, "
            "postal_address, reply_to, sender, sign_off, sponsor_url, subject, subscribe_url, tagline, "
            "timezone, url), each 'key: value' on a line, indented under it "
            "(got nothing: the value is empty)",
        ),
        (  # one value where a group of keys belongs
            MINIMAL.replace("  name: Example Digest", "  name: X\n  sender: news@example.com"),
            ":3: newsletter.sender: keys belong here (email, name), each 'key: value' on a line, "
            "indented under it (got 'news@example.com')",
        ),
        (
            "newsletter:\n  name: X\nsources:\n  - https://example.com/feed.xml\n",
            ":4: sources[0]: keys belong here (exclude, include, max_items, name, path, section, url, "
            "user_agent, weight), each 'key: value' on a line, indented under it (got 'https://example.com/feed.xml')",
        ),
        (
            MINIMAL + "sections:\n  top-news:\n    title: Top\n",
            ":6: sections: a list belongs here, one item a line starting with '- ', "
            "indented under it (got dict)",
        ),
        (
            MINIMAL + "curate:\n  emoji: [robot]\n",
            ":7: curate.emoji: a mapping belongs here, 'key: value' lines indented under it (got list)",
        ),
    ],
)
def test_a_value_of_the_wrong_shape_says_how_to_write_it(tmp_path: Path, text: str, expected: str) -> None:
    message = config_error(tmp_path, text)
    assert message.endswith(expected), message


def test_a_misspelt_top_level_key_is_reported(tmp_path: Path) -> None:
    message = config_error(tmp_path, "newsleter:\n  name: X\n" + MINIMAL)
    assert ":1: newsleter: unknown key" in message


def test_a_missing_newsletter_name(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        "newsletter:\n  tagline: Daily\nsources:\n  - name: A\n    url: https://a.example/feed\n",
    )
    assert ":1: newsletter.name: required key is missing" in message


def test_no_sources_at_all(tmp_path: Path) -> None:
    message = config_error(tmp_path, "newsletter:\n  name: X\n")
    assert "sources: required key is missing" in message


def test_environment_variables_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_TEST_NAME", "From The Environment")
    monkeypatch.delenv("DIGEST_TEST_HOST", raising=False)
    path = write(
        tmp_path,
        "newsletter:\n  name: ${DIGEST_TEST_NAME}\nsources:\n  - name: A\n"
        "    url: https://${DIGEST_TEST_HOST:-feeds.example}/rss\n",
    )
    config = load_config(path)
    assert config.newsletter.name == "From The Environment"
    assert config.sources[0].url == "https://feeds.example/rss"


def test_a_missing_environment_variable_names_it_and_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGEST_TEST_UNSET", raising=False)
    message = config_error(
        tmp_path,
        "newsletter:\n  name: X\nsources:\n  - name: A\n    url: https://${DIGEST_TEST_UNSET}/rss\n",
    )
    assert ":5: sources[0].url: " in message
    assert "environment variable DIGEST_TEST_UNSET is not set" in message


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "newsletter:\n  name: X\n sources:\n  - name: A\n")
    assert message.startswith(f"{tmp_path / 'sources.yaml'}:3: not valid YAML: ")


def test_an_unclosed_bracket_reports_where_the_parser_noticed(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        "newsletter:\n  name: X\nsources:\n  - name: A\n    url: [https://a.example\n  - name: B\n",
    )
    assert ":6: not valid YAML: expected ',' or ']'" in message


def test_a_tab_indented_file_reports_the_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "newsletter:\n\tname: X\n")
    assert f"{tmp_path / 'sources.yaml'}:2: not valid YAML" in message


def test_a_source_naming_an_unknown_section(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        "newsletter:\n  name: X\n"
        "sections:\n  - id: news\n    title: News\n  - id: research\n    title: Research\n"
        "sources:\n  - name: A\n    url: https://a.example/feed\n"
        "  - name: B\n    url: https://b.example/feed\n    section: nope\n",  # line 13
    )
    assert ":13: sources[1].section: " in message
    assert "'nope'" in message and "news, research" in message


def test_a_source_with_both_url_and_path(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL + "    path: feed.xml\n")
    assert ":4: sources[0]: exactly one of 'url'" in message and "'path'" in message


def test_a_source_with_neither_url_nor_path(tmp_path: Path) -> None:
    message = config_error(tmp_path, "newsletter:\n  name: X\nsources:\n  - name: A\n")
    assert "sources[0]: exactly one of 'url'" in message


def test_a_url_must_be_http_or_file(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL.replace("https://example.com", "ftp://example.com"))
    assert ":5: sources[0].url: must start with http://, https:// or file:" in message


@pytest.mark.parametrize(
    "url", ["https://", "http:///feed.xml", "https:example.com/feed.xml", "https://:80/"]
)
def test_a_web_url_without_a_host_names_its_line(tmp_path: Path, url: str) -> None:
    message = config_error(tmp_path, MINIMAL.replace("https://example.com/feed.xml", url))
    assert ":5: sources[0].url: " in message and "no host" in message and repr(url) in message, message


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # YAML keeps the last of a repeated key: the first one would vanish without a word
        (
            MINIMAL + "sources:\n  - name: B\n    url: https://b.example/feed\n",
            ":6: sources: repeated key (first on line 3)",
        ),
        (MINIMAL + "    url: https://b.example/feed\n", ":6: sources[0].url: repeated key (first on line 5)"),
        (
            MINIMAL.replace("  name: Example Digest\n", "  name: A\n  name: B\n"),
            ":3: newsletter.name: repeated key (first on line 2)",
        ),
    ],
)
def test_a_repeated_key_names_it_and_both_lines(tmp_path: Path, text: str, expected: str) -> None:
    message = config_error(tmp_path, text)
    assert expected in message, message


@pytest.mark.parametrize("value", ["Polite/1.0\r\nX-Injected: 1", "Polite\t1.0", "Señor/1.0", " Polite/1.0"])
@pytest.mark.parametrize(
    ("key", "where"),
    [("    user_agent", ":6: sources[0].user_agent: "), ("fetch:\n  user_agent", ":7: fetch.user_agent: ")],
)
def test_a_user_agent_that_http_cannot_carry_names_its_line(
    tmp_path: Path, value: str, key: str, where: str
) -> None:
    message = config_error(tmp_path, MINIMAL + f"{key}: {json.dumps(value)}\n")  # JSON: a YAML string
    assert f"{where}{value!r} cannot be sent as an HTTP header" in message, message


def test_an_unknown_time_zone_says_what_is_allowed(tmp_path: Path) -> None:
    message = config_error(
        tmp_path, MINIMAL.replace("  name: Example Digest\n", "  name: X\n  timezone: Mars/Base\n")
    )
    assert ":3: newsletter.timezone: " in message and "IANA time zone" in message


@pytest.mark.parametrize("key", ["root", "file"])
def test_internal_fields_cannot_be_set_from_the_file(tmp_path: Path, key: str) -> None:
    message = config_error(tmp_path, MINIMAL + f"{key}: /etc\n")
    assert f":6: {key}: unknown key" in message


def test_a_top_level_list_is_refused(tmp_path: Path) -> None:
    message = config_error(tmp_path, "- a\n- b\n")
    assert "top level must be a mapping" in message


def test_a_missing_file_says_how_to_name_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file.*--sources"):
        load_config(tmp_path / "nowhere.yaml")


def test_paths_resolve_against_the_folder_of_the_config(tmp_path: Path) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    path = folder / "sources.yaml"
    path.write_text(MINIMAL.replace("url: https://example.com/feed.xml", "path: feeds/a.xml"))
    config = load_config(path)
    assert config.resolve(config.sources[0].path or "") == folder.resolve() / "feeds" / "a.xml"
    assert config.resolve("/abs/x") == Path("/abs/x")


def test_an_unknown_subject_placeholder_names_the_allowed_ones(tmp_path: Path) -> None:
    text = MINIMAL.replace("  name: Example Digest\n", "  name: Example Digest\n  subject: '{titel} today'\n")
    message = config_error(tmp_path, text)
    assert ":3: newsletter.subject:" in message
    assert "{titel}" in message and "{date}, {iso_date}, {name}, {number}, {title}" in message
    unclosed = config_error(
        tmp_path,
        MINIMAL.replace("  name: Example Digest\n", "  name: Example Digest\n  subject: '{title today'\n"),
    )
    assert ":3: newsletter.subject:" in unclosed and "a brace without its pair" in unclosed


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        ("sender:\n    email", "not an address", 4),
        ("reply_to", "news@x>", 3),
        ("sender:\n    email", "nëws@example.org", 4),
    ],
)
def test_a_bad_sender_address_names_its_line(tmp_path: Path, key: str, value: str, line: int) -> None:
    text = MINIMAL.replace("  name: Example Digest\n", f'  name: Example Digest\n  {key}: "{value}"\n', 1)
    message = config_error(tmp_path, text)
    assert f":{line}: newsletter." in message and f"'{value}' is not an email address" in message, message


def test_a_templates_folder_that_does_not_exist_names_its_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL + "templates: my-theme\n")
    assert ":6: templates: no folder " in message and "my-theme" in message, message
    (tmp_path / "my-theme").mkdir()
    assert load_config(write(tmp_path, MINIMAL + "templates: my-theme\n")).templates == "my-theme"


def test_a_web_address_without_http_is_refused_with_its_line(tmp_path: Path) -> None:
    # "example.org/newsletter" made every web link of the email a dead "#" and gave the
    # feed links and ids that are no absolute IRI, as Atom requires of an id.
    for url in ("example.org/newsletter", "/newsletter/", "ftp://example.org/", "https:///newsletter"):
        text = MINIMAL.replace("  name: Example Digest\n", f"  name: E\n  url: {url}\n")
        message = config_error(tmp_path, text)
        assert ":3: newsletter.url: the web archive's address" in message and repr(url) in message
    for url in ("", "https://example.org/newsletter/", "http://localhost:8000"):
        text = MINIMAL.replace("  name: Example Digest\n", f"  name: E\n  url: '{url}'\n")
        assert load_config(write(tmp_path, text)).newsletter.url == url


def test_a_logo_that_is_not_an_https_url_is_refused_with_its_line(tmp_path: Path) -> None:
    for logo in ("images/logo.png", "http://example.com/logo.png", "https:///logo.png"):
        message = config_error(tmp_path, MINIMAL + f"theme:\n  logo: {logo}\n")
        assert ":7: theme.logo: an https:// image URL" in message and repr(logo) in message


def test_an_alias_bomb_is_refused_at_once_naming_its_key(tmp_path: Path) -> None:
    levels = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 10)]  # 10**10 values
    text = "laughs:\n" + "\n".join(levels) + "\n" + MINIMAL + "    include: *l9\n"
    started = time.monotonic()
    message = config_error(tmp_path, text)
    assert time.monotonic() - started < 2
    assert ":6: laughs.l4: aliases (*name) expand this to more than 100,000 values" in message


def test_an_alias_inside_its_own_value_and_a_too_deep_nesting_are_config_errors(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL.replace("sources:", "sources: &all") + "    include: *all\n")
    assert ":3: an alias inside the value it names" in message
    message = config_error(tmp_path, MINIMAL + "    include: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deep" in message


def test_a_feed_listed_twice_names_both(tmp_path: Path) -> None:
    twice = MINIMAL + "  - name: Again\n    url: https://example.com/feed.xml\n"
    message = config_error(tmp_path, twice)
    expected = (
        ":7: sources[1].url: the feed of source 'Again' is listed already, as source 'Example' (sources[0])"
    )
    assert expected in message
    by_path = "newsletter:\n  name: X\nsources:\n  - name: A\n    path: feed.xml\n"
    by_path += "  - name: B\n    path: ./feed.xml\n"
    assert ":7: sources[1].path: the feed of source 'B' is listed already" in config_error(tmp_path, by_path)
    split = twice.replace("feed.xml\n  - name", "feed.xml\n    include: [tools]\n  - name", 1)
    assert len(load_config(write(tmp_path, split)).sources) == 2  # one feed split by keywords


def test_one_feed_by_file_url_and_by_path_is_listed_twice(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    both = "newsletter:\n  name: X\nsources:\n  - name: A\n    path: feeds/a.xml\n"
    both += "  - name: C\n    url: file:feeds/a.xml\n"
    assert ":7: sources[1].url: the feed of source 'C' is listed already" in config_error(tmp_path, both)
    absolute = both.replace("file:feeds/a.xml", (tmp_path / "feeds" / "a.xml").as_uri())
    assert "the feed of source 'C' is listed already" in config_error(tmp_path, absolute)


def test_a_misspelt_required_key_is_named_with_its_line_not_only_reported_missing(tmp_path: Path) -> None:
    message = config_error(tmp_path, MINIMAL.replace("  - name: Example", "  - nmae: Example"))
    assert ":4: sources[0].nmae: unknown key" in message and "required 'name' is missing" in message
    message = config_error(tmp_path, MINIMAL.replace("newsletter:", "newsleter:"))
    assert ":1: newsleter: unknown key" in message and "required 'newsletter' is missing" in message


def test_no_sections_and_a_section_id_used_twice_are_refused_with_their_lines(tmp_path: Path) -> None:
    # each passed the check, then the build ended as an internal error
    message = config_error(tmp_path, MINIMAL + "sections: []\n")
    assert ":6: sections: " in message and "at least 1 item" in message
    twice = MINIMAL + "sections:\n  - {id: a, title: A}\n  - {id: a, title: B}\n"
    assert ":8: sections[1].id: section id 'a' is used already by sections[0]" in config_error(
        tmp_path, twice
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # each passed the check, then ended as an internal error (MemoryError, OverflowError)
        (
            "fetch:\n  max_bytes: 100000000000000\n",
            ":7: fetch.max_bytes: input should be less than or equal to",
        ),
        ("smtp:\n  host: h\n  timeout: .inf\n", ":8: smtp.timeout: input should be less than or equal to"),
        (
            "smtp:\n  host: h\n  rate_per_second: 1e20\n",
            ":8: smtp.rate_per_second: input should be less than",
        ),
        (
            "smtp:\n  host: h\n  rate_per_minute: .inf\n",
            ":8: smtp.rate_per_minute: input should be less than",
        ),
    ],
)
def test_a_number_too_large_to_use_is_refused_with_its_bound(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert expected in config_error(tmp_path, MINIMAL + text)


def test_a_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_bytes(MINIMAL.replace("Example Digest", "Caf\xe9 Digest").encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:2: not UTF-8 (byte 0xe9): save the file as UTF-8"


def test_an_unquoted_color_in_braces_names_its_line_and_says_to_quote_it(tmp_path: Path) -> None:
    # the # comments out the closing brace: the parser saw the file end, past its last line
    message = config_error(tmp_path, MINIMAL + "theme: {primary: #6b21a8}\n")
    assert ":6: not valid YAML: " in message
    assert 'a value starting with # goes in quotes ("#6b21a8")' in message
    message = config_error(tmp_path, MINIMAL + "theme: {primary: '#6b21a8'\n")  # no hint where none fits
    assert ":6: not valid YAML: " in message and "quotes" not in message  # the last line, not past it


@pytest.mark.parametrize("text", ["state: ''\n", "notes: ''\n", "out: ''\n", "recipients: {csv: ''}\n"])
def test_an_empty_path_names_its_key(tmp_path: Path, text: str) -> None:
    # "state: ''" was exit 5, "cannot open the state database", naming no key
    key = text.split(":")[0] + (".csv" if "csv" in text else "")
    assert f":6: {key}: string should have at least 1 character" in config_error(tmp_path, MINIMAL + text)
