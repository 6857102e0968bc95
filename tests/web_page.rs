//! The operator page end to end: starts `sufler serve --dev` on a free port with a fresh library,
//! waits until it is ready and runs `tests/web/page.mjs` (playwright-core driving Debian's
//! headless Chromium) against it. The screenshot lands in `target/web-artifacts/page.png`
//! (`failure.png` when a check fails).
//!
//! Needs Node.js, `tests/web/node_modules` and `/usr/bin/chromium` (or `$CHROMIUM`): `./setup`
//! installs them. Without them the test fails, it never passes silently.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for the model to load.
const READY_WITHIN: Duration = Duration::from_secs(180);
/// Longest run of the browser script.
const BROWSER_WITHIN: Duration = Duration::from_secs(300);

/// A running `sufler serve`, killed when dropped (also when the test panics).
struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sufler"))
            .args(["serve", "--dev", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .env("SUFLER_MODEL_DIR", common::model_dir())
            .env("RUST_LOG", "warn")
            .env_remove("SUFLER_TOKENS")
            .env_remove("SUFLER_TOKENS_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sufler serve starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = listening_port(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(port);
                    }
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        // The guard exists from here on: a panic below kills the child.
        let mut server = Server { child, port: 0, log };
        server.port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => panic!("sufler serve printed no port; stderr:\n{}", server.log()),
        };
        let started = Instant::now();
        loop {
            if http_get_status(server.port, "/readyz") == Some(200) {
                break;
            }
            if let Some(status) = server.child.try_wait().expect("child status") {
                panic!("sufler serve exited ({status}) before it was ready; stderr:\n{}", server.log());
            }
            assert!(
                started.elapsed() < READY_WITHIN,
                "sufler serve not ready in {READY_WITHIN:?}; stderr:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// The port in `sufler: listening on http://127.0.0.1:PORT (…)`.
fn listening_port(line: &str) -> Option<u16> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.split_whitespace().next()?.rsplit(':').next()?.parse().ok()
}

/// The status code of `GET path`, or `None` when the server does not answer.
fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

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
    let server = Server::start(&dir.path().join("library.db"));
    println!("web page: server ready at {} in {:.1} s", server.url(), started.elapsed().as_secs_f64());

    let artifacts = root.join("target/web-artifacts");
    let mut script = Command::new("node")
        .arg(root.join("tests/web/page.mjs"))
        .arg(server.url())
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
