"""The portal's pages (namespace ``portal``). Public: catalogue, verification, 公示. Then each role's pages."""

from django.urls import path

from voucher_service.portal.views import (
    account,
    agency,
    applicant,
    applications,
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
    path("me/claims/new/<int:program_id>/<slug:step>/", applicant.claim_step, name="claim-step"),
    path("me/claims/<int:pk>/", applicant.claim_detail, name="claim"),
    path("me/claims/<int:pk>/evidence/", applicant.claim_evidence, name="claim-evidence"),
    path("me/claims/<int:pk>/submit/", applicant.claim_submit, name="claim-submit"),
    path("me/claims/<int:pk>/withdraw/", applicant.claim_withdraw, name="claim-withdraw"),
    path("work/", agency.queue, name="work-queue"),
    path("work/claims/<int:pk>/", agency.claim_review, name="review"),
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
    path("audit/", auditor.home, name="auditor-home"),
]
