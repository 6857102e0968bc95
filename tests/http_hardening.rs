//! The server runtime findings of the attack run (issue 19), each pinned on a real `sufler
//! serve` process: slow requests stop at their deadline and leave the encoder free (finding 2),
//! shutdown stops work in flight (finding 2), start-up failures named in Russian without paths
//! and SIGTERM during loading (finding 10), the library file deleted or turned read-only while
//! running and a missing library at start (finding 11). Speed is measured in `benches/attack_load.sh`; the
//! time bounds here are generous and only catch a hang.

#[path = "http_server/mod.rs"]
mod http_server;

use std::path::Path;
use std::time::Duration;

use http_server::{Auth, Server, EDITOR_TOKEN, OPERATOR_TOKEN};
use serde_json::json;

/// A client message the encoder needs many passes for (5 000 characters, the API's limit).
fn pathological() -> serde_json::Value {
    json!({"dialogue": [{"role": "client", "text": "«".repeat(5000)}]})
}

fn ordinary() -> serde_json::Value {
    json!({"dialogue": [{"role": "client", "text": "Здравствуйте, где мой заказ 4821?"}]})
}

/// Sends `body` to `path` on its own thread (no token: a `--dev` server).
fn in_flight(
    server: &Server,
    path: &'static str,
    body: serde_json::Value,
) -> std::thread::JoinHandle<http_server::Response> {
    let port = server.port;
    std::thread::spawn(move || {
        let bytes = body.to_string();
        http_server::request(
            port,
            "POST",
            path,
            &[],
            Some(("application/json", bytes.as_bytes())),
            Duration::from_secs(120),
        )
        .expect("an answer")
    })
}

fn error_code(r: &http_server::Response) -> String {
    r.json()["error"]["code"].as_str().unwrap_or_default().to_string()
}

#[test]
fn slow_suggestions_stop_at_their_deadline_and_the_next_one_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    // A short request timeout: the pathological messages cannot finish within it.
    let server = Server::start_with(
        &dir.path().join("library.db"),
        Auth::Dev,
        &["--init", "--timeout", "1.5"],
        Duration::from_secs(180),
    );
    let slow: Vec<_> = (0..3).map(|_| in_flight(&server, "/v1/suggest", pathological())).collect();
    for answer in slow {
        let answer = answer.join().unwrap();
        assert_eq!(answer.status, 503, "{}", answer.text());
        assert_eq!(error_code(&answer), "timeout", "{}", answer.text());
    }
    // Their queued encoder work was dropped with them: an ordinary suggestion right after is
    // answered within the same short timeout (before, it waited behind all of that work).
    let answer = server.json("POST", "/v1/suggest", "", Some(&ordinary()));
    assert_eq!(answer.status, 200, "{}\n{}", answer.text(), server.log());
    assert!(!answer.json()["suggestions"].as_array().unwrap().is_empty());
}

/// A number the server's `/metrics` shows (the first line starting with `name `).
fn metric(server: &Server, name: &str) -> f64 {
    let text = server.request("GET", "/metrics", &[], None).unwrap().text();
    let prefix = format!("{name} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
}

#[test]
fn suggestions_whose_client_disconnected_are_not_run_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("library.db"),
        Auth::Dev,
        &["--init", "--timeout", "120"],
        Duration::from_secs(180),
    );
    // What one pathological message costs the encoder, in tokens.
    let tokenizer = sufler::encoder::TextTokenizer::load(&http_server::model_dir().join("tokenizer.json")).unwrap();
    let one = tokenizer.content_ids(&[format!("query: {}", "«".repeat(5000))]).unwrap()[0].len() as f64;
    let before = metric(&server, "sufler_encoder_batch_tokens_sum");
    // Clients that give up after 0.3 s (their connections closed), long before the timeout.
    for _ in 0..3 {
        let body = pathological().to_string();
        let gave_up = http_server::request(
            server.port,
            "POST",
            "/v1/suggest",
            &[],
            Some(("application/json", body.as_bytes())),
            Duration::from_millis(300),
        );
        assert!(gave_up.is_err(), "the pathological suggestion answered within 0.3 s: {gave_up:?}");
    }
    // Once the queue is empty, the encoder has run only part of their work: the rest was
    // dropped with them (before, all three ran to the end).
    let started = std::time::Instant::now();
    while metric(&server, "sufler_encoder_queue_tokens") > 0.0 {
        assert!(started.elapsed() < Duration::from_secs(120), "the queue never emptied:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let ran = metric(&server, "sufler_encoder_batch_tokens_sum") - before;
    assert!(ran < 1.5 * one, "the encoder ran {ran} tokens of three abandoned requests of {one} each");
    let answer = server.json("POST", "/v1/suggest", "", Some(&ordinary()));
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[test]
#[cfg(unix)]
fn sigterm_stops_requests_still_running_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(
        &dir.path().join("library.db"),
        Auth::Dev,
        &["--init", "--timeout", "120", "--shutdown-grace", "0.5"],
        Duration::from_secs(180),
    );
    let slow: Vec<_> = (0..2).map(|_| in_flight(&server, "/v1/suggest", pathological())).collect();
    std::thread::sleep(Duration::from_millis(300));
    // Far below the 120 s request timeout the server waited for before.
    let code = server.sigterm_and_wait(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{}", server.log());
    for answer in slow {
        let answer = answer.join().unwrap();
        assert_eq!(answer.status, 503, "{}", answer.text());
        assert_eq!(error_code(&answer), "shutting_down", "{}", answer.text());
    }
}

/// `/readyz` once loading gave up, with the server's log.
fn failed_readiness(server: &Server) -> (serde_json::Value, String) {
    let r = server.wait_loaded(Duration::from_secs(180));
    assert_eq!(r.status, 503, "{}", r.text());
    (r.json(), server.log())
}

#[test]
fn a_library_that_is_not_a_library_is_named_without_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("secret-place.db");
    std::fs::write(&db, "not an SQLite file, written by another program\n".repeat(100)).unwrap();
    let server = Server::spawn(Auth::Dev, &["--db", db.to_str().unwrap()], &[]);
    let (body, log) = failed_readiness(&server);
    assert_eq!(body["error"]["code"], "load_failed", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("библиотека шаблонов"), "{message}");
    assert!(message.contains("пожалуйста"), "{message}");
    assert!(!message.contains("secret-place") && !message.contains("модель"), "{message}");
    // The log has the details.
    assert!(log.contains("secret-place.db"), "{log}");
}

#[test]
fn missing_morphology_data_is_a_load_failure_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    let nowhere = dir.path().join("no-such-dictionary");
    let server = Server::spawn(
        Auth::Dev,
        &["--db", db.to_str().unwrap(), "--init"],
        &[("SUFLER_MORPH_DICT", nowhere.to_str().unwrap())],
    );
    let (body, log) = failed_readiness(&server);
    assert_eq!(body["error"]["code"], "load_failed", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("словарь морфологии"), "{message}");
    assert!(!message.contains("no-such-dictionary"), "{message}");
    assert!(log.contains("no-such-dictionary"), "{log}");
    // The engine routes say the same.
    let suggest = server.json("POST", "/v1/suggest", "", Some(&ordinary()));
    assert_eq!(suggest.status, 503);
    assert_eq!(error_code(&suggest), "load_failed");
}

#[test]
#[cfg(unix)]
fn sigterm_during_loading_ends_the_process_without_waiting_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    // A new library: loading embeds the whole default pack, which takes a while.
    let mut server = Server::spawn(Auth::Dev, &["--db", db.to_str().unwrap(), "--init"], &[]);
    let code = server.sigterm_and_wait(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{}", server.log());
    assert!(!server.log().contains("sufler: ready"), "loading ran to its end first:\n{}", server.log());
}

#[test]
fn a_library_deleted_while_running_fails_readiness_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    let server = Server::start(&db, Auth::Tokens);
    let template = json!({"id": "after-delete", "title": "Проверка", "text": "Здравствуйте! Проверим, пожалуйста."});
    let created = server.json("POST", "/v1/templates", EDITOR_TOKEN, Some(&template));
    assert_eq!(created.status, 201, "{}", created.text());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let ready = server.request("GET", "/readyz", &[], None).unwrap();
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(error_code(&ready), "library_unavailable");
    let again = json!({"id": "lost-write", "title": "Проверка", "text": "Здравствуйте! Проверим, пожалуйста."});
    let refused = server.json("POST", "/v1/templates", EDITOR_TOKEN, Some(&again));
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(error_code(&refused), "library_unavailable");
    let message = refused.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("пожалуйста") && !message.contains(dir.path().to_str().unwrap()), "{message}");
    let approve = server.json("POST", "/v1/templates/after-delete/approve", EDITOR_TOKEN, None);
    assert_eq!(approve.status, 503, "{}", approve.text());
    let click = json!({"message": "где заказ?", "chosen": "after-delete"});
    let feedback = server.json("POST", "/v1/feedback", OPERATOR_TOKEN, Some(&click));
    assert_eq!(feedback.status, 503, "{}", feedback.text());
}

/// Makes `path` unwritable for this process: permission bits for a normal user; for root, whom
/// permission bits do not stop, the immutable attribute. False when neither works here.
fn make_read_only(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let writable = || std::fs::OpenOptions::new().append(true).open(path).is_ok();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    if writable() {
        let _ = std::process::Command::new("chattr").arg("+i").arg(path).status();
    }
    !writable()
}

fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::process::Command::new("chattr").arg("-i").arg(path).status();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn a_library_turned_read_only_fails_readiness_and_refuses_writes_until_it_is_writable_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    let server = Server::start(&db, Auth::Tokens);
    let template = |id: &str| json!({"id": id, "title": "Проверка", "text": "Здравствуйте! Проверим, пожалуйста."});
    let created = server.json("POST", "/v1/templates", EDITOR_TOKEN, Some(&template("before-read-only")));
    assert_eq!(created.status, 201, "{}", created.text());
    if !make_read_only(&db) {
        make_writable(&db);
        eprintln!("skipped: this machine cannot make {} read-only (no chattr, or not supported)", db.display());
        return;
    }
    let ready = server.request("GET", "/readyz", &[], None).unwrap();
    let refused = server.json("POST", "/v1/templates", EDITOR_TOKEN, Some(&template("read-only-write")));
    let click = json!({"message": "где заказ?", "chosen": "before-read-only"});
    let feedback = server.json("POST", "/v1/feedback", OPERATOR_TOKEN, Some(&click));
    let listed = server.json("GET", "/v1/templates", EDITOR_TOKEN, None);
    make_writable(&db);
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(error_code(&ready), "library_unavailable");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(error_code(&refused), "library_unavailable");
    assert_eq!(feedback.status, 503, "{}", feedback.text());
    // Reading goes on: the approved library is still there for suggestions and lists.
    assert_eq!(listed.status, 200, "{}", listed.text());

    let ready = server.request("GET", "/readyz", &[], None).unwrap();
    assert_eq!(ready.status, 200, "{}", ready.text());
    let created = server.json("POST", "/v1/templates", EDITOR_TOKEN, Some(&template("after-read-only")));
    assert_eq!(created.status, 201, "{}", created.text());
}

/// Runs `sufler serve` until it prints its port or exits; its stderr.
fn start_output(args: &[&str], env: &[(&str, &Path)]) -> (Option<i32>, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sufler"));
    cmd.args(["serve", "--dev", "--addr", "127.0.0.1:0"]).args(args).env_remove("SUFLER_DB");
    cmd.env("SUFLER_MODEL_DIR", http_server::model_dir()).env("RUST_LOG", "warn");
    for (name, value) in env {
        cmd.env(name, value);
    }
    let mut child = cmd.stderr(std::process::Stdio::piped()).stdout(std::process::Stdio::null()).spawn().unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    for line in std::io::BufRead::lines(stderr) {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("listening on") {
            let _ = child.kill();
            let _ = child.wait();
            return (None, log);
        }
    }
    (child.wait().unwrap().code(), log)
}

#[test]
fn a_missing_library_is_created_only_with_init_or_on_the_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.db");
    // A named file that is not there: refused at start, nothing created.
    let (code, log) = start_output(&["--db", db.to_str().unwrap()], &[]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("does not exist") && log.contains("--init"), "{log}");
    assert!(!db.exists());
    // Asked for: created, and the log says so.
    let (code, log) = start_output(&["--db", db.to_str().unwrap(), "--init"], &[]);
    assert_eq!(code, None, "{log}");
    assert!(log.contains("creating a new template library") && log.contains("--init"), "{log}");
    // The default path on the first run (no sufler data directory yet): created.
    let data = dir.path().join("data");
    let (code, log) = start_output(&[], &[("XDG_DATA_HOME", &data), ("HOME", dir.path())]);
    assert_eq!(code, None, "{log}");
    assert!(log.contains("first run"), "{log}");
    // The data directory exists but its library is gone (deleted since): not a first run.
    let _ = std::fs::remove_dir_all(data.join("sufler"));
    std::fs::create_dir_all(data.join("sufler")).unwrap();
    let (code, log) = start_output(&[], &[("XDG_DATA_HOME", &data), ("HOME", dir.path())]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("does not exist"), "{log}");
}
