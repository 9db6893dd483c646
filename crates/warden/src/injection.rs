//! `warden dev injection-score`: the prompt-injection screen's recall and
//! false-positive rate on its labelled corpus (per language, disguise and
//! kind of look-alike), on the held-out rounds and on the public
//! bastioncorpus set, and how many texts a second it screens.

use std::time::Instant;

use warden_engine::injection::{Screen, corpus};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The generator's seed: the same seed gives the same corpus.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print the scorecards as JSON.
    #[arg(long)]
    json: bool,
    /// Also list the injected texts missed and the look-alikes flagged.
    #[arg(long)]
    misses: bool,
}

fn line(name: &str, s: &corpus::Scorecard) -> String {
    format!(
        "{name:<34} recall {:.3} ({:>4}/{:<4})  look-alikes flagged {:.3} ({}/{})",
        s.recall(),
        s.injected.flagged,
        s.injected.samples,
        s.false_positive_rate(),
        s.benign.flagged,
        s.benign.samples
    )
}

pub fn score(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let screen = Screen::new();
    let sets: Vec<(&str, Vec<corpus::Sample>)> = vec![
        ("generated (seed)", corpus::generate(args.seed)),
        ("held-out round 1 (now regression)", corpus::round1(args.seed)),
        ("held-out round 2 (now regression)", corpus::round2(args.seed)),
        ("held-out round 3 (now regression)", corpus::round3(args.seed)),
        ("held-out round 4 (now regression)", corpus::round4(args.seed)),
        ("held-out round 5 (now regression)", corpus::round5(args.seed)),
        ("held-out (never tuned to)", corpus::held_out(args.seed)),
        ("bastioncorpus 0.6.0 (public, MIT)", corpus::bastion()),
    ];
    let mut cards = Vec::new();
    let mut texts = 0usize;
    let started = Instant::now();
    for (name, samples) in &sets {
        texts += samples.iter().map(|s| s.fields.len()).sum::<usize>();
        cards.push((*name, corpus::score(&screen, samples)));
    }
    let per_second = texts as f64 / started.elapsed().as_secs_f64();
    if args.json {
        let by: serde_json::Map<String, serde_json::Value> = cards
            .iter()
            .map(|(n, c)| {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                v["recall"] = c.recall().into();
                v["false_positive_rate"] = c.false_positive_rate().into();
                ((*n).to_owned(), v)
            })
            .collect();
        println!("{}", serde_json::json!({"seed": args.seed, "sets": by, "texts_per_second": per_second}));
        return Ok(std::process::ExitCode::SUCCESS);
    }
    for (name, c) in &cards {
        println!("{}", line(name, c));
    }
    let generated = &cards[0].1;
    println!("\nby language (generated)");
    for (k, t) in &generated.by_language {
        println!("  {k:<14} {:.3} ({}/{})", t.rate(), t.flagged, t.samples);
    }
    println!("by disguise (generated)");
    for (k, t) in &generated.by_disguise {
        println!("  {k:<14} {:.3} ({}/{})", t.rate(), t.flagged, t.samples);
    }
    println!("look-alikes flagged by kind (generated)");
    for (k, t) in &generated.benign_by_kind {
        println!("  {k:<14} {:.3} ({}/{})", t.rate(), t.flagged, t.samples);
    }
    println!("\n{texts} texts screened at {per_second:.0} texts/s");
    if args.misses {
        for (name, c) in &cards {
            for (injected, kind, lang, text) in &c.misses {
                let what = if *injected { "missed" } else { "flagged" };
                println!("{name}: {what} [{kind}, {lang}] {}", text.replace('\n', "\\n"));
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
