//! The shared-deal snapshot: what the vendor showed the invited partners of the deal, stored
//! as JSON on the invitation when it is made and read back by whoever may see the invitation.
//! The writer and the reader share this one type, so a field is stored and read under the
//! same key.

use chrono::NaiveDate;
use entity::enums::{OpportunityStage, SharedField};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The fields of a deal the vendor shared, as they were when it invited. A field it did not
/// share is absent from the stored JSON (`None` here); `contacts` is absent when it shared none.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// CUSTOMER_NAME: the account's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// CUSTOMER_DOMAIN: the account's web domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_domain: Option<String>,
    /// DEAL_NAME: the opportunity's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_name: Option<String>,
    /// AMOUNT: minor units of `currency` (the two are shared together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// AMOUNT: the ISO 4217 currency of `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// STAGE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<OpportunityStage>,
    /// PRODUCTS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<String>>,
    /// REGION: `Some(None)` (stored as null) when it was shared and the deal has none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "shared"
    )]
    pub region: Option<Option<String>>,
    /// EXPECTED_CLOSE_DATE, as `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_close_date: Option<NaiveDate>,
    /// The contacts at the customer the vendor shared, in the order of their ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<SharedContact>,
}

/// A contact at the customer shared with an invitation: name, title and email only.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SharedContact {
    pub name: String,
    /// Null when unknown.
    pub title: Option<String>,
    pub email: String,
}

/// A present key, even one whose value is null: `Some(value)`. (An absent key is `None`
/// through `default`.)
fn shared<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

impl Snapshot {
    /// The snapshot of `fields` of the deal `opp` at `account`, without contacts. Called when
    /// an invitation is made; returns what the invited partners will read.
    pub fn of(
        account: &entity::account::Model,
        opp: &entity::opportunity::Model,
        fields: &[SharedField],
    ) -> Self {
        let mut out = Self::default();
        for f in fields {
            match f {
                SharedField::CustomerName => out.customer_name = Some(account.name.clone()),
                SharedField::CustomerDomain => out.customer_domain = Some(account.domain.clone()),
                SharedField::DealName => out.deal_name = Some(opp.name.clone()),
                SharedField::Amount => {
                    out.amount = Some(opp.amount_minor);
                    out.currency = Some(opp.currency.clone());
                }
                SharedField::Stage => out.stage = Some(opp.stage),
                SharedField::Products => {
                    out.products =
                        Some(serde_json::from_value(opp.products.clone()).unwrap_or_default())
                }
                SharedField::Region => out.region = Some(opp.region.clone()),
                SharedField::ExpectedCloseDate => {
                    out.expected_close_date = Some(opp.expected_close_date)
                }
            }
        }
        out
    }

    /// Reads an invitation's stored `shared` column, for anyone who may see the invitation;
    /// returns the snapshot, or an empty one (logged) if the stored value is not one.
    pub fn read(stored: &Value) -> Self {
        Self::deserialize(stored).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "an invitation's shared snapshot is unreadable");
            Self::default()
        })
    }

    /// The JSON stored in an invitation's `shared` column; called by the invitation's writer.
    pub fn to_stored(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Default::default()))
    }

    /// Which fields were shared, in the order of [`SharedField`]'s declaration (contacts are
    /// not a field); for anyone reading the snapshot.
    pub fn fields(&self) -> Vec<SharedField> {
        [
            (SharedField::CustomerName, self.customer_name.is_some()),
            (SharedField::CustomerDomain, self.customer_domain.is_some()),
            (SharedField::DealName, self.deal_name.is_some()),
            (SharedField::Amount, self.amount.is_some()),
            (SharedField::Stage, self.stage.is_some()),
            (SharedField::Products, self.products.is_some()),
            (SharedField::Region, self.region.is_some()),
            (
                SharedField::ExpectedCloseDate,
                self.expected_close_date.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(f, shared)| shared.then_some(f))
        .collect()
    }
}

impl From<&entity::contact::Model> for SharedContact {
    fn from(c: &entity::contact::Model) -> Self {
        Self {
            name: c.name.clone(),
            title: c.title.clone(),
            email: c.email.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A snapshot as rows already stored hold it (every field shared, keys in the order the
    /// vendor listed the fields).
    fn stored() -> Value {
        json!({
            "region": null,
            "dealName": "Platform renewal",
            "customerName": "Acme Ltd",
            "customerDomain": "acme.com",
            "amount": 125000,
            "currency": "EUR",
            "stage": "NEGOTIATION",
            "products": ["CRM", "Analytics"],
            "expectedCloseDate": "2026-12-31",
            "contacts": [
                { "name": "Ada Buyer", "title": "CFO", "email": "ada@acme.com" },
                { "name": "Bob User", "title": null, "email": "bob@acme.com" }
            ]
        })
    }

    #[test]
    fn a_stored_snapshot_reads_every_field_and_round_trips() {
        let s: Snapshot = serde_json::from_value(stored()).unwrap();
        assert_eq!(s.customer_name.as_deref(), Some("Acme Ltd"));
        assert_eq!(s.customer_domain.as_deref(), Some("acme.com"));
        assert_eq!(s.deal_name.as_deref(), Some("Platform renewal"));
        assert_eq!(
            (s.amount, s.currency.as_deref()),
            (Some(125000), Some("EUR"))
        );
        assert_eq!(s.stage, Some(OpportunityStage::Negotiation));
        assert_eq!(s.products, Some(vec!["CRM".into(), "Analytics".into()]));
        assert_eq!(
            s.region,
            Some(None),
            "a shared region the deal lacks stays shared"
        );
        assert_eq!(s.expected_close_date, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(s.contacts.len(), 2);
        assert_eq!(s.contacts[1].title, None);
        assert_eq!(s.fields().len(), 8);
        assert_eq!(s.to_stored(), stored(), "the same JSON is written back");
        assert_eq!(Snapshot::read(&s.to_stored()), s);
    }

    #[test]
    fn a_snapshot_of_a_deal_is_written_under_the_keys_stored_rows_use() {
        let now = chrono::Utc::now();
        let account = entity::account::Model {
            id: 1,
            name: "Acme Ltd".into(),
            domain: "acme.com".into(),
            industry: None,
            region: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let opp = entity::opportunity::Model {
            id: 2,
            account_id: 1,
            name: "Platform renewal".into(),
            stage: OpportunityStage::Negotiation,
            amount_minor: 125000,
            currency: "EUR".into(),
            expected_close_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            owner: "owner@vendor.example".into(),
            region: None,
            products: json!(["CRM", "Analytics"]),
            forecast_notes: None,
            probability: None,
            version: 1,
            created_at: now,
            updated_at: now,
            closed_at: None,
        };
        let all = [
            SharedField::Region,
            SharedField::DealName,
            SharedField::CustomerName,
            SharedField::CustomerDomain,
            SharedField::Amount,
            SharedField::Stage,
            SharedField::Products,
            SharedField::ExpectedCloseDate,
        ];
        let mut s = Snapshot::of(&account, &opp, &all);
        s.contacts = stored()["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| serde_json::from_value(c.clone()).unwrap())
            .collect();
        assert_eq!(s.to_stored(), stored());
        assert_eq!(
            Snapshot::of(&account, &opp, &[SharedField::Amount]).to_stored(),
            json!({ "amount": 125000, "currency": "EUR" })
        );
    }

    #[test]
    fn fields_not_shared_stay_absent() {
        let stored = json!({ "dealName": "Platform renewal", "region": "EMEA" });
        let s = Snapshot::read(&stored);
        assert_eq!(s.fields(), vec![SharedField::DealName, SharedField::Region]);
        assert_eq!(s.region, Some(Some("EMEA".into())));
        assert!(s.contacts.is_empty());
        assert_eq!(s.to_stored(), stored);
        assert_eq!(Snapshot::read(&json!({})), Snapshot::default());
        assert_eq!(Snapshot::default().to_stored(), json!({}));
    }
}
