//! Unit tests of the threading score, the named risks and the influence ranking.

use super::*;
use BuyingRole::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn contact(
    id: i64,
    name: &str,
    dept: &str,
    role: Option<BuyingRole>,
    status: ContactStatus,
) -> ContactFacts {
    ContactFacts {
        id,
        name: name.into(),
        department: Some(dept.into()),
        buying_role: role,
        status,
        visible: true,
    }
}

fn touch(contact_id: i64, party: PartyTag, d: u32) -> EngagementFacts {
    EngagementFacts {
        contact_id,
        party,
        on: day(d),
        sentiment: Sentiment::Positive,
    }
}

fn kinds(a: &Assessment) -> Vec<RiskKind> {
    a.risks.iter().map(|r| r.kind).collect()
}

/// The reseller that knew one IT manager, who left.
#[test]
fn the_reseller_whose_only_it_manager_left() {
    let contacts = [contact(
        1,
        "Ian (IT manager)",
        "IT",
        Some(Champion),
        ContactStatus::LeftCompany,
    )];
    let engagements = [
        touch(1, PartyTag::Partner(7), 10),
        touch(1, PartyTag::Partner(7), 20),
    ];
    let a = assess(&contacts, &engagements, day(22), 90);
    assert_eq!(a.engaged_contacts, 0, "a contact who left no longer counts");
    assert_eq!(a.score, 10, "only recency remains: 2 days ago");
    let k = kinds(&a);
    for expected in [
        RiskKind::SingleThreaded,
        RiskKind::ChampionLeft,
        RiskKind::NoEconomicBuyer,
        RiskKind::NoExecutiveSponsor,
    ] {
        assert!(k.contains(&expected), "{expected:?} in {k:?}");
    }
    let champion = a
        .risks
        .iter()
        .find(|r| r.kind == RiskKind::ChampionLeft)
        .unwrap();
    assert!(champion.evidence.contains("Ian (IT manager)"));
}

/// The distributor that knew only the plant manager, who retired.
#[test]
fn the_distributor_whose_only_plant_manager_retired() {
    let contacts = [
        contact(
            1,
            "Paula (plant manager)",
            "Operations",
            Some(Champion),
            ContactStatus::LeftCompany,
        ),
        contact(
            2,
            "Carl (CFO)",
            "Finance",
            Some(EconomicBuyer),
            ContactStatus::Active,
        ),
    ];
    let engagements = [touch(1, PartyTag::Partner(3), 1)];
    let a = assess(&contacts, &engagements, day(22), 90);
    assert_eq!(
        a.score, 5,
        "breadth 0, roles 0, parties 0, last touch 21 days ago: 5"
    );
    assert!(kinds(&a).contains(&RiskKind::ChampionLeft));
    assert!(kinds(&a).contains(&RiskKind::SingleThreaded));
    let single = a
        .risks
        .iter()
        .find(|r| r.kind == RiskKind::SingleThreaded)
        .unwrap();
    assert!(single.evidence.starts_with("no active contact"));
}

#[test]
fn a_well_threaded_deal_scores_100_with_no_risk() {
    let contacts = [
        contact(
            1,
            "CFO",
            "Finance",
            Some(EconomicBuyer),
            ContactStatus::Active,
        ),
        contact(
            2,
            "CEO",
            "Executive",
            Some(ExecutiveSponsor),
            ContactStatus::Active,
        ),
        contact(
            3,
            "Ops lead",
            "Operations",
            Some(Champion),
            ContactStatus::Active,
        ),
        contact(
            4,
            "Architect",
            "IT",
            Some(TechnicalEvaluator),
            ContactStatus::Active,
        ),
        contact(
            5,
            "Buyer",
            "Procurement",
            Some(Procurement),
            ContactStatus::Active,
        ),
    ];
    let engagements: Vec<EngagementFacts> = (1..=5)
        .map(|c| {
            touch(
                c,
                if c % 2 == 0 {
                    PartyTag::Vendor
                } else {
                    PartyTag::Partner(1)
                },
                20,
            )
        })
        .collect();
    let a = assess(&contacts, &engagements, day(22), 90);
    assert_eq!(a.score, 100);
    assert!(a.risks.is_empty(), "{:?}", a.risks);
    assert_eq!(a.parties, vec![PartyTag::Vendor, PartyTag::Partner(1)]);
}

#[test]
fn staleness_departments_sentiment_and_hidden_contacts() {
    let mut contacts = vec![
        contact(1, "A", "IT", None, ContactStatus::Active),
        contact(2, "B", "IT", None, ContactStatus::Active),
    ];
    contacts[1].visible = false;
    let mut e = vec![touch(1, PartyTag::Vendor, 1), touch(2, PartyTag::Vendor, 2)];
    for x in e.iter_mut() {
        x.sentiment = Sentiment::Negative;
    }
    let a = assess(
        &contacts,
        &e,
        NaiveDate::from_ymd_opt(2026, 12, 20).unwrap(),
        90,
    );
    let k = kinds(&a);
    for expected in [
        RiskKind::StaleEngagement,
        RiskKind::SingleDepartment,
        RiskKind::NegativeSentiment,
        RiskKind::SinglePartyCoverage,
    ] {
        assert!(k.contains(&expected), "{expected:?} in {k:?}");
    }
    assert!(
        !a.risks.iter().any(|r| r.evidence.contains('B')),
        "hidden contacts are never named"
    );
    assert_eq!(
        a.score,
        14 + 7 + 5,
        "two engaged, one department, one party, stale"
    );
}

#[test]
fn influence_flows_up_the_org_chart_and_to_influencers() {
    use ContactLinkKind::*;
    let links = [(1, 3, ReportsTo), (2, 3, ReportsTo), (4, 3, Influences)];
    let r = influence(&[1, 2, 3, 4, 5], &links);
    let total: f64 = r.values().sum();
    assert!((total - 1.0).abs() < 1e-9);
    assert!(
        r[&3] > r[&1] && r[&3] > r[&2],
        "the manager outranks the reports"
    );
    assert!(
        r[&4] > r[&1],
        "whoever influences the manager outranks a plain report"
    );
    assert!(
        (r[&1] - r[&2]).abs() < 1e-12 && r[&5] <= r[&1],
        "symmetric and unconnected contacts"
    );
    let pair = influence(&[1, 2], &[(1, 2, WorksWith)]);
    assert!(
        (pair[&1] - pair[&2]).abs() < 1e-12,
        "working together is symmetric"
    );
}

#[test]
fn reports_to_cycles_are_found() {
    let reports = [(1, 2), (2, 3)];
    assert!(reports_to_cycle(&reports, 3, 1));
    assert!(!reports_to_cycle(&reports, 1, 3));
    assert!(reports_to_cycle(&reports, 4, 4));
}

mod kept {
    //! The kept summary: exact from the day it is made until `valid_until`.
    use super::*;
    use proptest::prelude::*;

    fn network() -> impl Strategy<Value = (Vec<ContactFacts>, Vec<EngagementFacts>)> {
        let roles = prop_oneof![
            Just(None),
            Just(Some(EconomicBuyer)),
            Just(Some(ExecutiveSponsor)),
            Just(Some(Champion)),
            Just(Some(DecisionMaker)),
            Just(Some(TechnicalEvaluator)),
            Just(Some(EndUser)),
        ];
        let statuses = prop_oneof![
            4 => Just(ContactStatus::Active),
            1 => Just(ContactStatus::LeftCompany),
            1 => Just(ContactStatus::RoleChanged),
            1 => Just(ContactStatus::Unresponsive),
        ];
        let contact = (0..4usize, roles, statuses);
        proptest::collection::vec(contact, 0..8)
            .prop_flat_map(|cs| {
                let n = cs.len().max(1) as i64;
                let contacts: Vec<ContactFacts> = cs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (dept, role, status))| ContactFacts {
                        id: i as i64 + 1,
                        name: format!("c{i}"),
                        department: Some(["IT", "Finance", "Legal", "Ops"][dept].into()),
                        buying_role: role,
                        status,
                        visible: i % 2 == 0,
                    })
                    .collect();
                let engagement = (1..=n, 0..3i64, 0..200i64, any::<bool>());
                (Just(contacts), proptest::collection::vec(engagement, 0..12))
            })
            .prop_map(|(contacts, es)| {
                let start = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
                let engagements = es
                    .into_iter()
                    .map(|(contact_id, party, day, negative)| EngagementFacts {
                        contact_id,
                        party: if party == 0 {
                            PartyTag::Vendor
                        } else {
                            PartyTag::Partner(party)
                        },
                        on: start + chrono::Duration::days(day),
                        sentiment: if negative {
                            Sentiment::Negative
                        } else {
                            Sentiment::Positive
                        },
                    })
                    .collect();
                (contacts, engagements)
            })
    }

    proptest! {
        #[test]
        fn a_summary_holds_until_its_valid_until(
            (contacts, engagements) in network(),
            offset in 0..220i64,
            window in prop_oneof![Just(30i64), Just(90), Just(180)],
        ) {
            let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap() + chrono::Duration::days(offset);
            let kept = assess(&contacts, &engagements, today, window).summary(today);
            let until = valid_until(&engagements, today, window);
            let last = until.unwrap_or(today + chrono::Duration::days(400));
            prop_assert!(last > today);
            let mut d = today;
            while d < last {
                let fresh = assess(&contacts, &engagements, d, window).summary(d);
                prop_assert_eq!(&fresh, &kept, "on {} (kept on {}, until {:?})", d, today, until);
                d += chrono::Duration::days(1);
            }
            prop_assert_eq!(risk_kinds(risk_bits(&kept.risks)), kept.risks.clone());
        }
    }
}
