use serde::{Deserialize, Serialize};

use crate::named_enum;

/// Where an assessed alert goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// Closed without a human (subject to QA sampling).
    AutoClosed,
    /// Into the review queue.
    Review,
    /// Straight to the people who respond to incidents.
    Escalated,
    /// Raw telemetry that no detection, rule or model found interesting:
    /// kept (and audited) as context for correlation and search, not shown
    /// to anyone as a decision.
    Context,
}

named_enum!(RouteKind, "route", {
    AutoClosed => "auto_closed",
    Review => "review",
    Escalated => "escalated",
    Context => "context",
});

/// One reason for a route, with a stable machine code and a human sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable snake_case code, e.g. `below_threshold`, `verdict_unknown`.
    pub code: String,
    pub detail: String,
}

impl Reason {
    pub fn new(code: &str, detail: impl Into<String>) -> Self {
        Reason { code: code.to_owned(), detail: detail.into() }
    }
}

/// The governance stage's decision for one alert, with every reason for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub kind: RouteKind,
    pub reasons: Vec<Reason>,
}
