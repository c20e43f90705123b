from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("articles", "0007_revision_version_unique")]

    operations = []
