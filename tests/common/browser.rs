//! Running a browser script of `tests/web/` (playwright-core driving Debian's headless
//! Chromium) from a test: tool checks that point at `./setup`, and a bounded run.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The browser the scripts drive: `$CHROMIUM` or Debian's package.
pub fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails with a pointer to `./setup` when Node.js, the npm packages or Chromium are missing.
pub fn require_tools(root: &Path) {
    let node = Command::new("node").arg("--version").output();
    assert!(
        matches!(&node, Ok(out) if out.status.success()),
        "the browser tests need Node.js (`node` on PATH): run ./setup, which installs it"
    );
    assert!(
        root.join("tests/web/node_modules/playwright-core/package.json").is_file(),
        "the browser tests need tests/web/node_modules (playwright-core): run ./setup, which runs \
         `npm ci --prefix tests/web`"
    );
    let browser = chromium();
    assert!(
        browser.is_file(),
        "the browser tests need Chromium at {}: run ./setup, which installs Debian's chromium package",
        browser.display()
    );
}

/// What a script run gave: its status (None: killed after the time limit) and output.
pub struct ScriptRun {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `node tests/web/SCRIPT ARGS…` from the repository root, for at most `within`.
pub fn run_script(root: &Path, script: &str, args: &[&OsStr], within: Duration) -> ScriptRun {
    require_tools(root);
    let mut child = Command::new("node")
        .arg(root.join("tests/web").join(script))
        .args(args)
        .env("CHROMIUM", chromium())
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("node status") {
            break Some(status);
        }
        if started.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    ScriptRun { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// Reads a child's pipe into a string on a thread.
fn collect(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
