"""Load and validate ``sources.yaml`` once, at the edge, into typed objects.

Every mistake becomes one ``ConfigError`` line naming the file, the line, the key path
and what is allowed. Nothing deeper in the pipeline re-checks the configuration.
"""

from __future__ import annotations

import os
import re
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import ConfigError

DEFAULT_SECTION = "top-news"
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


SUBJECT_FIELDS = frozenset({"title", "name", "number", "date", "iso_date"})
SUBJECT_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")  # {title}; filled by publish.subject_line
# The labels (render.LABELS) that are patterns, and a value of each field they may use.
_DATE_FIELDS = {"day": 14, "month": "June", "month_short": "Jun", "month_number": 6, "year": 2025}
LABEL_FIELDS: dict[str, dict[str, Any]] = {
    "issue_number": {"issue": "Issue", "number": 7},
    "date": _DATE_FIELDS,
    "short_date": _DATE_FIELDS,
}


class _Strict(BaseModel):
    """Unknown keys are mistakes (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _mail_address(value: str) -> str:
    """``value`` if the mail headers can carry it (local@domain, ASCII before the @); "" stays."""
    if value:
        try:
            parsed = Address(addr_spec=value)
        except (ValueError, IndexError, HeaderParseError):
            parsed = None
        if parsed is None or not parsed.username or not parsed.domain:
            raise ValueError(f"{value!r} is not an email address (name@example.org, ASCII before the @)")
    return value


MailAddress = Annotated[str, AfterValidator(_mail_address)]

# What h11 sends as a header value: visible ASCII, inner spaces, no whitespace at the ends.
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def _header_value(value: str) -> str:
    """``value`` if an HTTP header can carry it; "" stays.

    Anything else (a line break, a tab, an accented letter) would fail every request
    of the run with "Illegal header value", or stop the whole fetch.
    """
    if value and not _HEADER_VALUE.fullmatch(value):
        raise ValueError(
            f"{value!r} cannot be sent as an HTTP header: printable ASCII only, "
            "without line breaks, tabs or other control characters, or spaces at either end"
        )
    return value


HeaderValue = Annotated[str, AfterValidator(_header_value)]


class Sender(_Strict):
    name: str = ""
    email: MailAddress = "newsletter@localhost"


class Newsletter(_Strict):
    name: str
    tagline: str = ""
    url: str = ""
    language: str = "en"
    timezone: str = "UTC"
    greeting: str = "Hi there,"
    intro: str = ""
    closing: str = "That's all for today!"
    sign_off: str = "Best,"
    author: str = ""
    postal_address: str = ""
    sender: Sender = Sender()
    reply_to: MailAddress = ""
    subscribe_url: str = ""  # the "share with a friend" link; default: url
    sponsor_url: str = ""  # "become a sponsor" link in the closing; none by default
    # The Subject of the email: {title} (the lead headline), {name}, {number}, {date} (as the
    # header writes it, "June 14, 2025"), {iso_date} (2025-06-14).
    subject: str = "{title}"
    # Wording of the built-in templates, e.g. {agenda: "Today's menu"}; keys in render.LABELS.
    labels: dict[str, str] = {}

    @field_validator("subject")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        used = set(SUBJECT_PLACEHOLDER.findall(value))
        unknown = sorted(used - SUBJECT_FIELDS)
        if unknown:
            allowed = ", ".join("{" + f + "}" for f in sorted(SUBJECT_FIELDS))
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; allowed: {allowed}")
        if not value.strip():
            raise ValueError("an empty subject; the default is {title}")
        if set("{}") & set(SUBJECT_PLACEHOLDER.sub("", value)):
            raise ValueError("a brace without its pair; placeholders are written {title}")
        return value

    @field_validator("labels")
    @classmethod
    def _label_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for key, fields in LABEL_FIELDS.items():
            if key in value:
                try:
                    value[key].format(**fields)
                except (KeyError, IndexError, ValueError):
                    allowed = ", ".join("{" + f + "}" for f in fields)
                    raise ValueError(f"{key}: {value[key]!r} is no pattern of {allowed}") from None
        for key in ("months", "months_short"):
            if key in value and len(value[key].split(",")) != 12:
                raise ValueError(f"{key}: the twelve month names, separated by commas (got {value[key]!r})")
        return value

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str) -> str:
        # the base of every web link of the email and of the feed's ids: without a scheme
        # each would be a dead "#" in the email and no valid id in the feed
        parts = urlsplit(value)
        if value and not (parts.scheme.lower() in ("http", "https") and parts.hostname):
            raise ValueError(
                f"the web archive's address, such as https://example.com/newsletter/ (got {value!r})"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone name such as UTC or Europe/Berlin") from None
        return value


def _section_id(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
        raise ValueError(
            f"lower-case letters, digits and hyphens, such as top-news (got {value!r}); "
            "sources name it in their 'section'"
        )
    return value


class SectionConfig(_Strict):
    id: Annotated[str, AfterValidator(_section_id)]
    title: str
    style: Literal["list", "cards", "quote", "lead"] = "list"
    max_stories: int = Field(10, ge=1, le=200)
    lookback_days: float | None = Field(None, gt=0, le=365)  # default: curate.lookback_days


class SourceConfig(_Strict):
    name: str
    url: str | None = None
    path: str | None = None
    section: str | None = None
    weight: float = Field(1.0, ge=0, le=100)
    max_items: int = Field(50, ge=1, le=10_000)
    include: list[str] = []
    exclude: list[str] = []
    user_agent: HeaderValue | None = None

    @field_validator("url")
    @classmethod
    def _fetchable(cls, value: str | None) -> str | None:
        """A web address with a host, or a ``file:`` URL: caught here, with its line,
        rather than as a puzzling failure at fetch time."""
        if not value:
            return value
        if not re.match(r"^(https?|file):", value, re.I):
            raise ValueError(f"must start with http://, https:// or file: (got {value!r})")
        if not value.lower().startswith("file:") and not urlsplit(value).hostname:
            raise ValueError(f"{value!r} has no host; write it as https://example.com/feed.xml")
        return value

    @model_validator(mode="after")
    def _one_location(self) -> SourceConfig:
        if bool(self.url) == bool(self.path):
            raise ValueError("exactly one of 'url' (http, https or file) or 'path' (a local file)")
        return self


class Sponsor(_Strict):
    title: str
    text: str = ""
    url: str
    image: str | None = None
    label: str = ""  # the small print above it; default: the label "sponsored" ("Sponsored")
    position: Literal["top", "middle", "bottom"] = "top"
    cta: str = ""  # the button's text; default: the label "learn_more" ("Learn more")
    name: str = ""  # short name in the agenda ("Our sponsors: StartEngine and Artisan"); default: title


class DedupConfig(_Strict):
    threshold: float | None = Field(None, ge=0, le=1)
    window_days: float = Field(3.0, gt=0, le=365)
    memory_days: int = Field(7, ge=0, le=3650)


class FetchConfig(_Strict):
    timeout: float = Field(10.0, gt=0, le=300)
    deadline: float = Field(60.0, gt=0, le=3600)
    max_bytes: int = Field(10_000_000, ge=1024, le=2_000_000_000)
    concurrency: int = Field(16, ge=1, le=256)
    per_host: int = Field(4, ge=1, le=256)  # requests to one host at once
    retries: int = Field(2, ge=0, le=10)
    max_redirects: int = Field(5, ge=0, le=20)
    user_agent: HeaderValue | None = None


class CurateConfig(_Strict):
    lookback_days: float = Field(2.0, gt=0, le=365)
    emoji: dict[str, str] = {}  # headline keyword -> emoji, tried before the built-in rules
    skip_when_empty: bool = True
    takeaways: int = Field(5, ge=1, le=8)  # most bullets under "Takeaways at a glance"
    lead_paragraphs: int = Field(3, ge=1, le=8)  # paragraphs of the lead story's summary


def _color(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f'a color written "#rrggbb", six hex digits in quotes: "#1a56db" (got {value!r})')
    return value


# "#rrggbb"; the build warns when text colors fall below 4.5:1 contrast (digest.contrast)
Color = Annotated[str, AfterValidator(_color)]


class Theme(_Strict):
    """Look of the built-in templates. Text colors need 4.5:1 contrast on their background."""

    primary: Color = "#1a56db"  # links, accents, buttons
    background: Color = "#f4f4f5"  # around the content
    surface: Color = "#ffffff"  # behind the content
    tint: Color = "#eef2ff"  # takeaways, poll boxes
    border: Color = "#e5e7eb"
    text: Color = "#1f2937"
    muted: Color = "#4b5563"
    # Dark mode (clients that honour prefers-color-scheme): the same roles, dark.
    dark_background: Color = "#0b0f19"
    dark_surface: Color = "#161b26"
    dark_tint: Color = "#1e2740"
    dark_text: Color = "#f3f4f6"
    dark_muted: Color = "#c4cad4"
    dark_primary: Color = "#93c5fd"
    font: str = "Helvetica, Arial, sans-serif"
    heading_font: str = ""  # default: font
    logo: str | None = None  # an https:// image URL shown instead of the name
    logo_width: int = Field(160, ge=16, le=600)
    width: int = Field(600, ge=320, le=900)
    # UTM tagging is off unless asked for: {source: digest, medium: email, campaign: "{date}"}
    # adds utm_source=digest&utm_medium=email&utm_campaign=<issue date> to every story link.
    utm: dict[str, str] = {}

    @field_validator("logo")
    @classmethod
    def _https_logo(cls, value: str | None) -> str | None:
        # an email is read far from here: a relative path or file would show a broken image,
        # and mail clients block or warn about http images
        if value is not None and not (value.lower().startswith("https://") and urlsplit(value).hostname):
            raise ValueError(f"an https:// image URL, such as https://example.com/logo.png (got {value!r})")
        return value


class SmtpConfig(_Strict):
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str = "DIGEST_SMTP_PASSWORD"
    timeout: float = Field(30.0, gt=0, le=3600)
    rate_per_second: float = Field(10.0, gt=0, le=100_000)
    rate_per_minute: float = Field(600.0, gt=0, le=6_000_000)
    retries: int = Field(3, ge=0, le=20)
    cafile: str | None = None
    dkim_key: str | None = None
    dkim_selector: str | None = None
    dkim_domain: str | None = None  # the DKIM d= domain; default: the sender's domain
    backoff: float = Field(2.0, ge=0, le=600)  # seconds before the first retry, doubled for each next one
    envelope_from: MailAddress | None = None  # MAIL FROM (where bounces go); default: newsletter.sender.email
    suppress_bounces: bool = True  # a 5xx "no such mailbox" (5.1.1 and kin) suppresses the address

    @model_validator(mode="after")
    def _dkim_pair(self) -> SmtpConfig:
        if bool(self.dkim_key) != bool(self.dkim_selector):
            raise ValueError("'dkim_key' and 'dkim_selector' go together: set both to sign, or neither")
        return self


class RecipientsConfig(_Strict):
    csv: str = Field(min_length=1)
    unsubscribe_url: str = ""
    manage_url: str = ""
    unsubscribe_mailto: MailAddress = ""
    # {token} in the URLs is an HMAC of the address keyed with this environment variable's value.
    secret_env: str = "DIGEST_UNSUBSCRIBE_SECRET"
    list_id: str = ""  # the List-Id header; default: "<name> <name-slug.sender-domain>"


class RetentionConfig(_Strict):
    send_log_days: int = Field(90, ge=1, le=36500)  # days a sent issue keeps its per-recipient log


class Config(_Strict):
    """The whole validated configuration; ``root`` is the folder of sources.yaml."""

    newsletter: Newsletter
    sources: list[SourceConfig] = Field(min_length=1)
    sections: list[SectionConfig] = Field(
        [SectionConfig(id=DEFAULT_SECTION, title="Top AI news")], min_length=1
    )
    sponsors: list[Sponsor] = []
    dedup: DedupConfig = DedupConfig()
    fetch: FetchConfig = FetchConfig()
    curate: CurateConfig = CurateConfig()
    theme: Theme = Theme()
    smtp: SmtpConfig = SmtpConfig()
    recipients: RecipientsConfig | None = None
    retention: RetentionConfig = RetentionConfig()
    state: str = Field(".digest/state.sqlite", min_length=1)
    templates: str | None = None
    notes: str = Field("notes/{date}.md", min_length=1)
    out: str = Field("out", min_length=1)
    root: Path = Path(".")
    file: Path = Path("sources.yaml")

    @model_validator(mode="after")
    def _sections_exist(self) -> Config:
        seen: dict[str, int] = {}
        for index, section in enumerate(self.sections):
            if section.id in seen:
                raise PydanticCustomError(
                    "value_error",
                    "section id {id} is used already by sections[{first}]; give each section its own id",
                    {"id": repr(section.id), "first": seen[section.id], "loc": ("sections", index, "id")},
                )
            seen[section.id] = index
        known = {s.id for s in self.sections}
        for index, source in enumerate(self.sources):
            if source.section and source.section not in known:
                raise PydanticCustomError(  # "loc" lets the message point at the right line
                    "value_error",
                    "source {source} names section {section}; defined sections: {known}",
                    {
                        "source": repr(source.name),
                        "section": repr(source.section),
                        "known": ", ".join(sorted(known)),
                        "loc": ("sources", index, "section"),
                    },
                )
        return self

    @model_validator(mode="after")
    def _each_feed_once(self) -> Config:
        """A feed listed twice (with the same filters) is a mistake: each of its items
        would come twice, the second copy shown as another outlet's take ("Also
        covered by") and counted as such when the lead is chosen."""
        first: dict[tuple[str, tuple[str, ...], tuple[str, ...]], int] = {}
        for index, source in enumerate(self.sources):
            local = self.local_path(source)  # one file, by path: or by a file: URL
            where = f"path:{local.resolve()}" if local else (source.url or "").strip()
            key = (where, tuple(source.include), tuple(source.exclude))
            if key in first:
                earlier = self.sources[first[key]]
                raise PydanticCustomError(
                    "value_error",
                    "the feed of source {source} is listed already, as source {earlier} (sources[{index}]); "
                    "list each feed once (or give the two different include/exclude keywords)",
                    {
                        "source": repr(source.name),
                        "earlier": repr(earlier.name),
                        "index": first[key],
                        "loc": ("sources", index, "url" if source.url else "path"),
                    },
                )
            first[key] = index
        return self

    @model_validator(mode="after")
    def _templates_exist(self) -> Config:
        if self.templates is not None and not self.resolve(self.templates).is_dir():
            raise PydanticCustomError(  # else the built-in theme would stand in without a word
                "value_error",
                "no folder {folder}; give a folder of templates (relative to sources.yaml), or leave "
                "templates out for the built-in ones",
                {"folder": str(self.resolve(self.templates)), "loc": ("templates",)},
            )
        return self

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the folder of sources.yaml."""
        path = Path(os.path.expanduser(relative))
        return path if path.is_absolute() else self.root / path

    def local_path(self, source: SourceConfig) -> Path | None:
        """The file of a local source (``path:`` or a ``file:`` URL); None for a remote one."""
        if source.path:
            return self.resolve(source.path)
        if (source.url or "").lower().startswith("file:"):
            return self.resolve(unquote(urlsplit(source.url or "").path))
        return None

    def source_section(self, source: SourceConfig) -> str:
        """The section a source's stories go to."""
        return source.section or self.default_section

    @property
    def default_section(self) -> str:
        """Where stories of a source without ``section`` go: the first section."""
        return self.sections[0].id


def load_config(path: str | Path) -> Config:
    """Read, expand ``${VAR}`` and validate ``path``; raise ``ConfigError`` on any mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (pass --sources PATH to name your sources.yaml)") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 (byte 0x{exc.object[exc.start]:02x}): save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        node = yaml.compose(text)
        _refuse_alias_bombs(path, node)
        _refuse_repeated_keys(path, node)
        data = _expand_env(yaml.safe_load(text), path, node)
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: lists or mappings nested too deep for a config") from None
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_error(path, text, exc)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping with 'newsletter' and 'sources'")
    for key in data:
        if key in ("root", "file") or not isinstance(key, str):  # set here, never by the file
            raise ConfigError(f"{_where(path, node, (str(key),))}: {_allowed({'type': 'extra_forbidden'})}")
    try:
        return Config(**data, root=path.resolve().parent, file=path)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, node, path, text)) from None


# "{primary: #6b21a8}": in a flow mapping or list, the rest of the line is a comment
_FLOW_COMMENT = re.compile(r"[{\[,]\s*(?:[^\s:#,{}\[\]][^:#,{}\[\]]*:\s+)?#")


def _yaml_error(path: Path, text: str, exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: file:line, the parser's words, and a hint for a
    color left unquoted in braces or brackets, which comments out their closing."""
    lines = text.splitlines()
    mark = getattr(exc, "problem_mark", None)
    line = min(mark.line + 1, len(lines)) if mark else 0  # "found '<stream end>'": past the last line
    message = f"not valid YAML: {getattr(exc, 'problem', exc)}"
    flow = next((n for n, written in enumerate(lines, 1) if _FLOW_COMMENT.search(written)), 0)
    if flow and (not line or flow <= line):
        line = flow
        message += (
            '; a value starting with # goes in quotes ("#6b21a8"),'
            " else YAML reads the rest of the line as a comment"
        )
    return f"{path}:{line}: {message}" if line else f"{path}: {message}"


MAX_VALUES = 100_000  # what aliases may expand the file to: a real sources.yaml has hundreds


def _refuse_alias_bombs(path: Path, root: yaml.Node | None) -> None:
    """Raise ``ConfigError`` for an alias inside the value it names (``&a [*a]``) or
    aliases that expand the file past ``MAX_VALUES`` values ("billion laughs"): every
    later step walks the values as a tree, and would never end or run out of memory."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_:
            raise ConfigError(
                f"{path}:{node.start_mark.line + 1}: an alias inside the value it names (an &anchor "
                "used within itself): a value cannot contain itself"
            )
        open_.add(id(node))
        total = 1
        for child in _children(node):
            total += size(child)
            if total > MAX_VALUES:
                break
        open_.discard(id(node))
        sizes[id(node)] = total
        return total

    if root is None or size(root) <= MAX_VALUES:
        return
    node, loc = root, ()  # name the deepest key that is itself too big
    while True:
        child = next(((k, v) for k, v in _named_children(node) if sizes.get(id(v), 0) > MAX_VALUES), None)
        if child is None:
            break
        loc, node = (*loc, child[0]), child[1]
    raise ConfigError(
        f"{path}:{node.start_mark.line + 1}: {_key_path(loc)}: aliases (*name) expand this to more than "
        f"{MAX_VALUES:,} values; write the values out, or use fewer aliases"
    )


def _children(node: yaml.Node) -> list[yaml.Node]:
    """The nodes in ``node``: its items, or its keys and values."""
    keys = [key for key, _ in node.value] if isinstance(node, yaml.MappingNode) else []
    return keys + [child for _, child in _named_children(node)]


def _named_children(node: yaml.Node) -> list[tuple[Any, yaml.Node]]:
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    if isinstance(node, yaml.MappingNode):
        return [(getattr(k, "value", "?"), v) for k, v in node.value]
    return []


def _refuse_repeated_keys(
    path: Path, node: yaml.Node | None, loc: tuple[Any, ...] = (), seen: set[int] | None = None
) -> None:
    """Raise ``ConfigError`` for the first key written twice in one mapping.

    YAML keeps the last of them, so the first (a whole ``sources:`` list, say) would
    vanish without a word. ``seen`` stops at nodes already walked (aliases, which may
    even be recursive).
    """
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _refuse_repeated_keys(path, item, (*loc, index), seen)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    first_lines: dict[tuple[str, str], int] = {}
    for key, value in node.value:
        line = key.start_mark.line + 1
        if isinstance(key, yaml.ScalarNode):
            if (key.tag, key.value) in first_lines:
                first = first_lines[key.tag, key.value]
                keys = _key_path((*loc, key.value))
                raise ConfigError(
                    f"{path}:{line}: {keys}: repeated key (first on line {first}); give it once"
                )
            first_lines[key.tag, key.value] = line
        _refuse_repeated_keys(path, value, (*loc, key.value), seen)


def _expand_env(value: Any, path: Path, root: yaml.Node | None, loc: tuple[Any, ...] = ()) -> Any:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) in every string value."""
    if isinstance(value, dict):
        return {k: _expand_env(v, path, root, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, path, root, (*loc, i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{_where(path, root, loc)}: environment variable {name} is not set "
            f"(set it, or give a default: ${{{name}:-default}})"
        )

    return _ENV_VAR.sub(substitute, value)


def _describe(exc: ValidationError, root: yaml.Node | None, path: Path, text: str) -> str:
    """One line for the first validation error: file:line: key path: problem."""
    errors = exc.errors()
    error = errors[0]
    if error["type"] == "missing":  # a misspelled required key: name the misspelling, on its line
        parent = tuple(error["loc"][:-1])
        typo = next(
            (e for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == parent), None
        )
        if typo is not None:
            line = _line_of(root, tuple(typo["loc"]))
            where = f"{path}:{line}" if line else str(path)
            missing = error["loc"][-1]
            return (
                f"{where}: {_key_path(tuple(typo['loc']))}: {_allowed(typo)}; required {missing!r} is missing"
            )
    loc = (*error["loc"], *error.get("ctx", {}).get("loc", ()))
    problem = _allowed(error)
    line = _line_of(root, loc)
    written = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
    if error.get("input", "") is None and "#" in written.partition(":")[2]:
        # "primary: #6b21a8" reads as an empty value and a comment
        problem += '; a value starting with # goes in quotes ("#6b21a8"), else YAML reads it as a comment'
    return f"{_where(path, root, loc)}: {problem}"


def _where(path: Path, root: yaml.Node | None, loc: tuple[Any, ...]) -> str:
    """``file:line: key.path`` for the key at ``loc``."""
    line = _line_of(root, loc)
    where = f"{path}:{line}" if line else str(path)
    return f"{where}: {_key_path(loc)}"


def _key_path(loc: tuple[Any, ...]) -> str:
    """``sources[0].url`` for ``("sources", 0, "url")``; "top level" for ()."""
    keys = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    return keys or "top level"


def _allowed(error: dict[str, Any]) -> str:
    """Say what was wrong and what is allowed, in the user's terms."""
    kind, msg = error["type"], error.get("msg", "")
    given = error.get("input")
    if kind == "extra_forbidden":
        keys = _keys_beside(error.get("loc", ()))
        known = f"; known keys here: {', '.join(keys)}" if keys else ""
        return f"unknown key (check the spelling{known}; see the configuration reference in README.md)"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    shown = "nothing: the value is empty" if given is None else type(given).__name__
    shown = repr(given) if isinstance(given, str | int | float | bool) else shown
    if kind == "model_type":  # a value, or nothing, where a group of keys belongs
        keys = ", ".join(_keys_beside((*error.get("loc", ()), "")))
        return f"keys belong here ({keys}), each 'key: value' on a line, indented under it (got {shown})"
    if kind == "dict_type":
        return f"a mapping belongs here, 'key: value' lines indented under it (got {shown})"
    if kind == "list_type":
        return f"a list belongs here, one item a line starting with '- ', indented under it (got {shown})"
    return f"{msg[:1].lower()}{msg[1:]} (got {shown})"  # not the rest: a pattern [0-9a-fA-F] stays


def _keys_beside(loc: tuple[Any, ...]) -> list[str]:
    """The keys the file may write where the key at ``loc`` stands (the fields of the
    model holding it), or none when that place is not a model's."""
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue  # an item of a list: the list's model is already in hand
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    fields = getattr(model, "model_fields", {})
    return sorted(name for name in fields if name not in ("root", "file"))


def _model_in(annotation: Any) -> Any:
    """The pydantic model an annotation holds: itself, or inside ``list[...]``, ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest key or item found along ``loc``."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        line, node = found
    return line


def _child(node: yaml.Node | None, part: Any) -> tuple[int, yaml.Node] | None:
    """The line where ``part`` of ``node`` is written, and its value node."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return key.start_mark.line + 1, value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None
