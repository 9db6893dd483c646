//! Credentials as a grammar, not a list of flags: a command line is split
//! into words (quotes respected) and walked, so `-Password Hunter2` gives
//! `Hunter2` (not `assword`), `net use \\srv\share PASS /user:X` gives the
//! positional `PASS`, and `KEY=value` counts only when the key names a secret.

use regex::Regex;
use warden_core::DataClass;

use super::Hit;

/// Flags (without their leading `-`, `--` or `/`) whose value is a secret.
const SECRET_FLAGS: &[&str] = &[
    "p",
    "pass",
    "password",
    "passwd",
    "pw",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api-key",
    "api_key",
    "client-secret",
    "clientsecret",
    "secret-key",
    "secretkey",
    "access-key",
    "accesskey",
    "auth-token",
];

/// Programs where `-p` is a port or a path, not a password.
const P_IS_NOT_A_PASSWORD: &[&str] = &[
    "ssh", "scp", "sftp", "nmap", "nc", "ncat", "netcat", "telnet", "docker", "podman", "kubectl", "mkdir", "cp",
    "rsync", "ping", "python", "python3", "java", "tar", "sed", "perl", "ps", "top", "lsof", "iptables", "masscan",
    "hydra", "tcpdump", "strace", "gdb",
];

/// Programs recognised where they appear in free text.
const PROGRAMS: &[&str] = &[
    "net",
    "net1",
    "runas",
    "psexec",
    "psexec64",
    "sshpass",
    "ssh",
    "scp",
    "mysql",
    "mysqldump",
    "mysqladmin",
    "curl",
    "wget",
    "powershell",
    "pwsh",
    "cmd",
    "wmic",
    "schtasks",
    "sc",
    "reg",
    "nmap",
    "hydra",
    "crackmapexec",
    "nxc",
    "impacket-psexec",
    "smbclient",
    "rdesktop",
    "xfreerdp",
    "sqlcmd",
    "psql",
    "mongo",
    "redis-cli",
];

/// Parts of a key that make `key=value` a secret.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "pw",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "connectionstring",
    "authorization",
];

/// `key` counts only after one of these (`api_key`, `AWS_SECRET_ACCESS_KEY`, not `KeyLength`).
const KEY_QUALIFIERS: &[&str] =
    &["api", "access", "secret", "private", "signing", "encryption", "master", "auth", "client"];

/// Key endings that name something about a secret, not the secret (`passwordLastSet`, `TokenElevationType`).
const NOT_SECRET_ENDINGS: &[&str] = &[
    "id",
    "name",
    "type",
    "file",
    "path",
    "url",
    "uri",
    "length",
    "len",
    "count",
    "age",
    "policy",
    "last",
    "set",
    "expiry",
    "expires",
    "expiration",
    "time",
    "date",
    "changed",
    "required",
    "hint",
    "level",
    "elevation",
    "ttl",
    "lifetime",
    "endpoint",
    "version",
    "format",
    "kind",
    "status",
    "enabled",
    "reset",
    "store",
    "provider",
    "size",
    "mode",
    "source",
    "flags",
    "used",
    "class",
    "algorithm",
    "issuer",
    "audience",
    "scope",
    "scopes",
    "header",
    "prefix",
    "ref",
    "reference",
    "manager",
    "service",
];

/// A word of a command line, with its byte span and the span of its value
/// (inside quotes when quoted).
struct Word<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

fn words(text: &str) -> Vec<Word<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut quote: Option<u8> = None;
        while i < b.len() {
            match (quote, b[i]) {
                (None, c) if c.is_ascii_whitespace() => break,
                (None, c @ (b'"' | b'\'')) => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                _ => {}
            }
            i += 1;
        }
        out.push(Word { text: &text[start..i], start, end: i });
    }
    out
}

/// The span of a value, without surrounding quotes.
fn unquote(text: &str, start: usize, end: usize) -> (usize, usize) {
    let v = &text[start..end];
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return (start + 1, end - 1);
        }
    }
    // A trailing separator belongs to the command line, not the value.
    let trimmed = v.trim_end_matches([';', ',', ')']);
    (start, start + trimmed.len())
}

/// Values that stand for a secret without being one: variables, masks, placeholders.
fn placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    v.len() < 3
        || v.chars().all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
        || variable(v)
        || (v.starts_with("%%") && v[2..].bytes().all(|b| b.is_ascii_digit()))
        || (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with("{{")
        || ["null", "none", "true", "false", "yes", "no", "redacted", "hidden", "n/a", "***"].contains(&l.as_str())
}

/// A variable standing for the value: `$cred`, `${PASS}`, `$env:DB_PASS`, `%PASSWORD%`
/// (not a password that merely starts with `$` or `%`).
fn variable(v: &str) -> bool {
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
    if let Some(rest) = v.strip_prefix("${") {
        return rest.strip_suffix('}').is_some_and(ident);
    }
    if let Some(rest) = v.strip_prefix('$') {
        return ident(rest);
    }
    v.len() > 2 && v.starts_with('%') && v.ends_with('%') && ident(&v[1..v.len() - 1])
}

fn secret(out: &mut Vec<Hit>, text: &str, start: usize, end: usize, recogniser: &'static str) {
    let (s, e) = unquote(text, start, end);
    if s < e && !placeholder(&text[s..e]) {
        out.push(Hit { start: s, end: e, class: DataClass::Secret, recogniser, confidence: 0.9 });
    }
}

fn user(out: &mut Vec<Hit>, text: &str, start: usize, end: usize) {
    let (mut s, e) = unquote(text, start, end);
    // DOMAIN\user: the user part.
    if let Some(i) = text[s..e].rfind('\\') {
        s += i + 1;
    }
    if e > s + 1 && !placeholder(&text[s..e]) {
        out.push(Hit { start: s, end: e, class: DataClass::Username, recogniser: "credential_user", confidence: 0.9 });
    }
}

/// `user:password` in one word (curl `-u`, `--user`).
fn user_pass(out: &mut Vec<Hit>, text: &str, start: usize, end: usize) {
    let (s, e) = unquote(text, start, end);
    if let Some(i) = text[s..e].find(':')
        && i > 0
        && s + i + 1 < e
        && !text[s..e].contains("://")
    {
        user(out, text, s, s + i);
        secret(out, text, s + i + 1, e, "credential_user_password");
    }
}

fn program(w: &str) -> String {
    let base = w.trim_matches(['"', '\'']).rsplit(['\\', '/']).next().unwrap_or(w).to_ascii_lowercase();
    base.strip_suffix(".exe").unwrap_or(&base).to_owned()
}

fn separator(w: &str) -> bool {
    matches!(w, "&&" | "||" | "|" | ";" | "&")
}

/// Secrets and accounts on command lines.
pub(super) fn command_line(text: &str, out: &mut Vec<Hit>) {
    let ws = words(text);
    let mut prog = String::new();
    let mut at_start = true;
    let mut net_use = false;
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i];
        if separator(w.text) {
            at_start = true;
            net_use = false;
            i += 1;
            continue;
        }
        // A program starts a command, or is named inside free text (`CommandLine: net use …`).
        let named = program(w.text);
        if at_start || PROGRAMS.contains(&named.as_str()) || w.text.to_ascii_lowercase().ends_with(".exe") {
            if named != prog {
                net_use = false;
            }
            prog = named;
            at_start = false;
        }
        let low = w.text.to_ascii_lowercase();
        if (prog == "net" || prog == "net1") && low == "use" {
            net_use = true;
            i += 1;
            continue;
        }
        let flag = low.starts_with('-') || (low.starts_with('/') && low.len() > 1 && !low.starts_with("//"));
        if flag {
            let name_start = low.trim_start_matches(['-', '/']);
            let skip = low.len() - name_start.len();
            // `--password=VALUE`, `/password:VALUE`, `-Password:VALUE`, `/user:X`.
            if let Some(sep) = name_start.find(['=', ':']) {
                let name = &name_start[..sep];
                let value_start = w.start + skip + sep + 1;
                if SECRET_FLAGS.contains(&name) {
                    secret(out, text, value_start, w.end, "credential_flag");
                    net_use = false;
                } else if name == "user" || name == "u" || name == "username" {
                    if net_use || low.starts_with('/') {
                        user(out, text, value_start, w.end);
                    } else {
                        user_pass(out, text, value_start, w.end);
                    }
                }
                i += 1;
                continue;
            }
            let name = name_start;
            let next = ws.get(i + 1).filter(|n| !separator(n.text));
            if let Some(n) = next {
                let next_is_flag = n.text.starts_with('-') && n.text.len() > 1;
                if SECRET_FLAGS.contains(&name) && !next_is_flag {
                    let port_like = n.text.len() <= 5 && n.text.bytes().all(|b| b.is_ascii_digit());
                    if name != "p" || !(P_IS_NOT_A_PASSWORD.contains(&prog.as_str()) || port_like) {
                        secret(out, text, n.start, n.end, "credential_flag");
                        i += 2;
                        continue;
                    }
                }
                if (name == "u" || name == "user") && !next_is_flag {
                    user_pass(out, text, n.start, n.end);
                }
            }
            // mysql -pSECRET
            if prog.starts_with("mysql") && low.starts_with("-p") && !low.starts_with("--") && low.len() > 2 {
                secret(out, text, w.start + 2, w.end, "credential_flag");
            }
            i += 1;
            continue;
        }
        if low == "convertto-securestring" {
            // The first argument that is not a flag, or the one after -String.
            let mut j = i + 1;
            while let Some(n) = ws.get(j) {
                if separator(n.text) || n.text.starts_with('|') {
                    break;
                }
                let nl = n.text.to_ascii_lowercase();
                if nl == "-string" {
                    j += 1;
                    continue;
                }
                if nl.starts_with('-') {
                    j += 1;
                    continue;
                }
                secret(out, text, n.start, n.end, "credential_securestring");
                break;
            }
        }
        if net_use && !flag {
            let t = w.text.trim_matches(['"', '\'']);
            let device = t.len() == 2 && t.ends_with(':') && t.as_bytes()[0].is_ascii_alphabetic();
            if !(t.starts_with("\\\\") || device || t == "*" || t.eq_ignore_ascii_case("delete")) {
                // One password at most; what follows it is not the command's.
                secret(out, text, w.start, w.end, "credential_net_use");
                net_use = false;
            }
        }
        i += 1;
    }
}

/// Splits a key into lower-case parts: `AWS_SECRET_ACCESS_KEY`, `clientSecret`, `api-key`.
fn key_parts(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// Whether a key names a secret value.
pub(super) fn secret_key(key: &str) -> bool {
    let parts = key_parts(key);
    let Some(last) = parts.last() else { return false };
    if NOT_SECRET_ENDINGS.contains(&last.as_str()) || (last == "key" && parts.len() == 1) {
        return false;
    }
    parts.iter().enumerate().any(|(i, p)| {
        SECRET_WORDS.contains(&p.as_str())
            || (p == "key" && i > 0 && KEY_QUALIFIERS.contains(&parts[i - 1].as_str()))
            || p.ends_with("password")
            || p.ends_with("passwd")
            || p.ends_with("secret")
            || p.ends_with("token")
    })
}

/// `KEY=value`, `key: value`, `"key": "value"` where the key names a secret
/// (and `Authorization: Bearer …`).
pub(super) fn assignments(re: &Regex, text: &str, out: &mut Vec<Hit>) {
    for c in re.captures_iter(text) {
        let (Some(k), Some(v)) = (c.get(1), c.get(2)) else { continue };
        if !secret_key(k.as_str()) {
            continue;
        }
        let (mut s, mut e) = (v.start(), v.end());
        let scheme = text[s..e].trim_matches(['"', '\'']).to_ascii_lowercase();
        if ["bearer", "basic", "token", "digest", "negotiate", "ntlm"].contains(&scheme.as_str()) {
            // The credential after the scheme.
            let rest = &text[e..];
            let skip = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            let len = rest[skip..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
                .unwrap_or(rest.len() - skip);
            if len == 0 {
                continue;
            }
            s = e + skip;
            e = s + len;
        }
        let key = k.as_str().to_ascii_lowercase();
        if key == "pwd" && text[s..e].starts_with(['/', '~']) {
            continue; // the working directory
        }
        secret(out, text, s, e, "credential_assignment");
    }
}

/// `scheme://user:password@host`: the user and the password.
pub(super) fn url_credentials(re: &Regex, text: &str, out: &mut Vec<Hit>) {
    for c in re.captures_iter(text) {
        if let (Some(u), Some(p)) = (c.get(1), c.get(2)) {
            user(out, text, u.start(), u.end());
            secret(out, text, p.start(), p.end(), "credential_url");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, DataClass)> {
        let mut out = Vec::new();
        command_line(text, &mut out);
        out.into_iter().map(|h| (text[h.start..h.end].to_owned(), h.class)).collect()
    }

    #[test]
    fn passwords_are_values_of_flags_not_parts_of_their_names() {
        let s = DataClass::Secret;
        assert_eq!(found("Invoke-Deploy -Password Hunter2"), [("Hunter2".into(), s)]);
        assert_eq!(found("tool --password=abc123 -v"), [("abc123".into(), s)]);
        assert_eq!(found(r"runas /p:Sup3r! /user:bob"), [("Sup3r!".into(), s), ("bob".into(), DataClass::Username)]);
        assert_eq!(found("sshpass -p 'c0rr3ct horse' ssh root@h"), [("c0rr3ct horse".into(), s)]);
        assert!(found("ssh -p 2222 root@h").is_empty());
        assert!(found("nmap -p 445 10.0.0.0/24").is_empty());
        assert_eq!(found("mysql -u root -pT0ps3cret db"), [("T0ps3cret".into(), s)]);
        assert!(found("Invoke-Thing -Password $cred").is_empty(), "a variable is not a secret");
        assert!(found("tool --password=%DB_PASS%").is_empty());
        assert_eq!(found("Invoke-Deploy -Password %g8cH!sEwP%"), [("%g8cH!sEwP%".into(), s)]);
        assert_eq!(found("Invoke-Deploy -Password $ecr3t!"), [("$ecr3t!".into(), s)]);
    }

    #[test]
    fn net_use_takes_its_password_positionally() {
        let got = found(r"net use \\fs01\share /user:CORP\ana.silva Winter2026!Pass");
        assert_eq!(got, [("ana.silva".into(), DataClass::Username), ("Winter2026!Pass".into(), DataClass::Secret)]);
        let got = found(r"net.exe use Z: \\srv\c$ P@ss /user:admin /persistent:no");
        assert!(got.contains(&("P@ss".into(), DataClass::Secret)), "{got:?}");
        assert!(found(r"net use Z: \\srv\share * /user:bob").iter().all(|(_, c)| *c != DataClass::Secret));
    }

    #[test]
    fn curl_users_and_secure_strings() {
        let got = found("curl -u alice:s3cr3tpw https://x");
        assert_eq!(got, [("alice".into(), DataClass::Username), ("s3cr3tpw".into(), DataClass::Secret)]);
        let got = found("curl --user=bob:pa55word https://x");
        assert!(got.contains(&("pa55word".into(), DataClass::Secret)), "{got:?}");
        let got = found(r#"$p = ConvertTo-SecureString "P@ssw0rd1" -AsPlainText -Force"#);
        assert_eq!(got, [("P@ssw0rd1".into(), DataClass::Secret)]);
        let got = found(r#"ConvertTo-SecureString -String 'Xy!9' -AsPlainText"#);
        assert_eq!(got, [("Xy!9".into(), DataClass::Secret)]);
    }

    #[test]
    fn keys_that_name_secrets() {
        for k in [
            "AWS_SECRET_ACCESS_KEY",
            "aws_secret_access_key",
            "clientSecret",
            "api_key",
            "DB_PASSWORD",
            "token",
            "Pwd",
            "GITHUB_TOKEN",
            "Authorization",
        ] {
            assert!(secret_key(k), "{k}");
        }
        for k in [
            "passwordLastSet",
            "TokenElevationType",
            "KeyLength",
            "key",
            "PublicKey",
            "token_type",
            "PasswordPolicy",
            "SubjectLogonId",
        ] {
            assert!(!secret_key(k), "{k}");
        }
    }
}
