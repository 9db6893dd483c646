//! `warden triage`: files through the pipeline, results on stdout.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use warden_core::RouteKind;
use warden_engine::{Engine, Event, Input, Piece, Pieces, Summary, TriageResult};

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

/// Inputs are read in pieces of about this many bytes and triaged in groups of about as many.
const GROUP_BYTES: usize = 8 << 20;

pub fn run(engine: &Engine, args: Args) -> anyhow::Result<ExitCode> {
    let total: u64 =
        args.files.iter().filter(|f| *f != "-").filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
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
    let mut run = Run { engine, format: args.format, output: args.output, bar: &bar, done_before: 0, total };
    // Inputs are read piece by piece (whole records, about GROUP_BYTES each),
    // so memory stays bounded whatever their size; small files are triaged
    // together, so their records share batches (one transaction per batch,
    // not per file).
    let mut pending: Vec<(&str, Piece)> = Vec::new();
    let mut pending_bytes = 0;
    for file in &args.files {
        // A file can seek, so an EVTX log is read in record order (oldest chunk first).
        let pieces: Box<dyn Iterator<Item = std::io::Result<Piece>>> = if file == "-" {
            Box::new(Pieces::new(std::io::stdin().lock(), GROUP_BYTES))
        } else {
            match std::fs::File::open(file) {
                Ok(f) => Box::new(Pieces::seekable(std::io::BufReader::with_capacity(1 << 16, f), GROUP_BYTES)),
                Err(e) => {
                    report_error(&bar, &anyhow::Error::new(e).context(format!("cannot read {file}")));
                    failed_inputs += 1;
                    continue;
                }
            }
        };
        let mut first = true;
        for piece in pieces {
            let piece = match piece {
                Ok(p) => p,
                Err(e) => {
                    let what = if first { "" } else { " (what was read before this point was triaged)" };
                    report_error(&bar, &anyhow::Error::new(e).context(format!("cannot read {file}{what}")));
                    failed_inputs += 1;
                    break;
                }
            };
            if first && piece.bytes.is_empty() {
                bar.suspend(|| {
                    anstream::eprintln!(
                        "{}warning:{} {file} is empty: it holds no records, nothing was triaged",
                        style::WARN.render(),
                        style::WARN.render_reset()
                    )
                });
                break;
            }
            first = false;
            pending_bytes += piece.bytes.len();
            pending.push((file.as_str(), piece));
            if pending_bytes >= GROUP_BYTES {
                pending_bytes = 0;
                match run.group(std::mem::take(&mut pending), &mut out)? {
                    Some(s) => summary.add(&s),
                    None => return Ok(ExitCode::SUCCESS),
                }
            }
        }
    }
    if !pending.is_empty() {
        match run.group(pending, &mut out)? {
            Some(s) => summary.add(&s),
            None => return Ok(ExitCode::SUCCESS),
        }
    }
    // The whole run ends attested: one signed checkpoint covers everything it wrote.
    engine.attest()?;
    bar.finish_and_clear();
    out.flush()?;
    drop(out);
    print_summary(&summary, args.files.len() - failed_inputs, args.output == Output::Table);
    Ok(if failed_inputs > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn report_error(bar: &ProgressBar, e: &anyhow::Error) {
    bar.suspend(|| anstream::eprintln!("{}error:{} {e:#}", style::ERR.render(), style::ERR.render_reset()));
}

/// What one run's groups share.
struct Run<'a> {
    engine: &'a Engine,
    format: FormatArg,
    output: Output,
    bar: &'a ProgressBar,
    /// Input bytes triaged by earlier groups, for the progress bar.
    done_before: u64,
    total: u64,
}

impl Run<'_> {
    /// Triages one group of pieces and writes its results; `None` when the
    /// reader of standard output has gone (`| head`): the run stops there,
    /// attested.
    fn group(&mut self, group: Vec<(&str, Piece)>, out: &mut impl Write) -> anyhow::Result<Option<Summary>> {
        let inputs: Vec<Input<'_>> =
            group.iter().map(|(f, p)| Input { bytes: &p.bytes, source: f, start: p.start }).collect();
        let bar = self.bar;
        bar.set_message(if group.len() == 1 || group.iter().all(|(f, _)| *f == group[0].0) {
            group[0].0.to_owned()
        } else {
            format!("{} … ({} inputs)", group[0].0, group.len())
        });
        let (output, done_before, total) = (self.output, self.done_before, self.total);
        let mut write_error = None;
        let s = self.engine.triage_inputs(&inputs, self.format.forced(), &mut |event| match event {
            Event::Alert(r) => {
                let res = bar.suspend(|| match output {
                    Output::Jsonl => {
                        serde_json::to_writer(&mut *out, &r).map_err(std::io::Error::from).and_then(|_| writeln!(out))
                    }
                    Output::Table => write_row(&mut *out, &r),
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
            Event::Progress { done, .. } => bar.set_position((done_before + done as u64).min(total)),
        })?;
        if let Some(e) = write_error {
            // A closed pipe (`| head`) is not an error worth more than stopping.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.engine.attest()?;
                return Ok(None);
            }
            return Err(e).context("writing results");
        }
        self.done_before += group.iter().map(|(_, p)| p.consumed as u64).sum::<u64>();
        Ok(Some(s))
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
