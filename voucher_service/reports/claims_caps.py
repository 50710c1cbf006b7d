"""The claims domain's caps in the cap-compliance proof, from the ledger's holds (``claims.selectors``):

* **rule cap**: what one entity has received under one rate rule in the rule's period (ever, or a fiscal year),
  reserved or paid, against the rule's ``cap`` in the version the claim was evaluated under; a
  ``once_per_entity`` rule is a count (the claims counting under it) against one;
* **entity-year claims cap**: the subsidy one entity's claims reserve or were paid in a fiscal year, against the
  program's ``per_entity_annual_cap`` in that version.

Each is observed after every reserve, release and payout: its highest use, when, and whether it ever went over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from voucher_service.claims.selectors import claim_reserve_history
from voucher_service.programs.models import Program, ProgramVersion
from voucher_service.programs.rules import CapPeriod, ProgramRules
from voucher_service.reports.compliance import CapUse

RULE, CLAIMS_ENTITY_YEAR = "rule_cap", "entity_year_claims_cap"


def _versions(program: Program) -> dict[int, ProgramRules]:
    return {version.pk: version.parsed() for version in ProgramVersion.objects.filter(program=program)}


def claims_cap_uses(program: Program, as_of: datetime, year: int | None) -> Iterator[CapUse]:
    versions = _versions(program)
    events = [e for e in claim_reserve_history(program.pk, as_of) if year is None or e.fiscal_year == year]
    entity_uses: dict[tuple[int, int], CapUse] = {}
    rule_uses: dict[tuple[int, str, int], CapUse] = {}
    amounts: dict[tuple, int] = defaultdict(int)
    counts: dict[tuple, int] = defaultdict(int)
    for event in events:
        rules = versions.get(event.version_id or 0)
        entity_key = (event.entity_id, event.fiscal_year)
        if entity_key not in entity_uses:
            subject = f"{event.entity_name} {event.fiscal_year}"
            entity_uses[entity_key] = CapUse(CLAIMS_ENTITY_YEAR, subject, None)
        amounts[entity_key] += event.amount
        entity_uses[entity_key].observe(amounts[entity_key], rules.per_entity_annual_cap if rules else None, event.at)
        for code in sorted(event.rules.keys() | event.counts.keys()):
            rule = next((r for r in rules.rate_rules if r.condition.code == code), None) if rules else None
            if rule is None or (rule.cap is None and not rule.once_per_entity):
                continue
            period = event.fiscal_year if rule.period == CapPeriod.FISCAL_YEAR else 0
            key = (event.entity_id, code, period)
            if key not in rule_uses:
                subject = f"{event.entity_name} {code}" + (f" {period}" if period else "")
                rule_uses[key] = CapUse(RULE, subject, None, cap_count=1 if rule.once_per_entity else None)
            amounts[key] += event.rules.get(code, 0)
            counts[key] += event.counts.get(code, 0)
            use = rule_uses[key]
            use.observe(amounts[key], rule.cap, event.at)
            if rule.once_per_entity:
                use.highest_count = max(use.highest_count or 0, counts[key])
                use.exceeded = use.exceeded or counts[key] > 1
    yield from (rule_uses[key] for key in sorted(rule_uses))
    yield from (entity_uses[key] for key in sorted(entity_uses))
