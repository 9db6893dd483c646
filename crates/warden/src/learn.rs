//! `warden review`, `warden workflows`, `warden metrics` and `warden eval`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use warden_core::{TechniqueId, Verdict};
use warden_engine::review::{DecisionInput, ReasonCode};
use warden_engine::{Engine, QualityReport as Report};

use crate::people::Auth;
use crate::print_json;

#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// The queue, highest priority first (severity, then age), a page at a time.
    List {
        /// new, in_review, decided or open (not decided).
        #[arg(long)]
        state: Option<String>,
        /// Exactly this severity.
        #[arg(long)]
        severity: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[command(flatten)]
        auth: Auth,
    },
    /// One alert with its assessment, validation, route and decisions (JSON).
    Show {
        id: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// Take an alert into review.
    Claim {
        id: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// Decide: confirm or correct the verdict and techniques, or flag the AI output.
    Decide {
        id: String,
        #[command(flatten)]
        decision: DecisionArgs,
        #[command(flatten)]
        auth: Auth,
    },
}

/// What a person decides, on an alert or on a whole incident.
#[derive(clap::Args, Debug)]
pub struct DecisionArgs {
    #[arg(long)]
    verdict: Verdict,
    /// Corrected techniques (repeat); omitted keeps the AI's.
    #[arg(long = "technique", value_name = "ID")]
    techniques: Vec<String>,
    /// hallucinated_evidence, wrong_technique, missed_attack, false_alarm or other.
    #[arg(long, value_name = "CODE")]
    reason_code: Option<String>,
    #[arg(long, default_value = "")]
    comment: String,
    /// How useful the AI's output was, 1 to 5.
    #[arg(long)]
    rating: Option<u8>,
    /// Replace your own earlier, different verdict.
    #[arg(long)]
    supersedes: bool,
}

impl DecisionArgs {
    fn input(self) -> anyhow::Result<DecisionInput> {
        let techniques = if self.techniques.is_empty() {
            None
        } else {
            Some(self.techniques.iter().map(|t| TechniqueId::parse(t)).collect::<Result<Vec<_>, _>>()?)
        };
        let reason_code = self
            .reason_code
            .map(|c| serde_json::from_value::<ReasonCode>(serde_json::Value::String(c.clone())))
            .transpose()
            .context(
                "unknown reason code (hallucinated_evidence, wrong_technique, missed_attack, false_alarm, other)",
            )?;
        Ok(DecisionInput {
            verdict: self.verdict,
            techniques,
            reason_code,
            comment: self.comment,
            rating: self.rating,
            supersedes: self.supersedes,
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum WorkflowsCommand {
    /// Every workflow, its stage and burn-in.
    List,
    /// End a workflow's burn-in (refused, and audited, unless its exit criteria are met).
    ExitBurnIn {
        name: String,
        #[command(flatten)]
        auth: Auth,
    },
}

#[derive(Subcommand, Debug)]
pub enum IncidentsCommand {
    /// Incidents, most severe and most recently active first, with the true total.
    List {
        /// open, decided or merged (default: open and decided).
        #[arg(long)]
        state: Option<String>,
        /// At least this severity.
        #[arg(long)]
        severity: Option<String>,
        /// Words that must appear in the title or the entities.
        #[arg(long, value_name = "WORDS")]
        search: Option<String>,
        /// Only incidents naming this entity (`host:ws01`, `user:ana`, `src:10.0.0.5`).
        #[arg(long)]
        entity: Option<String>,
        /// priority, event_age, age or recent.
        #[arg(long)]
        sort: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long, value_enum, default_value_t = ListOutput::Table)]
        output: ListOutput,
        #[command(flatten)]
        auth: Auth,
    },
    /// One incident: alerts folded, timeline, narrative with its grounding (JSON).
    Show {
        id: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// Decide an incident: the decision is recorded on each of its alerts.
    Decide {
        id: String,
        #[command(flatten)]
        decision: DecisionArgs,
        #[command(flatten)]
        auth: Auth,
    },
    /// Take an incident, hand it to someone, or release it (no --to).
    Assign {
        id: String,
        /// Who works it; omitted releases it.
        #[arg(long, value_name = "USER")]
        to: Option<String>,
        #[command(flatten)]
        auth: Auth,
    },
    /// Merge incidents into ID: their alerts move to it.
    Merge {
        id: String,
        /// An incident to fold in (repeat).
        #[arg(long = "from", value_name = "INCIDENT", required = true)]
        from: Vec<String>,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// Split alerts off ID into a new incident.
    Split {
        id: String,
        /// An alert to move out (repeat).
        #[arg(long = "alert", value_name = "ALERT", required = true)]
        alerts: Vec<String>,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        auth: Auth,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ListOutput {
    Table,
    Jsonl,
}

pub fn incidents(engine: &Engine, cmd: IncidentsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        IncidentsCommand::List { state, severity, search, entity, sort, limit, offset, output, auth } => {
            let filter = warden_engine::incidents::IncidentFilter {
                state,
                severity,
                assignee: None,
                q: search,
                entity,
                sort,
                limit: Some(limit),
                offset: Some(offset),
            };
            let page = engine.incidents(&auth.identity(engine)?, &filter)?;
            match output {
                ListOutput::Jsonl => {
                    for i in &page.items {
                        println!("{}", serde_json::to_string(i)?);
                    }
                }
                ListOutput::Table => {
                    println!(
                        "{:<20} {:<8} {:<10} {:>6} {:<20} TITLE",
                        "INCIDENT", "SEVERITY", "VERDICT", "ALERTS", "LAST SEEN"
                    );
                    for i in &page.items {
                        println!(
                            "{:<20} {:<8} {:<10} {:>6} {:<20} {}{}",
                            i.incident_id,
                            i.severity,
                            i.verdict,
                            i.alert_count,
                            i.last_seen.strftime("%Y-%m-%d %H:%M:%S"),
                            i.title,
                            if i.sla_breached { "  [SLA breached]" } else { "" }
                        );
                    }
                    pages_line(page.offset, page.items.len(), page.total, "incident(s)");
                }
            }
        }
        IncidentsCommand::Show { id, auth } => print_json(&engine.incident(&auth.identity(engine)?, &id)?)?,
        IncidentsCommand::Decide { id, decision, auth } => {
            print_json(&engine.decide_incident(&auth.identity(engine)?, &id, decision.input()?)?)?
        }
        IncidentsCommand::Assign { id, to, auth } => {
            print_json(&engine.assign_incident(&auth.identity(engine)?, &id, to.as_deref())?)?
        }
        IncidentsCommand::Merge { id, from, reason, auth } => {
            print_json(&engine.merge_incidents(&auth.identity(engine)?, &id, &from, &reason)?)?
        }
        IncidentsCommand::Split { id, alerts, reason, auth } => {
            let (left, new) = engine.split_incident(&auth.identity(engine)?, &id, &alerts, &reason)?;
            print_json(&serde_json::json!({"left": left, "new": new}))?
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn review(engine: &Engine, cmd: ReviewCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ReviewCommand::List { state, severity, limit, offset, auth } => {
            let filter = warden_engine::review::QueueFilter {
                state,
                severity,
                limit: Some(limit),
                offset: Some(offset),
                ..Default::default()
            };
            let page = engine.queue_page(&auth.identity(engine)?, &filter)?;
            let q = page.items;
            let shown = q.len();
            println!(
                "{:<23} {:<9} {:<8} {:>5} {:<10} {:<6} {:<10} ASSIGNEE",
                "ALERT", "STATE", "SEVERITY", "PRIO", "AI", "CONF", "WORKFLOW"
            );
            for e in q {
                println!(
                    "{:<23} {:<9} {:<8} {:>5.1} {:<10} {:<6} {:<10} {}",
                    e.item.alert_id,
                    e.item.state,
                    e.item.severity,
                    e.priority,
                    e.ai_verdict.map(|v| v.as_str()).unwrap_or("(hidden)"),
                    e.ai_confidence.map(|c| format!("{c:.2}")).unwrap_or_default(),
                    e.item.workflow,
                    e.item.assignee.unwrap_or_default()
                );
            }
            pages_line(page.offset, shown, page.total, "alert(s)");
        }
        ReviewCommand::Show { id, auth } => print_json(&engine.alert_view(&auth.identity(engine)?, &id)?)?,
        ReviewCommand::Claim { id, auth } => {
            engine.claim(&auth.identity(engine)?, &id)?;
            println!("{id} is in review");
        }
        ReviewCommand::Decide { id, decision, auth } => {
            let d = engine.decide(&auth.identity(engine)?, &id, decision.input()?)?;
            print_json(&d)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn workflows(engine: &Engine, cmd: WorkflowsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WorkflowsCommand::List => {
            for w in engine.workflows() {
                let state = match engine.store().workflow_state(&w.name)? {
                    None => "burn-in (not started: no alert yet)".to_owned(),
                    Some((start, None)) => format!("burn-in since {start} (at least {} days)", w.burn_in_days),
                    Some((_, Some(end))) => format!("out of burn-in since {end}"),
                };
                println!(
                    "{:<16} stage={:<10} threshold={:.2} qa={:.0}% {state}",
                    w.name,
                    serde_json::to_value(w.stage)?.as_str().unwrap_or_default(),
                    w.confidence_threshold,
                    w.qa_sample_rate * 100.0
                );
            }
        }
        WorkflowsCommand::ExitBurnIn { name, auth } => match engine.exit_burn_in(&auth.identity(engine)?, &name) {
            Ok(r) => println!(
                "burn-in of {name} ended ({} reviews, malicious recall {:.3}, ECE {:.3})",
                r.n, r.malicious_recall, r.ece
            ),
            Err(warden_engine::EngineError::Refused(why)) => {
                anstream::eprintln!("{}refused:{} {why}", crate::style::ERR.render(), crate::style::ERR.render_reset());
                return Ok(ExitCode::from(1));
            }
            Err(e) => return Err(e.into()),
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &Report) {
    println!("n = {}", r.n);
    println!("precision {:.3}  recall {:.3}  F1 {:.3}  (attack vs not)", r.precision, r.recall, r.f1);
    println!("recall on malicious {:.3}", r.malicious_recall);
    println!(
        "acceptance {:.3} (95% CI {:.3}–{:.3}), override {:.3}",
        r.acceptance_rate, r.acceptance_ci95.0, r.acceptance_ci95.1, r.override_rate
    );
    println!("AI said benign, truth malicious: {}", r.ai_benign_human_malicious);
    println!("ECE {:.3}  Brier {:.3}", r.ece, r.brier);
    for (v, p) in &r.per_verdict {
        println!("  {v:<10} precision {:.3} recall {:.3} F1 {:.3} n {}", p.precision, p.recall, p.f1, p.n);
    }
    if !r.per_tactic.is_empty() {
        println!("per-tactic recall:");
        for (t, x) in &r.per_tactic {
            println!("  {t:<24} {:.3} (n {})", x.recall, x.n);
        }
    }
    let thin = r.reliability.iter().filter(|b| b.n > 0 && !b.sufficient).count();
    if thin > 0 {
        println!("({thin} reliability bin(s) hold too few samples to judge calibration there)");
    }
}

pub fn metrics(engine: &Engine, workflow: Option<String>, json: bool) -> anyhow::Result<ExitCode> {
    let r = engine.quality(workflow.as_deref())?;
    let spots = engine.blind_spots(workflow.as_deref())?;
    let analysts = engine.analyst_patterns()?;
    let by_analyzer = engine.acceptance_by_analyzer()?;
    if json {
        let mut v = serde_json::to_value(&r)?;
        v["per_analyzer"] = serde_json::to_value(&by_analyzer)?;
        v["blind_spots"] = serde_json::to_value(&spots)?;
        v["analysts"] = serde_json::to_value(&analysts)?;
        print_json(&v)?;
    } else {
        print_report(&r);
        for s in &spots {
            anstream::println!(
                "{}BLIND SPOT{} {}: {} ({} attacks)",
                crate::style::ERR.render(),
                crate::style::ERR.render_reset(),
                s.tactic,
                s.why,
                s.n
            );
        }
        for (name, a) in &by_analyzer {
            println!(
                "analyzer {name}: accepted {:.3} (95% CI {:.3}–{:.3}) over {} decisions",
                a.acceptance_rate, a.ci95.0, a.ci95.1, a.n
            );
        }
        for a in analysts.iter().filter(|a| !a.flags.is_empty()) {
            println!("analyst {} ({} decisions): {}", a.analyst, a.decisions, a.flags.join("; "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn eval(config: &warden_engine::Config, file: &PathBuf, report: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (r, prepared) = warden_engine::eval::evaluate(config, &bytes)?;
    for (line, why) in &prepared.problems {
        eprintln!("skipped {}:{line}: {why}", file.display());
    }
    print_report(&r);
    if let Some(path) = report {
        std::fs::write(path, serde_json::to_string_pretty(&r)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `warden eval --evtx-index`: per-capture detection, benign flags and
/// technique hits, per technique and tactic, and what was missed.
pub fn eval_captures(
    config: warden_engine::Config,
    index: &std::path::Path,
    rules: Option<&std::path::Path>,
    report: Option<&PathBuf>,
) -> anyhow::Result<ExitCode> {
    let engine = Engine::in_memory(config)?;
    if let Some(dir) = rules {
        let imported = engine.import_rules(crate::operator(), dir, None)?;
        let r = &imported.report;
        eprintln!("rule set {}: {} of {} rules usable", imported.version, r.usable, r.total);
    }
    let started = std::time::Instant::now();
    let cpu0 = cpu_seconds();
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("scoring {bar:30} {pos}/{len} captures  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let r = warden_engine::eval::evaluate_captures(&engine, index, &mut |s, done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(s.file.clone());
    })?;
    bar.finish_and_clear();
    let pct = |t: &warden_engine::eval::Tally| {
        if t.total == 0 {
            "-".to_owned()
        } else {
            format!("{}/{} ({:.1}%)", t.hit, t.total, 100.0 * t.hit as f64 / t.total as f64)
        }
    };
    println!("captures: {}; events: {}", r.captures.len(), r.events);
    println!("detected (attack captures):  {}", pct(&r.detected));
    println!("flagged (benign captures):   {}", pct(&r.flagged));
    println!("technique hit:               {}", pct(&r.technique_hit));
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    match cpu {
        Some(c) if c > 0.0 => println!(
            "time: {:.1} s wall, {c:.1} CPU-s, {:.0} events per CPU-second",
            started.elapsed().as_secs_f64(),
            r.events as f64 / c
        ),
        _ => println!("time: {:.1} s wall", started.elapsed().as_secs_f64()),
    }
    println!("\nper tactic (attack captures detected):");
    for (t, tally) in &r.per_tactic {
        println!("  {t:<24} {}", pct(tally));
    }
    println!("\nper technique (captures where it was named):");
    for (t, tally) in &r.per_technique {
        println!("  {t:<12} {}", pct(tally));
    }
    println!("\nmissed attack captures:");
    for c in r.captures.iter().filter(|c| c.malicious && !c.detected) {
        println!("  {}  {}", c.file, c.labelled.join(","));
    }
    println!("\nflagged benign captures:");
    for c in r.captures.iter().filter(|c| !c.malicious && c.detected) {
        println!("  {}  predicted: {}", c.file, c.predicted.join(","));
    }
    if let Some(path) = report {
        std::fs::write(path, serde_json::to_string_pretty(&r)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// CPU time this process has used (user + system), where the platform says.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((utime + stime) / 100.0)
}

pub fn coverage(engine: &Engine, navigator: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    let (rules, labelled) = engine.coverage_layers()?;
    let count = |l: &serde_json::Value| l["techniques"].as_array().map_or(0, Vec::len);
    println!("detections cover {} techniques; labelled decisions cover {}", count(&rules), count(&labelled));
    println!("{}", labelled["description"].as_str().unwrap_or_default());
    for t in labelled["techniques"].as_array().into_iter().flatten() {
        println!(
            "  {:<10} recall {:>3}%  {}",
            t["techniqueID"].as_str().unwrap_or(""),
            t["score"],
            t["comment"].as_str().unwrap_or("")
        );
    }
    if let Some(path) = navigator {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("coverage");
        let twin = path.with_file_name(format!("{stem}-labelled.json"));
        std::fs::write(path, serde_json::to_string_pretty(&rules)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        std::fs::write(&twin, serde_json::to_string_pretty(&labelled)? + "\n")
            .with_context(|| format!("cannot write {}", twin.display()))?;
        eprintln!("Navigator layers written: {} (detections), {} (labelled data)", path.display(), twin.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Where a page is in the whole, on stderr (so the table or JSON on stdout stays clean).
fn pages_line(offset: usize, shown: usize, total: u64, what: &str) {
    let end = (offset + shown) as u64;
    eprintln!(
        "{}–{} of {} {what}{}",
        if shown == 0 { 0 } else { offset + 1 },
        end,
        total,
        if end < total { format!("; next page: --offset {end}") } else { String::new() }
    );
}
