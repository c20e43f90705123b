from django.db import models

# ---------------------------------------------------------------- promoted results and the query log (#13)
# search/promotions.py and search/analytics.py hold the logic; migration 0003 the tables.


def public_article_choices():
    """Only public articles can be pinned (Article.objects.published(), the one definition of public)."""
    from articles.models import Article

    return {"pk__in": Article.objects.published().values("pk")}


class Promotion(models.Model):
    """An article an editor pins to the top of the results for one query ("vpn" -> the VPN how-to)."""

    query = models.CharField(
        max_length=200,
        help_text="What readers type. Matched ignoring case, punctuation and extra spaces: "
        "“VPN?” and “vpn” are the same query.",
    )
    article = models.ForeignKey(
        "articles.Article",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to=public_article_choices,
        help_text="A published article. It is shown first, marked “Editor’s pick”, and not repeated below.",
    )
    description = models.CharField(
        max_length=300,
        blank=True,
        help_text="Optional: why this article answers the query, shown under its title instead of its summary.",
    )
    sort_order = models.PositiveSmallIntegerField(
        default=0, help_text="Lower numbers come first when several articles are pinned to one query."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["query", "sort_order", "id"]
        verbose_name = "promoted result"
        verbose_name_plural = "promoted results"
        constraints = [
            models.UniqueConstraint(fields=["query", "article"], name="search_promotion_unique_pin"),
        ]

    def __str__(self):
        return f"“{self.query}” → {self.article}"

    def save(self, *args, **kwargs):
        from search.promotions import normalise_query

        self.query = normalise_query(self.query)
        super().save(*args, **kwargs)


class QueryLog(models.Model):
    """One search a reader made: the normalised query and what it found. No address, user or cookie."""

    query = models.CharField(max_length=200, help_text="Normalised: lower case, no punctuation.")
    results = models.PositiveIntegerField(help_text="How many results the search found (an estimate past 500).")
    corrected = models.BooleanField(default=False, help_text="The results were for a typo correction.")
    relaxed = models.BooleanField(default=False, help_text="No article had every word; results had some.")
    duration_ms = models.PositiveIntegerField(help_text="How long the server took to find the results.")
    page = models.PositiveSmallIntegerField(default=1)
    # How many of its results were opened (search/analytics.py keeps it with the clicks),
    # so that the report aggregates one table.
    clicks = models.PositiveSmallIntegerField(default=0)
    script = models.BooleanField(
        default=False, help_text="Recorded by the page's script, which also reports opened results."
    )
    # The page view's random id, made by the browser's script (never a cookie, never reused),
    # so that a click finds its search.
    view = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    searched_at = models.DateTimeField(db_index=False)

    class Meta:
        ordering = ["-searched_at", "-id"]
        verbose_name = "search"
        verbose_name_plural = "searches"
        permissions = [("view_search_report", "Can see the search analytics report")]
        indexes = [
            # The report reads a period's rows; retention deletes from its old end.
            models.Index(fields=["searched_at"], name="search_querylog_period"),
        ]

    def __str__(self):
        return f"“{self.query}” ({self.results} result{'s' if self.results != 1 else ''})"


class ResultClick(models.Model):
    """A result a reader opened from a search."""

    search = models.ForeignKey(QueryLog, on_delete=models.CASCADE, related_name="result_clicks")
    article = models.ForeignKey("articles.Article", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(help_text="1 for the first result; editor's picks count too.")
    promoted = models.BooleanField(default=False, help_text="The result was an editor's pick.")
    clicked_at = models.DateTimeField()

    class Meta:
        ordering = ["-clicked_at", "-id"]
        verbose_name = "opened result"
        verbose_name_plural = "opened results"

    def __str__(self):
        return f"#{self.position} from {self.search_id}"


# ---------------------------------------------------------------- synonyms (#13)
# search/synonyms.py applies them to readers' queries; migration 0002 made the table and the first list.


class Synonym(models.Model):
    """Words readers type that mean the same as others: "otel = opentelemetry", "hpa = horizontal pod autoscaler"."""

    term = models.CharField(
        max_length=100,
        unique=True,
        help_text="What readers type: a word or a few words, e.g. “hpa” or “k8s”. Case and punctuation are ignored.",
    )
    means = models.CharField(
        max_length=300,
        help_text="What it means, as articles write it: e.g. “horizontal pod autoscaler”. "
        "Separate several meanings with commas: “kubernetes, k8s cluster”.",
    )
    two_way = models.BooleanField(
        default=True,
        help_text="Also search for the term when readers type what it means "
        "(“opentelemetry” finds articles that only say “otel”).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["term"]

    def __str__(self):
        return f"{self.term} = {self.means}"
