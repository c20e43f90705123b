"""Every write path, raced for real: a second PostgreSQL connection holds the article's row lock.

Each test opens a page as an editor would (the version it shows is what the
editor saw), then a second connection, psycopg outside Django, locks the row
and, in most tests, writes another editor's save while holding the lock. The
editor's POST runs in a thread; the test waits until PostgreSQL reports that
request blocked behind the second connection, and only then commits. So the
request reads the row exactly when the race is at its worst: after the page
was loaded and while the other write is in flight. Afterwards the test checks
the database (words, category, status, revision numbers unique and
contiguous) and what the losing writer was told.
"""

import html
import re
import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from articles.models import ArticleRevision
from tests.admin_helpers import change_url, form_data
from tests.conftest import member_of
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = reverse("admin:articles_article_changelist")


def connect(**kwargs) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
        **kwargs,
    )


class Holder:
    """A second connection with the article's row locked, in a transaction of its own."""

    def __init__(self, article):
        self.article = article
        self.conn = connect()
        self.pid = self.conn.info.backend_pid
        self.conn.execute("SELECT id FROM articles_article WHERE id = %s FOR UPDATE", [article.pk])

    def save(self, *, user, **changes):
        """Another editor's save, as services.save_article writes it: the row, a version up, and its revision."""
        assignments = ", ".join(f"{column} = %s" for column in changes)
        row = self.conn.execute(
            f"UPDATE articles_article SET {assignments}, version = version + 1, updated_at = now() "
            "WHERE id = %s RETURNING version, title, summary, body, status, published_at",
            [*changes.values(), self.article.pk],
        ).fetchone()
        version, title, summary, body, status, published_at = row
        self.conn.execute(
            "INSERT INTO articles_articlerevision "
            "(article_id, created_at, user_id, title, summary, body, status, published_at, version, note) "
            "VALUES (%s, now(), %s, %s, %s, %s, %s, %s, %s, '')",
            [self.article.pk, user.pk, title, summary, body, status, published_at, version],
        )

    def wait_until_blocking(self, requests=1, timeout=8.0):
        """Until PostgreSQL reports `requests` other backends of this database waiting on a lock.

        The first waits for this connection; a second waits for the first, in
        line for the same row, so both are counted as waiting, not as blocked by us.
        """
        with connect(autocommit=True) as watcher:
            deadline = time.monotonic() + timeout
            while True:
                rows = watcher.execute(
                    "SELECT pid, pg_blocking_pids(pid), wait_event_type, wait_event, state, left(query, 80) "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)",
                    [self.pid],
                ).fetchall()
                waiting = [row for row in rows if row[2] == "Lock"]
                if len(waiting) >= requests and any(self.pid in row[1] for row in waiting):
                    return
                assert time.monotonic() < deadline, f"expected {requests} requests waiting on the row lock: {rows}"
                time.sleep(0.02)

    def commit(self):
        self.conn.commit()
        self.conn.close()


@contextmanager
def row_locked(article):
    holder = Holder(article)
    try:
        yield holder
    finally:
        if not holder.conn.closed:
            holder.conn.rollback()
            holder.conn.close()


class Request(threading.Thread):
    """A request from its own thread, so its own database connection, that may block on the lock."""

    def __init__(self, send):
        super().__init__(daemon=True)
        self.send, self.response, self.error = send, None, None
        self.start()

    def run(self):
        try:
            self.response = self.send()
        except BaseException as error:  # re-raised in the test's thread
            self.error = error
        finally:
            connections.close_all()

    def result(self, timeout=20):
        self.join(timeout)
        assert not self.is_alive(), "the request never finished"
        if self.error is not None:
            raise self.error
        return self.response


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def edith(db):
    return member_of("Editors", "edith")


@pytest.fixture
def olga(db):
    return member_of("Editors", "olga")


@pytest.fixture
def article(article_factory):
    return article_factory(
        title="Retries with backoff", body="First words.\n", category=CategoryFactory(name="Reliability")
    )


def assert_revisions_numbered(article):
    """Exactly one revision per version, 1..n, the last being the article as it is."""
    article.refresh_from_db()
    versions = list(
        ArticleRevision.objects.filter(article=article).order_by("version").values_list("version", flat=True)
    )
    assert versions == list(range(1, len(versions) + 1))
    assert versions[-1] == article.version
    latest = article.revisions.order_by("-version").first()
    assert (latest.title, latest.body, latest.status) == (article.title, article.body, article.status)


def messages_in(response) -> list[str]:
    """The admin's messages as the page shows them (not response.context: template signals cross threads)."""
    page = response.content.decode()
    return [
        html.unescape(text)
        for text in re.findall(r'<ul class="messagelist">.*?</ul>', page, re.S)
        for text in re.findall(r"<li[^>]*>(.*?)</li>", text, re.S)
    ]


def test_two_change_forms_posted_at_once_one_is_saved_the_other_is_shown_the_difference(edith, olga, article):
    start = form_data(article)
    editors = {"edith": logged_in(edith), "olga": logged_in(olga)}
    with row_locked(article) as holder:  # holds both posts at the lock until both are in flight
        posts = {
            name: Request(lambda c=client, n=name: c.post(change_url(article), {**start, "body": f"{n}'s words."}))
            for name, client in editors.items()
        }
        holder.wait_until_blocking(requests=2)
        holder.commit()
    responses = {name: request.result() for name, request in posts.items()}

    saved = [name for name, response in responses.items() if response.status_code == 302]
    refused = [name for name, response in responses.items() if response.status_code == 200]
    assert len(saved) == 1 and len(refused) == 1, {n: r.status_code for n, r in responses.items()}
    winner, loser = saved[0], refused[0]
    article.refresh_from_db()
    assert article.body == f"{winner}'s words."
    assert article.category.name == "Reliability"
    page = responses[loser].content.decode()
    assert f"{winner} saved this article while you were editing it (version 2)" in page
    assert f"{loser}&#x27;s words." in page  # the loser's text is still in the form
    [message] = messages_in(responses[loser])
    first, second = article.revisions.get(version=1), article.revisions.get(version=2)
    assert f"{winner.capitalize()} saved “Retries with backoff” while you were editing it" in message
    assert f"?from={first.pk}&to={second.pk}" in message
    assert_revisions_numbered(article)
    assert article.version == 2


def test_restore_posted_while_another_save_is_in_flight_is_refused_and_keeps_their_save(edith, olga, article):
    editor = logged_in(edith)
    editor.post(change_url(article), form_data(article, body="Second words.\n"))
    first = article.revisions.get(version=1)
    history = editor.get(reverse("admin:articles_article_revisions", args=[article.pk])).content.decode()
    seen = re.search(r'name="expected_version" value="(\d+)"', history).group(1)
    assert seen == "2"
    moved_to = CategoryFactory(name="Operations")

    with row_locked(article) as holder:
        holder.save(user=olga, body="Olga's words.\n", category_id=moved_to.pk)
        restore = Request(
            lambda: editor.post(
                reverse("admin:articles_article_restore", args=[article.pk, first.pk]),
                {"expected_version": seen},
                follow=True,
            )
        )
        holder.wait_until_blocking()
        holder.commit()
    response = restore.result()

    article.refresh_from_db()
    assert (article.body, article.category, article.version) == ("Olga's words.\n", moved_to, 3)
    assert_revisions_numbered(article)
    [message] = messages_in(response)
    assert "Version 1 was not restored: olga saved “Retries with backoff” after you opened its history" in message
    assert "(you saw version 2, it is now version 3)" in message
    seen_revision, current = article.revisions.get(version=2), article.revisions.get(version=3)
    # The editor lands on the history comparing what they saw with what Olga saved.
    assert response.redirect_chain[-1][0].endswith(f"?from={seen_revision.pk}&to={current.pk}")
    assert '<span class="diff-add">+ Olga&#x27;s words.</span>' in response.content.decode()


def test_two_restores_at_once_one_is_restored_the_other_is_told(edith, olga, article):
    editors = {"edith": logged_in(edith), "olga": logged_in(olga)}
    editors["edith"].post(change_url(article), form_data(article, body="Second words.\n"))
    article.refresh_from_db()
    editors["edith"].post(change_url(article), form_data(article, body="Third words.\n"))
    wanted = {"edith": article.revisions.get(version=1), "olga": article.revisions.get(version=2)}

    with row_locked(article) as holder:
        restores = {
            name: Request(
                lambda c=client, r=wanted[name]: c.post(
                    reverse("admin:articles_article_restore", args=[article.pk, r.pk]),
                    {"expected_version": "3"},
                    follow=True,
                )
            )
            for name, client in editors.items()
        }
        holder.wait_until_blocking(requests=2)
        holder.commit()
    responses = {name: request.result() for name, request in restores.items()}

    told = {name: messages_in(response)[-1] for name, response in responses.items()}
    restored = [name for name, message in told.items() if message.startswith("Restored version")]
    refused = [name for name, message in told.items() if "was not restored" in message]
    assert len(restored) == 1 and len(refused) == 1, told
    winner, loser = restored[0], refused[0]
    article.refresh_from_db()
    assert article.body == wanted[winner].body
    assert f"was not restored: {winner} saved “Retries with backoff”" in told[loser]
    assert "(you saw version 3, it is now version 4)" in told[loser]
    assert_revisions_numbered(article)
    assert article.version == 4
    assert article.revisions.get(version=4).note == f"Restored version {wanted[winner].version}"


def list_versions(client) -> dict[str, str]:
    """The hidden version beside each row of the article list: what the editor saw."""
    return dict(re.findall(r'name="(seen_version_\d+)" value="(\d+)"', client.get(CHANGELIST).content.decode()))


def test_publish_now_while_another_save_is_in_flight_skips_the_article_and_says_who(edith, olga, article_factory):
    draft = article_factory(title="Draft under review", body="Reviewed words.\n", draft=True)
    editor = logged_in(edith)
    seen = list_versions(editor)
    assert seen == {f"seen_version_{draft.pk}": "1"}

    with row_locked(draft) as holder:
        holder.save(user=olga, body="Unreviewed words.\n")
        action = Request(
            lambda: editor.post(
                CHANGELIST, {"action": "publish_now", "_selected_action": [draft.pk], **seen}, follow=True
            )
        )
        holder.wait_until_blocking()
        holder.commit()
    response = action.result()

    draft.refresh_from_db()
    assert draft.status == "draft"  # the words Edith never saw are not published
    assert draft.body == "Unreviewed words.\n" and draft.version == 2
    assert_revisions_numbered(draft)
    error, success = messages_in(response)
    assert error.startswith(
        "“Draft under review” was not published: olga saved it after you loaded this list "
        "(you saw version 1, it is now version 2)."
    )
    first, second = draft.revisions.get(version=1), draft.revisions.get(version=2)
    assert f"?from={first.pk}&to={second.pk}" in error
    assert success == "Published 0 articles."


def test_unpublish_while_another_save_is_in_flight_skips_the_article_and_keeps_their_save(edith, olga, article_factory):
    public = article_factory(title="Live article", body="Live words.\n")
    other = article_factory(title="Another live one")
    editor = logged_in(edith)
    seen = list_versions(editor)
    moved_to = CategoryFactory(name="Operations")

    with row_locked(public) as holder:
        holder.save(user=olga, summary="A better summary.", category_id=moved_to.pk)
        action = Request(
            lambda: editor.post(
                CHANGELIST, {"action": "unpublish", "_selected_action": [public.pk, other.pk], **seen}, follow=True
            )
        )
        holder.wait_until_blocking()
        holder.commit()
    response = action.result()

    public.refresh_from_db()
    assert (public.status, public.summary, public.category) == ("published", "A better summary.", moved_to)
    assert_revisions_numbered(public)
    other.refresh_from_db()
    assert other.status == "draft"  # the row nobody touched was unpublished
    assert_revisions_numbered(other)
    error, success = messages_in(response)
    assert error.startswith("“Live article” was not moved back to draft: olga saved it after you loaded this list")
    assert success == "Moved 1 article back to draft."


def test_publish_now_waits_for_a_save_of_the_same_version_and_publishes_only_what_is_current(
    edith, olga, article_factory
):
    """The action locks the row: when the lock holder changes nothing, the publish goes through after it."""
    draft = article_factory(title="Ready", draft=True)
    editor = logged_in(edith)
    seen = list_versions(editor)
    with row_locked(draft) as holder:
        action = Request(
            lambda: editor.post(
                CHANGELIST, {"action": "publish_now", "_selected_action": [draft.pk], **seen}, follow=True
            )
        )
        holder.wait_until_blocking()
        holder.commit()
    assert messages_in(action.result()) == ["Published 1 article."]
    draft.refresh_from_db()
    assert draft.status == "published" and draft.version == 2
    assert_revisions_numbered(draft)
