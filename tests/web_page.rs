//! The operator page end to end: starts `sufler serve --dev` on a free port with a fresh library,
//! waits until it is ready and runs `tests/web/page.mjs` (playwright-core driving Debian's
//! headless Chromium) against it. The screenshot lands in `target/web-artifacts/page.png`
//! (`failure.png` when a check fails).
//!
//! Needs Node.js, `tests/web/node_modules` and `/usr/bin/chromium` (or `$CHROMIUM`): `./setup`
//! installs them. Without them the test fails, it never passes silently.

mod common;
#[path = "http_server/mod.rs"]
mod http_server;

use std::io::Write;
use std::time::{Duration, Instant};

use common::browser::run_script;
use http_server::{Auth, Server};

/// Longest run of the browser script.
const BROWSER_WITHIN: Duration = Duration::from_secs(300);

#[test]
fn operator_page_in_headless_chromium() {
    let root = common::root();
    common::browser::require_tools(root);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let server = Server::start(&dir.path().join("library.db"), Auth::Dev);
    println!("web page: server ready at {} in {:.1} s", server.url, started.elapsed().as_secs_f64());

    let artifacts = root.join("target/web-artifacts");
    let run = run_script(root, "page.mjs", &[server.url.as_ref(), artifacts.as_os_str()], BROWSER_WITHIN);
    print!("{}", run.stdout);
    eprint!("{}", run.stderr);
    let Some(status) = run.status else {
        panic!("tests/web/page.mjs did not finish in {BROWSER_WITHIN:?}; server stderr:\n{}", server.log());
    };
    assert!(
        status.success(),
        "tests/web/page.mjs failed ({status}); screenshot in {}\n{}\nserver stderr:\n{}",
        artifacts.display(),
        run.stderr,
        server.log()
    );
    let screenshot = artifacts.join("page.png");
    assert!(screenshot.is_file(), "no screenshot at {}", screenshot.display());
    println!("web page: passed in {:.1} s; screenshot: {}", started.elapsed().as_secs_f64(), screenshot.display());
    let _ = std::io::stdout().flush();
}
