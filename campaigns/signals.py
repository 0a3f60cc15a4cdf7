"""Signals the campaigns app sends. Receivers live in the apps that care (voting tallies,
leaderboard publication), so ``campaigns`` never imports them.

``stage_status_changed`` is sent *after commit* of a stage transition, with keyword
arguments ``stage_id``, ``campaign_id``, ``from_status`` and ``to_status``.
"""

from django.dispatch import Signal

stage_status_changed = Signal()
