"""Each article's BM25 document length, kept by the database next to its search vector (#13).

`search_length` is the weighted number of word occurrences in `search_vector`
(title words count 3, tags and summary 2, body 1: the field weights BM25
ranks with, search/engine.py). A generated column: whatever writes the vector
(a save, a bulk load, `rebuild_search`, raw SQL), the length follows in the
same row write, and the model never needs to know it. PostgreSQL only: SQLite
ranks with FTS5's own bm25(), which keeps its own lengths.
"""

from django.db import migrations

LENGTH_FUNCTION = """
CREATE OR REPLACE FUNCTION kb_search_length(v tsvector) RETURNS real
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(sum(CASE w WHEN 'A' THEN 3 WHEN 'B' THEN 2 ELSE 1 END), 0)::real
    FROM unnest(v) AS u CROSS JOIN LATERAL unnest(u.weights) AS w
$$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(LENGTH_FUNCTION)
    # Every row is rewritten (a minute or two at 100,000 articles): past the app's per-statement limit.
    schema_editor.execute("SET LOCAL statement_timeout = 0")
    schema_editor.execute(
        "ALTER TABLE articles_article ADD COLUMN search_length real "
        "GENERATED ALWAYS AS (coalesce(kb_search_length(search_vector), 0)) STORED"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE articles_article DROP COLUMN IF EXISTS search_length")
    schema_editor.execute("DROP FUNCTION IF EXISTS kb_search_length(tsvector)")


class Migration(migrations.Migration):
    dependencies = [("articles", "0014_revision_reviewed_db_default")]

    operations = [migrations.RunPython(forwards, backwards)]
