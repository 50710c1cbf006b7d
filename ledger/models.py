"""A generic double-entry ledger: accounts with balances, an append-only journal sealed into a hash chain, holds.

Nothing here knows about vouchers or programs; the domain attaches accounts to its objects through the
generic ``owner`` pair and reads the ledger through ``selectors``.

Sign convention: a balance is **credits − debits** (``Posting.balance_after``, ``selectors.balance``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_CURRENCY = "CNY"
GENESIS_HASH = "0" * 64


class Direction(models.TextChoices):
    DEBIT = "debit", _("Debit")
    CREDIT = "credit", _("Credit")


class AppendOnlyError(RuntimeError):
    """Raised by the ORM guards; PostgreSQL triggers refuse the same writes made in raw SQL."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")


class Account(models.Model):
    """An account and its balance row (one row: the lock that guards the balance is the account's lock).

    Limit flags follow TigerBeetle: with ``debits_must_not_exceed_credits`` the posted plus pending debits may
    never exceed the posted credits (an asset that cannot go below zero), and symmetrically for credits.
    """

    code = models.CharField(_("code"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    owner_content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    owner_object_id = models.CharField(max_length=64, blank=True, default="")
    owner = GenericForeignKey("owner_content_type", "owner_object_id")
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    credits_must_not_exceed_debits = models.BooleanField(default=False)
    posted_debits = models.BigIntegerField(default=0)
    posted_credits = models.BigIntegerField(default=0)
    pending_debits = models.BigIntegerField(default=0)
    pending_credits = models.BigIntegerField(default=0)
    # +1 on every change of any counter; postings and hold events record the version they produced.
    version = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects: ClassVar[models.Manager[Account]]

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["owner_content_type", "owner_object_id"], name="ledger_acct_owner_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(posted_debits__gte=0)
                & Q(posted_credits__gte=0)
                & Q(pending_debits__gte=0)
                & Q(pending_credits__gte=0)
                & Q(version__gte=0),
                name="ledger_account_counters_non_negative",
            ),
            models.CheckConstraint(
                condition=~(Q(debits_must_not_exceed_credits=True) & Q(credits_must_not_exceed_debits=True)),
                name="ledger_account_one_limit_flag",
            ),
            models.CheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(posted_credits__gte=F("posted_debits") + F("pending_debits")),
                name="ledger_account_debits_limit",
            ),
            models.CheckConstraint(
                condition=Q(credits_must_not_exceed_debits=False)
                | Q(posted_debits__gte=F("posted_credits") + F("pending_credits")),
                name="ledger_account_credits_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    @property
    def posted_balance(self) -> int:
        return self.posted_credits - self.posted_debits


class ChainHead(models.Model):
    """The head of the hash chain: how many links it has (``height``) and the last link's hash.

    Only the sealer (``ledger.sealing``) writes it, under its row lock; posting an entry never touches it.
    """

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    height = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    objects: ClassVar[models.Manager[ChainHead]]

    def __str__(self) -> str:
        return f"chain head #{self.height} {self.head_hash[:12]}…"


class JournalEntry(AppendOnlyModel):
    """One balanced journal entry, append-only.

    **Hash chain.** ``body_digest`` (written with the entry) is SHA-256 over the canonical serialisation of the
    entry and its postings (``ledger.hashing.entry_body_digest``). The chain itself — ``prev_hash`` and
    ``hash``, exposed here as read-only properties — lives in the entry's ``ChainLink``, which the sealer
    appends shortly after the entry commits (within seconds: a task enqueued on commit, a beat job, and
    ``verify_ledger`` itself seal first). Until then both properties are ``None``. Posting therefore takes no
    global lock; ids come from an ordinary sequence (gaps allowed) and the chain order is the link position,
    not the id.
    """

    idempotency_key = models.CharField(max_length=255, unique=True)
    request_fingerprint = models.CharField(max_length=64)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    effective_at = models.DateTimeField()
    recorded_at = models.DateTimeField(db_index=True)
    memo = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")
    body_digest = models.CharField(max_length=64)

    objects: ClassVar[AppendOnlyQuerySet] = AppendOnlyQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.memo[:40]}"

    @property
    def link(self) -> ChainLink | None:
        """This entry's chain link, or None while it is not sealed yet (read fresh until it exists)."""
        try:
            return self.chain_link
        except ChainLink.DoesNotExist:
            # A missing reverse one-to-one is cached as None; forget it so a later seal becomes visible.
            self._state.fields_cache.pop("chain_link", None)
            return None

    @property
    def prev_hash(self) -> str | None:
        link = self.link
        return None if link is None else link.prev_hash

    @property
    def hash(self) -> str | None:
        link = self.link
        return None if link is None else link.hash


class ChainLink(AppendOnlyModel):
    """One entry's place in the hash chain: ``hash = SHA-256("<prev_hash>:<position>:<entry body digest>")``.

    Positions are gapless from 1; the sealer appends links in batches under the chain-head lock, in the order it
    sees committed entries (ascending id within a batch). Append-only like the journal (PostgreSQL triggers).
    """

    position = models.BigIntegerField(primary_key=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="chain_link")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    objects: ClassVar[AppendOnlyQuerySet] = AppendOnlyQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"link #{self.position} → entry #{self.entry_id} {self.hash[:12]}…"


class ChainSeal(AppendOnlyModel):
    """A signed chain head: HMAC-SHA256 of ``"<height>:<head_hash>"`` under the signing key (``ledger.signing``).

    The sealer writes one with every batch it appends, in the same transaction, so every head the chain has had
    is signed. The key lives in the environment and never in the database: rewriting sealed history (every link
    recomputed after a forged entry) leaves seals that name hashes the chain no longer has, and a forger cannot
    sign new ones; removing links leaves seals beyond the chain. ``key_id`` names the key (a digest of it, not
    the key), so old seals still verify after a rotation. Append-only (PostgreSQL triggers).
    """

    height = models.BigIntegerField(primary_key=True)
    head_hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    objects: ClassVar[AppendOnlyQuerySet] = AppendOnlyQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["height"]

    def __str__(self) -> str:
        return f"seal #{self.height} {self.head_hash[:12]}… ({self.key_id})"


class UnsealedEntry(models.Model):
    """The sealer's work queue: one row per committed entry not sealed yet, written with the entry.

    Lets the sealer find new entries in O(batch) instead of anti-joining the whole journal with the chain; it
    deletes the rows it sealed. Not audit data: ``verify_ledger`` checks every entry against the chain itself.
    """

    entry_id = models.BigIntegerField(primary_key=True)

    objects: ClassVar[models.Manager[UnsealedEntry]]

    def __str__(self) -> str:
        return f"unsealed entry #{self.entry_id}"


class Posting(AppendOnlyModel):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount = models.BigIntegerField()
    # The account's version and posted balance (credits − debits) right after this posting: a point-in-time
    # balance is one index lookup instead of a sum over history.
    account_version = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    recorded_at = models.DateTimeField()

    objects: ClassVar[AppendOnlyQuerySet] = AppendOnlyQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "recorded_at"], name="ledger_posting_acct_time_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_posting_amount_positive"),
            models.CheckConstraint(
                condition=Q(direction__in=[Direction.DEBIT, Direction.CREDIT]),
                name="ledger_posting_direction_valid",
            ),
            models.UniqueConstraint(fields=["account", "account_version"], name="ledger_posting_acct_version"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.amount} {self.account_id} (entry {self.entry_id})"

    @property
    def signed_amount(self) -> int:
        return self.amount if self.direction == Direction.CREDIT else -self.amount


class HoldStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    POSTED = "posted", _("Posted")
    VOIDED = "voided", _("Voided")
    EXPIRED = "expired", _("Expired")


class Hold(models.Model):
    """A two-phase transfer: pending amounts reserved now, posted (fully or partly) or released later."""

    idempotency_key = models.CharField(max_length=255, unique=True)
    request_fingerprint = models.CharField(max_length=64)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debit_holds")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credit_holds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    status = models.CharField(max_length=8, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    created_at = models.DateTimeField()
    # NULL: no expiry; the hold lasts until it is posted or voided (``hold_create(expires_at=None)``).
    expires_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    posted_amount = models.BigIntegerField(null=True, blank=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="hold")
    memo = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Account versions produced by creating and by releasing the hold (a posting carries its own version),
    # so the verifier can account for every version number.
    debit_version_created = models.BigIntegerField()
    credit_version_created = models.BigIntegerField()
    debit_version_released = models.BigIntegerField(null=True, blank=True)
    credit_version_released = models.BigIntegerField(null=True, blank=True)

    objects: ClassVar[models.Manager[Hold]]

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="ledger_hold_due_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_hold_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")), name="ledger_hold_distinct_accounts"
            ),
            models.CheckConstraint(
                condition=Q(posted_amount__isnull=True) | (Q(posted_amount__gt=0) & Q(posted_amount__lte=F("amount"))),
                name="ledger_hold_posted_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(status=HoldStatus.PENDING, resolved_at__isnull=True)
                | (~Q(status=HoldStatus.PENDING) & Q(resolved_at__isnull=False)),
                name="ledger_hold_resolved_iff_not_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"hold #{self.pk} {self.amount} {self.status}"


class VerificationRun(models.Model):
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    head_height = models.BigIntegerField(null=True, blank=True)
    head_hash = models.CharField(max_length=64, blank=True, default="")
    entry_count = models.BigIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)

    objects: ClassVar[models.Manager[VerificationRun]]

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"verification {self.started_at:%Y-%m-%d %H:%M} ok={self.ok}"
