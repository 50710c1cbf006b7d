"""A generic double-entry ledger: integer fen, append-only journal sealed into a hash chain, holds, verification.

It knows nothing about vouchers, programs or claims, and imports neither ``voucher_service`` nor ``accounts``
(users are referenced through ``settings.AUTH_USER_MODEL``); only the project's infrastructure, ``core``. The
public surface:

* ``ledger.services`` (writes): ``account_create``, ``account_get_or_create``, ``entry_post``,
  ``entry_reverse``, ``hold_create``, ``hold_post``, ``hold_void``, ``hold_expire``, ``holds_expire_due``. On
  PostgreSQL an entry is posted by one call of the database function ``ledger_post_entry`` (migration 0004);
  other backends run the same steps in Python (``ledger.journal_store``).
* ``ledger.batch.entries_post_many``: many entries in one transaction, each refused or posted on its own (on
  PostgreSQL one call of ``ledger_post_entries``, migration 0008).
* ``ledger.selectors`` (reads): ``balance``, ``account_balance``, ``trial_balance``, ``chain_head`` …
* Every write above is a ``core.transactions.service_write``, the same decorator the domain's services use:
  its own durable transaction with retries when called alone, part of the caller's transaction otherwise.
* ``ledger.money``: ``yuan_to_fen``, ``fen_to_yuan``, ``apply_rate_round_down`` (the one rounding rule).
* ``ledger.errors``: ``LedgerError``, whose ``code`` is a ``LedgerErrorCode`` (each with its HTTP status).
* ``ledger.sealing``: ``seal_pending`` appends committed entries to the hash chain (``ChainLink``) shortly after
  they commit (posting takes no global lock); also ``manage.py seal_ledger`` and the ``ledger.seal`` task.
* ``ledger.signing``: each chain head the sealer makes is signed (``ChainSeal``, HMAC) with a key from the
  environment that the database never holds.
* ``ledger.explanations``: the registry through which the domain explains each entry and hold on the accounts
  it claims, and reconciles its own figures (the ledger imports no domain code; the domain registers).
* ``ledger.verification`` / ``manage.py verify_ledger`` / the ``ledger.verify`` task (they seal first; seals,
  pinned heads and the domain's explanations are checked too).
* ``ledger.schedule.BEAT_SCHEDULE``: the periodic jobs (hold expiry, sealing, verification).

Sign convention: balances are credits − debits.
"""
