from django.core.management.base import BaseCommand

from search import analytics


class Command(BaseCommand):
    help = (
        "Delete recorded searches and opened results older than SEARCH_LOG_RETENTION_DAYS (default 180). "
        "Safe to run often (cron, a Kubernetes CronJob): it deletes in short batches."
    )

    def handle(self, *args, **options):
        cutoff = analytics.retention_cutoff()
        deleted = analytics.purge()
        self.stdout.write(f"Deleted {deleted} searches from before {cutoff:%Y-%m-%d %H:%M} UTC.")
