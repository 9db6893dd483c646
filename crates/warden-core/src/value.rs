use std::fmt;

use serde::{Deserialize, Serialize};

/// One scalar value of an alert field, as it appeared in the input.
///
/// Nested objects and arrays are flattened into paths by ingest, so a field
/// value is always a scalar. Integers and floats are kept apart so that an
/// event id stays `4624`, not `4624.0`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Value {
    /// The value as text if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer, also from a string holding one (`"4624"`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as a float, also from a string holding one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Whether two values denote the same datum, allowing a number to be
    /// cited as its text (`4624` and `"4624"`). Used to check evidence.
    pub fn same_datum(&self, other: &Value) -> bool {
        if self == other {
            return true;
        }
        match (self, other) {
            (Value::Str(a), b) | (b, Value::Str(a)) if !matches!(b, Value::Str(_)) => *a == b.to_string(),
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => (*a as f64) == *b,
            _ => false,
        }
    }

    /// Length in bytes of the value's text.
    pub fn text_len(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            _ => 8,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_their_text_when_citing_evidence() {
        assert!(Value::Int(4624).same_datum(&Value::from("4624")));
        assert!(Value::from("4624").same_datum(&Value::Int(4624)));
        assert!(!Value::Int(4624).same_datum(&Value::from("4625")));
        assert!(!Value::from("a").same_datum(&Value::from("A")));
    }

    #[test]
    fn untagged_round_trip_keeps_integers_integral() {
        let v: Vec<Value> = serde_json::from_str(r#"[null, true, 4624, 1.5, "x"]"#).unwrap();
        assert_eq!(v, vec![Value::Null, Value::Bool(true), Value::Int(4624), Value::Float(1.5), Value::from("x")]);
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"[null,true,4624,1.5,"x"]"#);
    }
}
