"""Fraud review: suspicious-vote patterns (``patterns``), the filters the admin changelist
and the background jobs share (``filters``), and bulk invalidate/restore jobs (``jobs``)."""
