"""Pages of the upper apps that belong on a stage's admin page (the voting dashboard, …).

The stage admin cannot import ``voting`` or ``evaluations``; each registers its stage pages
here when its admin module is loaded, and the stage page shows the ones the admin may open.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse
from django.utils.functional import Promise

from campaigns.models import Stage


@dataclass(frozen=True)
class StageAdminLink:
    """A page about one stage: ``url_name`` reversed, the stage's id as ``stage_param``."""

    label: str | Promise
    url_name: str
    permission: str
    stage_param: str = "stage"


_links: dict[str, StageAdminLink] = {}


def register_stage_admin_link(link: StageAdminLink) -> None:
    """Show ``link`` on every stage's admin page (to admins holding its permission).

    Registering the same URL name again replaces the link (admin modules may load twice in
    tests)."""
    _links[link.url_name] = link


def stage_admin_links(
    stage: Stage, user: AbstractBaseUser | AnonymousUser
) -> list[tuple[str, str]]:
    """``(label, url)`` of the registered pages of ``stage`` that ``user`` may open."""
    return [
        (str(link.label), f"{reverse(link.url_name)}?{urlencode({link.stage_param: stage.pk})}")
        for link in _links.values()
        if user.has_perm(link.permission)
    ]
