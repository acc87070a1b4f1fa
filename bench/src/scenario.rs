//! The scenarios: updates (D × C × U), join storm, idle connections; and
//! the preload that makes documents large first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant as Deadline;
use yrs::{Map, ReadTxn, StateVector, Transact};

use crate::client::{self, now_us, Arrival, Client};
use crate::procfs::{Sample, Sampler};
use crate::report::Report;
use crate::RunArgs;

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The `p`-th percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs the scenario `args` asks for.
pub async fn run(args: &RunArgs, token: &str, fds: u64, limit: Duration) -> anyhow::Result<Report> {
    let deadline = Deadline::now() + limit;
    let mut report = Report::new(args, fds);
    let sampler = (!args.server_pid.is_empty()).then(|| {
        Sampler::start(
            args.server_pid.iter().map(ToString::to_string).collect(),
            Duration::from_millis(50),
        )
    });
    if let Some(sampler) = &sampler {
        let Some(before) = sampler.now() else {
            return Err(anyhow!("no process {:?} to measure", args.server_pid));
        };
        // The peak reported is the load's (see `procfs::reset_peak`); the
        // peak before it is kept beside it.
        report.metric("server_rss_peak_before_mb", mib(before.hwm_kib));
        report.metric("server_rss_start_mb", mib(before.rss_kib));
        for pid in &args.server_pid {
            if let Err(e) = crate::procfs::reset_peak(&pid.to_string()) {
                report.error(format!("cannot reset the peak memory of {pid}: {e}"));
            }
        }
    }
    let docs: Vec<String> = (0..args.docs)
        .map(|i| format!("{}-{i}", args.doc_prefix))
        .collect();
    let bench_start = crate::procfs::sample("self");

    let mut preloaded: HashMap<String, Vec<u8>> = HashMap::new();
    if let Some(size) = args.preload_bytes {
        let which = if args.join_storm {
            &docs[..1]
        } else {
            &docs[..]
        };
        let started = now_us();
        for doc in which {
            match preload(args, token, doc, size.0, deadline).await {
                Ok((bytes, sv)) => {
                    report.metric("preload_doc_mb", bytes as f64 / 1e6);
                    preloaded.insert(doc.clone(), sv);
                }
                Err(e) => report.error(format!("preloading {doc}: {e:#}")),
            }
        }
        report.metric("preload_ms", ms(now_us() - started));
        // Let the server finish what the preload started (a compaction of
        // the large document) before measuring.
        let settled = settle(sampler.as_ref(), deadline).await;
        report.metric("settle_ms", ms(settled));
        if let Some(sampler) = &sampler {
            if let Some(s) = sampler.now() {
                report.metric("server_rss_after_preload_mb", mib(s.rss_kib));
            }
        }
    }

    if report.error_count == 0 {
        if args.join_storm {
            storm(
                args,
                token,
                &docs[0],
                preloaded.get(&docs[0]),
                deadline,
                sampler.as_ref(),
                &mut report,
            )
            .await;
        } else if let Some(n) = args.idle {
            idle(
                args,
                token,
                &docs,
                n,
                deadline,
                sampler.as_ref(),
                &mut report,
            )
            .await;
        } else {
            updates(args, token, &docs, deadline, sampler.as_ref(), &mut report).await;
        }
    }

    if let Some(sampler) = &sampler {
        if let Some(end) = sampler.now() {
            report.metric("server_rss_end_mb", mib(end.rss_kib));
            report.metric("server_rss_peak_mb", mib(end.hwm_kib));
            report.metric("server_cpu_total_s", end.cpu_us as f64 / 1e6);
        }
        report.metric("server_rss_sampled_max_mb", mib(sampler.max_rss_kib()));
    }
    if let (Some(start), Some(end)) = (bench_start, crate::procfs::sample("self")) {
        report.metric(
            "bench_cpu_s",
            end.cpu_us.saturating_sub(start.cpu_us) as f64 / 1e6,
        );
        report.metric("bench_rss_peak_mb", mib(end.hwm_kib));
    }
    server_counters(args, &mut report).await;
    report.check_expectations();
    Ok(report)
}

/// Waits until the server is idle (under 5% of a core for 300 ms), at most
/// 30 s (a fixed second without its pid). Returns how long it took, in µs.
async fn settle(sampler: Option<&Sampler>, deadline: Deadline) -> u64 {
    let started = now_us();
    let Some(sampler) = sampler else {
        tokio::time::sleep(Duration::from_secs(1)).await;
        return now_us() - started;
    };
    let give_up = Deadline::now() + Duration::from_secs(30);
    let window = Duration::from_millis(300);
    let mut before = sampler.now();
    while Deadline::now() < give_up.min(deadline) {
        tokio::time::sleep(window).await;
        let now = sampler.now();
        let busy = match (before, now) {
            (Some(a), Some(b)) => b.cpu_us.saturating_sub(a.cpu_us),
            _ => 0,
        };
        before = now;
        if busy * 20 < window.as_micros() as u64 {
            break;
        }
    }
    now_us() - started
}

/// Copies a few of the server's `/metrics` counters into the report.
async fn server_counters(args: &RunArgs, report: &mut Report) {
    if args.ws_url.is_some() {
        return;
    }
    let url = format!("{}/metrics", args.url.trim_end_matches('/'));
    let mut request = reqwest::Client::new().get(&url);
    if let Some(token) = &args.metrics_token {
        request = request.bearer_auth(token);
    }
    let Ok(Ok(response)) = tokio::time::timeout(Duration::from_secs(5), request.send()).await
    else {
        return;
    };
    let Ok(text) = response.text().await else {
        return;
    };
    for name in [
        "updates_received_total",
        "updates_broadcast_total",
        "bytes_sent_total",
        "flushes_total",
        "flush_seconds_total",
        "flush_seconds_max",
        "compactions_total",
        "slow_disconnects_total",
        "rejected_connections_total",
        "connections",
        "loaded_docs",
    ] {
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("plait_{name} ")))
            .and_then(|v| v.trim().parse::<f64>().ok());
        if let Some(value) = value {
            report.metric(&format!("server_{name}"), value);
        }
    }
}

/// Grows `doc` by about `bytes` with entries of the root map `preload`,
/// sent in updates of at most 1 MiB, and waits until they are durable.
/// Returns the document's encoded size and state vector.
async fn preload(
    args: &RunArgs,
    token: &str,
    doc: &str,
    bytes: u64,
    deadline: Deadline,
) -> anyhow::Result<(usize, Vec<u8>)> {
    let url = client::sync_url(&args.url, doc, token, true);
    let mut client = Client::connect(&url, deadline).await?;
    while !client.synced() {
        if !client.next(deadline).await? {
            return Err(anyhow!("the connection ended before the initial sync"));
        }
    }
    let map = client.doc.get_or_insert_map("preload");
    let mut next = map.len(&client.doc.transact());
    let entry = args.preload_entry_bytes.max(16);
    let padding = "p".repeat(entry - 12);
    let mut sent = 0u64;
    while sent < bytes {
        let update = {
            let mut txn = client.doc.transact_mut();
            let mut batch = 0usize;
            while batch < args.preload_batch_bytes.max(1) && sent + (batch as u64) < bytes {
                map.insert(
                    &mut txn,
                    format!("p{next}"),
                    format!("{next:010}:{padding}"),
                );
                next += 1;
                batch += entry;
            }
            txn.encode_update_v1()
        };
        sent += update.len() as u64;
        client.send_update(update).await?;
    }
    while !client.all_durable() {
        if !client.next(deadline).await? {
            return Err(anyhow!(
                "the connection ended before the preload was durable"
            ));
        }
    }
    let (size, sv) = {
        let txn = client.doc.transact();
        (
            txn.encode_state_as_update_v1(&StateVector::default()).len(),
            client::canonical_sv(&txn.state_vector()),
        )
    };
    client.close().await;
    Ok((size, sv))
}

/// A client's encoded state vector, content digest and number of edits.
type Fingerprint = (Vec<u8>, u64, u32);

/// What one client of the updates scenario did.
#[derive(Debug, Default)]
struct Outcome {
    doc: usize,
    connect_sync_us: Option<u64>,
    sent: u32,
    first_send_us: Option<u64>,
    last_send_us: u64,
    arrivals: Vec<Arrival>,
    durable_at_us: Option<u64>,
    fingerprint: Option<Fingerprint>,
    refused: usize,
    error: Option<String>,
}

struct Spec {
    url: String,
    doc: usize,
    id: u32,
    updates: u32,
    period: Option<Duration>,
    padding: Arc<str>,
    expected_remote: usize,
    /// Wait for durable acknowledgements of every edit.
    durable: bool,
    deadline: Deadline,
}

async fn update_client(
    spec: Spec,
    synced: mpsc::UnboundedSender<Option<u64>>,
    mut go: watch::Receiver<bool>,
    permits: Arc<Semaphore>,
) -> Outcome {
    let mut out = Outcome {
        doc: spec.doc,
        ..Outcome::default()
    };
    let result = async {
        let started = now_us();
        let mut client = {
            let _permit = permits.acquire().await?;
            let mut client = Client::connect(&spec.url, spec.deadline).await?;
            while !client.synced() {
                if !client.next(spec.deadline).await? {
                    return Err(anyhow!("the connection ended before the initial sync"));
                }
            }
            client
        };
        let took = now_us() - started;
        out.connect_sync_us = Some(took);
        let _ = synced.send(Some(took));
        while !*go.borrow() {
            tokio::select! {
                changed = go.changed() => changed.map_err(|_| anyhow!("the run was abandoned"))?,
                frame = client::recv(&mut client.stream, spec.deadline) => match frame? {
                    Some(frame) => { client.process(frame).await?; }
                    None => return Err(anyhow!("the connection ended while waiting to start")),
                },
            }
        }
        // Spread paced clients over the period instead of in lockstep.
        let offset = spec.period.map_or(Duration::ZERO, |p| {
            p.mul_f64((f64::from(spec.id) * 0.618_033_988_7).fract())
        });
        // Unpaced sends must not wait on the timer (its resolution is 1 ms).
        let mut next_send = Deadline::now() + offset;
        let unpaced = spec.period.is_none();
        loop {
            let arrived = client.arrivals.lock().map(|a| a.len()).unwrap_or(0);
            if out.sent == spec.updates
                && out.durable_at_us.is_none()
                && (!spec.durable || client.all_durable())
            {
                out.durable_at_us = Some(now_us());
            }
            if out.sent == spec.updates
                && arrived >= spec.expected_remote
                && out.durable_at_us.is_some()
            {
                break;
            }
            let sending = out.sent < spec.updates;
            tokio::select! {
                biased;
                frame = client::recv(&mut client.stream, spec.deadline) => match frame? {
                    Some(frame) => { client.process(frame).await?; }
                    None => return Err(anyhow!("the connection ended during the run")),
                },
                () = pace(unpaced, next_send), if sending => {
                    let now = now_us();
                    out.first_send_us.get_or_insert(now);
                    client.edit(spec.id, out.sent, &spec.padding).await?;
                    out.sent += 1;
                    out.last_send_us = now_us();
                    if let Some(p) = spec.period {
                        next_send += p;
                    }
                }
            }
        }
        out.fingerprint = Some(client.fingerprint());
        out.refused = client.inbox.refused;
        out.arrivals =
            std::mem::take(&mut *client.arrivals.lock().map_err(|_| anyhow!("poisoned"))?);
        client.close().await;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    if let Err(e) = result {
        if out.connect_sync_us.is_none() {
            let _ = synced.send(None);
        }
        out.error = Some(format!("{e:#}"));
    }
    out
}

/// Ready at once when unpaced, else at `at`.
async fn pace(unpaced: bool, at: Deadline) {
    if !unpaced {
        tokio::time::sleep_until(at).await;
    }
}

/// D documents × C clients × U updates, paced or not.
async fn updates(
    args: &RunArgs,
    token: &str,
    docs: &[String],
    deadline: Deadline,
    sampler: Option<&Sampler>,
    report: &mut Report,
) {
    let per_doc = args.clients;
    let total = docs.len() * per_doc;
    let (synced_tx, mut synced_rx) = mpsc::unbounded_channel();
    let (go_tx, go_rx) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let padding: Arc<str> = "x".repeat(args.update_bytes).into();
    let period = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    let updates = u32::try_from(args.updates).unwrap_or(u32::MAX);
    let cpu_start = sampler.and_then(Sampler::now);
    let started = now_us();
    let mut tasks = Vec::with_capacity(total);
    for (d, doc) in docs.iter().enumerate() {
        for c in 0..per_doc {
            // Client c of each document on node c (of --url and --also-url).
            let node = match c % (1 + args.also_url.len()) {
                0 => &args.url,
                n => &args.also_url[n - 1],
            };
            let spec = Spec {
                url: args.doc_url(node, doc, token, args.durable()),
                doc: d,
                id: u32::try_from(d * per_doc + c).unwrap_or(u32::MAX),
                updates,
                period,
                padding: padding.clone(),
                expected_remote: (per_doc - 1) * args.updates,
                durable: args.durable(),
                deadline,
            };
            tasks.push(tokio::spawn(update_client(
                spec,
                synced_tx.clone(),
                go_rx.clone(),
                permits.clone(),
            )));
        }
    }
    drop(synced_tx);
    let mut answered = 0usize;
    let mut sync_times = Vec::with_capacity(total);
    while answered < total {
        match synced_rx.recv().await {
            Some(result) => {
                answered += 1;
                sync_times.extend(result);
            }
            None => break,
        }
    }
    let connected = sync_times.len();
    let all_synced = now_us();
    sync_times.sort_unstable();
    report.metric("clients", total as f64);
    report.metric("clients_synced", connected as f64);
    report.metric("connect_sync_ms", ms(all_synced - started));
    report.metric("connect_sync_p50_ms", ms(percentile(&sync_times, 50.0)));
    report.metric("connect_sync_max_ms", ms(percentile(&sync_times, 100.0)));
    let cpu_go = sampler.and_then(Sampler::now);
    let go = now_us();
    let _ = go_tx.send(true);

    let mut outcomes = Vec::with_capacity(total);
    for task in tasks {
        match task.await {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => report.error(format!("a client task failed: {e}")),
        }
    }
    let cpu_end = sampler.and_then(Sampler::now);
    let done = now_us();
    for o in &outcomes {
        if let Some(e) = &o.error {
            report.error(e.clone());
        }
    }

    // Fan-out: every delivery, and each edit until all others had it.
    let mut deliveries: Vec<u64> = Vec::new();
    let mut per_edit: HashMap<(u32, u32), (u64, usize)> = HashMap::new();
    let mut last_arrival = 0u64;
    for o in &outcomes {
        for a in &o.arrivals {
            deliveries.push(a.latency_us);
            last_arrival = last_arrival.max(a.at_us);
            let e = per_edit.entry((a.sender, a.seq)).or_insert((0, 0));
            e.0 = e.0.max(a.latency_us);
            e.1 += 1;
        }
    }
    deliveries.sort_unstable();
    let others = per_doc - 1;
    let mut fanout: Vec<u64> = per_edit
        .values()
        .filter(|(_, n)| *n >= others)
        .map(|(l, _)| *l)
        .collect();
    fanout.sort_unstable();
    let sent: u64 = outcomes.iter().map(|o| u64::from(o.sent)).sum();
    let expected_edits = if others > 0 { sent as usize } else { 0 };
    let incomplete = expected_edits.saturating_sub(fanout.len());
    if incomplete > 0 {
        report.error(format!(
            "{incomplete} edits did not reach every other client"
        ));
    }
    report.metric("updates_sent", sent as f64);
    report.metric("deliveries", deliveries.len() as f64);
    for (name, p) in [("p50", 50.0), ("p95", 95.0), ("p99", 99.0), ("max", 100.0)] {
        report.metric(&format!("fanout_{name}_ms"), ms(percentile(&fanout, p)));
        report.metric(
            &format!("delivery_{name}_ms"),
            ms(percentile(&deliveries, p)),
        );
    }
    let first_send = outcomes.iter().filter_map(|o| o.first_send_us).min();
    let last_send = outcomes.iter().map(|o| o.last_send_us).max().unwrap_or(0);
    if let Some(first) = first_send {
        let window = last_arrival.max(last_send).saturating_sub(first).max(1);
        report.metric("run_ms", ms(window));
        report.metric(
            "delivered_per_s",
            deliveries.len() as f64 / (window as f64 / 1e6),
        );
        let sending = last_send.saturating_sub(first).max(1);
        report.metric("sent_per_s", sent as f64 / (sending as f64 / 1e6));
    }

    // Durability: every client's every edit acknowledged as on disk.
    let durable = outcomes.len() == total && outcomes.iter().all(|o| o.durable_at_us.is_some());
    if args.durable() {
        report.check("all_durable", durable);
    } else {
        report.note("durable acknowledgements not asked for (--no-durable)".into());
    }
    if let Some(last) = outcomes.iter().filter_map(|o| o.durable_at_us).max() {
        report.metric("all_durable_ms", ms(last.saturating_sub(go)));
    }
    report.metric(
        "refused_notices",
        outcomes.iter().map(|o| o.refused).sum::<usize>() as f64,
    );

    // Convergence: every client of a document identical, with every edit.
    let mut by_doc: HashMap<usize, Vec<&Fingerprint>> = HashMap::new();
    for o in &outcomes {
        if let Some(f) = &o.fingerprint {
            by_doc.entry(o.doc).or_default().push(f);
        }
    }
    let want_entries = u32::try_from(per_doc * args.updates).unwrap_or(u32::MAX);
    let mut diverged = 0;
    for (d, name) in docs.iter().enumerate() {
        let prints = by_doc.get(&d).map(Vec::as_slice).unwrap_or_default();
        let same = prints.len() == per_doc
            && prints
                .iter()
                .all(|f| *f == prints[0] && f.2 == want_entries);
        if !same {
            diverged += 1;
            if diverged <= 3 {
                let detail: Vec<String> = prints
                    .iter()
                    .map(|f| format!("{} edits, digest {:x}, sv {:?}", f.2, f.1, f.0))
                    .collect();
                report.note(format!("{name} differs: {}", detail.join("; ")));
            }
        }
    }
    if diverged > 0 {
        report.error(format!("{diverged} documents did not converge"));
    }
    report.check("converged", diverged == 0);
    report.metric("docs_diverged", f64::from(diverged));

    if let (Some(go_cpu), Some(end_cpu)) = (cpu_go, cpu_end) {
        let cpu = end_cpu.cpu_us.saturating_sub(go_cpu.cpu_us);
        report.metric("server_cpu_run_s", cpu as f64 / 1e6);
        if sent > 0 {
            report.metric("server_cpu_us_per_update", cpu as f64 / sent as f64);
        }
    }
    if let (Some(start), Some(go_cpu)) = (cpu_start, cpu_go) {
        report.metric(
            "server_cpu_connect_s",
            go_cpu.cpu_us.saturating_sub(start.cpu_us) as f64 / 1e6,
        );
    }
    report.metric("total_ms", ms(done - started));
}

/// C clients join one (large) document at once.
#[allow(clippy::too_many_arguments)]
async fn storm(
    args: &RunArgs,
    token: &str,
    doc: &str,
    expected_sv: Option<&Vec<u8>>,
    deadline: Deadline,
    sampler: Option<&Sampler>,
    report: &mut Report,
) {
    let url = client::sync_url(&args.url, doc, token, false);
    let full_clients = args.full_clients;
    let read_buffer = match args.read_buffer_bytes {
        0 => 256 * 1024,
        n => n,
    };
    let (synced_tx, mut synced_rx) = mpsc::unbounded_channel::<Result<(u64, usize), String>>();
    let (stop_tx, stop_rx) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let verified: Arc<std::sync::Mutex<Option<Vec<u8>>>> = Arc::default();
    let cpu_start: Option<Sample> = sampler.and_then(Sampler::now);
    let started = now_us();
    let mut tasks = Vec::new();
    for i in 0..args.clients {
        let url = url.clone();
        let synced = synced_tx.clone();
        let mut stop = stop_rx.clone();
        let permits = permits.clone();
        let verified = verified.clone();
        tasks.push(tokio::spawn(async move {
            let result = async {
                if i > 0 && !full_clients {
                    // The others time the state's arrival with a lean client
                    // (see `raw`): the server's cost, not the generator's.
                    let joined = {
                        let _permit = permits.acquire().await?;
                        crate::raw::join(&url, deadline).await?
                    };
                    let _ = synced.send(Ok((now_us() - started, joined.step2_bytes)));
                    while !*stop.borrow() {
                        if stop.changed().await.is_err() {
                            break;
                        }
                    }
                    return Ok(());
                }
                let mut client = {
                    let _permit = permits.acquire().await?;
                    Client::connect_with_buffer(&url, deadline, read_buffer).await?
                };
                // Only the first client applies the state (to check it).
                client.apply_step2 = i == 0;
                while !client.synced() {
                    if !client.next(deadline).await? {
                        return Err(anyhow!("the connection ended before the initial sync"));
                    }
                }
                let size = client.inbox.step2.first().copied().unwrap_or(0);
                let _ = synced.send(Ok((now_us() - started, size)));
                if i == 0 {
                    let sv = client::canonical_sv(&client.doc.transact().state_vector());
                    if let Ok(mut v) = verified.lock() {
                        *v = Some(sv);
                    }
                }
                // Stay connected until everyone has synced (a storm's peak).
                while !*stop.borrow() {
                    tokio::select! {
                        changed = stop.changed() => if changed.is_err() { break },
                        frame = client::recv(&mut client.stream, deadline) => match frame? {
                            Some(frame) => { client.process(frame).await?; }
                            None => break,
                        },
                    }
                }
                client.close().await;
                Ok::<(), anyhow::Error>(())
            }
            .await;
            if let Err(e) = result {
                let _ = synced.send(Err(format!("{e:#}")));
            }
        }));
    }
    drop(synced_tx);
    let mut times = Vec::new();
    let mut sizes = Vec::new();
    let mut failures = 0usize;
    while times.len() + failures < args.clients {
        match synced_rx.recv().await {
            Some(Ok((us, size))) => {
                times.push(us);
                sizes.push(size);
            }
            Some(Err(e)) => {
                failures += 1;
                report.error(e);
            }
            None => break,
        }
    }
    let all = now_us() - started;
    let cpu_end = sampler.and_then(Sampler::now);
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    // Errors reported after everyone synced (a close, say) still count.
    while let Ok(result) = synced_rx.try_recv() {
        if let Err(e) = result {
            report.error(e);
        }
    }
    times.sort_unstable();
    report.metric("clients", args.clients as f64);
    report.metric("clients_synced", times.len() as f64);
    report.metric("initial_sync_p50_ms", ms(percentile(&times, 50.0)));
    report.metric("initial_sync_p95_ms", ms(percentile(&times, 95.0)));
    report.metric("initial_sync_max_ms", ms(percentile(&times, 100.0)));
    report.metric("storm_all_synced_ms", ms(all));
    if let Some(size) = sizes.iter().max() {
        report.metric("initial_sync_mb", *size as f64 / 1e6);
    }
    if let (Some(a), Some(b)) = (cpu_start, cpu_end) {
        report.metric(
            "server_cpu_storm_s",
            b.cpu_us.saturating_sub(a.cpu_us) as f64 / 1e6,
        );
    }
    let got = verified.lock().ok().and_then(|v| v.clone());
    let ok = match (expected_sv, got) {
        (Some(want), Some(got)) => *want == got,
        (None, Some(_)) => true,
        _ => false,
    };
    if !ok {
        report.error(
            "the first client's state after the initial sync is not the preloaded one".into(),
        );
    }
    report.check("converged", ok);
}

/// N idle connections over the documents: the server's memory.
#[allow(clippy::too_many_arguments)]
async fn idle(
    args: &RunArgs,
    token: &str,
    docs: &[String],
    n: usize,
    deadline: Deadline,
    sampler: Option<&Sampler>,
    report: &mut Report,
) {
    let baseline = sampler.and_then(Sampler::now);
    let (synced_tx, mut synced_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    let (stop_tx, stop_rx) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let started = now_us();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let url = client::sync_url(&args.url, &docs[i % docs.len()], token, false);
        let synced = synced_tx.clone();
        let mut stop = stop_rx.clone();
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            let result = async {
                let mut client = {
                    let _permit = permits.acquire().await?;
                    let mut client = Client::connect(&url, deadline).await?;
                    while !client.synced() {
                        if !client.next(deadline).await? {
                            return Err(anyhow!("the connection ended before the initial sync"));
                        }
                    }
                    client
                };
                let _ = synced.send(Ok(()));
                while !*stop.borrow() {
                    tokio::select! {
                        changed = stop.changed() => if changed.is_err() { break },
                        frame = client::recv(&mut client.stream, deadline) => match frame? {
                            Some(frame) => { client.process(frame).await?; }
                            None => return Err(anyhow!("the server ended an idle connection")),
                        },
                    }
                }
                client.close().await;
                Ok::<(), anyhow::Error>(())
            }
            .await;
            if let Err(e) = result {
                let _ = synced.send(Err(format!("{e:#}")));
            }
        }));
    }
    drop(synced_tx);
    let mut connected = 0usize;
    let mut failed = 0usize;
    while connected + failed < n {
        match synced_rx.recv().await {
            Some(Ok(())) => connected += 1,
            Some(Err(e)) => {
                failed += 1;
                report.error(e);
            }
            None => break,
        }
    }
    report.metric("idle_connections", connected as f64);
    report.metric("connect_sync_ms", ms(now_us() - started));
    let hold = Duration::from_secs_f64(args.idle_hold.max(0.0));
    let remaining = deadline.saturating_duration_since(Deadline::now());
    tokio::time::sleep(hold.min(remaining.saturating_sub(Duration::from_secs(2)))).await;
    if let Some(now) = sampler.and_then(Sampler::now) {
        report.metric("idle_rss_mb", mib(now.rss_kib));
        if let Some(base) = baseline {
            report.metric("server_rss_before_mb", mib(base.rss_kib));
            if connected > 0 {
                report.metric(
                    "idle_kib_per_connection",
                    now.rss_kib.saturating_sub(base.rss_kib) as f64 / connected as f64,
                );
            }
        }
    }
    let _ = stop_tx.send(true);
    let closing = tokio::time::timeout(Duration::from_secs(20), async {
        for task in tasks {
            let _ = task.await;
        }
    });
    if closing.await.is_err() {
        report.note("some idle connections were still closing at the end".into());
    }
    while let Ok(result) = synced_rx.try_recv() {
        if let Err(e) = result {
            report.error(e);
        }
    }
    report.check("converged", failed == 0 && connected == n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
