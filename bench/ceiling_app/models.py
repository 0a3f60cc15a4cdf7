"""A table shaped like the vote ledger (same column types, a unique receipt code, the
voter/stage/day index), without constraints that need other tables."""

from django.db import models
from django.db.models.functions import Now


class CeilingVote(models.Model):
    stage_id = models.BigIntegerField()
    contestant_id = models.BigIntegerField()
    voter_hash = models.CharField(max_length=64)
    phone_masked = models.CharField(max_length=16)
    channel = models.CharField(max_length=16)
    ip_hash = models.CharField(max_length=64, blank=True)
    user_agent_hash = models.CharField(max_length=64, blank=True)
    cast_at = models.DateTimeField(db_default=Now())
    local_day = models.DateField()
    status = models.CharField(max_length=16, default="valid")
    receipt_code = models.CharField(max_length=10, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["voter_hash", "stage_id", "local_day"], name="ceiling_voter_day")
        ]

    def __str__(self) -> str:
        return self.receipt_code
