//! The foundation's server: health, whole documents over HTTP, the demo
//! programme and the web client's caching rules.

use plait_shared::{
    new_doc, Date, DocId, PlanDoc, ProgrammeDoc, ProgrammeMetrics, Status, UnixMillis,
};
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

use crate::support::{client_dir, TestServer};

async fn fetch_doc(server: &TestServer, id: &str) -> yrs::Doc {
    let response = server.get(&format!("/api/docs/{id}")).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET /api/docs/{id}");
    let bytes = response.bytes().await.unwrap();
    let doc = new_doc();
    doc.transact_mut()
        .apply_update(Update::decode_v1(&bytes).unwrap())
        .unwrap();
    doc
}

#[tokio::test]
async fn healthz_answers() {
    let server = TestServer::start_with_demo().await;
    let response = server.get("/healthz").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn the_demo_programme_is_served_and_counts_as_the_fixture() {
    let server = TestServer::start_with_demo().await;
    let programme = ProgrammeDoc::new(fetch_doc(&server, "demo").await);
    let view = programme.read(&programme.doc().transact());
    assert_eq!(view.plans.len(), 8);
    let mut plans = Vec::new();
    for id in view.plans.keys() {
        let plan = PlanDoc::new(fetch_doc(&server, id.as_str()).await);
        plans.push((DocId::clone(id), plan.read(&plan.doc().transact())));
    }
    let m = ProgrammeMetrics::compute(&view, &plans, Date::from_ymd(2022, 1, 1).unwrap());
    assert_eq!(m.all.total, 338);
    assert_eq!(
        m.by_kind[&plait_shared::Group::Of(plait_shared::FindingKind::MustDo)].total,
        234
    );
    assert_eq!(
        m.by_kind[&plait_shared::Group::Of(plait_shared::FindingKind::ShouldDo)].total,
        92
    );
    // The demo's history takes every action to the tracker's status
    // through the workflow: nothing is merely imported.
    let status = |s: Status| m.all.by_status[&s];
    assert_eq!(status(Status::Closed), 79);
    assert_eq!(status(Status::Embedded), 6);
    assert_eq!(status(Status::EvidenceAccepted), 25);
    // The tracker's 27 proposed for closure: half of them (by reference)
    // endorsed by their executive lead already.
    assert_eq!(status(Status::CompletionProposed), 14);
    assert_eq!(status(Status::Endorsed), 13);
    assert_eq!(status(Status::InProgress), 147);
    assert_eq!(status(Status::Agreed), 51);
    assert_eq!(status(Status::Reopened), 3);
    assert_eq!(status(Status::Imported), 0);
    // Every accepted, closed or embedded action has the assurance its
    // validator recorded in the accepting verdict (the demo's: substantial
    // or reasonable), and the report counts them by level.
    assert_eq!(m.assurance.values().sum::<usize>(), 25 + 79 + 6);
    assert!(
        m.assurance.keys().all(|level| matches!(
            level,
            plait_shared::Group::Of(
                plait_shared::Assurance::Substantial | plait_shared::Assurance::Reasonable
            )
        )),
        "{:?}",
        m.assurance
    );
    // "Must Dos met": the requirements whose every action is closed or
    // embedded in the tracker (9 of 108; 2 of them embedded throughout).
    let must = m.requirements[&plait_shared::Group::Of(plait_shared::FindingKind::MustDo)];
    assert_eq!((must.total, must.met, must.embedded), (108, 9, 2));
    // Month five of a programme: the trend shows the work moving over the
    // months since the launch (agreed first, closures later), and the
    // report has re-audits due and extension requests waiting.
    let today = UnixMillis(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
    )
    .date();
    let report =
        plait_shared::report::BoardReport::compute(&view, &plans, today, UnixMillis(0), 12);
    let at = |month: usize, status: Status| report.trend[month].by_status[&status];
    // The trend begins with the launch's month (the months before it,
    // when nothing had happened, are left out) and ends with today's: six
    // months at month five, seven from the 1st to the 14th, when the
    // tracker's "as at" day (the 15th) of this month is still to come.
    let calendar = plait_server::demo::Calendar::on(today);
    let month = |d: plait_shared::Date| format!("{:04}-{:02}", d.ymd().0, d.ymd().1);
    assert_eq!(
        report.trend[0].month,
        month(calendar.launch),
        "{:?}",
        report.trend
    );
    assert_eq!(
        report.trend.last().map(|p| p.month.clone()),
        Some(month(today))
    );
    let expected = if today.ymd().2 < calendar.as_at.ymd().2 {
        7
    } else {
        6
    };
    assert_eq!(report.trend.len(), expected, "{:?}", report.trend);
    let last = report.trend.len() - 1;
    assert!(
        at(0, Status::Agreed) + at(0, Status::InProgress) > 0,
        "the launch"
    );
    assert!(at(last - 4, Status::Agreed) + at(last - 4, Status::InProgress) > 100);
    assert!(at(last, Status::Closed) > at(last - 3, Status::Closed));
    assert!(report.reaudits_due > 0, "closed actions have re-audits due");
    assert!(report.extension_requests.iter().any(|r| r.answer.is_none()));
    // Every closure has its decision and re-audits; every proposal its
    // evidence.
    for (_, plan) in &plans {
        for action in plan.actions.values() {
            if matches!(action.status(), Status::Closed | Status::Embedded) {
                assert!(!action.decisions.is_empty(), "{}", action.reference);
                assert_eq!(action.sustainment_checks.len(), 2, "{}", action.reference);
            }
            if action.status() >= Status::CompletionProposed && action.status() != Status::Imported
            {
                assert!(!action.evidence.is_empty(), "{}", action.reference);
            }
        }
    }
}

/// The demo's phase 2 (issue 17) links to the programme's real findings
/// and actions: every root cause explains findings that exist, every
/// change idea with actions names actions that exist, the diagram is one
/// tree with nothing unplaced, and the exit criteria are partly met.
#[tokio::test]
async fn the_demos_phase_two_links_to_real_findings_and_actions() {
    use plait_shared::improvement::Node;
    let server = TestServer::start_with_demo().await;
    let programme = ProgrammeDoc::new(fetch_doc(&server, "demo").await);
    let view = programme.read(&programme.doc().transact());
    assert!(view.problems.is_empty(), "{:?}", view.problems);
    let mut plans = std::collections::BTreeMap::new();
    for id in view.plans.keys() {
        let plan = PlanDoc::new(fetch_doc(&server, id.as_str()).await);
        plans.insert(id.clone(), plan.read(&plan.doc().transact()));
    }
    let exists = |node: &Node| match node {
        Node::Finding(plan, id) => plans.get(plan).is_some_and(|p| p.findings.contains_key(id)),
        Node::Action(plan, id) => plans.get(plan).is_some_and(|p| p.actions.contains_key(id)),
        Node::Measure(id) => view.measures.contains_key(id),
        _ => false,
    };
    assert_eq!(view.improvement.root_causes.len(), 4);
    for id in view.improvement.root_causes.keys() {
        let findings = plait_shared::phase2::linked_from(&view, &Node::RootCause(id.clone()));
        assert!(findings.len() >= 4, "{id}: {findings:?}");
        assert!(findings.iter().all(&exists), "{id}: {findings:?}");
    }
    let trees = plait_shared::phase2::diagrams(&view);
    assert_eq!(trees.len(), 1);
    assert_eq!(trees[0].walk().len(), 11);
    assert!(plait_shared::phase2::unplaced(&view).is_empty());
    let mut actions = 0;
    for node in trees[0].walk() {
        for to in plait_shared::phase2::linked_from(&view, &Node::Driver(node.id.clone())) {
            assert!(exists(&to), "{}: {to:?}", node.id);
            actions += usize::from(matches!(to, Node::Action(..)));
        }
    }
    assert_eq!(actions, 4);
    assert_eq!(plait_shared::phase2::adopted(&view).len(), 1);
    let ready = plait_shared::phase2::readiness(&view);
    assert_eq!((ready.met, ready.partly, ready.total), (1, 2, 5));
    assert_eq!(view.measures.len(), 2);
}

#[tokio::test]
async fn the_demo_survives_a_restart_and_is_not_seeded_twice() {
    let server = TestServer::start_with_demo().await;
    let before = server
        .get("/api/docs/demo")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, true, |_| {}).await;
    let after = server
        .get("/api/docs/demo")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        before, after,
        "the stored programme is the same document, not a new seed"
    );
}

#[tokio::test]
async fn bad_and_unknown_document_ids() {
    let server = TestServer::start_with_demo().await;
    let bad = server.get("/api/docs/not%20valid").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("invalid document id"));
    let long = server
        .get(&format!("/api/docs/{}", "a".repeat(129)))
        .send()
        .await
        .unwrap();
    assert_eq!(long.status(), 400);
    let unknown = server.get("/api/docs/no-such-doc").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn the_client_is_served_with_the_right_caching() {
    let index = client_dir().join("index.html");
    assert!(
        index.exists(),
        "build the client first (`trunk build --release`); the test command does"
    );
    let server = TestServer::start_with_demo().await;
    let page = server.get("/").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    // The CSP forbids inline scripts: every script is a file of this origin.
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(
            open.contains("src=\"/"),
            "an inline script in index.html: <script{open}>"
        );
    }
    let boot = html
        .split('"')
        .find(|s| s.starts_with("/boot-") && s.ends_with(".js"))
        .expect("index.html loads the wasm through /boot-HASH.js");
    let boot = server.get(boot).send().await.unwrap();
    assert_eq!(boot.status(), 200);
    assert_eq!(
        boot.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let wasm = html
        .split('"')
        .find(|s| s.ends_with("_bg.wasm"))
        .expect("index.html names the wasm file");
    let asset = server.get(wasm).send().await.unwrap();
    assert_eq!(asset.status(), 200);
    let gzipped = server
        .get(wasm)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        gzipped.headers()["content-encoding"],
        "gzip",
        "assets are compressed"
    );
    // Brotli when the browser takes it: the build's own copy, sent as is.
    let brotli = server
        .get(wasm)
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(brotli.headers()["content-type"], "application/wasm");
    let precompressed = std::fs::read(client_dir().join(format!("{}.br", &wasm[1..]))).unwrap();
    assert_eq!(
        brotli.bytes().await.unwrap().as_ref(),
        precompressed.as_slice()
    );
    // Every chunk the page lists for the service worker is there, as wasm,
    // cached for good.
    let chunks = html
        .split("<meta name=\"plait-chunks\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("index.html lists the wasm chunks");
    let chunks: Vec<&str> = chunks.split(' ').collect();
    assert!(chunks.len() >= 5, "the client is split: {chunks:?}");
    for chunk in chunks {
        let response = server.get(chunk).send().await.unwrap();
        assert_eq!(response.status(), 200, "{chunk}");
        assert_eq!(response.headers()["content-type"], "application/wasm");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{chunk}"
        );
    }
    assert_eq!(asset.headers()["content-type"], "application/wasm");
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // A missing file is a 404, not the app's page under an immutable name.
    let gone = server
        .get("/chunk_3-0123456789abcdef.wasm")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    // A page the client routes itself still gets the app, never cached.
    let deep = server.get("/programme/actions").send().await.unwrap();
    assert_eq!(deep.status(), 200);
    assert_eq!(deep.headers()["cache-control"], "no-cache");
}
