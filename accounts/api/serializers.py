"""Serializers for the accounts API. They check shapes and types; the services own the rules."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.api.strict import StrictSerializer
from accounts.models import (
    ApiToken,
    EntityCategory,
    Jurisdiction,
    Membership,
    Organization,
    OrganizationKind,
    User,
)
from accounts.validators import validate_uscc


class JurisdictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Jurisdiction
        fields = ["code", "name", "level", "admin_type", "parent"]  # parent is the parent's code (its pk)
        read_only_fields = fields


class OrganizationSerializer(serializers.ModelSerializer):
    jurisdiction: serializers.Field = serializers.SlugRelatedField(slug_field="code", read_only=True)
    # Read-only model fields lose allow_blank; only entities have a category, so the schema must allow "".
    category = serializers.ChoiceField(choices=EntityCategory.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "kind",
            "category",
            "uscc",
            "jurisdiction",
            "settled_on",
            "address",
            "personal_id_hint",
            "legal_representative_hint",
            "affiliates",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrganizationWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=OrganizationKind.choices)
    category = serializers.ChoiceField(choices=EntityCategory.choices, required=False, allow_blank=True)
    uscc = serializers.CharField(max_length=30, required=False, allow_null=True, allow_blank=True)
    jurisdiction = serializers.SlugRelatedField(slug_field="code", queryset=Jurisdiction.objects.all())
    settled_on = serializers.DateField(required=False, allow_null=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    personal_id = serializers.CharField(
        max_length=30,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text=_("Makers only. Checked, then kept only as a keyed digest and a masked hint."),
    )
    legal_representative_id = serializers.CharField(
        max_length=30,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text=_(
            "The legal representative's resident ID number, for related-party checks on claims. Checked, then kept "
            "only as a keyed digest and a masked hint."
        ),
    )
    affiliates = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Organization.objects.none(),  # narrowed per caller
        help_text=_("Declared affiliations (关联关系): organisations that may not be each other's claimed provider."),
    )

    def validate_uscc(self, value: str | None) -> str | None:
        if value:
            validate_uscc(value)
        return value or None


class OrganizationUpdateSerializer(OrganizationWriteSerializer):
    is_active = serializers.BooleanField(required=False)

    def get_fields(self):  # kind never changes after registration
        fields = super().get_fields()
        fields.pop("kind")
        return fields


class MembershipSerializer(serializers.ModelSerializer):
    organization = OrganizationSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["organization", "role"]


class MeSerializer(serializers.ModelSerializer):
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_staff", "memberships"]


class TokenCreateSerializer(StrictSerializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text=_("The secret. It is shown only once."))

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
