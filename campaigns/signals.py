"""Signals the campaigns app sends. Receivers live in the apps that care (demo votes), so
``campaigns`` never imports them.

``demo_campaign_seeded`` is sent by ``manage.py seed_demo`` once the demo campaign exists,
with ``sender`` the ``Campaign`` class and keyword arguments ``campaign`` (the demo
campaign), ``votes`` (how many demo votes its first stage should hold in all; the command
does not send it for 0) and ``progress`` (a ``progress(label, done, total)`` callback
drawing a progress bar, or ``None``) and ``base_url`` (where the site is served, for
links a receiver prints). Each receiver seeds its own app's demo data,
idempotently, and returns an object whose ``str()`` is one line for the operator (or
``None``); the command prints those lines.

``demo_data_seeded`` is sent right after, once every receiver of ``demo_campaign_seeded``
has run, with the same ``sender`` and ``campaign``: for demo data that needs another app's
(the served customers' votes need ``evaluations``' transactions). Same return contract.
"""

from django.dispatch import Signal

demo_campaign_seeded = Signal()
demo_data_seeded = Signal()
