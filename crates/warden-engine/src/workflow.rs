//! Workflows: which alerts share a routing policy, and that policy resolved
//! from `[[workflows]]` and `[govern]`.

use warden_core::{Alert, Canon, Fields, Format};
use warden_govern::Stage;

use crate::config::{Config, ExitConfig, WorkflowConfig};

/// Name of the workflow that takes every alert no other one matches.
pub const DEFAULT: &str = "default";

/// One workflow's selectors and policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Workflow {
    pub name: String,
    formats: Vec<Format>,
    sources: Vec<String>,
    rules: Vec<String>,
    tags: Vec<String>,
    pub stage: Stage,
    pub confidence_threshold: f64,
    pub burn_in_days: u32,
    pub burn_in_start: Option<jiff::civil::Date>,
    pub qa_sample_rate: f64,
    pub exit: ExitConfig,
    pub blind_first_look: bool,
    /// `local` or a provider name.
    pub analyzer: String,
    /// What this workflow may spend on its model per hour and day.
    pub budget: warden_analyze::llm::Budget,
}

impl Workflow {
    fn from_config(w: &WorkflowConfig, c: &Config) -> Self {
        let g = &c.govern;
        let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect();
        Workflow {
            name: w.name.clone(),
            formats: w.formats.iter().filter_map(|f| f.parse().ok()).collect(),
            sources: lower(&w.sources),
            rules: lower(&w.rules),
            tags: w.tags.clone(),
            stage: w.stage.unwrap_or(g.stage),
            confidence_threshold: w.confidence_threshold.unwrap_or(g.confidence_threshold),
            burn_in_days: w.burn_in_days.unwrap_or(g.burn_in_days),
            burn_in_start: w.burn_in_start.or(g.burn_in_start),
            qa_sample_rate: w.qa_sample_rate.unwrap_or(g.qa_sample_rate),
            exit: w.exit.clone().unwrap_or_else(|| g.exit.clone()),
            blind_first_look: w.blind_first_look.unwrap_or(g.blind_first_look),
            analyzer: w.analyzer.clone().unwrap_or_else(|| g.analyzer.clone()),
            budget: w.budget.clone().unwrap_or_else(|| g.budget.clone()),
        }
    }

    /// All configured workflows in order, then the default.
    pub fn all(c: &Config) -> Vec<Workflow> {
        let mut v: Vec<Workflow> = c.workflows.iter().map(|w| Workflow::from_config(w, c)).collect();
        v.push(Workflow::from_config(&WorkflowConfig { name: DEFAULT.into(), ..WorkflowConfig::default() }, c));
        v
    }

    /// Every selector kind given must match (any of its values).
    pub fn matches(&self, a: &Alert) -> bool {
        let text = |c: Canon| a.canonical_text(c).map(|t| t.to_lowercase()).unwrap_or_default();
        let formats = self.formats.is_empty() || self.formats.contains(&a.format);
        let sources = self.sources.is_empty() || {
            let (channel, file) = (text(Canon::Channel), a.origin.file.to_lowercase());
            self.sources.iter().any(|s| channel.contains(s.as_str()) || file.contains(s.as_str()))
        };
        let rules = self.rules.is_empty() || {
            let rule = text(Canon::RuleName);
            self.rules.iter().any(|r| rule.contains(r.as_str()))
        };
        let tags = self.tags.is_empty()
            || self.tags.iter().any(|t| {
                a.values("tags").iter().any(|v| v.as_str() == Some(t.as_str()))
                    || a.values("event.tags").iter().any(|v| v.as_str() == Some(t.as_str()))
            });
        formats && sources && rules && tags
    }
}

/// The workflow that takes this alert.
pub fn select<'a>(workflows: &'a [Workflow], a: &Alert) -> &'a Workflow {
    workflows
        .iter()
        .find(|w| w.matches(a))
        .unwrap_or_else(|| workflows.last().expect("the default workflow is always present"))
}
