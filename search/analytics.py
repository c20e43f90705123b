"""Search analytics (#13): what readers search for, what they find, and what they open.

How a search is recorded, and why this way
------------------------------------------
The search page is cached (articles/caching.py): most views of a popular
search are served from the cache, before any view code runs, as the same bytes
for every reader. Only something that runs per view can count those, so every
view is counted the same way, after the page has loaded:

- the page carries a signed *token* (`page_token`): the normalised query, the
  result count, whether it was corrected or relaxed, how long the server took,
  the page number and the ids of the results shown, in order;
- the page's script (static/search/analytics.js) sends the token with
  `navigator.sendBeacon` once per page view, with a random id for this view
  (never a cookie, never reused), and again with a result's index when the
  reader opens a result; links stay plain links, so navigation never waits;
- without JavaScript, a `<noscript>` image sends the token instead (no clicks).

So the search page itself writes nothing: recording costs it one signature,
and the insert happens in a separate, tiny request (`record_search`, one
INSERT) after the page is shown. Misses and hits are counted alike, with no
double counting; crawlers that run no script and load no images are not
counted. The token is signed, so nobody can invent a query's result count or
a click on an article that was not shown; replaying a token (which is what a
reload is) is bounded by a per-address rate limit and a site-wide cap
(`allow`). Nothing identifies the reader: no address, user or cookie is stored.

Bounded: queries are normalised and cut to 200 characters, rows older than
SEARCH_LOG_RETENTION_DAYS are deleted (`purge`, the purge_search_log command,
and a batch an hour from the beacon itself), and clicks per search are capped.
"""

import csv
import datetime as dt
import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache, caches
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from redis.exceptions import RedisError

from search.promotions import normalise_query

logger = logging.getLogger("search.analytics")

SALT = "search.analytics.v1"
# A page may be read long after it was rendered (a cached page, a tab left open);
# a token older than this records nothing.
TOKEN_MAX_AGE = timedelta(days=1)
MAX_TOKEN_CHARS = 2000
MAX_CLICKS_PER_SEARCH = 20
# Rows deleted per statement when purging: short transactions, no long locks.
PURGE_BATCH = 5000
PERIODS = (7, 30, 90)
REPORT_ROWS = 50
CSV_ROWS = 10_000

_CACHE_ERRORS = (RedisError, OSError)


class InvalidBeacon(ValueError):
    """A token or click that cannot be trusted or used: answered 400, nothing recorded."""


# ---------------------------------------------------------------- the page's token


def enabled() -> bool:
    return settings.SEARCH_ANALYTICS


def page_token(
    *, q: str, results: int, corrected: bool, relaxed: bool, duration_ms: float, page: int, offset: int, shown, picks=0
) -> str:
    """The signed token a search page carries for its beacon; "" when nothing is to be recorded.

    `shown` is the ids of the results on the page, in the order shown (the
    editor's picks first, `picks` of them); `offset` how many results came
    before the page's first.
    """
    query = normalise_query(q)
    if not (enabled() and query):
        return ""
    payload = {
        "q": query,
        "n": int(results),
        "c": int(bool(corrected)),
        "r": int(bool(relaxed)),
        "ms": max(0, round(duration_ms)),
        "p": int(page),
        "o": int(offset),
        "a": [int(pk) for pk in shown],
        "k": int(picks),
    }
    return signing.dumps(payload, salt=SALT, compress=True)


@dataclass(frozen=True)
class Seen:
    query: str
    results: int
    corrected: bool
    relaxed: bool
    duration_ms: int
    page: int
    offset: int
    shown: tuple
    picks: int


def read_token(token: str) -> Seen:
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidBeacon("missing or oversized token")
    try:
        data = signing.loads(token, salt=SALT, max_age=TOKEN_MAX_AGE)
        seen = Seen(
            query=normalise_query(str(data["q"])),
            results=max(0, int(data["n"])),
            corrected=bool(data["c"]),
            relaxed=bool(data["r"]),
            duration_ms=min(max(0, int(data["ms"])), 2**31 - 1),
            page=min(max(1, int(data["p"])), 32767),
            offset=max(0, int(data["o"])),
            shown=tuple(int(pk) for pk in data["a"]),
            picks=max(0, int(data["k"])),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvalidBeacon("bad token") from error
    if not seen.query:
        raise InvalidBeacon("empty query")
    return seen


# ---------------------------------------------------------------- recording


def record_search(token: str, view: uuid.UUID | None = None, *, now=None):
    """One INSERT: the search this token describes, seen once more. Returns the row.

    The same view id twice (a beacon sent again) records nothing new.
    """
    seen = read_token(token)
    return _insert(seen, view, now or timezone.now())


def _insert(seen: Seen, view, now):
    from search.models import QueryLog

    try:
        with transaction.atomic():
            return QueryLog.objects.create(
                query=seen.query,
                results=seen.results,
                corrected=seen.corrected,
                relaxed=seen.relaxed,
                duration_ms=seen.duration_ms,
                page=seen.page,
                script=view is not None,
                view=view,
                searched_at=now,
            )
    except IntegrityError:
        if view is None:
            raise
        return QueryLog.objects.filter(view=view).first()


def record_click(token: str, view: uuid.UUID, index: int, *, now=None):
    """The reader opened the `index`th result shown by this page view. Returns the click, or None past the cap.

    Finds the view's search by its id (recording it first if its own beacon
    has not arrived), adds the click and counts it on the search.
    """
    from search.models import QueryLog, ResultClick

    seen = read_token(token)
    if not 0 <= index < len(seen.shown):
        raise InvalidBeacon("no such result")
    now = now or timezone.now()
    search = QueryLog.objects.filter(view=view).only("id", "clicks", "query").first() or _insert(seen, view, now)
    if search.query != seen.query:
        raise InvalidBeacon("the view id belongs to another search")
    if search.clicks >= MAX_CLICKS_PER_SEARCH:
        return None
    from articles.models import Article

    article_id = seen.shown[index]
    # Asked first: the foreign key is checked only at commit, where a deleted article would be an error.
    if not Article.objects.filter(pk=article_id).exists():
        raise InvalidBeacon("the result no longer exists")
    try:
        with transaction.atomic():
            click = ResultClick.objects.create(
                search_id=search.pk,
                article_id=article_id,
                position=min(seen.offset + index + 1, 32767),
                promoted=index < seen.picks,
                clicked_at=now,
            )
            QueryLog.objects.filter(pk=search.pk).update(clicks=F("clicks") + 1)
    except IntegrityError as error:  # the article was deleted a moment ago
        raise InvalidBeacon("the result no longer exists") from error
    return click


# ---------------------------------------------------------------- bounds: rate, size, age

_local_counts: dict[tuple[int, str], int] = {}
_local_lock = threading.Lock()


def allow(client: str) -> bool:
    """Whether another beacon from `client` may be recorded this minute.

    At most SEARCH_LOG_RATE_PER_MINUTE per client address and
    SEARCH_LOG_MAX_PER_MINUTE for the whole site, counted in Redis (one round
    trip) when the cache is Redis, else in this process. The address is
    hashed into a key that expires with its minute; it is never stored.
    """
    minute = int(time.time() // 60)
    who = hashlib.sha256(f"{minute}:{client}".encode()).hexdigest()[:24]
    per_client, site_wide = settings.SEARCH_LOG_RATE_PER_MINUTE, settings.SEARCH_LOG_MAX_PER_MINUTE
    backend = caches["default"]
    if hasattr(backend, "redis"):
        try:
            keys = [backend.make_and_validate_key(f"search-log:{minute}:{name}") for name in (who, "all")]
            pipe = backend.redis().pipeline(transaction=False)
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, 120)
            mine, _, everyone, _ = pipe.execute()
            return mine <= per_client and everyone <= site_wide
        except _CACHE_ERRORS:
            logger.warning("Search log rate limit unavailable (Redis unreachable); counting in this process")
    with _local_lock:
        if any(key[0] != minute for key in _local_counts):
            _local_counts.clear()
        mine = _local_counts[minute, who] = _local_counts.get((minute, who), 0) + 1
        everyone = _local_counts[minute, ""] = _local_counts.get((minute, ""), 0) + 1
    return mine <= per_client and everyone <= site_wide


def retention_cutoff(now=None):
    return (now or timezone.now()) - timedelta(days=settings.SEARCH_LOG_RETENTION_DAYS)


def purge(*, now=None, batches: int | None = None) -> int:
    """Delete searches (and their clicks) older than the retention period, PURGE_BATCH at a time.

    `batches` bounds the work (None: until none is left). Returns how many searches were deleted.
    """
    from search.models import QueryLog

    cutoff, deleted, done = retention_cutoff(now), 0, 0
    while batches is None or done < batches:
        ids = list(
            QueryLog.objects.filter(searched_at__lt=cutoff)
            .order_by("searched_at")
            .values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not ids:
            break
        with transaction.atomic():
            # The clicks go with their searches, in one DELETE per table.
            _, by_model = QueryLog.objects.filter(pk__in=ids).delete()
        deleted += by_model.get(QueryLog._meta.label, 0)
        done += 1
    return deleted


PURGE_EVERY_SECONDS = 3600


def purge_now_and_then(now=None) -> None:
    """One bounded purge batch at most once an hour (site-wide), so the log stays bounded without cron."""
    try:
        if not cache.add("search-log:purged", 1, PURGE_EVERY_SECONDS):
            return
    except _CACHE_ERRORS:
        return
    purge(now=now, batches=1)


# ---------------------------------------------------------------- the report


def since(days: int, now=None):
    return (now or timezone.now()) - timedelta(days=days)


# One scan of the period's searches, one GROUP BY by query, kept once (MATERIALIZED) and read four
# times: the three lists, each sorted and cut in the database, and the totals. Counts are of first
# pages ("searches"), so paging through results is not searching again; opened results count on any
# page. "Watched" searches are those the page's script recorded, the only ones whose opened results
# can be known. Each list is a subquery of its own, so that it has its own ORDER BY and LIMIT (SQLite too).
_REPORT_SQL = """
WITH g AS MATERIALIZED (
    SELECT query,
        count(*) FILTER (WHERE page = 1) AS searches,
        count(*) FILTER (WHERE page = 1 AND results = 0) AS zero,
        CAST(avg(results) FILTER (WHERE page = 1) AS DOUBLE PRECISION) AS average_results,
        count(*) FILTER (WHERE page = 1 AND script) AS watched,
        count(*) FILTER (WHERE clicks > 0) AS opened,
        count(*) FILTER (WHERE page = 1 AND clicks > 0) AS opened_first,
        count(*) FILTER (WHERE page = 1 AND script AND results > 0) AS watched_found,
        count(*) FILTER (WHERE script AND results > 0 AND clicks > 0) AS opened_found,
        max(searched_at) AS last,
        max(searched_at) FILTER (WHERE page = 1 AND results = 0) AS last_zero
    FROM {table} WHERE searched_at >= %s GROUP BY query
)
SELECT * FROM (SELECT 'top', query, searches, average_results, opened, watched, last, 0, 0 FROM g
    WHERE searches > 0 ORDER BY searches DESC, query LIMIT %s) AS top
UNION ALL
SELECT * FROM (SELECT 'zero', query, zero, CAST(NULL AS DOUBLE PRECISION), 0, 0, last_zero, 0, 0 FROM g
    WHERE zero > 0 ORDER BY zero DESC, query LIMIT %s) AS zero
UNION ALL
SELECT * FROM (SELECT 'unopened', query, watched_found, average_results, 0, watched_found, last, 0, 0 FROM g
    WHERE watched_found > 0 AND opened_found = 0 ORDER BY watched_found DESC, query LIMIT %s) AS unopened
UNION ALL
SELECT 'totals', '', coalesce(sum(searches), 0), CAST(NULL AS DOUBLE PRECISION), coalesce(sum(opened_first), 0),
    coalesce(sum(watched), 0), max(last), coalesce(sum(zero), 0), count(*) FILTER (WHERE searches > 0) FROM g
"""


def report(days: int, *, limit=REPORT_ROWS, now=None) -> dict:
    """The search report for the last `days`: {"top", "zero", "unopened": [rows], "totals": {...}}, in one query."""
    from search.models import QueryLog

    sql = _REPORT_SQL.format(table=connection.ops.quote_name(QueryLog._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [since(days, now), limit, limit, limit])
        rows = cursor.fetchall()
    result = {"top": [], "zero": [], "unopened": [], "totals": {}}
    for kind, query, searches, average, opened, watched, last, zero, queries in rows:
        if kind == "totals":
            # int(): PostgreSQL sums bigints as numeric.
            result["totals"] = {
                "searches": int(searches), "zero": int(zero), "watched": int(watched), "opened": int(opened),
                "queries": int(queries),
            }  # fmt: skip
            continue
        if isinstance(last, str):  # SQLite hands raw SQL's dates back as text
            last = parse_datetime(last)
            last = last if last is None or timezone.is_aware(last) else timezone.make_aware(last, dt.UTC)
        row = {"query": query, "searches": searches, "last": last}
        if kind != "zero":
            row["average_results"] = None if average is None else float(average)
        if kind == "top":
            row.update(opened=opened, watched=watched)
        result[kind].append(row)
    return result


def top_queries(days: int, *, limit=REPORT_ROWS, now=None) -> list[dict]:
    """The most searched queries: searches, average results, how many searches opened a result."""
    return report(days, limit=limit, now=now)["top"]


def zero_result_queries(days: int, *, limit=REPORT_ROWS, now=None) -> list[dict]:
    """Queries that found nothing: what readers looked for and the knowledge base does not have."""
    return report(days, limit=limit, now=now)["zero"]


def unopened_queries(days: int, *, limit=REPORT_ROWS, now=None) -> list[dict]:
    """Queries that found results nobody opened, among searches whose clicks could be seen (script on)."""
    return report(days, limit=limit, now=now)["unopened"]


def totals(days: int, now=None) -> dict:
    return report(days, limit=0, now=now)["totals"]


# Each list of the report: its title and the columns of its CSV.
REPORTS = {
    "top": ("Top queries", ["query", "searches", "average_results", "opened", "watched", "last"]),
    "zero": ("Queries with no results", ["query", "searches", "last"]),
    "unopened": ("Queries whose results nobody opens", ["query", "searches", "average_results", "last"]),
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text: a reader's query starting with "=" must not run as a formula."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def write_csv(stream, name: str, days: int, now=None) -> None:
    _, columns = REPORTS[name]
    writer = csv.writer(stream)
    writer.writerow(columns)
    for row in report(days, limit=CSV_ROWS, now=now)[name]:
        writer.writerow([csv_cell(row.get(column)) for column in columns])


# ---------------------------------------------------------------- the editors' dashboard

DASHBOARD_ITEMS = 8


def zero_result_searches(user, *, since=None):
    """The dashboard's "Searches with no results" (articles/freshness.py's hook): [(query, times)], or None.

    None (the dashboard leaves the list out) for users who may not see the report.
    """
    from search.models import QueryLog

    if not user.has_perm("search.view_search_report"):
        return None
    rows = (
        QueryLog.objects.filter(searched_at__gte=since or timezone.now() - timedelta(days=7), results=0, page=1)
        .order_by()
        .values("query")
        .annotate(times=Count("pk"))
        .order_by("-times", "query")[:DASHBOARD_ITEMS]
    )
    return [(row["query"], row["times"]) for row in rows]
