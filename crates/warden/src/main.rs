//! `warden`: the command line and the HTTP server.
//!
//! This is the only crate that knows argv, the terminal and HTTP. It parses
//! arguments, loads the configuration, opens the engine and presents what the
//! engine reports; every decision is made below it.

mod serve;
mod triage;

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
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Audit log commands.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Validate the configuration and report every error together.
    Check,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Verify the audit log's hash chain; names the first bad entry.
    Verify,
}

/// Input formats for `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Auto,
    Ocsf,
    Ecs,
    Eve,
    Evtx,
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
        Command::Serve(args) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            serve::run(engine, args)
        }
        Command::Audit(AuditCommand::Verify) => {
            let engine = open(&cli.data, cli.config.as_deref())?;
            match engine.verify_audit()? {
                Ok(n) => {
                    println!("audit log intact: {n} entries, hash chain verified");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    anstream::eprintln!("{}audit log damaged:{} {e}", style::ERR.render(), style::ERR.render_reset());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
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
