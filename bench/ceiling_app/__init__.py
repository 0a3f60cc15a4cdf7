"""Bench-only app: the ceiling of ``bench/vote_ingest.py``, a bare one-insert Django view.

Installed only by ``bench/settings_bench.py``; never by the project's settings or URLs.
"""
