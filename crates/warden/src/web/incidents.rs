//! The incident pages: the list people work from (true totals, filters,
//! search, SLA), one incident (kill-chain strip, narrative with its
//! citations, folded alerts, timeline) with its decision, assignment, merge
//! and split forms, and the entity page behind every host and user link.

use std::collections::BTreeSet;

use super::pages::{DecisionForm, Notice, blank, notice, truncate};
use super::*;
use warden_engine::incidents::{IncidentFilter, KILL_CHAIN};

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/incidents", get(list))
        .route("/incidents/{id}", get(show))
        .route("/incidents/{id}/decision", post(decide))
        .route("/incidents/{id}/assign", post(assign))
        .route("/incidents/{id}/merge", post(merge))
        .route("/incidents/{id}/split", post(split))
        .route("/entities/{key}", get(entity))
}

/// Incidents per page.
const PAGE: usize = 50;

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    /// 1-based.
    #[serde(default)]
    page: Option<usize>,
}

async fn list(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    page(s, headers, "/incidents".into(), move |e, who, sess| {
        let filter = |offset: usize| IncidentFilter {
            state: blank(&q.state).filter(|s| *s != "any").map(str::to_owned),
            severity: blank(&q.severity).map(str::to_owned),
            assignee: blank(&q.assignee).map(str::to_owned),
            q: blank(&q.q).map(str::to_owned),
            entity: blank(&q.entity).map(str::to_owned),
            sort: blank(&q.sort).map(str::to_owned),
            limit: Some(PAGE),
            offset: Some(offset),
        };
        let query = query_string(&[
            ("state", &q.state),
            ("severity", &q.severity),
            ("q", &q.q),
            ("entity", &q.entity),
            ("sort", &q.sort),
            ("assignee", &q.assignee),
        ]);
        let (found, pager) = paged(q.page, PAGE, query, |offset| {
            let l = e.incidents(who, &filter(offset))?;
            Ok((l.total, l.items))
        })?;
        let now = jiff::Timestamp::now();
        let items: Vec<Json> = found
            .iter()
            .map(|i| {
                let sla_left = i.sla_due.map(|d| d.duration_since(now).as_secs_f64());
                let entities: Vec<Json> =
                    ["host", "user"].iter().flat_map(|k| links(k, i.entities.get(*k), 3)).collect();
                json!({
                    "id": i.incident_id,
                    "title": truncate(&i.title, 160),
                    "severity": i.severity,
                    "verdict": i.verdict,
                    "state": i.state,
                    "alerts": i.alert_count,
                    "assignee": i.assignee,
                    "event_age": charts::minutes(now.duration_since(i.first_seen).as_secs_f64().max(0.0)),
                    "open_age": charts::minutes(now.duration_since(i.opened_at).as_secs_f64().max(0.0)),
                    "last_seen": i.last_seen.to_string(),
                    "tactics": i.tactics,
                    "entities": entities,
                    "sla_breached": i.sla_breached,
                    "sla_left": sla_left.map(|x| if x >= 0.0 { charts::minutes(x) } else { format!("{} over", charts::minutes(-x)) }),
                })
            })
            .collect();
        Ok(render(
            StatusCode::OK,
            "incidents.html",
            json!({"me": me(e, who, sess), "items": items, "pager": pager,
                   "filter": {"state": q.state, "severity": q.severity, "q": q.q, "entity": q.entity,
                              "sort": q.sort, "assignee": q.assignee},
                   "severities": warden_core::Severity::ALL.iter().rev().map(|v| v.as_str()).collect::<Vec<_>>()}),
            BTreeMap::new(),
        ))
    })
    .await
}

/// Entity values with the path of their page.
fn links(kind: &str, values: Option<&Vec<String>>, n: usize) -> Vec<Json> {
    values
        .into_iter()
        .flatten()
        .take(n)
        .map(|x| json!({"value": x, "href": format!("/entities/{}", encode_path(&format!("{kind}:{x}")))}))
        .collect()
}

async fn show(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Response {
    let here = format!("/incidents/{id}");
    page(s, headers, here, move |e, who, sess| {
        let v = e.incident(who, &id)?;
        let strip: Vec<Json> =
            KILL_CHAIN.iter().map(|t| json!({"name": t, "hit": v.summary.tactics.iter().any(|x| x == t)})).collect();
        let entities: Vec<Json> = v
            .summary
            .entities
            .iter()
            .map(|(kind, values)| json!({"kind": kind, "values": links(kind, Some(values), usize::MAX)}))
            .collect();
        let ctx = json!({
            "me": me(e, who, sess),
            "notice": notice(n.done.as_deref()),
            "i": v.summary,
            "rows": v.rows,
            "timeline": v.timeline,
            "narrative": v.narrative,
            "citations": v.citations,
            "grounded": v.grounded,
            "merged_into": v.merged_into,
            "cases": v.cases,
            "strip": strip,
            "entities": entities,
            "verdicts": Verdict::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
            "reason_codes": ReasonCode::ALL,
        });
        Ok(render(StatusCode::OK, "incident.html", ctx, BTreeMap::new()))
    })
    .await
}

async fn decide(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        e.decide_incident(who, &id, f.input()?)?;
        Ok(see_other(&format!("/incidents/{id}?done=incident_decided")))
    })
    .await
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    csrf: String,
    /// Empty releases it.
    #[serde(default)]
    to: String,
}

async fn assign(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        let to = f.to.trim();
        e.assign_incident(who, &id, (!to.is_empty()).then_some(to))?;
        Ok(see_other(&format!("/incidents/{id}?done=assigned")))
    })
    .await
}

#[derive(Deserialize)]
struct MergeForm {
    #[serde(default)]
    csrf: String,
    /// Incident ids, separated by commas or spaces.
    #[serde(default)]
    from: String,
    #[serde(default)]
    reason: String,
}

async fn merge(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<MergeForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        let from: Vec<String> =
            f.from.split([',', ' ', '\n']).filter(|x| !x.trim().is_empty()).map(|x| x.trim().to_owned()).collect();
        e.merge_incidents(who, &id, &from, &f.reason)?;
        Ok(see_other(&format!("/incidents/{id}?done=merged")))
    })
    .await
}

/// The split form: its CSRF token, a reason, and one `row` checkbox per
/// folded row (its signature); repeated keys, so read as pairs.
async fn split(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let csrf = get("csrf");
    let reason = get("reason");
    let rows: BTreeSet<String> = pairs.iter().filter(|(k, _)| k == "row").map(|(_, v)| v.clone()).collect();
    form(s, headers, csrf, move |e, who, _| {
        if rows.is_empty() {
            return Err(UiError::Bad("Tick the rows to split off.".into()));
        }
        // Every alert of each ticked row, not only the ones the page lists.
        let alerts: Vec<String> = e
            .store()
            .incident_links(&id)
            .map_err(EngineError::from)?
            .into_iter()
            .filter(|l| rows.contains(&l.signature))
            .map(|l| l.alert_id)
            .collect();
        let (_, new) = e.split_incident(who, &id, &alerts, &reason)?;
        Ok(see_other(&format!("/incidents/{}?done=split", new.incident_id)))
    })
    .await
}

/// A host's, user's or address's page: every incident naming it, and the
/// alerts and context events that do, newest first.
async fn entity(State(s): State<Arc<AppState>>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    let here = format!("/entities/{}", encode_path(&key));
    page(s, headers, here, move |e, who, sess| {
        let incidents = e.incidents(
            who,
            &IncidentFilter { entity: Some(key.clone()), state: None, limit: Some(200), ..IncidentFilter::default() },
        )?;
        let (total, naming) = e.naming(who, &key, 500)?;
        let (kind, value) = key.split_once(':').unwrap_or(("", key.as_str()));
        let events: Vec<Json> = naming
            .iter()
            .map(|n| json!({"alert_id": n.alert_id, "at": n.observed_at.to_string(), "route": n.route}))
            .collect();
        Ok(render(
            StatusCode::OK,
            "entity.html",
            json!({"me": me(e, who, sess), "kind": kind, "value": value, "key": key,
                   "incidents": incidents.items, "incident_total": incidents.total,
                   "events": events, "event_total": total}),
            BTreeMap::new(),
        ))
    })
    .await
}
