//! Decoded forms of a string, so an encoded value is scanned as what it says.

use base64::Engine as _;

/// The percent-decoded text and, for every byte offset of it (and its end),
/// the offset in the original. Only escapes that decode to printable UTF-8
/// are decoded (`%%1793` stays as it is); `None` when nothing decodes.
pub fn percent(text: &str) -> Option<(String, Vec<usize>)> {
    if !text.contains('%') {
        return None;
    }
    let b = text.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut map = Vec::with_capacity(b.len() + 1);
    let mut any = false;
    let mut i = 0;
    while i < b.len() {
        // A run of escapes decodes together (multi-byte UTF-8).
        let mut j = i;
        let mut run = Vec::new();
        while j + 2 < b.len() && b[j] == b'%' {
            match (hex(b[j + 1]), hex(b[j + 2])) {
                (Some(h), Some(l)) => {
                    run.push(h * 16 + l);
                    j += 3;
                }
                _ => break,
            }
        }
        if !run.is_empty()
            && let Ok(s) = std::str::from_utf8(&run)
            && s.chars().all(|c| !c.is_control() || c == '\t')
        {
            // Every decoded byte maps to the start of its escape run.
            for k in 0..run.len() {
                map.push(i + k * 3);
            }
            out.extend_from_slice(&run);
            any = true;
            i = j;
            continue;
        }
        map.push(i);
        out.push(b[i]);
        i += 1;
    }
    map.push(b.len());
    if !any {
        return None;
    }
    String::from_utf8(out).ok().map(|s| (s, map))
}

/// Base64 that decodes to text (UTF-16LE as PowerShell writes it, or UTF-8).
pub fn base64_text(s: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    bytes_text(bytes)
}

/// Hex that decodes to text (`0x…` or a bare even run).
pub fn hex_text(s: &str) -> Option<String> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if !h.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok()).collect();
    bytes_text(bytes?)
}

/// Bytes as printable text: UTF-8, or UTF-16LE as PowerShell writes it
/// (ASCII with zero high bytes, and other scripts, whose UTF-16 bytes can
/// pass for UTF-8 control characters).
pub fn bytes_text(bytes: Vec<u8>) -> Option<String> {
    let utf16 = |b: &[u8]| -> Option<String> {
        if b.len() < 4 || !b.len().is_multiple_of(2) {
            return None;
        }
        let units: Vec<u16> = b.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16(&units).ok().filter(|t| printable(t))
    };
    if bytes.len() >= 4 && bytes.iter().skip(1).step_by(2).all(|b| *b == 0) {
        return utf16(&bytes);
    }
    match String::from_utf8(bytes) {
        Ok(s) if printable(&s) => Some(s),
        Ok(s) => utf16(s.as_bytes()),
        Err(e) => utf16(e.as_bytes()),
    }
}

fn printable(t: &str) -> bool {
    !t.is_empty() && t.chars().all(|c| !c.is_control() || c.is_whitespace())
}
