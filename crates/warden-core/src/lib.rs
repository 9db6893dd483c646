//! Warden's vocabulary: the types every other crate speaks.
//!
//! An [`Alert`] is what ingest makes of one input record: every original field
//! path and value (reachable through the [`Fields`] lookup trait), a format, a
//! fingerprint for de-duplication and the canonical paths ([`Canon`]) that
//! point at the fields analysts care about. An analyzer turns a (protected)
//! alert into an [`Assessment`]; validation produces a [`Validation`]; the
//! governance stage picks a [`Route`]. Every stage describes what it did as an
//! [`AuditRecord`], which the store chains into [`AuditEntry`]s.
//!
//! This crate does no IO, has no async and depends on no other workspace crate.
//! It must never learn about storage, HTTP, the terminal or a log format.

mod action;
mod alert;
mod assessment;
mod audit;
mod route;
mod value;

pub use action::{ActionKind, RiskTier, Role};
pub use alert::{Alert, AlertId, Canon, DataClass, FieldMap, Fields, Fingerprint, Format, Location, Origin};
pub use assessment::{
    AnalyzerInfo, Assessment, Confidence, Evidence, Grounding, Severity, TechniqueId, Validation, Verdict,
};
pub use audit::{Actor, AuditEntry, AuditRecord};
pub use route::{Reason, Route, RouteKind};
pub use value::Value;

/// An error in constructing a vocabulary value from untrusted input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabError {
    #[error("confidence must be a number between 0 and 1, got {0}")]
    Confidence(String),
    #[error("not an ATT&CK technique id (expected T1234 or T1234.001): {0:?}")]
    Technique(String),
    #[error("unknown {kind} {value:?} (expected one of: {expected})")]
    Unknown { kind: &'static str, value: String, expected: &'static str },
}

/// Implements `as_str`, `Display` and `FromStr` for a fieldless enum from one
/// table of (variant, name) pairs, so the wire names live in one place.
macro_rules! named_enum {
    ($ty:ident, $kind:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable lower-case name used on the wire and in storage.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::VocabError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err($crate::VocabError::Unknown {
                        kind: $kind,
                        value: other.to_owned(),
                        expected: concat!($($name, " "),+),
                    }),
                }
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use named_enum;
