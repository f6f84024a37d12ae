//! Contact networks in the GraphQL schema: contacts, links, engagements, threading
//! assessments, relationship maps and the risk report.

use async_graphql::{Context, Enum, Object, Result, SimpleObject, ID};
use entity::contact::Model as ContactModel;
use entity::contact_link::Model as LinkModel;
use entity::engagement::Model as EngagementModel;
use entity::enums::{
    BuyingRole, ContactLinkKind, ContactStatus, EngagementKind, OpportunityStage, Seniority,
    Sentiment,
};

use super::connection::{self, connection, TotalCount};
use super::inputs::contact::ContactFilter;
use super::inputs::contact::{
    CreateContactInput, LinkContactsInput, MarkContactInput, RecordEngagementInput,
    ShareContactInput, UpdateContactInput, UpsertContactsInput,
};
use super::opportunity::Opportunity;
use super::outcomes::UpsertContactsPayload;
use super::threading::{assessment, ThreadingAssessment};
use super::{db, loaders, page_limits, principal};
use crate::db::contacts::network::{self, MapNode, RiskLine, ThreadingWindow};
use crate::db::contacts::{engagements, writes};
use crate::domain::threading::PartyTag;
use crate::error::AppError;
use crate::ids::{self, Kind};
use crate::scalars::{Date, DateTime};

/// How a party appears to the caller: partners see other partners only as "another partner".
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::db::contacts::network::PartyView")]
pub enum PartyView {
    /// The vendor.
    Vendor,
    /// Your own partner organisation.
    You,
    /// A partner (the vendor sees which through `partnerId`).
    Partner,
    /// Another partner than you (partners never learn which).
    AnotherPartner,
}

/// A named way a deal can be badly multi-threaded.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::threading::RiskKind")]
pub enum ThreadingRiskKind {
    /// One or no active contact engaged in the window.
    SingleThreaded,
    /// The champion left the company or changed role.
    ChampionLeft,
    /// No economic buyer engaged.
    NoEconomicBuyer,
    /// No executive sponsor engaged.
    NoExecutiveSponsor,
    /// No engagement in the last 30 days.
    StaleEngagement,
    /// Every relationship is held by one party.
    SinglePartyCoverage,
    /// Every engaged contact sits in one department.
    SingleDepartment,
    /// Most recent engagements were negative.
    NegativeSentiment,
}

/// A stakeholder at a customer account. A partner sees the contacts it sourced and those
/// shared with the parties of deals it is on.
#[derive(Clone)]
pub struct Contact(pub ContactModel);

impl From<ContactModel> for Contact {
    fn from(m: ContactModel) -> Self {
        Self(m)
    }
}

/// A stakeholder at a customer account. A partner sees the contacts it sourced and those
/// shared with the parties of deals it is on.
#[Object]
impl Contact {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Contact, self.0.id).into()
    }
    /// Full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Email address.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Job title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// Department.
    async fn department(&self) -> Option<&str> {
        self.0.department.as_deref()
    }
    /// Seniority.
    async fn seniority(&self) -> Option<Seniority> {
        self.0.seniority
    }
    /// The part the contact plays in the buying decision.
    async fn buying_role(&self) -> Option<BuyingRole> {
        self.0.buying_role
    }
    /// Whether the contact is still reachable in the known role.
    async fn status(&self) -> ContactStatus {
        self.0.status
    }
    /// Who took over after the contact left or changed role, if you may see them.
    async fn successor(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        match self.0.successor_id {
            Some(s) => Ok(loaders(ctx).contacts.load_one(s).await?.map(Contact)),
            None => Ok(None),
        }
    }
    /// Who sourced the contact: VENDOR, YOU, PARTNER (vendor view) or ANOTHER_PARTNER.
    async fn sourced_by(&self, ctx: &Context<'_>) -> PartyView {
        network::seen(
            principal(ctx),
            self.0
                .sourced_by_partner_id
                .map(PartyTag::Partner)
                .unwrap_or(PartyTag::Vendor),
        )
        .view
        .into()
    }
    /// Shared with every party on the account's deals.
    async fn shared(&self) -> bool {
        self.0.shared
    }
    /// Your party's engagements with the contact (the vendor sees every party's), newest first.
    async fn engagements(&self, ctx: &Context<'_>) -> Result<Vec<Engagement>> {
        let e = loaders(ctx).contact_engagements.load_one(self.0.id).await?;
        Ok(e.unwrap_or_default().into_iter().map(Engagement).collect())
    }
    /// Version; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the contact was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

/// A link in the buying committee's network.
#[derive(Clone)]
pub struct ContactLink(pub LinkModel);

/// The result of linking two contacts.
#[derive(SimpleObject)]
pub struct LinkContactsPayload {
    /// The new link.
    pub link: ContactLink,
}

/// The result of recording an engagement.
#[derive(SimpleObject)]
pub struct RecordEngagementPayload {
    /// The engagement as recorded.
    pub engagement: Engagement,
}

/// A link in the buying committee's network.
#[Object]
impl ContactLink {
    /// The contact the link starts from (for REPORTS_TO: the report).
    async fn from_contact_id(&self) -> ID {
        ids::encode(Kind::Contact, self.0.from_contact_id).into()
    }
    /// The contact it points to (for REPORTS_TO: the manager).
    async fn to_contact_id(&self) -> ID {
        ids::encode(Kind::Contact, self.0.to_contact_id).into()
    }
    /// REPORTS_TO, INFLUENCES or WORKS_WITH.
    async fn kind(&self) -> ContactLinkKind {
        self.0.kind
    }
}

/// A party's touch with a contact.
#[derive(Clone)]
pub struct Engagement(pub EngagementModel);

/// A party's touch with a contact.
#[Object]
impl Engagement {
    /// Opaque global ID: `node(id:)` fetches the engagement again.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Engagement, self.0.id).into()
    }
    /// Who engaged.
    async fn party(&self, ctx: &Context<'_>) -> PartyView {
        network::seen(
            principal(ctx),
            self.0
                .partner_id
                .map(PartyTag::Partner)
                .unwrap_or(PartyTag::Vendor),
        )
        .view
        .into()
    }
    /// The kind of touch.
    async fn kind(&self) -> EngagementKind {
        self.0.kind
    }
    /// When.
    async fn occurred_on(&self) -> Date {
        Date(self.0.occurred_on)
    }
    /// How the contact came across.
    async fn sentiment(&self) -> Sentiment {
        self.0.sentiment
    }
    /// The notes (only the party that wrote them and the vendor ever see an engagement).
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
}

/// A contact on the relationship map.
pub struct RelationshipNode(pub MapNode);

/// A contact on the relationship map.
#[Object]
impl RelationshipNode {
    /// The contact.
    async fn contact(&self) -> Contact {
        Contact(self.0.contact.clone())
    }
    /// Share of influence over the whole network (PageRank), 0 to 1.
    async fn influence(&self) -> f64 {
        (self.0.influence * 10_000.0).round() / 10_000.0
    }
    /// Parties that engaged the contact in the window.
    async fn known_by(&self) -> Vec<PartyView> {
        self.0.known_by.iter().map(|p| p.view.into()).collect()
    }
}

/// An account's buying committee as you may see it.
pub struct RelationshipMap(pub network::RelationshipMap);

/// An account's buying committee as you may see it.
#[Object]
impl RelationshipMap {
    /// The contacts, most influential first.
    async fn nodes(&self) -> Vec<RelationshipNode> {
        self.0.nodes.iter().cloned().map(RelationshipNode).collect()
    }
    /// Links between the contacts you may see.
    async fn links(&self) -> Vec<ContactLink> {
        self.0.links.iter().cloned().map(ContactLink).collect()
    }
    /// Contacts at the account you may not see (counted in influence, never shown).
    async fn hidden_contacts(&self) -> usize {
        self.0.hidden_contacts
    }
    /// The most influential active contacts nobody engaged in the window: who to meet next.
    async fn unengaged_influencers(&self) -> Vec<RelationshipNode> {
        self.0
            .unengaged_influencers
            .iter()
            .cloned()
            .map(RelationshipNode)
            .collect()
    }
}

/// An open deal at risk.
pub struct RiskReportLine(pub RiskLine);

/// An open deal at risk.
#[Object]
impl RiskReportLine {
    /// The deal.
    async fn opportunity(&self) -> Opportunity {
        Opportunity(self.0.opportunity.clone())
    }
    /// Its threading assessment.
    async fn threading(&self, ctx: &Context<'_>) -> ThreadingAssessment {
        assessment(ctx, self.0.opportunity.id, self.0.summary.clone())
    }
}

fn window(ctx: &Context<'_>) -> ThreadingWindow {
    *ctx.data_unchecked::<ThreadingWindow>()
}

connection!(ContactConnection, ContactEdge, Contact, ContactModel);

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// Contacts you may see, oldest first, page by page: every contact for the vendor; for a
    /// partner those it sourced and those shared at the accounts of its deals. A CRM sync
    /// pages through it, then asks again with `updatedSince`.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only contacts matching all of these filters.")] filter: Option<
            ContactFilter,
        >,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<ContactConnection> {
        let args = connection::page_args(first, after, last, before);
        let (page, count) = crate::db::contacts::list(
            db(ctx),
            principal(ctx),
            filter.map(Into::into).unwrap_or_default(),
            &args,
            page_limits(ctx),
        )
        .await?;
        Ok(ContactConnection::new(
            page,
            TotalCount::counting(db(ctx), count),
        ))
    }

    /// One contact by ID; an unknown ID and one you may not see both answer NOT_FOUND.
    async fn contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact's ID.")] id: ID,
    ) -> Result<Contact> {
        let id = ids::decode_field(&id, Kind::Contact, "id")?;
        Ok(crate::db::contacts::get(db(ctx), principal(ctx), id)
            .await?
            .into())
    }

    /// An account's network: the contacts you may see with their influence, the links, who
    /// knows whom, and the influential contacts nobody engaged yet.
    async fn relationship_map(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account.")] account_id: ID,
    ) -> Result<RelationshipMap> {
        let id = ids::decode_field(&account_id, Kind::Account, "accountId")?;
        Ok(RelationshipMap(
            network::relationship_map(db(ctx), principal(ctx), id, window(ctx)).await?,
        ))
    }

    /// Open deals at risk (threading score under 50, or carrying `risk`), largest amount first:
    /// all of them for the vendor, your own deals for a partner.
    async fn risk_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deals carrying this risk (then whatever their score).")]
        risk: Option<ThreadingRiskKind>,
        #[graphql(desc = "Only deals this partner is on (vendor).")] partner_id: Option<ID>,
        #[graphql(desc = "Only deals in these stages.")] stage_in: Option<Vec<OpportunityStage>>,
        #[graphql(desc = "How many lines (1 to 100, default 20).")] first: Option<i32>,
    ) -> Result<Vec<RiskReportLine>> {
        let n = first.unwrap_or(20);
        if !(1..=100).contains(&n) {
            return Err(AppError::bad_field("first", "first must be between 1 and 100").into());
        }
        let partner = match &partner_id {
            Some(p) => Some(ids::decode_field(p, Kind::Partner, "partnerId")?),
            None => None,
        };
        let lines = network::risk_report(
            db(ctx),
            principal(ctx),
            risk.map(Into::into),
            partner,
            stage_in,
            n as u64,
            window(ctx),
        )
        .await?;
        Ok(lines.into_iter().map(RiskReportLine).collect())
    }
}

/// The result of a contact change.
#[derive(SimpleObject)]
pub struct ContactPayload {
    /// The contact as it is after the change.
    pub contact: Contact,
}

macro_rules! contact_write {
    ($ctx:expr, |$db:ident, $p:ident, $w:ident| $body:expr) => {{
        let ($db, $p, $w) = (db($ctx).clone(), principal($ctx).grant()?, window($ctx));
        let m = crate::graphql::write($ctx, async move {
            let ($db, $p) = (&$db, &$p);
            $body.await
        })
        .await?;
        Ok(ContactPayload { contact: m.into() })
    }};
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Adds a contact at an account (vendor users; partners at accounts of their deals, as
    /// the contact's source).
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and the contact.")] input: CreateContactInput,
    ) -> Result<ContactPayload> {
        contact_write!(ctx, |d, p, w| writes::create(d, p, input.into(), w))
    }

    /// Replaces a contact's details (the vendor, or the partner that sourced it).
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact and its details.")] input: UpdateContactInput,
    ) -> Result<ContactPayload> {
        contact_write!(ctx, |d, p, w| writes::update(d, p, input.into(), w))
    }

    /// Marks a contact LEFT_COMPANY, ROLE_CHANGED, UNRESPONSIVE or ACTIVE, optionally naming a
    /// successor; writes an event and re-scores the account's deals.
    async fn mark_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact and its new status.")] input: MarkContactInput,
    ) -> Result<ContactPayload> {
        contact_write!(ctx, |d, p, w| writes::mark(d, p, input.into(), w))
    }

    /// Shares a contact with every party on the account's deals.
    async fn share_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact and the version you read.")] input: ShareContactInput,
    ) -> Result<ContactPayload> {
        contact_write!(ctx, |d, p, _w| writes::share(
            d,
            p,
            &input.id,
            input.expected_version
        ))
    }

    /// Creates or updates up to 500 contacts at an account, matched by email: idempotent, with
    /// a result per item. A bad item writes nothing unless `allowPartial` is set.
    async fn upsert_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and the contacts.")] input: UpsertContactsInput,
    ) -> Result<UpsertContactsPayload> {
        let (d, p, w) = (db(ctx).clone(), principal(ctx).grant()?, window(ctx));
        let results =
            crate::graphql::write(
                ctx,
                async move { writes::upsert(&d, &p, input.into(), w).await },
            )
            .await?;
        Ok(UpsertContactsPayload {
            results: results.into_iter().map(Into::into).collect(),
        })
    }

    /// Links two contacts at one account. No self links, no duplicates, no REPORTS_TO cycles.
    async fn link_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The two contacts and the kind of link.")] input: LinkContactsInput,
    ) -> Result<LinkContactsPayload> {
        let (d, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let link =
            crate::graphql::write(ctx, async move { writes::link(&d, &p, input.into()).await })
                .await?;
        Ok(LinkContactsPayload {
            link: ContactLink(link),
        })
    }

    /// Records your party's touch with a contact; re-scores the account's deals.
    async fn record_engagement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The touch.")] input: RecordEngagementInput,
    ) -> Result<RecordEngagementPayload> {
        let (d, p, w) = (db(ctx).clone(), principal(ctx).grant()?, window(ctx));
        let engagement = crate::graphql::write(ctx, async move {
            engagements::record(&d, &p, input.into(), w).await
        })
        .await?;
        Ok(RecordEngagementPayload {
            engagement: Engagement(engagement),
        })
    }
}
