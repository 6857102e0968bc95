//! The server as a process: refusing unsafe start-up settings, request ids in the logs, and a
//! graceful shutdown that finishes the requests in flight within its grace period.

#[path = "http_server/mod.rs"]
mod http_server;

use std::process::Command;
use std::time::{Duration, Instant};

use http_server::{Auth, Server};

fn serve(args: &[&str], tokens: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sufler"));
    cmd.arg("serve").args(args).env_remove("SUFLER_TOKENS").env_remove("SUFLER_TOKENS_FILE");
    if let Some(t) = tokens {
        cmd.env("SUFLER_TOKENS", t);
    }
    cmd.output().unwrap()
}

#[test]
fn unsafe_settings_are_refused_at_start() {
    let dev_outside = serve(&["--dev", "--addr", "0.0.0.0:0"], None);
    assert_eq!(dev_outside.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dev_outside.stderr).contains("loopback"));
    let no_tokens = serve(&["--addr", "127.0.0.1:0"], None);
    assert_eq!(no_tokens.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_tokens.stderr).contains("no API tokens"));
    let weak = serve(&["--addr", "127.0.0.1:0"], Some("operator=short"));
    assert_eq!(weak.status.code(), Some(1));
    let no_header_timeout = serve(&["--dev", "--addr", "127.0.0.1:0", "--header-timeout", "0"], None);
    assert_eq!(no_header_timeout.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_header_timeout.stderr).contains("--header-timeout"));
}

#[test]
fn dev_mode_says_so_and_requests_are_logged_with_their_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("library.db"), Auth::Dev);
    assert!(server.log().contains("DEVELOPMENT MODE"), "{}", server.log());
    let r = server.request("GET", "/healthz", &[("x-request-id", "req-4821-check")], None).unwrap();
    assert_eq!(r.header("x-request-id"), Some("req-4821-check"));
    let generated = server.request("GET", "/healthz", &[], None).unwrap();
    assert!(generated.header("x-request-id").is_some_and(|id| id.len() >= 32));
    let started = Instant::now();
    while !server.log().contains("req-4821-check") && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.log().contains("req-4821-check"), "request id not logged:\n{}", server.log());
    // An id that would fake log fields is replaced, in the answer and in the log.
    let faked = server.request("GET", "/healthz", &[("x-request-id", "forged\t} level=ERROR {")], None).unwrap();
    let used = faked.header("x-request-id").unwrap().to_string();
    assert!(used.len() == 36 && !used.contains("forged"), "{used}");
    let started = Instant::now();
    while !server.log().contains(&used) && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.log().contains(&used) && !server.log().contains("forged"), "{}", server.log());
}

#[test]
#[cfg(unix)]
fn sigterm_finishes_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    // A grace period long enough for the request in flight (stopping what outlives it is
    // tests/http_hardening.rs's).
    let server = Server::start_with(
        &dir.path().join("library.db"),
        Auth::Dev,
        &["--init", "--timeout", "60", "--shutdown-grace", "60"],
        Duration::from_secs(180),
    );
    // A long draft keeps the rewrite busy for a while.
    let draft = serde_json::json!({"text": "привет, щас гляну твой заказ, подожди. ".repeat(120)});
    let port = server.port;
    let body = draft.to_string();
    let in_flight = std::thread::spawn(move || {
        http_server::request(
            port,
            "POST",
            "/v1/rewrite",
            &[],
            Some(("application/json", body.as_bytes())),
            Duration::from_secs(60),
        )
    });
    std::thread::sleep(Duration::from_millis(30));
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(server.pid() as i32, libc::SIGTERM);
    }
    let answer = in_flight.join().unwrap().expect("the request in flight is answered");
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.json()["text"].as_str().unwrap().contains("Здравствуйте"));
    // Reap the child here (the server guard's own kill then finds it gone).
    let pid = server.pid() as i32;
    let started = Instant::now();
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid out-pointer.
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not exit after SIGTERM:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "exit status {status}\n{}", server.log());
    assert!(server.log().contains("shutting down"), "{}", server.log());
}
