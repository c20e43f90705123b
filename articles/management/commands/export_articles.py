"""Write articles as Markdown files with front matter (#17, articles/exchange.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from articles import exchange
from articles.models import Category


class Command(BaseCommand):
    help = (
        "Write every article (or --category, --status) as DIR/<category>/<slug>.md with front matter, "
        "the categories as DIR/categories.yaml and the images they use under DIR/media/."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--category", help="Only this category's articles (its slug).")
        parser.add_argument(
            "--status", choices=["draft", "scheduled", "published"], help="Only articles in this state."
        )

    def handle(self, *args, directory, category=None, status=None, **options):
        categories = None
        if category:
            categories = Category.objects.filter(slug=category)
            if not categories.exists():
                raise CommandError(f"No category has the slug {category!r}.")
        elif status is None:
            categories = Category.objects.all()
        articles = exchange.select_articles(category=category, status=status)
        files, warnings = exchange.export_files(articles, categories=categories)
        size = exchange.write_directory(directory, files)
        for warning in warnings:
            self.stderr.write(f"  {warning}")
        count = sum(1 for name in files if name.endswith(".md"))
        images = sum(1 for name in files if name.startswith("media/"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {count} article{'s' if count != 1 else ''} and {images} image{'s' if images != 1 else ''} "
                f"to {directory} ({len(files)} files, {size:,} bytes)."
            )
        )
