//! A page's children loaded one level at a time, before their resolvers run.
//!
//! DataLoaders batch the keys that arrive within a short delay; on a busy machine the delay can
//! end before every sibling has asked, and one batch becomes several. A connection resolver
//! therefore looks ahead at what the query selects of its nodes and loads each kind of child
//! for the whole page in one statement, then the children's children, and so on; each
//! resolver afterwards finds its rows in the request's loaders. A request's statements then
//! depend on its shape only, never on timing or on how many rows it returns. Where the rows of
//! a level name one row each of another table (a deal's account, a claim's partner), that
//! table is joined into the level's statement, under its own scope, instead of read by one of
//! its own ([`Read`]).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Lookahead, Result};
use entity::{opportunity, registration};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::loaders;
use super::loaders::{keep_lists, prime, prime_lists};
use crate::db;

/// The look-ahead at a connection's nodes, through `nodes` and `edges { node }` alike.
pub fn connection_nodes<'a>(ctx: &'a Context<'a>) -> Option<Lookahead<'a>> {
    let l = ctx.look_ahead();
    let mut fields = l.field("nodes").selection_fields();
    fields.extend(l.field("edges").field("node").selection_fields());
    Lookahead::try_from(&fields[..]).ok()
}

/// What was read with the rows themselves, and is already in the loaders.
#[derive(Clone, Copy, Debug, Default)]
pub struct Read {
    /// The deals' accounts (see `db::opportunities::list`).
    pub accounts: bool,
    /// The claims' partners (see `db::registrations::load_summaries_with_partners`).
    pub partners: bool,
    /// The deals' threading summaries (see `db::opportunities::Joins::threading`).
    pub threading: bool,
}

/// Loads what `sel` asks of `opps`: accounts (unless `read` with the rows), registrations (and
/// what it asks of them), stage history, attribution, threading and the roles filled, one
/// statement each.
pub fn opportunities<'a: 'b, 'b>(
    ctx: &'a Context<'a>,
    opps: &'b [&'b opportunity::Model],
    sel: Lookahead<'a>,
    read: Read,
) -> BoxFuture<'b, Result<()>> {
    async move {
        let l = loaders(ctx);
        if opps.is_empty() || !l.cached() {
            return Ok(());
        }
        let ids: Vec<i64> = opps.iter().map(|o| o.id).collect();
        let accounts: Vec<i64> = opps.iter().map(|o| o.account_id).collect();
        let registrations = sel.field("registrations");
        let account = async {
            if sel.field("account").exists() && !read.accounts {
                prime(&l.accounts, &accounts).await?;
            }
            Ok::<_, async_graphql::Error>(())
        };
        let claims = async {
            if registrations.exists() {
                deal_claims(ctx, &ids, registrations).await?;
            }
            Ok(())
        };
        let history = async {
            if sel.field("stageHistory").exists() {
                prime_lists(&l.stage_history, &ids).await?;
            }
            Ok(())
        };
        let roles = async {
            if sel.field("rolesFilled").exists() {
                prime_lists(&l.roles_filled, &ids).await?;
            }
            Ok(())
        };
        let attribution = async {
            if sel.field("attribution").exists() {
                prime(&l.attribution, &ids).await?;
            }
            Ok(())
        };
        let threading = async {
            let threading = sel.field("threading");
            if threading.exists() && !read.threading {
                prime(&l.threading, &ids).await?;
            }
            let risks = threading.field("risks");
            if threading.field("departments").exists()
                || risks.field("evidence").exists()
                || risks.field("recommendation").exists()
            {
                prime(&l.threading_details, &ids).await?;
            }
            Ok(())
        };
        futures_util::try_join!(account, claims, history, roles, attribution, threading)?;
        Ok(())
    }
    .boxed()
}

/// Loads the claims on the deals `ids` that `sel` (their `registrations` field) asks for, then
/// what it asks of them. Each `registrations` field (aliases apart) reads the summaries or the
/// whole rows by what it selects, as its resolver will.
async fn deal_claims<'a>(ctx: &'a Context<'a>, ids: &[i64], sel: Lookahead<'a>) -> Result<()> {
    let l = loaders(ctx);
    let fields = sel.selection_fields();
    let summary = fields.iter().any(|f| super::registration::summary_only(*f));
    let whole = fields
        .iter()
        .any(|f| !super::registration::summary_only(*f));
    let mut found = HashMap::new();
    let mut came = Read::default();
    if summary && sel.field("partner").exists() {
        // The claims and their partners in one statement.
        let (claims, partners) = db::registrations::load_summaries_with_partners(
            super::db(ctx),
            super::principal(ctx),
            ids,
        )
        .await?;
        let claims = claims
            .into_iter()
            .map(|(k, rows)| (k, rows.into_iter().map(Arc::new).collect()))
            .collect();
        found.extend(keep_lists(&l.opportunity_registration_summaries, ids, claims).await);
        l.partners
            .feed_many(partners.into_iter().map(|p| (p.id, Arc::new(p))))
            .await;
        came.partners = true;
    } else if summary {
        found.extend(prime_lists(&l.opportunity_registration_summaries, ids).await?);
    }
    if whole {
        // The whole rows win where both are read: the look-ahead below reads only ids,
        // partners and deals, which both carry.
        found.extend(prime_lists(&l.opportunity_registrations, ids).await?);
    }
    let rows: Vec<&registration::Model> = found.values().flatten().map(|r| &**r).collect();
    registrations(ctx, &rows, sel, true, came).await
}

/// Loads what `sel` asks of `regs`: partners, opportunities (and what it asks of them),
/// history, conflicts and, for rows read without them (`without_texts`), the long texts,
/// one statement each.
pub fn registrations<'a: 'b, 'b>(
    ctx: &'a Context<'a>,
    regs: &'b [&'b registration::Model],
    sel: Lookahead<'a>,
    without_texts: bool,
    read: Read,
) -> BoxFuture<'b, Result<()>> {
    async move {
        let l = loaders(ctx);
        if regs.is_empty() || !l.cached() {
            return Ok(());
        }
        let ids: Vec<i64> = regs.iter().map(|r| r.id).collect();
        let partner = async {
            if sel.field("partner").exists() && !read.partners {
                let partners: Vec<i64> = regs.iter().map(|r| r.partner_id).collect();
                prime(&l.partners, &partners).await?;
            }
            Ok::<_, async_graphql::Error>(())
        };
        let deal = async {
            let wanted = sel.field("opportunity");
            if wanted.exists() {
                let opps: Vec<i64> = regs.iter().filter_map(|r| r.opportunity_id).collect();
                let found = prime(&l.opportunities, &opps).await?;
                let rows: Vec<&opportunity::Model> = found.values().collect();
                opportunities(ctx, &rows, wanted, Read::default()).await?;
            }
            Ok(())
        };
        let history = async {
            if sel.field("history").exists() {
                prime_lists(&l.registration_history, &ids).await?;
            }
            Ok(())
        };
        let conflicts = async {
            if sel.field("conflicts").exists() {
                prime_lists(&l.registration_conflicts, &ids).await?;
            }
            Ok(())
        };
        let texts = async {
            let wanted = [
                "justification",
                "privateNotes",
                "infoRequest",
                "extensionRequest",
                "decision",
            ];
            if without_texts && wanted.iter().any(|f| sel.field(f).exists()) {
                prime(&l.registration_texts, &ids).await?;
            }
            Ok(())
        };
        futures_util::try_join!(partner, deal, history, conflicts, texts)?;
        Ok(())
    }
    .boxed()
}
