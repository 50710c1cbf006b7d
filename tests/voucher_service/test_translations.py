"""Every message catalogue is complete, and its compiled .mo matches the .po (nobody forgot compilemessages)."""

import ast
import gettext
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(p for p in ROOT.glob("**/locale/*/LC_MESSAGES/django.po") if ".venv" not in p.parts)


def entries(po: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of a .po file; obsolete (#~) entries are ignored."""
    pairs, current, field = [], {"msgid": "", "msgstr": ""}, None
    for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith(("msgid ", "msgstr ")):
            field, _, literal = line.partition(" ")
            current[field] = ast.literal_eval(literal)
        elif line.startswith('"') and field:
            current[field] += ast.literal_eval(line)
        elif not line.strip():
            if current["msgid"]:
                pairs.append((current["msgid"], current["msgstr"]))
            current, field = {"msgid": "", "msgstr": ""}, None
    return pairs


def test_there_are_catalogues():
    assert CATALOGUES


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_message_is_translated_and_compiled(po):
    pairs = entries(po)
    assert pairs
    untranslated = [msgid for msgid, msgstr in pairs if not msgstr]
    assert not untranslated, untranslated
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [msgid for msgid, msgstr in pairs if compiled.gettext(msgid) != msgstr]
    assert not stale, f"run `manage.py compilemessages`: {stale[:5]}"
