"""The admin page of locked sign-ins: axes' "Access attempts", with an audited unlock.

Replaces axes' own admin of ``AccessAttempt``: the delete action becomes "Unlock selected",
an intermediate page that lists the sign-ins and asks for a reason, then calls
``staff.lockout.unlock_sign_ins`` (audit events). Deleting one record from its page goes
through the same service.
"""

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from staff.lockout import unlock_sign_ins


class UnlockForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea)


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockedSignInAdmin(AccessAttemptAdmin):
    actions = ["unlock_selected"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("Unlock selected sign-ins"), permissions=["delete"])
    def unlock_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = UnlockForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            count = unlock_sign_ins(
                queryset, actor=request.user, reason=form.cleaned_data["reason"].strip()
            )
            self.message_user(
                request,
                ngettext("%(n)d sign-in unlocked.", "%(n)d sign-ins unlocked.", count)
                % {"n": count},
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Unlock sign-ins"),
            "opts": self.model._meta,
            "attempts": list(queryset),
            "form": form,
        }
        return TemplateResponse(request, "admin/axes/accessattempt/unlock_confirm.html", context)

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        unlock_sign_ins(
            AccessAttempt.objects.filter(pk=obj.pk),
            actor=request.user,
            reason=gettext("Deleted from its admin page"),
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        unlock_sign_ins(queryset, actor=request.user, reason=gettext("Deleted in the admin"))
