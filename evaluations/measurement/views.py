"""The inspector's pages: record a store visit on a phone, and see one's recent visits.

An inspector is a user with the ``evaluations.add_inspection`` permission and no admin
access (not ``is_staff``): these pages are all they see.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.views import LoginView
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView

from evaluations.measurement.forms import InspectionForm
from evaluations.measurement.inspections import record_inspection
from evaluations.models import Inspection
from staff.exceptions import DomainError

RECENT_VISITS = 20


class InspectorMixin(LoginRequiredMixin, PermissionRequiredMixin):
    permission_required = "evaluations.add_inspection"
    login_url = "measurement:login"


class InspectorLoginView(LoginView):
    template_name = "evaluations/measurement/login.html"
    redirect_authenticated_user = False


class InspectionCreateView(InspectorMixin, FormView):
    template_name = "evaluations/measurement/inspection_form.html"
    form_class = InspectionForm

    def form_valid(self, form: InspectionForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            inspection = record_inspection(
                data["store"],
                kind=data["kind"],
                visited_at=data["visited_at"],
                inspector=self.request.user,
                ticked=form.ticked(),
                note=data["note"],
                photos=data["photos"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc.message))
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Visit to %(store)s recorded: %(score)s points.")
            % {"store": inspection.store.name, "score": inspection.score},
        )
        return redirect("measurement:inspection-list")


class InspectionListView(InspectorMixin, ListView):
    template_name = "evaluations/measurement/inspection_list.html"
    context_object_name = "inspections"

    def get_queryset(self):
        return (
            Inspection.objects.filter(inspector=self.request.user, is_current=True)
            .select_related("store")
            .order_by("-visited_at")[:RECENT_VISITS]
        )
