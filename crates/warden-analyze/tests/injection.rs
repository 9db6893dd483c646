//! The injection screen on its labelled corpus and on the public
//! bastioncorpus set: recall, false-positive rate, and every disguise and
//! language the issue names.

use warden_analyze::injection::{Screen, corpus};

fn report(name: &str, s: &corpus::Scorecard) {
    println!(
        "{name}: recall {:.3} ({}/{}), benign flagged {:.3} ({}/{})",
        s.recall(),
        s.injected.flagged,
        s.injected.samples,
        s.false_positive_rate(),
        s.benign.flagged,
        s.benign.samples
    );
    for (injected, kind, lang, text) in &s.misses {
        println!("  {} {kind} {lang}: {text}", if *injected { "missed" } else { "flagged" });
    }
}

#[test]
fn generated_corpus_meets_the_goal() {
    let screen = Screen::new();
    let samples = corpus::generate(7);
    let s = corpus::score(&screen, &samples);
    report("generated", &s);
    assert!(s.injected.samples > 900, "{}", s.injected.samples);
    assert!(s.recall() >= 0.95, "recall {:.3}", s.recall());
    assert!(s.false_positive_rate() <= 0.01, "benign flagged {:.3}", s.false_positive_rate());
    // Every language and every disguise is screened, none left mostly unread.
    for (k, t) in s.by_language.iter().chain(&s.by_disguise) {
        assert!(t.rate() >= 0.9, "{k}: {}/{}", t.flagged, t.samples);
    }
    assert_eq!(s.by_language.len(), 11);
    assert_eq!(s.by_disguise.len(), corpus::DISGUISES.len());
}

#[test]
fn another_seed_gives_the_same_figures_within_noise() {
    let screen = Screen::new();
    let s = corpus::score(&screen, &corpus::generate(1234));
    report("seed 1234", &s);
    assert!(s.recall() >= 0.95 && s.false_positive_rate() <= 0.01);
}

#[test]
fn public_bastioncorpus_is_scored() {
    let screen = Screen::new();
    let samples = corpus::bastion();
    assert_eq!(samples.len(), 181);
    let s = corpus::score(&screen, &samples);
    report("bastioncorpus 0.6.0", &s);
    // Written by others, for chat assistants rather than SOC alerts: a floor, not the goal.
    assert!(s.recall() >= 0.85, "recall {:.3}", s.recall());
    assert!(s.false_positive_rate() <= 0.05, "benign flagged {:.3}", s.false_positive_rate());
}

/// The earlier held-out rounds, each used to generalise the screen after its
/// first run, stay caught: a change that loses one of them is a regression.
#[test]
fn earlier_held_out_rounds_stay_caught() {
    let screen = Screen::new();
    let rounds = [
        (1, corpus::round1(7), 30),
        (2, corpus::round2(7), 28),
        (3, corpus::round3(7), 28),
        (4, corpus::round4(7), 28),
        (5, corpus::round5(7), 28),
    ];
    for (n, samples, phrasings) in rounds {
        let s = corpus::score(&screen, &samples);
        report(&format!("round {n}"), &s);
        assert_eq!(s.injected.samples, phrasings * 3, "round {n}");
        assert!(s.recall() >= 0.95, "round {n}: recall {:.3}", s.recall());
        assert!(s.false_positive_rate() <= 0.01, "round {n}: benign flagged {:.3}", s.false_positive_rate());
    }
}

#[test]
fn held_out_phrasings_are_reported() {
    let screen = Screen::new();
    let s = corpus::score(&screen, &corpus::held_out(7));
    report("held-out", &s);
    assert_eq!(s.injected.samples, 28 * 3);
    // Never tuned to: the figure is reported (round 6 when written: 0.679
    // recall, 0 of 45 look-alikes flagged), and a floor keeps it from
    // collapsing unnoticed. Wording the patterns have not seen is the
    // screen's known weakness.
    assert!(s.recall() >= 0.5, "recall {:.3}", s.recall());
    assert!(s.false_positive_rate() <= 0.1, "benign flagged {:.3}", s.false_positive_rate());
}
