"""Every report by its name in the URL (``/api/v1/reports/<name>/``)."""

from __future__ import annotations

from voucher_service.reports.claims_registers import ClaimRegister, ClawbackRegister, PayoutRegister
from voucher_service.reports.compliance import CapComplianceReport
from voucher_service.reports.journal import JournalReport
from voucher_service.reports.registers import ApplicationRegister, AuditLogRegister, VoucherRegister
from voucher_service.reports.statements import BudgetStatementReport
from voucher_service.reports.tabular import Report

REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        BudgetStatementReport(),
        CapComplianceReport(),
        VoucherRegister(),
        ApplicationRegister(),
        AuditLogRegister(),
        JournalReport(),
        ClaimRegister(),
        PayoutRegister(),
        ClawbackRegister(),
    )
}
# Registers an entity's applicants read for their own entities; the rest are for auditors (scope.py).
ENTITY_REGISTERS = frozenset({"vouchers", "applications", "claims", "payouts", "clawbacks"})


def report_named(name: str) -> Report:
    return REPORTS[name]
