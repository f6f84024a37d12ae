//! The words seeded rows are named with: companies, deals, people and their titles.

use entity::enums::Seniority;

const WORDS: [&str; 16] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Dynamic",
    "Northern",
    "Pacific",
];

pub(super) const NOUNS: [&str; 8] = [
    "Logistics",
    "Foods",
    "Health",
    "Systems",
    "Energy",
    "Retail",
    "Robotics",
    "Media",
];

pub(super) const REGIONS: [&str; 4] = ["EMEA", "NA", "APAC", "LATAM"];

/// The product lines deals are about: (product, the words a deal's name uses for it). One in
/// twelve deals is an analytics deal, so a name search for "analytics" finds about 8% of them.
pub(super) const THEMES: [(&str, &str); 12] = [
    ("CRM", "CRM"),
    ("Analytics", "Analytics"),
    ("Data Platform", "Data Platform"),
    ("Security", "Security"),
    ("Cloud", "Cloud Migration"),
    ("ERP", "ERP"),
    ("Collaboration", "Collaboration Suite"),
    ("Automation", "Process Automation"),
    ("Service Desk", "Service Desk"),
    ("Marketing", "Marketing Cloud"),
    ("Integration", "Integration Hub"),
    ("Observability", "Observability"),
];

const DEAL_KINDS: [&str; 8] = [
    "Rollout",
    "Expansion",
    "Renewal",
    "Pilot",
    "Upgrade",
    "Migration",
    "New Logo",
    "Phase 2",
];

/// The departments contacts work in (the first is the executive suite's).
pub(super) const DEPARTMENTS: [&str; 8] = [
    "Executive",
    "Finance",
    "IT",
    "Procurement",
    "Operations",
    "Security",
    "Legal",
    "Marketing",
];

const FIRST: [&str; 32] = [
    "Maria", "James", "Aiko", "Olu", "Priya", "Lars", "Sofia", "Chen", "Fatima", "Diego", "Anna",
    "Kwame", "Elena", "Raj", "Ingrid", "Tom", "Leila", "Marco", "Yuki", "Sam", "Nadia", "Pieter",
    "Grace", "Omar", "Hana", "Lucas", "Zara", "Ivan", "Chloe", "Ade", "Mei", "Noah",
];

const LAST: [&str; 32] = [
    "Garcia", "Smith", "Tanaka", "Adeyemi", "Sharma", "Nilsson", "Rossi", "Wang", "Haddad",
    "Lopez", "Novak", "Mensah", "Petrova", "Iyer", "Berg", "Walsh", "Karimi", "Bianchi", "Sato",
    "Cohen", "Aziz", "de Vries", "Okafor", "Farouk", "Kim", "Silva", "Ahmed", "Volkov", "Martin",
    "Bello", "Liu", "Fischer",
];

/// The name of seeded account `id`, e.g. "Globex Foods 17".
pub fn account_name(id: u64) -> String {
    let w = WORDS[(id % 16) as usize];
    let n = NOUNS[((id / 16) % 8) as usize];
    format!("{w} {n} {id}")
}

/// A deal at account `account` about product line `theme` (an index into [`THEMES`]), e.g.
/// "Globex Analytics Expansion".
pub(super) fn deal_name(account: u64, theme: usize, kind: u64) -> String {
    format!(
        "{} {} {}",
        WORDS[(account % 16) as usize],
        THEMES[theme % THEMES.len()].1,
        DEAL_KINDS[(kind % DEAL_KINDS.len() as u64) as usize]
    )
}

/// A person's first and last name from two draws.
pub(super) fn person(a: u64, b: u64) -> (&'static str, &'static str) {
    (
        FIRST[(a % FIRST.len() as u64) as usize],
        LAST[(b % LAST.len() as u64) as usize],
    )
}

/// The job title of someone of `seniority` in `department`, e.g. "VP Finance".
pub(super) fn title(seniority: Seniority, department: &str) -> String {
    match (seniority, department) {
        (Seniority::CLevel, "Executive") => "Chief Executive Officer".into(),
        (Seniority::CLevel, "Finance") => "Chief Financial Officer".into(),
        (Seniority::CLevel, "IT") => "Chief Information Officer".into(),
        (Seniority::CLevel, "Security") => "Chief Information Security Officer".into(),
        (Seniority::CLevel, "Operations") => "Chief Operating Officer".into(),
        (Seniority::CLevel, "Marketing") => "Chief Marketing Officer".into(),
        (Seniority::CLevel, "Legal") => "General Counsel".into(),
        (Seniority::CLevel, d) => format!("Chief {d} Officer"),
        (Seniority::Vp, "Executive") => "Chief of Staff".into(),
        (Seniority::Vp, d) => format!("VP {d}"),
        (Seniority::Director, "Executive") => "Director of Strategy".into(),
        (Seniority::Director, d) => format!("Director of {d}"),
        (Seniority::Manager, "Executive") => "Executive Office Manager".into(),
        (Seniority::Manager, d) => format!("{d} Manager"),
        (Seniority::IndividualContributor, "IT") => "Systems Engineer".into(),
        (Seniority::IndividualContributor, "Finance") => "Financial Analyst".into(),
        (Seniority::IndividualContributor, "Legal") => "Counsel".into(),
        (Seniority::IndividualContributor, d) => format!("{d} Specialist"),
    }
}

/// What engagement notes say, when there are any.
pub(super) const NOTES: [&str; 6] = [
    "Walked through the rollout plan; asked for references.",
    "Pricing questions; wants a proposal before the quarter ends.",
    "Keen on the integration story, worried about migration effort.",
    "Introduced us to their security team.",
    "Budget is tight this year; follow up after planning.",
    "Positive on the pilot results.",
];
