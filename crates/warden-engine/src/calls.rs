//! Whether, and within whose budget, a workflow's model is called:
//! analyst-confirmed precedents decide some alerts without a call
//! (deterministic first), and each workflow's budget stops its calls past
//! their limits whatever the provider itself allows.

use std::collections::{BTreeMap, HashMap};

use warden_analyze::AnalyzeError;
use warden_analyze::llm::{CallRecord, Provider, Spend, now_secs};
use warden_core::{Alert, AlertId, Assessment, Canon, Verdict};
use warden_privacy::ProtectedAlert;

use crate::Engine;
use crate::workflow::Workflow;

/// Analysts' verdicts per detection (see [`precedent_key`]): how often each.
pub(crate) type Precedents = HashMap<String, BTreeMap<Verdict, u32>>;

/// What makes two alerts the same detection for precedent: the rule or
/// finding name when there is one, else the channel and event id.
fn precedent_key(alert: &Alert) -> Option<String> {
    if let Some(rule) = alert.canonical_text(Canon::RuleName) {
        return Some(format!("rule:{rule}"));
    }
    let channel = alert.canonical_text(Canon::Channel)?;
    let code = alert.canonical_text(Canon::EventCode)?;
    Some(format!("event:{channel}/{code}"))
}

impl Engine {
    /// Analysts' verdicts per detection, from the most recent 5,000 decisions.
    fn precedents(&self) -> Precedents {
        let mut out = Precedents::new();
        for f in self.store().feedback(None).unwrap_or_default().into_iter().rev().take(5000) {
            let Ok(d) = serde_json::from_value::<crate::review::Decision>(f.decision) else { continue };
            let Some(id) = AlertId::parse(&f.alert_id) else { continue };
            let Ok(Some(rec)) = self.store().alert(&id) else { continue };
            if let Some(key) = precedent_key(&rec.alert) {
                *out.entry(key).or_default().entry(d.verdict).or_insert(0) += 1;
            }
        }
        out
    }

    /// The precedent that decides `alert` without a model call, if any:
    /// (the detection, its confirmations). Analysts confirmed the local
    /// analyzer's verdict on this detection `govern.precedent_confirmations`
    /// times and never decided otherwise, the local analyzer is confident,
    /// and nothing in the alert reads as instructions to a model.
    pub(crate) fn precedent_for(
        &self,
        alert: &Alert,
        local: &Assessment,
        injected: bool,
        ctx: &warden_govern::RouteContext,
        pool: &std::cell::OnceCell<Precedents>,
    ) -> Option<(String, u32)> {
        let n = self.config().govern.precedent_confirmations;
        if n == 0 || injected || local.confidence.get() < ctx.confidence_threshold {
            return None;
        }
        let key = precedent_key(alert)?;
        let seen = pool.get_or_init(|| self.precedents()).get(&key)?;
        let confirmed = *seen.get(&local.verdict).unwrap_or(&0);
        (confirmed >= n && seen.len() == 1).then_some((key, confirmed))
    }

    /// Calls `llm` for `wf` if the workflow's budget allows it: the call is
    /// counted before it is made (concurrent calls cannot pass the limit
    /// together), taken back if the provider stopped it before any request,
    /// and charged its tokens and cost after.
    pub(crate) fn call_within_budget(
        &self,
        wf: &Workflow,
        llm: &dyn Provider,
        alert: &ProtectedAlert,
        examples: &[(ProtectedAlert, serde_json::Value)],
    ) -> (Result<Assessment, AnalyzeError>, Option<CallRecord>) {
        let refused = self.with_spend(wf, |w| {
            let why = w.refuses(&wf.budget);
            match &why {
                Some(_) => w.over_budget += 1,
                None => w.add(1, 0, 0, 0.0),
            }
            why
        });
        if let Some(why) = refused {
            return (Err(AnalyzeError::OverBudget(format!("workflow {}: {why}", wf.name))), None);
        }
        let (result, call) = llm.analyze_recorded(alert, examples);
        match &call {
            None => self.with_spend(wf, Spend::uncount_call),
            Some(c) => {
                let (prompt, completion) = c.billed_tokens();
                self.with_spend(wf, |w| w.add(0, prompt, completion, c.cost.unwrap_or(0.0)));
            }
        }
        (result, call)
    }

    fn with_spend<T>(&self, wf: &Workflow, f: impl FnOnce(&mut Spend) -> T) -> T {
        let mut spend = self.workflow_spend.lock().unwrap_or_else(|x| x.into_inner());
        let w = spend.entry(wf.name.clone()).or_default();
        w.roll(now_secs());
        f(w)
    }

    /// Model calls, tokens and cost per workflow, against each workflow's budget.
    pub fn workflow_spend(&self) -> BTreeMap<String, Spend> {
        let mut spend = self.workflow_spend.lock().unwrap_or_else(|x| x.into_inner());
        let now = now_secs();
        spend.values_mut().for_each(|s| s.roll(now));
        spend.clone()
    }
}
