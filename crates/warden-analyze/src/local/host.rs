//! What the local analyzer remembers between events, per host: weak signals
//! for correlation (a rule's level is evidence, not a verdict), failed
//! sign-ins for password-guessing bursts, accounts and tasks for short-lived
//! objects, and discovery commands for discovery bursts. Every window is
//! bounded in time and size, so memory stays flat under a flood.

use warden_core::{Alert, Assessment, Canon, Confidence, Evidence, Fields as _, Severity, TechniqueId, Verdict};

use super::detections::{Hit, channel, cite, code_text, data_field, data_text, event_code, find_field};
use super::{LocalAnalyzer, attack_notes, clip, insert_after_first_line};

/// One weak signal seen on a host: when, which detection or rule, its weight.
pub(super) type Seen = (jiff::Timestamp, Vec<String>, u32);

/// Weak signals on one host within this window are judged together …
pub(super) const CORRELATION_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);

/// … and make a finding when at least two different ones weigh this much
/// (low 1, medium 2; informational hits are context and weigh nothing).
pub(super) const CORRELATION_WEIGHT: u32 = 4;

/// Signals kept per host at most, so memory stays bounded under a flood.
pub(super) const CORRELATION_KEEP: usize = 256;

/// Built-in detections of things administrators and the system do every
/// day (a service installed, an account created, a member added to a group,
/// a scheduled task): notable, but a finding only when something else on
/// the host goes with them. Low-severity detections (single discovery
/// commands) are weak too.
pub(super) const ROUTINE: &[&str] =
    &["service_installed", "account_created", "privileged_group_change", "scheduled_task_created"];

/// Built-in detections of account and group changes.
pub(super) const ACCOUNT_CHANGES: &[&str] = &[
    "account_created",
    "privileged_group_change",
    "sensitive_group_member_added",
    "account_security_weakened",
    "guest_account_enabled",
    "admin_like_account_created",
    "account_renamed_admin_like",
    "domain_audit_policy_changed",
];

/// What one detection or Sigma rule said of an event, for correlation.
pub(super) struct Signal {
    pub(super) key: String,
    pub(super) level: Severity,
    /// A finding on its own: a built-in detection of medium severity or
    /// more that is not [`ROUTINE`], or a Sigma rule of level medium or more.
    pub(super) strong: bool,
}

/// One discovery command seen: when, which detection, the command line.
pub(super) type Discovered = (jiff::Timestamp, &'static str, String);

/// Discovery commands from one user on one host within this window …
pub(super) const BURST_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// … of at least this many different kinds make a burst.
pub(super) const BURST_KINDS: usize = 3;

/// What a create / delete event pair is about: (kind, technique, created?).
pub(super) fn lifecycle(a: &Alert) -> Option<(&'static str, &'static str, bool, String)> {
    if channel(a) != "security" {
        return None;
    }
    let sid = || data_text(a, "TargetSid").or_else(|| data_text(a, "TargetUserName"));
    Some(match event_code(a)? {
        4720 => ("user account", "T1136", true, sid()?),
        4726 => ("user account", "T1136", false, sid()?),
        4741 => ("computer account", "T1136", true, sid()?),
        4743 => ("computer account", "T1136", false, sid()?),
        4698 => ("scheduled task", "T1053.005", true, data_text(a, "TaskName")?),
        4699 => ("scheduled task", "T1053.005", false, data_text(a, "TaskName")?),
        _ => return None,
    })
}

/// An object deleted soon after it was made.
pub(super) struct ShortLived {
    pub(super) kind: &'static str,
    pub(super) technique: &'static str,
    pub(super) name: String,
    pub(super) after: jiff::SignedDuration,
}

/// Deleting what one made minutes before is how tools run a command
/// through a scheduled task or a throw-away account and clean up.
pub(super) fn with_short_lived(mut a: Assessment, s: ShortLived) -> Assessment {
    let line = format!(
        "The {} {} was deleted {} s after it was created: made to run something once and removed to leave less behind.",
        s.kind,
        s.name,
        s.after.as_secs()
    );
    a.summary = if matches!(a.verdict, Verdict::Malicious | Verdict::Suspicious) {
        insert_after_first_line(&a.summary, &line)
    } else {
        format!("{line}{}", attack_notes(&TechniqueId::parse(s.technique).into_iter().collect::<Vec<_>>()))
    };
    if a.verdict != Verdict::Malicious {
        a.verdict = Verdict::Suspicious;
    }
    a.severity = a.severity.max(Severity::High);
    a.confidence = Confidence::saturating(a.confidence.get().max(0.75));
    if let Ok(t) = TechniqueId::parse(s.technique)
        && !a.techniques.contains(&t)
    {
        a.techniques.push(t);
    }
    a
}

/// Objects deleted within this long of being created are short-lived.
pub(super) const SHORT_LIVED: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// A run of failed sign-ins on one host.
pub(super) struct Burst {
    pub(super) count: usize,
    pub(super) accounts: Vec<String>,
    pub(super) evidence: Evidence,
}

/// The burst decides the event: a finding of brute force or password
/// guessing, whatever else the event matched.
pub(super) fn with_burst(mut a: Assessment, b: Burst) -> Assessment {
    let line = format!(
        "{} failed sign-ins on this host within {} minutes (accounts: {}): password guessing or spraying.",
        b.count,
        FAILURE_WINDOW.as_mins(),
        b.accounts.join(", ")
    );
    if matches!(a.verdict, Verdict::Malicious | Verdict::Suspicious) {
        a.summary = insert_after_first_line(&a.summary, &line);
    } else {
        a.summary = format!("{line}{}", attack_notes(&[TechniqueId::parse("T1110").expect("valid id")]));
        a.verdict = Verdict::Suspicious;
        a.confidence = Confidence::saturating(0.8);
        a.recommended_actions = vec!["open_ticket".into()];
    }
    a.severity = a.severity.max(Severity::High);
    if let Ok(t) = TechniqueId::parse("T1110")
        && !a.techniques.contains(&t)
    {
        a.techniques.push(t);
    }
    if !a.evidence.iter().any(|e| e.path == b.evidence.path) {
        a.evidence.push(b.evidence);
    }
    a
}

/// Failed sign-ins on one host within this window …
pub(super) const FAILURE_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// … at least this many make a burst (a person mistyping a password rarely
/// fails five times in five minutes; a guessing tool fails far more).
pub(super) const FAILURE_BURST: usize = 5;

/// A failed sign-in, read from the event: which account, and the field that
/// says it failed. Windows (4625, 4771, failed 4768 and 4776), SQL Server
/// (18456, and audit action LGIF), OpenSSH (event 4 "Failed password" or
/// "Invalid user").
pub(super) fn failed_sign_in(a: &Alert) -> Option<(String, Evidence)> {
    let code = event_code(a)?;
    let ch = channel(a);
    let cite_data = |name: &str, note: &str| {
        data_field(a, name).map(|(path, v)| Evidence { path, value: v.clone(), note: note.to_owned() })
    };
    let account = data_text(a, "TargetUserName").unwrap_or_default();
    let status = data_text(a, "Status").unwrap_or_default().to_lowercase();
    let failed_status = !status.is_empty() && status != "0x0";
    match (ch.as_str(), code) {
        ("security", 4625 | 4771) => Some((account, cite(a, Canon::EventCode, "a failed sign-in")?)),
        ("security", 4768 | 4776) if failed_status => {
            Some((account, cite_data("Status", "the sign-in failed with this status")?))
        }
        ("application", 18456) => Some((account, cite(a, Canon::EventCode, "a failed SQL Server login")?)),
        ("application", 33205) => {
            let (path, v) = find_field(a, |t| t.contains("action_id:LGIF"))?;
            Some((
                String::new(),
                Evidence { path, value: v, note: "a failed SQL Server login (audit action LGIF)".into() },
            ))
        }
        (c, 4) if c.starts_with("openssh") => {
            let (path, v) = find_field(a, |t| t.contains("Failed password") || t.contains("Invalid user"))?;
            let t = v.to_string();
            let who =
                t.split(" for ").nth(1).or_else(|| t.split("Invalid user ").nth(1)).and_then(|r| r.split(' ').next());
            let who = who.map(|w| if w == "invalid" { "(invalid user)".to_owned() } else { w.to_owned() });
            Some((who.unwrap_or_default(), Evidence { path, value: v, note: "a failed SSH sign-in".into() }))
        }
        _ => None,
    }
}

/// Whether the event's actor is the machine itself: the SYSTEM account or
/// a computer account (`NAME$`), as during setup and service start-up.
pub(super) fn acts_as_machine(alert: &Alert) -> bool {
    // Sysmon writes every event as SYSTEM; its actor is the `User` field, never the record's UserID.
    let sysmon =
        alert.fields.get("Event.System.Channel").is_some_and(|c| c.to_string().to_lowercase().contains("sysmon"));
    let record_user = if sysmon { None } else { alert.fields.get("Event.System.Security.#attributes.UserID") };
    let sid = data_field(alert, "SubjectUserSid").map(|(_, v)| v).or(record_user).map(|v| v.to_string());
    let name = data_text(alert, "SubjectUserName");
    match (sid.as_deref(), name.as_deref()) {
        (_, Some(n)) if n.ends_with('$') => true,
        (Some("S-1-5-18"), None | Some("-" | "SYSTEM")) => true,
        _ => false,
    }
}

/// An ordinary explanation the event itself gives for what a rule saw, or
/// None. Joining a domain nests the domain's Domain Admins (RID 512) in the
/// machine's Administrators and Domain Users (RID 513) in its Users (event
/// 4732): that is the join, not an intruder.
pub(super) fn ordinary_explanation(alert: &Alert) -> Option<&'static str> {
    if event_code(alert) == Some(4732) && channel(alert) == "security" {
        let member = data_text(alert, "MemberSid").unwrap_or_default();
        let group = data_text(alert, "TargetSid").unwrap_or_default();
        let domain_sid = member.starts_with("S-1-5-21-");
        if domain_sid
            && ((member.ends_with("-512") && group == "S-1-5-32-544")
                || (member.ends_with("-513") && group == "S-1-5-32-545"))
        {
            return Some("the domain's own groups nested into the machine's when it joined the domain");
        }
    }
    None
}

impl LocalAnalyzer {
    /// Records account and task creations and says whether this event
    /// deletes one made within [`SHORT_LIVED`] on the same host.
    pub(super) fn short_lived(&self, alert: &Alert) -> Option<ShortLived> {
        let (kind, technique, created, name) = lifecycle(alert)?;
        let host = alert.canonical_text(Canon::Host).unwrap_or_default().to_lowercase();
        let at = alert.observed_at.unwrap_or(alert.received_at);
        let key = format!("{host}\u{1f}{kind}\u{1f}{}", name.to_lowercase());
        let mut all = self.created.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, t| at.duration_since(*t).abs() <= SHORT_LIVED);
        if all.len() > CORRELATION_KEEP * 16 {
            return None;
        }
        if created {
            all.insert(key, at);
            return None;
        }
        let made = all.remove(&key)?;
        Some(ShortLived { kind, technique, name, after: at.duration_since(made) })
    }

    /// Records a failed sign-in and says whether it completes a burst on its host.
    pub(super) fn failure_burst(&self, alert: &Alert) -> Option<Burst> {
        let (account, evidence) = failed_sign_in(alert)?;
        let host = alert.canonical_text(Canon::Host).unwrap_or_default().to_lowercase();
        let at = alert.observed_at.unwrap_or(alert.received_at);
        let mut all = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, seen| {
            seen.retain(|(t, _)| at.duration_since(*t).abs() <= FAILURE_WINDOW);
            !seen.is_empty()
        });
        // Kinds of failure are counted apart: one mistyped password can be logged
        // twice (4625 and 4776), and should not count as two attempts.
        let kind = event_code(alert).unwrap_or_default();
        let seen = all.entry(format!("{host}\u{1f}{kind}")).or_default();
        seen.push((at, account));
        if seen.len() > CORRELATION_KEEP {
            let cut = seen.len() - CORRELATION_KEEP;
            seen.drain(..cut);
        }
        if seen.len() < FAILURE_BURST {
            return None;
        }
        let mut accounts: Vec<String> = seen.iter().map(|(_, a)| a.clone()).filter(|a| !a.is_empty()).collect();
        accounts.sort();
        accounts.dedup();
        accounts.truncate(10);
        Some(Burst { count: seen.len(), accounts, evidence })
    }

    /// A rule's level is evidence, not a verdict. A strong signal stands on
    /// its own; weak ones (low and medium rules, routine-but-notable
    /// built-in detections such as a service install or a group change)
    /// are kept per host for [`CORRELATION_WINDOW`] and become a finding
    /// only together: two or more different signals on one host weighing
    /// [`CORRELATION_WEIGHT`]. Alone, a weak signal is context: reported,
    /// audited and searchable, but not put in front of an analyst as a
    /// finding. What the machine's own account does (setup, services
    /// started by the system) weighs nothing.
    pub(super) fn correlate(&self, alert: &Alert, mut a: Assessment, signals: &[Signal]) -> Assessment {
        if signals.is_empty() || !matches!(a.verdict, Verdict::Malicious | Verdict::Suspicious) {
            return a;
        }
        // Some events have a known, ordinary explanation in the event itself.
        let explained = ordinary_explanation(alert);
        let machine = acts_as_machine(alert);
        // Account and group changes by the machine's own account are what setup does; they
        // stand alone only when a person made them.
        let strong = explained.is_none()
            && (signals.iter().any(|s| s.strong && !(machine && ACCOUNT_CHANGES.contains(&s.key.as_str())))
                || (a.severity >= Severity::High && !machine));
        let host = alert.canonical_text(Canon::Host).unwrap_or_default().to_lowercase();
        let at = alert.observed_at.unwrap_or(alert.received_at);
        let weight = |s: &Signal| match s.level {
            _ if machine || explained.is_some() => 0,
            Severity::Info => 0,
            Severity::Low => 1,
            _ => 2,
        };
        let mut all = self.signals.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, seen| {
            seen.retain(|(t, _, _)| at.duration_since(*t).abs() <= CORRELATION_WINDOW);
            !seen.is_empty()
        });
        let seen = all.entry(host.clone()).or_default();
        // One event is one piece of evidence however many rules describe it:
        // it counts once, at its heaviest weight, as the ATT&CK techniques it
        // shows (parent level: two group changes are one kind of step), or
        // the names of what matched when they give none.
        let mut names: Vec<String> = a.techniques.iter().map(|t| t.parent().to_string()).collect();
        if names.is_empty() {
            names = signals.iter().map(|s| s.key.clone()).collect();
        }
        names.sort_unstable();
        names.dedup();
        let own = signals
            .iter()
            .map(|s| match weight(s) {
                0 => 0,
                _ if s.strong => 3,
                w => w,
            })
            .max()
            .unwrap_or(0);
        seen.push((at, names, own));
        if seen.len() > CORRELATION_KEEP {
            let cut = seen.len() - CORRELATION_KEEP;
            seen.drain(..cut);
        }
        // Kinds of event in the window: events that share a technique (or a
        // name) are one kind, at the heaviest weight any of them had.
        let mut kinds: Vec<(Vec<&str>, u32)> = Vec::new();
        for (_, names, w) in seen.iter().filter(|(_, _, w)| *w > 0) {
            let mut merged: (Vec<&str>, u32) = (names.iter().map(String::as_str).collect(), *w);
            kinds.retain(|(k, kw)| {
                let overlaps = k.iter().any(|n| merged.0.contains(n));
                if overlaps {
                    merged.0.extend(k.iter().copied());
                    merged.1 = merged.1.max(*kw);
                }
                !overlaps
            });
            merged.0.sort_unstable();
            merged.0.dedup();
            kinds.push(merged);
        }
        let total: u32 = kinds.iter().map(|(_, w)| w).sum();
        let names: Vec<String> = kinds.iter().map(|(k, _)| k.join(" + ")).collect();
        let kinds = kinds.len();
        drop(all);
        // Context (weight 0) is never itself made a finding by what is around it.
        let correlated = own > 0 && kinds >= 2 && total >= CORRELATION_WEIGHT;
        if strong {
            if correlated {
                a.summary = insert_after_first_line(
                    &a.summary,
                    &format!(
                        "Also on this host within {} minutes: {}.",
                        CORRELATION_WINDOW.as_mins(),
                        names.join("; ")
                    ),
                );
            }
            return a;
        }
        if correlated {
            a.verdict = Verdict::Suspicious;
            a.severity = a.severity.max(Severity::Medium);
            a.confidence = Confidence::saturating(a.confidence.get().max(0.7));
            a.summary = insert_after_first_line(
                &a.summary,
                &format!(
                    "Correlated: {} different kinds of event on this host within {} minutes ({}), stronger together \
                     than any one of them.",
                    names.len(),
                    CORRELATION_WINDOW.as_mins(),
                    names.join("; ")
                ),
            );
            return a;
        }
        a.verdict = Verdict::Benign;
        a.severity = a.severity.min(Severity::Low);
        a.confidence = Confidence::saturating(0.6);
        let why = match explained {
            Some(why) => why,
            None if machine => "done by the machine's own account",
            None => "a weak signal with nothing else on this host to corroborate it",
        };
        a.summary = format!("Context, not a finding on its own ({why}): {}", a.summary);
        a
    }

    /// Records a discovery detection and says whether it completes a burst:
    /// discovery commands of several kinds by one user on one host within
    /// [`BURST_WINDOW`] (by the time the source recorded, else arrival).
    pub(super) fn discovery_burst(&self, alert: &Alert, hits: &[Hit]) -> Option<String> {
        let kinds: Vec<&'static str> =
            hits.iter().filter(|h| h.d.id.starts_with("discovery_")).map(|h| h.d.id).collect();
        if kinds.is_empty() {
            return None;
        }
        let host = alert.canonical_text(Canon::Host)?.to_lowercase();
        let user = alert.canonical_text(Canon::User).unwrap_or_default().to_lowercase();
        let at = alert.observed_at.unwrap_or(alert.received_at);
        let command = code_text(alert).map(|(t, _)| clip(&t)).unwrap_or_default();
        let mut all = self.discovery.lock().unwrap_or_else(|p| p.into_inner());
        // Forget what no burst can include any more, everywhere, so memory stays bounded.
        all.retain(|_, seen| {
            seen.retain(|(t, _, _)| at.duration_since(*t).abs() <= BURST_WINDOW);
            !seen.is_empty()
        });
        let seen = all.entry((host.clone(), user.clone())).or_default();
        for k in kinds {
            seen.push((at, k, command.clone()));
        }
        let mut distinct: Vec<&'static str> = seen.iter().map(|(_, k, _)| *k).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < BURST_KINDS {
            return None;
        }
        let mut commands: Vec<&str> = seen.iter().map(|(_, _, c)| c.as_str()).filter(|c| !c.is_empty()).collect();
        commands.dedup();
        Some(format!(
            "Discovery burst: {} kinds of discovery by this user on this host within {} minutes ({}).",
            distinct.len(),
            BURST_WINDOW.as_mins(),
            commands.join("; ")
        ))
    }
}
