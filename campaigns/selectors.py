"""Read functions of the campaigns app, for the admin, public pages, the API and exports.

Each returns a queryset (or an object) with the joins its callers need already selected, so
iterating a page of results costs a fixed number of queries; tests pin those numbers.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from campaigns.choices import (
    COMPONENT_CHANNELS,
    CampaignStatus,
    ContestantStatus,
    ResultOutcome,
    StageStatus,
)
from campaigns.components import get_provider
from campaigns.models import Campaign, Contestant, Stage, StageResult, TieResolution
from campaigns.public import VISIBLE_STAGE_STATUSES
from campaigns.validators import weighted_channels
from staff.models import AuditEvent, OrgUnit

_STAFF_JOINS = ("staff_member__unit", "staff_member__position")


def campaign_list() -> QuerySet[Campaign]:
    """Campaigns, newest first, with their stages prefetched in order (2 queries)."""
    return Campaign.objects.prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("order"))
    ).order_by("-starts_on", "-id")


def campaign_detail(campaign_id: int) -> Campaign:
    """One campaign with its stages (annotated as in ``stages_for_campaign``) prefetched.

    Raises ``Campaign.DoesNotExist``.
    """
    stages = Stage.objects.annotate(
        contestant_count=Count(
            "contestants", filter=~Q(contestants__status=ContestantStatus.WITHDRAWN)
        )
    ).order_by("order")
    return Campaign.objects.prefetch_related(Prefetch("stages", queryset=stages)).get(
        pk=campaign_id
    )


def stages_for_campaign(campaign: Campaign | int) -> QuerySet[Stage]:
    """The campaign's stages in order, each with ``contestant_count`` (withdrawn excluded)."""
    campaign_id = campaign.pk if isinstance(campaign, Campaign) else campaign
    return (
        Stage.objects.filter(campaign_id=campaign_id)
        .select_related("campaign")
        .annotate(
            contestant_count=Count(
                "contestants", filter=~Q(contestants__status=ContestantStatus.WITHDRAWN)
            )
        )
        .order_by("order")
    )


def open_stages() -> QuerySet[Stage]:
    """Stages accepting votes and scores now (by status; the beat task keeps it on time)."""
    return Stage.objects.filter(status=StageStatus.OPEN).select_related("campaign")


def filter_contestants(
    queryset: QuerySet[Contestant],
    *,
    q: str | None = None,
    branch: OrgUnit | str | None = None,
    position: str | None = None,
) -> QuerySet[Contestant]:
    """Narrow a contestant queryset by search text, branch subtree and position (no query).

    ``q`` matches the name or the unit's name (contains) or the employee number or vote
    code (prefix; employee numbers in any case);
    ``branch`` is a unit or a unit code and matches staff anywhere in its subtree;
    ``position`` is a position code. Shared by ``contestants_for_stage`` and the API's
    filter set, so the page and the API search alike.
    """
    if q := (q or "").strip():
        queryset = queryset.filter(
            Q(staff_member__name__icontains=q)
            | Q(staff_member__employee_no__startswith=q.upper())
            | Q(staff_member__vote_code__startswith=q)
            | Q(staff_member__unit__name__icontains=q)
        )
    if isinstance(branch, OrgUnit):
        queryset = queryset.filter(staff_member__unit__path__startswith=branch.path)
    elif branch:
        # Unit codes are unique and cannot contain "/", so "/CODE/" in a path (or a path
        # starting "CODE/") means "in that unit's subtree", with no extra query.
        queryset = queryset.filter(
            Q(staff_member__unit__path__contains=f"/{branch}/")
            | Q(staff_member__unit__path__startswith=f"{branch}/")
        )
    if position:
        queryset = queryset.filter(staff_member__position__code=position)
    return queryset


def contestants_for_stage(
    stage: Stage | int,
    *,
    q: str | None = None,
    branch: OrgUnit | str | None = None,
    position: str | None = None,
    include_withdrawn: bool = False,
) -> QuerySet[Contestant]:
    """A stage's contestants with staff member, unit and position joined (one query).

    Filters as in ``filter_contestants``. Ordered by running order, then employee number.
    Withdrawn contestants are left out unless ``include_withdrawn``.
    """
    stage_id = stage.pk if isinstance(stage, Stage) else stage
    queryset = Contestant.objects.filter(stage_id=stage_id).select_related(*_STAFF_JOINS)
    if not include_withdrawn:
        queryset = queryset.exclude(status=ContestantStatus.WITHDRAWN)
    queryset = filter_contestants(queryset, q=q, branch=branch, position=position)
    return queryset.order_by("running_order", "staff_member__employee_no")


def results_for_stage(stage: Stage | int) -> QuerySet[StageResult]:
    """The stored results of a stage (preview or frozen), by rank, with people joined."""
    stage_id = stage.pk if isinstance(stage, Stage) else stage
    return (
        StageResult.objects.filter(stage_id=stage_id)
        .select_related("contestant__staff_member__unit", "contestant__staff_member__position")
        .order_by("rank", "position_code", "contestant_id")
    )


def filter_results(
    queryset: QuerySet[StageResult], *, outcome: str | None = None, q: str | None = None
) -> QuerySet[StageResult]:
    """Narrow result rows by outcome and search text (no query).

    ``outcome`` is a ``ResultOutcome`` value; ``q`` matches the contestant's name (contains)
    or employee number or vote code (prefix), as ``filter_contestants`` does.
    """
    if outcome:
        queryset = queryset.filter(outcome=outcome)
    if q := (q or "").strip():
        queryset = queryset.filter(
            Q(contestant__staff_member__name__icontains=q)
            | Q(contestant__staff_member__employee_no__startswith=q.upper())
            | Q(contestant__staff_member__vote_code__startswith=q)
        )
    return queryset


def result_outcome_counts(stage: Stage | int) -> dict[tuple[str, str], int]:
    """How many result rows a stage has per ``(outcome, position_code)`` (one query)."""
    stage_id = stage.pk if isinstance(stage, Stage) else stage
    rows = (
        StageResult.objects.filter(stage_id=stage_id)
        .values_list("outcome", "position_code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(outcome, code): n for outcome, code, n in rows}


def winners_for_stage(stage: Stage) -> QuerySet[StageResult]:
    """Who went through a finalised stage: frozen rows whose contestant is advanced
    (qualifiers, minus withdrawals, plus promoted reserves). Empty before finalising."""
    if stage.status != StageStatus.FINALIZED:
        return StageResult.objects.none()
    return results_for_stage(stage).filter(
        is_frozen=True, contestant__status=ContestantStatus.ADVANCED
    )


def unresolved_ties(stage: Stage | int) -> dict[str, list[StageResult]]:
    """Result rows tied at a cut line, grouped by position list ("" without position quotas)."""
    stage_obj = stage if isinstance(stage, Stage) else Stage.objects.get(pk=stage)
    groups: dict[str, list[StageResult]] = {}
    for row in results_for_stage(stage_obj).filter(outcome=ResultOutcome.TIED_AT_CUT):
        key = row.position_code if stage_obj.position_quotas else ""
        groups.setdefault(key, []).append(row)
    return groups


def reserve_vacancies(stage: Stage) -> dict[str, int]:
    """Places left by withdrawn qualifiers, per position list ("" without position quotas).

    A list's vacancies are its qualifier rows minus its advanced contestants (promoted
    reserves fill them), as ``services.promote_reserve`` counts them. Lists without a
    vacancy are left out. One grouped query.
    """
    per_position = bool(stage.position_quotas)
    rows = (
        StageResult.objects.filter(stage_id=stage.pk)
        .values_list("position_code")
        .annotate(
            qualified=Count("pk", filter=Q(outcome=ResultOutcome.QUALIFIED)),
            advanced=Count("pk", filter=Q(contestant__status=ContestantStatus.ADVANCED)),
        )
        .order_by()
    )
    places: dict[str, int] = {}
    for code, qualified, advanced in rows:
        key = code if per_position else ""
        places[key] = places.get(key, 0) + qualified - advanced
    return {key: n for key, n in sorted(places.items()) if n > 0}


def available_reserves(stage: Stage, lists: Iterable[str] | None = None) -> QuerySet[StageResult]:
    """Reserve rows whose contestant is still eliminated, best first (position rank, then
    row id: the order ``services.promote_reserve`` takes them in), with people joined.

    ``lists`` narrows them to these position lists (ignored without position quotas, where
    everyone is in the one list ""). No query until evaluated: slice it.
    """
    queryset = (
        StageResult.objects.filter(
            stage_id=stage.pk,
            outcome=ResultOutcome.RESERVE,
            contestant__status=ContestantStatus.ELIMINATED,
        )
        .select_related("contestant__staff_member__unit", "contestant__staff_member__position")
        .defer("components")
        .order_by("position_rank", "pk")
    )
    if lists is not None and stage.position_quotas:
        queryset = queryset.filter(position_code__in=list(lists))
    return queryset


def next_reserves(stage: Stage, lists: Iterable[str] | None = None) -> QuerySet[StageResult]:
    """The reserves a vacant place can go to now: in each position list, those tied at the
    best position rank still available (usually one per list). Narrowed to ``lists`` as in
    ``available_reserves``; one query, with the best rank found by a correlated subquery.
    Slice it: everyone on 0 votes can be tied.
    """
    queryset = available_reserves(stage, lists)
    best = available_reserves(stage, lists).order_by("position_rank")
    if stage.position_quotas:
        best = best.filter(position_code=OuterRef("position_code"))
    return queryset.filter(position_rank=Subquery(best.values("position_rank")[:1]))


def tie_resolutions_for_stage(stage: Stage | int) -> QuerySet[TieResolution]:
    stage_id = stage.pk if isinstance(stage, Stage) else stage
    return TieResolution.objects.filter(stage_id=stage_id).select_related("decided_by")


def audit_events_for_campaign(campaign: Campaign | int) -> QuerySet[AuditEvent]:
    """The campaign's audit trail, newest first."""
    campaign_id = campaign.pk if isinstance(campaign, Campaign) else campaign
    return AuditEvent.objects.filter(campaign_id=campaign_id).select_related("actor")


# Public pages and the public API -----------------------------------------------------------
# Draft campaigns are being set up by HR admins: the public sees a campaign once one of its
# stages has opened (the campaign is then running, later finished).


def public_campaigns() -> QuerySet[Campaign]:
    """Campaigns the public may see (not drafts), newest first, with their public stages
    (``campaigns.public``) prefetched in order, each annotated with ``contestant_count``
    (withdrawn excluded). Two queries."""
    stages = (
        Stage.objects.filter(status__in=VISIBLE_STAGE_STATUSES)
        .annotate(
            contestant_count=Count(
                "contestants", filter=~Q(contestants__status=ContestantStatus.WITHDRAWN)
            )
        )
        .order_by("order")
    )
    return (
        Campaign.objects.exclude(status=CampaignStatus.DRAFT)
        .prefetch_related(Prefetch("stages", queryset=stages))
        .order_by("-starts_on", "-id")
    )


def public_stage(stage_id: int) -> Stage:
    """A public stage (``campaigns.public``) of a public campaign, with its campaign joined.
    Raises ``Stage.DoesNotExist`` for any other stage."""
    return (
        Stage.objects.select_related("campaign")
        .filter(status__in=VISIBLE_STAGE_STATUSES)
        .exclude(campaign__status=CampaignStatus.DRAFT)
        .get(pk=stage_id)
    )


def candidate_entries(campaign: Campaign | int, employee_no: str) -> list[Contestant]:
    """A staff member's entries in a campaign's stages, in stage order, with stage, unit and
    position joined (one query). Withdrawn entries are left out; empty if none remain."""
    campaign_id = campaign.pk if isinstance(campaign, Campaign) else campaign
    return list(
        Contestant.objects.filter(
            stage__campaign_id=campaign_id, staff_member__employee_no=employee_no
        )
        .exclude(status=ContestantStatus.WITHDRAWN)
        .select_related("stage", *_STAFF_JOINS)
        .order_by("stage__order")
    )


@dataclass(frozen=True)
class ChannelUse:
    """A vote channel of a stage: its component key, whether the rules weight it (and so
    whether the stage takes votes by it) and the valid votes it already holds."""

    key: str
    weighted: bool
    votes: int


def channel_use(stage: Stage) -> list[ChannelUse]:
    """Each vote channel of ``stage`` (web, SMS, audience) with its weight status and valid
    votes, read through the registered component providers (one read each; a channel
    without a provider holds 0)."""
    weighted = weighted_channels(stage.weights)
    uses = []
    for key, channel in COMPONENT_CHANNELS.items():
        provider = get_provider(key)
        votes = sum(provider.fetch(stage).values()) if provider is not None else 0
        uses.append(ChannelUse(key=key, weighted=channel in weighted, votes=int(votes)))
    return uses
