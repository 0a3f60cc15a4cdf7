"""The outbox's reconcile action: a person who checked the gateway's send records (by our
message id, Aliyun's ``OutId``) records whether messages of unknown outcome went out.

An intermediate page lists the selected messages still ``unknown``, asks for the outcome,
the gateway's message id when one was found, and a reason; ``services.reconcile_sms``
records each change with an audit event.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.messaging.choices import SmsStatus
from campaigns.messaging.models import OutboundSms
from campaigns.messaging.services import reconcile_sms
from staff.admin_pages import admin_page_context
from staff.audit import ReasonField
from staff.exceptions import DomainError

ACTION_NAME = "reconcile_selected"


class ReconcileForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome found at the gateway"),
        choices=[
            (SmsStatus.SENT, _("Sent: the gateway's records show the message")),
            (SmsStatus.FAILED, _("Failed: the gateway has no record of it")),
        ],
        widget=forms.RadioSelect,
    )
    provider_message_id = forms.CharField(
        label=_("Gateway message id"),
        max_length=128,
        required=False,
        help_text=_("The id the gateway's records give the message (Aliyun's BizId), if any."),
    )
    reason = ReasonField(
        help_text=_("Recorded in the audit log, e.g. where you checked and what you found."),
    )


def reconcile_action(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[OutboundSms]
) -> HttpResponse | None:
    """The action's page (GET-less: the changelist posts the selection to it)."""
    unknown = list(queryset.filter(status=SmsStatus.UNKNOWN).order_by("pk"))
    if not unknown:
        model_admin.message_user(
            request,
            gettext("None of the selected messages has an unknown outcome."),
            level=messages.WARNING,
        )
        return None
    confirmed = "confirm" in request.POST
    form = ReconcileForm(request.POST if confirmed else None)
    if confirmed and form.is_valid():
        try:
            done = reconcile_sms(
                [row.pk for row in unknown],
                outcome=form.cleaned_data["outcome"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                provider_message_id=form.cleaned_data["provider_message_id"],
            )
        except DomainError as exc:
            model_admin.message_user(request, exc.message, level=messages.ERROR)
            return None
        model_admin.message_user(request, gettext("%(n)d messages reconciled.") % {"n": done})
        return None
    context = admin_page_context(
        request,
        model_admin,
        gettext("Reconcile messages of unknown outcome"),
        rows=unknown,
        form=form,
        action_name=ACTION_NAME,
        action_checkbox_name=admin.helpers.ACTION_CHECKBOX_NAME,
    )
    return TemplateResponse(request, "admin/campaigns/outboundsms_reconcile.html", context)
