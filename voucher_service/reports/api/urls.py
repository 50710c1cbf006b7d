from django.urls import path
from rest_framework.routers import SimpleRouter

from voucher_service.reports.api import jobs, spot_checks, views

router = SimpleRouter()
router.register("reports/exports", jobs.ExportJobViewSet, basename="report-export")
router.register("reports/verifications", jobs.VerificationViewSet, basename="report-verification")
router.register("reports/verification-runs", jobs.VerificationRunViewSet, basename="report-verification-run")
router.register("reports/auditor-grants", jobs.AuditorGrantViewSet, basename="report-auditor-grant")
router.register("reports/spot-checks", spot_checks.SpotCheckViewSet, basename="report-spot-check")

PROGRAM_REPORTS = ("cap-compliance",)
REGISTERS = ("vouchers", "applications", "claims", "payouts", "clawbacks", "audit-log", "journal")


def _routes() -> list:
    routes = [
        path("reports/chain-head/", jobs.ChainHeadView.as_view(), name="report-chain-head"),
        path(
            "reports/claims/<int:claim_id>/evidence-bundle/",
            spot_checks.EvidenceBundleView.as_view(),
            name="report-claim-evidence-bundle",
        ),
        path(
            "reports/programs/<int:program_id>/budget-statement/",
            views.BudgetStatementView.as_view(),
            name="report-budget-statement",
        ),
        path(
            "reports/programs/<int:program_id>/budget-statement/export/",
            views.statement_export_view().as_view(),
            name="report-budget-statement-export",
        ),
    ]
    for name in PROGRAM_REPORTS:
        read, export = views.register_views(name)
        routes += [
            path(f"reports/programs/<int:program_id>/{name}/", read.as_view(), name=f"report-{name}"),
            path(f"reports/programs/<int:program_id>/{name}/export/", export.as_view(), name=f"report-{name}-export"),
        ]
    for name in REGISTERS:
        read, export = views.register_views(name)
        routes += [
            path(f"reports/{name}/", read.as_view(), name=f"report-{name}"),
            path(f"reports/{name}/export/", export.as_view(), name=f"report-{name}-export"),
        ]
    return routes


urlpatterns = [*_routes(), *router.urls]
