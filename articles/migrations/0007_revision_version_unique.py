from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("articles", "0006_rerender_with_cmark")]

    operations = []
