//! Durability of the template library under `kill -9` (issue 6): a burst of template writes —
//! drafts created with `POST /v1/templates` and approved with `POST /v1/templates/{id}/approve`
//! — from several threads, the server killed with SIGKILL in the middle of it, then the SQLite
//! file must pass `PRAGMA integrity_check` and a restarted server must show every write that
//! was acknowledged with a 2xx: each acknowledged template with the text sent, each
//! acknowledged approval as `approved`. Writes that were in flight may be there or not, but
//! never half there.

mod http_server;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_server::{Auth, Server, EDITOR_TOKEN, OPERATOR_TOKEN};
use serde_json::{json, Value};

const WRITERS: usize = 4;
/// Most writes a writer attempts (the loop is bounded whatever happens).
const PER_WRITER: usize = 150;
/// Acknowledged writes before the kill: well into the burst.
const KILL_AFTER_ACKS: usize = 24;

fn template_text(id: &str) -> String {
    format!("Здравствуйте! Обращение {id} зарегистрировано, специалист ответит Вам в течение часа.")
}

#[derive(Default)]
struct Acks {
    created: BTreeSet<String>,
    approved: BTreeSet<String>,
    /// Requests sent whose answer never came (the kill).
    unanswered: Vec<String>,
    /// Non-2xx answers: none are expected before the kill.
    refused: Vec<String>,
}

/// `PRAGMA integrity_check` of `db` through python's sqlite3 (the `sqlite3` CLI is optional).
fn integrity_check(db: &std::path::Path) -> String {
    let script = "import sqlite3, sys\n\
                  c = sqlite3.connect(sys.argv[1])\n\
                  print(';'.join(r[0] for r in c.execute('PRAGMA integrity_check')))\n\
                  print(c.execute('SELECT count(*) FROM sqlite_master').fetchone()[0])\n";
    let out = Command::new("python3").arg("-c").arg(script).arg(db).output().expect("python3 runs: run ./setup");
    assert!(out.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn acknowledged_template_writes_survive_kill_9() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    let mut server = Server::start(&db, Auth::Tokens);
    eprintln!("server ready in {:.1?}", started.elapsed());
    let before = server.all_templates(OPERATOR_TOKEN).len();

    let acks = Arc::new(Mutex::new(Acks::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let port = server.port;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acks, stop, acked) = (Arc::clone(&acks), Arc::clone(&stop), Arc::clone(&acked));
            std::thread::spawn(move || {
                let auth = format!("Bearer {EDITOR_TOKEN}");
                let headers = [("Authorization", auth.as_str())];
                for i in 0..PER_WRITER {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let id = format!("dur-{w}-{i:03}");
                    let body = json!({"id": id, "title": format!("Проверка записи {id}"), "text": template_text(&id),
                        "category": "durability", "tags": ["kill-9"], "examples": [format!("где моё обращение {id}?")]});
                    let bytes = serde_json::to_vec(&body).unwrap();
                    let timeout = Duration::from_secs(30);
                    let create = http_server::request(
                        port,
                        "POST",
                        "/v1/templates",
                        &headers,
                        Some(("application/json", &bytes)),
                        timeout,
                    );
                    match create {
                        Ok(r) if r.status == 201 => {
                            acks.lock().unwrap().created.insert(id.clone());
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => {
                            acks.lock().unwrap().refused.push(format!("create {id}: {} {}", r.status, r.text()));
                            continue;
                        }
                        Err(_) => {
                            acks.lock().unwrap().unanswered.push(format!("create {id}"));
                            return;
                        }
                    }
                    // Every other template is approved too: the approval is a second, separate write.
                    if i % 2 == 0 {
                        let path = format!("/v1/templates/{id}/approve");
                        match http_server::request(port, "POST", &path, &headers, None, timeout) {
                            Ok(r) if r.status == 200 => {
                                acks.lock().unwrap().approved.insert(id.clone());
                                acked.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(r) => acks.lock().unwrap().refused.push(format!("approve {id}: {} {}", r.status, r.text())),
                            Err(_) => {
                                acks.lock().unwrap().unanswered.push(format!("approve {id}"));
                                return;
                            }
                        }
                    }
                }
            })
        })
        .collect();

    // Kill in the middle of the burst: after enough acknowledgements, with writers still busy.
    let burst = Instant::now();
    while acked.load(Ordering::SeqCst) < KILL_AFTER_ACKS && burst.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = server.pid();
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    let killed_at = burst.elapsed();
    for w in writers {
        w.join().unwrap();
    }
    let acks = Arc::try_unwrap(acks).ok().unwrap().into_inner().unwrap();
    eprintln!(
        "killed pid {pid} after {killed_at:.1?}: {} creates and {} approvals acknowledged, {} in flight",
        acks.created.len(),
        acks.approved.len(),
        acks.unanswered.len()
    );
    assert!(acks.refused.is_empty(), "writes refused before the kill: {:#?}", acks.refused);
    assert!(acks.created.len() >= KILL_AFTER_ACKS / 2, "the burst never got going");
    assert!(!acks.unanswered.is_empty(), "the kill came after the burst, not in it: raise PER_WRITER");

    // The file as the kill left it (WAL included).
    let check = integrity_check(&db);
    assert_eq!(check.lines().next(), Some("ok"), "PRAGMA integrity_check after kill -9: {check}");

    // The best proof: a new server over the same file, read through the API.
    let server = Server::start(&db, Auth::Tokens);
    let templates: BTreeMap<String, Value> =
        server.all_templates(OPERATOR_TOKEN).into_iter().map(|t| (t["id"].as_str().unwrap().to_string(), t)).collect();
    for id in &acks.created {
        let t = templates.get(id).unwrap_or_else(|| panic!("acknowledged template {id} lost after kill -9"));
        assert_eq!(t["text"], template_text(id), "{id}: text");
        let want = if acks.approved.contains(id) { "approved" } else { "draft" };
        // An approval in flight may have landed; an acknowledged one must have.
        if want == "approved" || t["status"] != "approved" {
            assert_eq!(t["status"], want, "{id}: status after kill -9");
        }
    }
    // Whatever else is there from the burst is whole: the text that was sent, a known status.
    let burst_ids: Vec<&String> = templates.keys().filter(|id| id.starts_with("dur-")).collect();
    for id in &burst_ids {
        let t = &templates[*id];
        assert_eq!(t["text"], template_text(id), "{id}: a half-written template");
        assert!(t["status"] == "draft" || t["status"] == "approved", "{id}: status {}", t["status"]);
        let history = server.json("GET", &format!("/v1/templates/{id}/history"), OPERATOR_TOKEN, None);
        assert_eq!(history.status, 200, "{id}: history {}", history.text());
    }
    assert_eq!(templates.len(), before + burst_ids.len(), "templates other than the burst's changed");

    // The restarted server still takes writes and suggests an approved one.
    if let Some(id) = acks.approved.iter().next() {
        let answer = server.json(
            "POST",
            "/v1/suggest",
            OPERATOR_TOKEN,
            Some(&json!({"dialogue": [{"role": "client", "text": format!("где моё обращение {id}?")}], "k": 5})),
        );
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let after = server.json(
        "POST",
        "/v1/templates",
        EDITOR_TOKEN,
        Some(&json!({"id": "dur-after", "title": "После перезапуска", "text": template_text("dur-after")})),
    );
    assert_eq!(after.status, 201, "{}", after.text());
    eprintln!(
        "{} acknowledged creates and {} approvals all found ({} burst templates on disk); total {:.1?}",
        acks.created.len(),
        acks.approved.len(),
        burst_ids.len(),
        started.elapsed()
    );
}
