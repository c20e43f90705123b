"""Email each article owner their articles due, overdue or flagged for review (#16).

Run it as often as you like (hourly, daily): each owner gets at most one email
a week, and two runs at once send nothing twice. See README, "Review reminders".
"""

from django.core.management.base import BaseCommand

from articles import freshness


class Command(BaseCommand):
    help = "Email each owner (at most weekly) the public articles they own that are due, overdue or flagged."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say who would be emailed; send and record nothing.")

    def handle(self, *args, dry_run=False, **options):
        result = freshness.send_review_reminders(
            dry_run=dry_run, stdout=self.stdout if options["verbosity"] > 1 else None
        )
        verb = "Would send" if dry_run else "Sent"
        self.stdout.write(
            f"{verb} {result['sent']} reminder{'s' if result['sent'] != 1 else ''}; "
            f"{result['recently_reminded']} owner(s) already reminded this week, "
            f"{result['no_email']} without an email address."
        )
