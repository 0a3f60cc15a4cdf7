"""Output serializers of the public campaign API. Read-only, explicit fields.

Phone numbers never appear here, not even masked: the public has no use for them.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.choices import StageStatus
from campaigns.models import Campaign, Contestant, Stage
from campaigns.public import PUBLIC_STAGE_STATUSES, public_stage_status
from staff.models import OrgUnit, Position


class StageSerializer(serializers.ModelSerializer):
    """A stage as the public sees it: a previewed stage reads as ``closed``."""

    status = serializers.SerializerMethodField(
        help_text="draft, scheduled, open, closed or finalized (results under review read as closed)."
    )
    contestant_count = serializers.IntegerField(
        read_only=True, help_text="Contestants in the stage, withdrawn ones excluded."
    )

    class Meta:
        model = Stage
        fields = [
            "id",
            "order",
            "name",
            "kind",
            "status",
            "opens_at",
            "closes_at",
            "quota",
            "votes_per_day",
            "votes_per_stage",
            "votes_per_candidate",
            "served_vote_weight",
            "served_votes_only",
            "visibility",
            "contestant_count",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(choices=[(s, StageStatus(s).label) for s in PUBLIC_STAGE_STATUSES])
    )
    def get_status(self, stage: Stage) -> str:
        return public_stage_status(stage)


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign with its stages in order."""

    banner = serializers.ImageField(read_only=True, use_url=True, allow_null=True)
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "description", "banner", "starts_on", "ends_on", "status", "stages"]
        read_only_fields = fields


class UnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ["id", "code", "name"]
        read_only_fields = fields


class PositionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Position
        fields = ["code", "name"]
        read_only_fields = fields


class ContestantSerializer(serializers.ModelSerializer):
    """A contestant of a stage: the staff member's public card. ``id`` is the contestant's."""

    employee_no = serializers.CharField(source="staff_member.employee_no", read_only=True)
    # What customers text after TP (and may give as employee_no to the vote API).
    vote_code = serializers.CharField(source="staff_member.vote_code", read_only=True)
    name = serializers.CharField(source="staff_member.name", read_only=True)
    unit = UnitSerializer(source="staff_member.unit", read_only=True)
    position = PositionSerializer(source="staff_member.position", read_only=True)
    photo = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = Contestant
        fields = [
            "id",
            "employee_no",
            "vote_code",
            "name",
            "unit",
            "position",
            "status",
            "running_order",
            "photo",
            "thumbnail",
        ]
        read_only_fields = fields

    def _url(self, file: object) -> str | None:
        if not file:
            return None
        request = self.context.get("request")
        url = file.url  # type: ignore[attr-defined]
        return request.build_absolute_uri(url) if request is not None else url

    @extend_schema_field(OpenApiTypes.URI)
    def get_photo(self, contestant: Contestant) -> str | None:
        return self._url(contestant.staff_member.photo)

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail(self, contestant: Contestant) -> str | None:
        return self._url(contestant.staff_member.thumbnail)
