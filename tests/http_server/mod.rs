//! A `sufler serve` child process for the HTTP tests (port 0, ready once `/readyz` answers 200,
//! killed on drop) and a minimal HTTP/1.1 client over `std::net::TcpStream`, so these tests need
//! no HTTP crate. Included by `tests/http_clients.rs` and `tests/http_durability.rs`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Operator, editor and admin tokens the token-mode servers are started with.
pub const OPERATOR_TOKEN: &str = "operator-token-0123456789";
pub const EDITOR_TOKEN: &str = "editor-token-0123456789ab";
pub const ADMIN_TOKEN: &str = "admin-token-0123456789abcd";

/// `SUFLER_TOKENS` with the three tokens above.
pub fn tokens_env() -> String {
    format!("operator={OPERATOR_TOKEN},editor={EDITOR_TOKEN},admin={ADMIN_TOKEN}")
}

/// The model the tests use (same place as `tests/common`).
pub fn model_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/cache/multilingual-e5-small");
    assert!(
        dir.join("config.json").is_file(),
        "the model is missing: run ./setup (models/fetch) first ({})",
        dir.display()
    );
    dir
}

/// How the server is started.
pub enum Auth {
    /// `--dev`: no tokens.
    Dev,
    /// `SUFLER_TOKENS` with [`tokens_env`].
    Tokens,
}

/// A running `sufler serve`.
pub struct Server {
    child: Option<Child>,
    /// The bound port.
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `sufler serve` on 127.0.0.1:0 with the library at `db` (created with the default
    /// pack if missing: `--init`) and waits until ready.
    pub fn start(db: &Path, auth: Auth) -> Server {
        Self::start_with(db, auth, &["--init"], Duration::from_secs(180))
    }

    /// Same, with extra arguments.
    pub fn start_with(db: &Path, auth: Auth, extra: &[&str], ready_within: Duration) -> Server {
        let mut args: Vec<&str> = vec!["--db", db.to_str().expect("a UTF-8 path")];
        args.extend_from_slice(extra);
        let mut server = Self::spawn(auth, &args, &[]);
        let started = Instant::now();
        loop {
            if let Ok(r) = server.request("GET", "/readyz", &[], None) {
                if r.status == 200 {
                    break;
                }
            }
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("sufler serve exited ({status}) before it was ready; stderr:\n{}", server.log());
            }
            assert!(
                started.elapsed() < ready_within,
                "sufler serve not ready in {ready_within:?}; stderr:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Starts `sufler serve --addr 127.0.0.1:0 ARGS` with `env` added and returns once it
    /// printed its port, without waiting for readiness.
    pub fn spawn(auth: Auth, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sufler"));
        cmd.args(["serve", "--addr", "127.0.0.1:0"]).args(args);
        cmd.env("SUFLER_MODEL_DIR", model_dir()).env_remove("SUFLER_TOKENS").env_remove("SUFLER_TOKENS_FILE");
        cmd.env("RUST_LOG", "warn").envs(env.iter().copied());
        match auth {
            Auth::Dev => {
                cmd.arg("--dev");
            }
            Auth::Tokens => {
                cmd.env("SUFLER_TOKENS", tokens_env());
            }
        }
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("sufler serve starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let port =
                        rest.split_whitespace().next().and_then(|a| a.rsplit(':').next()).and_then(|p| p.parse().ok());
                    if let (Some(port), Some(tx)) = (port, tx.take()) {
                        let _ = tx.send(port);
                    }
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let port: u16 = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("sufler serve printed no port; stderr:\n{}", log.lock().unwrap());
            }
        };
        Server { child: Some(child), port, url: format!("http://127.0.0.1:{port}"), log }
    }

    /// Sends SIGTERM and waits (at most `within`) for the process to exit; its exit code.
    #[cfg(unix)]
    pub fn sigterm_and_wait(&mut self, within: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if started.elapsed() > within {
                let _ = child.kill();
                let _ = child.wait();
                panic!("sufler serve did not exit within {within:?} of SIGTERM; stderr:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (at most `within`) for `/readyz` to answer something other than «still loading».
    pub fn wait_loaded(&self, within: Duration) -> Response {
        let started = Instant::now();
        loop {
            if let Ok(r) = self.request("GET", "/readyz", &[], None) {
                if r.status == 200 || r.json()["error"]["code"] != "not_ready" {
                    return r;
                }
            }
            assert!(started.elapsed() < within, "still loading after {within:?}; stderr:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the server printed on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// SIGKILL (std's `Child::kill` sends SIGKILL on Unix) and reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// One request to this server.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> std::io::Result<Response> {
        request(self.port, method, path, headers, body, Duration::from_secs(30))
    }

    /// A JSON request with a bearer token (none for `""`).
    pub fn json(&self, method: &str, path: &str, token: &str, body: Option<&serde_json::Value>) -> Response {
        let auth = format!("Bearer {token}");
        let mut headers = vec![];
        if !token.is_empty() {
            headers.push(("Authorization", auth.as_str()));
        }
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        self.request(method, path, &headers, bytes.as_deref().map(|b| ("application/json", b)))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}; stderr:\n{}", self.log()))
    }

    /// Every template of the library, page after page of `GET /v1/templates`.
    pub fn all_templates(&self, token: &str) -> Vec<serde_json::Value> {
        let (mut templates, mut after) = (Vec::new(), String::new());
        loop {
            let page = self.json("GET", &format!("/v1/templates?limit=500{after}"), token, None);
            assert_eq!(page.status, 200, "{}", page.text());
            let page = page.json();
            templates.extend(page["templates"].as_array().expect("template list").iter().cloned());
            match page["next"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => return templates,
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == &name.to_ascii_lowercase()).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` on a fresh connection (`Connection: close`).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some((content_type, bytes)) = body {
        head.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", bytes.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if let Some((_, bytes)) = body {
        out.extend_from_slice(bytes);
    }
    stream.write_all(&out)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
        .ok_or_else(|| std::io::Error::other(format!("malformed answer: {:?}", String::from_utf8_lossy(&raw))))
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let (mut decoded, mut rest) = (Vec::new(), &body[..]);
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body = decoded;
    }
    Some(Response { status, headers, body })
}

/// Whether `python3` can import `module`; panics with the setup hint otherwise.
pub fn require_python_module(module: &str) {
    let out = Command::new("python3").args(["-c", &format!("import {module}")]).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "python3 cannot import {module}: run ./setup (pip install -r tests/python/requirements.txt)\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("python3 is missing ({e}): run ./setup"),
    }
}

/// `tests/python/NAME`.
pub fn python_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(name)
}
