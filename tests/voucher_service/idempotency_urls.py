"""A test-only money-moving endpoint: it posts a fresh ledger entry per call (its own ledger key is random),
so only the API's Idempotency-Key layer can stop a duplicate."""

import uuid

from django.urls import path
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.models import Account
from ledger.money import fen_to_yuan, yuan_to_fen
from ledger.services import entry_post
from voucher_service.api.idempotency import idempotent


class TransferInput(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    amount = serializers.CharField()
    # Test hook: another request takes the key over (it went stale) before this one commits.
    simulate_takeover = serializers.BooleanField(required=False, default=False)

    def validate_amount(self, value):
        try:
            return yuan_to_fen(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class TransferView(APIView):
    @idempotent
    def post(self, request):
        data = TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        source = Account.objects.get(code=data.validated_data["source"])
        target = Account.objects.get(code=data.validated_data["target"])
        amount = data.validated_data["amount"]
        if data.validated_data["simulate_takeover"]:
            from voucher_service.models import IdempotencyRecord

            IdempotencyRecord.objects.filter(key=request.headers["Idempotency-Key"]).update(attempt="someone-else")
        entry = entry_post(
            actor=request.user,
            idempotency_key=f"test-transfer:{uuid.uuid4()}",
            lines=[(source, "debit", amount), (target, "credit", amount)],
        )
        response = Response({"entry": entry.pk, "amount": fen_to_yuan(amount)}, status=status.HTTP_201_CREATED)
        response["Location"] = f"/entries/{entry.pk}/"
        return response


urlpatterns = [path("transfer/", TransferView.as_view())]
