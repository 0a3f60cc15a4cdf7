"""Public pages of the campaigns app."""

from django.views.generic import TemplateView

from staff.choices import FRONTLINE_KINDS, UnitKind
from staff.models import OrgUnit, StaffMember


class HomeView(TemplateView):
    """The public landing page: what Service Star is, and the size of the contest."""

    template_name = "campaigns/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["staff_count"] = StaffMember.objects.active().count()
        context["branch_count"] = OrgUnit.objects.filter(kind=UnitKind.BRANCH).count()
        context["unit_count"] = OrgUnit.objects.filter(kind__in=FRONTLINE_KINDS).count()
        return context
