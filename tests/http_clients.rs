//! External clients against a real `sufler serve` (issue 6):
//! - the PyPI LanguageTool client `language_tool_python` in remote-server mode reads sufler's
//!   matches from `/v2/check` (rule ids, Russian messages, replacements, UTF-16 offsets), in
//!   development mode and with a token (`tests/python/lt_client.py`);
//! - one valid request per operation must pass the documented request schema and get an answer
//!   the documented response schema describes (`tests/python/openapi_walk.py`);
//! - schemathesis fuzzes every operation of `/openapi.json` with an admin token and checks for
//!   no 5xx, documented statuses and documented response bodies
//!   (`tests/python/run_schemathesis.py`).
//!
//! The Python packages come from `tests/python/requirements.txt` (installed by `./setup`); a
//! missing package fails the test with that hint, never skips it.

mod http_server;

use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Instant;

use http_server::{python_script, require_python_module, Auth, Server, ADMIN_TOKEN, OPERATOR_TOKEN};

/// One server at a time: each loads the model, and the machine has two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs python3 in `cwd` (schemathesis and hypothesis leave `.schemathesis/`, `.hypothesis/` there).
fn python(cwd: &std::path::Path, args: &[&str]) -> Output {
    Command::new("python3")
        .args(args)
        .current_dir(cwd)
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .expect("python3 runs: run ./setup")
}

fn report(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn lt_client(auth: Auth, token: Option<&str>) {
    require_python_module("language_tool_python");
    let _one = serial();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("library.db"), auth);
    let script = python_script("lt_client.py");
    let mut args = vec![script.to_str().unwrap(), server.url.as_str()];
    if let Some(token) = token {
        args.extend(["--token", token]);
    }
    let out = python(dir.path(), &args);
    let text = report("lt_client.py", &out);
    eprintln!("{text}\n({:.1?})", started.elapsed());
    assert!(out.status.success(), "{text}\n--- server\n{}", server.log());
}

#[test]
fn language_tool_python_reads_matches_in_dev_mode() {
    lt_client(Auth::Dev, None);
}

#[test]
fn language_tool_python_reads_matches_with_a_token() {
    lt_client(Auth::Tokens, Some(OPERATOR_TOKEN));
}

#[test]
fn schemathesis_finds_no_contract_violation() {
    require_python_module("schemathesis");
    let _one = serial();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("library.db"), Auth::Tokens);
    let script = python_script("run_schemathesis.py");
    let reports = dir.path().join("schemathesis-report");
    let out = python(
        dir.path(),
        &[script.to_str().unwrap(), &server.url, ADMIN_TOKEN, "--report-dir", reports.to_str().unwrap()],
    );
    let text = report("schemathesis", &out);
    eprintln!("{text}\n({:.1?})", started.elapsed());
    assert!(out.status.success(), "schemathesis found contract violations (see above)\n{text}");
}

#[test]
fn openapi_schema_accepts_valid_requests_and_describes_the_answers() {
    require_python_module("schemathesis");
    let _one = serial();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("library.db"), Auth::Tokens);
    let script = python_script("openapi_walk.py");
    let out = python(dir.path(), &[script.to_str().unwrap(), &server.url, ADMIN_TOKEN]);
    let text = report("openapi_walk", &out);
    eprintln!("{text}\n({:.1?})", started.elapsed());
    assert!(out.status.success(), "valid requests and the OpenAPI document disagree (see above)\n{text}");
}
