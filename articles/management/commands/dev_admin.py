import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

CREDENTIALS_FILE = settings.BASE_DIR / ".dev-admin"


class Command(BaseCommand):
    help = "On the embedded SQLite database only: create an admin login once and print it."

    def handle(self, *args, **options):
        if not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            self.stdout.write("Not the embedded database: no development admin is created.")
            return
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@localhost", password)
            CREDENTIALS_FILE.write_text(f"admin {password}\n")
            CREDENTIALS_FILE.chmod(0o600)
        if CREDENTIALS_FILE.exists():
            username, password = CREDENTIALS_FILE.read_text().split()
            self.stdout.write(
                self.style.SUCCESS(f"Admin login for this local database: {username} / {password}  (at /admin/)")
            )
        else:
            self.stdout.write("An admin user exists; reset its password with `manage.py changepassword admin`.")
