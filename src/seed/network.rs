//! Contact networks for every account ([`super::people`] draws each one), written with
//! multi-row inserts, and the threading score of every open deal as the server would store it.
//!
//! Contact ids follow creation (accounts in order, each's contacts within it), as do engagement
//! ids (sorted by the day they happened), so "oldest first" pages read as they would on a live
//! program.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use entity::{contact, contact_link, engagement};
use sea_orm::{DatabaseConnection, EntityTrait, Set};

use super::people::{self, Account, Link, Person, Touch};
use super::program::Deal;
use super::{Rng, BATCH};
use crate::error::AppResult;

/// How many rows of each kind the networks took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Network {
    pub contacts: u64,
    pub contact_links: u64,
    pub engagements: u64,
}

/// Rows waiting for their multi-row insert.
#[derive(Default)]
struct Pending {
    contacts: Vec<contact::ActiveModel>,
    links: Vec<contact_link::ActiveModel>,
    next_link: i64,
}

impl Pending {
    /// Writes what is pending: contacts before the links that point at them.
    async fn flush(&mut self, db: &DatabaseConnection) -> AppResult<()> {
        for chunk in self.contacts.chunks(BATCH as usize) {
            contact::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await?;
        }
        for chunk in self.links.chunks(BATCH as usize) {
            contact_link::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await?;
        }
        self.contacts.clear();
        self.links.clear();
        Ok(())
    }

    fn add_people(&mut self, account: u64, people: &[Person]) {
        self.contacts
            .extend(people.iter().map(|p| contact::ActiveModel {
                id: Set(p.id),
                account_id: Set(account as i64),
                name: Set(p.name.clone()),
                email: Set(p.email.clone()),
                email_key: Set(p.email_key.clone()),
                title: Set(Some(p.title.clone())),
                department: Set(Some(p.department.to_string())),
                seniority: Set(Some(p.seniority)),
                buying_role: Set(p.role),
                status: Set(p.status),
                successor_id: Set(p.successor),
                sourced_by_partner_id: Set(p.source),
                shared: Set(p.shared),
                version: Set(p.version),
                created_at: Set(p.created_at),
                updated_at: Set(p.updated_at),
            }));
    }

    fn add_links(&mut self, account: u64, links: Vec<Link>) {
        for l in links {
            self.next_link += 1;
            self.links.push(contact_link::ActiveModel {
                id: Set(self.next_link),
                account_id: Set(account as i64),
                from_contact_id: Set(l.from),
                to_contact_id: Set(l.to),
                kind: Set(l.kind),
                created_by: Set(l.by),
                created_at: Set(l.at),
            });
        }
    }
}

/// Writes the contact network of each of `accounts` accounts, whose deals are `deals` with the
/// partners that see each one in `parties` (the deals' threading is assessed after).
pub(super) async fn write(
    db: &DatabaseConnection,
    accounts: u64,
    deals: &[Deal],
    parties: &[Vec<u32>],
    now: DateTime<Utc>,
) -> AppResult<Network> {
    let mut at_account: Vec<Vec<usize>> = vec![Vec::new(); accounts as usize];
    for (i, d) in deals.iter().enumerate() {
        at_account[(d.account - 1) as usize].push(i);
    }
    // Contacts were added between 18 months and 6 months ago, account after account.
    let oldest = now - Duration::days(545);
    let span = Duration::days(364).num_seconds() as f64;
    let mut pending = Pending::default();
    let mut touches: Vec<Touch> = Vec::new();
    let mut written = Network::default();
    for acct in 1..=accounts {
        let mut rng = Rng::keyed(acct);
        let here = &at_account[(acct - 1) as usize];
        let deals_here: Vec<(i64, &[u32])> = here
            .iter()
            .map(|i| (*i as i64 + 1, parties[*i].as_slice()))
            .collect();
        let a = Account {
            id: acct,
            partners: people::partners_of(&deals_here),
            deals: deals_here,
            since: oldest + Duration::seconds((span * (acct - 1) as f64 / accounts as f64) as i64),
        };
        let people = people::people(&a, written.contacts as i64 + 1, now, &mut rng)?;
        let links = people::links(acct, &people, &mut rng);
        let mine = people::touches(&a, &people, now.date_naive(), &mut rng);
        written.contacts += people.len() as u64;
        written.contact_links += links.len() as u64;
        pending.add_people(acct, &people);
        pending.add_links(acct, links);
        touches.extend(mine);
        if pending.contacts.len() >= BATCH as usize {
            pending.flush(db).await?;
        }
    }
    pending.flush(db).await?;
    written.engagements = write_touches(db, touches, now).await?;
    Ok(written)
}

/// Writes the engagements in the order they happened, ids from 1; returns how many.
async fn write_touches(
    db: &DatabaseConnection,
    mut touches: Vec<Touch>,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    touches.sort_by_key(|t| (t.on, t.account, t.contact));
    let evening = NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default();
    let count = touches.len() as u64;
    let mut id = 0i64;
    for chunk in touches.chunks(BATCH as usize) {
        let rows = chunk.iter().map(|t| {
            id += 1;
            engagement::ActiveModel {
                id: Set(id),
                contact_id: Set(t.contact),
                account_id: Set(t.account as i64),
                partner_id: Set(t.partner),
                opportunity_id: Set(t.opportunity),
                kind: Set(t.kind),
                occurred_on: Set(t.on),
                sentiment: Set(t.sentiment),
                notes: Set(t.note.map(str::to_string)),
                created_by: Set(t.by.clone()),
                // Recorded the evening of the day, or now for today's.
                created_at: Set(t.on.and_time(evening).and_utc().min(now)),
            }
        });
        engagement::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(count)
}
