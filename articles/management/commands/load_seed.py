from django.core.management.base import BaseCommand

from articles.seed import load_seed


class Command(BaseCommand):
    help = "Load the seed articles from articles/seed/. Safe to run again: editors' changes are kept."

    def handle(self, *args, **options):
        report = load_seed()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seed loaded: {len(report.created)} created, {len(report.updated)} updated, "
                f"{len(report.unchanged)} unchanged, {len(report.kept_edited)} kept as edited."
            )
        )
        for slug in report.kept_edited:
            self.stdout.write(f"  kept (edited since it was loaded): {slug}")
        for problem in report.refused:
            self.stderr.write(f"  {problem}")
