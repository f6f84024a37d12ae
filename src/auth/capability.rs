//! What a caller may change, and the grants that carry that right to the data layer.
//!
//! [`VendorWrite`] is the one table of vendor roles per kind of change. Each capability in
//! [`can`] names one right; [`Principal::grant`] checks it and hands out a [`Grant`], and every
//! data-access write takes the grant of its capability instead of a bare principal. A write
//! whose check was forgotten therefore does not compile: the grant is the only way in.

use std::marker::PhantomData;

use super::principal::{PartnerRole, Party, Principal, PrincipalKind, Resource, VendorRole};
use crate::error::{AppError, AppResult};

/// A kind of change only the vendor makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorWrite {
    /// Approve, reject, review, ask for information, decide in bulk, resolve conflicts and
    /// extend protection windows.
    DecideRegistrations,
    /// Create, update and move opportunities.
    EditOpportunities,
    /// Choose a deal's attribution model and manual shares.
    ChooseAttribution,
    /// The program's incentive rates.
    SetProgramTerms,
    /// Create and update customer accounts.
    EditAccounts,
    /// Create, update and suspend partners.
    EditPartners,
    /// Create, update, mark, share and link contacts.
    EditContacts,
    /// Reopen a closed opportunity.
    ReopenOpportunities,
    /// Correct a won deal's frozen attribution.
    CorrectFinalAttribution,
    /// The program's attribution settings.
    SetAttributionSettings,
    /// The collaboration rules of each role.
    SetCollaborationRules,
    /// Invite partners to deals, and withdraw open invitations.
    InvitePartners,
    /// Register, change, pause, replay and delete webhook endpoints (for the vendor's view or
    /// any partner's). An app manages its own endpoints with `events:read` instead
    /// ([`can::ManageWebhooks`]).
    ManageWebhooks,
}

/// The partner roles that may make a kind of change to their own partner's part; the others
/// (claims, contacts) are open to every partner role.
const PARTNER_ADMINS: &[PartnerRole] = &[PartnerRole::PartnerAdmin];

const ADMINS: &[VendorRole] = &[VendorRole::Admin];
const DECIDERS: &[VendorRole] = &[VendorRole::Admin, VendorRole::ChannelManager];
const SELLERS: &[VendorRole] = &[
    VendorRole::Admin,
    VendorRole::ChannelManager,
    VendorRole::Sales,
];

impl VendorWrite {
    /// The resource an app's `:write` scope must name for this change.
    pub fn resource(self) -> Resource {
        match self {
            Self::DecideRegistrations | Self::SetCollaborationRules | Self::InvitePartners => {
                Resource::Registrations
            }
            Self::EditOpportunities
            | Self::ChooseAttribution
            | Self::ReopenOpportunities
            | Self::CorrectFinalAttribution => Resource::Opportunities,
            Self::SetProgramTerms | Self::EditPartners | Self::SetAttributionSettings => {
                Resource::Partners
            }
            Self::EditAccounts => Resource::Accounts,
            Self::EditContacts => Resource::Contacts,
            Self::ManageWebhooks => Resource::Events,
        }
    }

    /// The vendor roles that may make this change.
    pub fn roles(self) -> &'static [VendorRole] {
        match self {
            Self::DecideRegistrations
            | Self::InvitePartners
            | Self::ChooseAttribution
            | Self::SetProgramTerms
            | Self::EditPartners => DECIDERS,
            Self::EditOpportunities | Self::EditAccounts | Self::EditContacts => SELLERS,
            Self::ReopenOpportunities
            | Self::CorrectFinalAttribution
            | Self::SetAttributionSettings
            | Self::SetCollaborationRules
            | Self::ManageWebhooks => ADMINS,
        }
    }

    /// Whether a vendor app with the write scope may make it. The program's terms and
    /// corrections of what is final are a vendor ADMIN's, in person.
    pub fn apps_may(self) -> bool {
        self.roles() != ADMINS
    }

    /// What the change is, for refusals.
    fn describe(self) -> &'static str {
        match self {
            Self::DecideRegistrations => "decide on registrations",
            Self::EditOpportunities => "change opportunities",
            Self::ChooseAttribution => "choose a deal's attribution",
            Self::SetProgramTerms => "set incentive rates",
            Self::EditAccounts => "change accounts",
            Self::EditPartners => "change partners",
            Self::EditContacts => "change contacts",
            Self::ReopenOpportunities => "reopen a closed opportunity",
            Self::CorrectFinalAttribution => "correct a finalized attribution",
            Self::SetAttributionSettings => "change attribution settings",
            Self::SetCollaborationRules => "change collaboration rules",
            Self::InvitePartners => "invite partners to deals",
            Self::ManageWebhooks => "manage webhook endpoints",
        }
    }

    /// Refuses anyone who may not make this change.
    fn check(self, p: &Principal) -> AppResult<()> {
        let action = self.describe();
        if p.party != Party::Vendor {
            return Err(AppError::Forbidden(format!("only the vendor may {action}")));
        }
        let resource = self.resource();
        match p.kind {
            PrincipalKind::App if !self.apps_may() => Err(AppError::Forbidden(format!(
                "only a vendor ADMIN may {action}; apps may not"
            ))),
            PrincipalKind::App if p.may_write(resource) => Ok(()),
            PrincipalKind::App => Err(AppError::Forbidden(format!(
                "this app token lacks the `{}:write` scope",
                resource.name()
            ))),
            _ => match p.vendor_role {
                Some(r) if self.roles().contains(&r) => Ok(()),
                _ => Err(AppError::Forbidden(format!(
                    "your vendor role may not {action}; it takes one of: {}",
                    self.roles()
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            },
        }
    }
}

/// One right to make a kind of change. Only [`Principal::grant`] turns it into a [`Grant`].
pub trait Capability: 'static {
    /// Refuses a principal without the right.
    fn check(principal: &Principal) -> AppResult<()>;
}

/// Proof that a principal passed the check of capability `C`; the data layer's writes take it.
pub struct Grant<C: Capability> {
    principal: Principal,
    capability: PhantomData<fn() -> C>,
}

impl<C: Capability> Grant<C> {
    /// Who holds the grant: the actor the change and its events are recorded for.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

impl<C: Capability> Clone for Grant<C> {
    fn clone(&self) -> Self {
        Self {
            principal: self.principal.clone(),
            capability: PhantomData,
        }
    }
}

impl<C: Capability> std::fmt::Debug for Grant<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("capability", &std::any::type_name::<C>())
            .field("subject", &self.principal.subject)
            .finish()
    }
}

impl Principal {
    /// Checks capability `C` and hands out its grant.
    pub fn grant<C: Capability>(&self) -> AppResult<Grant<C>> {
        C::check(self)?;
        Ok(Grant {
            principal: self.clone(),
            capability: PhantomData,
        })
    }
}

/// Capabilities a partner holds over its own part of the program.
pub trait PartnerCapability: Capability {}

impl<C: PartnerCapability> Grant<C> {
    /// The partner the grant acts for (the check made sure there is one).
    pub fn partner_id(&self) -> i64 {
        match self.principal.party {
            Party::Partner(id) => id,
            // A partner capability's check refuses the vendor, so no such grant exists.
            Party::Vendor => unreachable!("a partner capability granted to the vendor"),
        }
    }
}

/// The capabilities, one type each.
pub mod can {
    use super::*;

    macro_rules! vendor {
        ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
            $(#[$doc])*
            pub struct $name;
            impl Capability for $name {
                fn check(p: &Principal) -> AppResult<()> {
                    VendorWrite::$name.check(p)
                }
            }
        )+};
    }

    vendor!(
        /// See [`VendorWrite::DecideRegistrations`].
        DecideRegistrations,
        /// See [`VendorWrite::EditOpportunities`].
        EditOpportunities,
        /// See [`VendorWrite::ChooseAttribution`].
        ChooseAttribution,
        /// See [`VendorWrite::SetProgramTerms`].
        SetProgramTerms,
        /// See [`VendorWrite::EditAccounts`].
        EditAccounts,
        /// See [`VendorWrite::EditPartners`].
        EditPartners,
        /// See [`VendorWrite::ReopenOpportunities`].
        ReopenOpportunities,
        /// See [`VendorWrite::CorrectFinalAttribution`].
        CorrectFinalAttribution,
        /// See [`VendorWrite::SetAttributionSettings`].
        SetAttributionSettings,
        /// See [`VendorWrite::SetCollaborationRules`].
        SetCollaborationRules,
        /// See [`VendorWrite::InvitePartners`].
        InvitePartners,
    );

    /// A partner's own claims: drafts, submissions, answers, withdrawals and extension
    /// requests (partner users, or an app acting for the partner with `registrations:write`).
    pub struct ClaimDeals;

    impl Capability for ClaimDeals {
        fn check(p: &Principal) -> AppResult<()> {
            partner_write(p, Resource::Registrations)
        }
    }
    impl PartnerCapability for ClaimDeals {}

    /// Webhook endpoints: a vendor ADMIN manages every endpoint; a partner's PARTNER_ADMIN
    /// those its partner's people registered; an app (with `events:read`) those it registered.
    /// Which endpoints those are is the read rule's (`scope::WebhookEndpoints`).
    pub struct ManageWebhooks;

    impl Capability for ManageWebhooks {
        fn check(p: &Principal) -> AppResult<()> {
            match (p.kind, p.party) {
                (PrincipalKind::App, _) if p.may_read(Resource::Events) => Ok(()),
                (PrincipalKind::App, _) => Err(AppError::Forbidden(
                    "managing webhooks needs the `events:read` scope".into(),
                )),
                (_, Party::Vendor) => VendorWrite::ManageWebhooks.check(p),
                (_, Party::Partner(_)) => match p.partner_role {
                    Some(r) if PARTNER_ADMINS.contains(&r) => Ok(()),
                    _ => Err(AppError::Forbidden(
                        "webhooks are managed by vendor ADMINs, partner PARTNER_ADMINs and apps"
                            .into(),
                    )),
                },
            }
        }
    }

    /// Contacts, links and engagements: any vendor role (see [`VendorWrite::EditContacts`]),
    /// or a partner on its own contacts (`contacts:write` for apps).
    pub struct WriteContacts;

    impl Capability for WriteContacts {
        fn check(p: &Principal) -> AppResult<()> {
            match p.party {
                Party::Vendor => VendorWrite::EditContacts.check(p),
                Party::Partner(_) => partner_write(p, Resource::Contacts),
            }
        }
    }

    fn partner_write(p: &Principal, resource: Resource) -> AppResult<()> {
        if !matches!(p.party, Party::Partner(_)) {
            return Err(AppError::Forbidden(format!(
                "only a partner may do this to {}",
                resource.name()
            )));
        }
        if p.may_write(resource) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this app token lacks the `{}:write` scope",
                resource.name()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [VendorWrite; 13] = [
        VendorWrite::DecideRegistrations,
        VendorWrite::EditOpportunities,
        VendorWrite::ChooseAttribution,
        VendorWrite::SetProgramTerms,
        VendorWrite::EditAccounts,
        VendorWrite::EditPartners,
        VendorWrite::EditContacts,
        VendorWrite::ReopenOpportunities,
        VendorWrite::CorrectFinalAttribution,
        VendorWrite::SetAttributionSettings,
        VendorWrite::SetCollaborationRules,
        VendorWrite::InvitePartners,
        VendorWrite::ManageWebhooks,
    ];

    #[test]
    fn sales_edits_deals_accounts_and_contacts_but_decides_nothing() {
        use VendorWrite::*;
        for w in [EditOpportunities, EditAccounts, EditContacts] {
            assert!(w.roles().contains(&VendorRole::Sales), "{w:?}");
        }
        for w in ALL {
            assert!(w.roles().contains(&VendorRole::Admin), "{w:?}");
            if ![EditOpportunities, EditAccounts, EditContacts].contains(&w) {
                assert!(!w.roles().contains(&VendorRole::Sales), "{w:?}");
            }
        }
        for w in [
            DecideRegistrations,
            InvitePartners,
            ChooseAttribution,
            SetProgramTerms,
            EditPartners,
        ] {
            assert!(w.roles().contains(&VendorRole::ChannelManager), "{w:?}");
        }
    }

    #[test]
    fn the_program_terms_and_corrections_are_an_admin_s_in_person() {
        let app = Principal {
            subject: "app".into(),
            kind: PrincipalKind::App,
            party: Party::Vendor,
            vendor_role: None,
            partner_role: None,
            scopes: Some(
                super::super::principal::KNOWN_SCOPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
        };
        let manager = Principal::vendor("cm", VendorRole::ChannelManager);
        let admin = Principal::vendor("admin", VendorRole::Admin);
        for w in ALL {
            assert!(w.check(&admin).is_ok(), "{w:?}");
            if w == VendorWrite::ManageWebhooks {
                continue; // apps manage their own endpoints through can::ManageWebhooks
            }
            assert_eq!(w.check(&app).is_ok(), w.apps_may(), "{w:?}");
            assert_eq!(
                w.check(&manager).is_ok(),
                w.roles().contains(&VendorRole::ChannelManager),
                "{w:?}"
            );
            assert!(w.check(&Principal::partner("rep", 1)).is_err(), "{w:?}");
        }
    }

    #[test]
    fn webhooks_are_managed_by_admins_partner_admins_and_apps_that_read_events() {
        let app = |scopes: &[&str]| Principal {
            subject: "app".into(),
            kind: PrincipalKind::App,
            party: Party::Partner(3),
            vendor_role: None,
            partner_role: None,
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        };
        let mut partner_admin = Principal::partner("pa", 3);
        partner_admin.partner_role = Some(PartnerRole::PartnerAdmin);
        let mut rep = Principal::partner("rep", 3);
        rep.partner_role = Some(PartnerRole::PartnerRep);
        let allowed = [
            (Principal::vendor("admin", VendorRole::Admin), true),
            (Principal::vendor("cm", VendorRole::ChannelManager), false),
            (Principal::vendor("s", VendorRole::Sales), false),
            (partner_admin, true),
            (rep, false),
            (app(&["events:read"]), true),
            (app(&["registrations:read"]), false),
        ];
        for (p, ok) in allowed {
            assert_eq!(p.grant::<can::ManageWebhooks>().is_ok(), ok, "{p:?}");
        }
    }

    #[test]
    fn partner_grants_name_their_partner_and_refuse_the_vendor() {
        let g = Principal::partner("rep", 7)
            .grant::<can::ClaimDeals>()
            .unwrap();
        assert_eq!(g.partner_id(), 7);
        assert!(Principal::vendor("admin", VendorRole::Admin)
            .grant::<can::ClaimDeals>()
            .is_err());
        assert!(Principal::vendor("s", VendorRole::Sales)
            .grant::<can::WriteContacts>()
            .is_ok());
        assert!(Principal::partner("rep", 7)
            .grant::<can::WriteContacts>()
            .is_ok());
    }
}
