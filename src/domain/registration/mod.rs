//! Registration rules: the lifecycle, auto-approval, and the name matching used by conflict
//! detection.

use entity::enums::{PartnerTier, RegistrationStatus as S};

use crate::error::{AppError, AppResult};

pub mod approval;
pub mod conflicts;

/// What someone asks to do to a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Submit,
    StartReview,
    Approve,
    AutoApprove,
    Reject,
    RequestInfo,
    AnswerInfo,
    Withdraw,
    Win,
    Lose,
    Expire,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::Submit => "submitted (it must be a DRAFT)",
            Action::StartReview => "taken into review (it must be SUBMITTED)",
            Action::Approve => "approved (it must be SUBMITTED or UNDER_REVIEW)",
            Action::AutoApprove => "auto-approved (it must be SUBMITTED)",
            Action::Reject => "rejected (it must be SUBMITTED or UNDER_REVIEW)",
            Action::RequestInfo => "sent back for information (it must be SUBMITTED)",
            Action::AnswerInfo => "answered (it must be NEEDS_INFO)",
            Action::Withdraw => "withdrawn (it is already final)",
            Action::Win | Action::Lose => "closed (it must be APPROVED)",
            Action::Expire => "expired (it must be APPROVED)",
        }
    }
}

/// The statuses `action` walks `from` through, in order (the last is the new status). Only the
/// transitions of the lifecycle exist; a vendor decision on a SUBMITTED registration passes
/// through UNDER_REVIEW, so both steps are recorded.
pub fn transition(from: S, action: Action) -> AppResult<Vec<S>> {
    use Action as A;
    let path = match (from, action) {
        (S::Draft, A::Submit) => vec![S::Submitted],
        (S::NeedsInfo, A::AnswerInfo) => vec![S::Submitted],
        (S::Submitted, A::StartReview) => vec![S::UnderReview],
        (S::Submitted, A::AutoApprove) => vec![S::Approved],
        (S::Submitted, A::Approve) => vec![S::UnderReview, S::Approved],
        (S::UnderReview, A::Approve) => vec![S::Approved],
        (S::Submitted, A::Reject) => vec![S::UnderReview, S::Rejected],
        (S::UnderReview, A::Reject) => vec![S::Rejected],
        (S::Submitted, A::RequestInfo) => vec![S::NeedsInfo],
        (S::Approved, A::Win) => vec![S::Won],
        (S::Approved, A::Lose) => vec![S::Lost],
        (S::Approved, A::Expire) => vec![S::Expired],
        (s, A::Withdraw) if !s.is_final() => vec![S::Withdrawn],
        (s, a) => {
            return Err(AppError::Conflict(format!(
                "the registration is {}; it cannot be {}",
                s.as_str(),
                a.describe()
            )))
        }
    };
    Ok(path)
}

/// The auto-approval policy of one role.
#[derive(Debug, Clone, Copy)]
pub struct AutoApproval {
    pub enabled: bool,
    pub min_tier: Option<PartnerTier>,
    pub max_amount_minor: Option<i64>,
}

/// Whether a submission is approved by the policy: enabled, the partner's tier high enough, no
/// conflict, and the amount (when the policy caps it) known and under the cap.
pub fn auto_approves(
    policy: AutoApproval,
    tier: PartnerTier,
    amount_minor: Option<i64>,
    conflicted: bool,
) -> bool {
    policy.enabled
        && !conflicted
        && policy.min_tier.is_none_or(|min| tier >= min)
        && match policy.max_amount_minor {
            None => true,
            Some(cap) => amount_minor.is_some_and(|a| a <= cap),
        }
}

const SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "srl",
    "bv",
    "nv",
    "ab",
    "oy",
    "kk",
    "pty",
    "group",
    "holdings",
];

/// Lower case, letters and digits only, corporate suffixes dropped: "ACME Corp." -> "acme".
pub fn normalise_company_name(name: &str) -> String {
    let lowered = name.to_lowercase();
    let words: Vec<String> = lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let mut kept: Vec<&str> = words.iter().map(String::as_str).collect();
    while kept.len() > 1 && kept.last().is_some_and(|w| SUFFIXES.contains(w)) {
        kept.pop();
    }
    kept.concat()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Whether two company names are near-identical: equal once normalised, or one edit apart
/// for names of at least six characters ("Globex" vs "Globex Corp", "Initech" vs "Inetech").
pub fn names_match(a: &str, b: &str) -> bool {
    let (a, b) = (normalise_company_name(a), normalise_company_name(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    a == b || (a.chars().count().min(b.chars().count()) >= 6 && edit_distance(&a, &b) <= 1)
}

/// The keys a company name is found by: its normalised form and, for forms of six characters
/// or more, every variant with one character deleted. Two names that [`names_match`] share a
/// key (equal forms share the form; one insertion apart, the shorter is a deletion of the
/// longer; one substitution apart, both lose the differing character to the same variant), so
/// an index on the keys finds every candidate, and [`names_match`] then decides.
pub fn name_keys(name: &str) -> Vec<String> {
    let form = normalise_company_name(name);
    if form.is_empty() {
        return Vec::new();
    }
    let chars: Vec<char> = form.chars().collect();
    let mut keys = std::collections::BTreeSet::from([form]);
    if chars.len() >= 6 {
        for skip in 0..chars.len() {
            keys.insert(
                chars
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, c)| c)
                    .collect(),
            );
        }
    }
    keys.into_iter().collect()
}

/// The median of `values` (sorted in place), if any.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// What the conflict rules need to know of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<R> {
    pub id: i64,
    pub partner_id: i64,
    pub role: R,
}

/// How a newly submitted claim collides with the other open claims on the same deal (oldest
/// first): the first one by the same partner is a duplicate; when the role is exclusive, the
/// first one by another partner in that role has taken it. Returns the colliding claims' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Collisions {
    pub duplicate_of: Option<i64>,
    pub exclusive_role_taken_by: Option<i64>,
}

pub fn collisions<R: PartialEq>(
    new: &Claim<R>,
    others: &[Claim<R>],
    exclusive: bool,
) -> Collisions {
    let others = || others.iter().filter(|o| o.id != new.id);
    Collisions {
        duplicate_of: others()
            .find(|o| o.partner_id == new.partner_id)
            .map(|o| o.id),
        exclusive_role_taken_by: exclusive
            .then(|| {
                others()
                    .find(|o| o.partner_id != new.partner_id && o.role == new.role)
                    .map(|o| o.id)
            })
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share_a_key(a: &str, b: &str) -> bool {
        let kb = name_keys(b);
        name_keys(a).iter().any(|k| kb.contains(k))
    }

    #[test]
    fn names_that_match_share_a_key() {
        for (a, b) in [
            ("Globex", "Globex Corp"),
            ("Initech", "Inetech"),
            ("ACME Corp.", "acme"),
            ("Umbrella", "Umbrela"),
            ("Umbrella", "Umbrellas"),
            ("Müller Bau", "Muller Bau"),
        ] {
            assert!(names_match(a, b), "{a} / {b}");
            assert!(share_a_key(a, b), "{a} / {b}");
        }
        assert!(!share_a_key("Initech", "Globex"));
        assert!(name_keys("Inc.").len() <= 1);
    }

    proptest::proptest! {
        #[test]
        fn every_match_is_found_by_a_shared_key(a in "[a-z]{1,12}", edit in 0usize..3, at in 0usize..12, c in "[a-z]") {
            let chars: Vec<char> = a.chars().collect();
            let at = at.min(chars.len());
            let c = c.chars().next().unwrap();
            let mut b = chars.clone();
            match edit {
                0 if at < b.len() => { b[at] = c; }
                1 => b.insert(at, c),
                _ if at < b.len() => { b.remove(at); }
                _ => {}
            }
            let b: String = b.into_iter().collect();
            if names_match(&a, &b) {
                proptest::prop_assert!(share_a_key(&a, &b), "{} / {}", a, b);
            }
        }
    }

    #[test]
    fn the_lifecycle_as_drawn() {
        assert_eq!(
            transition(S::Draft, Action::Submit).unwrap(),
            [S::Submitted]
        );
        assert_eq!(
            transition(S::Submitted, Action::Approve).unwrap(),
            [S::UnderReview, S::Approved]
        );
        assert_eq!(
            transition(S::Submitted, Action::AutoApprove).unwrap(),
            [S::Approved]
        );
        assert_eq!(
            transition(S::UnderReview, Action::Reject).unwrap(),
            [S::Rejected]
        );
        assert_eq!(
            transition(S::NeedsInfo, Action::AnswerInfo).unwrap(),
            [S::Submitted]
        );
        assert_eq!(
            transition(S::Approved, Action::Expire).unwrap(),
            [S::Expired]
        );
        for open in [
            S::Draft,
            S::Submitted,
            S::UnderReview,
            S::NeedsInfo,
            S::Approved,
        ] {
            assert_eq!(transition(open, Action::Withdraw).unwrap(), [S::Withdrawn]);
        }
    }

    #[test]
    fn everything_else_is_refused_naming_the_status() {
        let e = transition(S::Rejected, Action::Approve).unwrap_err();
        assert_eq!(e.code(), "CONFLICT");
        assert!(e.message().contains("REJECTED"));
        for (s, a) in [
            (S::Draft, Action::Approve),
            (S::UnderReview, Action::RequestInfo),
            (S::UnderReview, Action::AutoApprove),
            (S::Approved, Action::Approve),
            (S::Withdrawn, Action::Withdraw),
            (S::Expired, Action::Win),
            (S::Submitted, Action::Submit),
        ] {
            assert!(transition(s, a).is_err(), "{s:?} {a:?}");
        }
    }

    #[test]
    fn auto_approval_policy() {
        let p = AutoApproval {
            enabled: true,
            min_tier: Some(PartnerTier::Gold),
            max_amount_minor: Some(1_000),
        };
        assert!(auto_approves(p, PartnerTier::Gold, Some(1_000), false));
        assert!(auto_approves(p, PartnerTier::Platinum, Some(5), false));
        assert!(!auto_approves(p, PartnerTier::Silver, Some(5), false));
        assert!(!auto_approves(p, PartnerTier::Gold, Some(1_001), false));
        assert!(!auto_approves(p, PartnerTier::Gold, None, false));
        assert!(!auto_approves(p, PartnerTier::Gold, Some(5), true));
        assert!(!auto_approves(
            AutoApproval {
                enabled: false,
                ..p
            },
            PartnerTier::Gold,
            Some(5),
            false
        ));
    }

    #[test]
    fn company_names() {
        assert_eq!(normalise_company_name("ACME Corp."), "acme");
        assert_eq!(normalise_company_name("Globex Holdings Ltd"), "globex");
        assert!(names_match("Globex Retail", "globex retail inc"));
        assert!(names_match("Initech Financial", "Inetech Financial"));
        assert!(!names_match("Acme", "Acne"), "short names must be equal");
        assert!(!names_match("Umbrella Health", "Umbrella Wealth Partners"));
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn a_claim_collides_with_its_own_partner_and_an_exclusive_holder_only() {
        let c = |id, partner_id, role| Claim {
            id,
            partner_id,
            role,
        };
        let new = c(9, 1, "RESELLER");
        let others = [
            c(3, 2, "RESELLER"),
            c(4, 1, "SERVICES"),
            c(5, 3, "RESELLER"),
            c(9, 1, "RESELLER"),
        ];
        assert_eq!(
            collisions(&new, &others, true),
            Collisions {
                duplicate_of: Some(4),
                exclusive_role_taken_by: Some(3)
            }
        );
        assert_eq!(
            collisions(&new, &others, false),
            Collisions {
                duplicate_of: Some(4),
                exclusive_role_taken_by: None
            }
        );
        let alone = [c(9, 1, "RESELLER"), c(6, 2, "SERVICES")];
        assert_eq!(collisions(&new, &alone, true), Collisions::default());
    }
}
