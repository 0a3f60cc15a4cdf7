"""The fraud review's pages: the bulk invalidate/restore confirmation, the suspicious
clusters of a stage with each candidate's served share, and the progress of a background vote
job.

The confirmation page is an admin action's intermediate page: GET-less, it is the answer
to the action's first POST and shows how many votes of which candidate would change; its
form posts back to the same changelist URL (so the filters travel in the query string)
with a reason. A small selection is changed in the request; a larger one ("all votes
matching the filter" above ``VOTING_FRAUD_BULK_SYNC_MAX``) becomes a background job
(``voting.fraud.jobs``) and the admin lands on its progress page.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Stage
from staff.admin_pages import admin_page_context
from staff.audit import REASON_MAX_LENGTH
from staff.exceptions import DomainError
from voting.choices import VOTE_JOB_FINISHED
from voting.fraud.filters import STAGE_PARAM, SUSPICIOUS_PARAM, VoteFilter
from voting.fraud.jobs import (
    INVALIDATE,
    BulkPreview,
    change_votes,
    enqueue_vote_job,
    preview_bulk_change,
    start_vote_job,
    vote_job,
)
from voting.fraud.patterns import PATTERN_LABELS, local_window, patterns, top_clusters
from voting.fraud.served import served_shares

# Seconds between refreshes of a running job's page.
JOB_REFRESH_SECONDS = 2


class BulkReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy(
            "Required. Recorded in the audit log with your name and the time; the voters' "
            "receipts show the vote as invalidated."
        ),
    )


def _frozen_id(request: HttpRequest) -> int | None:
    value = request.POST.get("max_vote_id", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def bulk_change_action(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *, action: str
) -> HttpResponse | None:
    """The invalidate/restore action: preview and reason first, then the change.

    A refused confirmation (no reason, too long) shows the page again and changes nothing.
    """
    select_across = request.POST.get("select_across") == "1"
    form = BulkReasonForm(request.POST if "confirm" in request.POST else None)
    if "confirm" in request.POST and form.is_valid():
        max_vote_id = _frozen_id(request)
        votes = queryset if max_vote_id is None else queryset.filter(pk__lte=max_vote_id)
        reason = form.cleaned_data["reason"]
        try:
            total = votes.count()
            if select_across and total > settings.VOTING_FRAUD_BULK_SYNC_MAX:
                return _start_job(model_admin, request, action, reason, max_vote_id, total)
            ids = list(votes.values_list("pk", flat=True))
            changed = change_votes(ids, action=action, actor=request.user, reason=reason)
        except DomainError as exc:
            model_admin.message_user(request, str(exc.message), level=messages.ERROR)
            return None
        message = (
            _("%(n)d votes invalidated.") if action == INVALIDATE else _("%(n)d votes restored.")
        )
        model_admin.message_user(request, message % {"n": len(changed)}, level=messages.SUCCESS)
        return None
    preview = preview_bulk_change(queryset, action=action)
    if "confirm" in request.POST:
        # Keep the selection frozen where the first preview froze it.
        preview = BulkPreview(
            preview.selected, preview.changing, preview.by_candidate, _frozen_id(request)
        )
    title = _("Invalidate votes") if action == INVALIDATE else _("Restore votes")
    context = admin_page_context(
        request,
        model_admin,
        title,
        action=action,
        action_name=f"{action}_selected",
        preview=preview,
        form=form,
        select_across=select_across,
        selected_ids=request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        background=select_across and preview.selected > settings.VOTING_FRAUD_BULK_SYNC_MAX,
        sync_max=settings.VOTING_FRAUD_BULK_SYNC_MAX,
        action_checkbox_name=admin.helpers.ACTION_CHECKBOX_NAME,
    )
    return TemplateResponse(request, "admin/voting/vote_bulk_confirm.html", context)


def _start_job(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    action: str,
    reason: str,
    max_vote_id: int | None,
    total: int,
) -> HttpResponse | None:
    try:
        vote_filter = VoteFilter.from_query(request.GET, max_vote_id=max_vote_id)
    except ValueError:
        model_admin.message_user(
            request,
            _("This selection cannot run in the background; narrow it with the filters."),
            level=messages.ERROR,
        )
        return None
    job_id = start_vote_job(
        vote_filter, action=action, actor=request.user, reason=reason, total=total
    )
    return redirect("admin:voting_vote_job", job_id)


def clusters_view(request: HttpRequest, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """The largest suspicious clusters of one stage (``?stage=``), each linking to the
    changelist filtered to it. Reads only: one grouped query per pattern."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    stages = list(Stage.objects.select_related("campaign").order_by("-campaign_id", "order"))
    stage_id = request.GET.get("stage", "")
    stage = next((s for s in stages if str(s.pk) == stage_id), None)
    rows = []
    shares = []
    if stage is not None:
        shares = served_shares(stage.pk)
        changelist = reverse("admin:voting_vote_changelist")
        for cluster in top_clusters(stage.pk):
            pattern = patterns()[cluster.pattern]
            window = int(cluster.key.rsplit(":", 1)[1])
            query = urlencode({STAGE_PARAM: stage.pk, SUSPICIOUS_PARAM: cluster.key})
            rows.append(
                {
                    "cluster": cluster,
                    "window": local_window(window, pattern.window_seconds),
                    "url": f"{changelist}?{query}",
                }
            )
    context = admin_page_context(
        request,
        model_admin,
        _("Suspicious clusters"),
        stages=stages,
        stage=stage,
        rows=rows,
        served_shares=shares,
        patterns=[
            {
                "label": PATTERN_LABELS[name],
                "url": "{}?{}".format(
                    reverse("admin:voting_vote_changelist"),
                    urlencode({STAGE_PARAM: stage.pk, SUSPICIOUS_PARAM: name}),
                )
                if stage is not None
                else "",
            }
            for name in patterns()
        ],
        settings_summary={
            "ip_votes": settings.VOTING_FRAUD_IP_VOTES,
            "ip_minutes": settings.VOTING_FRAUD_IP_WINDOW_MINUTES,
            "seq_voters": settings.VOTING_FRAUD_SEQUENCE_VOTERS,
            "seq_minutes": settings.VOTING_FRAUD_SEQUENCE_WINDOW_MINUTES,
        },
    )
    return TemplateResponse(request, "admin/voting/vote_clusters.html", context)


def job_view(request: HttpRequest, job_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """A vote job's progress; the page refreshes itself until the job is done. POST sends
    the job to a worker again (a lost message, a dead worker): harmless if it is running."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    job = vote_job(job_id)
    if job is None:
        raise Http404
    finished = job.status in VOTE_JOB_FINISHED
    if request.method == "POST":
        if finished or not model_admin.has_invalidate_permission(request):
            raise PermissionDenied
        enqueue_vote_job(job_id)
        messages.info(request, _("The job was sent to a worker again."))
        return HttpResponseRedirect(request.path)
    context = admin_page_context(
        request,
        model_admin,
        _("Bulk vote job"),
        job=job,
        refresh=None if finished else JOB_REFRESH_SECONDS,
        can_resend=not finished and model_admin.has_invalidate_permission(request),
    )
    return TemplateResponse(request, "admin/voting/vote_job.html", context)
