//! `warden triage`: files through the pipeline, results on stdout.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use warden_core::RouteKind;
use warden_engine::{Engine, Event, Summary, TriageResult};

use crate::FormatArg;
use crate::style;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Input format; `auto` detects it per record.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    format: FormatArg,
    /// `table` for people, `jsonl` for programs (one JSON object per alert).
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Table,
    Jsonl,
}

/// Files are read and triaged in groups of at most this many bytes (a larger file alone).
const GROUP_BYTES: u64 = 8 << 20;

pub fn run(engine: &Engine, args: Args) -> anyhow::Result<ExitCode> {
    let inputs: Vec<(String, Option<u64>)> = args
        .files
        .iter()
        .map(|f| (f.clone(), if f == "-" { None } else { std::fs::metadata(f).ok().map(|m| m.len()) }))
        .collect();
    let total: u64 = inputs.iter().filter_map(|(_, n)| *n).sum();
    let bar = if std::io::stderr().is_terminal() && total > 0 {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{bar:32}] {bytes}/{total_bytes} {msg} ({eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(anstream::AutoStream::auto(stdout.lock()));
    if args.output == Output::Table {
        write_header(&mut out)?;
    }
    let mut summary = Summary::default();
    let mut failed_inputs = 0;
    let mut done_before: u64 = 0;
    // Small files are triaged together, so their records share batches (one
    // transaction per batch, not per file); a group holds up to GROUP_BYTES.
    let mut groups: Vec<Vec<&(String, Option<u64>)>> = Vec::new();
    let mut group_bytes = 0;
    for input in &inputs {
        let size = input.1.unwrap_or(GROUP_BYTES);
        if groups.is_empty() || group_bytes + size > GROUP_BYTES {
            groups.push(Vec::new());
            group_bytes = 0;
        }
        groups.last_mut().expect("pushed").push(input);
        group_bytes += size;
    }
    for group in groups {
        let mut read: Vec<(&str, Vec<u8>)> = Vec::with_capacity(group.len());
        for (file, _) in group {
            match read_input(file) {
                Ok(b) if b.is_empty() => bar.suspend(|| {
                    anstream::eprintln!(
                        "{}warning:{} {file} is empty: it holds no records, nothing was triaged",
                        style::WARN.render(),
                        style::WARN.render_reset()
                    )
                }),
                Ok(b) => read.push((file.as_str(), b)),
                Err(e) => {
                    bar.suspend(|| {
                        anstream::eprintln!("{}error:{} {e:#}", style::ERR.render(), style::ERR.render_reset())
                    });
                    failed_inputs += 1;
                }
            }
        }
        if read.is_empty() {
            continue;
        }
        let slices: Vec<(&[u8], &str)> = read.iter().map(|(f, b)| (b.as_slice(), *f)).collect();
        bar.set_message(if read.len() == 1 {
            read[0].0.to_owned()
        } else {
            format!("{} … ({} files)", read[0].0, read.len())
        });
        let mut write_error = None;
        let s = engine.triage_inputs(&slices, args.format.forced(), &mut |event| match event {
            Event::Alert(r) => {
                let res = bar.suspend(|| match args.output {
                    Output::Jsonl => {
                        serde_json::to_writer(&mut out, &r).map_err(std::io::Error::from).and_then(|_| writeln!(out))
                    }
                    Output::Table => write_row(&mut out, &r),
                });
                if let Err(e) = res {
                    write_error.get_or_insert(e);
                }
            }
            Event::Rejected(d) => bar.suspend(|| {
                let _ = out.flush();
                anstream::eprintln!(
                    "{}rejected{} {}: {} {}(kept in dead-letter store as {}){}",
                    style::WARN.render(),
                    style::WARN.render_reset(),
                    d.origin,
                    d.reason,
                    style::DIM.render(),
                    d.id,
                    style::DIM.render_reset()
                )
            }),
            Event::Progress { done, .. } => bar.set_position(done_before + done as u64),
        })?;
        if let Some(e) = write_error {
            // A closed pipe (`| head`) is not an error worth more than stopping.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                engine.attest()?;
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e).context("writing results");
        }
        done_before += slices.iter().map(|(b, _)| b.len() as u64).sum::<u64>();
        summary.add(&s);
    }
    // The whole run ends attested: one signed checkpoint covers everything it wrote.
    engine.attest()?;
    bar.finish_and_clear();
    out.flush()?;
    drop(out);
    print_summary(&summary, inputs.len() - failed_inputs, args.output == Output::Table);
    Ok(if failed_inputs > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn read_input(file: &str) -> anyhow::Result<Vec<u8>> {
    if file == "-" {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf).context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {file}"))
    }
}

fn route_style(r: RouteKind) -> anstyle::Style {
    match r {
        RouteKind::Escalated => style::ESCALATED,
        RouteKind::Review => style::REVIEW,
        RouteKind::AutoClosed | RouteKind::Context => style::CLOSED,
    }
}

/// Column titles, aligned with [`write_row`]'s widths.
const HEADER: &str =
    "ROUTE        VERDICT    CONF SEVERITY FORMAT ALERT                   TECHNIQUES                   ORIGIN";

fn write_header(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}{HEADER}{}", style::BOLD.render(), style::BOLD.render_reset())
}

fn write_row(out: &mut impl Write, r: &TriageResult) -> std::io::Result<()> {
    let st = route_style(r.route);
    let mut techniques = r.techniques.join(",");
    if techniques.len() > 28 {
        techniques.truncate(25);
        techniques.push_str("...");
    }
    let dup = if r.duplicate { " (duplicate)" } else { "" };
    writeln!(
        out,
        "{}{:<12}{} {:<10} {:>4.2} {:<8} {:<6} {:<23} {:<28} {}{}{}",
        st.render(),
        r.route.as_str(),
        st.render_reset(),
        r.verdict.as_str(),
        r.confidence,
        r.severity.as_str(),
        r.format.as_str(),
        r.alert_id.as_str(),
        techniques,
        r.origin,
        style::DIM.render(),
        dup,
    )?;
    write!(out, "{}", style::DIM.render_reset())
}

fn print_summary(s: &Summary, inputs: usize, to_stdout: bool) {
    let n = |k: &str| s.routes.get(k).copied().unwrap_or(0);
    let line = format!(
        "{}{} new alert(s) from {} input(s):{} {}{} escalated{}, {}{} to review{}, {}{} auto-closed{}, {} kept as context; {} duplicate(s); {} rejected{}",
        style::BOLD.render(),
        s.stored,
        inputs,
        style::BOLD.render_reset(),
        style::ESCALATED.render(),
        n("escalated"),
        style::ESCALATED.render_reset(),
        style::REVIEW.render(),
        n("review"),
        style::REVIEW.render_reset(),
        style::CLOSED.render(),
        n("auto_closed"),
        style::CLOSED.render_reset(),
        n("context"),
        s.duplicates,
        s.rejected,
        if s.rejected > 0 { " (kept in the dead-letter store)" } else { "" },
    );
    if to_stdout {
        anstream::println!("\n{line}");
    } else {
        anstream::eprintln!("{line}");
    }
}
