from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager

from articles.querysets import ArticleQuerySet, CategoryQuerySet
from articles.rendering import render_markdown


def validate_body_size(value: str) -> None:
    limit = settings.ARTICLE_BODY_MAX_BYTES
    size = len(value.encode("utf-8"))
    if size > limit:
        raise ValidationError(
            "The body is %(size)s; the limit is %(limit)s. Split it into several articles.",
            code="body_too_large",
            params={"size": filesizeformat(size), "limit": filesizeformat(limit)},
        )


class Category(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True, help_text="Used in the category's URL.")
    description = models.TextField(blank=True, help_text="Plain text shown under the category's name.")
    position = models.PositiveIntegerField(default=0, help_text="Categories are listed by position, then name.")
    review_interval_days = models.PositiveIntegerField(
        default=182,
        choices=[
            (0, "Never"),
            (30, "Every month"),
            (91, "Every 3 months"),
            (182, "Every 6 months"),
            (365, "Every year"),
            (730, "Every 2 years"),
        ],
        help_text="How often its articles are reviewed, unless an article says otherwise.",
    )

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("articles:category", kwargs={"slug": self.slug})


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, help_text="The article's URL: letters, digits and hyphens.")
    summary = models.TextField(
        max_length=500, help_text="One or two plain-text sentences, shown in listings and search results."
    )
    body = models.TextField(
        validators=[validate_body_size],
        help_text="Markdown. Fenced code blocks are highlighted; raw HTML is sanitised.",
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="articles")
    tags = TaggableManager(blank=True, help_text="A comma-separated list of tags.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="articles"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="A time in the future schedules the article: it appears by itself then."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Derived from `body` at save time, never per request.
    body_html = models.TextField(editable=False, default="")
    toc_html = models.TextField(editable=False, default="")
    body_text = models.TextField(editable=False, default="", help_text="Plain text of the body, for search snippets.")
    word_count = models.PositiveIntegerField(editable=False, default=0)
    reading_time = models.PositiveIntegerField(editable=False, default=1, help_text="Minutes.")

    # PostgreSQL: the weighted search document (title A, tags and summary B,
    # body C), kept current by articles.search on every save and tag change,
    # with a GIN index created in migration 0003. Unused on SQLite (FTS5 there).
    search_vector = SearchVectorField(null=True, editable=False)

    # Optimistic locking: every save bumps it; a form holding an older number
    # was opened before someone else's save and must not overwrite it.
    version = models.PositiveIntegerField(default=1, editable=False)

    # What `load_seed` last wrote, so it can tell an editor's change from its own.
    seed_checksum = models.CharField(max_length=64, editable=False, blank=True, default="")

    # Knowledge that stays true (#16, articles/freshness.py): who answers for the
    # article, how often it is reviewed, and when it was last confirmed accurate.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_articles",
        help_text="Reviews it and gets its reminders. Empty: its author, else the editor who publishes it.",
    )
    review_interval_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        choices=[(None, "The category's interval"), *Category._meta.get_field("review_interval_days").choices],
        help_text="How often it is reviewed.",
    )
    last_reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    # Derived: last_reviewed_at plus the interval in force; None when it is never reviewed.
    review_due_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)

    # Review before publishing (#17, services.submit_for_review and the rest): a
    # draft waiting for an editor, or sent back with a comment. Empty otherwise.
    class Moderation(models.TextChoices):
        NONE = "", "None"
        IN_REVIEW = "in_review", "In review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    moderation = models.CharField(
        max_length=20, choices=Moderation.choices, default=Moderation.NONE, blank=True, editable=False
    )
    # When it was last submitted: the review queue is oldest first.
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)

    DERIVED_FIELDS = ("body_html", "toc_html", "body_text", "word_count", "reading_time")

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        permissions = [("publish_article", "Can publish, schedule and unpublish articles")]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_public_idx"),
            models.Index(fields=["category", "status", "-published_at"], name="article_category_public_idx"),
            # The editors' review queue (#17): only the few articles waiting, oldest first.
            models.Index(
                fields=["submitted_at"], condition=models.Q(moderation="in_review"), name="article_review_queue_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "body" in update_fields:
            self.render()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, *self.DERIVED_FIELDS}
        if self.pk is not None:
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        # The search document follows in articles/signals.py (post_save), after the row is written.
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("articles:article", kwargs={"slug": self.slug})

    def render(self) -> None:
        validate_body_size(self.body)
        rendered = render_markdown(self.body)
        self.body_html = rendered.html
        self.toc_html = rendered.toc_html
        self.body_text = rendered.text
        self.word_count = rendered.word_count
        self.reading_time = rendered.reading_time

    @property
    def updated_after_publishing(self) -> bool:
        """Whether readers should see an "Updated" date: changed on a later day than it went out."""
        if self.published_at is None:
            return False
        return timezone.localdate(self.updated_at) > timezone.localdate(self.published_at)

    @property
    def state(self) -> str:
        """Draft, Scheduled or Published, for badges and banners.

        Access is decided by `ArticleQuerySet.published()`; this only labels.
        """
        if self.status != self.Status.PUBLISHED or self.published_at is None:
            return "Draft"
        return "Scheduled" if self.published_at > timezone.now() else "Published"


class ArticleRevision(models.Model):
    """A snapshot taken at every save, so no editor's words are ever lost."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    title = models.CharField(max_length=200)
    summary = models.TextField()
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Article.Status.choices)
    published_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField()
    note = models.CharField(max_length=200, blank=True)
    # db_default: a process from before this column (a rolling deploy) still inserts revisions.
    reviewed = models.BooleanField(
        default=False, db_default=False, help_text="This version was confirmed accurate (a review)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One revision per version: two writers can never both record "version 5".
            models.UniqueConstraint(fields=["article", "version"], name="articlerevision_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.article} (version {self.version})"


class ModerationEvent(models.Model):
    """One step of the review workflow (#17): who moved the article from which state to which, when, and why.

    States are those of `services.MODERATION_STATES`: draft, in_review,
    changes_requested, published, scheduled.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="moderation_events")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    comment = models.TextField(blank=True)
    # The article's version this step wrote (its revision has the same number).
    version = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.article}: {self.from_state} → {self.to_state}"


class SlugRedirect(models.Model):
    """An article's former slug, answered with a 301 to its current URL."""

    old_slug = models.SlugField(max_length=200, unique=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="slug_redirects")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.old_slug} → {self.article.slug}"


def validate_image_size(file) -> None:
    limit = settings.IMAGE_UPLOAD_MAX_BYTES
    if file.size > limit:
        raise ValidationError(
            "The image is %(size)s; the limit is %(limit)s.",
            code="image_too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
        )


def image_upload_to(instance, filename: str) -> str:
    # Never trust the uploaded name: a random name keeps paths safe and unguessable.
    import secrets
    from pathlib import PurePath

    extension = PurePath(filename).suffix.lower()
    if extension not in {".png", ".jpg", ".jpeg", ".gif", ".webp"}:
        extension = ".img"
    return f"images/{timezone.now():%Y/%m}/{secrets.token_hex(12)}{extension}"


class Image(models.Model):
    """An image uploaded by an editor, to be used in article bodies."""

    file = models.ImageField(
        upload_to=image_upload_to,
        validators=[
            validate_image_size,
            FileExtensionValidator(allowed_extensions=["png", "jpg", "jpeg", "gif", "webp"]),
        ],
        help_text="PNG, JPEG, GIF or WebP, at most 5 MB.",
    )
    alt_text = models.CharField(max_length=200, help_text="Describe the image for readers who cannot see it.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.alt_text

    @property
    def markdown(self) -> str:
        alt = self.alt_text.replace("[", "(").replace("]", ")")
        return f"![{alt}]({self.file.url})"


class PreviewLinkQuerySet(models.QuerySet):
    def active(self):
        """Links that still open: not revoked and not expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class PreviewLink(models.Model):
    """A shareable link that shows an unpublished article, as it is now, to a reviewer without an account.

    A record rather than a bare signature, so that it has an owner, can be
    listed and revoked, and shows when it was last used.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="preview_links")
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_opened_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = PreviewLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Preview link for {self.article} by {self.created_by or 'someone'}"

    def get_absolute_url(self) -> str:
        return reverse("articles:preview", kwargs={"token": self.token})

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class ListingCount(models.Model):
    """How many articles are published with a date, per category and per tag; kept by database triggers.

    The public count is this minus the scheduled ones, counted live (articles/counts.py),
    so it is right the moment a scheduled article's time comes.
    """

    kind = models.CharField(max_length=8, choices=[("category", "Category"), ("tag", "Tag")])
    object_id = models.BigIntegerField()
    published = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="listingcount_unique_object")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}: {self.published}"


class SearchWord(models.Model):
    """A word of the public articles, as readers type it, and in how many articles it is: the typo vocabulary.

    Kept by database triggers, never per request; articles/lexicon.py says how,
    and how scheduled articles are kept out of suggestions until their time.
    """

    word = models.CharField(max_length=40, primary_key=True)
    ndoc = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.word}: {self.ndoc}"


class SearchLexeme(models.Model):
    """A lexeme of the articles' search vectors and in how many articles it is (document frequency, for ranking)."""

    lexeme = models.CharField(max_length=2048, primary_key=True)
    ndoc = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.lexeme}: {self.ndoc}"


# ---------------------------------------------------------------- knowledge that stays true (#16)


class Feedback(models.Model):
    """A reader's answer to "Was this helpful?" (articles/feedback.py), anonymous.

    `voter` is a salted hash of the reader's signed cookie and the day: it
    keeps one answer per reader, article and day without storing who they are,
    and never an IP address.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    comment = models.TextField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    day = models.DateField()
    voter = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "reader feedback"
        verbose_name_plural = "reader feedback"
        constraints = [models.UniqueConstraint(fields=["article", "day", "voter"], name="feedback_one_per_reader_day")]
        indexes = [models.Index(fields=["article", "helpful"], name="feedback_article_helpful_idx")]

    def __str__(self) -> str:
        return f"{'Yes' if self.helpful else 'No'} on {self.article}"


class ArticleLink(models.Model):
    """A link from one article's body to another article's address, recorded at save (articles/links.py).

    Only the slug as written is stored; what it points at (an article, a
    redirect to one, nothing) is resolved when read, so renames, deletions
    and publications are always reflected.
    """

    source = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="outgoing_links")
    target_slug = models.CharField(max_length=200, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "target_slug"], name="articlelink_unique")]

    def __str__(self) -> str:
        return f"{self.source} → /articles/{self.target_slug}/"


class ReviewReminder(models.Model):
    """A review reminder emailed to an owner (`send_review_reminders`): at most one a week each."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_reminders")
    sent_at = models.DateTimeField(db_index=True)
    article_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"Reminder to {self.user} at {self.sent_at:%Y-%m-%d %H:%M}"
