//! Nested JSON → flat path/scalar pairs, within limits.

use serde_json::Value as J;
use warden_core::{FieldMap, Value};

use crate::Limits;

/// Flattens an object: keys joined by `.`, array positions as `[i]`.
pub(crate) fn flatten(value: &J, limits: &Limits) -> Result<FieldMap, String> {
    let mut out = FieldMap::new();
    let mut path = String::new();
    walk(value, &mut path, 0, limits, &mut out)?;
    Ok(out)
}

fn walk(value: &J, path: &mut String, depth: usize, limits: &Limits, out: &mut FieldMap) -> Result<(), String> {
    if depth > limits.max_depth {
        return Err(format!("nesting deeper than {} levels at `{}`", limits.max_depth, shorten(path)));
    }
    let scalar = match value {
        J::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(v, path, depth + 1, limits, out)?;
                path.truncate(len);
            }
            return Ok(());
        }
        J::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(v, path, depth + 1, limits, out)?;
                path.truncate(len);
            }
            return Ok(());
        }
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => {
            if s.len() > limits.max_field_bytes {
                return Err(format!(
                    "field `{}` is {} bytes, over the limit of {} bytes",
                    shorten(path),
                    s.len(),
                    limits.max_field_bytes
                ));
            }
            Value::Str(s.clone())
        }
    };
    if out.len() >= limits.max_fields {
        return Err(format!("more than {} fields", limits.max_fields));
    }
    out.insert(path.clone(), scalar);
    Ok(())
}

/// A path short enough to quote in an error message.
fn shorten(path: &str) -> String {
    if path.len() <= 120 {
        return path.to_owned();
    }
    let mut end = 117;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &path[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::Fields;

    #[test]
    fn paths_join_keys_with_dots_and_index_arrays() {
        let v = serde_json::json!({"a": {"b": [1, {"c": "x"}]}, "d": null});
        let f = flatten(&v, &Limits::default()).unwrap();
        let got: Vec<(String, String)> = f.iter().map(|(p, v)| (p.to_owned(), v.to_string())).collect();
        assert_eq!(got, [("a.b[0]".into(), "1".into()), ("a.b[1].c".into(), "x".into()), ("d".into(), "null".into())]);
    }

    #[test]
    fn over_large_field_is_named_in_the_error() {
        let limits = Limits { max_field_bytes: 4, ..Limits::default() };
        let err = flatten(&serde_json::json!({"cmd": {"line": "12345"}}), &limits).unwrap_err();
        assert_eq!(err, "field `cmd.line` is 5 bytes, over the limit of 4 bytes");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut v = serde_json::json!("leaf");
        for _ in 0..10 {
            v = serde_json::json!({ "n": v });
        }
        let limits = Limits { max_depth: 5, ..Limits::default() };
        assert!(flatten(&v, &limits).unwrap_err().starts_with("nesting deeper than 5 levels"));
    }
}
