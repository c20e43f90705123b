"""Every page a reader or an editor sees is valid HTML, by the Nu HTML Checker.

The pages are rendered with the test client, written to a temporary folder and
checked by one run of vnu.jar (the `vnu-jar` npm package: `npm ci`, which
`make test` runs), so the JVM starts once. Errors fail the test with the page,
line, message and extract. Warnings do not fail it (the checker's warnings are
advice, e.g. a redundant ARIA role); they are reported as pytest warnings so
they stay visible in the summary. Any other "info" message is advice and is
dropped.
"""

import io
import json
import re
import shutil
import subprocess
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views import defaults
from PIL import Image as PILImage

from articles.models import Article, Category, Image
from kb import errors
from tests.admin_helpers import change_url, form_data
from tests.factories import ArticleFactory, UserFactory

pytestmark = pytest.mark.django_db

VNU_JAR = Path(settings.BASE_DIR) / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

# An article that uses every construct the Markdown pipeline knows.
SHOWCASE_BODY = """\
# A heading written as h1

Intro with **bold**, *emphasis*, `inline code`, a [link](https://example.com/ "Example"),
and a footnote.[^one] A second reference.[^two]

## Code

```python
def retry(call, attempts=3):
    for attempt in range(attempts):
        try:
            return call()
        except TimeoutError:
            continue
```

```
plain fenced block without a language
```

    indented code block

## A table

| Pattern | Use it for | Cost |
| :------ | :--------: | ---: |
| Retry   | blips      | low  |
| Bulkhead | isolation | medium |

### Lists, quotes and images

1. first
2. second
   - nested
   - items

> A quotation, with `code`.

![A diagram of the flow](https://example.com/diagram.png)

Term with <abbr title="HyperText Markup Language">HTML</abbr>, <kbd>Ctrl</kbd>+<kbd>C</kbd>,
and raw HTML the sanitiser cleans: <span style="color:red" onclick="alert(1)">x</span>.

<details><summary>More</summary>Hidden text.</details>

---

[^one]: The first footnote.
[^two]: The second footnote, with `code`.
"""


def png_bytes():
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "blue").save(buffer, format="PNG")
    return buffer.getvalue()


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def fetch(client, url, *, status=200, method="get", data=None, **extra):
    """The page at `url`, which must answer `status`; redirects are followed for POSTs."""
    if method == "post":
        response = client.post(url, data or {}, follow=True, **extra)
    else:
        response = client.get(url, data or {}, **extra)
    assert response.status_code == status, f"{method.upper()} {url} answered {response.status_code}, not {status}"
    assert response["Content-Type"].startswith("text/html"), f"{url} is not HTML: {response['Content-Type']}"
    return response.content.decode()


# ------------------------------------------------------------------ the data


@dataclass
class Site:
    category: Category
    tag: str
    showcase: Article
    draft: Article  # the author's own
    scheduled: Article
    image: Image
    preview_url: str
    in_review: Article | None = None  # the author's, waiting for review (#17)
    sent_back: Article | None = None  # the author's, with changes requested (#17)


@pytest.fixture
def site(seeded, editor, author, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    category = Category.objects.get(slug="product-engineering")
    # Enough public articles in the category for a second page.
    public = Article.objects.published().filter(category=category).count()
    for n in range(max(0, 61 - public)):
        ArticleFactory(category=category, title=f"Filler article {n}", tags=["filler"])
    # The author's own articles, one in each state, so both roles see all three.
    showcase = ArticleFactory(
        category=category,
        title="Every construct",
        slug="every-construct",
        body=SHOWCASE_BODY,
        tags=["security"],
        author=author,
    )
    draft = ArticleFactory(category=category, title="An author's draft", draft=True, author=author, tags=["drafts"])
    # A second version, saved the way the author saves one, so the history has a difference to show.
    body = draft.body + "\nA second paragraph.\n"
    assert logged_in(author).post(change_url(draft), form_data(draft, body=body)).status_code == 302
    draft.refresh_from_db()
    scheduled = ArticleFactory(category=category, title="Coming soon", scheduled=True, author=author)
    image = Image.objects.create(
        file=SimpleUploadedFile("diagram.png", png_bytes(), content_type="image/png"),
        alt_text="A diagram",
        uploaded_by=editor,
    )
    # A reviewer's link to the draft, made the way an editor makes one.
    made = logged_in(editor).post(reverse("admin:articles_article_preview_link", args=[draft.pk]), follow=True)
    preview_url = re.search(r'Preview link for reviewers[^<]*<a href="([^"]+)"', made.content.decode()).group(1)
    # Review before publishing (#17): one waiting, one sent back with a comment.
    from articles import services

    in_review = ArticleFactory(category=category, title="Waiting for review", draft=True, author=author)
    services.submit_for_review(article=in_review, by=author, expected_version=in_review.version)
    sent_back = ArticleFactory(category=category, title="Sent back", draft=True, author=author)
    sent_back = services.submit_for_review(article=sent_back, by=author, expected_version=sent_back.version)
    services.request_changes(
        article=sent_back,
        by=editor,
        expected_version=sent_back.version,
        comment="Add an example.\nAnd a <b>source</b>.",
    )
    in_review.refresh_from_db()
    sent_back.refresh_from_db()
    return Site(category, "security", showcase, draft, scheduled, image, preview_url, in_review, sent_back)


# ------------------------------------------------------------------ the pages


def feedback_pages(site):
    """ "Was this helpful?" (#16): after Yes, after No with the comment form, its errors, the confirmation."""
    article = site.showcase
    url = reverse("articles:feedback", args=[article.slug])
    same_origin = {"HTTP_SEC_FETCH_SITE": "same-origin"}
    reader = Client()
    thanks = reader.post(url, {"helpful": "no"}, **same_origin)["Location"]
    after_no = fetch(reader, thanks)
    token = re.search(r'name="token" value="([^"]+)"', after_no).group(1)
    return {
        "feedback: after no, comment form": after_no,
        "feedback: comment too long (400)": fetch(
            reader, url, method="post", status=400, data={"token": token, "comment": "x" * 1001}
        ),
        "feedback: comment sent": fetch(reader, url, method="post", data={"token": token, "comment": "Step 3 fails"}),
        "feedback: after yes": fetch(Client(), url, method="post", data={"helpful": "yes"}, **same_origin),
        "feedback: already answered": fetch(reader, url, method="post", data={"helpful": "yes"}, **same_origin),
        "feedback: confirm": fetch(Client(), url, method="post", data={"helpful": "yes"}),
        "feedback: bad input (400)": fetch(Client(), url, method="post", status=400, data={"helpful": "maybe"}),
    }


def public_pages(site):
    reader = Client()
    search = reverse("search:search")
    # The showcase is overdue for review: its page shows the reader's notice (#16).
    long_ago = timezone.now() - timedelta(days=430)
    Article.objects.filter(pk=site.showcase.pk).update(last_reviewed_at=long_ago, review_due_at=long_ago)
    pages = {
        "home": fetch(reader, "/"),
        "category": fetch(reader, site.category.get_absolute_url()),
        "category, page 2": fetch(reader, site.category.get_absolute_url(), data={"page": 2}),
        "tag": fetch(reader, f"/tags/{site.tag}/"),
        "search, no query": fetch(reader, search),
        "search, results": fetch(reader, search, data={"q": "circuit breaker"}),
        "search, results page 2": fetch(reader, search, data={"q": "api", "page": 2}),
        "search, filtered": fetch(
            reader, search, data={"q": "jwt", "category": "product-engineering", "tag": "security"}
        ),
        "search, filters only": fetch(reader, search, data={"tag": "security", "sort": "newest"}),
        "search, unknown category": fetch(reader, search, data={"q": "jwt", "category": "nope"}),
        "search, no results": fetch(reader, search, data={"q": "zqxjv"}),
        "search, did you mean": fetch(reader, search, data={"q": "idempotncy keys"}),
        # One seed article misspells "conection": the correction finds more, and offers the words as typed.
        "search, corrected": fetch(reader, search, data={"q": "conection"}),
        "search, verbatim": fetch(reader, search, data={"q": "conection", "verbatim": 1}),
        "search, any word": fetch(reader, search, data={"q": "circuit breaker giraffe"}),
        "search, truncated": fetch(reader, search, data={"q": " ".join(["retry"] * 15)}),
        "search, invalid input (400)": fetch(reader, search, status=400, data={"page": "abc"}),
        "preview link": fetch(reader, site.preview_url),
        "404": fetch(reader, "/no/such/page/", status=404),
        "404 with a message": fetch(reader, site.category.get_absolute_url(), status=404, data={"page": 99}),
        "400": fetch(reader, "/", status=400, HTTP_HOST="bad host name"),
    }
    # Every public article: the seed's bodies cover code, tables and lists; the showcase the rest.
    for article in Article.objects.published().exclude(title__startswith="Filler"):
        pages[f"article {article.slug}"] = fetch(reader, article.get_absolute_url())
    # Error pages a view cannot be made to raise here, rendered by their handlers.
    request = RequestFactory().get("/")
    pages["403"] = defaults.permission_denied(request, PermissionDenied()).content.decode()
    pages["500"] = errors.server_error(request).content.decode()
    pages["503"] = errors.database_unavailable(request).content.decode()
    return pages


def admin_pages(site, user, role):
    """What a member of `role` sees in the admin, from the index to each article's history."""
    client = logged_in(user)
    article_list = reverse("admin:articles_article_changelist")
    draft = site.draft
    revisions = list(draft.revisions.all())
    history = reverse("admin:articles_article_revisions", args=[draft.pk])
    pages = {
        "index": fetch(client, reverse("admin:index")),
        "app index": fetch(client, reverse("admin:app_list", args=["articles"])),
        "articles": fetch(client, article_list),
        "articles, filtered": fetch(
            client, article_list, data={"state": "draft", "category__id__exact": site.category.pk}
        ),
        "articles, searched": fetch(client, article_list, data={"q": "circuit"}),
        "articles, by date": fetch(client, article_list, data={"published_at__year": timezone.now().year}),
        "add article": fetch(client, reverse("admin:articles_article_add")),
        "add article, errors": fetch(
            client, reverse("admin:articles_article_add"), method="post", data={"_save": "Save"}
        ),
        "draft": fetch(client, change_url(draft)),
        "draft, validation error": fetch(
            client, change_url(draft), method="post", data=form_data(draft, title="", slug="not a slug")
        ),
        "draft, edit conflict": fetch(
            client, change_url(draft), method="post", data=form_data(draft, edit_version=draft.version - 1, body="Mine")
        ),
        "draft, preview link made": fetch(
            client, reverse("admin:articles_article_preview_link", args=[draft.pk]), method="post"
        ),
        "scheduled": fetch(client, change_url(site.scheduled)),
        "published": fetch(client, change_url(site.showcase)),
        "revisions": fetch(client, history),
        "revisions, diff": fetch(client, history, data={"from": revisions[-1].pk, "to": revisions[0].pk}),
        "link report": fetch(client, reverse("admin:articles_article_link_report")),
        "least helpful": fetch(client, reverse("admin:articles_article_helpfulness")),
        "reader feedback": fetch(client, reverse("admin:articles_feedback_changelist")),
        "reader feedback, mine": fetch(
            client, reverse("admin:articles_feedback_changelist"), data={"helpful__exact": 0, "owner": "me"}
        ),
        "articles needing review": fetch(client, article_list, data={"review": "needed", "owner": "me"}),
        "images": fetch(client, reverse("admin:articles_image_changelist")),
        "add image": fetch(client, reverse("admin:articles_image_add")),
        "image": fetch(client, reverse("admin:articles_image_change", args=[site.image.pk])),
        "categories": fetch(client, reverse("admin:articles_category_changelist")),
        "category": fetch(client, reverse("admin:articles_category_change", args=[site.category.pk])),
        "revision records": fetch(client, reverse("admin:articles_articlerevision_changelist")),
        "tags": fetch(client, reverse("admin:taggit_tag_changelist")),
        "password change": fetch(client, reverse("admin:password_change")),
        "password change, errors": fetch(
            client, reverse("admin:password_change"), method="post", data={"old_password": "wrong"}
        ),
        "draft article page (staff)": fetch(client, draft.get_absolute_url()),
        "in review": fetch(client, change_url(site.in_review)),
        "changes requested": fetch(client, change_url(site.sent_back)),
        "changes requested, history": fetch(
            client, reverse("admin:articles_article_revisions", args=[site.sent_back.pk])
        ),
        "articles, in review": fetch(client, article_list, data={"state": "in_review"}),
    }
    if role == "editor":
        pages |= {
            "image uploaded": fetch(
                client,
                reverse("admin:articles_image_add"),
                method="post",
                data={
                    "file": SimpleUploadedFile("chart.png", png_bytes(), content_type="image/png"),
                    "alt_text": "A chart",
                    "_save": "Save",
                },
            ),
            "published, edit conflict": fetch(
                client,
                change_url(site.showcase),
                method="post",
                data=form_data(site.showcase, edit_version=site.showcase.version - 1, body="Mine"),
            ),
            "add category": fetch(client, reverse("admin:articles_category_add")),
            "review page": fetch(client, reverse("admin:articles_article_review", args=[site.in_review.pk])),
            "review page, published before": fetch(
                client, reverse("admin:articles_article_review", args=[site.showcase.pk])
            ),
            "delete article": fetch(client, reverse("admin:articles_article_delete", args=[site.scheduled.pk])),
            "article history (Django's)": fetch(client, reverse("admin:articles_article_history", args=[draft.pk])),
            "articles, after an action": fetch(
                client,
                article_list,
                method="post",
                data={"action": "publish_now", "_selected_action": [site.scheduled.pk]},
            ),
        }
    return {f"admin as {role}: {name}": html for name, html in pages.items()}


def login_pages():
    visitor = Client()
    login = reverse("admin:login")
    UserFactory(username="locked", is_staff=True)
    pages = {
        "admin login": fetch(visitor, login),
        "admin login, wrong password": fetch(
            visitor, login, method="post", data={"username": "nobody", "password": "wrong"}
        ),
    }
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        visitor.post(login, {"username": "locked", "password": "wrong"})
    pages["admin login, locked out"] = fetch(
        visitor, login, method="post", status=429, data={"username": "locked", "password": "wrong"}
    )
    staff = logged_in(UserFactory(username="leaving", is_staff=True))
    pages["admin logged out"] = fetch(staff, reverse("admin:logout"), method="post")
    return pages


# ------------------------------------------------------------------ the checker


def vnu_messages(pages: dict[str, str], folder: Path) -> list[dict]:
    """The checker's messages for every page, each with the page's name added."""
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        missing = []
        if java is None:
            missing.append("a Java runtime (apt-get install default-jre-headless)")
        if not VNU_JAR.exists():
            missing.append(
                f"{VNU_JAR.relative_to(settings.BASE_DIR)} (run `npm ci --ignore-scripts`, as `make test` does)"
            )
        pytest.fail("The Nu HTML Checker cannot run; install " + " and ".join(missing))
    names = {}
    for number, (name, html) in enumerate(pages.items()):
        path = folder / f"{number:03d}.html"
        path.write_text(html, encoding="utf-8")
        names[path.name] = name
    (folder / "index.txt").write_text("".join(f"{file}  {name}\n" for file, name in names.items()), encoding="utf-8")
    # A short run: the quick compiler only and the serial collector halve the JVM's CPU time here.
    jvm = [java, "-Xss2m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", str(VNU_JAR)]
    result = subprocess.run(
        [*jvm, "--format", "json", "--stdout", "--exit-zero-always", *sorted(names)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        messages = json.loads(result.stdout)["messages"]
    except (ValueError, KeyError):
        pytest.fail(
            f"vnu did not answer JSON (exit {result.returncode}):\n{result.stdout[:2000]}{result.stderr[:2000]}"
        )
    for message in messages:
        message["page"] = names.get(Path(message.get("url", "")).name, message.get("url", "?"))
    return messages


def describe(message):
    extract = " ".join(message.get("extract", "").split())
    return f"  {message['page']}, line {message.get('lastLine', '?')}: {message['message']}\n      {extract}"


# A page the checker must reject, so a checker that silently checks nothing cannot pass.
CANARY = "checker canary: a nested form"
CANARY_HTML = '<!doctype html><html lang="en"><title>x</title><form><form></form></form></html>'


def test_every_page_a_reader_or_an_editor_sees_is_valid_html(site, editor, author, tmp_path):
    pages = {
        **public_pages(site),
        **feedback_pages(site),
        # The author first: the editor's pages publish the scheduled article.
        **admin_pages(site, author, "author"),
        **admin_pages(site, editor, "editor"),
        **login_pages(),
    }
    messages = vnu_messages({**pages, CANARY: CANARY_HTML}, tmp_path)

    canary = [m for m in messages if m["page"] == CANARY]
    assert any("nested" in m["message"].lower() for m in canary), f"vnu missed a nested form: {canary}"
    messages = [m for m in messages if m["page"] != CANARY]
    # Warnings are advice: shown once per distinct message in pytest's summary, never failing.
    advice = defaultdict(list)
    for message in messages:
        if message["type"] == "info" and message.get("subType") == "warning":
            advice[message["message"]].append(message)
    for seen in advice.values():
        warnings.warn(f"vnu warning, {len(seen)}x, first on{describe(seen[0])[1:]}", stacklevel=1)
    # "non-document-error" means a page could not be checked at all: that fails too.
    problems = [m for m in messages if m["type"] in ("error", "non-document-error")]
    if problems:
        pytest.fail(
            f"The Nu HTML Checker found {len(problems)} errors in {len(pages)} pages "
            f"(they are in {tmp_path}, named in index.txt):\n" + "\n".join(describe(m) for m in problems),
            pytrace=False,
        )
