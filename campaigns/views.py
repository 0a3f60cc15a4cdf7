"""Public pages of the campaigns app: mobile-first, Chinese by default, no JavaScript.

Every page reads through ``campaigns.selectors`` and renders; nothing here writes. Draft
campaigns (and their stages) are not public and answer 404, like unknown ids. Bad query
parameters never fail a page: a bad page number shows the nearest page, a bad filter is
shown as a form error and ignored.
"""

from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404
from django.views.generic import DetailView, ListView, TemplateView

from campaigns import selectors
from campaigns.choices import (
    COMPONENT_CHANNELS,
    CampaignStatus,
    ComponentKey,
    ContestantStatus,
    StageStatus,
)
from campaigns.forms import ContestantSearchForm
from campaigns.models import Campaign, Contestant, Stage
from campaigns.public import (
    public_stage_status,
    public_stage_status_label,
    shows_totals,
    vote_channels,
    vote_limit_text,
)
from staff.choices import FRONTLINE_KINDS, UnitKind
from staff.identifiers import normalise_employee_no
from staff.models import OrgUnit, StaffMember
from staff.selectors import branch_of

HOME_CAMPAIGNS = 3
CONTESTANTS_PER_PAGE = 24


class LenientPaginationMixin:
    """Pagination that never fails: ``?page=abc`` shows page 1, ``?page=999`` the last."""

    def paginate_queryset(
        self, queryset: QuerySet, page_size: int
    ) -> tuple[Paginator, Page, list[Any], bool]:
        paginator = Paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get("page"))  # type: ignore[attr-defined]
        return paginator, page, page.object_list, page.has_other_pages()


def _decorate_stages(stages: list[Stage]) -> list[Stage]:
    """Attach the public status and its label to each stage, for templates."""
    for stage in stages:
        stage.public_status = public_stage_status(stage)
        stage.public_status_label = public_stage_status_label(stage)
        stage.vote_channels = vote_channels(stage)
        stage.vote_limit_text = vote_limit_text(stage)
    return stages


def _public_stage_or_404(stage_id: int) -> Stage:
    try:
        return selectors.public_stage(stage_id)
    except Stage.DoesNotExist as exc:
        raise Http404 from exc


class HomeView(TemplateView):
    """The public landing page: what Service Star is, the size of the contest, and the
    campaigns running now."""

    template_name = "campaigns/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["staff_count"] = StaffMember.objects.active().count()
        context["branch_count"] = OrgUnit.objects.filter(kind=UnitKind.BRANCH).count()
        context["unit_count"] = OrgUnit.objects.filter(kind__in=FRONTLINE_KINDS).count()
        campaigns = list(
            selectors.public_campaigns().filter(status=CampaignStatus.RUNNING)[:HOME_CAMPAIGNS]
        )
        for campaign in campaigns:
            _decorate_stages(list(campaign.stages.all()))
        context["campaigns"] = campaigns
        return context


class CampaignListView(LenientPaginationMixin, ListView):
    """Every public campaign, newest first, with the state of each stage."""

    template_name = "campaigns/campaign_list.html"
    context_object_name = "campaigns"
    paginate_by = 20

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.public_campaigns()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for campaign in context["campaigns"]:
            _decorate_stages(list(campaign.stages.all()))
        return context


class CampaignDetailView(DetailView):
    """A campaign and its stages in order: state, dates, quota, links to people."""

    template_name = "campaigns/campaign_detail.html"
    context_object_name = "campaign"
    pk_url_kwarg = "campaign_id"

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.public_campaigns()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["stages"] = _decorate_stages(list(self.object.stages.all()))
        return context


class StageContestantsView(LenientPaginationMixin, ListView):
    """A stage's contestants as a paginated gallery, with search and filters (GET form)."""

    template_name = "campaigns/stage_contestants.html"
    context_object_name = "contestants"
    paginate_by = CONTESTANTS_PER_PAGE

    def get_queryset(self) -> QuerySet[Contestant]:
        self.stage = _public_stage_or_404(self.kwargs["stage_id"])
        self.form = ContestantSearchForm(self.request.GET or None)
        self.filters = self.form.filters() if self.request.GET else {}
        return selectors.contestants_for_stage(self.stage, **self.filters)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        _decorate_stages([self.stage])
        context.update(
            stage=self.stage,
            campaign=self.stage.campaign,
            form=self.form,
            is_filtered=bool(self.filters),
        )
        return context


class CandidateDetailView(TemplateView):
    """One candidate of a campaign: who they are, their story, and the stages they are in."""

    template_name = "campaigns/candidate_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            campaign = Campaign.objects.exclude(status=CampaignStatus.DRAFT).get(
                pk=self.kwargs["campaign_id"]
            )
        except Campaign.DoesNotExist as exc:
            raise Http404 from exc
        # Links carry the employee number as stored; a hand-typed one may be lower case.
        employee_no = normalise_employee_no(self.kwargs["employee_no"])
        entries = selectors.candidate_entries(campaign, employee_no)
        if not entries:
            raise Http404
        member = entries[0].staff_member
        _decorate_stages([entry.stage for entry in entries])
        context.update(
            campaign=campaign,
            member=member,
            branch=branch_of(member.unit),
            entries=entries,
            # Customers text "TP <vote code>" to this number while one of the stages is open.
            sms_number=settings.SMS_VOTE_NUMBER,
            is_open=any(
                entry.stage.status == StageStatus.OPEN
                and entry.status == ContestantStatus.IN
                and COMPONENT_CHANNELS[ComponentKey.SMS_VOTES] in entry.stage.vote_channels
                for entry in entries
            ),
        )
        return context


class StageWinnersView(TemplateView):
    """Who went through a finalised stage, by rank; before that, a message saying so."""

    template_name = "campaigns/stage_winners.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        stage = _public_stage_or_404(self.kwargs["stage_id"])
        _decorate_stages([stage])
        is_finalized = stage.status == StageStatus.FINALIZED
        context.update(
            stage=stage,
            campaign=stage.campaign,
            is_finalized=is_finalized,
            winners=list(selectors.winners_for_stage(stage)) if is_finalized else [],
            shows_totals=shows_totals(stage),
        )
        return context
