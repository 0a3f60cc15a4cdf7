"""What the public sees of a campaign's stages.

Customers see only the stages that are theirs: open ones (to vote), closed ones (results
to come) and finalised ones (winners). Draft and scheduled stages are HR's work in progress
and do not exist for the public (pages answer 404, lists leave them out). A previewed
stage's results are still under review by HR admins: for the public (pages and the API) it
is simply closed until it is finalised. Finalised results show the weighted
total unless the stage's visibility rule is "ranks only" (the "hidden in the final hours"
rule only hides counts while voting is still open).
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.choices import StageStatus, Visibility
from campaigns.models import Stage
from campaigns.validators import weighted_channels

# The states a public reader can see; "previewed" is never among them (it reads as closed).
PUBLIC_STAGE_STATUSES: tuple[str, ...] = (
    StageStatus.OPEN,
    StageStatus.CLOSED,
    StageStatus.FINALIZED,
)
# The stored states of the stages the public may see at all.
VISIBLE_STAGE_STATUSES: tuple[str, ...] = (*PUBLIC_STAGE_STATUSES, StageStatus.PREVIEWED)


def public_stage_status(stage: Stage) -> str:
    """The stage's status as the public sees it: ``previewed`` reads as ``closed``."""
    if stage.status == StageStatus.PREVIEWED:
        return StageStatus.CLOSED
    return stage.status


def public_stage_status_label(stage: Stage) -> str:
    """The translated label of ``public_stage_status``."""
    return str(StageStatus(public_stage_status(stage)).label)


def shows_totals(stage: Stage) -> bool:
    """Whether a finalised stage's public results may show the weighted totals."""
    return stage.visibility != Visibility.RANKS_ONLY


def vote_channels(stage: Stage) -> frozenset[str]:
    """The channels the public may vote by in ``stage``: those its rules weight (a vote by
    another channel would count for nothing and is refused)."""
    return weighted_channels(stage.weights)


def vote_limit_text(stage: Stage) -> str:
    """The stage's vote limits in a sentence or two for voters (active language), e.g.
    "You can vote 1 time a day. At most 1 vote per candidate."."""
    parts = []
    if stage.votes_per_day:
        n = stage.votes_per_day
        parts.append(
            ngettext("You can vote %(n)s time a day.", "You can vote %(n)s times a day.", n)
            % {"n": n}
        )
    if stage.votes_per_stage:
        n = stage.votes_per_stage
        parts.append(
            ngettext("At most %(n)s vote in this stage.", "At most %(n)s votes in this stage.", n)
            % {"n": n}
        )
    if stage.votes_per_candidate:
        n = stage.votes_per_candidate
        parts.append(
            ngettext("At most %(n)s vote per candidate.", "At most %(n)s votes per candidate.", n)
            % {"n": n}
        )
    return " ".join(parts) or _("There is no limit on the number of votes.")
