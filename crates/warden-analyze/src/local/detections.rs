//! The built-in detections: each a Windows or network behaviour with the
//! fields it cites, a true-positive and a true-negative example in
//! `data/builtin-examples.ndjson`, and the helpers that read an event's
//! fields wherever its rendering keeps them.

use warden_core::{Alert, Canon, Evidence, Fields as _, Format, Severity, TechniqueId, Value, Verdict};

/// One built-in detection.
pub(super) struct Detection {
    pub(super) id: &'static str,
    pub(super) title: &'static str,
    pub(super) verdict: Verdict,
    pub(super) severity: Severity,
    pub(super) confidence: f64,
    pub(super) techniques: &'static [&'static str],
    pub(super) actions: &'static [&'static str],
    /// The evidence when the detection matches.
    pub(super) matches: fn(&Alert) -> Option<Vec<Evidence>>,
}

/// What matched, with the detection it came from.
pub(super) struct Hit {
    pub(super) d: &'static Detection,
    pub(super) evidence: Vec<Evidence>,
}

/// A Windows event's data field by name, wherever the rendering keeps it
/// (ingest's mapping files say where: `Event.EventData.NAME` for EVTX and
/// XML, `NAME` for flat JSON renderings, `winlog.event_data.NAME` for
/// Winlogbeat). Returns the path found and its value.
pub(super) fn data_field<'a>(a: &'a Alert, name: &str) -> Option<(String, &'a Value)> {
    warden_ingest::mapping::event_data_candidates(name).into_iter().find_map(|p| a.fields.get(&p).map(|v| (p, v)))
}

/// A Windows event's data field's text.
pub(super) fn data_text(a: &Alert, name: &str) -> Option<String> {
    data_field(a, name).map(|(_, v)| v.to_string())
}

/// The first field whose text passes `test`.
pub(super) fn find_field(a: &Alert, test: impl Fn(&str) -> bool) -> Option<(String, Value)> {
    warden_core::Fields::iter(&a.fields).find(|(_, v)| test(&v.to_string())).map(|(p, v)| (p.to_owned(), v.clone()))
}

/// Evidence citing a canonical field's original path and value.
pub(super) fn cite(a: &Alert, c: Canon, note: &str) -> Option<Evidence> {
    let (path, value) = a.canonical(c)?;
    Some(Evidence { path: path.to_owned(), value: value.clone(), note: note.to_owned() })
}

/// The canonical field's text, lower-cased, for matching.
pub(super) fn lower(a: &Alert, c: Canon) -> Option<String> {
    a.canonical(c).map(|(_, v)| v.to_string().to_lowercase())
}

pub(super) fn event_code(a: &Alert) -> Option<i64> {
    a.canonical(Canon::EventCode).and_then(|(_, v)| v.as_i64())
}

pub(super) fn channel(a: &Alert) -> String {
    lower(a, Canon::Channel).unwrap_or_default()
}

pub(super) fn ends_with_any(s: &str, names: &[&str]) -> bool {
    names.iter().any(|n| s.ends_with(n))
}

/// Command line or script block, lower-cased, and the evidence citing it.
/// Groups (lower case) whose members administer a domain, its controllers,
/// Exchange or the host itself.
pub(super) const SENSITIVE_GROUPS: &[&str] = &[
    "administrators",
    "domain admins",
    "enterprise admins",
    "schema admins",
    "dnsadmins",
    "backup operators",
    "account operators",
    "server operators",
    "print operators",
    "group policy creator owners",
    "key admins",
    "enterprise key admins",
    "exchange trusted subsystem",
    "exchange windows permissions",
    "organization management",
    "remote desktop users",
    "remote management users",
    "hyper-v administrators",
];

/// An account name that passes for an administrator's.
pub(super) fn admin_like(name: &str) -> bool {
    let n = name.to_lowercase();
    !n.ends_with('$') && (n.contains("admin") || n == "root" || n.starts_with("adm-") || n.starts_with("adm_"))
}

/// `UserAccountControl` message codes of event 4738 that weaken an account
/// when they appear (the "Enabled" forms).
pub(super) const UAC_WEAKENED: &[(&str, &str)] = &[
    ("%%2082", "password not required"),
    ("%%2089", "password never expires"),
    ("%%2091", "reversible password encryption"),
    ("%%2093", "trusted for delegation"),
    ("%%2095", "DES keys only"),
    ("%%2096", "no Kerberos pre-authentication"),
    ("%%2098", "trusted to authenticate for delegation"),
];

/// Privileges that let their holder act as, or over, the operating system.
pub(super) const SENSITIVE_PRIVILEGES: &[&str] = &[
    "SeTcbPrivilege",
    "SeDebugPrivilege",
    "SeCreateTokenPrivilege",
    "SeAssignPrimaryTokenPrivilege",
    "SeImpersonatePrivilege",
    "SeLoadDriverPrivilege",
    "SeBackupPrivilege",
    "SeRestorePrivilege",
    "SeTakeOwnershipPrivilege",
    "SeEnableDelegationPrivilege",
    "SeSecurityPrivilege",
];

/// A network share access (5145) to a named pipe over IPC$.
pub(super) fn named_pipe_access(a: &Alert, pipe: &str, note: &str) -> Option<Vec<Evidence>> {
    if event_code(a) != Some(5145) || channel(a) != "security" {
        return None;
    }
    let share = data_text(a, "ShareName")?;
    let (path, target) = data_field(a, "RelativeTargetName")?;
    (share.to_uppercase().ends_with("IPC$") && target.to_string().eq_ignore_ascii_case(pipe))
        .then(|| vec![Evidence { path, value: target.clone(), note: note.into() }])
}

/// What a SQL Server audit record (event 33205) changed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MssqlChange {
    /// The audit itself altered, stopped or dropped.
    Audit,
    /// A member added to a database or server role.
    Role,
    /// A login or database user created.
    Login,
    /// A statement that turns on command or code execution.
    Exec,
}

/// SQL Server audit records carry `key:value` lines in one field; the
/// detection matches when the record's change is `want`, citing that field.
pub(super) fn mssql_audit(a: &Alert, want: MssqlChange) -> Option<Vec<Evidence>> {
    // Event 15457: "Configuration option '…' changed from 0 to 1".
    if event_code(a) == Some(15457) && want == MssqlChange::Exec {
        let (path, v) = find_field(a, |t| {
            let t = t.to_lowercase();
            ["xp_cmdshell", "clr enabled", "ole automation procedures", "external scripts enabled"]
                .iter()
                .any(|k| t.contains(k))
        })?;
        return Some(vec![Evidence {
            path,
            value: v,
            note: "a server option that lets SQL Server run commands or code".into(),
        }]);
    }
    if event_code(a) != Some(33205) {
        return None;
    }
    let (path, value) = warden_core::Fields::iter(&a.fields).find(|(_, v)| {
        let t = v.to_string();
        t.contains("audit_schema_version:") && t.contains("action_id:")
    })?;
    let text = value.to_string();
    let field = |k: &str| {
        text.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':'))).map(|v| v.trim().to_owned())
    };
    if field("succeeded").is_some_and(|v| v != "true") {
        return None;
    }
    let action = field("action_id").unwrap_or_default();
    let class = field("class_type").unwrap_or_default();
    let statement = field("statement").unwrap_or_default().to_lowercase();
    let exec = ["xp_cmdshell", "sp_oacreate", "sp_addextendedproc", "clr enabled", "external scripts enabled"]
        .iter()
        .any(|k| statement.contains(k));
    let (got, note) = match (action.as_str(), class.as_str()) {
        _ if exec => (MssqlChange::Exec, "a statement that lets SQL Server run commands or code"),
        ("AUSC", _) => (MssqlChange::Audit, "SQL Server's audit session was changed (an audit started or stopped)"),
        ("AL" | "DR", "A" | "SA" | "DA") => {
            (MssqlChange::Audit, "an audit or audit specification was altered or dropped")
        }
        ("APRL", _) => (MssqlChange::Role, "a member was added to a database or server role"),
        ("CR", "SL" | "SU" | "US") => (MssqlChange::Login, "a login or database user was created"),
        _ => return None,
    };
    (got == want).then(|| {
        vec![Evidence { path: path.to_owned(), value: value.clone(), note: format!("action_id {action}: {note}") }]
    })
}

/// Offensive tools with no ordinary use, as their binaries, scripts and
/// modules are named. Matched as whole words (so `rubeus` is not found in
/// `cherubeus`), in fields that name a process, a command, a script, a
/// service binary or a file written.
pub(super) const OFFENSIVE_TOOLS: &[&str] = &[
    "mimikatz",
    "mimilib",
    "mimidrv",
    "safetykatz",
    "sharpkatz",
    "pypykatz",
    "nanodump",
    "dumpert",
    "rubeus",
    "kekeo",
    "sharphound",
    "azurehound",
    "bloodhound",
    "powerview",
    "sharpview",
    "powerup",
    "sharpup",
    "seatbelt",
    "lazagne",
    "kerbrute",
    "crackmapexec",
    "netexec",
    "secretsdump",
    "ntlmrelayx",
    "getuserspns",
    "getnpusers",
    "wmiexec",
    "smbexec",
    "atexec",
    "dcomexec",
    "invoke-mimikatz",
    "invoke-kerberoast",
    "invoke-bloodhound",
    "invoke-smbexec",
    "invoke-wmiexec",
    "invoke-thehash",
    "inveigh",
    "spoolsample",
    "printspoofer",
    "juicypotato",
    "roguepotato",
    "sweetpotato",
    "godpotato",
    "certipy",
    "whisker",
    "sharpgpoabuse",
    "powersploit",
    "powercat",
    "invoke-obfuscation",
    "sharpdpapi",
    "sharpchrome",
    "koadic",
    "covenant",
    "sliver-client",
    "cobaltstrike",
];

/// Paths (their last segment) that name a process, command, script, service binary or written file.
pub(super) const TOOL_FIELDS: &[&str] = &[
    "image",
    "newprocessname",
    "parentimage",
    "parentprocessname",
    "processname",
    "commandline",
    "parentcommandline",
    "scriptblocktext",
    "hostapplication",
    "imagepath",
    "servicefilename",
    "targetfilename",
    "sourceimage",
    "targetimage",
    "imageloaded",
    "originalfilename",
    "payload",
    "contextinfo",
    "application",
];

pub(super) fn offensive_tool(a: &Alert) -> Option<Vec<Evidence>> {
    let mut out: Vec<Evidence> = Vec::new();
    for (path, value) in warden_core::Fields::iter(&a.fields) {
        let last = path.rsplit(['.', '#']).next().unwrap_or(path).to_ascii_lowercase();
        if !TOOL_FIELDS.contains(&last.as_str()) {
            continue;
        }
        let text = value.to_string().to_lowercase();
        let word = |w: &str| {
            text.match_indices(w).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + w.len()..].chars().next();
                let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
                edge(before) && edge(after)
            })
        };
        if let Some(tool) = OFFENSIVE_TOOLS.iter().find(|t| word(t)) {
            out.push(Evidence {
                path: path.to_owned(),
                value: value.clone(),
                note: format!("names {tool}, an offensive security tool with no ordinary administrative use"),
            });
            if out.len() >= 3 {
                break;
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

pub(super) fn code_text(a: &Alert) -> Option<(String, Canon)> {
    [Canon::CommandLine, Canon::ScriptBlock].into_iter().find_map(|c| lower(a, c).map(|t| (t, c)))
}

pub(super) fn cmd_matches(a: &Alert, test: impl Fn(&str) -> bool, note: &str) -> Option<Vec<Evidence>> {
    let (text, c) = code_text(a)?;
    test(&text).then(|| cite(a, c, note).into_iter().collect())
}

pub(super) fn vendor_severity(a: &Alert) -> Option<Severity> {
    let (_, v) = a.canonical(Canon::VendorSeverity)?;
    match (a.format, v) {
        // Suricata: 1 is the most severe.
        (Format::Eve, v) => match v.as_i64()? {
            1 => Some(Severity::High),
            2 => Some(Severity::Medium),
            3 => Some(Severity::Low),
            _ => Some(Severity::Info),
        },
        // Windows levels: 1 critical, 2 error, 3 warning, 4 information.
        (Format::Evtx, _) => None,
        // CEF and LEEF: 0–10 (as text), or CEF's names.
        (Format::Cef | Format::Leef, v) => match v.to_string().trim().to_ascii_lowercase().as_str() {
            "very-high" | "9" | "10" => Some(Severity::Critical),
            "high" | "7" | "8" => Some(Severity::High),
            "medium" | "4" | "5" | "6" => Some(Severity::Medium),
            "low" | "1" | "2" | "3" => Some(Severity::Low),
            "0" => Some(Severity::Info),
            _ => None,
        },
        // Syslog: a daemon's own severity says how loud it is, not how bad an attack.
        (Format::Syslog, _) => None,
        (_, Value::Int(_)) | (_, Value::Float(_)) => match v.as_i64()? {
            // OCSF severity_id: 1 informational … 5 critical, 6 fatal. ECS risk scores are 0–100.
            5 | 6 => Some(Severity::Critical),
            99 => None,
            4 => Some(Severity::High),
            3 => Some(Severity::Medium),
            2 => Some(Severity::Low),
            0 | 1 => Some(Severity::Info),
            n if n >= 90 => Some(Severity::Critical),
            n if n >= 70 => Some(Severity::High),
            n if n >= 40 => Some(Severity::Medium),
            _ => Some(Severity::Low),
        },
        (_, Value::Str(s)) => match s.to_ascii_lowercase().as_str() {
            "critical" | "fatal" => Some(Severity::Critical),
            "high" | "error" => Some(Severity::High),
            "medium" | "warning" | "moderate" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "informational" | "info" | "information" => Some(Severity::Info),
            _ => None,
        },
        _ => None,
    }
}

/// Technique ids the source product attached (ECS `threat.technique.id`, OCSF attacks).
pub(super) fn source_techniques(a: &Alert) -> Vec<TechniqueId> {
    let mut out: Vec<TechniqueId> = warden_core::Fields::iter(a)
        .filter(|(p, _)| {
            p.starts_with("threat.technique")
                || p.starts_with("kibana.alert.rule.threat")
                || p.starts_with("finding_info.attacks")
                || p.starts_with("attacks")
        })
        .filter(|(p, _)| p.ends_with(".id") || p.ends_with(".uid") || p.ends_with(".id[0]"))
        .filter_map(|(_, v)| v.as_str().and_then(|s| TechniqueId::parse(s).ok()))
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(super) static DETECTIONS: &[Detection] = &[
    Detection {
        id: "offensive_tool",
        title: "A well-known offensive security tool named in a process, command or script",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &[],
        actions: &["isolate_host", "open_ticket"],
        matches: offensive_tool,
    },
    Detection {
        id: "cred_lsass_access",
        title: "A process opened LSASS memory with rights typical of credential dumping",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1003.001"],
        actions: &["isolate_host", "reset_credentials"],
        matches: |a| {
            let target = lower(a, Canon::TargetImage)?;
            let access = lower(a, Canon::GrantedAccess)?;
            (target.ends_with("\\lsass.exe")
                && ["0x1010", "0x1410", "0x1438", "0x143a", "0x1fffff", "0x1f3fff"].contains(&access.as_str()))
            .then(|| {
                [
                    cite(a, Canon::TargetImage, "the process whose memory was opened"),
                    cite(a, Canon::GrantedAccess, "access rights that allow reading credentials"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "cred_dump_lsass_tool",
        title: "Credential dumping tool or LSASS memory dump on the command line",
        verdict: Verdict::Malicious,
        severity: Severity::Critical,
        confidence: 0.95,
        techniques: &["T1003.001"],
        actions: &["isolate_host", "reset_credentials"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    ["mimikatz", "sekurlsa::", "lsadump::", "kerberos::golden"].iter().any(|k| t.contains(k))
                        || (t.contains("comsvcs") && t.contains("minidump"))
                        || (t.contains("procdump") && t.contains("lsass"))
                },
                "the command line names a credential dumping tool or dumps LSASS memory",
            )
        },
    },
    Detection {
        id: "cred_dump_registry_hives",
        title: "Registry hives holding credentials saved to a file",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1003.002"],
        actions: &["isolate_host", "reset_credentials"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("reg") && t.contains("save") && (t.contains("hklm\\sam") || t.contains("hklm\\security"))
                },
                "the command copies the SAM or SECURITY hive",
            )
        },
    },
    Detection {
        id: "cred_dump_ntds",
        title: "Active Directory database copied with ntdsutil",
        verdict: Verdict::Malicious,
        severity: Severity::Critical,
        confidence: 0.92,
        techniques: &["T1003.003"],
        actions: &["isolate_host", "reset_credentials"],
        matches: |a| cmd_matches(a, |t| t.contains("ntdsutil") && t.contains("ifm"), "the command copies NTDS.dit"),
    },
    Detection {
        id: "ps_download_cradle",
        title: "PowerShell downloads and executes code in memory",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1059.001", "T1105"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    [
                        "downloadstring",
                        "downloadfile",
                        "invoke-webrequest",
                        "iwr ",
                        "net.webclient",
                        "start-bitstransfer",
                    ]
                    .iter()
                    .any(|k| t.contains(k))
                        && ["iex", "invoke-expression", "| powershell", "-exec bypass"].iter().any(|k| t.contains(k))
                },
                "downloads remote content and executes it",
            )
        },
    },
    Detection {
        id: "ps_encoded_command",
        title: "PowerShell run with an encoded command",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.8,
        techniques: &["T1059.001", "T1027"],
        actions: &["open_ticket"],
        matches: |a| {
            let image = lower(a, Canon::Image).unwrap_or_default();
            let (text, c) = code_text(a)?;
            let ps = image.ends_with("powershell.exe") || image.ends_with("pwsh.exe") || text.contains("powershell");
            let encoded = text.split_whitespace().collect::<Vec<_>>().windows(2).any(|w| {
                let flag = w[0].trim_start_matches(['-', '/']);
                ["e", "en", "enc", "enco", "encodedcommand", "ec"].contains(&flag) && w[1].len() >= 16
            }) || text.contains("frombase64string");
            (ps && encoded).then(|| cite(a, c, "the command hides its content in base64").into_iter().collect())
        },
    },
    Detection {
        id: "lolbin_certutil_download",
        title: "certutil used to download a file",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1105"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("certutil")
                        && (t.contains("-urlcache") || t.contains("/urlcache") || t.contains("-verifyctl"))
                        && (t.contains("http://") || t.contains("https://") || t.contains("ftp://"))
                },
                "a trusted system binary downloads a file",
            )
        },
    },
    Detection {
        id: "lolbin_certutil_decode",
        title: "certutil used to decode a file",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.8,
        techniques: &["T1140"],
        actions: &["open_ticket"],
        matches: |a| {
            cmd_matches(
                a,
                |t| t.contains("certutil") && (t.contains("-decode") || t.contains("/decode")),
                "a trusted system binary decodes hidden content",
            )
        },
    },
    Detection {
        id: "lolbin_mshta",
        title: "mshta runs remote or inline script",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1218.005"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("mshta")
                        && ((t.contains("http://") || t.contains("https://") || t.contains("ftp://"))
                            || t.contains("javascript:")
                            || t.contains("vbscript:"))
                },
                "mshta is made to run script from a URL or inline",
            )
        },
    },
    Detection {
        id: "lolbin_regsvr32",
        title: "regsvr32 loads a remote scriptlet (Squiblydoo)",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1218.010"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("regsvr32")
                        && t.contains("/i:")
                        && ((t.contains("http://") || t.contains("https://") || t.contains("ftp://"))
                            || t.contains("scrobj"))
                },
                "regsvr32 is made to run a scriptlet",
            )
        },
    },
    Detection {
        id: "lolbin_rundll32_script",
        title: "rundll32 runs script or remote content",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1218.011"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("rundll32")
                        && (t.contains("javascript:")
                            || (t.contains("http://") || t.contains("https://") || t.contains("ftp://")))
                },
                "rundll32 is made to run script",
            )
        },
    },
    Detection {
        id: "lolbin_bitsadmin_download",
        title: "bitsadmin used to download a file",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.8,
        techniques: &["T1197", "T1105"],
        actions: &["open_ticket"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("bitsadmin")
                        && t.contains("/transfer")
                        && (t.contains("http://") || t.contains("https://") || t.contains("ftp://"))
                },
                "BITS is used to fetch a file",
            )
        },
    },
    Detection {
        id: "log_cleared",
        title: "An event log was cleared",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1070.001"],
        actions: &["isolate_host", "open_ticket"],
        matches: |a| {
            let ch = channel(a);
            let by_event = match event_code(a) {
                Some(1102) => ch.contains("security") || ch.contains("eventlog"),
                Some(104) => ch.contains("system") || ch.contains("eventlog"),
                _ => false,
            };
            if by_event {
                return cite(a, Canon::EventCode, "the event id Windows writes when a log is cleared").map(|e| vec![e]);
            }
            cmd_matches(
                a,
                |t| {
                    (t.contains("wevtutil") && (t.contains(" cl ") || t.contains(" clear-log")))
                        || t.contains("clear-eventlog")
                },
                "the command clears an event log",
            )
        },
    },
    Detection {
        id: "inhibit_recovery",
        title: "Backups or shadow copies deleted, or recovery disabled",
        verdict: Verdict::Malicious,
        severity: Severity::Critical,
        confidence: 0.92,
        techniques: &["T1490"],
        actions: &["isolate_host", "escalate_incident_commander"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    (t.contains("vssadmin") && t.contains("delete") && t.contains("shadows"))
                        || (t.contains("wmic") && t.contains("shadowcopy") && t.contains("delete"))
                        || (t.contains("bcdedit") && t.contains("recoveryenabled") && t.contains("no"))
                        || (t.contains("wbadmin")
                            && t.contains("delete")
                            && (t.contains("catalog") || t.contains("backup")))
                },
                "the command destroys the means to recover data, as ransomware does before encrypting",
            )
        },
    },
    Detection {
        id: "service_installed",
        title: "A new service was installed",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.6,
        techniques: &["T1543.003"],
        actions: &["open_ticket"],
        matches: |a| {
            matches!(event_code(a), Some(7045) | Some(4697)).then(|| {
                [
                    cite(a, Canon::EventCode, "the event id for a service installation"),
                    cite(a, Canon::ServiceName, "the new service"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "service_installed_suspicious_path",
        title: "A service was installed that runs a shell, a script or a file from a temporary or admin-share path",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1543.003", "T1569.002"],
        actions: &["isolate_host"],
        matches: |a| {
            if !matches!(event_code(a), Some(7045) | Some(4697)) {
                return None;
            }
            let (path, value) = [
                "Event.EventData.ImagePath",
                "Event.EventData.ServiceFileName",
                "ImagePath",
                "ServiceFileName",
                "winlog.event_data.ImagePath",
            ]
            .iter()
            .find_map(|p| warden_core::Fields::get(a, p).map(|v| (*p, v)))?;
            let t = value.to_string().to_lowercase();
            [
                "cmd /c",
                "cmd.exe /c",
                "powershell",
                "%comspec%",
                "\\temp\\",
                "\\appdata\\",
                "\\\\127.0.0.1\\admin$",
                "admin$",
                "psexesvc",
            ]
            .iter()
            .any(|k| t.contains(k))
            .then(|| {
                vec![Evidence { path: path.to_owned(), value: value.clone(), note: "what the service runs".into() }]
            })
        },
    },
    Detection {
        id: "scheduled_task_created",
        title: "A scheduled task was created",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1053.005"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) == Some(4698) {
                return Some(
                    [
                        cite(a, Canon::EventCode, "the event id for a new scheduled task"),
                        cite(a, Canon::TaskName, "the task"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                );
            }
            cmd_matches(a, |t| t.contains("schtasks") && t.contains("/create"), "the command creates a scheduled task")
        },
    },
    Detection {
        id: "lateral_psexec",
        title: "Remote execution with PsExec or PAExec",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.85,
        techniques: &["T1569.002", "T1021.002"],
        actions: &["isolate_host", "disable_account"],
        matches: |a| {
            cmd_matches(
                a,
                |t| (t.contains("psexec") && t.contains("\\\\")) || t.contains("paexec"),
                "the command runs a program on another host through its admin share",
            )
        },
    },
    Detection {
        id: "lateral_wmi_remote",
        title: "Remote process creation through WMI",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.85,
        techniques: &["T1047"],
        actions: &["isolate_host", "disable_account"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    (t.contains("wmic") && t.contains("/node:") && t.contains("process call create"))
                        || (t.contains("invoke-wmimethod") && t.contains("-computername"))
                },
                "the command starts a process on another host through WMI",
            )
        },
    },
    Detection {
        id: "lateral_admin_share_copy",
        title: "File copied to an administrative share",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1021.002"],
        actions: &["open_ticket"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    (t.contains("copy") || t.contains("xcopy") || t.contains("robocopy"))
                        && (t.contains("\\admin$") || t.contains("\\c$"))
                },
                "the command writes to another host's administrative share",
            )
        },
    },
    Detection {
        id: "wmi_spawned_shell",
        title: "A shell started by WMI's provider host",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1047"],
        actions: &["open_ticket"],
        matches: |a| {
            let parent = lower(a, Canon::ParentImage)?;
            let image = lower(a, Canon::Image)?;
            (parent.ends_with("\\wmiprvse.exe")
                && ends_with_any(
                    &image,
                    &["\\cmd.exe", "\\powershell.exe", "\\pwsh.exe", "\\rundll32.exe", "\\mshta.exe"],
                ))
            .then(|| {
                [
                    cite(a, Canon::ParentImage, "WMI's provider host started the process"),
                    cite(a, Canon::Image, "a shell started through WMI"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "discovery_domain_accounts",
        title: "Domain account or group discovery",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.6,
        techniques: &["T1087.002"],
        actions: &["add_note"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    ["net group \"domain admins\"", "net user /domain", "net group /domain", "adfind", "get-aduser"]
                        .iter()
                        .any(|k| t.contains(k))
                },
                "a command commonly run to list domain accounts and groups",
            )
        },
    },
    Detection {
        id: "discovery_domain_trusts",
        title: "Domain trust discovery",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.6,
        techniques: &["T1482"],
        actions: &["add_note"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    ["nltest /dclist", "nltest /domain_trusts", "nltest /trusted_domains"].iter().any(|k| t.contains(k))
                },
                "a command commonly run to map domain controllers and trusts",
            )
        },
    },
    Detection {
        id: "discovery_owner",
        title: "Current user and privilege discovery",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.55,
        techniques: &["T1033"],
        actions: &["add_note"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("whoami /all")
                        || t.contains("whoami /priv")
                        || t.contains("whoami /groups")
                        || t.trim_start().starts_with("quser")
                },
                "a command commonly run to learn the current user's privileges",
            )
        },
    },
    Detection {
        id: "discovery_system",
        title: "System and network configuration discovery",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.5,
        techniques: &["T1082", "T1016"],
        actions: &["add_note"],
        matches: |a| {
            cmd_matches(
                a,
                |t| t.trim_start().starts_with("systeminfo") || t.contains("ipconfig /all"),
                "a command commonly run to learn about the host",
            )
        },
    },
    Detection {
        id: "account_created",
        title: "A user account was created",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.6,
        techniques: &["T1136.001"],
        actions: &["open_ticket"],
        matches: |a| {
            (event_code(a) == Some(4720) && channel(a).contains("security")).then(|| {
                [
                    cite(a, Canon::EventCode, "the event id for a new account"),
                    cite(a, Canon::TargetUser, "the new account"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "privileged_group_change",
        title: "A member was added to a security-enabled group",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.65,
        techniques: &["T1098"],
        actions: &["open_ticket"],
        matches: |a| {
            (matches!(event_code(a), Some(4728) | Some(4732) | Some(4756)) && channel(a).contains("security")).then(
                || {
                    [
                        cite(a, Canon::EventCode, "the event id for a group membership change"),
                        cite(a, Canon::GroupName, "the group"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect()
                },
            )
        },
    },
    Detection {
        id: "sensitive_group_member_added",
        title: "A member was added to a group that administers the domain or the host",
        verdict: Verdict::Suspicious,
        severity: Severity::High,
        confidence: 0.75,
        techniques: &["T1098"],
        actions: &["open_ticket", "reset_credentials"],
        matches: |a| {
            let group = a.canonical_text(Canon::GroupName)?.to_lowercase();
            (matches!(event_code(a), Some(4728) | Some(4732) | Some(4756))
                && channel(a).contains("security")
                && SENSITIVE_GROUPS.contains(&group.as_str()))
            .then(|| {
                [
                    cite(a, Canon::EventCode, "the event id for a group membership change"),
                    cite(
                        a,
                        Canon::GroupName,
                        "a group whose members administer the domain, its controllers or this host",
                    ),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "mssql_audit_tampered",
        title: "SQL Server's own audit was changed, stopped or dropped",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1562.002"],
        actions: &["open_ticket"],
        matches: |a| mssql_audit(a, MssqlChange::Audit),
    },
    Detection {
        id: "mssql_role_member_added",
        title: "A member was added to a SQL Server role",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1098"],
        actions: &["open_ticket"],
        matches: |a| mssql_audit(a, MssqlChange::Role),
    },
    Detection {
        id: "mssql_login_created",
        title: "A SQL Server login or database user was created",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1136"],
        actions: &["open_ticket"],
        matches: |a| mssql_audit(a, MssqlChange::Login),
    },
    Detection {
        id: "mssql_command_execution_enabled",
        title: "A SQL Server statement that lets it run commands or code",
        verdict: Verdict::Suspicious,
        severity: Severity::High,
        confidence: 0.7,
        techniques: &["T1505.001"],
        actions: &["open_ticket"],
        matches: |a| mssql_audit(a, MssqlChange::Exec),
    },
    Detection {
        id: "account_security_weakened",
        title: "An account's protections were weakened",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1098"],
        actions: &["open_ticket", "reset_credentials"],
        matches: |a| {
            if event_code(a) != Some(4738) || channel(a) != "security" {
                return None;
            }
            let (path, v) = data_field(a, "UserAccountControl")?;
            let t = v.to_string();
            let weakened: Vec<&str> =
                UAC_WEAKENED.iter().filter(|(code, _)| t.contains(code)).map(|(_, what)| *what).collect();
            (!weakened.is_empty())
                .then(|| vec![Evidence { path, value: v.clone(), note: format!("now set: {}", weakened.join(", ")) }])
        },
    },
    Detection {
        id: "guest_account_enabled",
        title: "The built-in Guest account was enabled",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.8,
        techniques: &["T1078.001"],
        actions: &["open_ticket"],
        matches: |a| {
            let (path, sid) = data_field(a, "TargetSid")?;
            (event_code(a) == Some(4722) && channel(a) == "security" && sid.to_string().ends_with("-501")).then(|| {
                vec![Evidence { path, value: sid.clone(), note: "RID 501: the built-in Guest account".into() }]
            })
        },
    },
    Detection {
        id: "sensitive_privilege_assigned",
        title: "A privilege that gives control of the system was assigned to an account",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1134"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) != Some(4704) || channel(a) != "security" {
                return None;
            }
            let (path, v) = data_field(a, "PrivilegeList")?;
            let t = v.to_string();
            let found: Vec<&str> = SENSITIVE_PRIVILEGES.iter().copied().filter(|p| t.contains(p)).collect();
            (!found.is_empty()).then(|| {
                vec![Evidence {
                    path,
                    value: v.clone(),
                    note: format!("{} lets its holder act as or over the system", found.join(", ")),
                }]
            })
        },
    },
    Detection {
        id: "directory_security_changed",
        title: "A security-relevant directory attribute was changed",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1222.001", "T1484.001", "T1098"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) != Some(5136) || channel(a) != "security" {
                return None;
            }
            let (attr_path, attr) = data_field(a, "AttributeLDAPDisplayName")?;
            let name = attr.to_string().to_lowercase();
            let dn = data_text(a, "ObjectDN").unwrap_or_default().to_lowercase();
            let note = if dn.contains("cn=adminsdholder") {
                "AdminSDHolder's attributes are copied onto every protected account and group"
            } else if dn.contains("cn=policies,cn=system")
                && ["gpcfilesyspath", "gpcmachineextensionnames", "gpcuserextensionnames", "versionnumber"]
                    .contains(&name.as_str())
            {
                "a Group Policy object was edited: what it holds runs on every computer it applies to"
            } else {
                match name.as_str() {
                    "ntsecuritydescriptor" => "who may do what to this object was changed",
                    "serviceprincipalname" => {
                        "a service principal name makes an account Kerberoastable or hides a rogue service"
                    }
                    "msds-allowedtodelegateto" | "msds-allowedtoactonbehalfofotheridentity" => {
                        "delegation lets this account impersonate others"
                    }
                    "useraccountcontrol" => {
                        "the account's control flags (delegation, pre-authentication, password rules) changed"
                    }
                    "admincount" | "sidhistory" => "this attribute grants or hides privilege",
                    _ => return None,
                }
            };
            Some(vec![Evidence { path: attr_path, value: attr.clone(), note: note.into() }])
        },
    },
    Detection {
        id: "remote_service_pipe",
        title: "The service control manager was reached over the network (remote service creation, PsExec-style)",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1569.002", "T1021.002"],
        actions: &["open_ticket"],
        matches: |a| named_pipe_access(a, "svcctl", "the service control manager's named pipe, opened over IPC$"),
    },
    Detection {
        id: "remote_task_pipe",
        title: "The task scheduler was reached over the network (remote scheduled task, atexec-style)",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1053.005", "T1021.002"],
        actions: &["open_ticket"],
        matches: |a| named_pipe_access(a, "atsvc", "the task scheduler's named pipe, opened over IPC$"),
    },
    Detection {
        id: "admin_like_account_created",
        title: "An account named like an administrator was created",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1136"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) != Some(4720) || channel(a) != "security" {
                return None;
            }
            let (path, name) = data_field(a, "TargetUserName")?;
            admin_like(&name.to_string()).then(|| {
                vec![Evidence {
                    path,
                    value: name.clone(),
                    note: "a new account whose name passes for an administrator's".into(),
                }]
            })
        },
    },
    Detection {
        id: "account_renamed_admin_like",
        title: "An account was renamed to look like an administrator or a computer",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1098"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) != Some(4781) || channel(a) != "security" {
                return None;
            }
            let old = data_text(a, "OldTargetUserName")?;
            let (path, new) = data_field(a, "NewTargetUserName")?;
            let text = new.to_string();
            // A user account (no `$`) given an administrator-like name, or a computer account's `$` dropped
            // (the sAMAccountName spoofing that impersonates a domain controller).
            let spoof = old.ends_with('$') && !text.ends_with('$');
            (old != text && (admin_like(&text) || spoof)).then(|| {
                vec![Evidence {
                    path,
                    value: new.clone(),
                    note: format!("renamed from {old}: the new name passes for an administrator or another machine"),
                }]
            })
        },
    },
    Detection {
        id: "firewall_weakened",
        title: "The Windows firewall was turned off or opened to everything",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1562.004"],
        actions: &["open_ticket"],
        matches: |a| {
            let ch = channel(a);
            match event_code(a)? {
                // 4950: a firewall setting changed; "Enable Windows Firewall" set to "No".
                4950 if ch == "security" => {
                    let setting = data_text(a, "SettingType")?;
                    let (path, value) = data_field(a, "SettingValue")?;
                    (setting.eq_ignore_ascii_case("Enable Windows Firewall")
                        && value.to_string().eq_ignore_ascii_case("no"))
                    .then(|| {
                        vec![Evidence {
                            path,
                            value: value.clone(),
                            note: "the firewall was turned off for a profile".into(),
                        }]
                    })
                }
                // 2004: a rule added; an allow rule for any program, any port, any remote address.
                2004 if ch.contains("firewall") => {
                    let any = |name: &str| data_text(a, name).is_none_or(|v| v.is_empty() || v == "*");
                    let allow = data_text(a, "Action").is_some_and(|v| v == "3");
                    let (path, remote) = data_field(a, "RemoteAddresses")?;
                    (allow && any("ApplicationPath") && any("LocalPorts") && remote.to_string() == "*").then(|| {
                        vec![Evidence {
                            path,
                            value: remote.clone(),
                            note: "an allow rule for any program, port and remote address".into(),
                        }]
                    })
                }
                _ => None,
            }
        },
    },
    Detection {
        id: "domain_audit_policy_changed",
        title: "The domain's policy or its special-logon auditing was changed by a person",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.65,
        techniques: &["T1484", "T1562.002"],
        actions: &["open_ticket"],
        matches: |a| {
            (matches!(event_code(a), Some(4739) | Some(4908)) && channel(a) == "security")
                .then(|| cite(a, Canon::EventCode, "4739: the domain's password, lockout or Kerberos policy changed; 4908: the table of groups whose logons are audited changed").into_iter().collect())
                .filter(|e: &Vec<Evidence>| !e.is_empty())
        },
    },
    Detection {
        id: "special_group_logon",
        title: "A member of a group the organisation watches signed in (special groups logon)",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1078.002"],
        actions: &["open_ticket"],
        matches: |a| {
            // Windows writes 4964 only for groups an administrator listed under special-groups
            // auditing: the organisation asked to hear about exactly these sign-ins.
            (event_code(a) == Some(4964) && channel(a) == "security")
                .then(|| {
                    cite(
                        a,
                        Canon::EventCode,
                        "4964: a sign-in by a member of a group listed for special-groups auditing",
                    )
                    .into_iter()
                    .collect()
                })
                .filter(|e: &Vec<Evidence>| !e.is_empty())
        },
    },
    Detection {
        id: "ids_alert_malware",
        title: "Network IDS signature for malware, command and control or exploitation",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1071.001"],
        actions: &["block_indicator", "isolate_host"],
        matches: |a| {
            if a.format != Format::Eve || channel(a) != "alert" {
                return None;
            }
            let sig = lower(a, Canon::RuleName)?;
            (["et malware", "et trojan", "et cnc", "et exploit", "et mobile_malware", "et phishing"]
                .iter()
                .any(|k| sig.starts_with(k))
                && vendor_severity(a).is_some_and(|s| s >= Severity::Medium))
            .then(|| {
                [
                    cite(a, Canon::RuleName, "the signature that fired"),
                    cite(a, Canon::VendorSeverity, "Suricata's severity (1 is highest)"),
                    cite(a, Canon::DestinationIp, "the remote address"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "ids_alert_policy",
        title: "Network IDS policy, informational or scan signature",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.7,
        techniques: &["T1046"],
        actions: &["add_note"],
        matches: |a| {
            if a.format != Format::Eve || channel(a) != "alert" {
                return None;
            }
            let sig = lower(a, Canon::RuleName)?;
            ["et policy", "et info", "et scan", "et hunting", "gpl icmp", "gpl scan"]
                .iter()
                .any(|k| sig.starts_with(k))
                .then(|| cite(a, Canon::RuleName, "the signature that fired").into_iter().collect())
        },
    },
    Detection {
        id: "network_metadata",
        title: "Network metadata record with no alert attached",
        verdict: Verdict::Benign,
        severity: Severity::Info,
        confidence: 0.9,
        techniques: &[],
        actions: &[],
        matches: |a| {
            (a.format == Format::Eve
                && ["dns", "flow", "http", "tls", "fileinfo", "netflow", "ssh", "smb"].contains(&channel(a).as_str()))
            .then(|| cite(a, Canon::Channel, "the record is metadata, not a detection").into_iter().collect())
        },
    },
];
