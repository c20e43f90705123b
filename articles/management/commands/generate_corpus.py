import time

import frontmatter
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from articles import corpus
from articles.models import Article
from articles.seed import SEED_DIR


class Command(BaseCommand):
    help = (
        "Add a large, realistic, reproducible corpus of generated articles to the configured database "
        "(DATABASE_URL), for measuring kb at scale. Refuses a database holding articles other than the "
        "seed's unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--articles", type=int, required=True, help="Public articles to generate.")
        parser.add_argument("--drafts", type=int, default=2_000, help="Drafts, besides (default 2,000).")
        parser.add_argument("--scheduled", type=int, default=200, help="Scheduled articles, besides (default 200).")
        parser.add_argument("--seed", type=int, default=1, help="The random seed: the same seed, the same corpus.")
        parser.add_argument("--workers", type=int, default=None, help="Rendering processes (default: CPUs).")
        parser.add_argument("--batch-size", type=int, default=corpus.BATCH_SIZE)
        parser.add_argument(
            "--force",
            action="store_true",
            help="Add to a database that already holds other articles (real or generated).",
        )

    def handle(self, *args, **options):
        if min(options["articles"], options["drafts"], options["scheduled"]) < 0:
            raise CommandError("Counts cannot be negative.")
        seed_slugs = {frontmatter.load(path).metadata["slug"] for path in SEED_DIR.glob("*/*.md")}
        others = Article.objects.exclude(slug__in=seed_slugs)
        if others.exists() and not options["force"]:
            generated = others.filter(seed_checksum=corpus.MARKER).count()
            raise CommandError(
                f"This database already holds {others.count():,} articles besides the seed's "
                f"({generated:,} of them generated). Generate into an empty database (migrated, "
                "the seed loaded or not), or pass --force to add to it."
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")  # a bulk load, not a request

        total = options["articles"] + options["drafts"] + options["scheduled"]
        self.stdout.write(
            f"Generating {options['articles']:,} public articles, {options['drafts']:,} drafts and "
            f"{options['scheduled']:,} scheduled (seed {options['seed']})…"
        )
        started = time.monotonic()
        step = max(1, total // 20)

        def progress(done, total):
            if done % step < options["batch_size"] or done == total:
                elapsed = time.monotonic() - started
                self.stdout.write(f"  {done:,} / {total:,} in {elapsed:.0f} s")

        timings = corpus.generate(
            articles=options["articles"],
            drafts=options["drafts"],
            scheduled=options["scheduled"],
            seed=options["seed"],
            workers=options["workers"],
            batch_size=options["batch_size"],
            progress=progress,
        )
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            t = time.monotonic()
            with connection.cursor() as cursor:
                for table in ("articles_article", "articles_articlerevision", "taggit_taggeditem", "taggit_tag"):
                    cursor.execute(f"VACUUM (ANALYZE) {table}")
            timings["vacuum_analyze"] = time.monotonic() - t
        elapsed = time.monotonic() - started
        details = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items() if name != "total")
        self.stdout.write(self.style.SUCCESS(f"Generated {total:,} articles in {elapsed:.0f} s ({details})."))
