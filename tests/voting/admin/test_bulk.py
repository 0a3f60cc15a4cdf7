"""Bulk invalidate and restore from the changelist: preview, reason, service, audit; the
background job for large selections; read-only admins."""

import pytest
from django.urls import reverse

from staff.models import AuditEvent
from tests.factories.staff import UserFactory
from tests.factories.voting import OtpChallengeFactory, VoteFactory
from voting import bulk
from voting.choices import AuditAction, VoteStatus
from voting.models import OtpChallenge, Vote, Voter
from voting.tasks import run_vote_job_task

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:voting_vote_changelist")


def statuses(ids) -> dict[int, str]:
    return dict(Vote.objects.filter(pk__in=ids).values_list("pk", "status"))


def invalid_ids() -> set[int]:
    return set(Vote.objects.filter(status=VoteStatus.INVALIDATED).values_list("pk", flat=True))


def post_action(client, action: str, ids, *, query: str = "", **extra):
    data = {"action": action, "index": "0", "_selected_action": [str(pk) for pk in ids], **extra}
    return client.post(f"{CHANGELIST}{query}", data)


def test_intermediate_page_shows_counts_by_candidate(hr, ledger):
    ids = [v.pk for v in ledger.cluster[:4]] + [ledger.clean[0].pk]

    response = post_action(hr, "invalidate_selected", ids)

    preview = response.context["preview"]
    assert response.status_code == 200
    assert (preview.selected, preview.changing) == (5, 5)
    assert [(c.contestant.pk, c.selected, c.changing) for c in preview.by_candidate] == [
        (ledger.alice.pk, 4, 4),
        (ledger.bob.pk, 1, 1),
    ]
    assert "5 votes selected; 5 of them are counted now and will be invalidated." in response.text
    assert invalid_ids() == set()


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
def test_confirm_without_a_valid_reason_is_refused_and_changes_nothing(hr, ledger, reason):
    ids = [v.pk for v in ledger.cluster]

    response = post_action(hr, "invalidate_selected", ids, confirm="yes", reason=reason)

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert invalid_ids() == set()
    assert not AuditEvent.objects.filter(action=AuditAction.VOTES_INVALIDATED).exists()


def test_confirm_with_a_reason_invalidates_exactly_the_selection_and_audits(hr, ledger):
    ids = [v.pk for v in ledger.cluster[:3]]
    reason = "Same IP <b>burst</b>\r\nchecked with the store"

    response = post_action(hr, "invalidate_selected", ids, confirm="yes", reason=reason)

    assert response.status_code == 302
    assert invalid_ids() == set(ids)
    vote = Vote.objects.get(pk=ids[0])
    assert (vote.invalidated_reason, vote.invalidated_by.username) == (reason, "hr")
    event = AuditEvent.objects.get(action=AuditAction.VOTES_INVALIDATED)
    assert (event.actor_label, event.reason, event.data) == (
        "hr",
        reason,
        {"vote_ids": sorted(ids), "count": 3},
    )
    detail = hr.get(reverse("admin:voting_vote_change", args=[ids[0]]))
    assert "Same IP &lt;b&gt;burst&lt;/b&gt;" in detail.text
    assert "<b>burst</b>" not in detail.text


def test_restore_brings_votes_back_with_an_audit_event(hr, ledger):
    ids = [v.pk for v in ledger.cluster]
    post_action(hr, "invalidate_selected", ids, confirm="yes", reason="burst")

    page = post_action(hr, "restore_selected", ids[:2])
    response = post_action(hr, "restore_selected", ids[:2], confirm="yes", reason="appeal ok")

    assert page.context["preview"].changing == 2
    assert response.status_code == 302
    assert invalid_ids() == set(ids[2:])
    event = AuditEvent.objects.get(action=AuditAction.VOTES_RESTORED)
    assert (event.reason, event.data["vote_ids"]) == ("appeal ok", sorted(ids[:2]))


def test_invalidating_twice_changes_once(hr, ledger):
    ids = [v.pk for v in ledger.cluster]

    post_action(hr, "invalidate_selected", ids, confirm="yes", reason="burst")
    post_action(hr, "invalidate_selected", ids, confirm="yes", reason="again")

    assert invalid_ids() == set(ids)
    assert AuditEvent.objects.filter(action=AuditAction.VOTES_INVALIDATED).count() == 1
    assert set(Vote.objects.values_list("invalidated_reason", flat=True)) == {"burst", ""}


def _start_background_job(hr, ledger, settings, *, query: str) -> str:
    settings.VOTING_FRAUD_BULK_SYNC_MAX = 2
    settings.VOTING_FRAUD_JOB_BATCH = 2
    # With "select all", the page's checkboxes are ticked too; the whole filter counts.
    page_ids = [ledger.cluster[0].pk]
    preview = post_action(hr, "invalidate_selected", page_ids, query=query, select_across="1")
    assert preview.context["background"] is True
    response = post_action(
        hr,
        "invalidate_selected",
        page_ids,
        query=query,
        select_across="1",
        confirm="yes",
        reason="IP burst",
        max_vote_id=str(preview.context["preview"].max_vote_id),
    )
    assert response.status_code == 302
    return response["Location"].rstrip("/").rsplit("/", 1)[1]


def test_background_job_processes_every_batch_like_a_serial_run(hr, ledger, settings):
    query = f"?stage__id__exact={ledger.stage.pk}&suspicious=ip"
    job_id = _start_background_job(hr, ledger, settings, query=query)
    late = VoteFactory(
        stage=ledger.stage,
        contestant=ledger.alice,
        ip_hash=ledger.cluster[0].ip_hash,
        cast_at=ledger.cluster[0].cast_at,
    )

    partial = bulk.run_vote_job(job_id, max_batches=1)  # a worker killed after one batch
    page = hr.get(reverse("admin:voting_vote_job", args=[job_id]))
    run_vote_job_task(job_id=job_id)
    first = statuses(ledger.all_ids | {late.pk})
    again = run_vote_job_task(job_id=job_id)

    assert (partial.state, partial.processed, partial.changed) == ("running", 2, 2)
    assert page.context["refresh"] == 2
    assert 'http-equiv="refresh"' in page.text
    # Serial order would invalidate exactly the six cluster votes; the late vote (cast
    # after the preview) and the clean votes are untouched.
    assert invalid_ids() == {v.pk for v in ledger.cluster}
    assert statuses(ledger.all_ids | {late.pk}) == first
    assert (again["state"], again["processed"], again["changed"], again["batches"]) == (
        "done",
        6,
        6,
        3,
    )
    events = AuditEvent.objects.filter(data__job=job_id)
    assert sorted(events.values_list("action", flat=True)) == sorted(
        [AuditAction.VOTE_JOB_STARTED, AuditAction.VOTE_JOB_COMPLETED]
        + [AuditAction.VOTE_JOB_PROGRESSED] * 3
    )
    assert AuditEvent.objects.filter(action=AuditAction.VOTES_INVALIDATED).count() == 3
    done_page = hr.get(reverse("admin:voting_vote_job", args=[job_id]))
    assert done_page.context["refresh"] is None
    assert 'http-equiv="refresh"' not in done_page.text


def test_background_job_with_the_cache_lost_resumes_from_the_audit_log(hr, ledger, settings):
    from django.core.cache import cache

    job_id = _start_background_job(
        hr, ledger, settings, query=f"?stage__id__exact={ledger.stage.pk}"
    )
    bulk.run_vote_job(job_id, max_batches=2)
    cache.clear()

    progress = bulk.vote_job_progress(job_id)
    final = bulk.run_vote_job(job_id)

    assert (progress.state, progress.processed) == ("running", 4)
    assert (final.state, final.processed, final.changed) == ("done", 9, 9)
    assert invalid_ids() == ledger.all_ids


def test_job_refuses_a_full_phone_number_in_the_search(ledger, admin_user):
    vote_filter = bulk.VoteFilter(params={"q": "13812345670"}, max_vote_id=None)

    with pytest.raises(bulk.InvalidationError) as refused:
        bulk.start_vote_job(
            vote_filter, action=bulk.INVALIDATE, actor=admin_user, reason="x", total=1
        )

    assert refused.value.code == "phone_in_filter"
    assert not AuditEvent.objects.filter(action=AuditAction.VOTE_JOB_STARTED).exists()


def test_view_only_admin_sees_no_bulk_actions_and_cannot_post_them(client, ledger):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_vote"))
    client.force_login(viewer)
    ids = [v.pk for v in ledger.cluster]

    listing = client.get(CHANGELIST)
    response = post_action(client, "invalidate_selected", ids, confirm="yes", reason="x")

    assert listing.status_code == 200
    assert "invalidate_selected" not in listing.text
    assert response.status_code in (200, 302)
    assert invalid_ids() == set()


@pytest.mark.parametrize(
    ("model", "make"),
    [
        ("vote", lambda: VoteFactory()),
        ("otpchallenge", lambda: OtpChallengeFactory()),
        ("voter", lambda: Voter.objects.create(voter_hash="v" * 64)),
    ],
)
def test_read_only_admins_refuse_add_change_delete(hr, model, make):
    obj = make()
    base = f"admin:voting_{model}"

    listing = hr.get(reverse(f"{base}_changelist"))
    detail = hr.get(reverse(f"{base}_change", args=[obj.pk]))
    add = hr.get(reverse(f"{base}_add"))
    change = hr.post(reverse(f"{base}_change", args=[obj.pk]), {"status": "valid"})
    delete = hr.post(reverse(f"{base}_delete", args=[obj.pk]), {"post": "yes"})

    assert (listing.status_code, detail.status_code) == (200, 200)
    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert type(obj).objects.filter(pk=obj.pk).count() == 1


def test_otp_admin_never_shows_the_code_hash(hr):
    challenge = OtpChallengeFactory(code_hash="f" * 64)

    detail = hr.get(reverse("admin:voting_otpchallenge_change", args=[challenge.pk]))

    assert detail.status_code == 200
    assert "f" * 64 not in detail.text
    assert OtpChallenge.objects.count() == 1
