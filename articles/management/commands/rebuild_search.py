import time

from django.core.management.base import BaseCommand
from django.db import connection

from articles import search


class Command(BaseCommand):
    help = (
        "Recompute every derived search structure from the articles (the weighted tsvector on PostgreSQL, "
        "the FTS5 table on SQLite, and whatever else articles.search.rebuild_all() lists). "
        "For after bulk loads and restores; safe to run at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-analyze", action="store_true", help="Skip VACUUM (ANALYZE) afterwards.")

    def handle(self, *args, no_analyze=False, **options):
        started = last = time.monotonic()

        def progress(name, count):
            nonlocal last
            now = time.monotonic()
            self.stdout.write(f"  {name}: {count:,} rows in {now - last:.1f} s")
            last = now

        self.stdout.write("Rebuilding search structures…")
        search.rebuild_all(progress=progress)
        if connection.vendor == "postgresql" and not no_analyze:
            # Every row was rewritten: reclaim the old versions and refresh the planner's statistics.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE) articles_article")
            self.stdout.write(f"  VACUUM (ANALYZE) articles_article in {time.monotonic() - last:.1f} s")
        self.stdout.write(self.style.SUCCESS(f"Search rebuilt in {time.monotonic() - started:.1f} s."))
