"""Helpers the live-contest services share."""

from django.db.models import F
from django.utils.translation import gettext as _

from campaigns.choices import RULES_EDITABLE_STATUSES, StageStatus
from campaigns.models import Stage
from evaluations.exceptions import JudgingError
from evaluations.models import Panel
from staff.audit import clean_reason


def bump_live_version(panel_id: int) -> None:
    """Tell tablets, the host page and the screen that something changed (their ETag)."""
    Panel.objects.filter(pk=panel_id).update(live_version=F("live_version") + 1)


def check_rules_change(stage: Stage, reason: str) -> str:
    """The stage's rule-change path applied to judging rules: free before the stage opens,
    only with a reason after, never once results are previewed or finalised."""
    if stage.status in {StageStatus.PREVIEWED, StageStatus.FINALIZED}:
        raise JudgingError(
            "rubric_frozen", _("The stage's results are computed: its judging rules are frozen.")
        )
    return clean_reason(reason, required=stage.status not in RULES_EDITABLE_STATUSES)
