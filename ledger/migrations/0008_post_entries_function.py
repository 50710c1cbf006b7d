"""PostgreSQL: post a batch of journal entries in one server-side call, ``ledger_post_entries(...)``.

``ledger.batch.entries_post_many`` used to send one ``ledger_post_entry`` call per entry (in one pipeline and one
transaction): each call locked its rows again, looked its key up, and wrote its entry, queue row, postings and
balances with four statements of its own. Here the whole batch is one call:

1. lock every balance row of the batch once, in ascending id order (``FOR UPDATE``, one primary-key lookup at a
   time), the global lock order of the ledger; an id that is not found marks its lines unknown;
2. walk the entries in order, each against the balances the entries before it left, with the single-entry
   function's refusals in the same order: unknown account, another currency, a known idempotency key (replay or
   conflict; a key repeated within the batch is matched against the earlier entry), a broken limit. A refused
   entry changes nothing; a posted one moves the in-memory balances and gets its id and body digest;
3. write every posted entry, its sealer queue row, its postings and the changed balances with one statement per
   table.

Batches carry no reversals and no hold releases (``entries_post_many`` takes neither). One ``recorded_at`` serves
the whole batch: taken once the rows are locked, so per account it never goes backwards. A twin request on other
balance rows that commits one of the batch's keys after the check makes the entry insert find fewer rows than it
wrote: the function raises ``serialization_failure`` and the service retries the whole batch, which then replays
or refuses that key. The deferred zero-sum triggers of 0002/0005 check every entry at COMMIT, as for single posts.

Arrays, one element per entry: keys, fingerprints, currencies, effective times (NULL: the recorded time), memos,
metadata (canonical JSON text), the three parts of the body document (as for ``ledger_post_entry``), and
``first_of_key`` (the 1-based index of an earlier entry of the batch with the same key, else 0). Lines, grouped by
entry and sorted by account within it: ``line_entry`` (1-based entry index), ``line_slot`` (1-based index into
``account_ids``, the batch's distinct accounts sorted ascending), direction and amount.
"""

from django.db import migrations

from core.migration_operations import PostgreSQLOnlyRunSQL

FORWARD_SQL = r"""
CREATE OR REPLACE FUNCTION ledger_post_entries(
    p_keys text[], p_fingerprints text[], p_currencies text[], p_effective_ats timestamptz[], p_memos text[],
    p_metadata text[], p_actor bigint,
    p_document_heads text[], p_document_middles text[], p_document_tails text[], p_first_of_key int[],
    p_account_ids bigint[], p_line_entry int[], p_line_slot int[], p_line_direction text[], p_line_amount bigint[]
) RETURNS TABLE (outcome text, entry_id bigint, account_code text, detail text, recorded_at timestamptz,
    effective_at timestamptz, body_digest text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    n_entries int := cardinality(p_keys);
    n_accounts int := cardinality(p_account_ids);
    n_lines int := cardinality(p_line_entry);
    acct ledger_account;
    found_slot boolean[] := '{}';
    codes text[] := '{}';
    currencies text[] := '{}';
    no_overdraw boolean[] := '{}';
    no_overcredit boolean[] := '{}';
    b_posted_debits bigint[] := '{}';
    b_posted_credits bigint[] := '{}';
    b_pending_debits bigint[] := '{}';
    b_pending_credits bigint[] := '{}';
    versions bigint[] := '{}';
    start_version bigint[] := '{}';
    outcomes text[] := array_fill(NULL::text, ARRAY[n_entries]);
    entry_ids bigint[] := array_fill(NULL::bigint, ARRAY[n_entries]);
    codes_out text[] := array_fill(NULL::text, ARRAY[n_entries]);
    details text[] := array_fill(NULL::text, ARRAY[n_entries]);
    effective_out timestamptz[] := array_fill(NULL::timestamptz, ARRAY[n_entries]);
    digests text[] := array_fill(NULL::text, ARRAY[n_entries]);
    -- the posted entries, in order, and their postings
    new_ids bigint[] := '{}';
    new_index int[] := '{}';
    posting_entry bigint[] := '{}';
    posting_account bigint[] := '{}';
    posting_direction text[] := '{}';
    posting_amount bigint[] := '{}';
    posting_version bigint[] := '{}';
    posting_balance bigint[] := '{}';
    recorded timestamptz;
    recorded_iso text;
    sequence_name text := pg_get_serial_sequence('ledger_journalentry', 'id');
    first_line int := 1;
    last_line int;
    s int;
    new_debits bigint;
    new_credits bigint;
    stored_id bigint;
    stored_fingerprint text;
    refused boolean;
    documents text[];
    written int;
BEGIN
    FOR k IN 1..n_accounts LOOP
        SELECT * INTO acct FROM ledger_account WHERE id = p_account_ids[k] FOR UPDATE;
        found_slot[k] := FOUND;
        codes[k] := acct.code; currencies[k] := acct.currency;
        no_overdraw[k] := acct.debits_must_not_exceed_credits; no_overcredit[k] := acct.credits_must_not_exceed_debits;
        b_posted_debits[k] := acct.posted_debits; b_posted_credits[k] := acct.posted_credits;
        b_pending_debits[k] := acct.pending_debits; b_pending_credits[k] := acct.pending_credits;
        versions[k] := acct.version; start_version[k] := acct.version;
    END LOOP;
    recorded := clock_timestamp();
    recorded_iso := to_char(recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00';

    FOR e IN 1..n_entries LOOP
        last_line := first_line;
        WHILE last_line < n_lines AND p_line_entry[last_line + 1] = e LOOP
            last_line := last_line + 1;
        END LOOP;
        refused := false;
        -- unknown accounts
        FOR i IN first_line..last_line LOOP
            IF NOT found_slot[p_line_slot[i]] THEN
                outcomes[e] := 'unknown_account';
                details[e] := coalesce(details[e] || ',', '') || p_account_ids[p_line_slot[i]];
                refused := true;
            END IF;
        END LOOP;
        -- another currency (the first such account, in account order)
        IF NOT refused THEN
            FOR i IN first_line..last_line LOOP
                IF currencies[p_line_slot[i]] <> p_currencies[e] THEN
                    outcomes[e] := 'currency'; codes_out[e] := codes[p_line_slot[i]];
                    details[e] := currencies[p_line_slot[i]];
                    refused := true;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
        -- a known key: committed before, or posted earlier in this batch
        IF NOT refused THEN
            SELECT j.id, j.request_fingerprint INTO stored_id, stored_fingerprint
            FROM ledger_journalentry AS j WHERE j.idempotency_key = p_keys[e];
            IF NOT FOUND AND p_first_of_key[e] > 0 AND outcomes[p_first_of_key[e]] IN ('posted', 'replay') THEN
                stored_id := entry_ids[p_first_of_key[e]];
                stored_fingerprint := p_fingerprints[p_first_of_key[e]];
                -- (an earlier replay matched the committed entry, found above; this branch is a batch twin)
            ELSIF NOT FOUND THEN
                stored_id := NULL;
            END IF;
            IF stored_id IS NOT NULL THEN
                outcomes[e] := CASE WHEN stored_fingerprint = p_fingerprints[e] THEN 'replay' ELSE 'conflict' END;
                entry_ids[e] := stored_id;
                refused := true;
            END IF;
        END IF;
        -- limits, against the balances so far
        IF NOT refused THEN
            FOR i IN first_line..last_line LOOP
                s := p_line_slot[i];
                new_debits := b_posted_debits[s] + CASE WHEN p_line_direction[i] = 'debit' THEN p_line_amount[i] ELSE 0 END;
                new_credits := b_posted_credits[s] + CASE WHEN p_line_direction[i] = 'credit' THEN p_line_amount[i] ELSE 0 END;
                IF no_overdraw[s] AND new_debits + b_pending_debits[s] > new_credits THEN
                    outcomes[e] := 'limit'; codes_out[e] := codes[s]; details[e] := 'debits'; refused := true; EXIT;
                ELSIF no_overcredit[s] AND new_credits + b_pending_credits[s] > new_debits THEN
                    outcomes[e] := 'limit'; codes_out[e] := codes[s]; details[e] := 'credits'; refused := true; EXIT;
                END IF;
            END LOOP;
        END IF;
        IF NOT refused THEN
            outcomes[e] := 'posted';
            entry_ids[e] := nextval(sequence_name);
            effective_out[e] := coalesce(p_effective_ats[e], recorded);
            documents := '{}';
            FOR i IN first_line..last_line LOOP
                s := p_line_slot[i];
                IF p_line_direction[i] = 'debit' THEN
                    b_posted_debits[s] := b_posted_debits[s] + p_line_amount[i];
                ELSE
                    b_posted_credits[s] := b_posted_credits[s] + p_line_amount[i];
                END IF;
                versions[s] := versions[s] + 1;
                posting_entry := posting_entry || entry_ids[e];
                posting_account := posting_account || p_account_ids[s];
                posting_direction := posting_direction || p_line_direction[i];
                posting_amount := posting_amount || p_line_amount[i];
                posting_version := posting_version || versions[s];
                posting_balance := posting_balance || (b_posted_credits[s] - b_posted_debits[s]);
                -- [account, direction, amount, version after, balance after, recorded at], as ledger.hashing
                documents := documents || ('[' || p_account_ids[s] || ',"' || p_line_direction[i] || '",'
                    || p_line_amount[i] || ',' || versions[s] || ',' || (b_posted_credits[s] - b_posted_debits[s])
                    || ',"' || recorded_iso || '"]');
            END LOOP;
            digests[e] := encode(sha256(convert_to(
                p_document_heads[e] || '"'
                || to_char(effective_out[e] AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"'
                || p_document_middles[e] || '[' || array_to_string(documents, ',') || '],"recorded_at":"'
                || recorded_iso || '"' || p_document_tails[e], 'UTF8')), 'hex');
            new_ids := new_ids || entry_ids[e];
            new_index := new_index || e;
        END IF;
        first_line := last_line + 1;
    END LOOP;

    IF cardinality(new_ids) > 0 THEN
        INSERT INTO ledger_journalentry AS j (id, idempotency_key, request_fingerprint, currency, effective_at,
            recorded_at, memo, metadata, actor_id, reverses_id, body_digest)
        SELECT u.id, p_keys[u.e], p_fingerprints[u.e], p_currencies[u.e], effective_out[u.e], recorded,
            p_memos[u.e], p_metadata[u.e]::jsonb, p_actor, NULL, digests[u.e]
        FROM unnest(new_ids, new_index) AS u (id, e)
        ON CONFLICT (idempotency_key) DO NOTHING;
        GET DIAGNOSTICS written = ROW_COUNT;
        IF written <> cardinality(new_ids) THEN
            -- A twin on other balance rows committed one of these keys after the check: rerun the batch, which
            -- will then replay or refuse that key.
            RAISE EXCEPTION 'an idempotency key of the batch was committed concurrently'
                USING ERRCODE = 'serialization_failure';
        END IF;
        INSERT INTO ledger_unsealedentry (entry_id) SELECT unnest(new_ids);
        INSERT INTO ledger_posting (entry_id, account_id, direction, amount, account_version, balance_after,
            recorded_at)
        SELECT u.entry, u.account, u.direction, u.amount, u.version, u.balance, recorded
        FROM unnest(posting_entry, posting_account, posting_direction, posting_amount, posting_version, posting_balance)
            AS u (entry, account, direction, amount, version, balance);
        UPDATE ledger_account AS a
        SET posted_debits = u.posted_debits, posted_credits = u.posted_credits, version = u.version
        FROM unnest(p_account_ids, b_posted_debits, b_posted_credits, versions, start_version)
            AS u (id, posted_debits, posted_credits, version, start_version)
        WHERE a.id = u.id AND u.version <> u.start_version;
    END IF;

    FOR e IN 1..n_entries LOOP
        outcome := outcomes[e]; entry_id := entry_ids[e]; account_code := codes_out[e]; detail := details[e];
        recorded_at := CASE WHEN outcomes[e] = 'posted' THEN recorded END;
        effective_at := effective_out[e]; body_digest := digests[e];
        RETURN NEXT;
    END LOOP;
END;
$$;
"""

REVERSE_SQL = """
DROP FUNCTION IF EXISTS ledger_post_entries(text[], text[], text[], timestamptz[], text[], text[], bigint, text[],
    text[], text[], int[], bigint[], int[], int[], text[], bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_holds_without_expiry")]

    operations = [PostgreSQLOnlyRunSQL(FORWARD_SQL, reverse_sql=REVERSE_SQL)]
