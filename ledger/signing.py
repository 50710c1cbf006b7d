"""Signing chain heads with a key the database never holds (HMAC-SHA256).

The key comes from ``settings.LEDGER_SIGNING_KEY`` (the environment). In the embedded default, where nobody
configures anything, a random key is created on first use in ``settings.LEDGER_SIGNING_KEY_FILE`` (under
``DATA_DIR``, readable by its owner only). Keys retired by a rotation (``LEDGER_SIGNING_KEYS_RETIRED``) still
verify the seals they made; only the current key signs.

A key is named by ``key_id``: the first 16 hex digits of SHA-256 over ``"voucher_service ledger key:" + key``,
which tells keys apart without revealing anything usable about them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    secret: bytes

    def sign(self, height: int, head_hash: str) -> str:
        return hmac.new(self.secret, seal_message(height, head_hash), hashlib.sha256).hexdigest()


def seal_message(height: int, head_hash: str) -> bytes:
    return f"{height}:{head_hash}".encode("ascii")


def key_id_of(secret: bytes) -> str:
    return hashlib.sha256(b"voucher_service ledger key:" + secret).hexdigest()[:16]


def _key(secret: str) -> SigningKey:
    raw = secret.encode()
    return SigningKey(key_id_of(raw), raw)


def _key_from_file(path: Path) -> str:
    """Read the embedded key file, creating it (0600, exclusively: two processes never write two keys)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def current_key() -> SigningKey:
    """The key that signs new seals."""
    secret = settings.LEDGER_SIGNING_KEY or _key_from_file(Path(settings.LEDGER_SIGNING_KEY_FILE))
    if len(secret) < 32:
        raise ImproperlyConfigured("LEDGER_SIGNING_KEY must be at least 32 characters (generate it at random).")
    return _key(secret)


def verification_keys() -> dict[str, SigningKey]:
    """Every key a seal may have been signed with, by key_id: the current one and the retired ones."""
    keys = [current_key(), *(_key(secret) for secret in settings.LEDGER_SIGNING_KEYS_RETIRED)]
    return {key.key_id: key for key in keys}


def seal_is_valid(height: int, head_hash: str, key_id: str, signature: str, keys: dict[str, SigningKey]) -> bool:
    key = keys.get(key_id)
    return key is not None and hmac.compare_digest(key.sign(height, head_hash), signature)
