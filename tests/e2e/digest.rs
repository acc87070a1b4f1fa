//! The weekly digest by e-mail (issue 20, item 3), against a real mail
//! server the tests start (aiosmtpd, `smtp_sink.py`, requiring STARTTLS
//! with a certificate a test certificate authority signed): each person
//! gets the digest `plait_shared::digest` computes for them, over
//! STARTTLS, at the programme's day and time (UK), once a week whatever
//! restarts (and on three nodes, once across them); unsubscribed people
//! get none; on demand, now; a mail server without STARTTLS gets nothing.
//! The scheduler reads a clock the tests set by hand.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use plait_server::clock::Clock;
use plait_server::config::SmtpSettings;
use plait_server::demo::PASSWORD;
use plait_server::Config;
use plait_shared::api::{DigestChoice, DigestSent, SetDigest};
use plait_shared::digest::{digest_for, from_london, london, Digest, Schedule};
use plait_shared::{
    Date, DocId, PlanDoc, PlanView, ProgrammeDoc, ProgrammeView, Role, UnixMillis, Weekday,
};
use serde_json::Value;
use yrs::{Map, Transact};

use crate::support::{SyncClient, TestServer, PATIENCE};

/// Where the digest's links point in these tests.
const PUBLIC_URL: &str = "https://plait.test";

/// The demo's people the tests give addresses to, with their roles.
const PEOPLE: [(&str, Role); 6] = [
    ("programme.office", Role::Admin),
    ("chief.nurse", Role::Lead),
    ("d.hughes", Role::Contributor),
    ("compliance", Role::Validator),
    ("qsc.chair", Role::Approver),
    ("board", Role::Viewer),
];

fn address(user: &str) -> String {
    format!("{user}@trust.test")
}

/// A test certificate authority and a certificate it signed for
/// 127.0.0.1 and localhost (openssl's command line).
struct Certs {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Certs {
    fn make() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Plait test CA",
        ]);
        openssl(d, &ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        openssl(d, &csr);
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "cert.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        );
        Certs {
            ca: d.join("ca.pem"),
            cert: d.join("cert.pem"),
            key: d.join("key.pem"),
            _dir: dir,
        }
    }
}

/// A running `smtp_sink.py`: every message it takes, as JSON files.
struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Sink {
    /// Starts the sink: requiring STARTTLS, or (`starttls` false) with no
    /// TLS at all.
    fn start(certs: &Certs, starttls: bool) -> Sink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let root = crate::ywebsocket::repo_root();
        let mut child = Command::new("python3")
            .arg(root.join("tests/e2e/smtp_sink.py"))
            .arg(port.to_string())
            .arg(&certs.cert)
            .arg(&certs.key)
            .arg(dir.path())
            .arg(if starttls { "starttls" } else { "plain" })
            .env("PYTHONPATH", root.join("tools/python"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs (aiosmtpd is installed by scripts/setup into tools/python)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the mail server started");
        Sink { child, dir, port }
    }

    /// Every message taken so far, oldest first.
    fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits until at least `n` messages have come, then a moment more
    /// (a dozen rounds of the scheduler) for any that should not.
    async fn settle(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE * 3;
        while self.messages().len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} messages came",
                self.messages().len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.messages()
    }

    /// The messages to `user`.
    fn to(&self, user: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["rcpt_tos"][0] == address(user))
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Mail settings for a test server: `sink`'s (trusting the test CA), the
/// scheduler every 100 ms on `clock`.
fn tune(sink: Option<(&Sink, &Certs)>, clock: &Clock) -> impl Fn(&mut Config) + Clone {
    let smtp = sink.map(|(sink, certs)| {
        let mut smtp = SmtpSettings::new("127.0.0.1", "Plait <plait@trust.test>");
        smtp.port = sink.port;
        smtp.ca_pem = Some(std::fs::read(&certs.ca).unwrap());
        smtp.timeout = Duration::from_secs(10);
        smtp
    });
    let clock = clock.clone();
    move |config: &mut Config| {
        config.mail.smtp = smtp.clone();
        config.mail.public_url = PUBLIC_URL.into();
        config.mail.check_every = Duration::from_millis(100);
        config.mail.clock = clock.clone();
    }
}

/// Gives each of `users` an address.
fn addresses(server: &TestServer, users: &[&str]) {
    for user in users {
        server
            .state
            .accounts
            .set_email(user, Some(&address(user)))
            .unwrap();
    }
}

/// This week's Monday (UK).
fn this_monday() -> Date {
    let today = london(plait_server::clock::now()).date;
    today.add_days(-i64::from(today.weekday()))
}

/// A moment `minutes` after the UK's `minute` past midnight of `day`.
fn at(day: Date, minute: u16, seconds: i64) -> UnixMillis {
    UnixMillis(from_london(day, minute).0 + seconds * 1000)
}

/// The demo programme and its plans, as the server holds them.
async fn views(server: &TestServer) -> (ProgrammeView, Vec<(DocId, PlanView)>) {
    let id = DocId::new("demo").unwrap();
    let lease = server.state.registry.lease(&id).await.unwrap();
    let programme = {
        let state = lease.state().lock().await;
        let doc = state.awareness.doc();
        let typed = ProgrammeDoc::new(doc.clone());
        let txn = doc.transact();
        let view = typed.read(&txn);
        drop(txn);
        view
    };
    let mut plans = Vec::new();
    for plan in programme.plans.keys() {
        let lease = server.state.registry.lease(plan).await.unwrap();
        let state = lease.state().lock().await;
        let doc = state.awareness.doc();
        let typed = PlanDoc::new(doc.clone());
        let txn = doc.transact();
        plans.push((plan.clone(), typed.read(&txn)));
    }
    (programme, plans)
}

/// Each person's digest on `day`, computed from the server's documents.
async fn expected(server: &TestServer, day: Date) -> Vec<(&'static str, Digest)> {
    let (programme, plans) = views(server).await;
    let demo = DocId::new("demo").unwrap();
    PEOPLE
        .iter()
        .map(|(user, role)| {
            (
                *user,
                digest_for(&demo, user, *role, programme.governance, &plans, day),
            )
        })
        .collect()
}

/// Checks `message` is `digest`, for `user`, as the tests' server sends it.
fn check_message(message: &Value, user: &str, digest: &Digest) {
    assert_eq!(message["tls"], true, "came over STARTTLS");
    assert_eq!(message["rcpt_tos"][0], address(user));
    assert_eq!(message["content_type"], "multipart/alternative");
    let unsubscribe = message["list_unsubscribe"].as_str().unwrap();
    assert!(
        unsubscribe.starts_with(&format!(
            "<{PUBLIC_URL}/api/digest/unsubscribe?user={user}&token="
        )),
        "{unsubscribe}"
    );
    assert_eq!(
        message["list_unsubscribe_post"],
        "List-Unsubscribe=One-Click"
    );
    let subject = message["subject"].as_str().unwrap();
    assert!(
        subject.contains(&format!("{} ", digest.count())) || digest.count() == 1,
        "{subject}"
    );
    // Lines end CRLF on the wire.
    let text = message["text"].as_str().unwrap().replace("\r\n", "\n");
    let html = message["html"].as_str().unwrap();
    for section in &digest.sections {
        assert!(
            text.contains(section.heading),
            "{}: {text}",
            section.heading
        );
        assert!(
            text.contains(&format!(
                "{} ({})",
                section.heading,
                section.items.len() + section.more
            )),
            "{text}"
        );
        for item in &section.items {
            assert!(
                text.contains(&format!("- {} {}\n", item.reference, item.title)),
                "{item:?} in {text}"
            );
            assert!(text.contains(&format!("{PUBLIC_URL}{}", item.path)));
            assert!(html.contains(&format!("href=\"{PUBLIC_URL}{}\"", item.path)));
        }
    }
}

/// Waits `rounds` of the scheduler with nothing expected to happen.
async fn quiet() {
    tokio::time::sleep(Duration::from_millis(1200)).await;
}

/// The weekly digest arrives over STARTTLS for each person with something
/// to do, at the programme's time (Monday 07:00 unless set), with the
/// right items; never twice in a week, after a restart or across nodes;
/// again the next week.
#[tokio::test]
async fn each_person_gets_their_digest_once_a_week_over_starttls() {
    let certs = Certs::make();
    let sink = Sink::start(&certs, true);
    let monday = this_monday();
    let clock = Clock::fixed(at(monday, 7 * 60, -60));
    let settings = tune(Some((&sink, &certs)), &clock);
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), true, settings.clone()).await;
    let users: Vec<&str> = PEOPLE.iter().map(|(u, _)| *u).collect();
    addresses(&server, &users);
    quiet().await;
    assert!(sink.messages().is_empty(), "nothing before Monday 07:00");

    clock.set(at(monday, 7 * 60, 30));
    let digests = expected(&server, monday).await;
    let due: Vec<&(&str, Digest)> = digests.iter().filter(|(_, d)| !d.is_empty()).collect();
    assert!(due.len() >= 4, "the demo has work for most: {digests:?}");
    let got = sink.settle(due.len()).await;
    assert_eq!(got.len(), due.len(), "one each, across every node");
    for (user, digest) in &due {
        let theirs = sink.to(user);
        assert_eq!(theirs.len(), 1, "{user}");
        check_message(&theirs[0], user, digest);
    }
    // The viewer has nothing to do: no e-mail.
    assert!(digests.iter().any(|(u, d)| *u == "board" && d.is_empty()));
    assert!(sink.to("board").is_empty());
    assert_eq!(server.metric("digests_sent_total").await, due.len() as f64);

    // D. Hughes's own actions: those due in the next 14 days or overdue,
    // read straight from the plans, and nothing anyone wrote.
    let (_, plans) = views(&server).await;
    let text = sink.to("d.hughes")[0]["text"].as_str().unwrap().to_owned();
    let mut own = 0;
    for (_, plan) in &plans {
        for action in plan.actions.values() {
            for update in &action.updates {
                if update.text.len() > 12 {
                    assert!(!text.contains(update.text.trim()), "{}", update.text);
                }
            }
            let theirs = action
                .owner
                .as_ref()
                .is_some_and(|o| o.as_str() == "d.hughes");
            let due_soon = action.due_current.is_some_and(|d| d <= monday.add_days(14));
            if theirs && due_soon && action.status().is_open_for_delivery() {
                own += 1;
                assert!(
                    text.contains(&format!("- {} ", action.reference)),
                    "{}",
                    action.reference
                );
            }
        }
    }
    assert!(own > 0, "D. Hughes has actions due");
    assert!(text.contains("Your actions due in the next 14 days or overdue"));

    // Restarted (every node) within the day: nothing again.
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, false, settings.clone()).await;
    quiet().await;
    assert_eq!(
        sink.messages().len(),
        due.len(),
        "not again after a restart"
    );

    // The next week, again.
    clock.set(at(monday.add_days(7), 7 * 60, 5));
    let again = sink.settle(due.len() + 1).await;
    assert!(again.len() > due.len());
    assert_eq!(sink.to("d.hughes").len(), 2);
    server.stop().await;
}

/// The day and time are the programme's setting, in UK time, changed by
/// its programme office like any setting: checked by the admission.
#[tokio::test]
async fn the_digest_goes_on_the_programmes_day_and_time() {
    let certs = Certs::make();
    let sink = Sink::start(&certs, true);
    let monday = this_monday();
    // The Sunday before: no week is due.
    let clock = Clock::fixed(at(monday.add_days(-1), 12 * 60, 0));
    let server = TestServer::start_in(
        tempfile::tempdir().unwrap(),
        true,
        tune(Some((&sink, &certs)), &clock),
    )
    .await;
    addresses(&server, &["d.hughes"]);
    let office = server.sign_in("programme.office", PASSWORD).await;
    let mut client =
        SyncClient::connect_as(&server, &office, "demo", true, plait_shared::new_doc()).await;
    client.synced().await;
    let wednesday = Schedule {
        day: Weekday::Wednesday,
        minute: 16 * 60 + 30,
    };
    client
        .edit(|doc| {
            ProgrammeDoc::new(doc.clone()).set_digest(&mut doc.transact_mut(), wednesday);
        })
        .await;
    client.all_durable().await;
    // A time that is not one is refused, and the setting stays.
    client
        .edit(|doc| {
            let programme = doc.get_or_insert_map("programme");
            programme.insert(&mut doc.transact_mut(), "digest_time", "25:00");
        })
        .await;
    client
        .until("the refusal", |_, seen| !seen.refused.is_empty())
        .await;
    let refused = client.seen.lock().unwrap().refused.clone();
    assert!(
        refused[0].to_string().contains("digest_time"),
        "{refused:?}"
    );
    // A viewer may not change it.
    let board = server.sign_in("board", PASSWORD).await;
    let mut viewer =
        SyncClient::connect_as(&server, &board, "demo", true, plait_shared::new_doc()).await;
    viewer.synced().await;
    viewer
        .edit(|doc| {
            let programme = doc.get_or_insert_map("programme");
            programme.insert(&mut doc.transact_mut(), "digest_day", "sunday");
        })
        .await;
    viewer
        .until("the viewer's refusal", |_, seen| !seen.refused.is_empty())
        .await;
    let (programme, _) = views(&server).await;
    assert_eq!(programme.digest, wednesday);

    clock.set(at(monday, 7 * 60, 5));
    quiet().await;
    assert!(sink.messages().is_empty(), "not on Monday any more");
    clock.set(at(monday.add_days(2), 16 * 60 + 29, 0));
    quiet().await;
    assert!(sink.messages().is_empty(), "not before 16:30");
    clock.set(at(monday.add_days(2), 16 * 60 + 30, 1));
    let got = sink.settle(1).await;
    assert_eq!(got.len(), 1);
    assert!(got[0]["text"]
        .as_str()
        .unwrap()
        .contains("every Wednesday at 16:30 (UK time)"));
    client.close().await;
    viewer.close().await;
    server.stop().await;
}

async fn choice(server: &TestServer, token: &str) -> DigestChoice {
    server.get_json("/api/me/digest", token).await
}

/// Unsubscribing, on the account or by the e-mail's one-click link,
/// stops the weekly digest and nothing else; on demand, a person gets
/// their list now, once a minute at most.
#[tokio::test]
async fn unsubscribed_people_get_nothing_and_anyone_may_ask_for_theirs_now() {
    let certs = Certs::make();
    let sink = Sink::start(&certs, true);
    let monday = this_monday();
    let clock = Clock::fixed(at(monday.add_days(-1), 12 * 60, 0));
    let server = TestServer::start_in(
        tempfile::tempdir().unwrap(),
        true,
        tune(Some((&sink, &certs)), &clock),
    )
    .await;
    addresses(&server, &["d.hughes", "chief.nurse", "compliance"]);
    let http = reqwest::Client::new();

    // On the account page: D. Hughes unsubscribes.
    let hughes = server.sign_in("d.hughes", PASSWORD).await;
    let before = choice(&server, &hughes).await;
    assert_eq!(
        before,
        DigestChoice {
            subscribed: true,
            email: Some(address("d.hughes")),
            mail_configured: true
        }
    );
    let me_before: Value = server.get_json("/api/me", &hughes).await;
    let response = http
        .put(server.url("/api/me/digest"))
        .bearer_auth(&hughes)
        .json(&SetDigest { subscribed: false })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(!choice(&server, &hughes).await.subscribed);
    let me_after: Value = server.get_json("/api/me", &hughes).await;
    assert_eq!(
        me_before["programmes"], me_after["programmes"],
        "nothing else changes"
    );

    // On demand: the Chief Nurse's list, now.
    let nurse = server.sign_in("chief.nurse", PASSWORD).await;
    let send = || {
        http.post(server.url("/api/programmes/demo/digest"))
            .bearer_auth(&nurse)
            .send()
    };
    let response = send().await.unwrap();
    assert_eq!(response.status(), 200);
    let sent: DigestSent = response.json().await.unwrap();
    assert!(sent.sent && sent.items > 0, "{sent:?}");
    assert_eq!(sent.to, address("chief.nurse"));
    let got = sink.settle(1).await;
    assert_eq!(got.len(), 1);
    let today = london(clock.now()).date;
    let nurse_digest = expected(&server, today)
        .await
        .into_iter()
        .find(|(u, _)| *u == "chief.nurse")
        .unwrap()
        .1;
    check_message(&got[0], "chief.nurse", &nurse_digest);
    assert!(got[0]["text"]
        .as_str()
        .unwrap()
        .contains("You asked for this list"));
    // Once a minute.
    let again = send().await.unwrap();
    assert_eq!(again.status(), 429);
    assert!(again.headers().contains_key("retry-after"));

    // The e-mail's link: opening it asks (a link scanner changes nothing),
    // posting it (the button, or the mail program's one click) unsubscribes.
    let link = got[0]["list_unsubscribe"]
        .as_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .replace(PUBLIC_URL, &server.url(""));
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    assert!(
        choice(&server, &nurse).await.subscribed,
        "opening it changes nothing"
    );
    let wrong = http
        .post(link.replace("token=", "token=x"))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    assert!(choice(&server, &nurse).await.subscribed);
    let done = http
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(!choice(&server, &nurse).await.subscribed);

    // Monday: only the validator, still subscribed, gets the weekly one.
    clock.set(at(monday, 7 * 60, 1));
    let got = sink.settle(2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1]["rcpt_tos"][0], address("compliance"));
    assert!(sink.to("d.hughes").is_empty());
    assert_eq!(sink.to("chief.nurse").len(), 1, "only the one asked for");

    // Subscribed again, and nothing else moved.
    let response = http
        .put(server.url("/api/me/digest"))
        .bearer_auth(&hughes)
        .json(&SetDigest { subscribed: true })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(choice(&server, &hughes).await.subscribed);
    server.stop().await;
}

/// A mail server that does not offer STARTTLS is sent nothing (the digest
/// is retried, and arrives once a proper one is configured); no mail
/// server, or no address, is said plainly.
#[tokio::test]
async fn nothing_goes_without_starttls_and_refusals_are_retried() {
    let certs = Certs::make();
    let plain = Sink::start(&certs, false);
    let monday = this_monday();
    let clock = Clock::fixed(at(monday, 7 * 60, 10));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir, true, tune(Some((&plain, &certs)), &clock)).await;
    addresses(&server, &["d.hughes"]);
    let hughes = server.sign_in("d.hughes", PASSWORD).await;
    let http = reqwest::Client::new();
    let response = http
        .post(server.url("/api/programmes/demo/digest"))
        .bearer_auth(&hughes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert!(response.text().await.unwrap().contains("mail server"));
    // The scheduler tries too, and is refused each round.
    quiet().await;
    assert!(plain.messages().is_empty(), "nothing over plain SMTP");
    assert!(server.metric("digests_failed_total").await >= 2.0);
    // Without an address: said so.
    let board = server.sign_in("board", PASSWORD).await;
    let response = http
        .post(server.url("/api/programmes/demo/digest"))
        .bearer_auth(&board)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);

    // Restarted with a mail server that speaks STARTTLS: the released
    // claim is tried again, and the digest arrives, once.
    let dir = server.stop().await;
    let tls = Sink::start(&certs, true);
    let server = TestServer::start_in(dir, false, tune(Some((&tls, &certs)), &clock)).await;
    let got = tls.settle(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["rcpt_tos"][0], address("d.hughes"));
    assert_eq!(got[0]["tls"], true);
    server.stop().await;

    // No mail server at all: no digests, and asking says why.
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), true, tune(None, &clock)).await;
    addresses(&server, &["d.hughes"]);
    let hughes = server.sign_in("d.hughes", PASSWORD).await;
    assert!(!choice(&server, &hughes).await.mail_configured);
    let response = http
        .post(server.url("/api/programmes/demo/digest"))
        .bearer_auth(&hughes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("sends no e-mail"));
    server.stop().await;
}
