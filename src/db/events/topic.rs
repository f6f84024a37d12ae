//! The outbox's topics: writers name a variant, subscription filters parse the stored name
//! back into the same variant, so the two never drift apart through a misspelled string.

use entity::enums::{ContactStatus, InvitationStatus, RegistrationStatus};
use sea_orm::Iterable;

/// Every topic the outbox carries, by one name each: writers name a variant, and subscription
/// filters read the same spelling back from [`Topic::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    PartnerCreated,
    PartnerUpdated,
    AccountCreated,
    AccountUpdated,
    OpportunityCreated,
    OpportunityUpdated,
    OpportunityStageChanged,
    /// A registration reached this status (`registration.draft`, `registration.approved`, ...).
    Registration(RegistrationStatus),
    RegistrationExtensionRequested,
    RegistrationProtectionExtended,
    ConflictRaised,
    ConflictResolved,
    ContactCreated,
    ContactUpdated,
    ContactShared,
    ContactLinked,
    /// A contact's reachability changed (`contact.left_company`, `contact.active`, ...).
    Contact(ContactStatus),
    EngagementRecorded,
    ThreadingRiskRaised,
    AttributionFinalized,
    AttributionCorrected,
    CollaborationRuleUpdated,
    WebhookEndpointCreated,
    WebhookEndpointUpdated,
    WebhookEndpointDeleted,
    /// Deliveries kept failing until the retry schedule ran out.
    WebhookEndpointDisabled,
    /// An invitation was made (`invitation.created`) or closed (`invitation.accepted`,
    /// `invitation.declined`, `invitation.expired`, `invitation.withdrawn`).
    Invitation(InvitationStatus),
}

impl Topic {
    /// The topic as events carry it, e.g. `registration.approved`.
    pub fn name(self) -> &'static str {
        use RegistrationStatus as R;
        match self {
            Self::PartnerCreated => "partner.created",
            Self::PartnerUpdated => "partner.updated",
            Self::AccountCreated => "account.created",
            Self::AccountUpdated => "account.updated",
            Self::OpportunityCreated => "opportunity.created",
            Self::OpportunityUpdated => "opportunity.updated",
            Self::OpportunityStageChanged => "opportunity.stage_changed",
            Self::Registration(R::Draft) => "registration.draft",
            Self::Registration(R::Submitted) => "registration.submitted",
            Self::Registration(R::UnderReview) => "registration.under_review",
            Self::Registration(R::NeedsInfo) => "registration.needs_info",
            Self::Registration(R::Approved) => "registration.approved",
            Self::Registration(R::Rejected) => "registration.rejected",
            Self::Registration(R::Withdrawn) => "registration.withdrawn",
            Self::Registration(R::Won) => "registration.won",
            Self::Registration(R::Lost) => "registration.lost",
            Self::Registration(R::Expired) => "registration.expired",
            Self::RegistrationExtensionRequested => "registration.extension_requested",
            Self::RegistrationProtectionExtended => "registration.protection_extended",
            Self::ConflictRaised => "conflict.raised",
            Self::ConflictResolved => "conflict.resolved",
            Self::ContactCreated => "contact.created",
            Self::ContactUpdated => "contact.updated",
            Self::ContactShared => "contact.shared",
            Self::ContactLinked => "contact.linked",
            Self::Contact(ContactStatus::LeftCompany) => "contact.left_company",
            Self::Contact(ContactStatus::RoleChanged) => "contact.role_changed",
            Self::Contact(ContactStatus::Unresponsive) => "contact.unresponsive",
            Self::Contact(ContactStatus::Active) => "contact.active",
            Self::EngagementRecorded => "engagement.recorded",
            Self::ThreadingRiskRaised => "threading.risk_raised",
            Self::AttributionFinalized => "attribution.finalized",
            Self::AttributionCorrected => "attribution.corrected",
            Self::CollaborationRuleUpdated => "collaboration_rule.updated",
            Self::WebhookEndpointCreated => "webhook.endpoint_created",
            Self::WebhookEndpointUpdated => "webhook.endpoint_updated",
            Self::WebhookEndpointDeleted => "webhook.endpoint_deleted",
            Self::WebhookEndpointDisabled => "webhook.endpoint_disabled",
            Self::Invitation(InvitationStatus::Open) => "invitation.created",
            Self::Invitation(InvitationStatus::Accepted) => "invitation.accepted",
            Self::Invitation(InvitationStatus::Declined) => "invitation.declined",
            Self::Invitation(InvitationStatus::Expired) => "invitation.expired",
            Self::Invitation(InvitationStatus::Withdrawn) => "invitation.withdrawn",
        }
    }

    /// Every topic, each once.
    pub fn all() -> Vec<Topic> {
        let mut out = vec![
            Self::PartnerCreated,
            Self::PartnerUpdated,
            Self::AccountCreated,
            Self::AccountUpdated,
            Self::OpportunityCreated,
            Self::OpportunityUpdated,
            Self::OpportunityStageChanged,
            Self::RegistrationExtensionRequested,
            Self::RegistrationProtectionExtended,
            Self::ConflictRaised,
            Self::ConflictResolved,
            Self::ContactCreated,
            Self::ContactUpdated,
            Self::ContactShared,
            Self::ContactLinked,
            Self::EngagementRecorded,
            Self::ThreadingRiskRaised,
            Self::AttributionFinalized,
            Self::AttributionCorrected,
            Self::CollaborationRuleUpdated,
            Self::WebhookEndpointCreated,
            Self::WebhookEndpointUpdated,
            Self::WebhookEndpointDeleted,
            Self::WebhookEndpointDisabled,
        ];
        out.extend(RegistrationStatus::iter().map(Self::Registration));
        out.extend(ContactStatus::iter().map(Self::Contact));
        out.extend(InvitationStatus::iter().map(Self::Invitation));
        out
    }

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
