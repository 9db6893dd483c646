//! `warden dev pii-corpus` and `warden dev pii-score`: the labelled PII
//! corpus written for other tools, and Warden's scorecard and speed on it
//! (recognition alone, tokenising for an external provider, and that plus
//! the egress check), so a comparison with Presidio runs on the same lines.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use warden_engine::corpus::{self, Sample};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The generator's seed: the same seed gives the same lines.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// How many lines.
    #[arg(long, default_value_t = 10_000)]
    lines: usize,
    /// Write the corpus as JSON lines (`text`, and `seeded` / `decoys` spans in characters).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the scorecard and figures as JSON.
    #[arg(long)]
    json: bool,
    /// Also list seeded values missed and decoys flagged (with their lines).
    #[arg(long)]
    misses: bool,
}

fn chars(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// Writes the corpus with character offsets (what Python and most tools count).
pub fn write_corpus(samples: &[Sample], path: &PathBuf) -> anyhow::Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for s in samples {
        let span = |v: &[corpus::Span]| -> Vec<serde_json::Value> {
            v.iter()
                .map(|sp| serde_json::json!({"start": chars(&s.text, sp.start), "end": chars(&s.text, sp.end), "kind": sp.kind}))
                .collect()
        };
        let line = serde_json::json!({"text": s.text, "seeded": span(&s.seeded), "decoys": span(&s.decoys)});
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}

pub fn corpus(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let samples = corpus::generate(args.seed, args.lines);
    let out = args.out.context("say where to write the corpus with --out FILE")?;
    write_corpus(&samples, &out)?;
    eprintln!("{} lines (seed {}) written to {}", samples.len(), args.seed, out.display());
    Ok(std::process::ExitCode::SUCCESS)
}

pub fn score(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let samples = corpus::generate(args.seed, args.lines);
    if let Some(path) = &args.out {
        write_corpus(&samples, path)?;
    }
    let b = warden_engine::pii_benchmark(&samples)?;
    if args.misses {
        for m in corpus::misses(&samples, &b.findings) {
            println!("{m}");
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "seed": args.seed, "lines": samples.len(), "scorecard": b.scorecard,
                "lines_per_second": {"recognise": b.recognise, "tokenise": b.tokenise, "tokenise_and_egress_check": b.tokenise_and_egress},
            })
        );
    } else {
        print!("{}", b.scorecard.table(&format!("Warden, seed {}, {} lines", args.seed, samples.len())));
        println!(
            "lines/s: recognise {:.0}, tokenise {:.0}, tokenise + egress check {:.0}",
            b.recognise, b.tokenise, b.tokenise_and_egress
        );
        println!("tokenising costs {:.2}x recognition alone", b.recognise / b.tokenise);
    }
    Ok(std::process::ExitCode::SUCCESS)
}
