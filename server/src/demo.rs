//! The demo programme, seeded from the bundled action plan (168 actions of a
//! mental health trust's CQC improvement plan) so a newcomer has something
//! real to look at.

use plait_shared::import::{parse_csv, ImportPlan, ImportSummary};
use plait_shared::{
    new_doc, DocId, PlanDoc, ProgrammeDoc, ProgrammeInfo, Role, UnixMillis, UserId,
};
use yrs::{ReadTxn, StateVector, Transact};

use crate::accounts::{names_to_users, AccountError, Accounts};
use crate::store::{DocStore, SledStore, StoreError};

/// The demo programme's document id.
pub const PROGRAMME_ID: &str = "demo";

/// The demo accounts' shared password.
pub const PASSWORD: &str = "plait-demo";

/// The demo accounts, one per role: (user name, display name, role). D.
/// Hughes owns 20 of the bundled plan's actions.
pub const ACCOUNTS: [(&str, &str, Role); 6] = [
    ("programme.office", "Programme Office", Role::Admin),
    ("chief.nurse", "Chief Nurse", Role::Lead),
    ("d.hughes", "D. Hughes", Role::Contributor),
    ("compliance", "Compliance Team", Role::Validator),
    (
        "qsc.chair",
        "Quality and Safety Committee Chair",
        Role::Approver,
    ),
    ("board", "Board Member", Role::Viewer),
];

const FIXTURE: &[u8] = include_bytes!("../../fixtures/nsft-style-action-plan.csv");

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The bundled plan did not import (a bug in the bundle or the importer).
    #[error("the bundled plan has errors: {0}")]
    Import(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An account could not be made.
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// Seeds the demo accounts (those missing) and the demo programme unless it
/// is already stored. Returns what was imported, or `None` if it was there.
///
/// # Errors
/// [`SeedError`] when the import or storage fails.
pub fn seed(store: &SledStore, accounts: &Accounts) -> Result<Option<ImportSummary>, SeedError> {
    let programme_id = DocId::new(PROGRAMME_ID).map_err(|e| SeedError::Import(e.to_string()))?;
    for (username, name, role) in ACCOUNTS {
        match accounts.add_user(username, name, PASSWORD, false) {
            Ok(_) => {
                accounts.grant(username, &programme_id, Some(role))?;
            }
            Err(AccountError::Exists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if store.exists(&programme_id)? {
        store.flush()?;
        return Ok(None);
    }
    let mut parsed = parse_csv(FIXTURE);
    if let Some(first) = parsed.errors.first() {
        return Err(SeedError::Import(first.to_string()));
    }
    // Owners named in the spreadsheet who have accounts own their actions
    // as those accounts.
    let people = names_to_users(&accounts.members(&programme_id)?);
    for row in &mut parsed.rows {
        if let Some(user) = row
            .action
            .owner
            .as_ref()
            .and_then(|owner| people.get(owner.as_str()))
        {
            row.action.owner = Some(user.clone());
        }
    }
    let plan = ImportPlan::new(&programme_id, &parsed.rows)
        .map_err(|e| SeedError::Import(e.to_string()))?;
    let importer = UserId::new(ACCOUNTS[0].0).map_err(|e| SeedError::Import(e.to_string()))?;
    let now = UnixMillis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    );
    let mut total = ImportSummary::default();
    for planned in &plan.plans {
        let doc = PlanDoc::new(new_doc());
        {
            let mut txn = doc.doc().transact_mut();
            let summary = ImportPlan::write_plan(planned, &doc, &mut txn, &importer, now)
                .map_err(|e| SeedError::Import(e.to_string()))?;
            total.actions += summary.actions;
            total.findings += summary.findings;
            total.plans += summary.plans;
        }
        put(store, &planned.doc_id, &encode(doc.doc()))?;
        accounts.set_programme_of(&planned.doc_id, &programme_id)?;
    }
    // The programme last: its presence means the demo is complete.
    let programme = ProgrammeDoc::new(new_doc());
    {
        let mut txn = programme.doc().transact_mut();
        programme.set_info(
            &mut txn,
            &ProgrammeInfo {
                name: "Quality Improvement Programme (demo)".into(),
                trust: "A mental health NHS foundation trust".into(),
                rating: "Inadequate".into(),
                oversight_segment: "4 (Recovery Support Programme)".into(),
            },
        );
        plan.write_programme(&programme, &mut txn);
    }
    accounts.set_programme_of(&programme_id, &programme_id)?;
    put(store, &programme_id, &encode(programme.doc()))?;
    store.flush()?;
    Ok(Some(total))
}

/// Appends a whole state as the document's next update (a plan left by an
/// interrupted seed merges with it harmlessly).
fn put(store: &dyn DocStore, id: &DocId, state: &[u8]) -> Result<(), StoreError> {
    let next = store.load(id)?.map_or(0, |stored| stored.next_seq());
    store.append(id, next, state)
}

fn encode(doc: &yrs::Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}
