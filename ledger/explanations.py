"""What caused each entry: the registry through which the domain explains the ledger to ``verify_ledger``.

A balanced entry with a correct digest proves only that someone who could write the journal wrote it. The
domain knows why money moves (a budget was opened, a voucher issued, a claim paid), so verification asks it:
every entry and hold that touches an account the domain **claims** must be explained by the domain record
that caused it, and the domain may run **reconciliations** of its own figures against the ledger (a budget's
cap against the program versions in force). The ledger imports no domain code; the domain registers here, from
its ``AppConfig.ready``:

* ``claim_accounts(prefix, domain)``: accounts whose code starts with ``prefix`` belong to ``domain``;
* ``register_entry_explainer(key_prefix, explainer)``: entries whose idempotency key starts with ``key_prefix``
  are explained (or refused) by ``explainer(entries)``, which receives a batch of ``EntryFacts`` and yields
  ``(entry_id, problem)`` for each one that no domain record explains (the longest matching prefix wins);
* ``register_hold_explainer(key_prefix, explainer)``: the same for holds (``HoldFacts``); a hold's posting entry
  (key ``ledger:hold:<id>:post``) is explained by the ledger itself when it matches its hold;
* ``register_reconciliation(name, check)``: ``check()`` yields problems (strings) about the whole domain.

An entry or hold that touches a claimed account and matches no explainer is reported: it moved the domain's
money and nothing in the domain says why. Entries that touch no claimed account are not the domain's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PostingFacts:
    account_id: int
    account_code: str
    direction: str
    amount: int


@dataclass(frozen=True)
class EntryFacts:
    entry_id: int
    idempotency_key: str
    metadata: dict
    reverses_id: int | None
    postings: tuple[PostingFacts, ...]

    def credits(self) -> dict[int, int]:
        return _by_account(self.postings, "credit")

    def debits(self) -> dict[int, int]:
        return _by_account(self.postings, "debit")


@dataclass(frozen=True)
class HoldFacts:
    hold_id: int
    idempotency_key: str
    metadata: dict
    debit_account_id: int
    debit_account_code: str
    credit_account_id: int
    credit_account_code: str
    amount: int
    status: str
    posted_amount: int | None


def _by_account(postings: Iterable[PostingFacts], direction: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for posting in postings:
        if posting.direction == direction:
            out[posting.account_id] = out.get(posting.account_id, 0) + posting.amount
    return out


EntryExplainer = Callable[[Sequence[EntryFacts]], Iterable[tuple[int, str]]]
HoldExplainer = Callable[[Sequence[HoldFacts]], Iterable[tuple[int, str]]]
Reconciliation = Callable[[], Iterable[str]]

_claimed_accounts: dict[str, str] = {}
_entry_explainers: dict[str, EntryExplainer] = {}
_hold_explainers: dict[str, HoldExplainer] = {}
_reconciliations: dict[str, Reconciliation] = {}


def claim_accounts(prefix: str, domain: str) -> None:
    _claimed_accounts[prefix] = domain


def register_entry_explainer(key_prefix: str, explainer: EntryExplainer) -> None:
    _entry_explainers[key_prefix] = explainer


def register_hold_explainer(key_prefix: str, explainer: HoldExplainer) -> None:
    _hold_explainers[key_prefix] = explainer


def register_reconciliation(name: str, check: Reconciliation) -> None:
    _reconciliations[name] = check


def unregister(prefix_or_name: str) -> None:
    """Forget whatever was registered under this prefix or name (for tests that register stand-ins)."""
    for registry in (_claimed_accounts, _entry_explainers, _hold_explainers, _reconciliations):
        registry.pop(prefix_or_name, None)


def claimant(account_code: str) -> str | None:
    """The domain that claims an account code, if any."""
    matches = [prefix for prefix in _claimed_accounts if account_code.startswith(prefix)]
    return _claimed_accounts[max(matches, key=len)] if matches else None


def _longest(registry: dict[str, Callable], key: str) -> str | None:
    matches = [prefix for prefix in registry if key.startswith(prefix)]
    return max(matches, key=len) if matches else None


def entry_explainer_prefix(idempotency_key: str) -> str | None:
    return _longest(_entry_explainers, idempotency_key)


def entry_explainer(prefix: str) -> EntryExplainer:
    return _entry_explainers[prefix]


def hold_explainer_prefix(idempotency_key: str) -> str | None:
    return _longest(_hold_explainers, idempotency_key)


def hold_explainer(prefix: str) -> HoldExplainer:
    return _hold_explainers[prefix]


def reconciliations() -> dict[str, Reconciliation]:
    return dict(_reconciliations)


def has_claims() -> bool:
    return bool(_claimed_accounts)
