"""Queries that read a lot through indexes, planned as the data is: in memory.

With PostgreSQL's default random_page_cost (4.0) the planner expects every
row read through an index to cost a disk seek. It also prices testing a
full-text match like an addition, though it reads the row's whole (TOASTed)
search document. Together they make it scan the table for what an index
finds at once: the admin's count of the articles matching "circuit:*" read
60,000 documents in 447 ms instead of 8,400 index entries in 30 ms, and a
search read every match in a category and sorted them (626 ms) instead of
walking the category's date index (5 ms). On a server sized for its data the
articles are in memory; 1.1 says so, for the queries run inside this block.
"""

from contextlib import contextmanager

from django.db import connections, transaction


@contextmanager
def planned_for_memory(using: str = "default"):
    """The block's queries planned with random_page_cost 1.1, in a transaction of their own (PostgreSQL only)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or getattr(connection, "_kb_planned_for_memory", False):
        yield  # SQLite, or already inside
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SET LOCAL random_page_cost = 1.1")
        connection._kb_planned_for_memory = True
        try:
            yield
        finally:
            connection._kb_planned_for_memory = False
