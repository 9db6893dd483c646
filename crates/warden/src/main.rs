//! `warden`: the command line and the HTTP server.
//!
//! This is the only crate that knows argv, the terminal and HTTP. It parses
//! arguments, loads the configuration, opens the engine and presents what the
//! engine reports; every decision is made below it.

mod api;
mod crash;
mod dev;
mod httpmetrics;
mod injection;
mod learn;
mod load;
mod outbound;
mod people;
mod pii;
mod queue;
mod serve;
mod syslog;
mod triage;
mod web;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use warden_engine::{Config, Engine};

/// Governed AI triage for security operations.
#[derive(Parser, Debug)]
#[command(name = "warden", version, about, propagate_version = true)]
struct Cli {
    /// Directory holding Warden's database.
    #[arg(long, global = true, value_name = "DIR", default_value = "./warden-data", env = "WARDEN_DATA")]
    data: PathBuf,
    /// Configuration file (TOML). Environment variables WARDEN_SECTION__KEY override it.
    #[arg(long, global = true, value_name = "FILE", env = "WARDEN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run files (or `-` for stdin) through the whole pipeline.
    Triage(triage::Args),
    /// Serve the HTTP API.
    Serve(serve::Args),
    /// Take alerts from the JetStream ingest stream (`[queue]`) and run them
    /// through the pipeline, acknowledging each once its batch has committed.
    /// Run several, on one shared PostgreSQL store, to scale out.
    Worker(queue::WorkerArgs),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Audit log commands.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Local accounts.
    #[command(subcommand)]
    Users(people::UsersCommand),
    /// API bearer tokens.
    #[command(subcommand)]
    Tokens(people::TokensCommand),
    /// Response actions: request, approve, reject, execute; the risk matrix.
    #[command(subcommand)]
    Actions(people::ActionsCommand),
    /// The stop switch.
    #[command(subcommand)]
    Stop(people::StopCommand),
    /// The review queue.
    #[command(subcommand)]
    Review(learn::ReviewCommand),
    /// Incidents: queued alerts grouped by shared entities and kill-chain progression.
    #[command(subcommand)]
    Incidents(learn::IncidentsCommand),
    /// Workflows and their burn-in.
    #[command(subcommand)]
    Workflows(learn::WorkflowsCommand),
    /// Quality figures from analysts' decisions.
    Metrics {
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// ATT&CK coverage of the detections and of the labelled decisions; with
    /// --navigator, writes ATT&CK Navigator layers (FILE and FILE's `-labelled` twin).
    Coverage {
        #[arg(long, value_name = "FILE")]
        navigator: Option<PathBuf>,
    },
    /// Retrain the local analyzer's classifier from decisions; activated only if
    /// no worse than the active one on held-out decisions (audited either way).
    Retrain {
        /// Training budget (gradient passes).
        #[arg(long, default_value_t = 200)]
        iterations: u32,
        #[command(flatten)]
        auth: people::Auth,
    },
    /// Print exactly what a provider would receive for each alert of a file
    /// (after protection and the egress check). Nothing is sent.
    Preview {
        file: PathBuf,
        #[arg(long, value_name = "NAME")]
        provider: String,
    },
    /// The dead-letter store, newest first, one JSON object per line: each
    /// record that could not be read, where it came from and why. Needs
    /// `read_audit`; `--raw REASON` adds the bytes (never protected, so it
    /// needs `reidentify` too, and is audited).
    DeadLetters {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, value_name = "REASON")]
        raw: Option<String>,
        #[command(flatten)]
        auth: people::Auth,
    },
    /// Warden's verdicts as OCSF findings, one JSON object per line, read
    /// from the audit log: Detection Findings for assessments and analyst
    /// decisions, Incident Findings for incident changes (what `[outbound]`
    /// sends a SIEM). Needs `read_audit`.
    ExportOcsf {
        /// First audit sequence number to read.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Most audit entries to read.
        #[arg(long, default_value_t = 100_000)]
        limit: usize,
        #[command(flatten)]
        auth: people::Auth,
    },
    /// The privacy gateway: re-identification and the data-processing register.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// Sigma rule sets.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Re-run the alerts analysts decided through the active rule set and a
    /// candidate, in shadow: recall and precision with intervals, per-tactic
    /// recall, verdict flips, calibration, and whether the activation gate
    /// passes (exit 0) or refuses (exit 1). Nothing is activated.
    Replay {
        /// A directory of Sigma rules to try.
        #[arg(
            long,
            value_name = "DIR",
            required_unless_present = "candidate_config",
            conflicts_with = "candidate_config"
        )]
        candidate_rules: Option<PathBuf>,
        /// Or a configuration file whose provider (model, prompt, endpoint,
        /// classes, price table) to try against the stored assessments; its
        /// calls are real calls and their cost is reported.
        #[arg(long, value_name = "FILE")]
        candidate_config: Option<PathBuf>,
        /// The candidate configuration's provider (default: its `govern.analyzer`).
        #[arg(long, value_name = "NAME", requires = "candidate_config")]
        provider: Option<String>,
        /// When the gate refuses the candidate analyzer, let it be activated
        /// anyway: a manager's token (--token) and a written reason.
        #[arg(long, value_name = "TEXT", requires_all = ["candidate_config", "token"])]
        override_reason: Option<String>,
        /// A manager's bearer token, needed with --override-reason.
        #[arg(long, env = "WARDEN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
        token: Option<String>,
        /// Only alerts received since this time or date.
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t = RulesOutput::Text)]
        output: RulesOutput,
    },
    /// Tools for trying and testing Warden.
    #[command(subcommand)]
    Dev(DevCommand),
    /// Reports for people who manage the SOC.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Fit a calibration map for the analyzer from analysts' decisions; routing applies it from then on.
    Calibrate {
        #[command(flatten)]
        auth: people::Auth,
    },
    /// Score the analyzer on a labelled file (each record has a top-level `_label`
    /// `{"malicious": bool, "techniques": [...]}`, removed before analysis), on a
    /// throw-away store.
    Eval {
        /// NDJSON or a JSON array of records, each with a `_label`.
        #[arg(required_unless_present = "evtx_index", conflicts_with = "evtx_index")]
        file: Option<PathBuf>,
        /// Score per capture instead: an `index.json` listing EVTX files with
        /// file-level labels (`{"file","malicious","techniques"}`), as in
        /// `dev-evtx/`. Runs on a throw-away store, not the data directory.
        #[arg(long, value_name = "INDEX")]
        evtx_index: Option<PathBuf>,
        /// With --evtx-index: Sigma rules to make active first (as `warden rules import` would).
        #[arg(long, value_name = "DIR", requires = "evtx_index")]
        rules: Option<PathBuf>,
        /// Also write the figures as JSON.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum PrivacyCommand {
    /// The original behind a token (needs the re-identify permission; audited with your reason).
    Reidentify {
        /// The token, e.g. `<EMAIL_7f3a2c91d0>`.
        #[arg(value_name = "TOKEN")]
        value_token: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        auth: people::Auth,
    },
    /// Which provider received which data classes, where, how often, first and last time.
    Register {
        #[arg(long, value_enum, default_value_t = RegisterFormat::Table)]
        format: RegisterFormat,
    },
    /// The built-in recognisers (names for `privacy.disabled_recognisers`).
    Recognisers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RegisterFormat {
    Table,
    Json,
    Csv,
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// Make the usable Sigma rules under DIR the active rule set (versioned,
    /// audited), once a replay of them on the alerts analysts decided passed the gate.
    Import {
        dir: PathBuf,
        /// Activate even though the replay gate refused (a manager's token and a written reason).
        #[arg(long, value_name = "TEXT", requires = "token")]
        override_reason: Option<String>,
        /// A manager's bearer token, needed with --override-reason.
        #[arg(long, env = "WARDEN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
        token: Option<String>,
    },
    /// Load every Sigma rule under DIR and report those that cannot be used, with why.
    Check {
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t = RulesOutput::Text)]
        output: RulesOutput,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RulesOutput {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum DevCommand {
    /// An OpenAI-compatible test endpoint that answers from a script and records requests.
    TestLlm(dev::Args),
    /// A load generator for POST /api/v1/alerts: alerts/s, latency percentiles, server memory.
    Load(load::Args),
    /// The crash test: kill `warden serve` (SIGKILL) at random moments under load, round after
    /// round, then check that every acknowledged alert is stored once and the audit log verifies.
    Crash(crash::Args),
    /// Write the labelled PII corpus (fixed seed) as JSON lines, for scoring other tools on it.
    PiiCorpus(pii::Args),
    /// Warden's per-kind recall and precision on the PII corpus, and lines/s recognising and tokenising.
    PiiScore(pii::Args),
    /// The prompt-injection screen's recall and false-positive rate on its labelled corpus, held-out rounds and bastioncorpus.
    InjectionScore(injection::Args),
}

#[derive(Subcommand, Debug)]
enum ReportCommand {
    /// The last seven days: impact before/with AI, accuracy, blind spots (Markdown on stdout, or files with --out).
    Weekly {
        /// Write weekly-report.md and weekly-report.json into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Validate the configuration and report every error together.
    Check,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Verify the whole log: hash chain, Merkle tree and every stored
    /// checkpoint; or, with --checkpoint and --public-key, against a
    /// checkpoint kept elsewhere, trusting nothing but that key.
    Verify {
        /// A signed checkpoint kept outside this machine.
        #[arg(long, value_name = "FILE", requires = "public_key")]
        checkpoint: Option<PathBuf>,
        /// The public key (signed-note verifier key) to check it with.
        #[arg(long, value_name = "FILE", requires = "checkpoint")]
        public_key: Option<PathBuf>,
    },
    /// Print an inclusion proof (JSON) for one entry against the newest signed checkpoint.
    Prove {
        /// Sequence number of the entry (from 1).
        #[arg(long, value_name = "N")]
        entry: u64,
    },
    /// Print a consistency proof (JSON) between two tree sizes.
    Consistency {
        #[arg(long, value_name = "A")]
        from: u64,
        /// Default: the newest checkpoint's size.
        #[arg(long, value_name = "B")]
        to: Option<u64>,
    },
    /// Write an evidence bundle for one alert: the alert, its assessment,
    /// validation and route, and every audit entry about it with its proof.
    Export {
        #[arg(long, value_name = "ID")]
        alert: String,
        /// Output file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The bundle shows the alert as your roles' view policy does.
        #[command(flatten)]
        auth: people::Auth,
    },
    /// Sign and write a checkpoint of the log now.
    Checkpoint,
    /// Print the public key that verifies this log's checkpoints.
    PublicKey,
    /// Replace the signing key; the old public key is kept so old checkpoints still verify.
    RotateKey,
    /// Purge the content of entries older than a date (refused inside the retention period).
    Purge {
        /// RFC 3339 time or YYYY-MM-DD (UTC).
        #[arg(long, value_name = "TIME")]
        before: String,
    },
}

/// Input formats for `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Auto,
    Ocsf,
    Ecs,
    Eve,
    Evtx,
    Zeek,
    Syslog,
    Cef,
    Leef,
    Json,
}

impl FormatArg {
    pub fn forced(self) -> Option<warden_core::Format> {
        use warden_core::Format;
        match self {
            FormatArg::Auto => None,
            FormatArg::Ocsf => Some(Format::Ocsf),
            FormatArg::Ecs => Some(Format::Ecs),
            FormatArg::Eve => Some(Format::Eve),
            FormatArg::Evtx => Some(Format::Evtx),
            FormatArg::Zeek => Some(Format::Zeek),
            FormatArg::Syslog => Some(Format::Syslog),
            FormatArg::Cef => Some(Format::Cef),
            FormatArg::Leef => Some(Format::Leef),
            FormatArg::Json => Some(Format::Json),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            anstream::eprintln!("{}error:{} {e:#}", style::ERR.render(), style::ERR.render_reset());
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Config(ConfigCommand::Check) => {
            let path = cli.config.as_deref();
            match Config::load(path, std::env::vars()) {
                Ok(_) => {
                    println!("configuration ok{}", path.map(|p| format!(": {}", p.display())).unwrap_or_default());
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    for e in &errors.0 {
                        anstream::eprintln!("{}error:{} {e}", style::ERR.render(), style::ERR.render_reset());
                    }
                    anstream::eprintln!("{} error(s) in the configuration", errors.0.len());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Triage(args) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            triage::run(&engine, args)
        }
        Command::Worker(args) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            queue::worker(engine, args)
        }
        Command::Serve(args) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            serve::run(engine, args, &cli.data)
        }
        Command::Audit(cmd) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            audit(&engine, cmd)
        }
        Command::Users(cmd) => people::users(&open(&cli.data, cli.config.as_deref())?, cmd),
        Command::Tokens(cmd) => people::tokens(&open(&cli.data, cli.config.as_deref())?, cmd),
        Command::Actions(cmd) => people::actions(&open(&cli.data, cli.config.as_deref())?, cmd),
        Command::Stop(cmd) => people::stop(&open(&cli.data, cli.config.as_deref())?, cmd),
        Command::Review(cmd) => learn::review(&open(&cli.data, cli.config.as_deref())?, cmd),
        Command::Incidents(cmd) => learn::incidents(&open(&cli.data, cli.config.as_deref())?, cmd),
        Command::Workflows(cmd) => learn::workflows(&open(&cli.data, cli.config.as_deref())?, cmd),
        Command::Metrics { workflow, json } => learn::metrics(&open(&cli.data, cli.config.as_deref())?, workflow, json),
        Command::Retrain { iterations, auth } => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            let r = engine.retrain(&auth.identity(&engine)?, iterations)?;
            println!(
                "{}: {} (held-out F1 {:.3} against {:.3} for {})",
                r.version,
                if r.activated { "activated" } else { "refused: worse than the active one" },
                r.candidate_f1,
                r.active_f1,
                r.active
            );
            Ok(if r.activated { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Preview { file, provider } => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut blocked = 0;
            for item in engine.preview(&bytes, &file.display().to_string(), &provider)? {
                println!("{}", serde_json::to_string(&item.body)?);
                if !item.blocked.is_empty() {
                    blocked += 1;
                    anstream::eprintln!(
                        "{}BLOCKED{} {}: {}",
                        style::ERR.render(),
                        style::ERR.render_reset(),
                        item.alert_id,
                        item.blocked.join("; ")
                    );
                }
            }
            Ok(if blocked > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::ExportOcsf { from, limit, auth } => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            auth.identity(&engine)?.authorize(warden_govern::Permission::ReadAudit, "export findings")?;
            let mut at = from;
            let mut left = limit;
            while left > 0 {
                let (findings, next) = engine.ocsf_findings(at, left.min(5_000))?;
                if next == at {
                    break;
                }
                for f in findings {
                    println!("{f}");
                }
                left = left.saturating_sub((next - at) as usize);
                at = next;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::DeadLetters { limit, raw, auth } => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            for d in engine.dead_letters(&auth.identity(&engine)?, limit, raw.as_deref())? {
                let mut row = serde_json::json!({
                    "id": d.id,
                    "received_at": d.received_at.to_string(),
                    "origin": d.origin.to_string(),
                    "reason": d.reason,
                });
                if raw.is_some() {
                    row["raw"] = String::from_utf8_lossy(&d.raw).into_owned().into();
                }
                println!("{row}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Privacy(PrivacyCommand::Reidentify { value_token, reason, auth }) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            println!("{}", engine.reidentify(&auth.identity(&engine)?, &value_token, &reason)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Privacy(PrivacyCommand::Register { format }) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            let rows = engine.store().register()?;
            match format {
                RegisterFormat::Json => print_json(&rows)?,
                RegisterFormat::Csv => {
                    println!("provider,residency,class,handling,fields,first_seen,last_seen");
                    for r in rows {
                        println!(
                            "{},{},{},{},{},{},{}",
                            r.provider,
                            r.residency,
                            r.class,
                            r.handling,
                            r.fields,
                            r.first_seen.unwrap_or_default(),
                            r.last_seen.unwrap_or_default()
                        );
                    }
                }
                RegisterFormat::Table => {
                    println!(
                        "{:<12} {:<14} {:<14} {:<9} {:>8}  FIRST / LAST",
                        "PROVIDER", "RESIDENCY", "CLASS", "HANDLING", "FIELDS"
                    );
                    for r in rows {
                        println!(
                            "{:<12} {:<14} {:<14} {:<9} {:>8}  {} / {}",
                            r.provider,
                            r.residency,
                            r.class,
                            r.handling,
                            r.fields,
                            r.first_seen.unwrap_or_default(),
                            r.last_seen.unwrap_or_default()
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Privacy(PrivacyCommand::Recognisers) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            for name in engine.recogniser_names() {
                println!("{name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dev(DevCommand::TestLlm(args)) => dev::test_llm(args),
        Command::Dev(DevCommand::Load(args)) => load::run(args),
        Command::Dev(DevCommand::Crash(args)) => crash::run(args, &cli.data, cli.config.as_deref()),
        Command::Dev(DevCommand::PiiCorpus(args)) => pii::corpus(args),
        Command::Dev(DevCommand::PiiScore(args)) => pii::score(args),
        Command::Dev(DevCommand::InjectionScore(args)) => injection::score(args),
        Command::Rules(RulesCommand::Import { dir, override_reason, token }) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            let manager = match (&override_reason, &token) {
                (Some(_), Some(t)) => Some(engine.authenticate(t).context("the token is not valid")?),
                _ => None,
            };
            let by = manager.as_ref().zip(override_reason.as_deref());
            let imported = engine.import_rules(operator(), &dir, by)?;
            let report = &imported.report;
            if imported.replay.decided > 0 {
                eprint!("{}", imported.replay.text());
            }
            if let Some(why) = &imported.overridden {
                eprintln!("the replay gate refused; overridden by a manager: {why}");
            }
            println!(
                "rule set {} active: {} of {} rules usable ({} unusable; `warden rules check` lists them)",
                imported.version,
                report.usable,
                report.total,
                report.unusable.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { candidate_rules, candidate_config, provider, since, output, override_reason, token } => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            let since = since.as_deref().map(parse_time).transpose()?;
            let report = match (candidate_rules, candidate_config) {
                (Some(dir), _) => engine.replay_rules(&dir, since)?,
                (None, Some(file)) => {
                    let candidate = Config::load(Some(&file), std::env::vars())
                        .with_context(|| format!("invalid candidate configuration {}", file.display()))?;
                    let name = provider.unwrap_or_else(|| candidate.govern.analyzer.clone());
                    engine.replay_analyzer(&candidate, &name, since)?
                }
                (None, None) => anyhow::bail!("say what to try: --candidate-rules DIR or --candidate-config FILE"),
            };
            if let (false, Some(reason), Some(token)) = (report.passed, &override_reason, &token) {
                let who = engine.authenticate(token).context("the token is not valid")?;
                engine.override_analyzer_gate(&who, &report.candidate, reason)?;
                eprintln!("the gate refused {}; overridden by {}: it may be activated", report.candidate, who.user);
            }
            match output {
                RulesOutput::Json => print_json(&report)?,
                RulesOutput::Text => print!("{}", report.text()),
            }
            Ok(if report.passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Rules(RulesCommand::Check { dir, output }) => {
            let (report, _) =
                warden_engine::rules::check(&dir).with_context(|| format!("cannot read rules in {}", dir.display()))?;
            match output {
                RulesOutput::Json => print_json(&report)?,
                RulesOutput::Text => {
                    for u in &report.unusable {
                        println!("{}: {}", u.path, u.reason);
                    }
                    println!(
                        "{} of {} rules usable ({:.1} %)",
                        report.usable,
                        report.total,
                        100.0 * report.usable as f64 / report.total.max(1) as f64
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(ReportCommand::Weekly { out }) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            let (md, json) = engine.weekly_report()?;
            match out {
                Some(dir) => {
                    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                    std::fs::write(dir.join("weekly-report.md"), &md)?;
                    std::fs::write(dir.join("weekly-report.json"), serde_json::to_string_pretty(&json)? + "\n")?;
                    eprintln!("written: {0}/weekly-report.md, {0}/weekly-report.json", dir.display());
                }
                None => print!("{md}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Coverage { navigator } => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            learn::coverage(&engine, navigator.as_ref())
        }
        Command::Calibrate { auth } => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            for (version, map, before, after) in engine.calibrate(&auth.identity(&engine)?)? {
                println!(
                    "{version}: {} map from {} decisions; ECE on them {before:.3} before, {after:.3} after",
                    map.method, map.n
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { file, evtx_index, rules, report } => {
            let config = Config::load(cli.config.as_deref(), std::env::vars()).context("invalid configuration")?;
            match (file, evtx_index) {
                (_, Some(index)) => learn::eval_captures(config, &index, rules.as_deref(), report.as_ref()),
                (Some(file), None) => learn::eval(&config, &file, report.as_ref()),
                (None, None) => unreachable!("clap requires FILE or --evtx-index"),
            }
        }
    }
}

pub(crate) fn operator() -> warden_core::Actor {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    warden_core::Actor::User(format!("cli:{who}"))
}

pub(crate) fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(v)?;
    match writeln!(std::io::stdout().lock(), "{text}") {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn audit(engine: &Engine, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify { checkpoint, public_key } => {
            let external = match (checkpoint, public_key) {
                (Some(c), Some(k)) => Some((
                    std::fs::read_to_string(&c).with_context(|| format!("cannot read {}", c.display()))?,
                    std::fs::read_to_string(&k).with_context(|| format!("cannot read {}", k.display()))?,
                )),
                _ => None,
            };
            match engine.verify_audit_log(external.as_ref().map(|(c, k)| (c.as_str(), k.as_str())))? {
                Ok(r) => {
                    println!(
                        "audit log intact: {} entries ({} purged), hash chain and Merkle tree verified, root {}",
                        r.entries,
                        r.pruned,
                        warden_audit_hex(&r.root)
                    );
                    for (source, size, keys) in &r.checkpoints {
                        println!("  checkpoint at size {size} verified ({source}), signed by {}", keys.join(", "));
                    }
                    // Entries past the newest signed checkpoint are only as safe as the database:
                    // deleting or rewriting them would not be noticed until one covers them.
                    let covered = r.checkpoints.iter().map(|(_, size, _)| *size).max().unwrap_or(0);
                    let total = r.entries;
                    if total > covered {
                        anstream::println!(
                            "  {}{} entries after the newest checkpoint (size {covered}) are not yet protected by a signature{} — `warden audit checkpoint` signs one now",
                            style::WARN.render(),
                            total - covered,
                            style::WARN.render_reset()
                        );
                    }
                    if external.is_some() && r.checkpoints.is_empty() {
                        anyhow::bail!("the given checkpoint was not checked");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    anstream::eprintln!("{}audit log damaged:{} {e}", style::ERR.render(), style::ERR.render_reset());
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::Prove { entry } => {
            print_json(&engine.prove_entry(entry)?)?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Consistency { from, to } => {
            print_json(&engine.prove_consistency(from, to)?)?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { alert, out, auth } => {
            let who = auth.identity(engine)?;
            let bundle = serde_json::to_string_pretty(&engine.evidence_bundle(&who, &alert)?)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, bundle + "\n").with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("evidence bundle for {alert} written to {}", path.display());
                }
                None => println!("{bundle}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint => {
            match engine.write_checkpoint()? {
                Some(p) => println!("{}", p.display()),
                None => println!("the log is empty; no checkpoint written"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::PublicKey => {
            println!("{}", engine.audit_public_key());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::RotateKey => {
            let (old, new) = engine.rotate_audit_key(operator())?;
            println!("signing key rotated: {old} retired, {new} in use");
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Purge { before } => {
            let t = parse_time(&before)?;
            match engine.purge_audit(t, operator()) {
                Ok(n) => {
                    println!("{n} entries purged; their hashes remain and the log still verifies");
                    Ok(ExitCode::SUCCESS)
                }
                Err(warden_engine::AuditError::Refused(why)) => {
                    anstream::eprintln!("{}purge refused:{} {why}", style::ERR.render(), style::ERR.render_reset());
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

fn parse_time(s: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let d: jiff::civil::Date =
        s.parse().with_context(|| format!("not a time (RFC 3339) or date (YYYY-MM-DD): {s:?}"))?;
    Ok(d.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp())
}

fn warden_audit_hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn open(data: &Path, config: Option<&Path>) -> anyhow::Result<Engine> {
    let config = Config::load(config, std::env::vars()).context("invalid configuration (run `warden config check`)")?;
    Engine::open(data, config).with_context(|| format!("cannot open the store in {}", data.display()))
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Terminal styles, in one place.
pub mod style {
    use anstyle::{AnsiColor, Style};
    pub const ERR: Style = AnsiColor::Red.on_default().bold();
    pub const WARN: Style = AnsiColor::Yellow.on_default();
    pub const DIM: Style = Style::new().dimmed();
    pub const BOLD: Style = Style::new().bold();
    pub const ESCALATED: Style = AnsiColor::Red.on_default().bold();
    pub const REVIEW: Style = AnsiColor::Yellow.on_default().bold();
    pub const CLOSED: Style = AnsiColor::Green.on_default();
}

#[cfg(test)]
mod tests {
    /// Clap checks the whole command tree (names, conflicts) only when asked.
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
