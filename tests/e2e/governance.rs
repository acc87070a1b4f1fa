//! Evidence files, imports (CSV and XLSX, web and command line), exports and
//! the board report, against the real server with the demo programme.

use std::process::Command;

use plait_shared::report::BoardReport;
use plait_shared::{DocId, PlanDoc, ProgrammeDoc, UnixMillis};
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Text, Transact};

use crate::support::{SyncClient, TestServer};

const PASSWORD: &str = plait_server::demo::PASSWORD;

fn sha256(bytes: &[u8]) -> String {
    plait_server::blobs::hash_of(bytes)
}

async fn fetch(server: &TestServer, id: &str) -> yrs::Doc {
    let bytes = server
        .get(&format!("/api/docs/{id}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let doc = plait_shared::new_doc();
    doc.transact_mut()
        .apply_update(yrs::Update::decode_v1(&bytes).unwrap())
        .unwrap();
    doc
}

async fn first_plan(server: &TestServer) -> String {
    let doc = fetch(server, "demo").await;
    let programme = ProgrammeDoc::new(doc.clone()).read(&doc.transact());
    programme.plans.keys().next().unwrap().to_string()
}

#[tokio::test]
async fn evidence_files_are_checked_stored_and_served_as_attachments() {
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), true, |config| {
        config.max_blob_bytes = 64 * 1024;
    })
    .await;
    let plan = first_plan(&server).await;
    let owner = server.sign_in("d.hughes", PASSWORD).await;
    let http = reqwest::Client::new();
    let photo = b"\x89PNG\r\n\x1a\n not really a photo of a door closer".to_vec();
    let hash = sha256(&photo);
    let put = |token: &str, hash: &str, body: Vec<u8>, confirm: bool| {
        let mut request = http
            .put(server.url(&format!("/api/blobs/{hash}?doc={plan}")))
            .bearer_auth(token)
            .header("content-type", "image/png")
            .body(body);
        if confirm {
            request = request.header("x-plait-no-patient-data", "confirmed");
        }
        request.send()
    };
    let unconfirmed = put(&owner, &hash, photo.clone(), false).await.unwrap();
    assert_eq!(unconfirmed.status(), 400);
    assert!(unconfirmed.text().await.unwrap().contains("patient"));
    let tampered = put(&owner, &hash, b"something else".to_vec(), true)
        .await
        .unwrap();
    assert_eq!(tampered.status(), 400, "the hash is checked");
    let board = server.sign_in("board", PASSWORD).await;
    assert_eq!(
        put(&board, &hash, photo.clone(), true)
            .await
            .unwrap()
            .status(),
        403
    );
    let big = vec![7u8; 65 * 1024];
    assert_eq!(
        put(&owner, &sha256(&big), big, true)
            .await
            .unwrap()
            .status(),
        413
    );
    assert_eq!(
        put(&owner, &hash, photo.clone(), true)
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        put(&owner, &hash, photo.clone(), true)
            .await
            .unwrap()
            .status(),
        200,
        "stored once"
    );
    // Any member reads it, as an attachment.
    let got = http
        .get(server.url(&format!(
            "/api/blobs/{hash}?doc={plan}&name=door closer.png"
        )))
        .bearer_auth(&board)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(
        got.headers()["content-disposition"],
        "attachment; filename=\"door closer.png\""
    );
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(got.bytes().await.unwrap().to_vec(), photo);
    // HTML is never served as HTML.
    let page = b"<script>alert(1)</script>".to_vec();
    let page_hash = sha256(&page);
    let stored = http
        .put(server.url(&format!("/api/blobs/{page_hash}?doc={plan}")))
        .bearer_auth(&owner)
        .header("content-type", "text/html")
        .header("x-plait-no-patient-data", "confirmed")
        .body(page)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 201);
    let served = http
        .get(server.url(&format!("/api/blobs/{page_hash}?doc={plan}")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "application/octet-stream");
    // Outside the programme it does not exist.
    server
        .state
        .accounts
        .add_user("outsider", "Outsider", "outsider-password", false)
        .unwrap();
    server
        .state
        .accounts
        .grant(
            "outsider",
            &DocId::new("elsewhere").unwrap(),
            Some(plait_shared::Role::Admin),
        )
        .unwrap();
    let outsider = server.sign_in("outsider", "outsider-password").await;
    let denied = http
        .get(server.url(&format!("/api/blobs/{hash}?doc={plan}")))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    // Not a member: as if the plan did not exist (issue 13).
    assert_eq!(denied.status(), 404);
    let unknown = http
        .get(server.url(&format!(
            "/api/blobs/{}?doc={plan}",
            sha256(b"never uploaded")
        )))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

const MESSY: &str = "\u{feff}Ref,Type,Reg,Key question,CQC requirement,Trust action,Workstream,Due date,Status,Owner\n\
NEW1,Must Do,Reg 12,Safe,Keep the clinic room locked,Fit a keypad lock,Estates,31/03/2027,In progress,D. Hughes\n\
NEW2,Should Do,12,Safe,x,y,Estates,31/02/2027,,\n\
NEW3,Banana,12,Safe,x,y,Estates,2027-01-01,,\n\
MD001.1,Must Do,12,Safe,x,y,Estates,2027-01-01,,\n\
NEW1,Must Do,12,Safe,x,y,Estates,2027-01-01,,\n";

/// `POST /api/programmes/{programme}/import?format=csv&{query}` with `body`
/// as `token`.
async fn import(
    server: &TestServer,
    token: &str,
    programme: &str,
    query: &str,
    body: &'static str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url(&format!(
            "/api/programmes/{programme}/import?format=csv{query}"
        )))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_messy_spreadsheet_shows_its_row_errors_and_writes_nothing() {
    let server = TestServer::start_with_demo().await;
    let admin = server.sign_in("programme.office", PASSWORD).await;
    let demo = fetch(&server, "demo").await;
    let before = demo.transact().state_vector();
    let preview: serde_json::Value = import(&server, &admin, "demo", "", MESSY)
        .await
        .json()
        .await
        .unwrap();
    let rows: Vec<u64> = preview["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [3, 4, 5, 6], "{preview:#}");
    assert_eq!(preview["importable"], 1);
    assert_eq!(preview["rows"], 5);
    let refused = import(&server, &admin, "demo", "&mode=import", MESSY).await;
    assert_eq!(refused.status(), 422);
    let demo = fetch(&server, "demo").await;
    let after = demo.transact().state_vector();
    assert_eq!(before, after, "nothing was written");
    // Only a programme admin imports.
    let lead = server.sign_in("chief.nurse", PASSWORD).await;
    let status = import(&server, &lead, "demo", "&mode=import&valid_only=1", MESSY)
        .await
        .status();
    assert_eq!(status, 403);
    // The valid rows, when the admin chooses.
    let done: serde_json::Value =
        import(&server, &admin, "demo", "&mode=import&valid_only=1", MESSY)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(done["imported"]["actions"], 1, "{done:#}");
    let doc = fetch(&server, "demo").await;
    let programme = ProgrammeDoc::new(doc.clone()).read(&doc.transact());
    let estates = programme
        .plans
        .keys()
        .find(|id| id.as_str().contains("estates"))
        .expect("a new plan for the Estates workstream")
        .clone();
    let plan = fetch(&server, estates.as_str()).await;
    let view = PlanDoc::new(plan.clone()).read(&plan.transact());
    assert_eq!(view.actions.len(), 1);
    let history: serde_json::Value = server
        .get(&format!("/api/docs/{estates}/history"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["records"][0]["user"], "programme.office");
}

#[tokio::test]
async fn exports_round_trip_and_the_report_equals_shared_metrics() {
    let server = TestServer::start_with_demo().await;
    let plan = first_plan(&server).await;
    let csv = server
        .get(&format!("/api/docs/{plan}/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let csv = csv.bytes().await.unwrap();
    let doc = fetch(&server, &plan).await;
    let original = PlanDoc::new(doc.clone()).read(&doc.transact());
    // The export is in the import's layout: it imports into a new programme.
    let parsed =
        plait_server::import::read(&csv, plait_server::import::Format::Csv, &Default::default());
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.rows.len(), original.actions.len());
    let xlsx = server
        .get(&format!("/api/docs/{plan}/export?format=xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let from_xlsx = plait_server::import::read(
        &xlsx,
        plait_server::import::Format::Xlsx,
        &Default::default(),
    );
    assert!(from_xlsx.errors.is_empty(), "{:?}", from_xlsx.errors);
    assert_eq!(from_xlsx.rows, parsed.rows, "XLSX and CSV say the same");

    // The board report's numbers are shared's, computed from the documents.
    let report: serde_json::Value = server
        .get("/api/programmes/demo/report?format=json&today=2026-11-26&since=0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let programme_doc = fetch(&server, "demo").await;
    let programme = ProgrammeDoc::new(programme_doc.clone()).read(&programme_doc.transact());
    let mut plans = Vec::new();
    for id in programme.plans.keys() {
        let doc = fetch(&server, id.as_str()).await;
        plans.push((id.clone(), PlanDoc::new(doc.clone()).read(&doc.transact())));
    }
    let today = plait_shared::Date::parse_iso("2026-11-26").unwrap();
    let local = BoardReport::compute(&programme, &plans, today, UnixMillis(0), 12);
    assert_eq!(report, serde_json::to_value(&local).unwrap());
    assert_eq!(report["metrics"]["all"]["total"], 338);
    let tables = server
        .get("/api/programmes/demo/report?format=xlsx")
        .send()
        .await
        .unwrap();
    assert_eq!(tables.status(), 200);
    assert!(tables.bytes().await.unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn plait_import_on_the_command_line() {
    let bin = crate::crash::plait_binary();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/nsft-style-action-plan.csv");
    let run = |file: &std::path::Path, extra: &[&str]| {
        Command::new(&bin)
            .arg("import")
            .arg(file)
            .args(["--programme", "trust-b", "--name", "Trust B"])
            .args(extra)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap()
    };
    // On a new server no account matches the twelve owners the tracker
    // names: nothing is imported until someone decides about them.
    let unmatched = run(&fixture, &[]);
    assert!(!unmatched.status.success());
    let stderr = String::from_utf8_lossy(&unmatched.stderr);
    assert!(
        stderr.contains("row 2, Owner: \"B. Okafor\" matches no account"),
        "{stderr}"
    );
    let first = run(&fixture, &["--unmatched", "create"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout
            .trim_end()
            .ends_with("Imported 172 findings and 338 actions into 8 plan(s)."),
        "{stdout}"
    );
    // One account per owner, each with its one-time password, printed once.
    assert!(stdout.contains("Accounts created"), "{stdout}");
    let created: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("Contributor"))
        .collect();
    assert_eq!(created.len(), 12, "{stdout}");
    assert!(created
        .iter()
        .any(|line| line.trim_start().starts_with("d.hughes ")));
    let messy = dir.path().join("messy.csv");
    std::fs::write(&messy, MESSY).unwrap();
    let refused = run(&messy, &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for row in ["row 3, Due date", "row 4, Type", "row 5, Ref", "row 6, Ref"] {
        // (D. Hughes on row 2 now has an account: created above.)
        assert!(stderr.contains(row), "{row} in\n{stderr}");
    }
    assert!(
        stderr.contains("nothing imported: 4 problem(s)"),
        "{stderr}"
    );
    let some = run(&messy, &["--valid-only"]);
    assert!(
        some.status.success(),
        "{}",
        String::from_utf8_lossy(&some.stderr)
    );
    assert!(String::from_utf8_lossy(&some.stdout).contains("Imported 1 findings and 1 actions"));
}

/// Programme isolation (issue 13): a plan's id names its programme
/// (`{programme}_{plan}`, and programme ids have no `_`), so an import can
/// neither reach another programme's plan nor adopt a document it does not
/// own; and the board report reads only the programme's own plans, whatever
/// its index (which its admin edits) lists.
#[tokio::test]
async fn a_programme_reaches_only_its_own_documents() {
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    // A second programme, imported by the server administrator.
    let other = http
        .post(
            server
                .url("/api/programmes/other/import?format=csv&mode=import&valid_only=1&name=Other"),
        )
        .bearer_auth(&server.token)
        .body(MESSY)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201, "{}", other.text().await.unwrap());
    let other_doc = fetch(&server, "other").await;
    let other_plan = ProgrammeDoc::new(other_doc.clone())
        .read(&other_doc.transact())
        .plans
        .keys()
        .next()
        .unwrap()
        .clone();
    assert!(other_plan.as_str().starts_with("other_"), "{other_plan}");
    // A programme id that could pass for a plan's is refused.
    let underscore = import(
        &server,
        &server.token,
        "demo_x",
        "&mode=import&valid_only=1",
        MESSY,
    )
    .await;
    assert_eq!(underscore.status(), 400);
    // A server administrator's scratch document under a plan id demo's next
    // import would use is not adopted: the import is refused, whole.
    let mut scratch = SyncClient::connect(&server, "demo_estates", true).await;
    scratch.synced().await;
    scratch
        .edit(|doc| {
            let text = doc.get_or_insert_text("note");
            text.insert(&mut doc.transact_mut(), 0, "scratch");
        })
        .await;
    scratch.all_durable().await;
    let admin = server.sign_in("programme.office", PASSWORD).await;
    let adopted = import(&server, &admin, "demo", "&mode=import&valid_only=1", MESSY).await;
    assert_eq!(adopted.status(), 400);
    assert!(adopted.text().await.unwrap().contains("in use"));
    assert_eq!(
        server
            .state
            .accounts
            .programme_of(&DocId::new("demo_estates").unwrap())
            .unwrap(),
        None,
        "the scratch document was not adopted"
    );
    // demo's admin lists the other programme's plan in demo's index: the
    // board report of demo still counts only demo's own actions.
    let report = |token: String| {
        let http = http.clone();
        let url = server.url("/api/programmes/demo/report?format=json");
        async move {
            let report: serde_json::Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            report
        }
    };
    let board = server.sign_in("board", PASSWORD).await;
    let before = report(board.clone()).await;
    let mut index =
        SyncClient::connect_as(&server, &admin, "demo", true, plait_shared::new_doc()).await;
    index.synced().await;
    index
        .edit(|doc| {
            let programme = ProgrammeDoc::new(doc.clone());
            programme.put_plan(
                &mut doc.transact_mut(),
                &other_plan,
                &plait_shared::PlanEntry {
                    title: "Not ours".into(),
                    workstream_id: None,
                    core_service: String::new(),
                },
            );
        })
        .await;
    index.all_durable().await;
    let after = report(board).await;
    assert_eq!(
        before["metrics"]["all"]["total"],
        after["metrics"]["all"]["total"]
    );
    assert!(!after.to_string().contains("Keep the clinic room locked"));
}

/// The evidence quota (issue 13): a programme's evidence files may not pass
/// `max_evidence_bytes`; a file it holds already is not counted twice.
#[tokio::test]
async fn a_programmes_evidence_has_a_quota() {
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), true, |config| {
        config.max_evidence_bytes = 100;
    })
    .await;
    let plan = first_plan(&server).await;
    let owner = server.sign_in("d.hughes", PASSWORD).await;
    let http = reqwest::Client::new();
    let put = |body: Vec<u8>| {
        http.put(server.url(&format!("/api/blobs/{}?doc={plan}", sha256(&body))))
            .bearer_auth(&owner)
            .header("x-plait-no-patient-data", "confirmed")
            .body(body)
            .send()
    };
    let first = vec![1u8; 60];
    assert_eq!(put(first.clone()).await.unwrap().status(), 201);
    let full = put(vec![2u8; 60]).await.unwrap();
    assert_eq!(full.status(), 507);
    assert!(full.text().await.unwrap().contains("quota"));
    // The same file again is there already: not counted twice.
    assert_eq!(put(first).await.unwrap().status(), 200);
    assert_eq!(put(vec![3u8; 40]).await.unwrap().status(), 201);
    assert_eq!(
        server
            .state
            .blobs
            .usage(&DocId::new("demo").unwrap())
            .unwrap(),
        100
    );
}

/// Evidence no plan cites (issue 13): `plait gc` releases a file older than
/// the grace period that no plan of its programme cites, freeing the quota,
/// and deletes it when no programme reads it; a cited file, or a recent
/// one, stays.
#[tokio::test]
async fn evidence_no_plan_cites_is_collected_after_its_grace() {
    use plait_server::control::{execute, Command, Reply};
    let server = TestServer::start_with_demo().await;
    let (plan, action) = crate::access::owned_action(&server, "d.hughes").await;
    let owner = server.sign_in("d.hughes", PASSWORD).await;
    let http = reqwest::Client::new();
    let put = |body: Vec<u8>| {
        http.put(server.url(&format!("/api/blobs/{}?doc={plan}", sha256(&body))))
            .bearer_auth(&owner)
            .header("x-plait-no-patient-data", "confirmed")
            .body(body)
            .send()
    };
    let (cited, orphan) = (vec![1u8; 50], vec![2u8; 70]);
    assert_eq!(put(cited.clone()).await.unwrap().status(), 201);
    assert_eq!(put(orphan.clone()).await.unwrap().status(), 201);
    // The owner attaches the first as evidence.
    let mut client = crate::access::client(&server, &owner, &plan).await;
    client
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let who = plait_shared::workflow::Who {
                user: &plait_shared::UserId::new("d.hughes").unwrap(),
                role: plait_shared::Role::Contributor,
                at: crate::access::now(),
            };
            plait_shared::workflow::attach_evidence(
                &plan,
                &mut doc.transact_mut(),
                &action.id,
                &who,
                &plait_shared::workflow::EvidenceInput::new(
                    plait_shared::EvidenceKind::File,
                    "Door closer photo",
                    &sha256(&cited),
                ),
                7,
            )
            .unwrap();
        })
        .await;
    client.all_durable().await;
    let demo = DocId::new("demo").unwrap();
    assert_eq!(server.state.blobs.usage(&demo).unwrap(), 120);
    // Within the grace period nothing goes.
    let reply = execute(&server.state, Command::Gc { grace_days: 30 }).await;
    assert!(
        matches!(reply, Reply::Collected(c) if c.released == 0),
        "{reply:?}"
    );
    // Past it, the file no plan cites is deleted; the cited one stays.
    let reply = execute(&server.state, Command::Gc { grace_days: 0 }).await;
    assert!(
        matches!(reply, Reply::Collected(c) if c.released == 1 && c.deleted == 1 && c.bytes == 70),
        "{reply:?}"
    );
    assert!(server.state.blobs.meta(&sha256(&orphan)).unwrap().is_none());
    assert!(server.state.blobs.meta(&sha256(&cited)).unwrap().is_some());
    assert_eq!(server.state.blobs.usage(&demo).unwrap(), 50);
}

/// A tracker as a trust's programme office keeps it (issue 14): a title
/// block, a RAG column, paragraph references, a column the guesses miss,
/// owners by name (one with an account, one without). The preview says
/// who everyone is and holds the import back until the newcomer is
/// decided; the import creates their account (its password shown once),
/// makes both members, and brings "Complete" in as a claim awaiting
/// validation, which the programme manager closes only by recording the
/// decision that closed it.
#[tokio::test]
async fn a_real_tracker_with_people_mapped_and_claims_awaiting_validation() {
    use plait_shared::api::{ImportOptions, ImportPreview, Imported, PersonChoice};
    use plait_shared::import::Column;
    use plait_shared::workflow::{record_decision, DecisionInput, Who};
    use plait_shared::{Date, DecisionOutcome, Role, Status, UserId};

    const TRACKER: &str = "Trust CQC action plan — as at 1 November 2026,,,,,,,,\n\
,,,,,,,,\n\
Action no,Category,Regulation breached,Issue,What we will do,Programme,Action owner,Status,RAG\n\
NW1.1,Must Do,\"Reg 12(2)(a), Reg 17(1)\",Lock the clinic rooms,Fit keypad locks,Estates,D. Hughes,In progress,Amber\n\
NW1.2,Must Do,Reg 12(2)(b),Lock the clinic rooms,Audit the locks monthly,Estates,Zara Quinn,Complete,Blue\n";
    let server = TestServer::start_with_demo().await;
    let admin = server.sign_in("programme.office", PASSWORD).await;
    let http = reqwest::Client::new();
    let send = |mode: &str, options: &ImportOptions| {
        http.post(server.url("/api/programmes/demo/import"))
            .query(&[
                ("format", "csv"),
                ("mode", mode),
                ("options", &serde_json::to_string(options).unwrap()),
            ])
            .bearer_auth(&admin)
            .body(TRACKER)
            .send()
    };
    let mut options = ImportOptions::default();
    options
        .columns
        .insert("Programme".into(), Some(Column::Workstream));
    let preview: ImportPreview = send("preview", &options)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(preview.header_row, 3, "the title block is skipped");
    assert_eq!(preview.findings, 1, "one requirement, two actions");
    assert!(
        preview.ignored_columns.is_empty(),
        "RAG is the reported colour"
    );
    let who = |name: &str| {
        preview
            .people
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} in {:?}", preview.people))
            .choice
            .clone()
    };
    assert_eq!(
        who("D. Hughes"),
        Some(PersonChoice::Account(UserId::new("d.hughes").unwrap()))
    );
    assert_eq!(who("Zara Quinn"), None);
    assert_eq!(preview.errors.len(), 1, "{:?}", preview.errors);
    assert_eq!(
        (preview.errors[0].row, preview.errors[0].column.as_str()),
        (5, "Owner")
    );
    // Refused as it stands; nothing written.
    let refused = send("import", &options).await.unwrap();
    assert_eq!(refused.status(), 422);
    options
        .people
        .insert("Zara Quinn".into(), PersonChoice::Create);
    let done = send("import", &options).await.unwrap();
    assert_eq!(done.status(), 201);
    let imported: Imported = done.json().await.unwrap();
    assert_eq!(imported.imported.actions, 2);
    assert_eq!(imported.accounts.len(), 1);
    let account = &imported.accounts[0];
    assert_eq!(account.username.as_str(), "zara.quinn");
    assert_eq!(account.role, Role::Contributor);
    // The new owner signs in with the password shown once.
    let zara = server.sign_in("zara.quinn", &account.password).await;
    let me: plait_shared::api::Me = server.get_json("/api/me", &zara).await;
    assert!(me
        .programmes
        .iter()
        .any(|m| m.id.as_str() == "demo" && m.role == Role::Contributor));
    // The plan: owners are accounts, the regulations keep their paragraphs,
    // and "Complete" is a claim.
    let plan = "demo_estates";
    let doc = fetch(&server, plan).await;
    let view = PlanDoc::new(doc.clone()).read(&doc.transact());
    let action = |reference: &str| {
        view.actions
            .values()
            .find(|a| a.reference == reference)
            .unwrap()
            .clone()
    };
    let (locks, audit) = (action("NW1.1"), action("NW1.2"));
    assert_eq!(locks.owner, Some(UserId::new("d.hughes").unwrap()));
    assert_eq!(audit.owner, Some(UserId::new("zara.quinn").unwrap()));
    assert_eq!(locks.finding_ids, audit.finding_ids);
    let finding = &view.findings[&locks.finding_ids[0]];
    assert_eq!(finding.reference, "NW1");
    let keys: Vec<String> = finding.regulations.iter().map(|r| r.key()).collect();
    assert_eq!(keys, ["12(2)(a)", "17(1)", "12(2)(b)"]);
    assert_eq!(locks.status(), Status::InProgress);
    assert_eq!(audit.status(), Status::Imported);
    assert_eq!(
        audit.reported_colour,
        Some(plait_shared::Colour::Blue),
        "the tracker's colour is kept beside the derived one"
    );
    assert_eq!(
        audit.sustainment_checks.len(),
        2,
        "its re-audits are scheduled"
    );
    // The programme manager records the decision that closed it: kept, and
    // the action is closed with its original re-audits.
    let mut office = crate::access::client(&server, &admin, plan).await;
    office
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let office = UserId::new("programme.office").unwrap();
            record_decision(
                &plan,
                &mut doc.transact_mut(),
                &audit.id,
                &Who {
                    user: &office,
                    role: Role::Admin,
                    at: crate::access::now(),
                },
                &DecisionInput {
                    forum: "Quality and Safety Committee",
                    meeting_date: Date::from_ymd(2026, 10, 20).unwrap(),
                    outcome: DecisionOutcome::ApproveClosure,
                    minute_ref: "QSC/26/141",
                    note: "",
                    reaudit_months: &[3, 6],
                    meeting: None,
                },
                1,
            )
            .unwrap();
        })
        .await;
    crate::access::settled(&mut office, 0).await;
    assert!(office.seen.lock().unwrap().refused.is_empty());
    let closed = crate::access::server_action(&server, plan, &audit.id).await;
    assert_eq!(closed.status(), Status::Closed);
    assert_eq!(closed.decisions.len(), 1);
    assert_eq!(closed.sustainment_checks.len(), 2);
    // On an action that was never a claim, the programme manager records
    // no decision: that is the committee's.
    let mut office_again = crate::access::client(&server, &admin, plan).await;
    office_again
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            plan.append(
                &mut doc.transact_mut(),
                &locks.id,
                &plait_shared::LogEntry::Decision(plait_shared::Decision {
                    id: plait_shared::EntryId::new("d-office").unwrap(),
                    forum: "Quality and Safety Committee".into(),
                    meeting_date: Date::from_ymd(2026, 10, 20).unwrap(),
                    outcome: DecisionOutcome::ApproveClosure,
                    minute_ref: String::new(),
                    note: String::new(),
                    by: UserId::new("programme.office").unwrap(),
                    at: crate::access::now(),
                    meeting: None,
                }),
            )
            .unwrap();
        })
        .await;
    crate::access::settled(&mut office_again, 1).await;
    let kept = crate::access::server_action(&server, plan, &locks.id).await;
    assert!(kept.decisions.is_empty());
}

/// Several programmes (issue 14): a server administrator creates one; each
/// account lists only the programmes it may open, with their names; the
/// master tracker exports every action of every plan in the import layout,
/// and imports again.
#[tokio::test]
async fn programmes_are_listed_created_and_exported_whole() {
    use plait_shared::api::{NewProgramme, ProgrammeSummary};
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    let list = |token: String| {
        let server = &server;
        async move {
            server
                .get_json::<Vec<ProgrammeSummary>>("/api/programmes", &token)
                .await
        }
    };
    let owner = server.sign_in("d.hughes", PASSWORD).await;
    let mine = list(owner.clone()).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id.as_str(), "demo");
    assert_eq!(mine[0].name, "Quality Improvement Programme (demo)");
    assert_eq!(mine[0].role, plait_shared::Role::Contributor);
    // Only a server administrator creates a programme.
    let new = NewProgramme {
        id: "north-qip".into(),
        name: "North Trust QIP".into(),
        trust: "North NHS Trust".into(),
    };
    let create = |token: &str, body: &NewProgramme| {
        http.post(server.url("/api/programmes"))
            .bearer_auth(token)
            .json(body)
            .send()
    };
    assert_eq!(create(&owner, &new).await.unwrap().status(), 403);
    let admin = server.sign_in("programme.office", PASSWORD).await;
    assert_eq!(create(&admin, &new).await.unwrap().status(), 403);
    assert_eq!(create(&server.token, &new).await.unwrap().status(), 201);
    assert_eq!(
        create(&server.token, &new).await.unwrap().status(),
        409,
        "the id is taken"
    );
    for bad in ["demo_x", "", "North QIP"] {
        let body = NewProgramme {
            id: bad.into(),
            ..new.clone()
        };
        assert_eq!(
            create(&server.token, &body).await.unwrap().status(),
            400,
            "{bad:?}"
        );
    }
    let all = list(server.token.clone()).await;
    assert!(all
        .iter()
        .any(|p| p.id.as_str() == "north-qip" && p.name == "North Trust QIP"));
    assert!(all.iter().any(|p| p.id.as_str() == "demo"));
    assert_eq!(
        list(owner.clone()).await.len(),
        1,
        "not the owner's programme"
    );
    // The master tracker: every action, one table, importable.
    let tracker = http
        .get(server.url("/api/programmes/demo/export?format=csv"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(tracker.status(), 200);
    let csv = tracker.bytes().await.unwrap();
    let parsed =
        plait_server::import::read(&csv, plait_server::import::Format::Csv, &Default::default());
    assert_eq!(parsed.errors, vec![], "the master tracker reads back");
    assert_eq!(parsed.rows.len(), 338);
    let xlsx = http
        .get(server.url("/api/programmes/demo/export?format=xlsx"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    // Into the new programme, people matched by user name.
    let imported = http
        .post(server.url("/api/programmes/north-qip/import?format=csv&mode=import"))
        .bearer_auth(&server.token)
        .body(csv.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 201, "{}", imported.text().await.unwrap());
    let north = fetch(&server, "north-qip").await;
    assert_eq!(
        ProgrammeDoc::new(north.clone())
            .read(&north.transact())
            .plans
            .len(),
        8
    );
    // D. Hughes is now in both, and lists both.
    assert_eq!(list(owner).await.len(), 2);
}

/// Set-up (issue 14): the programme's admin adds an empty plan, listed in
/// the programme; a finding and an action are then added to it like any
/// edit, and kept; nobody else can add a plan.
#[tokio::test]
async fn the_programme_admin_adds_a_plan_then_a_finding_and_an_action() {
    use plait_shared::api::{NewPlan, PlanCreated};
    use plait_shared::{ActionId, FindingId, FindingKind, NewAction, NewFinding};
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    let admin = server.sign_in("programme.office", PASSWORD).await;
    let lead = server.sign_in("chief.nurse", PASSWORD).await;
    let new = NewPlan {
        title: "Patient experience".into(),
        workstream_id: None,
    };
    let add = |token: &str| {
        http.post(server.url("/api/programmes/demo/plans"))
            .bearer_auth(token)
            .json(&new)
            .send()
    };
    assert_eq!(add(&lead).await.unwrap().status(), 403);
    let answer = add(&admin).await.unwrap();
    assert_eq!(answer.status(), 201);
    let created: PlanCreated = answer.json().await.unwrap();
    assert_eq!(created.id.as_str(), "demo_patient-experience");
    assert_eq!(add(&admin).await.unwrap().status(), 409);
    let programme = fetch(&server, "demo").await;
    let index = ProgrammeDoc::new(programme.clone()).read(&programme.transact());
    assert_eq!(index.plans[&created.id].title, "Patient experience");
    let mut office = crate::access::client(&server, &admin, created.id.as_str()).await;
    let finding = FindingId::new("f-sd999").unwrap();
    let action = ActionId::new("a-sd999-1").unwrap();
    office
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let mut txn = doc.transact_mut();
            plan.add_finding(
                &mut txn,
                &finding,
                &NewFinding {
                    reference: "SD999".into(),
                    kind: FindingKind::ShouldDo,
                    text: "The trust should gather patients' views of the wards".into(),
                    regulations: vec![],
                    key_question: None,
                    core_service: String::new(),
                    location: String::new(),
                    source: String::new(),
                    deadline: None,
                },
            )
            .unwrap();
            plan.add_action(
                &mut txn,
                &action,
                &NewAction {
                    reference: "SD999.1".into(),
                    title: "Run a monthly patient survey on every ward".into(),
                    description: String::new(),
                    finding_ids: vec![finding.clone()],
                    workstream_id: None,
                    phase_id: None,
                    exec_lead: "chief.nurse".into(),
                    owner: Some(plait_shared::UserId::new("d.hughes").unwrap()),
                    due: None,
                    confidence: None,
                    closure_criteria: String::new(),
                },
            )
            .unwrap();
            plan.set_created(&mut txn, &action, crate::access::now())
                .unwrap();
        })
        .await;
    crate::access::settled(&mut office, 0).await;
    assert!(office.seen.lock().unwrap().refused.is_empty());
    let kept = crate::access::server_action(&server, created.id.as_str(), &action).await;
    assert_eq!(kept.finding_ids, vec![finding]);
}

/// People named by e-mail (issue 14): an owner written as an NHSmail
/// address is matched to the account with that address; one nobody has is
/// given an account under the address's local part, keeping the address.
#[tokio::test]
async fn owners_named_by_e_mail_are_matched_or_given_accounts() {
    use plait_shared::api::{
        CreatedAccount, ImportOptions, ImportPreview, Imported, Invite, PersonChoice,
    };
    use plait_shared::{Role, UserId};
    let server = TestServer::start_with_demo().await;
    let http = reqwest::Client::new();
    let admin = server.sign_in("programme.office", PASSWORD).await;
    let invited: CreatedAccount = http
        .post(server.url("/api/programmes/demo/members"))
        .bearer_auth(&admin)
        .json(&Invite {
            name: "Zara Quinn".into(),
            username: "zara.quinn".into(),
            role: Role::Contributor,
            email: Some("zara.quinn@nhs.net".into()),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(invited.username.as_str(), "zara.quinn");
    let tracker = "Ref,Type,CQC requirement,Trust action,Workstream,Owner\n\
EM1.1,Must Do,Keep records,Audit records,Estates,ZARA.QUINN@nhs.net\n\
EM1.2,Must Do,Keep records,Train staff,Estates,omar.price@nhs.net\n";
    let send = |mode: &str, options: &ImportOptions| {
        http.post(server.url("/api/programmes/demo/import"))
            .query(&[
                ("format", "csv"),
                ("mode", mode),
                ("options", &serde_json::to_string(options).unwrap()),
            ])
            .bearer_auth(&admin)
            .body(tracker)
            .send()
    };
    let mut options = ImportOptions::default();
    let preview: ImportPreview = send("preview", &options)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let choice = |name: &str| {
        preview
            .people
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.choice.clone())
    };
    assert_eq!(
        choice("ZARA.QUINN@nhs.net"),
        Some(PersonChoice::Account(UserId::new("zara.quinn").unwrap()))
    );
    assert_eq!(choice("omar.price@nhs.net"), None);
    options.unmatched = Some(PersonChoice::Create);
    let done: Imported = send("import", &options)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done.accounts.len(), 1);
    assert_eq!(done.accounts[0].username.as_str(), "omar.price");
    // The new account keeps the address: the next tracker naming it matches.
    let again = "Ref,Type,CQC requirement,Trust action,Workstream,Owner\n\
EM2.1,Must Do,Keep records,Check records,Estates,Omar.Price@NHS.net\n";
    let preview: ImportPreview = http
        .post(server.url("/api/programmes/demo/import?format=csv&mode=preview"))
        .bearer_auth(&admin)
        .body(again)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        preview.people[0].choice,
        Some(PersonChoice::Account(UserId::new("omar.price").unwrap()))
    );
}

/// An evidence pack for CQC (issue 15): for a finding, a ZIP with a
/// printable index, the same index as CSV, and every evidence file the
/// server holds, once each, however many actions it serves. Any member may
/// download it (a board member too); a finding that does not exist is 404,
/// and without a session 401.
#[tokio::test]
async fn a_findings_evidence_pack_holds_its_files_and_an_index() {
    use std::io::Read;
    let server = TestServer::start_with_demo().await;
    let (plan, action) = crate::access::owned_action(&server, "d.hughes").await;
    let finding = action.finding_ids[0].clone();
    let owner = server.sign_in("d.hughes", PASSWORD).await;
    let http = reqwest::Client::new();
    let photo = b"%PDF-1.4 ward 3 door closers, 10 of 10 closing\n".to_vec();
    let put = http
        .put(server.url(&format!("/api/blobs/{}?doc={plan}", sha256(&photo))))
        .bearer_auth(&owner)
        .header("x-plait-no-patient-data", "confirmed")
        .body(photo.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let sha = sha256(&photo);
    let mut client = crate::access::client(&server, &owner, &plan).await;
    client
        .edit(|doc| {
            let plan = PlanDoc::new(doc.clone());
            let me = plait_shared::UserId::new("d.hughes").unwrap();
            let who = plait_shared::workflow::Who {
                user: &me,
                role: plait_shared::Role::Contributor,
                at: crate::access::now(),
            };
            let input = plait_shared::workflow::EvidenceInput {
                evidence_type: Some(plait_shared::EvidenceType::Photo),
                site: "Ward 3",
                ..plait_shared::workflow::EvidenceInput::new(
                    plait_shared::EvidenceKind::File,
                    "Door closer photo <ward 3>",
                    &sha,
                )
            };
            plait_shared::workflow::attach_evidence(
                &plan,
                &mut doc.transact_mut(),
                &action.id,
                &who,
                &input,
                7,
            )
            .unwrap();
        })
        .await;
    client.all_durable().await;
    let board = server.sign_in("board", PASSWORD).await;
    let url = server.url(&format!("/api/docs/{plan}/findings/{finding}/pack"));
    let response = http.get(&url).bearer_auth(&board).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let file = names
        .iter()
        .find(|n| n.starts_with("files/") && n.contains("Door-closer-photo"))
        .unwrap_or_else(|| panic!("the photo is in the pack: {names:?}"))
        .clone();
    let mut held = Vec::new();
    zip.by_name(&file).unwrap().read_to_end(&mut held).unwrap();
    assert_eq!(held, photo, "the file, byte for byte");
    let mut csv_text = String::new();
    zip.by_name("index.csv")
        .unwrap()
        .read_to_string(&mut csv_text)
        .unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let photo_row = rows
        .iter()
        .find(|r| r.get(3) == Some("Door closer photo <ward 3>"))
        .unwrap_or_else(|| panic!("the photo is in the index: {csv_text}"));
    assert_eq!(photo_row.get(0), Some(action.reference.as_str()));
    assert_eq!(photo_row.get(4), Some("Photograph"));
    assert_eq!(photo_row.get(7), Some("Ward 3"));
    assert_eq!(photo_row.get(8), Some("D. Hughes"));
    assert_eq!(photo_row.get(10), Some(file.as_str()));
    assert_eq!(photo_row.get(11), Some("Not reviewed yet"));
    let mut html = String::new();
    zip.by_name("index.html")
        .unwrap()
        .read_to_string(&mut html)
        .unwrap();
    assert!(
        html.contains("Door closer photo &lt;ward 3&gt;"),
        "escaped in the printable index"
    );
    assert!(html.contains("<h1>Evidence pack: "));
    // Someone outside the programme, and a finding that is not there.
    let http_plain = reqwest::Client::new();
    let unknown = server.url(&format!("/api/docs/{plan}/findings/no-such-finding/pack"));
    assert_eq!(
        http_plain
            .get(&unknown)
            .bearer_auth(&board)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(http_plain.get(&url).send().await.unwrap().status(), 401);
}

/// A committee takes ten decisions at one meeting (issue 16), against the
/// real server: the demo's next Quality and Safety Committee meeting has
/// the proposed closures on its agenda; its chair approves eight and
/// returns two with reasons, the forum, date and minute reference entered
/// once, as the committee pack writes them; on the server each of the ten
/// actions' decision names the meeting, the eight are closed (with their
/// re-audits scheduled) and the two back with their owners; the meeting's
/// agenda keeps all ten, decided, and the chair's report drafts from them.
#[tokio::test]
async fn a_committee_decides_ten_items_at_one_meeting() {
    use plait_shared::meetings::{agenda, draft_chair_report, ItemKind};
    use plait_shared::workflow::{record_decision, DecisionInput, Who};
    use plait_shared::{DecisionOutcome, Role, Status, UserId};
    let server = TestServer::start_with_demo().await;
    let programme_doc = fetch(&server, "demo").await;
    let programme = ProgrammeDoc::new(programme_doc.clone()).read(&programme_doc.transact());
    let read_plans = || async { held(&server, "demo").await.1 };
    // The committee's next meeting: the latest the demo has.
    let (meeting_id, meeting) = programme
        .meetings
        .iter()
        .filter(|(_, m)| m.forum_id.as_ref().is_some_and(|f| f.as_str() == "qsc"))
        .max_by_key(|(_, m)| m.date)
        .map(|(id, m)| (id.clone(), m.clone()))
        .expect("the demo has meetings");
    let today = crate::access::now().date();
    let plans = read_plans().await;
    let items: Vec<_> = agenda(&meeting_id, &programme, &plans, today)
        .into_iter()
        .filter(|i| i.kind == ItemKind::Closure)
        .take(10)
        .collect();
    assert_eq!(items.len(), 10, "ten proposed closures await the committee");
    // Earlier meetings decided the history's closures, named in them.
    let earlier = programme
        .meetings
        .iter()
        .find(|(id, m)| {
            **id != meeting_id && m.forum_id.as_ref().is_some_and(|f| f.as_str() == "qsc")
        })
        .map(|(id, _)| id)
        .unwrap();
    assert!(agenda(earlier, &programme, &plans, today)
        .iter()
        .any(|i| i.decided()));

    // The board's report as it is before the meeting, and its moment.
    let report_json = |query: String| {
        let server = &server;
        async move { demo_report(server, &query).await }
    };
    let before_meeting = i64::try_from(plait_server::clock::now_millis()).unwrap();
    let tabled = report_json(String::new()).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let token = server.sign_in("qsc.chair", PASSWORD).await;
    let chair = UserId::new("qsc.chair").unwrap();
    let mut by_plan: std::collections::BTreeMap<DocId, Vec<(usize, plait_shared::ActionId)>> =
        Default::default();
    for (n, item) in items.iter().enumerate() {
        by_plan
            .entry(item.plan.clone())
            .or_default()
            .push((n, item.action.id.clone()));
    }
    for (plan, actions) in &by_plan {
        let mut client = crate::access::client(&server, &token, plan.as_str()).await;
        client
            .edit(|doc| {
                let view = PlanDoc::new(doc.clone());
                let mut txn = doc.transact_mut();
                for (n, action) in actions {
                    let (outcome, note) = if *n < 8 {
                        (DecisionOutcome::ApproveClosure, String::new())
                    } else {
                        (
                            DecisionOutcome::Return,
                            format!("Item {}: audit covers one ward only", n + 1),
                        )
                    };
                    record_decision(
                        &view,
                        &mut txn,
                        action,
                        &Who {
                            user: &chair,
                            role: Role::Approver,
                            at: crate::access::now(),
                        },
                        &DecisionInput {
                            forum: "Quality and Safety Committee",
                            meeting_date: meeting.date.unwrap(),
                            outcome,
                            minute_ref: &format!("QSC/27/04 item {}", n + 1),
                            note: &note,
                            reaudit_months: &plait_server::demo::DEMO_RULES.reaudit_months(),
                            meeting: Some(&meeting_id),
                        },
                        u32::try_from(*n).unwrap(),
                    )
                    .unwrap();
                }
            })
            .await;
        crate::access::settled(&mut client, 0).await;
        assert!(client.seen.lock().unwrap().refused.is_empty());
    }
    let plans = read_plans().await;
    let decided: Vec<_> = agenda(&meeting_id, &programme, &plans, today)
        .into_iter()
        .filter(|i| i.decided())
        .collect();
    assert_eq!(
        decided.len(),
        10,
        "the meeting's agenda keeps its ten decisions"
    );
    let statuses: Vec<Status> = items
        .iter()
        .map(|i| {
            plans
                .iter()
                .find(|(p, _)| *p == i.plan)
                .and_then(|(_, v)| v.actions.get(&i.action.id))
                .unwrap()
                .status()
        })
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == Status::Closed).count(), 8);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == Status::InProgress)
            .count(),
        2
    );
    for item in &decided {
        let d = item.decisions.last().unwrap();
        assert_eq!(d.meeting.as_ref(), Some(&meeting_id));
        assert_eq!(d.meeting_date, meeting.date.unwrap());
    }
    let report = draft_chair_report(&agenda(&meeting_id, &programme, &plans, today));
    assert!(
        report
            .assure
            .contains("approved the closure of 8 action(s)"),
        "{report:?}"
    );
    assert!(report.advise.contains("2 action(s) returned"), "{report:?}");
    // The report now has moved on; "as at" the moment before the meeting
    // it says what it said then, from the logs (issue 16).
    let now = report_json(String::new()).await;
    assert_ne!(now["metrics"], tabled["metrics"]);
    let as_at = report_json(format!("&as_at={before_meeting}")).await;
    assert_eq!(as_at["metrics"], tabled["metrics"]);
    assert_eq!(as_at["trend"], tabled["trend"]);
}

/// Issue 16's trend from the imported history: the tracker's statuses are
/// recorded as they stood on the tracker's own day (read from its dated
/// updates, or chosen), so the programme's monthly trend starts there, not
/// on the day of the import; a chosen day in the future is refused.
#[tokio::test]
async fn an_imported_tracker_is_dated_as_it_stood_and_the_trend_starts_there() {
    use plait_shared::api::{ImportOptions, PersonChoice};
    let server = TestServer::start_with_demo().await;
    let csv = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/nsft-style-action-plan.csv"),
    )
    .unwrap();
    let http = reqwest::Client::new();
    let send = |mode: &str, options: &ImportOptions| {
        let options = serde_json::to_string(options).unwrap();
        http.post(server.url(&format!(
            "/api/programmes/nsft/import?format=csv&mode={mode}&name=NSFT&options={}",
            urlencode(&options)
        )))
        .bearer_auth(&server.token)
        .body(csv.clone())
        .send()
    };
    let options = ImportOptions {
        unmatched: Some(PersonChoice::Unassigned),
        ..ImportOptions::default()
    };
    // The preview reads the tracker's day from its newest dated update.
    let preview: serde_json::Value = send("preview", &options)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(preview["statuses_as_at"], "2022-08-12", "{preview}");
    assert_eq!(preview["statuses_as_at_read"], true);
    // A day in the future is refused, and nothing is written.
    let future = ImportOptions {
        statuses_as_at: Some(plait_shared::Date::parse_iso("2999-01-01").unwrap()),
        ..options.clone()
    };
    let refused = send("import", &future).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("future"));
    // Chosen: the tracker's "as at" day, 15 August 2022.
    let chosen = ImportOptions {
        statuses_as_at: Some(plait_shared::Date::parse_iso("2022-08-15").unwrap()),
        ..options
    };
    let imported = send("import", &chosen).await.unwrap();
    assert_eq!(imported.status(), 201, "{}", imported.text().await.unwrap());
    let programme_doc = fetch(&server, "nsft").await;
    let programme = ProgrammeDoc::new(programme_doc.clone()).read(&programme_doc.transact());
    let mut baselines = 0;
    for id in programme.plans.keys() {
        let doc = fetch(&server, id.as_str()).await;
        for action in PlanDoc::new(doc.clone())
            .read(&doc.transact())
            .actions
            .values()
        {
            for t in &action.transitions {
                assert!(t.baseline);
                assert_eq!(t.at.date().iso(), "2022-08-15", "{}", action.reference);
                baselines += 1;
            }
            assert_eq!(
                action.created.map(|c| c.date().iso()).as_deref(),
                Some("2022-08-15")
            );
        }
    }
    assert!(baselines > 300, "{baselines} statuses imported");
    // The board report's trend starts in August 2022, the tracker's month.
    let report: serde_json::Value = server
        .get("/api/programmes/nsft/report?format=json&today=2022-11-30&since=0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let months: Vec<&str> = report["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, vec!["2022-08", "2022-09", "2022-10", "2022-11"]);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Issue 16's frozen paper: the programme office issues the board paper;
/// the server computes its figures from its own documents (equal to
/// `shared`'s) and freezes them with the words as version 1, recorded in
/// the trail under the office's name. Nobody can issue by editing: a
/// hostile admin's forged version and list of issues are refused; a
/// viewer cannot issue. After the data moves on, version 1 still says what
/// it said; issued again, version 2 shows the new figures.
#[tokio::test]
async fn an_issued_paper_is_frozen_by_the_server_and_nobody_rewrites_it() {
    use plait_shared::paper::{body_for, IssuedPaper};
    use plait_shared::{MeetingId, Paper};
    use yrs::Map;
    let server = TestServer::start_with_demo().await;
    let office = server.sign_in("programme.office", PASSWORD).await;
    let viewer = server.sign_in("board", PASSWORD).await;
    let programme_doc = fetch(&server, "demo").await;
    let programme = ProgrammeDoc::new(programme_doc.clone()).read(&programme_doc.transact());
    let meeting: MeetingId = programme
        .meetings
        .iter()
        .find(|(_, m)| m.forum_id.as_ref().is_some_and(|f| f.as_str() == "board"))
        .map(|(id, _)| id.clone())
        .expect("the demo has the board's meeting");
    let words = Paper {
        summary: "As tabled: the summary the board read.".into(),
        ..programme.papers.get(&meeting).cloned().unwrap_or_default()
    };
    let http = reqwest::Client::new();
    let issue = |token: &str, words: &Paper| {
        http.post(server.url(&plait_shared::api::address::issue_paper("demo", &meeting)))
            .bearer_auth(token)
            .json(words)
            .send()
    };
    assert_eq!(issue(&viewer, &words).await.unwrap().status(), 403);
    let answer = issue(&office, &words).await.unwrap();
    assert_eq!(answer.status(), 201);
    let first: IssuedPaper = answer.json().await.unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.issued_by.as_str(), "programme.office");
    assert_eq!(first.words.summary, words.summary);
    assert_eq!(first.body.total, 338);
    // The figures are shared's, from the documents as they stand.
    let read_all = || held(&server, "demo");
    let (programme, plans) = read_all().await;
    let parse = |json: &str| serde_json::from_str::<IssuedPaper>(json).ok();
    let local = body_for(
        &programme,
        &meeting,
        &plans,
        None,
        first.issued_at,
        first.issued_at.date(),
        &parse,
    );
    assert_eq!(first.body, local, "the server's figures are shared's");
    // Frozen in the programme document, with the moment in its issues.
    let frozen = parse(&programme.issued[&meeting][&1]).unwrap();
    assert_eq!(frozen, first);
    assert_eq!(programme.papers[&meeting].issues, vec![first.issued_at]);
    // The trail names the office.
    let history: plait_shared::api::History = server
        .get_json("/api/docs/demo/history", &server.token)
        .await;
    assert!(
        history
            .records
            .iter()
            .any(|r| r.user.as_str() == "programme.office"
                && r.changes.iter().any(|c| matches!(
                    c,
                    plait_shared::changes::Change::Programme(
                        plait_shared::keys::Root::IssuedPapers
                    )
                ))),
        "the issue is in the trail under the office's name: {:?}",
        history.records.first()
    );

    // A hostile admin forges a version 2 and a list of issues by editing.
    let mut admin = crate::access::client(&server, &office, "demo").await;
    let mut forged = first.clone();
    forged.version = 2;
    forged.body.total = 1;
    admin
        .edit(|doc| {
            let issued = doc.get_or_insert_map(plait_shared::keys::Root::IssuedPapers.key());
            let mut txn = doc.transact_mut();
            issued.insert(
                &mut txn,
                IssuedPaper::key(&meeting, 2),
                serde_json::to_string(&forged).unwrap(),
            );
            // And rewrites version 1.
            issued.insert(&mut txn, IssuedPaper::key(&meeting, 1), "{}");
        })
        .await;
    crate::access::settled(&mut admin, 1).await;
    admin
        .edit(|doc| {
            let papers = doc.get_or_insert_map(plait_shared::keys::Root::Papers.key());
            let mut txn = doc.transact_mut();
            if let Some(yrs::Out::YMap(paper)) = papers.get(&txn, meeting.as_str()) {
                paper.insert(
                    &mut txn,
                    plait_shared::keys::PaperField::Issues.key(),
                    "1,2,3",
                );
            }
        })
        .await;
    crate::access::settled(&mut admin, 2).await;
    let (programme, _) = read_all().await;
    assert_eq!(programme.issued[&meeting].len(), 1, "no forged version");
    assert_eq!(parse(&programme.issued[&meeting][&1]), Some(first.clone()));
    assert_eq!(programme.papers[&meeting].issues, vec![first.issued_at]);
    // Nor removes them: the frozen version, the list of issues, the paper.
    for removal in ["issued", "issues", "paper"] {
        // Another admin's device (the office's refused removals above are
        // remembered as refused for the office, not told again).
        let mut admin = crate::access::client(&server, &server.token, "demo").await;
        admin
            .edit(|doc| {
                let issued = doc.get_or_insert_map(plait_shared::keys::Root::IssuedPapers.key());
                let papers = doc.get_or_insert_map(plait_shared::keys::Root::Papers.key());
                let mut txn = doc.transact_mut();
                match removal {
                    "issued" => {
                        issued.remove(&mut txn, &IssuedPaper::key(&meeting, 1));
                    }
                    "issues" => {
                        if let Some(yrs::Out::YMap(paper)) = papers.get(&txn, meeting.as_str()) {
                            paper.remove(&mut txn, plait_shared::keys::PaperField::Issues.key());
                        }
                    }
                    _ => {
                        papers.remove(&mut txn, meeting.as_str());
                    }
                }
            })
            .await;
        crate::access::settled(&mut admin, 1).await;
        assert!(
            crate::access::refusal(&admin, 0).contains("frozen by the server"),
            "{removal}: {}",
            crate::access::refusal(&admin, 0)
        );
        let (programme, _) = read_all().await;
        assert_eq!(
            parse(&programme.issued[&meeting][&1]),
            Some(first.clone()),
            "{removal} refused"
        );
        assert_eq!(
            programme.papers[&meeting].issues,
            vec![first.issued_at],
            "{removal} refused"
        );
    }

    // The data moves on: an owner's action goes off track.
    let today = first.issued_at.date();
    let (plan, action, owner) = plans
        .iter()
        .flat_map(|(id, p)| p.actions.values().map(move |a| (id, a)))
        .find(|(_, a)| {
            a.owner.is_some()
                && a.status().is_open_for_delivery()
                && !a.is_overdue(today)
                && a.confidence != Some(plait_shared::Confidence::OffTrack)
        })
        .map(|(id, a)| (id.clone(), a.id.clone(), a.owner.clone().unwrap()))
        .expect("an action on track");
    let owner_id = owner.clone();
    let owner = server.sign_in(owner.as_str(), PASSWORD).await;
    let mut device = crate::access::client(&server, &owner, plan.as_str()).await;
    let moved_at = crate::access::now();
    device
        .edit(|doc| {
            PlanDoc::new(doc.clone())
                .append(
                    &mut doc.transact_mut(),
                    &action,
                    &plait_shared::LogEntry::Progress(plait_shared::ProgressUpdate {
                        id: plait_shared::EntryId::new("u-off-track").unwrap(),
                        text: "Contractor withdrew".into(),
                        by: owner_id.clone(),
                        at: moved_at,
                        confidence: Some(plait_shared::Confidence::OffTrack),
                    }),
                )
                .unwrap();
        })
        .await;
    crate::access::settled(&mut device, 0).await;
    // The report "as at" version 1's moment has version 1's colours (the
    // confidence is logged), and now it has the new one.
    let colours_as_at = |at: Option<plait_shared::UnixMillis>| {
        let server = &server;
        async move {
            let query = at.map(|at| format!("&as_at={}", at.0)).unwrap_or_default();
            demo_report(server, &query).await["metrics"]["all"]["by_colour"].clone()
        }
    };
    let total = |colours: &serde_json::Value, colour: &str| colours[colour].as_u64().unwrap_or(0);
    let then = colours_as_at(Some(first.issued_at)).await;
    let now = colours_as_at(None).await;
    assert_eq!(total(&now, "red"), total(&then, "red") + 1, "{then} {now}");
    assert_eq!(
        total(&now, "green") + 1,
        total(&then, "green"),
        "{then} {now}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second: IssuedPaper = issue(&office, &words).await.unwrap().json().await.unwrap();
    assert_eq!(second.version, 2);
    let (programme, _) = read_all().await;
    // Version 1 is what it was; version 2 has the new figures.
    assert_eq!(parse(&programme.issued[&meeting][&1]), Some(first.clone()));
    assert_eq!(parse(&programme.issued[&meeting][&2]), Some(second.clone()));
    assert_ne!(first.body.exceptions_in_all, second.body.exceptions_in_all);
}

/// The demo's board report as JSON, counting from the start (`since=0`),
/// with `query` added.
async fn demo_report(server: &TestServer, query: &str) -> serde_json::Value {
    server
        .get(&format!(
            "/api/programmes/demo/report?format=json&since=0{query}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A programme and its plans, as the server holds them.
async fn held(
    server: &TestServer,
    programme: &str,
) -> (
    plait_shared::ProgrammeView,
    Vec<(DocId, plait_shared::PlanView)>,
) {
    let doc = fetch(server, programme).await;
    let view = ProgrammeDoc::new(doc.clone()).read(&doc.transact());
    let mut plans = Vec::new();
    for id in view.plans.keys() {
        let doc = fetch(server, id.as_str()).await;
        plans.push((id.clone(), PlanDoc::new(doc.clone()).read(&doc.transact())));
    }
    (view, plans)
}
