//! Person names in free text, from context ("Dear …", "customer …",
//! "escalated to …") and from the US Census Bureau's lists of given names and
//! surnames (public domain; `data/given.txt`, `data/surnames.txt`, made by
//! `scripts/census-names.py`).

use std::collections::HashSet;
use std::sync::LazyLock;

use warden_core::DataClass;

use super::Hit;

fn list(text: &'static str) -> HashSet<&'static str> {
    text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect()
}

static GIVEN: LazyLock<HashSet<&'static str>> = LazyLock::new(|| list(include_str!("../../data/given.txt")));
static SURNAMES: LazyLock<HashSet<&'static str>> = LazyLock::new(|| list(include_str!("../../data/surnames.txt")));

/// Words after which a capitalised word is a person: a salutation or a role.
const STRONG_CUES: &[&str] = &[
    "dear",
    "hi",
    "hello",
    "mr",
    "mr.",
    "ms",
    "ms.",
    "mrs",
    "mrs.",
    "dr",
    "dr.",
    "prof",
    "prof.",
    "customer",
    "employee",
    "contact",
    "attn",
    "attn:",
    "patient",
    "client",
    "caller",
    "cardholder",
    "applicant",
    "tenant",
    "member",
    "recipient",
    "sender",
    "beneficiary",
    "colleague",
    "contractor",
    "manager",
    "supervisor",
    "name:",
    "name=",
    "regards,",
];

/// Two-word cues (`escalated to`, `assigned to`, `reported by`).
const STRONG_PAIRS: &[(&str, &str)] = &[
    ("escalated", "to"),
    ("assigned", "to"),
    ("forwarded", "to"),
    ("sent", "to"),
    ("reported", "by"),
    ("approved", "by"),
    ("requested", "by"),
    ("submitted", "by"),
    ("signed", "by"),
    ("opened", "by"),
    ("raised", "by"),
    ("created", "by"),
    ("on", "behalf"),
    ("full", "name"),
    ("account", "holder"),
];

/// Words after which a name needs one of the lists to be believed.
const WEAK_CUES: &[&str] = &["by", "for", "from", "to", "with", "and", "cc", "cc:", "call", "called", "ask", "per"];

/// Capitalised words that start no person's name in a log.
const NOT_NAMES: &[&str] = &[
    "The",
    "This",
    "That",
    "These",
    "An",
    "A",
    "All",
    "Any",
    "Windows",
    "Microsoft",
    "Security",
    "System",
    "Service",
    "Services",
    "User",
    "Users",
    "Admin",
    "Administrator",
    "Administrators",
    "Local",
    "Network",
    "New",
    "Event",
    "Process",
    "Task",
    "Failed",
    "Success",
    "Logon",
    "Account",
    "Domain",
    "Group",
    "Policy",
    "Audit",
    "Object",
    "Subject",
    "Source",
    "Target",
    "Default",
    "Remote",
    "Desktop",
    "Server",
    "Client",
    "Google",
    "Chrome",
    "Office",
    "Defender",
    "Azure",
    "Amazon",
    "Apple",
    "Linux",
    "Ubuntu",
    "Cisco",
    "Okta",
    "Support",
    "Team",
    "Help",
    "Desk",
    "Operations",
    "Finance",
    "Sales",
    "Billing",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Mimikatz",
    "PowerShell",
    "Sysmon",
    "Kerberos",
    "Sigma",
    "Suricata",
    "Rule",
    "Alert",
    "Critical",
    "High",
    "Medium",
    "Low",
    "Unknown",
    "Error",
    "Warning",
    "Information",
    "Please",
    "Thanks",
    "Thank",
    "Regards",
    "Incident",
    "Ticket",
    "Case",
];

fn is_word(w: &str) -> bool {
    let mut cs = w.chars();
    cs.next().is_some_and(|c| c.is_uppercase())
        && w.chars().count() >= 2
        && w.chars().count() <= 24
        && cs.all(|c| c.is_lowercase() || c == '\'' || c == '-' || c == '’')
}

/// Names in `text`, as hits.
pub(super) fn scan(text: &str, out: &mut Vec<Hit>) {
    // Words with spans.
    let mut ws: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part =
            c.is_alphanumeric() || c == '\'' || c == '-' || c == '’' || c == '.' || c == ':' || c == '=' || c == ',';
        match (start, part) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                ws.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        ws.push((s, text.len()));
    }
    // A word without trailing punctuation (`Okafor,` → `Okafor`).
    let bare = |(s, e): (usize, usize)| -> (usize, usize) {
        let t = text[s..e].trim_end_matches(['.', ',', ':', '=', '\'', '-', '’']);
        (s, s + t.len())
    };
    let mut i = 0;
    while i < ws.len() {
        let (s, e) = bare(ws[i]);
        let w = &text[s..e];
        if !is_word(w) || NOT_NAMES.contains(&w) || STRONG_CUES.contains(&w.to_lowercase().as_str()) {
            i += 1;
            continue;
        }
        // Up to three name words in a row (a trailing comma or full stop ends the name).
        let mut words = vec![(s, e)];
        let mut j = i;
        while words.len() < 3 && j + 1 < ws.len() {
            let raw = &text[ws[j].0..ws[j].1];
            if raw.ends_with([',', '.', ':', '=']) {
                break;
            }
            let (ns, ne) = bare(ws[j + 1]);
            // Only single spaces between the words of a name.
            if ns != ws[j].1 + 1 || !is_word(&text[ns..ne]) || NOT_NAMES.contains(&&text[ns..ne]) {
                break;
            }
            words.push((ns, ne));
            j += 1;
        }
        let cue = cue_before(text, &ws, i);
        let first = &text[words[0].0..words[0].1];
        let given = GIVEN.contains(first);
        let take = match cue {
            Cue::Strong => {
                // Two words at most, a third only when it is a surname.
                if words.len() == 3 && SURNAMES.contains(&text[words[2].0..words[2].1]) {
                    3
                } else {
                    words.len().min(2)
                }
            }
            Cue::Weak if words.len() >= 2 => {
                let last = &text[words[1].0..words[1].1];
                if given || SURNAMES.contains(last) { 2 } else { 0 }
            }
            Cue::None | Cue::Weak if words.len() >= 2 => {
                let last = &text[words[1].0..words[1].1];
                if given && (SURNAMES.contains(last) || GIVEN.contains(last)) { 2 } else { 0 }
            }
            _ => 0,
        };
        if take > 0 {
            let (hs, he) = (words[0].0, words[take - 1].1);
            out.push(Hit {
                start: hs,
                end: he,
                class: DataClass::PersonName,
                recogniser: "person_name",
                confidence: 0.7,
            });
            i = j.max(i + take - 1) + 1;
        } else {
            i += 1;
        }
    }
}

enum Cue {
    Strong,
    Weak,
    None,
}

fn cue_before(text: &str, ws: &[(usize, usize)], i: usize) -> Cue {
    if i == 0 {
        return Cue::None;
    }
    let prev = text[ws[i - 1].0..ws[i - 1].1].to_lowercase();
    // Only a space or a colon between the cue and the name.
    let gap = &text[ws[i - 1].1..ws[i].0];
    if !gap.chars().all(|c| c == ' ' || c == ':' || c == '\t') {
        return Cue::None;
    }
    if STRONG_CUES.contains(&prev.as_str())
        || STRONG_CUES.contains(&prev.trim_end_matches([':', ',']).to_string().as_str())
    {
        return Cue::Strong;
    }
    if i >= 2 {
        let before = text[ws[i - 2].0..ws[i - 2].1].to_lowercase();
        if STRONG_PAIRS.iter().any(|(a, b)| before == *a && prev.trim_end_matches(':') == *b) {
            return Cue::Strong;
        }
    }
    if WEAK_CUES.contains(&prev.as_str()) { Cue::Weak } else { Cue::None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan(text, &mut out);
        out.into_iter().map(|h| text[h.start..h.end].to_owned()).collect()
    }

    #[test]
    fn names_from_context_and_from_the_lists() {
        assert_eq!(names("Customer Rachel Okafor called about a refund"), ["Rachel Okafor"]);
        assert_eq!(names("Dear Aisha Bello, your card"), ["Aisha Bello"]);
        assert_eq!(names("ticket escalated to Fatima Novak today"), ["Fatima Novak"]);
        assert_eq!(names("Dear Aisha, thanks"), ["Aisha"]);
        assert_eq!(names("meeting with John Smith at noon"), ["John Smith"]);
        assert_eq!(names("reviewed: Mary Johnson"), ["Mary Johnson"]);
    }

    #[test]
    fn product_and_rule_names_are_not_people() {
        for t in [
            "Windows Defender blocked Mimikatz",
            "Suspicious Process Creation by Service Control Manager",
            "Security ID: S-1-5-18 Account Name: SYSTEM",
            "Mark Of The Web bypass",
            "rule Grant Access To Share",
            "Task Scheduler created a task",
        ] {
            assert!(names(t).is_empty(), "{t}: {:?}", names(t));
        }
    }
}
