"""How many public articles each category and tag has, without counting them per request.

Two parts, so that the numbers are right at every instant, including the
moment a scheduled article becomes public with nobody saving anything:

1. `ListingCount` rows hold, per category and per tag, how many articles are
   *published with a date* (`status = published AND published_at IS NOT
   NULL`), whether that date has come or not. Database triggers keep them
   (installed by migration 0010, `install()` below): every insert, update and
   delete of an article, and every tagging added or removed, adjusts them in
   the same transaction, whatever the path (services, admin actions, queryset
   `.update()`, bulk loads, raw SQL). Nothing in Python has to remember to do it.
2. The articles among those whose date is still in the future,
   `Article.objects.scheduled()`, are counted live and subtracted. They are
   few (an index range on `(status, published_at)` above now), so that costs
   next to nothing, and as the clock passes an article's date it stops being
   subtracted: the public count grows by itself, with no job and no save.

`published with a date` is exactly `published()` plus `scheduled()`: both
require the published status, and a date is either past (public) or future
(scheduled). `tests/test_listing_counts.py` checks the counts against
`Article.objects.published()` after every kind of change.

`rebuild()` recomputes every row from the articles (after restores, or if the
triggers were ever dropped); `rebuild_search` calls it too.
"""

# ruff: noqa: S608 (every SQL string here is assembled from this module's constants, never from input)

from django.db import connection, transaction
from django.db.models import Count, F, Func, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

CATEGORY = "category"
TAG = "tag"

# The condition, in SQL, under which an article row counts (see above).
_COUNTS = "{row}.status = 'published' AND {row}.published_at IS NOT NULL"
_ARTICLE_CT = "(SELECT id FROM django_content_type WHERE app_label = 'articles' AND model = 'article')"
_UPSERT = "ON CONFLICT (kind, object_id) DO UPDATE SET published = articles_listingcount.published + excluded.published"


def _add_category(category, delta):
    return (
        "INSERT INTO articles_listingcount (kind, object_id, published) "
        f"VALUES ('category', {category}, {delta}) {_UPSERT};"
    )


def _add_tags(article, delta):
    return (
        "INSERT INTO articles_listingcount (kind, object_id, published) "
        f"SELECT 'tag', tag_id, {delta} FROM taggit_taggeditem "
        f"WHERE content_type_id = {_ARTICLE_CT} AND object_id = {article} {_UPSERT};"
    )


def _add_tag(tag, delta):
    return f"INSERT INTO articles_listingcount (kind, object_id, published) VALUES ('tag', {tag}, {delta}) {_UPSERT};"


def _tagging_counts(row):
    return (
        f"{row}.content_type_id = {_ARTICLE_CT} AND EXISTS (SELECT 1 FROM articles_article a "
        f"WHERE a.id = {row}.object_id AND {_COUNTS.format(row='a')})"
    )


POSTGRES_INSTALL = f"""
CREATE OR REPLACE FUNCTION articles_count_article() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_counts boolean := TG_OP IN ('UPDATE', 'DELETE') AND {_COUNTS.format(row="OLD")};
    new_counts boolean := TG_OP IN ('INSERT', 'UPDATE') AND {_COUNTS.format(row="NEW")};
BEGIN
    IF old_counts AND new_counts THEN
        -- Still counted: only a change of category moves it.
        IF OLD.category_id IS DISTINCT FROM NEW.category_id THEN
            {_add_category("OLD.category_id", -1)}
            {_add_category("NEW.category_id", 1)}
        END IF;
    ELSIF old_counts THEN
        {_add_category("OLD.category_id", -1)}
        {_add_tags("OLD.id", -1)}
    ELSIF new_counts THEN
        {_add_category("NEW.category_id", 1)}
        {_add_tags("NEW.id", 1)}
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION articles_count_tagging() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND {_tagging_counts("OLD")} THEN
        {_add_tag("OLD.tag_id", -1)}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND {_tagging_counts("NEW")} THEN
        {_add_tag("NEW.tag_id", 1)}
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS articles_count_article ON articles_article;
CREATE TRIGGER articles_count_article AFTER INSERT OR UPDATE OR DELETE ON articles_article
    FOR EACH ROW EXECUTE FUNCTION articles_count_article();
DROP TRIGGER IF EXISTS articles_count_tagging ON taggit_taggeditem;
CREATE TRIGGER articles_count_tagging AFTER INSERT OR UPDATE OR DELETE ON taggit_taggeditem
    FOR EACH ROW EXECUTE FUNCTION articles_count_tagging();
"""

POSTGRES_UNINSTALL = """
DROP TRIGGER IF EXISTS articles_count_article ON articles_article;
DROP TRIGGER IF EXISTS articles_count_tagging ON taggit_taggeditem;
DROP FUNCTION IF EXISTS articles_count_article();
DROP FUNCTION IF EXISTS articles_count_tagging();
"""

_OLD, _NEW = _COUNTS.format(row="OLD"), _COUNTS.format(row="NEW")
# SQLite has no procedural triggers: one trigger per case, chosen by WHEN.
SQLITE_TRIGGERS = {
    "articles_count_article_insert": (
        f"AFTER INSERT ON articles_article WHEN {_NEW}",
        _add_category("NEW.category_id", 1) + _add_tags("NEW.id", 1),
    ),
    "articles_count_article_delete": (
        f"AFTER DELETE ON articles_article WHEN {_OLD}",
        _add_category("OLD.category_id", -1) + _add_tags("OLD.id", -1),
    ),
    "articles_count_article_leaves": (
        f"AFTER UPDATE ON articles_article WHEN ({_OLD}) AND NOT ({_NEW})",
        _add_category("OLD.category_id", -1) + _add_tags("OLD.id", -1),
    ),
    "articles_count_article_enters": (
        f"AFTER UPDATE ON articles_article WHEN NOT ({_OLD}) AND ({_NEW})",
        _add_category("NEW.category_id", 1) + _add_tags("NEW.id", 1),
    ),
    "articles_count_article_moves": (
        f"AFTER UPDATE ON articles_article WHEN ({_OLD}) AND ({_NEW}) AND OLD.category_id IS NOT NEW.category_id",
        _add_category("OLD.category_id", -1) + _add_category("NEW.category_id", 1),
    ),
    "articles_count_tagging_insert": (
        f"AFTER INSERT ON taggit_taggeditem WHEN {_tagging_counts('NEW')}",
        _add_tag("NEW.tag_id", 1),
    ),
    "articles_count_tagging_delete": (
        f"AFTER DELETE ON taggit_taggeditem WHEN {_tagging_counts('OLD')}",
        _add_tag("OLD.tag_id", -1),
    ),
    "articles_count_tagging_update_old": (
        f"AFTER UPDATE ON taggit_taggeditem WHEN {_tagging_counts('OLD')}",
        _add_tag("OLD.tag_id", -1),
    ),
    "articles_count_tagging_update_new": (
        f"AFTER UPDATE ON taggit_taggeditem WHEN {_tagging_counts('NEW')}",
        _add_tag("NEW.tag_id", 1),
    ),
}

REBUILD = [
    "DELETE FROM articles_listingcount",
    "INSERT INTO articles_listingcount (kind, object_id, published) "
    f"SELECT 'category', category_id, COUNT(*) FROM articles_article a WHERE {_COUNTS.format(row='a')} "
    "GROUP BY category_id",
    "INSERT INTO articles_listingcount (kind, object_id, published) "
    "SELECT 'tag', t.tag_id, COUNT(*) FROM taggit_taggeditem t JOIN articles_article a ON a.id = t.object_id "
    f"WHERE t.content_type_id = {_ARTICLE_CT} AND {_COUNTS.format(row='a')} GROUP BY t.tag_id",
]


def install(schema_connection=None) -> None:
    """Create (or replace) the triggers that keep `ListingCount` current."""
    conn = schema_connection or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(POSTGRES_INSTALL)
        elif conn.vendor == "sqlite":
            for name, (when, body) in SQLITE_TRIGGERS.items():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                cursor.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
        else:  # pragma: no cover - kb runs on PostgreSQL and SQLite only
            raise NotImplementedError(conn.vendor)


def uninstall(schema_connection=None) -> None:
    conn = schema_connection or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(POSTGRES_UNINSTALL)
        else:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def installed(conn=None) -> bool:
    """Whether every trigger exists (SQLite drops a table's triggers when a migration rebuilds the table)."""
    conn = conn or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT COUNT(*) FROM pg_trigger WHERE tgname IN ('articles_count_article', 'articles_count_tagging')"
            )
            return cursor.fetchone()[0] == 2
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'articles_count_%'")
        return cursor.fetchone()[0] == len(SQLITE_TRIGGERS)


def rebuild(conn=None) -> int:
    """Recompute every `ListingCount` row from the articles and their tags; returns how many rows there are."""
    conn = conn or connection
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            # Writers' triggers wait until the new numbers are in, then apply on top of them.
            cursor.execute("LOCK TABLE articles_listingcount IN SHARE ROW EXCLUSIVE MODE")
        for statement in REBUILD:
            cursor.execute(statement)
        cursor.execute("SELECT COUNT(*) FROM articles_listingcount")
        return cursor.fetchone()[0]


rebuild_listing_counts = rebuild


# --- Reading -----------------------------------------------------------------


def _scheduled_in_category():
    from articles.models import Article

    return (
        Article.objects.scheduled()
        .filter(category_id=OuterRef("object_id"))
        .order_by()
        .values("category_id")
        .annotate(n=Count("pk"))
        .values("n")
    )


def scheduled_per_tag() -> dict[int, int]:
    """Per tag, how many scheduled articles carry it: one grouped query.

    Scheduled articles are few (an index range above now); their taggings are
    probes of the unique index on (content type, article, tag). Subtracted
    from the kept counts as a CASE over these few tags: the former per-tag
    subquery probed every scheduled article once per tag, 400 tags x 200
    articles on the home page (660 ms at 100,000 articles).
    """
    from taggit.models import TaggedItem

    from articles.models import Article

    taggings = TaggedItem.objects.filter(
        content_type_id=_article_content_type_id(), object_id__in=Article.objects.scheduled().values("pk")
    )
    # Never filtered by tag: the planner would then read all of a common tag's taggings (40,000 for `api`).
    return dict(taggings.order_by().values("tag_id").annotate(n=Count("pk")).values_list("tag_id", "n"))


class _Subtracted(Func):
    """The `n` of the row's `object_id` in a {object_id: n} dict, else 0: a simple CASE, written as SQL.

    Built as text because the ORM's Case/When compiles each branch as an expression (about
    50 µs each; 191 tags carry the scheduled articles of the 100,000-article corpus).
    """

    output_field = IntegerField()

    def __init__(self, subtracted: dict[int, int]):
        super().__init__(F("object_id"))
        self.subtracted = sorted(subtracted.items())

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        if not self.subtracted:
            return "0", ()
        branches = " ".join("WHEN %s THEN %s" for _ in self.subtracted)
        return f"(CASE {column} {branches} ELSE 0 END)", (*params, *(v for pair in self.subtracted for v in pair))


def _article_content_type_id() -> int:
    from django.contrib.contenttypes.models import ContentType

    from articles.models import Article

    return ContentType.objects.get_for_model(Article).pk


def public_counts(kind: str, object_id: int | None = None):
    """`ListingCount` rows of one kind annotated with `public`: the published ones whose time has come.

    `object_id`: only that category's or tag's row is wanted (the scheduled ones are then counted for it alone).
    """
    from articles.models import ListingCount

    rows = ListingCount.objects.filter(kind=kind)
    if object_id is not None:
        rows = rows.filter(object_id=object_id)
    if kind == TAG:
        scheduled = scheduled_per_tag()
        if object_id is not None:
            scheduled = {object_id: scheduled[object_id]} if object_id in scheduled else {}
        return rows.annotate(public=F("published") - _Subtracted(scheduled))
    return rows.annotate(
        public=F("published") - Coalesce(Subquery(_scheduled_in_category(), output_field=IntegerField()), Value(0))
    )


def public_count(kind: str, object_id: int) -> int:
    """How many public articles the category or tag has, in one or two small queries."""
    row = public_counts(kind, object_id).values_list("public", flat=True).first()
    return row or 0


def public_total() -> int:
    """How many public articles there are (each has exactly one category)."""
    from articles.models import Article, ListingCount

    published = ListingCount.objects.filter(kind=CATEGORY).aggregate(n=Coalesce(Sum("published"), 0))["n"]
    return published - Article.objects.scheduled().count()


def public_count_expression(kind: str, outer: str = "pk"):
    """An expression for querysets of categories or tags: their public count (0 when none)."""
    counts = public_counts(kind).filter(object_id=OuterRef(outer)).values("public")
    return Coalesce(Subquery(counts[:1], output_field=IntegerField()), Value(0))
