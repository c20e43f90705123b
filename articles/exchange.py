"""Markdown in, Markdown out (#17): the one reader and writer of articles as Markdown files with front matter.

The format is the seed's (articles/seed/): a directory holding
`categories.yaml` (a list of categories) and `<category>/<slug>.md` files,
each a YAML front matter block between `---` lines, one blank line, then the
body exactly as stored. An export adds the images the bodies use under
`media/`, at their storage names, so their URLs stay the same.

    ---
    title: JWT Authentication — Implementation and Security Patterns
    slug: jwt-authentication-implementation-and-security-patterns
    summary: Access tokens, refresh tokens, rotation, revocation, and common mistakes.
    category: product-engineering
    tags: [api, security]
    status: published
    published_at: '2026-11-02T09:00:00Z'
    author: edith
    owner: edith
    review_interval_days: null
    ---

    JSON Web Tokens (JWTs) are ...

Only `title`, `slug`, `summary` and `category` are required. `status`
defaults to published when `published_at` is given, else draft; `author` and
`owner` are usernames (null: nobody) and must exist; `review_interval_days`
null follows the category's interval.

Lossless: the writer is deterministic (tags sorted, times in UTC with
microseconds when they have any, strings with line breaks double-quoted) and
the reader keeps the body byte for byte (`\\r\\n` included), so export, import
into an empty database and export again gives identical files.

Every write goes through `services.save_article` with the version the import
compared (`expected_version`): someone's save in between is reported, never
overwritten. `by=None` is the system, as for the seed loader; an importing
user without the publish permission can only create or change drafts.
"""

import difflib
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path, PurePosixPath

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from articles import services
from articles.models import Article, Category, Image, validate_body_size

ARTICLE_KEYS = (
    "title",
    "slug",
    "summary",
    "category",
    "tags",
    "status",
    "published_at",
    "author",
    "owner",
    "review_interval_days",
)
REQUIRED_KEYS = ("title", "slug", "summary", "category")
CATEGORY_KEYS = ("slug", "name", "description", "position", "review_interval_days")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
IMPORT_NOTE = "Imported from Markdown"
SEED_NOTE = "Loaded from the seed"


# ------------------------------------------------------------------ writing


class _Dumper(yaml.SafeDumper):
    """Strings with line breaks double-quoted (escapes, one line), so no body-like line ever appears in YAML."""


def _represent_str(dumper, value):
    style = '"' if ("\n" in value or "\r" in value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(data, *, flow) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None if flow else False,
        width=1_000_000,
    )  # fmt: skip


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def front_matter(article: Article) -> dict:
    return {
        "title": article.title,
        "slug": article.slug,
        "summary": article.summary,
        "category": article.category.slug,
        "tags": sorted(tag.name for tag in article.tags.all()),
        "status": article.status,
        "published_at": format_time(article.published_at),
        "author": article.author.get_username() if article.author else None,
        "owner": article.owner.get_username() if article.owner else None,
        "review_interval_days": article.review_interval_days,
    }


def article_markdown(article: Article) -> str:
    """The article as one Markdown file with front matter."""
    return f"---\n{_dump(front_matter(article), flow=True)}---\n\n{article.body}"


def categories_yaml(categories) -> str:
    return _dump(
        [
            {
                "slug": category.slug,
                "name": category.name,
                "description": category.description,
                "position": category.position,
                "review_interval_days": category.review_interval_days,
            }
            for category in categories
        ],
        flow=False,
    )


def media_prefix() -> str:
    """How the storage's URLs start (`/media/` on disk; a bucket's or CDN's address otherwise)."""
    return default_storage.url("kb-probe")[: -len("kb-probe")]


def media_names(body: str) -> list[str]:
    """Storage names of the media files a body refers to, in order, once each."""
    found = re.findall(re.escape(media_prefix()) + r"([A-Za-z0-9._/-]+)", body)
    return list(dict.fromkeys(name for name in found if _safe_media_name(name)))


def _safe_media_name(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and path.suffix.lower() in IMAGE_SUFFIXES


def export_files(articles, *, categories=None) -> tuple[dict[str, bytes], list[str]]:
    """{relative path: bytes} for the articles, their categories and their images; and warnings.

    `categories` defaults to those of the articles.
    """
    articles = list(articles.select_related("category", "author", "owner").prefetch_related("tags"))
    files: dict[str, bytes] = {}
    warnings = []
    if categories is None:
        categories = Category.objects.filter(pk__in={article.category_id for article in articles})
    files["categories.yaml"] = categories_yaml(categories).encode("utf-8")
    for article in articles:
        files[f"{article.category.slug}/{article.slug}.md"] = article_markdown(article).encode("utf-8")
        for name in media_names(article.body):
            target = f"media/{name}"
            if target in files:
                continue
            if not default_storage.exists(name):
                warnings.append(f"{article.slug}: the image {name} is not in the media storage; not exported.")
                continue
            with default_storage.open(name, "rb") as handle:
                files[target] = handle.read()
    return files, warnings


def select_articles(*, category: str | None = None, status: str | None = None):
    articles = Article.objects.order_by("category__slug", "slug")
    if category:
        articles = articles.filter(category__slug=category)
    if status == "draft":
        articles = articles.exclude(status=Article.Status.PUBLISHED, published_at__isnull=False)
    elif status == "scheduled":
        articles = articles.filter(status=Article.Status.PUBLISHED, published_at__gt=timezone.now())
    elif status == "published":
        articles = articles.published()
    return articles


def write_directory(directory: Path, files: dict[str, bytes]) -> int:
    """Write the files under `directory`; returns the bytes written."""
    total = 0
    for name, content in sorted(files.items()):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        total += len(content)
    return total


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            # A fixed date: the same articles give the same archive.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


# ------------------------------------------------------------------ reading


class BadFile(Exception):
    """A file that cannot be imported, with the line the problem is on."""

    def __init__(self, reason: str, line: int = 1):
        self.reason, self.line = reason, line
        super().__init__(f"line {line}: {reason}")


@dataclass
class ParsedArticle:
    path: str
    meta: dict
    body: str
    lines: dict[str, int]  # key → line number in the file
    body_line: int

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadFile(f"not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start})", line) from None


def _parse_time(value, line: int) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise BadFile(f"published_at is not a date and time: {value!r}", line) from None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_article(data: bytes, path: str = "") -> ParsedArticle:
    """One file, checked: front matter present and well-formed, known keys typed, body within the limit."""
    text = _decode(data)
    if not re.match(r"---[ \t]*\r?\n", text):
        raise BadFile("no front matter: the file must start with a line '---'", 1)
    opening = text.index("\n") + 1
    closing = re.compile(r"^---[ \t]*\r?$", re.M).search(text, opening)
    if closing is None:
        raise BadFile("the front matter is not closed by a line '---'", 1)
    source = text[opening : closing.start()]
    try:
        meta = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = " ".join(str(getattr(error, "problem", None) or error).split())
        raise BadFile(f"the front matter is not valid YAML: {reason}", 2 + (mark.line if mark else 0)) from None
    if not isinstance(meta, dict):
        raise BadFile("the front matter is not a set of `key: value` lines", 2)
    lines = {}
    for number, line in enumerate(source.splitlines(), start=2):
        match = re.match(r"([A-Za-z_]+)\s*:", line)
        if match:
            lines.setdefault(match.group(1), number)
    missing = [key for key in REQUIRED_KEYS if meta.get(key) in (None, "")]
    if missing:
        raise BadFile(f"the front matter lacks {', '.join(missing)}", 1)
    unknown = sorted(set(meta) - set(ARTICLE_KEYS))
    if unknown:
        raise BadFile(f"unknown key {unknown[0]!r} (known: {', '.join(ARTICLE_KEYS)})", lines.get(unknown[0], 1))
    for key in ("title", "slug", "summary", "category"):
        if not isinstance(meta[key], str):
            raise BadFile(f"{key} must be text", lines.get(key, 1))
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [tag.strip() for tag in tags.split(",") if tag.strip()]
    if not isinstance(tags, list) or not all(isinstance(tag, str | int | float) for tag in tags):
        raise BadFile("tags must be a list, e.g. [api, security]", lines.get("tags", 1))
    meta["tags"] = [str(tag) for tag in tags]
    meta["published_at"] = _parse_time(meta.get("published_at"), lines.get("published_at", 1))
    status = meta.get("status") or (Article.Status.PUBLISHED if meta["published_at"] else Article.Status.DRAFT)
    if status not in Article.Status.values:
        raise BadFile(f"status must be draft or published, not {status!r}", lines.get("status", 1))
    meta["status"] = status
    for key in ("author", "owner"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise BadFile(f"{key} must be a username", lines.get(key, 1))
    interval = meta.get("review_interval_days")
    allowed = [value for value, _ in Article._meta.get_field("review_interval_days").choices if value is not None]
    if interval is not None and interval not in allowed:
        raise BadFile(
            f"review_interval_days must be null or one of {', '.join(map(str, allowed))}",
            lines.get("review_interval_days", 1),
        )
    rest_start = text.find("\n", closing.start())
    rest = "" if rest_start == -1 else text[rest_start + 1 :]
    body_line = text[: closing.end()].count("\n") + 2
    if rest.startswith("\r\n"):
        rest, body_line = rest[2:], body_line + 1
    elif rest.startswith("\n"):
        rest, body_line = rest[1:], body_line + 1
    try:
        validate_body_size(rest)
    except ValidationError as error:
        raise BadFile(error.messages[0], body_line) from None
    return ParsedArticle(path=path, meta=meta, body=rest, lines=lines, body_line=body_line)


@dataclass
class Outcome:
    kind: str  # created, updated, unchanged, refused, kept (the seed: edited since it was loaded)
    path: str
    slug: str = ""
    reason: str = ""
    line: int = 0
    diff: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.kind == "refused":
            return f"refused {self.path}:{self.line}: {self.reason}"
        text = f"{self.kind} {self.slug} ({self.path})"
        if self.reason:
            text += f": {self.reason}"
        return "\n".join([text, *(f"    {line}" for line in self.diff)])


@dataclass
class ImportReport:
    outcomes: list[Outcome] = field(default_factory=list)
    categories_created: list[str] = field(default_factory=list)
    categories_updated: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    dry_run: bool = False

    def of(self, kind: str) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.kind == kind]

    def summary(self) -> str:
        counts = ", ".join(
            f"{len(self.of(kind))} {kind}" for kind in ("created", "updated", "unchanged", "refused", "kept")
        )
        return (
            f"{'Would import' if self.dry_run else 'Imported'}: {counts}; categories: "
            f"{len(self.categories_created)} created, {len(self.categories_updated)} updated; "
            f"{len(self.images)} image{'s' if len(self.images) != 1 else ''} added."
        )


class _Rollback(Exception):
    pass


def import_directory(
    directory: Path, *, by=None, as_drafts: bool = False, dry_run: bool = False, seed: bool = False
) -> ImportReport:
    """Create or update categories and articles from `directory`, by slug; idempotent.

    `seed=True` is `load_seed`: categories are only created, never changed,
    and an article is rewritten only while nobody has edited it since it was
    loaded (its `seed_checksum`). `dry_run` does everything in a transaction
    that is rolled back, and copies no image.
    """
    directory = Path(directory)
    report = ImportReport(dry_run=dry_run)
    try:
        with transaction.atomic():
            categories = _import_categories(directory, report, seed=seed)
            _import_articles(directory, report, categories, by=by, as_drafts=as_drafts, seed=seed)
            if not dry_run:
                _import_images(directory, report)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return report


def _import_categories(directory: Path, report: ImportReport, *, seed: bool) -> dict[str, Category]:
    categories = {category.slug: category for category in Category.objects.all()}
    path = directory / "categories.yaml"
    if not path.exists():
        return categories
    try:
        definitions = yaml.safe_load(_decode(path.read_bytes())) or []
    except BadFile as error:
        report.outcomes.append(Outcome("refused", "categories.yaml", reason=error.reason, line=error.line))
        return categories
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = " ".join(str(getattr(error, "problem", None) or error).split())
        report.outcomes.append(
            Outcome(
                "refused", "categories.yaml", reason=f"not valid YAML: {reason}", line=1 + (mark.line if mark else 0)
            )
        )
        return categories
    if not isinstance(definitions, list):
        report.outcomes.append(Outcome("refused", "categories.yaml", reason="not a list of categories", line=1))
        return categories
    text_lines = path.read_bytes().decode("utf-8").splitlines()
    starts = [number for number, line in enumerate(text_lines, start=1) if line.startswith("- ")]
    for index, definition in enumerate(definitions):
        line = starts[index] if index < len(starts) else 1
        if not isinstance(definition, dict) or not definition.get("slug") or not definition.get("name"):
            report.outcomes.append(
                Outcome("refused", "categories.yaml", reason="a category needs a slug and a name", line=line)
            )
            continue
        values = {
            "name": str(definition["name"]),
            "description": str(definition.get("description") or ""),
            "position": definition.get("position", 0),
        }
        if definition.get("review_interval_days") is not None:
            values["review_interval_days"] = definition["review_interval_days"]
        slug = str(definition["slug"])
        category = categories.get(slug)
        try:
            with transaction.atomic():
                if category is None:
                    category = Category(slug=slug, **values)
                    category.full_clean()
                    category.save()
                    report.categories_created.append(slug)
                elif not seed and any(getattr(category, name) != value for name, value in values.items()):
                    interval_changed = category.review_interval_days != values.get(
                        "review_interval_days", category.review_interval_days
                    )
                    for name, value in values.items():
                        setattr(category, name, value)
                    category.full_clean()
                    category.save()
                    if interval_changed:
                        services.refresh_review_due_dates(category)
                    report.categories_updated.append(slug)
        except ValidationError as error:
            reason = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
            report.outcomes.append(
                Outcome("refused", "categories.yaml", reason=f"category {slug}: {reason}", line=line)
            )
            continue
        categories[slug] = category
    return categories


def _article_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.glob("*/*.md") if path.parent.name != "media")


def _import_articles(directory, report, categories, *, by, as_drafts, seed):
    parsed: list[ParsedArticle] = []
    for path in _article_files(directory):
        name = path.relative_to(directory).as_posix()
        try:
            parsed.append(parse_article(path.read_bytes(), name))
        except BadFile as error:
            report.outcomes.append(Outcome("refused", name, reason=error.reason, line=error.line))
    by_slug: dict[str, list[ParsedArticle]] = {}
    for item in parsed:
        by_slug.setdefault(item.meta["slug"], []).append(item)
    for item in parsed:
        others = [other.path for other in by_slug[item.meta["slug"]] if other is not item]
        if others:
            report.outcomes.append(
                Outcome(
                    "refused",
                    item.path,
                    slug=item.meta["slug"],
                    reason=f"duplicate slug {item.meta['slug']!r}: also in {', '.join(others)}",
                    line=item.line("slug"),
                )
            )
            continue
        try:
            with transaction.atomic():
                outcome = _import_one(item, categories, by=by, as_drafts=as_drafts, seed=seed)
        except BadFile as error:
            outcome = Outcome("refused", item.path, slug=item.meta["slug"], reason=error.reason, line=error.line)
        report.outcomes.append(outcome)


def _user(item: ParsedArticle, key: str):
    username = item.meta.get(key)
    if username is None:
        return None
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    if user is None:
        raise BadFile(f"{key} {username!r}: no user has that name (create the user first)", item.line(key))
    return user


def _comparable(article: Article, tags) -> dict:
    return {
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "category": article.category.slug,
        "tags": sorted(tag.lower() for tag in tags),
        "status": article.status,
        "published_at": article.published_at,
        "author": article.author_id,
        "owner": article.owner_id,
        "review_interval_days": article.review_interval_days,
    }


def _short_diff(before: dict, after: dict) -> list[str]:
    lines = []
    for key in before:
        if before[key] == after[key]:
            continue
        if key == "body":
            changed = [
                line
                for line in difflib.unified_diff(before[key].splitlines(), after[key].splitlines(), lineterm="", n=0)
                if line[:1] in "+-" and not line.startswith(("+++", "---"))
            ]
            lines.append(f"body: {len(changed)} line{'s' if len(changed) != 1 else ''} changed")
            lines += [line[:100] for line in changed[:6]]
            if len(changed) > 6:
                lines.append("…")
        else:
            lines.append(f"{key}: {str(before[key])[:80]!r} → {str(after[key])[:80]!r}")
    return lines


def _import_one(item: ParsedArticle, categories, *, by, as_drafts, seed) -> Outcome:
    from articles.seed import checksum

    meta, slug = item.meta, item.meta["slug"]
    category = categories.get(meta["category"])
    if category is None:
        raise BadFile(
            f"unknown category {meta['category']!r} (not in categories.yaml nor in the database)",
            item.line("category"),
        )
    author, owner = _user(item, "author"), _user(item, "owner")
    status = Article.Status.DRAFT if as_drafts else meta["status"]
    existing = Article.objects.filter(slug=slug).select_related("category").first()
    if existing is None and services.old_slug_owner(slug) is not None:
        if seed:
            # An editor renamed this article: it lives on under its new slug, and this one redirects there.
            return Outcome("kept", item.path, slug=slug, reason="renamed by an editor since it was loaded")
        raise BadFile(services.slug_taken_message(slug, services.old_slug_owner(slug)), item.line("slug"))
    wanted_checksum = checksum(
        title=meta["title"],
        summary=meta["summary"],
        body=item.body,
        category_slug=category.slug,
        tags=meta["tags"],
        status=status,
        published_at=meta["published_at"],
    )
    article = existing or Article(slug=slug)
    if existing is not None:
        before = _comparable(existing, existing.tags.names())
        if seed:
            from articles.seed import article_checksum

            if existing.seed_checksum != article_checksum(existing):
                return Outcome("kept", item.path, slug=slug, reason="edited since it was loaded")
            if existing.seed_checksum == wanted_checksum:
                return Outcome("unchanged", item.path, slug=slug)
    article.title, article.summary, article.body = meta["title"], meta["summary"], item.body
    article.category, article.status, article.published_at = category, status, meta["published_at"]
    if not seed:
        article.author, article.owner = author, owner
        article.review_interval_days = meta.get("review_interval_days")
    if seed:
        article.seed_checksum = wanted_checksum
    if existing is not None:
        after = _comparable(article, meta["tags"])
        if after == before:
            return Outcome("unchanged", item.path, slug=slug)
    try:
        article.full_clean(exclude=["seed_checksum"], validate_unique=False)
    except ValidationError as error:
        key, messages = next(iter(error.message_dict.items()))
        line = item.body_line if key == "body" else item.line({"category": "category"}.get(key, key))
        raise BadFile(f"{key}: {' '.join(messages)}", line) from None
    if existing is None and Article.objects.filter(slug=slug).exists():
        raise BadFile(f"slug {slug!r} is taken", item.line("slug"))
    try:
        services.save_article(
            article=article,
            by=by,
            expected_version=existing.version if existing is not None else None,
            note=SEED_NOTE if seed else IMPORT_NOTE,
        )
    except services.EditConflict as conflict:
        if seed:
            return Outcome("kept", item.path, slug=slug, reason="edited while it was being loaded")
        raise BadFile(f"{conflict} Nothing was overwritten; import again.", 1) from None
    except services.SlugTaken as error:
        raise BadFile(error.messages[0], item.line("slug")) from None
    except PermissionDenied as error:
        raise BadFile(f"{by} may not write this article: {error}", item.line("status")) from None
    article.tags.set(meta["tags"])
    if existing is None:
        if seed and article.published_at is not None:
            # Loading the original text is not an update: readers and feeds see
            # "modified" only once the article really changes.
            Article.objects.filter(pk=article.pk).update(updated_at=article.published_at)
        return Outcome("created", item.path, slug=slug)
    return Outcome("updated", item.path, slug=slug, diff=_short_diff(before, _comparable(article, meta["tags"])))


def _import_images(directory: Path, report: ImportReport) -> None:
    """The files under `media/` the storage lacks, at the same names (so the bodies' URLs work), as Images."""
    media = directory / "media"
    if not media.is_dir():
        return
    alts = {}
    for article_body in Article.objects.filter(body__contains=media_prefix()).values_list("body", flat=True):
        for alt, name in re.findall(
            r"!\[([^\]]*)\]\(" + re.escape(media_prefix()) + r"([A-Za-z0-9._/-]+)", article_body
        ):
            alts.setdefault(name, alt)
    for path in sorted(media.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(media).as_posix()
        if not _safe_media_name(name):
            report.outcomes.append(Outcome("refused", f"media/{name}", reason="not an image file name", line=1))
            continue
        if not default_storage.exists(name):
            saved = default_storage.save(name, ContentFile(path.read_bytes()))
            if saved != name:
                default_storage.delete(saved)
                report.outcomes.append(Outcome("refused", f"media/{name}", reason="could not keep its name", line=1))
                continue
            report.images.append(name)
        if not Image.objects.filter(file=name).exists():
            Image.objects.create(file=name, alt_text=(alts.get(name) or PurePosixPath(name).name)[:200])
