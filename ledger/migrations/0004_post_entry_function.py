"""PostgreSQL: post a journal entry in one server-side call, ``ledger_post_entry(...)``.

Posting used to take five round trips, each with its share of Python and of backend protocol work: BEGIN, lock
the balance rows, look the idempotency key up, write, COMMIT. Two cores spent about 2 ms of CPU per entry, half
of it in the client (``BENCHMARKS.md``). The function does the middle three steps in the database, in the same order and with the
same refusals as the portable Python path (``ledger.services``), and returns an outcome instead of raising, so a
refusal writes nothing and leaves the caller's transaction usable:

1. lock the balance rows in ascending id order (``FOR UPDATE``), the global lock order of the ledger, applying
   the lines (and any pending amounts a hold releases) and bumping each version as each row is locked;
2. refuse an unknown account or another currency;
3. replay or refuse a known idempotency key (checked after the locks: a twin of the same request locks the same
   rows, so its entry is committed and visible by now; each statement of a volatile function takes a new
   snapshot under READ COMMITTED);
4. refuse a second reversal of one entry;
5. refuse a broken limit (after the replay check: a replay is never refused because the balance moved since);
6. insert the entry (``ON CONFLICT (idempotency_key) DO NOTHING``: a twin on other accounts becomes a
   conflict, not an aborted transaction), its sealer queue row and its postings, and write the balances.

The function's statements always use their generic plans (``SET plan_cache_mode``), planned once per session.

The entry's body digest is computed here, over the very bytes ``ledger.hashing.entry_body_digest`` hashes:
Python sends the canonical JSON around the three values only the database knows (the effective and recorded
times, and the postings with their versions and balances after), and the function fills them in. A test checks
the two agree for every kind of entry. The invariant triggers of 0002 still check what this function writes.
"""

from django.db import migrations

from core.migration_operations import PostgreSQLOnlyRunSQL


FORWARD_SQL = r"""
CREATE OR REPLACE FUNCTION ledger_post_entry(
    p_key text, p_fingerprint text, p_currency text, p_effective_at timestamptz, p_memo text, p_metadata jsonb,
    p_actor bigint, p_reverses bigint,
    p_document_head text, p_document_middle text, p_document_tail text,
    p_account_ids bigint[], p_directions text[], p_amounts bigint[],
    p_release_pending_debits bigint[], p_release_pending_credits bigint[],
    OUT outcome text, OUT entry_id bigint, OUT account_code text, OUT detail text,
    OUT recorded_at timestamptz, OUT effective_at timestamptz, OUT body_digest text
) LANGUAGE plpgsql
-- Plan each statement once per session. Left to choose, PostgreSQL re-plans the statements that read the arrays
-- on every call (a custom plan knows their length), which cost a fifth of the function's CPU; their best plan
-- does not depend on the values.
SET plan_cache_mode = force_generic_plan
AS $$
-- p_account_ids is sorted ascending, one element per account; the other arrays are aligned with it.
-- Outcomes: posted | replay | conflict | unknown_account (detail: the missing ids) | currency (detail: the
-- account's currency) | already_reversed | limit (detail: 'debits' or 'credits', the side that would exceed).
DECLARE
    n int := cardinality(p_account_ids);
    locked_count int := 0;
    acct ledger_account;
    currency_account text;
    currency_found text;
    limit_account text;
    limit_side text;
    stored_fingerprint text;
    new_posted_debits bigint[] := '{}';
    new_posted_credits bigint[] := '{}';
    new_pending_debits bigint[] := '{}';
    new_pending_credits bigint[] := '{}';
    new_versions bigint[] := '{}';
    recorded_iso text;
    posting_documents text[] := '{}';
BEGIN
    -- Lock the balance rows one primary-key lookup at a time, in ascending id order (the array is sorted), and
    -- work out each one's new balance as it is locked; the refusals are decided afterwards, in the portable
    -- path's order. (Cheaper than one locking query over all the ids, whatever plan a small table gets.)
    FOR k IN 1..n LOOP
        SELECT * INTO acct FROM ledger_account WHERE id = p_account_ids[k] FOR UPDATE;
        EXIT WHEN NOT FOUND;
        locked_count := locked_count + 1;
        IF currency_account IS NULL AND acct.currency <> p_currency THEN
            currency_account := acct.code; currency_found := acct.currency;
        END IF;
        acct.pending_debits := acct.pending_debits - p_release_pending_debits[locked_count];
        acct.pending_credits := acct.pending_credits - p_release_pending_credits[locked_count];
        IF p_directions[locked_count] = 'debit' THEN
            acct.posted_debits := acct.posted_debits + p_amounts[locked_count];
        ELSE
            acct.posted_credits := acct.posted_credits + p_amounts[locked_count];
        END IF;
        acct.version := acct.version + 1;
        IF limit_account IS NULL THEN
            IF acct.debits_must_not_exceed_credits
               AND acct.posted_debits + acct.pending_debits > acct.posted_credits THEN
                limit_account := acct.code; limit_side := 'debits';
            ELSIF acct.credits_must_not_exceed_debits
               AND acct.posted_credits + acct.pending_credits > acct.posted_debits THEN
                limit_account := acct.code; limit_side := 'credits';
            END IF;
        END IF;
        new_posted_debits[locked_count] := acct.posted_debits;
        new_posted_credits[locked_count] := acct.posted_credits;
        new_pending_debits[locked_count] := acct.pending_debits;
        new_pending_credits[locked_count] := acct.pending_credits;
        new_versions[locked_count] := acct.version;
    END LOOP;

    IF locked_count <> n THEN
        outcome := 'unknown_account';
        SELECT string_agg(wanted::text, ',' ORDER BY wanted) INTO detail
        FROM unnest(p_account_ids) AS wanted
        WHERE NOT EXISTS (SELECT 1 FROM ledger_account WHERE ledger_account.id = wanted);
        -- (an id created since the loop missed it leaves none missing now: report every requested id)
        detail := coalesce(detail, array_to_string(p_account_ids, ','));
        RETURN;
    END IF;
    IF currency_account IS NOT NULL THEN
        outcome := 'currency'; account_code := currency_account; detail := currency_found;
        RETURN;
    END IF;
    -- After the locks: a twin of the same request locks the same rows, so its entry is committed and visible
    -- by now, and it is replayed even if the balance has moved since (checked before the limits).
    SELECT e.id, e.request_fingerprint INTO entry_id, stored_fingerprint
    FROM ledger_journalentry AS e WHERE e.idempotency_key = p_key;
    IF FOUND THEN
        outcome := CASE WHEN stored_fingerprint = p_fingerprint THEN 'replay' ELSE 'conflict' END;
        RETURN;
    END IF;
    IF p_reverses IS NOT NULL
       AND EXISTS (SELECT 1 FROM ledger_journalentry AS e WHERE e.reverses_id = p_reverses) THEN
        outcome := 'already_reversed';
        RETURN;
    END IF;
    IF limit_account IS NOT NULL THEN
        outcome := 'limit'; account_code := limit_account; detail := limit_side;
        RETURN;
    END IF;

    -- Taken once the balance rows are locked, so per account recorded_at never goes backwards. The ISO form is
    -- Python's datetime.astimezone(UTC).isoformat(timespec="microseconds").
    recorded_at := clock_timestamp();
    recorded_iso := to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00';
    effective_at := coalesce(p_effective_at, recorded_at);
    FOR i IN 1..n LOOP
        -- [account, direction, amount, version after, balance after, recorded at], as ledger.hashing writes it
        -- (appending to an array is amortised constant time; concatenating one growing string is not)
        posting_documents[i] := '[' || p_account_ids[i] || ',"' || p_directions[i] || '",' || p_amounts[i] || ','
            || new_versions[i] || ',' || (new_posted_credits[i] - new_posted_debits[i]) || ',"' || recorded_iso
            || '"]';
    END LOOP;
    body_digest := encode(sha256(convert_to(
        p_document_head || '"'
        || to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"'
        || p_document_middle || '[' || array_to_string(posting_documents, ',') || '],"recorded_at":"'
        || recorded_iso || '"'
        || p_document_tail, 'UTF8')), 'hex');

    -- One statement writes the rest, every part conditional on the entry insert: a twin on other balance rows
    -- that committed the key after our check (the insert waited for it) leaves nothing written here.
    WITH new_entry AS (
        INSERT INTO ledger_journalentry AS e (idempotency_key, request_fingerprint, currency, effective_at,
            recorded_at, memo, metadata, actor_id, reverses_id, body_digest)
        VALUES (p_key, p_fingerprint, p_currency, effective_at, recorded_at, p_memo, p_metadata, p_actor,
            p_reverses, body_digest)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING e.id
    ), queued AS (
        INSERT INTO ledger_unsealedentry (entry_id) SELECT new_entry.id FROM new_entry
    ), postings AS (
        INSERT INTO ledger_posting (entry_id, account_id, direction, amount, account_version, balance_after,
            recorded_at)
        SELECT new_entry.id, u.id, u.direction, u.amount, u.version, u.credits - u.debits, recorded_at
        FROM new_entry,
            unnest(p_account_ids, p_directions, p_amounts, new_versions, new_posted_credits, new_posted_debits)
            AS u (id, direction, amount, version, credits, debits)
    ), balances AS (
        UPDATE ledger_account AS a
        SET posted_debits = u.posted_debits, posted_credits = u.posted_credits,
            pending_debits = u.pending_debits, pending_credits = u.pending_credits, version = u.version
        FROM new_entry,
            unnest(p_account_ids, new_posted_debits, new_posted_credits, new_pending_debits,
                new_pending_credits, new_versions)
            AS u (id, posted_debits, posted_credits, pending_debits, pending_credits, version)
        WHERE a.id = u.id
    )
    SELECT new_entry.id INTO entry_id FROM new_entry;
    IF entry_id IS NULL THEN
        -- A twin that committed the key after our check locked other balance rows, so it is another request: a
        -- conflict. (A twin of this very request locks these rows and was replayed above; kept as a guard.)
        SELECT e.id, e.request_fingerprint INTO entry_id, stored_fingerprint
        FROM ledger_journalentry AS e WHERE e.idempotency_key = p_key;
        outcome := CASE WHEN stored_fingerprint = p_fingerprint THEN 'replay' ELSE 'conflict' END;
        recorded_at := NULL; effective_at := NULL; body_digest := NULL;
        RETURN;
    END IF;
    outcome := 'posted';
END;
$$;
"""

REVERSE_SQL = """
DROP FUNCTION IF EXISTS ledger_post_entry(text, text, text, timestamptz, text, jsonb, bigint, bigint, text, text,
    text, bigint[], text[], bigint[], bigint[], bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_asynchronous_sealing")]

    operations = [PostgreSQLOnlyRunSQL(FORWARD_SQL, reverse_sql=REVERSE_SQL)]
