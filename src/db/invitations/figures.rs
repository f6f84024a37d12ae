//! How partners answer invitations: acceptance rate and time to answer.

use super::*;

/// Answers to invitations in one group.
#[derive(Debug, Clone, Default)]
pub struct AnswerFigures {
    /// Invitations made.
    pub invited: u64,
    pub accepted: u64,
    pub declined: u64,
    pub expired: u64,
    pub withdrawn: u64,
    /// Still waiting.
    pub open: u64,
    /// accepted / (accepted + declined + expired); null before any of them.
    pub acceptance_rate: Option<f64>,
    /// Median hours from invitation to the partner's answer (accepted or declined).
    pub median_hours_to_answer: Option<f64>,
}

/// Invitation figures over the invitations made in `[from, to)` that `principal` may see.
#[derive(Debug, Clone, Default)]
pub struct InvitationFigures {
    pub overall: AnswerFigures,
    pub by_partner: Vec<(i64, AnswerFigures)>,
    pub by_role: Vec<(RegistrationRole, AnswerFigures)>,
}

#[derive(Default)]
struct Acc {
    f: AnswerFigures,
    hours: Vec<f64>,
}

type Row = (
    i64,
    RegistrationRole,
    InvitationStatus,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

impl Acc {
    fn add(&mut self, r: &Row) {
        let (_, _, status, created, closed) = r;
        self.f.invited += 1;
        match status {
            InvitationStatus::Open => self.f.open += 1,
            InvitationStatus::Accepted => self.f.accepted += 1,
            InvitationStatus::Declined => self.f.declined += 1,
            InvitationStatus::Expired => self.f.expired += 1,
            InvitationStatus::Withdrawn => self.f.withdrawn += 1,
        }
        if let (InvitationStatus::Accepted | InvitationStatus::Declined, Some(c)) = (status, closed)
        {
            self.hours
                .push((*c - *created).num_seconds() as f64 / 3600.0);
        }
    }

    fn finish(mut self) -> AnswerFigures {
        let ended = self.f.accepted + self.f.declined + self.f.expired;
        self.f.acceptance_rate = (ended > 0).then(|| self.f.accepted as f64 / ended as f64);
        self.f.median_hours_to_answer = crate::domain::registration::median(&mut self.hours)
            .map(|h| (h * 100.0).round() / 100.0);
        self.f
    }
}

/// For a reader with `registrations:read` (refused otherwise): returns the acceptance rate and
/// time to answer of the invitations `principal` may see made in `[from, to)`, overall, by
/// partner and by role.
pub async fn figures(
    db: &DatabaseConnection,
    principal: &Principal,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<InvitationFigures> {
    principal.require_read(Resource::Registrations)?;
    let mut cond = Condition::all();
    if let Some(f) = from {
        cond = cond.add(Column::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        cond = cond.add(Column::CreatedAt.lt(t));
    }
    let rows: Vec<Row> = visible(principal)
        .filter(cond)
        .select_only()
        .column(Column::PartnerId)
        .column(Column::Role)
        .column(Column::Status)
        .column(Column::CreatedAt)
        .column(Column::ClosedAt)
        .into_tuple()
        .all(db)
        .await?;
    let mut overall = Acc::default();
    let mut partners: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut roles: BTreeMap<RegistrationRole, Acc> = BTreeMap::new();
    for r in &rows {
        overall.add(r);
        partners.entry(r.0).or_default().add(r);
        roles.entry(r.1).or_default().add(r);
    }
    Ok(InvitationFigures {
        overall: overall.finish(),
        by_partner: partners.into_iter().map(|(p, a)| (p, a.finish())).collect(),
        by_role: roles.into_iter().map(|(r, a)| (r, a.finish())).collect(),
    })
}
