# The search app starts with no tables of its own; it reads articles' search document
# (articles/migrations/0015_search_length.py is the last thing its engine needs there).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("articles", "0015_search_length")]

    operations = []
