"""Reading PostgreSQL's plans in tests: ``EXPLAIN ANALYZE`` of a statement as JSON, and how
many rows of a table a plan read."""

import json

from django.db import connection


def explain(sql: str, params: list | None = None) -> dict:
    """The top node of ``EXPLAIN (ANALYZE, FORMAT JSON)`` of ``sql`` run with ``params``."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        raw = cursor.fetchone()[0]
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def rows_read(node: dict, table: str) -> int:
    """How many rows of ``table`` the plan under ``node`` read, kept or filtered out."""
    own = 0
    if node.get("Relation Name") == table:
        own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        own += node.get("Rows Removed by Index Recheck", 0)
    return own + sum(rows_read(child, table) for child in node.get("Plans", []))


def loops(node: dict, table: str) -> int:
    """How many times the plan under ``node`` scanned ``table``."""
    own = node.get("Actual Loops", 0) if node.get("Relation Name") == table else 0
    return own + sum(loops(child, table) for child in node.get("Plans", []))


def shown(plan: dict) -> str:
    """The plan as indented JSON, for an assertion's message."""
    return json.dumps(plan, indent=1)
