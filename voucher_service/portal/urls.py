"""The portal's pages (namespace ``portal``). Public: catalogue, verification, 公示. Then each role's pages."""

from django.urls import include, path

from voucher_service.portal.views import (
    account,
    admin_issuance,
    admin_programs,
    admin_registry,
    agency,
    applicant,
    applicant_claims,
    applications,
    audit_ledger,
    audit_reports,
    auditor,
    evidence,
    finance,
    objections,
    public,
    two_factor,
)

app_name = "portal"

urlpatterns = [
    path("", public.home, name="home"),
    path("login/", account.login, name="login"),
    path("logout/", account.logout, name="logout"),
    path("programs/", public.catalogue, name="catalogue"),
    path("programs/<int:pk>/", public.program_detail, name="program"),
    path("verify/", public.verify, name="verify"),
    path("verify/<str:token>/", public.verify_token, name="verify-token"),
    path("verify/<str:token>/qr.svg", public.verify_qr, name="verify-qr"),
    path("notices/", public.notices, name="notices"),
    path("notices/<int:pk>/object/", public.objection, name="objection"),
    path("me/", applicant.home, name="applicant-home"),
    path("me/apply/<int:program_id>/", applicant.apply, name="apply"),
    path("me/apply/<int:program_id>/check/", applicant.apply_check, name="apply-check"),
    path("me/claims/new/<int:program_id>/<slug:step>/", applicant_claims.claim_step, name="claim-step"),
    path("me/claims/<int:pk>/edit/<slug:step>/", applicant_claims.claim_edit, name="claim-edit"),
    path("me/claims/<int:pk>/", applicant.claim_detail, name="claim"),
    path("me/claims/<int:pk>/evidence/", applicant.claim_evidence, name="claim-evidence"),
    path("me/claims/<int:pk>/submit/", applicant.claim_submit, name="claim-submit"),
    path("me/claims/<int:pk>/withdraw/", applicant.claim_withdraw, name="claim-withdraw"),
    path("work/", agency.queue, name="work-queue"),
    path("work/claims/<int:pk>/", agency.claim_review, name="review"),
    # --- Program administrator (issue 15): programs, budgets, bulk issuance, revocations, awards, registry -----
    path("manage/", admin_programs.home, name="manage-home"),
    path("manage/programs/<int:pk>/", admin_programs.program_detail, name="manage-program"),
    path("manage/programs/<int:pk>/budget/<int:year>/", admin_programs.budget_dashboard, name="manage-budget"),
    path("manage/programs/<int:pk>/bulk/", admin_issuance.bulk_upload, name="manage-bulk"),
    path("manage/programs/<int:pk>/bulk/<int:bulk_id>/", admin_issuance.bulk_status, name="manage-bulk-status"),
    path(
        "manage/programs/<int:pk>/bulk/<int:bulk_id>/progress/",
        admin_issuance.bulk_progress,
        name="manage-bulk-progress",
    ),
    path("manage/programs/<int:pk>/vouchers/", admin_issuance.vouchers, name="manage-vouchers"),
    path("manage/programs/<int:pk>/awards/", admin_issuance.awards, name="manage-awards"),
    path("manage/vouchers/<int:pk>/", admin_issuance.voucher_revoke, name="manage-voucher"),
    path("manage/providers/", admin_registry.providers, name="manage-providers"),
    path("manage/providers/<int:pk>/", admin_registry.provider_detail, name="manage-provider"),
    path("manage/grants/", admin_registry.grants, name="manage-grants"),
    path("manage/grants/<int:pk>/revoke/", admin_registry.grant_revoke, name="manage-grant-revoke"),
    # --- end of the program administrator's block ---------------------------------------------------------------
    # Notifications (voucher_service.notifications): every logged-in user's list, mark-read and email preference.
    path("me/notifications/", include("voucher_service.notifications.urls")),
    # --- Agency reviewer and finance (issue 15): applications, objections, payouts, evidence preview, TOTP ---
    path("work/applications/", applications.application_list, name="applications"),
    path("work/applications/<int:pk>/", applications.application_decide, name="application-decide"),
    path("work/objections/", objections.objection_list, name="objections"),
    path("work/objections/<int:pk>/", objections.objection_resolve, name="objection-resolve"),
    path("work/payouts/", finance.payout_list, name="payouts"),
    path("work/payouts/<int:pk>/", finance.payout_record, name="payout"),
    path("claims/<int:claim_id>/evidence/<int:pk>/preview/", evidence.evidence_preview, name="evidence-preview"),
    path("account/authenticator/", two_factor.enrol, name="totp-enrol"),
    path("account/authenticator/verify/", two_factor.verify, name="totp-verify"),
    # --- end of agency reviewer and finance ---
    # --- The auditor's pages (audit/): reports as of a moment, exports, the ledger, spot checks --------------------
    path("audit/", auditor.home, name="auditor-home"),
    path("audit/programs/<int:program_id>/statement/", audit_reports.statement, name="audit-statement"),
    path("audit/programs/<int:program_id>/compliance/", audit_reports.compliance, name="audit-compliance"),
    path("audit/programs/<int:program_id>/<slug:name>/export/", audit_reports.export, name="audit-program-export"),
    path("audit/registers/<slug:name>/", audit_reports.register, name="audit-register"),
    path("audit/registers/<slug:name>/export/", audit_reports.export, name="audit-export"),
    path("audit/exports/", audit_reports.export_jobs, name="audit-exports"),
    path("audit/exports/<int:pk>/", audit_reports.export_job, name="audit-export-job"),
    path("audit/exports/<int:pk>/download/", audit_reports.export_download, name="audit-export-download"),
    path("audit/ledger/", audit_ledger.ledger, name="audit-ledger"),
    path("audit/ledger/verify/", audit_ledger.verify, name="audit-verify"),
    path("audit/ledger/verifications/<int:pk>/", audit_ledger.verification, name="audit-verification"),
    path("audit/spot-checks/", audit_ledger.spot_checks, name="audit-spot-checks"),
    path("audit/spot-checks/<int:pk>/", audit_ledger.spot_check, name="audit-spot-check"),
    path("audit/claims/<int:claim_id>/evidence-bundle/", audit_ledger.evidence_bundle, name="audit-evidence-bundle"),
    # --- end of the auditor's pages ------------------------------------------------------------------------------
]
