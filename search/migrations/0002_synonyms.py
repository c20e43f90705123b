# A placeholder that keeps one migration chain while several changes are made at once;
# the change that needs it fills in its operations.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [('search', '0001_initial')]

    operations = []
