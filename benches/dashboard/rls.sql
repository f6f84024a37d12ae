-- Row-level security for PostGraphile over cosell's tables: the same visibility as cosell's
-- scopes (src/auth/scope.rs) for the four tables the dashboard reads. cosell itself connects
-- as the table owner (a superuser here), which row-level security does not apply to, so this
-- changes nothing for it.
--
-- PostGraphile switches per request to one of two roles (server.mjs):
--   cosell_dashboard_vendor   sees every row, like the vendor;
--   cosell_dashboard_partner  sees the rows of partner `cosell.partner_id`:
--     partners       its own organisation;
--     registrations  its own claims, whatever their status;
--     opportunities  the deals it holds a claim on in a status that shows the deal (SEES_DEAL);
--     accounts       the accounts of those deals.
-- Two roles rather than one policy with "vendor OR partner rule": the planner cannot fold
-- a setting away, and the vendor's reads would carry the partner's subquery.
--
-- No index is added: the rules read registrations by (partner_id, opportunity_id, status)
-- and opportunities by account_id, which cosell's own migrations index. The opportunities
-- rule is an IN over the partner's claims (one hashed set per statement, built from an
-- index-only scan); a correlated EXISTS measured the same for the page and slower for
-- totalCount, which checks every opportunity.
--
-- Idempotent: run it again on the same database at will.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cosell_dashboard_vendor') THEN
        CREATE ROLE cosell_dashboard_vendor NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cosell_dashboard_partner') THEN
        CREATE ROLE cosell_dashboard_partner NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO cosell_dashboard_vendor, cosell_dashboard_partner;
GRANT SELECT ON partners, accounts, opportunities, registrations
    TO cosell_dashboard_vendor, cosell_dashboard_partner;

ALTER TABLE partners ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE opportunities ENABLE ROW LEVEL SECURITY;
ALTER TABLE registrations ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS dashboard_vendor ON partners;
DROP POLICY IF EXISTS dashboard_vendor ON accounts;
DROP POLICY IF EXISTS dashboard_vendor ON opportunities;
DROP POLICY IF EXISTS dashboard_vendor ON registrations;
DROP POLICY IF EXISTS dashboard_partner ON partners;
DROP POLICY IF EXISTS dashboard_partner ON accounts;
DROP POLICY IF EXISTS dashboard_partner ON opportunities;
DROP POLICY IF EXISTS dashboard_partner ON registrations;

CREATE POLICY dashboard_vendor ON partners FOR SELECT TO cosell_dashboard_vendor USING (true);
CREATE POLICY dashboard_vendor ON accounts FOR SELECT TO cosell_dashboard_vendor USING (true);
CREATE POLICY dashboard_vendor ON opportunities FOR SELECT TO cosell_dashboard_vendor USING (true);
CREATE POLICY dashboard_vendor ON registrations FOR SELECT TO cosell_dashboard_vendor USING (true);

-- `nullif(...)::bigint` is the partner id of the request; unset, it is null and matches no row.
CREATE POLICY dashboard_partner ON partners FOR SELECT TO cosell_dashboard_partner
    USING (id = nullif(current_setting('cosell.partner_id', true), '')::bigint);

CREATE POLICY dashboard_partner ON registrations FOR SELECT TO cosell_dashboard_partner
    USING (partner_id = nullif(current_setting('cosell.partner_id', true), '')::bigint);

CREATE POLICY dashboard_partner ON opportunities FOR SELECT TO cosell_dashboard_partner
    USING (id IN (
        SELECT r.opportunity_id FROM registrations r
        WHERE r.partner_id = nullif(current_setting('cosell.partner_id', true), '')::bigint
          AND r.opportunity_id IS NOT NULL
          AND r.status IN ('SUBMITTED', 'UNDER_REVIEW', 'NEEDS_INFO', 'APPROVED', 'WON', 'LOST', 'EXPIRED')
    ));

-- The accounts of the deals the partner is on, as cosell's accounts_of_partner. Written as a
-- correlated EXISTS (checked per account row read, through ix_opportunities_account, with the
-- opportunities policy above applied inside), not `id IN (SELECT account_id FROM
-- opportunities)`: that form builds the set of every visible account first, a scan of all
-- 200,000 opportunities per request (EXPLAIN ANALYZE of PostGraphile's statement for one
-- partner, run by hand on the seeded database: 67 ms against 6 ms).
CREATE POLICY dashboard_partner ON accounts FOR SELECT TO cosell_dashboard_partner
    USING (EXISTS (SELECT 1 FROM opportunities o WHERE o.account_id = accounts.id));
