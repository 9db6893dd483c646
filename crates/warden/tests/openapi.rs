//! The OpenAPI document served at `/api/v1/openapi.json`: it parses as
//! OpenAPI 3.1 (the `oas3` crate), every reference resolves, every route the
//! brief asks for is described, and every described route is served.

mod common;

use std::collections::BTreeSet;

use common::DemoServer;

/// The API routes of the brief (method, path); the document must describe exactly these.
const CONTRACT: &[(&str, &str)] = &[
    ("POST", "/api/v1/alerts"),
    ("POST", "/services/collector/event"),
    ("GET", "/api/v1/alerts/{id}"),
    ("POST", "/api/v1/alerts/{id}/decision"),
    ("GET", "/api/v1/queue"),
    // Issue 14's contract.
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/incidents/{id}"),
    ("POST", "/api/v1/incidents/{id}/decision"),
    ("POST", "/api/v1/incidents/{id}/assign"),
    ("POST", "/api/v1/incidents/{id}/merge"),
    ("POST", "/api/v1/incidents/{id}/split"),
    ("POST", "/api/v1/actions"),
    ("GET", "/api/v1/actions/{id}"),
    ("POST", "/api/v1/actions/{id}/approve"),
    ("POST", "/api/v1/actions/{id}/reject"),
    ("POST", "/api/v1/actions/{id}/execute"),
    ("POST", "/api/v1/stop"),
    ("DELETE", "/api/v1/stop"),
    ("GET", "/api/v1/metrics/quality"),
    ("GET", "/api/v1/audit/checkpoint"),
    ("GET", "/api/v1/audit/verify"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

/// Every `$ref` in the document, as a JSON pointer into it.
fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", serde_json::Value::String(r)) => out.push(r.clone()),
                    _ => refs(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_openapi_document_is_valid_and_describes_exactly_the_served_api() {
    let s = DemoServer::start();
    let mut c = s.client();
    let r = c.get("/api/v1/openapi.json");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("application/json"));
    let spec = oas3::from_json(&r.body).expect("the document parses as OpenAPI 3.1");
    assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
    let raw: serde_json::Value = serde_json::from_str(&r.body).unwrap();

    let mut described = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    let schemes: BTreeSet<String> =
        spec.components.as_ref().map(|c| c.security_schemes.keys().cloned().collect()).unwrap_or_default();
    for (path, method, op) in spec.operations() {
        let m = method.as_str().to_uppercase();
        described.insert((m.clone(), path.clone()));
        let id = op.operation_id.clone().unwrap_or_default();
        assert!(
            !id.is_empty() && operation_ids.insert(id.clone()),
            "{m} {path}: operationId {id:?} missing or repeated"
        );
        assert!(op.summary.is_some() || op.description.is_some(), "{m} {path} is undocumented");
        let declared = op.responses.as_ref().map_or(0, |r| r.len());
        assert!(declared > 0, "{m} {path} declares no response");
        assert_eq!(op.responses(&spec).len(), declared, "{m} {path}: a response does not resolve");
        op.request_body(&spec).unwrap_or_else(|e| panic!("{m} {path}: request body does not resolve: {e}"));
        for req in &op.security {
            for name in req.0.keys() {
                assert!(schemes.contains(name), "{m} {path} names an undefined security scheme {name}");
            }
        }
        if path.starts_with("/api/v1/") {
            assert!(!op.security.is_empty(), "{m} {path} must say it needs a token");
        }
    }
    let mut all = Vec::new();
    refs(&raw, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external reference {r}"));
        assert!(raw.pointer(pointer).is_some(), "dangling reference {r}");
    }

    let contract: BTreeSet<(String, String)> = CONTRACT.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(described, contract, "the document and the brief's routes differ");

    // Every described route is served: without credentials it answers, never 404 or 405.
    for (m, p) in &described {
        let path = p.replace("{id}", "al-0000000000000000000");
        let r = c.request(m, &path, &[("Content-Type", "application/json")], b"{}");
        assert!(r.status != 404 && r.status != 405, "{m} {path} is described but not served ({})", r.status);
    }
}
