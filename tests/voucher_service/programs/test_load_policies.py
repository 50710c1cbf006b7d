"""manage.py load_policies: the four seed programs exactly as docs/POLICIES.md states them, loaded idempotently."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.audit import SYSTEM
from accounts.models import AuditEvent, EntityCategory, Jurisdiction, Organization, OrganizationKind
from ledger.services import account_create, entry_post
from tests.factories import BAODING, HOHHOT, HORINGER_PLATFORM, NINGXIA, load_policies
from tests.snapshots import row_counts
from voucher_service.programs import services
from voucher_service.programs.budgets import budget_open
from voucher_service.programs.loader import DEFAULT_FIXTURE
from voucher_service.programs.models import Program, ProgramStatus, ProgramVersion
from voucher_service.programs.rules import Payer, ScopeMode
from voucher_service.programs.selectors import budget_accounts, program_current_version, program_latest_version

pytestmark = pytest.mark.django_db

YUAN = 100  # fen per yuan


def rules_of(program):
    return program_latest_version(program).parsed()


def test_ningxia_seed(seeds, ningxia_agency):
    # given the seeds are loaded
    program = seeds.ningxia
    rules = rules_of(program)
    # then Ningxia issues at most 40,000,000 元 a year, to the five named categories, for in-region compute
    assert rules.annual_cap == 40_000_000 * YUAN
    assert set(rules.eligible_categories) == {
        EntityCategory.UNIVERSITY,
        EntityCategory.RESEARCH_INSTITUTE,
        EntityCategory.COMPUTE_INTERMEDIARY,
        EntityCategory.TECH_SME,
        EntityCategory.MAKER,
    }
    assert not rules.category_eligible(EntityCategory.ENTERPRISE)
    assert rules.provider_scope.mode == ScopeMode.IN_JURISDICTION
    # and it is published, valid 2023-09-15 to 2025-12-31, with no rate (100 %) and no per-entity cap
    assert program.status == ProgramStatus.PUBLISHED
    assert (program.valid_from, program.valid_until) == (date(2023, 9, 15), date(2025, 12, 31))
    assert rules.rate_rules == ()
    assert rules.rate_award(123_456, []) == 123_456
    assert rules.per_entity_annual_cap is None
    # and its legal basis and administering agency are recorded (the persona agency, adopted by name)
    assert program.legal_document_number == "宁政办规发〔2023〕8号"
    assert "（九）" in program.legal_clause
    assert program.issuing_agency == ningxia_agency
    assert program.jurisdiction.code == "640000"


def test_yinchuan_seed_is_a_draft_with_two_capped_thirty_percent_subsidies(seeds):
    program = seeds.yinchuan
    rules = rules_of(program)
    # then it is a draft with blank dates and nothing published
    assert program.status == ProgramStatus.DRAFT
    assert program.valid_from is None
    assert program.valid_until is None
    assert program_current_version(program) is None
    # and its two compute subsidies are 30 % capped at 5,000,000 元 and at 2,000,000 元 (once); they stack
    # (同一企业(项目)满足本政策多项奖励条件可同时享受; 就高从优不重复 is only against other city policies)
    by_code = {rule.condition.code: rule for rule in rules.rate_rules}
    assert by_code["large_model_builder"].rate == Decimal("0.30")
    assert by_code["large_model_builder"].cap == 5_000_000 * YUAN
    assert by_code["top_talent"].rate == Decimal("0.30")
    assert by_code["top_talent"].cap == 2_000_000 * YUAN
    assert by_code["top_talent"].once_per_entity is True
    assert rules.combination == "stack"
    # a 20,000,000 元 compute bill of a model builder: 30 % is 6,000,000 元, capped at 5,000,000 元
    assert rules.rate_award(20_000_000 * YUAN, ["large_model_builder"]) == 5_000_000 * YUAN
    # a top-talent team's 10,000,000 元 bill: capped at 2,000,000 元
    assert rules.rate_award(10_000_000 * YUAN, ["top_talent"]) == 2_000_000 * YUAN


def test_a_yinchuan_entity_meeting_both_conditions_gets_thirty_percent_under_each_within_each_cap(seeds):
    # given Yinchuan's rules, and a model builder led by a top-talent team
    rules = rules_of(seeds.yinchuan)
    both = ["large_model_builder", "top_talent"]
    # when it claims a 5,000,000 元 compute bill: 30 % under each rule, both under their caps
    # then it receives 1,500,000 元 + 1,500,000 元
    assert rules.rate_award(5_000_000 * YUAN, both) == 3_000_000 * YUAN
    # and on a 10,000,000 元 bill: 3,000,000 元 under Art. 9 (cap 5,000,000) + 2,000,000 元 under Art. 14 (capped)
    assert rules.rate_award(10_000_000 * YUAN, both) == 5_000_000 * YUAN
    # and each rule's cap counts what the entity already received under that rule only
    received = {"large_model_builder": 4_000_000 * YUAN, "top_talent": 0}
    assert rules.rate_award(10_000_000 * YUAN, both, received) == (1_000_000 + 2_000_000) * YUAN


def test_baoding_seed(seeds, baoding_agency):
    program = seeds.baoding
    rules = rules_of(program)
    # then Baoding issues at most 10,000,000 元 a year and 1,000,000 元 per unit per year
    assert rules.annual_cap == 10_000_000 * YUAN
    assert rules.per_entity_annual_cap == 1_000_000 * YUAN
    # and a settling-in enterprise receives a one-time 500,000 元 voucher in the year it settles, once ever
    (settling,) = rules.fixed_awards
    assert settling.amount == 500_000 * YUAN
    assert settling.once_per_entity is True
    assert settling.condition.check == "settled_in_fiscal_year"
    # and only an AI enterprise (either enterprise category) or a research institute may receive it (落户的人工智能
    # 企业、科研机构), although makers and universities are eligible for the two rates
    assert settling.categories == ("enterprise", "tech_sme", "research_institute")
    assert [settling.category_ok(c) for c in ("enterprise", "tech_sme", "research_institute")] == [True] * 3
    assert not settling.category_ok(EntityCategory.MAKER)
    assert not settling.category_ok(EntityCategory.UNIVERSITY)
    assert rules.category_eligible(EntityCategory.MAKER)
    # and the 60 % major-project rate beats the 50 % local-platform rate: highest only, no stacking
    both = ["major_project_lead", "local_platform"]
    assert rules.rate_award(1_000_000, both) == 600_000
    assert rules.rate_award(1_000_000, ["local_platform"]) == 500_000
    # and a city-managed district's project is paid 50/50 by city and district; a province-administered county
    # (定州市, 130682) pays 100 % of its own
    district = Jurisdiction.objects.get(code="130602")
    county = Jurisdiction.objects.get(code="130682")
    assert rules.split_amount(1_000_000, district.admin_type) == [(Payer.CITY, 500_000), (Payer.DISTRICT, 500_000)]
    assert rules.split_amount(1_000_000, county.admin_type) == [(Payer.COUNTY, 1_000_000)]
    # and it is in force 2024-01-25 for 3 years, with its four agencies
    assert (program.valid_from, program.valid_until) == (date(2024, 1, 25), date(2027, 1, 24))
    assert program.issuing_agency == baoding_agency
    assert set(program.responsible_agencies.values_list("name", flat=True)) == {
        "保定市发展和改革委员会",
        "保定市工业和信息化局",
        "保定市科学技术局",
        "保定市财政局",
    }


def test_hohhot_seed(seeds):
    program = seeds.hohhot
    rules = rules_of(program)
    platform = Organization.objects.get(name=HORINGER_PLATFORM)
    # then Hohhot issues at most 50,000,000 元 a year, only through the designated platform, from 2025-03-04
    assert rules.annual_cap == 50_000_000 * YUAN
    assert rules.provider_scope.mode == ScopeMode.DESIGNATED_PLATFORM
    assert rules.provider_scope.platforms == (platform.pk,)
    assert platform.kind == OrganizationKind.PLATFORM
    assert set(rules.eligible_categories) == {"enterprise", "tech_sme", "university", "research_institute"}
    assert program.valid_from == date(2025, 3, 4)
    assert program.valid_until is None
    assert program.legal_document_number == "呼政发〔2025〕11号"


def test_loading_twice_changes_nothing(seeds):
    # given the seeds are loaded
    before = row_counts() | {"organizations": Organization.objects.count()}
    # when the command runs again
    output = load_policies()
    # then nothing is written: no row, no version, no audit event
    assert "already up to date" in output
    assert row_counts() | {"organizations": Organization.objects.count()} == before


def test_a_changed_fixture_adds_one_version_and_keeps_the_old_one(seeds, tmp_path: Path):
    # given a fixture in which Baoding's annual cap rises to 12,000,000 元
    document = yaml.safe_load(DEFAULT_FIXTURE.read_text(encoding="utf-8"))
    baoding = next(item for item in document["programs"] if item["code"] == BAODING)
    baoding["rules"]["annual_cap"] = "12000000.00"
    changed = tmp_path / "policies.yaml"
    changed.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    first = program_current_version(seeds.baoding)
    # when it is loaded, twice
    load_policies("--file", str(changed))
    load_policies("--file", str(changed))
    # then Baoding has exactly one new, published version with the new cap, and version 1 is untouched
    versions = list(ProgramVersion.objects.filter(program=seeds.baoding).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].published_at is not None
    assert versions[1].parsed().annual_cap == 12_000_000 * YUAN
    assert versions[0].rules == first.rules
    assert versions[0].parsed().annual_cap == 10_000_000 * YUAN
    assert AuditEvent.objects.filter(action="program.update", target_id=str(seeds.baoding.pk)).count() == 1


def test_the_fixture_creates_missing_agencies_and_the_platform(db):
    # given an empty database (no persona agencies)
    # when the seeds are loaded
    load_policies()
    # then every agency and the designated platform exist once, and the loads are audited
    assert Program.objects.count() == 4
    assert Organization.objects.filter(name="保定市财政局", kind=OrganizationKind.AGENCY).count() == 1
    assert Organization.objects.filter(name=HORINGER_PLATFORM, kind=OrganizationKind.PLATFORM).count() == 1
    assert AuditEvent.objects.filter(action="program.create").count() == 4
    assert AuditEvent.objects.filter(action="program.publish").count() == 3


def fixture_with(tmp_path: Path, code: str, **changes) -> str:
    document = yaml.safe_load(DEFAULT_FIXTURE.read_text(encoding="utf-8"))
    item = next(item for item in document["programs"] if item["code"] == code)
    item.update(changes)
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_an_extension_in_the_fixture_is_recorded_once(seeds, tmp_path: Path):
    # given a fixture recording an extension of Ningxia to 2026-12-31
    extension = {
        "decided_on": date(2025, 12, 15),
        "new_end": date(2026, 12, 31),
        "reason": "政策到期修订延续",
        "legal_reference": "宁夏回族自治区人民政府公报 2023年第17号",
    }
    path = fixture_with(tmp_path, NINGXIA, extensions=[extension])
    # when it is loaded twice
    load_policies("--file", path)
    load_policies("--file", path)
    # then the window moved once, the extension row holds the reason and reference, and no version was added
    seeds.ningxia.refresh_from_db()
    assert seeds.ningxia.valid_until == date(2026, 12, 31)
    (row,) = seeds.ningxia.extensions.all()
    assert (row.previous_end, row.new_end, row.decided_on) == (
        date(2025, 12, 31),
        date(2026, 12, 31),
        date(2025, 12, 15),
    )
    assert row.legal_reference == extension["legal_reference"]
    assert seeds.ningxia.versions.count() == 1


def test_a_reload_keeps_an_agencys_own_later_version(seeds, foreign_admin):
    # given Baoding's administrator published v2 through the API
    services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"annual_cap": "9000000.00"})
    # when the unchanged fixture is loaded again (every `make run` does this)
    load_policies()
    # then the agency's version stays in force: an unchanged fixture adds nothing
    assert program_current_version(seeds.baoding).number == 2
    assert program_current_version(seeds.baoding).parsed().annual_cap == 9_000_000 * YUAN


def test_moving_a_published_window_in_the_fixture_only_warns(seeds, tmp_path: Path):
    # given a fixture that edits Baoding's published end date instead of recording an extension
    path = fixture_with(tmp_path, BAODING, valid_until=date(2028, 1, 24))
    before = row_counts()
    # when it is loaded
    err = StringIO()
    call_command("load_policies", "--file", path, stdout=StringIO(), stderr=err)
    # then the operator is told to record an extension, and nothing changes
    assert "record an extension" in err.getvalue()
    seeds.baoding.refresh_from_db()
    assert seeds.baoding.valid_until == date(2027, 1, 24)
    assert row_counts() == before


def with_rules(tmp_path: Path, changes: dict[str, dict]) -> str:
    """The seed fixture with some programs' rules keys changed (``{code: {key: value}}``)."""
    document = yaml.safe_load(DEFAULT_FIXTURE.read_text(encoding="utf-8"))
    for item in document["programs"]:
        item["rules"].update(changes.get(item["code"], {}))
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return str(path)


def run_load(*args: str) -> tuple[str, str, CommandError | None]:
    out, err = StringIO(), StringIO()
    try:
        call_command("load_policies", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def test_a_changed_fixture_does_not_revert_an_agencys_later_api_version(seeds, foreign_admin, tmp_path: Path):
    # given Baoding's administrator published v2 (cap 9,000,000 元) through the API
    services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"annual_cap": "9000000.00"})
    # when a fixture that changes Baoding's rules (cap 12,000,000 元) is loaded
    _, err, failure = run_load("--file", with_rules(tmp_path, {BAODING: {"annual_cap": "12000000.00"}}))
    # then the operator is warned, the agency's v2 stays in force and no version is added
    assert failure is None
    assert BAODING in err
    assert "through the API" in err
    assert seeds.baoding.versions.count() == 2
    assert program_current_version(seeds.baoding).parsed().annual_cap == 9_000_000 * YUAN


def test_a_ledger_refusal_fails_that_program_only_with_a_clear_message(seeds, tmp_path: Path):
    # given Hohhot's budget this year with 30,000,000 元 issued
    year = timezone.localdate().year
    budget_open(actor=SYSTEM, program=seeds.hohhot, year=year)
    voucher = account_create(code="test:voucher:load", name="voucher")
    budget = budget_accounts(seeds.hohhot, year).budget_account
    entry_post(
        actor=SYSTEM,
        idempotency_key="t:load:issue",
        lines=[(budget, "debit", 30_000_000 * YUAN), (voucher, "credit", 30_000_000 * YUAN)],
    )
    # when a fixture cuts Hohhot's cap to 20,000,000 元 (below what is issued) and raises Baoding's
    path = with_rules(tmp_path, {HOHHOT: {"annual_cap": "20000000.00"}, BAODING: {"annual_cap": "12000000.00"}})
    out, err, failure = run_load("--file", path)
    # then the command exits non-zero naming Hohhot, without a traceback, and writes nothing for it
    assert failure is not None
    assert HOHHOT in str(failure)
    assert f"program {HOHHOT} was not loaded" in err
    assert "Traceback" not in err
    assert seeds.hohhot.versions.count() == 1
    # and Baoding's change was loaded all the same
    assert program_current_version(seeds.baoding).parsed().annual_cap == 12_000_000 * YUAN
    assert "versions added: " + BAODING in out


def test_an_invalid_program_block_fails_only_that_program(seeds, tmp_path: Path):
    # given a fixture whose Hohhot per-entity cap exceeds its annual cap
    path = with_rules(tmp_path, {HOHHOT: {"per_entity_annual_cap": "60000000.00"}})
    # when it is loaded
    _, err, failure = run_load("--file", path)
    # then the field is named, the command fails, and Hohhot keeps its version
    assert failure is not None
    assert "per_entity_annual_cap" in err
    assert seeds.hohhot.versions.count() == 1
