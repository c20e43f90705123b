"""Create or update categories and articles from Markdown files with front matter (#17, articles/exchange.py)."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from articles import exchange


class Command(BaseCommand):
    help = (
        "Create or update categories and articles by slug from DIR (the layout export_articles writes). "
        "Idempotent; bad files are reported by file and line and skipped, nothing else."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--user", help="Record the revisions as this user (default: the system).")
        parser.add_argument("--as-drafts", action="store_true", help="Import every article as a draft.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would change; change nothing.")

    def handle(self, *args, directory, user=None, as_drafts=False, dry_run=False, **options):
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        by = None
        if user:
            model = get_user_model()
            by = model.objects.filter(**{model.USERNAME_FIELD: user}).first()
            if by is None:
                raise CommandError(f"No user is named {user!r}.")
        report = exchange.import_directory(directory, by=by, as_drafts=as_drafts, dry_run=dry_run)
        for outcome in report.outcomes:
            if outcome.kind == "refused":
                self.stderr.write(outcome.describe())
            elif dry_run or outcome.kind != "unchanged" or options["verbosity"] > 1:
                self.stdout.write(outcome.describe())
        for slug in report.categories_created:
            self.stdout.write(f"category created {slug}")
        for slug in report.categories_updated:
            self.stdout.write(f"category updated {slug}")
        style = self.style.WARNING if report.of("refused") else self.style.SUCCESS
        self.stdout.write(style(report.summary()))
