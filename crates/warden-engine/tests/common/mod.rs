//! What the engine's integration tests share.
#![allow(dead_code)]

use warden_engine::{Engine, Event, TriageResult};

/// Every alert result of triaging `input`, in input order.
pub fn triage(e: &Engine, input: &str) -> Vec<TriageResult> {
    let mut out = Vec::new();
    e.triage(input.as_bytes(), "t", None, &mut |ev| {
        if let Event::Alert(r) = ev {
            out.push(*r)
        }
    })
    .unwrap();
    out
}

/// A person with this role, signed in.
pub fn person(e: &Engine, name: &str, role: warden_core::Role) -> warden_govern::Identity {
    const PASSWORD: &str = "a long enough password";
    e.add_user(warden_core::Actor::User("setup".into()), name, &[role], PASSWORD).unwrap();
    e.check_password(name, PASSWORD).unwrap()
}
