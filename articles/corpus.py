"""A large, realistic, reproducible corpus of articles, for measuring kb at scale (issue #14).

`python manage.py generate_corpus --articles 100000` builds it. Everything is
drawn from one seeded `random.Random`, so the same seed gives the same
articles (dates are relative to the day it runs):

- Bodies: 5-30 blocks recombined from the seed articles' own Markdown
  (paragraphs, lists, tables, fenced code, and sections under their headings).
- Titles and summaries: the seed's, recombined, with an angle and the service
  or team the article is about (a few are common, most are rare: a realistic
  long tail of words for search); a repeated title gets ", part N".
- 20 categories (skewed sizes), 400 tags with Zipf-like popularity (1-6 per
  article; `api` is on roughly 4 articles in 10), a handful of authors,
  published over 5 years; drafts and scheduled articles besides.
- Derived fields exactly as the app computes them: `Article.render()` for
  the HTML, table of contents, text, word count and reading time, and
  `search.document_parts()` for the search document's parts (in worker
  processes); the document itself by `search_bulk`'s expression (index_article's
  own) in the INSERT, then every step of `search.rebuild_all()` other than the
  documents already written (the lexicon, the listing counts).
- One revision per article (version 1), as a save would store.

Fast on PostgreSQL (`_copy_batch`): each batch of 1,000 is a few statements,
COPY into a staging table and one INSERT ... SELECT computing the vectors, COPY
for taggings and revisions, with ids drawn from the sequence first. The
listing-count and lexicon triggers are off for the loading session only
(`session_replication_role`, superuser) and their tables rebuilt once at the
end, set-based: the same numbers the triggers keep (tests/test_generate_corpus.py
takes the articles out again through the triggers and finds the seed's numbers).

Generated articles carry `seed_checksum = MARKER`, so they can be counted and
told apart from real ones.
"""

import math
import multiprocessing
import os
import random
import re
import time
from bisect import bisect
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path

import frontmatter
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections, reset_queries, transaction
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag, TaggedItem

from articles import caching, search, search_bulk
from articles.models import Article, ArticleRevision, Category
from articles.services import revision_of

MARKER = "generated-corpus"
SEED_ARTICLES = Path(__file__).resolve().parent / "seed" / "product-engineering"
BATCH_SIZE = 1_000
CHUNK = 100  # rows per INSERT statement
YEARS = 5

CATEGORIES = [
    ("product-engineering", "Product Engineering", "How we design, build, ship and run backend services and APIs."),
    ("platform", "Platform", "The shared platform every service runs on."),
    ("site-reliability", "Site Reliability", "Keeping services up: SLOs, incidents and capacity."),
    ("data-engineering", "Data Engineering", "Pipelines, warehouses and the data our products depend on."),
    ("security", "Security", "Application and infrastructure security practice."),
    ("infrastructure", "Infrastructure", "Networks, clusters, clouds and the code that describes them."),
    ("developer-experience", "Developer Experience", "Tooling, builds and the paved road."),
    ("databases", "Databases", "Schemas, queries, replication and operations."),
    ("api-design", "API Design", "Contracts between services and with our customers."),
    ("observability", "Observability", "Logs, metrics, traces and what we do with them."),
    ("release-engineering", "Release Engineering", "From merge to production, safely."),
    ("architecture", "Architecture", "Decisions, trade-offs and the records we keep of them."),
    ("quality-engineering", "Quality Engineering", "Testing strategy at every level."),
    ("frontend", "Frontend", "The web clients and the services behind them."),
    ("mobile", "Mobile", "Our iOS and Android apps and their backends."),
    ("machine-learning", "Machine Learning", "Models in production and the systems around them."),
    ("payments", "Payments", "Moving money correctly."),
    ("identity", "Identity", "Accounts, sign-in and access control."),
    ("incident-reviews", "Incident Reviews", "What happened, why, and what we changed."),
    ("cloud-cost", "Cloud Cost", "Spending less without slowing down."),
]

# The seed's own tags first (most popular first), then the rest of the vocabulary of a big engineering wiki.
SEED_TAGS = "api reliability architecture devops performance security databases observability messaging testing containers caching"  # noqa: E501
MORE_TAGS = """
kubernetes postgresql microservices ci-cd monitoring kafka redis docker terraform aws python go java typescript
grpc rest graphql authentication authorization oauth jwt logging tracing metrics alerting incident-response
on-call slo sla capacity-planning load-testing chaos-engineering feature-flags canary blue-green rollback
migrations schema indexing sql nosql replication sharding partitioning backups disaster-recovery encryption
tls secrets compliance gdpr audit privacy rate-limiting pagination versioning idempotency webhooks queues
event-driven event-sourcing cqrs sagas outbox retries circuit-breaker bulkhead timeouts backpressure
consistency transactions concurrency locking deadlocks connection-pooling orm n-plus-one query-planning
profiling memory garbage-collection latency throughput benchmarks cdn edge http2 http3 websockets dns
load-balancing service-mesh istio linkerd envoy nginx ingress autoscaling serverless lambda cost finops
multi-tenancy saas onboarding documentation code-review pair-programming refactoring technical-debt
design-docs adr team-topology hiring mentoring career postmortems runbooks playbooks toil automation
infrastructure-as-code gitops argo helm ansible packer vault consul prometheus grafana opentelemetry
elasticsearch opensearch clickhouse bigquery snowflake spark airflow dbt data-quality etl streaming
batch-processing machine-learning feature-store model-serving experimentation ab-testing analytics
frontend react accessibility performance-budgets mobile ios android push-notifications offline-first
payments billing invoicing ledgers fraud risk identity sso saml mfa passwords sessions cookies cors csrf
xss sql-injection owasp threat-modeling penetration-testing dependency-scanning sbom supply-chain sigstore
containers-security image-scanning registries artifact-management monorepo build-systems bazel gradle
caching-strategies cache-invalidation search full-text-search recommendations personalization i18n
localization time-zones dates-and-times unicode email notifications scheduling cron background-jobs
workflows state-machines domain-driven-design hexagonal-architecture clean-architecture modular-monolith
api-gateway bff contracts contract-testing unit-testing integration-testing end-to-end-testing
property-based-testing fuzzing mutation-testing flaky-tests test-data fixtures mocking tdd linting
formatting static-analysis type-checking code-generation protobuf openapi json-schema serialization
compression storage object-storage s3 file-uploads images video search-engines seo sitemaps feeds
"""
TAG_SUFFIXES = ["at-scale", "in-production", "migration", "patterns", "pitfalls", "tooling", "operations"]
TAG_COUNT = 400
TAGS_PER_ARTICLE = {1: 15, 2: 25, 3: 25, 4: 18, 5: 10, 6: 7}  # how many articles (in 100) have 1..6 tags

ANGLES = [
    "Lessons Learned",
    "A Field Guide",
    "What We Changed",
    "Common Pitfalls",
    "A Checklist",
    "Notes from Production",
    "The Migration Story",
    "Trade-offs",
    "Postmortem Findings",
    "Getting Started",
    "Scaling Up",
    "Revisited",
    "A Deep Dive",
    "Before and After",
    "Design Review",
    "The Runbook",
    "Questions and Answers",
    "A Case Study",
    "Anti-patterns",
    "Benchmarks",
]
SUMMARY_ENDINGS = [
    "How the {c} team applies it.",
    "Written after the {c} migration.",
    "With examples from {c}.",
    "Notes from running it in {c} since {y}.",
    "What {c} learned the hard way.",
    "The {c} team's version, with numbers.",
]
# Services and teams articles are about: a few are everywhere, most are rare (Zipf), which gives search a
# realistic long tail. The codenames are words the seed never uses.
CONTEXTS = """
checkout payments search billing accounts onboarding notifications inventory shipping pricing catalog
orders identity reporting analytics messaging storage ledger fulfilment returns refunds subscriptions
invoicing promotions loyalty reviews recommendations support partners marketplace logistics warehouse
kestrel osprey heron plover curlew dunlin merlin harrier shrike wagtail bunting siskin linnet
obsidian basalt gabbro dolerite rhyolite andesite pumice tuff scoria feldspar gneiss schist slate
marigold foxglove yarrow tansy sorrel chicory mallow teasel burdock vetch clover bracken
andromeda cassiopeia perseus cepheus draco lyra cygnus aquila vulpecula sagitta delphinus lacerta
quokka numbat bilby dunnart potoroo bettong quoll antechinus pademelon wallaroo
tamarack hornbeam larch alder rowan hawthorn blackthorn spindle buckthorn wayfaring
zephyr sirocco mistral bora foehn chinook harmattan khamsin levanter tramontane
"""
FIRST_NAMES = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances"]
LAST_NAMES = ["Okafor", "Lindqvist", "Tanaka", "Moreau", "Novak", "Haddad", "Castillo", "Brennan"]


def _zipf_cum_weights(n: int, exponent: float) -> list[float]:
    return list(accumulate(1 / rank**exponent for rank in range(1, n + 1)))


def tag_names() -> list[str]:
    """400 tag names, most popular first."""
    names = list(dict.fromkeys([*SEED_TAGS.split(), *MORE_TAGS.split()]))
    base = list(names)
    for suffix in TAG_SUFFIXES:
        for name in base:
            if len(names) >= TAG_COUNT:
                return names
            names.append(f"{name}-{suffix}")
    return names[:TAG_COUNT]


# ---------------------------------------------------------------- seed material

_FENCE = re.compile(r"^(```|~~~)")


def split_blocks(markdown: str) -> list[str]:
    """Blank-line separated blocks, a fenced code block (blank lines and all) kept whole."""
    blocks, current, fence = [], [], None
    for line in markdown.splitlines():
        if fence:
            current.append(line)
            if line.strip().startswith(fence):
                fence = None
            continue
        if match := _FENCE.match(line.strip()):
            fence = match.group(1)
            current.append(line)
            continue
        if line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


@dataclass
class Material:
    intros: list[str] = field(default_factory=list)  # plain paragraphs, to open an article
    sections: list[list[str]] = field(default_factory=list)  # a heading and the blocks under it
    titles: list[tuple[str, str]] = field(default_factory=list)  # (head, tail) of "Head — Tail"
    summaries: list[str] = field(default_factory=list)


def seed_material(directory: Path = SEED_ARTICLES) -> Material:
    material = Material()
    for path in sorted(directory.glob("*.md")):
        post = frontmatter.load(path)
        head, _, tail = str(post.metadata["title"]).partition(" — ")
        material.titles.append((head.strip(), tail.strip()))
        material.summaries.append(str(post.metadata["summary"]).strip())
        section = None
        for block in split_blocks(post.content):
            if block.startswith("#"):
                section = [block]
                material.sections.append(section)
            elif section is None:
                if not block.startswith(("|", "```", "~~~", "-", "*", ">")) and not block[:1].isdigit():
                    material.intros.append(block)
            else:
                section.append(block)
    material.sections = [section for section in material.sections if len(section) > 1]
    return material


# ---------------------------------------------------------------- one article


@dataclass
class Spec:
    title: str
    slug: str
    summary: str
    body: str
    category: int  # index into the categories
    tags: list[int]  # indexes into the tags, in the order they are added
    author: int
    status: str
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Generator:
    def __init__(self, seed: int, now: datetime, taken_slugs: set[str], material: Material | None = None):
        self.random = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
        self.now = now
        self.material = material or seed_material()
        self.slugs = set(taken_slugs)
        self.titles: dict[str, int] = {}
        self.contexts = CONTEXTS.split()
        self.context_weights = _zipf_cum_weights(len(self.contexts), 1.1)
        self.tag_weights = _zipf_cum_weights(TAG_COUNT, 1.0)
        self.category_weights = _zipf_cum_weights(len(CATEGORIES), 0.6)
        self.tag_counts = list(TAGS_PER_ARTICLE), list(TAGS_PER_ARTICLE.values())

    def _pick(self, cum_weights: list[float]) -> int:
        return bisect(cum_weights, self.random.random() * cum_weights[-1])

    def context(self) -> str:
        return self.contexts[self._pick(self.context_weights)]

    def title(self) -> str:
        r = self.random
        head, tail = r.choice(self.material.titles)
        context = self.context().capitalize()
        shape = r.randrange(5)
        if shape == 0 and tail:
            title = f"{head} — {tail} in {context}"
        elif shape == 1:
            other_head, other_tail = r.choice(self.material.titles)
            title = f"{head} — {other_tail or r.choice(ANGLES)}"
        elif shape == 2:
            title = f"{head} at {context}: {r.choice(ANGLES)}"
        elif shape == 3:
            title = f"{r.choice(ANGLES)}: {head} for {context}"
        else:
            title = f"{head} — {r.choice(ANGLES)}"
        seen = self.titles.get(title, 0)
        self.titles[title] = seen + 1
        if seen:
            title = f"{title}, part {seen + 1}"
        return title[:200]

    def slug_for(self, title: str) -> str:
        base = slugify(title)[:190].strip("-") or "article"
        slug, n = base, 1
        while slug in self.slugs:
            n += 1
            slug = f"{base}-{n}"
        self.slugs.add(slug)
        return slug

    def summary(self) -> str:
        r = self.random
        ending = r.choice(SUMMARY_ENDINGS).format(c=self.context().capitalize(), y=self.now.year - r.randrange(YEARS))
        return f"{r.choice(self.material.summaries)} {ending}"[:500]

    def body(self) -> str:
        r = self.random
        wanted = r.randint(5, 30)
        blocks = [r.choice(self.material.intros)]
        sections = r.sample(self.material.sections, k=min(len(self.material.sections), 30))
        for section in sections:
            if len(blocks) >= wanted:
                break
            room = max(2, wanted - len(blocks))
            blocks += section[: min(len(section), room)]
        return "\n\n".join(blocks) + "\n"

    def tags(self) -> list[int]:
        k = self.random.choices(*self.tag_counts)[0]
        chosen: list[int] = []
        while len(chosen) < k:
            tag = self._pick(self.tag_weights)
            if tag not in chosen:
                chosen.append(tag)
        return chosen

    def article(self, kind: str, authors: int) -> Spec:
        r = self.random
        title = self.title()
        span = YEARS * 365 * 86400
        if kind == "published":
            published_at = self.now - timedelta(seconds=r.randrange(3600, span))
            created_at = published_at - timedelta(seconds=r.randrange(3600, 30 * 86400))
            updated_at = published_at
            if r.random() < 0.2:  # edited after it went out, at most until now
                updated_at = min(self.now, published_at + timedelta(seconds=r.randrange(86400, 400 * 86400)))
            status = Article.Status.PUBLISHED
        elif kind == "scheduled":
            published_at = self.now + timedelta(seconds=r.randrange(3600, 90 * 86400))
            created_at = self.now - timedelta(seconds=r.randrange(3600, 60 * 86400))
            updated_at = created_at + timedelta(seconds=r.randrange(0, 3600))
            status = Article.Status.PUBLISHED
        else:
            published_at = None
            created_at = self.now - timedelta(seconds=r.randrange(3600, span))
            updated_at = min(self.now, created_at + timedelta(seconds=r.randrange(0, 30 * 86400)))
            status = Article.Status.DRAFT
        return Spec(
            title=title,
            slug=self.slug_for(title),
            summary=self.summary(),
            body=self.body(),
            category=self._pick(self.category_weights),
            tags=self.tags(),
            author=r.randrange(authors),
            status=status,
            published_at=published_at,
            created_at=created_at,
            updated_at=updated_at,
        )

    def kinds(self, articles: int, drafts: int, scheduled: int) -> list[str]:
        kinds = ["published"] * articles + ["draft"] * drafts + ["scheduled"] * scheduled
        self.random.shuffle(kinds)
        return kinds


# ---------------------------------------------------------------- rendering, in worker processes


def _render(work: tuple[str, str, str, list[str]]) -> tuple[tuple, tuple[str, str, str]]:
    """(the derived fields, the search document's three parts) of one article: the app's own derivations."""
    title, summary, body, tag_names = work
    article = Article(body=body)
    article.render()  # validate, render_markdown, set the derived fields
    derived = tuple(getattr(article, name) for name in Article.DERIVED_FIELDS)
    doc = search_bulk.Doc(None, title, summary, article.body_text, tag_names)
    return derived, search.document_parts(doc)


def _work(specs: list[Spec], tags) -> list[tuple]:
    return [(s.title, s.summary, s.body, [tags[i].name for i in s.tags]) for s in specs]


class _InProcess:
    def map_async(self, function, items, chunksize=None):
        results = [function(item) for item in items]

        class Done:
            def get(self):
                return results

        return Done()

    def close(self):
        pass

    def join(self):
        pass


def _pool(workers: int):
    if workers <= 1:
        return _InProcess()
    # Forked workers must not share the parent's database connections.
    connections.close_all()
    return multiprocessing.get_context("fork").Pool(workers)


# ---------------------------------------------------------------- writing


@contextmanager
def _explicit_timestamps():
    """Let bulk_create write the generated created_at/updated_at instead of now."""
    fields = [
        Article._meta.get_field("created_at"),
        Article._meta.get_field("updated_at"),
        ArticleRevision._meta.get_field("created_at"),
    ]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def ensure_categories() -> list[Category]:
    categories = []
    for position, (slug, name, description) in enumerate(CATEGORIES):
        category, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )
        categories.append(category)
    return categories


def ensure_tags() -> list[Tag]:
    names = tag_names()
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    for name in names:
        if name not in existing:
            existing[name] = Tag.objects.create(name=name)  # taggit picks a unique slug
    return [existing[name] for name in names]


def ensure_authors() -> list:
    users = []
    for first, last in zip(FIRST_NAMES, LAST_NAMES, strict=True):
        user, created = get_user_model().objects.get_or_create(
            username=f"{first}.{last}".lower(),
            defaults={"first_name": first, "last_name": last, "email": f"{first}.{last}@example.com".lower()},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


def counts() -> dict[str, int]:
    """How many generated articles the database holds, by kind."""
    generated = Article.objects.filter(seed_checksum=MARKER)
    now = timezone.now()
    return {
        "total": generated.count(),
        "drafts": generated.filter(status=Article.Status.DRAFT).count(),
        "scheduled": generated.filter(status=Article.Status.PUBLISHED, published_at__gt=now).count(),
        "public": generated.filter(status=Article.Status.PUBLISHED, published_at__lte=now).count(),
    }


@contextmanager
def _triggers_deferred():
    """PostgreSQL, as a superuser: this session's writes fire no triggers while the corpus goes in.

    The listing-count and lexicon triggers would otherwise do, per row and per
    statement, work that `search.rebuild_all()` redoes once, set-based, at the
    end; foreign keys are not checked either (every id written here was just
    read or returned by the database). `session_replication_role` is this
    session's own setting: other sessions' writes keep their triggers. Without
    the privilege, the triggers stay on and the load is only slower. Yields
    whether they were deferred.
    """
    if connection.vendor != "postgresql":
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        deferred = cursor.fetchone()[0]
        if deferred:
            cursor.execute("SET session_replication_role = replica")
    try:
        yield deferred
    finally:
        if deferred:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")


def generate(
    *,
    articles: int,
    drafts: int = 2_000,
    scheduled: int = 200,
    seed: int = 1,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Add `articles` public articles, `drafts` drafts and `scheduled` scheduled ones; returns timings."""
    started = time.monotonic()
    now = (now or timezone.now()).replace(microsecond=0)
    categories, tags, authors = ensure_categories(), ensure_tags(), ensure_authors()
    content_type = ContentType.objects.get_for_model(Article)
    generator = Generator(seed, now, set(Article.objects.values_list("slug", flat=True)))
    kinds = generator.kinds(articles, drafts, scheduled)
    batches = [kinds[i : i + batch_size] for i in range(0, len(kinds), batch_size)]
    specs = [[generator.article(kind, len(authors)) for kind in batch] for batch in batches[:1]]

    timings = {"render_wait": 0.0, "insert": 0.0, "search_documents": 0.0}
    pool = _pool(workers if workers is not None else os.cpu_count() or 1)
    try:
        with _triggers_deferred() as deferred:
            timings["triggers_deferred"] = float(deferred)
            pending = pool.map_async(_render, _work(specs[0], tags), chunksize=16) if specs else None
            done = 0
            for index in range(len(batches)):
                batch = specs[index]
                # Queue the next batch's rendering before writing this one, so workers and database overlap.
                if index + 1 < len(batches):
                    specs.append([generator.article(kind, len(authors)) for kind in batches[index + 1]])
                    upcoming = pool.map_async(_render, _work(specs[index + 1], tags), chunksize=16)
                else:
                    upcoming = None
                t = time.monotonic()
                rendered = pending.get()
                timings["render_wait"] += time.monotonic() - t
                _write_batch(batch, rendered, categories, tags, authors, content_type, timings)
                specs[index] = None  # free the batch's text
                reset_queries()  # with DEBUG on, Django would keep every batch's SQL (megabytes each)
                pending = upcoming
                done += len(batch)
                if progress:
                    progress(done, len(kinds))
    finally:
        pool.close()
        pool.join()
        # Every other derived structure (word frequencies, counts...) from the articles now in place, once,
        # set-based; also after a failure part-way, so the batches already committed are counted.
        t = time.monotonic()
        search.rebuild_all(skip={search_bulk.DOCUMENTS_STEP})
        timings["other_rebuild_steps"] = time.monotonic() - t
    caching.content_changed()
    timings["total"] = time.monotonic() - started
    return timings


def _write_batch(batch: list[Spec], rendered: list[tuple], categories, tags, authors, content_type, timings):
    if connection.vendor == "postgresql":
        _copy_batch(batch, rendered, categories, tags, authors, content_type, timings)
        return
    derived = [values for values, _ in rendered]
    # SQLite (`make run`): the ORM's bulk inserts, then the FTS5 rows.
    t = time.monotonic()
    rows = [_article_row(spec, values, categories, authors) for spec, values in zip(batch, derived, strict=True)]
    with transaction.atomic(), _explicit_timestamps():
        Article.objects.bulk_create(rows, batch_size=CHUNK)
        TaggedItem.objects.bulk_create(
            (
                TaggedItem(content_type=content_type, object_id=article.pk, tag=tags[tag])
                for article, spec in zip(rows, batch, strict=True)
                for tag in spec.tags
            ),
            batch_size=CHUNK,
        )
        revisions = [revision_of(article, by=article.author, note="Generated corpus") for article in rows]
        for revision, article in zip(revisions, rows, strict=True):
            revision.created_at = article.updated_at
        ArticleRevision.objects.bulk_create(revisions, batch_size=CHUNK)
        timings["insert"] += time.monotonic() - t
        t = time.monotonic()
        search_bulk.index_docs(
            search_bulk.Doc(
                article.pk, article.title, article.summary, article.body_text, [tags[i].name for i in spec.tags]
            )
            for article, spec in zip(rows, batch, strict=True)
        )
        timings["search_documents"] += time.monotonic() - t


def _article_row(spec: Spec, values: tuple, categories, authors) -> Article:
    return Article(
        title=spec.title,
        slug=spec.slug,
        summary=spec.summary,
        body=spec.body,
        category=categories[spec.category],
        author=authors[spec.author],
        status=spec.status,
        published_at=spec.published_at,
        created_at=spec.created_at,
        updated_at=spec.updated_at,
        seed_checksum=MARKER,
        **dict(zip(Article.DERIVED_FIELDS, values, strict=True)),
    )


def _columns(model, instance, skip=("id",)) -> list:
    """The model's columns that a row is written with: every concrete one but `skip` and those the database fills."""
    return [
        f
        for f in model._meta.concrete_fields
        if f.column not in skip and not isinstance(getattr(instance, f.attname), DatabaseDefault)
    ]


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


_STAGE = "corpus_stage"
_DOC_COLUMNS = ("doc_title", "doc_tags_summary", "doc_body")


def _copy_batch(batch: list[Spec], rendered: list[tuple], categories, tags, authors, content_type, timings):
    """PostgreSQL: a batch written with COPY, a few statements in all.

    The articles are copied into a temporary table with their search documents'
    three parts, then inserted from it with the document computed by
    `search_bulk`'s expression (index_article's own), so each row is written
    once, with its vector. Ids are drawn from the table's sequence first, so
    taggings and revisions are copied without a round trip per article. Every
    value goes through the field's own `get_db_prep_save`, as `save()` would.
    """
    t = time.monotonic()
    rows = [_article_row(spec, values, categories, authors) for spec, (values, _) in zip(batch, rendered, strict=True)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('articles_article', 'id')) FROM generate_series(1, %s)", [len(rows)]
        )
        for article, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            article.pk = pk
        fields = _columns(Article, rows[0], skip=("search_vector",))
        names = [f.column for f in fields]
        cursor.execute(f"DROP TABLE IF EXISTS {_STAGE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_STAGE} AS SELECT {', '.join(names)}, "  # noqa: S608 (names from the model)
            + ", ".join(f"''::text AS {c}" for c in _DOC_COLUMNS)
            + " FROM articles_article WITH NO DATA"
        )
        _copy(
            cursor,
            _STAGE,
            [*names, *_DOC_COLUMNS],
            (
                [f.get_db_prep_save(getattr(article, f.attname), connection) for f in fields] + list(parts)
                for article, (_, parts) in zip(rows, rendered, strict=True)
            ),
        )
        vector = search_bulk._vector_sql(*_DOC_COLUMNS)
        cursor.execute(
            f"INSERT INTO articles_article ({', '.join(names)}, search_vector) "  # noqa: S608 (names from the model)
            f"SELECT {', '.join(names)}, {vector} FROM {_STAGE} ORDER BY id",
            [search.CONFIG] * 3,
        )
        cursor.execute(f"DROP TABLE {_STAGE}")
        _copy(
            cursor,
            "taggit_taggeditem",
            ["content_type_id", "object_id", "tag_id"],
            (
                [content_type.pk, article.pk, tags[tag].pk]
                for article, spec in zip(rows, batch, strict=True)
                for tag in spec.tags
            ),
        )
        revisions = [revision_of(article, by=article.author, note="Generated corpus") for article in rows]
        for revision, article in zip(revisions, rows, strict=True):
            revision.created_at = article.updated_at
        fields = _columns(ArticleRevision, revisions[0])
        _copy(
            cursor,
            "articles_articlerevision",
            [f.column for f in fields],
            ([f.get_db_prep_save(getattr(r, f.attname), connection) for f in fields] for r in revisions),
        )
    timings["insert"] += time.monotonic() - t


def zipf_check(tag_counts: list[int]) -> float:
    """The slope of log(count) against log(rank): about -1 for Zipf's law."""
    points = [(math.log(rank), math.log(count)) for rank, count in enumerate(tag_counts, 1) if count]
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
