//! Checksums and shape checks that turn a pattern match into a finding.

use std::net::IpAddr;

use warden_core::DataClass;

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn luhn_sum(d: &[u32]) -> u32 {
    d.iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 1 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
        .sum()
}

/// A payment card number: 13–19 digits, a card network's first digit, Luhn.
pub(super) fn luhn(s: &str) -> bool {
    let d = digits(s);
    (13..=19).contains(&d.len()) && matches!(d[0], 2..=6) && luhn_sum(&d).is_multiple_of(10)
}

/// Luhn over any length (Canadian SIN).
pub(super) fn luhn_any(s: &str) -> bool {
    let d = digits(s);
    !d.is_empty() && luhn_sum(&d).is_multiple_of(10)
}

pub(super) fn iban_ok(s: &str) -> bool {
    let c: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if c.len() < 15 || c.len() > 34 || !c.is_ascii() {
        return false;
    }
    let rearranged = format!("{}{}", &c[4..], &c[..4]);
    let mut rem: u64 = 0;
    for ch in rearranged.chars() {
        let v = match ch {
            '0'..='9' => ch as u64 - '0' as u64,
            'A'..='Z' => ch as u64 - 'A' as u64 + 10,
            _ => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// A US social security number (nine digits): not area 000, 666 or 9xx, group 00, serial 0000.
pub(super) fn ssn_ok(d: &str) -> bool {
    d.len() == 9
        && !d.starts_with("000")
        && !d.starts_with("666")
        && !d.starts_with('9')
        && &d[3..5] != "00"
        && &d[5..] != "0000"
}

/// A US individual taxpayer identification number: 9xx, group 50–65, 70–88, 90–92 or 94–99.
pub(super) fn itin_ok(d: &str) -> bool {
    let Ok(g) = d.get(3..5).unwrap_or("").parse::<u32>() else { return false };
    d.len() == 9 && d.starts_with('9') && matches!(g, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

const DNI_LETTERS: &str = "TRWAGMYFPDXBNJZSQVHLCKE";

/// A Spanish DNI: eight digits and the letter for their remainder mod 23.
pub(super) fn dni_ok(s: &str) -> bool {
    if s.len() != 9 || !s.is_ascii() {
        return false;
    }
    let (n, l) = s.split_at(8);
    n.parse::<u32>().ok().and_then(|n| DNI_LETTERS.chars().nth((n % 23) as usize)) == l.chars().next()
}

/// A Spanish NIE: X, Y or Z (for 0, 1, 2), seven digits, the DNI letter.
pub(super) fn nie_ok(s: &str) -> bool {
    if s.len() != 9 || !s.is_ascii() {
        return false;
    }
    let lead = match s.as_bytes()[0] {
        b'X' => '0',
        b'Y' => '1',
        b'Z' => '2',
        _ => return false,
    };
    dni_ok(&format!("{lead}{}", &s[1..]))
}

/// Verhoeff's check digit (India's Aadhaar).
pub(super) fn verhoeff(s: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let d = digits(s);
    if d.len() < 2 {
        return false;
    }
    let mut c = 0u8;
    for (i, &x) in d.iter().rev().enumerate() {
        c = D[c as usize][P[i % 8][x as usize] as usize];
    }
    c == 0
}

pub(crate) fn ip_class(ip: IpAddr) -> DataClass {
    let private = match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if private { DataClass::IpPrivate } else { DataClass::IpPublic }
}

pub(super) fn username_domain(s: &str) -> Option<DataClass> {
    // `C:\Windows`, `HKLM\Software`, `\\host\share` are paths, not DOMAIN\user.
    let (dom, user) = s.split_once('\\')?;
    let d = dom.to_ascii_uppercase();
    let not_domains = [
        "C",
        "D",
        "E",
        "HKLM",
        "HKCU",
        "HKU",
        "HKCR",
        "SYSTEM32",
        "WINDOWS",
        "SOFTWARE",
        "SYSTEM",
        "TEMP",
        "USERS",
        "PROGRAM",
        "APPDATA",
        "LOCAL",
        "ROAMING",
        "DEVICE",
        "GLOBALROOT",
        "REGISTRY",
        "MACHINE",
    ];
    let well_known = ["SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "ANONYMOUS LOGON"];
    let builtin_domain =
        d == "NT AUTHORITY" || d == "BUILTIN" || d == "NT SERVICE" || d == "WINDOW MANAGER" || d == "FONT DRIVER HOST";
    let ok = !not_domains.contains(&d.as_str())
        && !d.starts_with("HARDDISKVOLUME")
        && d.len() >= 2
        && !builtin_domain
        && !well_known.contains(&user.to_ascii_uppercase().as_str());
    ok.then_some(DataClass::Username)
}

pub(super) fn username_path(s: &str) -> Option<DataClass> {
    let user = s.rsplit(['/', '\\']).next()?.to_ascii_lowercase();
    (!["public", "default", "all users", "shared", "administrator", "default user"].contains(&user.as_str()))
        .then_some(DataClass::Username)
}
