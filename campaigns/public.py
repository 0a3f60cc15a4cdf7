"""What the public sees of a campaign's stages.

Customers see only the stages that are theirs: open ones (to vote), closed ones (results
to come) and finalised ones (winners). Draft and scheduled stages are HR's work in progress
and do not exist for the public (pages answer 404, lists leave them out). A previewed
stage's results are still under review by HR admins: for the public (pages and the API) it
is simply closed until it is finalised. Finalised results show the weighted
total unless the stage's visibility rule is "ranks only" (the "hidden in the final hours"
rule only hides counts while voting is still open).
"""

from campaigns.choices import StageStatus, Visibility
from campaigns.models import Stage

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
