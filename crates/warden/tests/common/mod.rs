//! What the web and browser tests share: a demo server on a free port that
//! is stopped when dropped, and a small HTTP client that keeps cookies and
//! posts forms the way a browser does.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn warden(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.arg("--data").arg(data).env_remove("WARDEN_CONFIG").env_remove("WARDEN_DATA").env("NO_COLOR", "1");
    c
}

/// Creates a user with `warden users add` and returns a new API token for
/// them from `warden tokens create` (which prints the token alone on stdout).
pub fn user_with_token(data: &Path, name: &str, role: &str) -> String {
    let o = warden(data)
        .args(["users", "add", name, "--role", role])
        .env("WARDEN_PASSWORD", "a long enough password")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = warden(data).args(["tokens", "create", "--user", name]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = String::from_utf8(o.stdout).unwrap();
    assert_eq!(t.lines().count(), 1, "the token alone on stdout");
    t.trim().to_owned()
}

/// `warden serve --demo` on 127.0.0.1:0 in a fresh data directory.
pub struct DemoServer {
    pub addr: String,
    /// Demo user → password, as printed once at start.
    pub passwords: BTreeMap<String, String>,
    /// Demo user → API token.
    pub tokens: BTreeMap<String, String>,
    /// The high-tier action the demo leaves waiting for its second approver.
    pub waiting_action: String,
    /// The forwarders' token the server was started with.
    pub api_token: String,
    child: Child,
    _data: tempfile::TempDir,
}

impl DemoServer {
    pub fn start() -> DemoServer {
        Self::start_with(&[])
    }

    /// The same, with environment overrides of the configuration (`WARDEN_SECTION__KEY`).
    pub fn start_with(env: &[(&str, &str)]) -> DemoServer {
        let data = tempfile::tempdir().unwrap();
        let api_token = "forwarder-token".to_owned();
        let (child, addr, passwords, tokens, waiting_action) = spawn(data.path(), &api_token, env);
        assert_eq!(passwords.len(), 6, "one demo user per role");
        DemoServer { addr, passwords, tokens, waiting_action, api_token, child, _data: data }
    }

    /// The server's data directory.
    pub fn data(&self) -> &Path {
        self._data.path()
    }

    /// Stops the server and starts it again on the same data (a new port).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, addr, ..) = spawn(self._data.path(), &self.api_token, &[]);
        self.child = child;
        self.addr = addr;
    }

    /// Asks the server to stop as a service manager does (SIGTERM) and waits for it.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(ok.success(), "kill -TERM {pid}");
        self.child.wait().unwrap()
    }

    pub fn client(&self) -> Client {
        Client { addr: self.addr.clone(), cookies: BTreeMap::new() }
    }

    /// A client signed in as a demo user.
    pub fn signed_in(&self, user: &str) -> Client {
        let mut c = self.client();
        let r = c.login(user, &self.passwords[user]);
        assert_eq!(r.status, 303, "login as {user}: {}", r.body);
        c
    }
}

type Spawned = (Child, String, BTreeMap<String, String>, BTreeMap<String, String>, String);

/// `warden serve --demo` on a free port: the process, its address, and the
/// passwords, tokens and waiting action it printed (empty when the demo
/// users existed already).
fn spawn(data: &Path, api_token: &str, env: &[(&str, &str)]) -> Spawned {
    let mut child = warden(data)
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .env("WARDEN_API_TOKEN", api_token)
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (mut passwords, mut tokens, mut waiting_action) = (BTreeMap::new(), BTreeMap::new(), String::new());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "the server exited before listening");
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [user, _role, "password", pw, "token", tk] = words[..] {
            passwords.insert(user.to_owned(), pw.to_owned());
            tokens.insert(user.to_owned(), tk.to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("demo: action ") {
            waiting_action = rest.split_whitespace().next().unwrap_or_default().to_owned();
        }
        if let Some(rest) = line.trim().strip_prefix("warden listening on http://") {
            break rest.to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (child, addr, passwords, tokens, waiting_action)
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The value of the first `<input name="NAME" value="…">` on the page.
    pub fn input(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\" value=\""))?;
        let rest = &self.body[at + name.len() + 15..];
        Some(rest[..rest.find('"')?].to_owned())
    }
}

/// A cookie-keeping HTTP/1.1 client, one connection per request.
pub struct Client {
    pub addr: String,
    pub cookies: BTreeMap<String, String>,
}

impl Client {
    pub fn request(&mut self, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Response {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        if !self.cookies.is_empty() {
            let c: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            head.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines.next().unwrap_or_default()[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
            .collect();
        for (k, v) in &headers {
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
        }
        Response { status, headers, body: body.to_owned() }
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    /// Posts a form from this server's own origin, as a browser would.
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let origin = format!("http://{}", self.addr);
        self.post_form_from(path, fields, &origin)
    }

    pub fn post_form_from(&mut self, path: &str, fields: &[(&str, &str)], origin: &str) -> Response {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin)],
            body.join("&").as_bytes(),
        )
    }

    pub fn login(&mut self, user: &str, password: &str) -> Response {
        let page = self.get("/login");
        let csrf = page.input("csrf").expect("the login form carries a token");
        self.post_form("/login", &[("csrf", &csrf), ("user", user), ("password", password)])
    }

    /// The CSRF token of the signed-in session, read from a page's forms.
    pub fn csrf(&mut self) -> String {
        self.get("/settings").input("csrf").expect("a signed-in page carries the session's token")
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTP/1.1 request on a fresh connection: (status, body).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: test\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// Reads the child's stderr up to the line that starts with `prefix` and
/// returns the rest of that line; the remainder of stderr is drained in the
/// background so a chatty child never blocks on a full pipe.
pub fn announced(child: &mut std::process::Child, prefix: &str) -> String {
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let rest = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "the process exited before saying {prefix:?}");
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            break rest.to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    rest
}

/// A local stand-in for another product's HTTP endpoint (a chat webhook, an
/// identity provider): each request's method, path and body go to `handler`,
/// whose status and JSON answer are sent back. Returns its base URL.
pub fn http_stand(mut handler: impl FnMut(&str, &str, &[u8]) -> (u16, serde_json::Value) + Send + 'static) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap_or(0);
            let mut parts = line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
            let mut len = 0;
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let (status, answer) = handler(&method, &path, &body);
            let answer = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}
