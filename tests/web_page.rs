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

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http_server::{Auth, Server};

/// Longest run of the browser script.
const BROWSER_WITHIN: Duration = Duration::from_secs(300);

/// The browser the script drives: `$CHROMIUM` or Debian's package.
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails with a pointer to `./setup` when Node.js, the npm packages or Chromium are missing.
fn require_tools(root: &Path) {
    let node = Command::new("node").arg("--version").output();
    assert!(
        matches!(&node, Ok(out) if out.status.success()),
        "the web page test needs Node.js (`node` on PATH): run ./setup, which installs it"
    );
    assert!(
        root.join("tests/web/node_modules/playwright-core/package.json").is_file(),
        "the web page test needs tests/web/node_modules (playwright-core): run ./setup, which runs \
         `npm ci --prefix tests/web`"
    );
    let browser = chromium();
    assert!(
        browser.is_file(),
        "the web page test needs Chromium at {}: run ./setup, which installs Debian's chromium package",
        browser.display()
    );
}

/// Reads a child's pipe into a shared string on a thread.
fn collect(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[test]
fn operator_page_in_headless_chromium() {
    let root = common::root();
    require_tools(root);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let server = Server::start(&dir.path().join("library.db"), Auth::Dev);
    println!("web page: server ready at {} in {:.1} s", server.url, started.elapsed().as_secs_f64());

    let artifacts = root.join("target/web-artifacts");
    let mut script = Command::new("node")
        .arg(root.join("tests/web/page.mjs"))
        .arg(&server.url)
        .arg(&artifacts)
        .env("CHROMIUM", chromium())
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let stdout = collect(script.stdout.take().expect("piped stdout"));
    let stderr = collect(script.stderr.take().expect("piped stderr"));
    let browser_started = Instant::now();
    let status = loop {
        if let Some(status) = script.try_wait().expect("node status") {
            break Some(status);
        }
        if browser_started.elapsed() > BROWSER_WITHIN {
            let _ = script.kill();
            let _ = script.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    print!("{stdout}");
    eprint!("{stderr}");
    let Some(status) = status else {
        panic!("tests/web/page.mjs did not finish in {BROWSER_WITHIN:?}; server stderr:\n{}", server.log());
    };
    assert!(
        status.success(),
        "tests/web/page.mjs failed ({status}); screenshot in {}\n{stderr}\nserver stderr:\n{}",
        artifacts.display(),
        server.log()
    );
    let screenshot = artifacts.join("page.png");
    assert!(screenshot.is_file(), "no screenshot at {}", screenshot.display());
    println!("web page: passed in {:.1} s; screenshot: {}", started.elapsed().as_secs_f64(), screenshot.display());
    let _ = std::io::stdout().flush();
}
