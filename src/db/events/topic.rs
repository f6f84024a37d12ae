//! The outbox's topics, in one table: each topic's variant, its name as events carry it, and
//! the kind of data it is about (whose read rule gives its audience). The enum, [`Topic::name`],
//! [`Topic::subject`] and [`Topic::all`] are all generated from the table, so a new topic cannot
//! be missing from any of them.

use entity::enums::{ContactStatus, InvitationStatus, RegistrationStatus};
use sea_orm::Iterable;

use crate::auth::scope::Subject;

/// Declares the topics: plain ones with their name, and families named after a status enum,
/// one topic per status (`registration.approved`, `contact.left_company`, ...).
macro_rules! topics {
    (
        plain {
            $( $(#[$doc:meta])* $topic:ident = $name:literal, $subject:ident; )+
        }
        families {
            $( $(#[$fdoc:meta])* $family:ident($status:ty) = $names:path, $fsubject:ident; )+
        }
    ) => {
        /// Every topic the outbox carries, by one name each: writers name a variant, and
        /// subscription filters read the same spelling back from [`Topic::name`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Topic {
            $( $(#[$doc])* $topic, )+
            $( $(#[$fdoc])* $family($status), )+
        }

        impl Topic {
            /// The topic as events carry it, e.g. `registration.approved`.
            pub fn name(self) -> &'static str {
                match self {
                    $( Self::$topic => $name, )+
                    $( Self::$family(s) => $names(s), )+
                }
            }

            /// The kind of data the topic's events are about: their audience comes from its
            /// read rule.
            pub fn subject(self) -> Subject {
                match self {
                    $( Self::$topic => Subject::$subject, )+
                    $( Self::$family(_) => Subject::$fsubject, )+
                }
            }

            /// Every topic, each once.
            pub fn all() -> Vec<Topic> {
                let mut out = vec![$( Self::$topic ),+];
                $( out.extend(<$status>::iter().map(Self::$family)); )+
                out
            }
        }
    };
}

topics! {
    plain {
    PartnerCreated = "partner.created", Partner;
    PartnerUpdated = "partner.updated", Partner;
    AccountCreated = "account.created", Account;
    AccountUpdated = "account.updated", Account;
    OpportunityCreated = "opportunity.created", Opportunity;
    OpportunityUpdated = "opportunity.updated", Opportunity;
    OpportunityStageChanged = "opportunity.stage_changed", Opportunity;
    RegistrationExtensionRequested = "registration.extension_requested", Registration;
    RegistrationProtectionExtended = "registration.protection_extended", Registration;
    ConflictRaised = "conflict.raised", Conflict;
    ConflictResolved = "conflict.resolved", Conflict;
    ContactCreated = "contact.created", Contact;
    ContactUpdated = "contact.updated", Contact;
    ContactShared = "contact.shared", Contact;
    ContactLinked = "contact.linked", Contact;
    EngagementRecorded = "engagement.recorded", Engagement;
    ThreadingRiskRaised = "threading.risk_raised", Opportunity;
    AttributionFinalized = "attribution.finalized", Opportunity;
    AttributionCorrected = "attribution.corrected", Opportunity;
    CollaborationRuleUpdated = "collaboration_rule.updated", Program;
    WebhookEndpointCreated = "webhook.endpoint_created", WebhookEndpoint;
    WebhookEndpointUpdated = "webhook.endpoint_updated", WebhookEndpoint;
    WebhookEndpointDeleted = "webhook.endpoint_deleted", WebhookEndpoint;
    /// Deliveries kept failing until the retry schedule ran out.
    WebhookEndpointDisabled = "webhook.endpoint_disabled", WebhookEndpoint;
    }
    families {
        /// A registration reached this status (`registration.draft`, `registration.approved`,
        /// ...).
        Registration(RegistrationStatus) = registration_topic, Registration;
        /// A contact's reachability changed (`contact.left_company`, `contact.active`, ...).
        Contact(ContactStatus) = contact_topic, Contact;
        /// An invitation was made (`invitation.created`) or closed (`invitation.accepted`,
        /// `invitation.declined`, `invitation.expired`, `invitation.withdrawn`).
        Invitation(InvitationStatus) = invitation_topic, Invitation;
    }
}

fn registration_topic(s: RegistrationStatus) -> &'static str {
    use RegistrationStatus as R;
    match s {
        R::Draft => "registration.draft",
        R::Submitted => "registration.submitted",
        R::UnderReview => "registration.under_review",
        R::NeedsInfo => "registration.needs_info",
        R::Approved => "registration.approved",
        R::Rejected => "registration.rejected",
        R::Withdrawn => "registration.withdrawn",
        R::Won => "registration.won",
        R::Lost => "registration.lost",
        R::Expired => "registration.expired",
    }
}

fn contact_topic(s: ContactStatus) -> &'static str {
    match s {
        ContactStatus::LeftCompany => "contact.left_company",
        ContactStatus::RoleChanged => "contact.role_changed",
        ContactStatus::Unresponsive => "contact.unresponsive",
        ContactStatus::Active => "contact.active",
    }
}

fn invitation_topic(s: InvitationStatus) -> &'static str {
    match s {
        InvitationStatus::Open => "invitation.created",
        InvitationStatus::Accepted => "invitation.accepted",
        InvitationStatus::Declined => "invitation.declined",
        InvitationStatus::Expired => "invitation.expired",
        InvitationStatus::Withdrawn => "invitation.withdrawn",
    }
}

impl Topic {
    /// The topic a stored event names, if it is one of ours.
    pub fn parse(name: &str) -> Option<Topic> {
        Self::all().into_iter().find(|t| t.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_has_its_own_name_and_reads_back() {
        let all = Topic::all();
        let names: std::collections::BTreeSet<&str> = all.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), all.len());
        for t in all {
            assert_eq!(Topic::parse(t.name()), Some(t));
        }
        assert_eq!(Topic::parse("registration.nonsense"), None);
    }
}
