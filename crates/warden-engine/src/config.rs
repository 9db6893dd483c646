//! Warden's configuration: one TOML file, environment overrides, validated
//! in two stages (raw serde structs that refuse unknown keys, then checks
//! that report every error together).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use warden_core::Canon;

/// The whole configuration, as written in `warden.toml`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub ingest: IngestConfig,
    pub govern: GovernConfig,
    pub pipeline: PipelineConfig,
    pub server: ServerConfig,
    pub audit: AuditConfig,
    /// `[actions.<action>]`: per-action tier (raise only) and executor.
    pub actions: BTreeMap<String, ActionConfig>,
    /// `[[workflows]]`, in order of precedence.
    pub workflows: Vec<WorkflowConfig>,
    /// `[executors.<name>]`: where approved actions are sent.
    pub executors: BTreeMap<String, ExecutorConfig>,
    pub execution: ExecutionConfig,
    pub privacy: PrivacyConfig,
    /// `[providers.<name>]`: analyzer providers and what each may see.
    pub providers: BTreeMap<String, ProviderConfig>,
    pub incidents: IncidentsConfig,
    /// `[store]`: where state lives. Deployment, not policy: it is not part
    /// of the configuration version stamped on audit entries (so nodes that
    /// reach one database by different addresses agree), and never printed.
    #[serde(skip_serializing)]
    pub store: StoreConfig,
    /// `[queue]`: the NATS JetStream ingest stream. Deployment too (the
    /// publishing node and the workers differ in it), so not versioned.
    #[serde(skip_serializing)]
    pub queue: QueueConfig,
    /// `[outbound]`: verdicts back to the SIEM as OCSF findings. Deployment
    /// (one node exports), so not versioned.
    #[serde(skip_serializing)]
    pub outbound: OutboundConfig,
    /// `[notify]`: approvals waiting are announced in Slack and Teams.
    /// Deployment (where people open Warden, which channels), so not versioned.
    #[serde(skip_serializing)]
    pub notify: NotifyConfig,
    /// `[oidc]`: single sign-on. Deployment, so not versioned (the role
    /// mapping's effect is: every sign-in audits the roles it gave).
    #[serde(skip_serializing)]
    pub oidc: OidcConfig,
}

/// `[oidc]`: sign-in through an OpenID Connect provider (authorization code
/// with PKCE), a claim mapped to Warden's roles; local accounts stay.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The issuer URL (its `/.well-known/openid-configuration` is read). Unset: no SSO.
    pub issuer: Option<String>,
    pub client_id: String,
    /// Environment variable holding the client secret (confidential clients); unset for a public client.
    pub client_secret_env: Option<String>,
    /// The redirect URL registered at the provider; default `notify.public_url` + `/login/oidc/callback`.
    pub redirect_url: Option<String>,
    pub scopes: Vec<String>,
    /// The claim that names the account (`sso.<value>`); `sub` when absent.
    pub username_claim: String,
    /// The claim whose values map to roles (a string or a list, such as `groups`).
    pub roles_claim: String,
    /// Claim value → Warden role (analyst, senior_analyst, manager, auditor, admin).
    pub roles: BTreeMap<String, String>,
    pub timeout_secs: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: None,
            client_id: "warden".into(),
            client_secret_env: None,
            redirect_url: None,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            username_claim: "email".into(),
            roles_claim: "groups".into(),
            roles: BTreeMap::new(),
            timeout_secs: 10,
        }
    }
}

/// `[notify]`: when an action waits for approval, a message to Slack and
/// Microsoft Teams incoming webhooks with a signed link to Warden's own
/// approval page (low and medium tiers; high and critical are never
/// approved from chat, so their message only points to Warden).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The address people open Warden at, for the links.
    pub public_url: String,
    /// Environment variables holding the incoming-webhook URLs (they are secrets).
    pub slack_webhook_env: Option<String>,
    pub teams_webhook_env: Option<String>,
    /// How long an approval link works.
    pub link_ttl_minutes: u64,
    pub timeout_secs: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            public_url: "http://127.0.0.1:8080".into(),
            slack_webhook_env: None,
            teams_webhook_env: None,
            link_ttl_minutes: 60,
            timeout_secs: 5,
        }
    }
}

/// `[outbound]`: `warden serve` sends OCSF Detection and Incident Findings,
/// read from the audit log in order, to a file, an HTTP endpoint, or both.
/// Set it on one node only: each exporting node sends the whole log.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundConfig {
    /// Append NDJSON findings to this file.
    pub file: Option<String>,
    /// POST NDJSON findings to this URL.
    pub url: Option<String>,
    /// Environment variable holding a bearer token for `url`.
    pub token_env: Option<String>,
    /// Audit entries read per delivery.
    pub batch: usize,
    /// How often to look for new entries.
    pub interval_secs: u64,
    pub timeout_secs: u64,
    pub retries: u32,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            file: None,
            url: None,
            token_env: None,
            batch: 500,
            interval_secs: 5,
            timeout_secs: 10,
            retries: 3,
        }
    }
}

impl OutboundConfig {
    /// Whether any sink is configured.
    pub fn enabled(&self) -> bool {
        self.file.is_some() || self.url.is_some()
    }
}

/// `[queue]`: several nodes share the ingest work through a JetStream stream.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// `nats://host:4222`. Unset: no stream; input is processed where it arrives.
    pub nats_url: Option<String>,
    /// The stream (created if missing) and the subject alerts are published on.
    pub stream: String,
    pub subject: String,
    /// `warden serve` publishes accepted HTTP and HEC input to the stream
    /// (answering once JetStream has it) instead of processing it; workers
    /// (`warden worker`) take it from there.
    pub publish: bool,
    /// The durable consumer workers share.
    pub consumer: String,
    /// Deliveries of one message before it is kept as a dead letter.
    pub max_deliver: i64,
    /// Seconds a worker has to commit and acknowledge a message before it is redelivered.
    pub ack_wait_secs: u64,
    /// Messages a worker takes at once (one pipeline batch).
    pub fetch: usize,
    /// Seconds within which a republished alert (same fingerprint) is dropped by JetStream.
    pub duplicate_window_secs: u64,
    /// The environment variable holding the server's token, when it wants one.
    pub token_env: Option<String>,
    /// A user name, with `password_env` naming the variable that holds the password.
    pub user: Option<String>,
    pub password_env: Option<String>,
    /// Require TLS to the NATS server, trusting this CA file (PEM) besides the public roots.
    pub tls: bool,
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            nats_url: None,
            stream: "WARDEN_INGEST".into(),
            subject: "warden.ingest".into(),
            publish: false,
            consumer: "warden-workers".into(),
            max_deliver: 5,
            ack_wait_secs: 60,
            fetch: 500,
            duplicate_window_secs: 120,
            token_env: None,
            user: None,
            password_env: None,
            tls: false,
            ca_file: None,
        }
    }
}

/// `[store]`: the embedded SQLite file by default, or one PostgreSQL
/// database that several nodes share. Its `Debug` never shows the URL (it
/// may hold a password).
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://user@host:5432/db`. Unset: `<data>/warden.db`.
    pub url: Option<String>,
    /// The environment variable holding the URL instead (keeps a password out of the file).
    pub url_env: Option<String>,
    /// PostgreSQL schema to use (created if missing); default: the database's search path.
    pub schema: Option<String>,
    /// `true`: connect over TLS, the server's certificate verified against the
    /// public roots and `ca_file` (add `sslmode=require` to the URL to refuse
    /// a server without TLS). `false` (the default): plain connections, for
    /// loopback or a private network you trust.
    pub tls: bool,
    /// PEM file of the CA that signed the database's certificate.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url.as_ref().map(|_| "(set)"))
            .field("url_env", &self.url_env)
            .field("schema", &self.schema)
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl StoreConfig {
    /// The PostgreSQL URL in force, if any (the variable named by `url_env` wins).
    pub fn postgres_url(&self) -> Result<Option<String>, String> {
        let url = match &self.url_env {
            Some(var) => Some(std::env::var(var).map_err(|_| format!("store.url_env: {var} is not set"))?),
            None => self.url.clone(),
        };
        match url {
            Some(u) if !(u.starts_with("postgres://") || u.starts_with("postgresql://")) => {
                Err("store.url must be a postgres:// URL (leave it unset for the embedded SQLite file)".into())
            }
            other => Ok(other),
        }
    }
}

/// `[incidents]`: how alerts are grouped into incidents, and how long each
/// severity may wait.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// An alert joins an open incident that shares an entity (host, user,
    /// source address) when it happened within this
    /// many minutes of the incident's alerts.
    pub window_minutes: u64,
    /// A later step of the kill chain (discovery, then credential access,
    /// then lateral movement) on the same entities joins within this many
    /// hours.
    pub progression_window_hours: u64,
    /// No incident spans more than this many hours of event time; the next
    /// alert opens a new one.
    pub max_span_hours: u64,
    /// Minutes an open incident of each severity may wait before its SLA is
    /// breached (`critical`, `high`, `medium`, `low`, `info`).
    pub sla_minutes: BTreeMap<String, u64>,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            window_minutes: 60,
            progression_window_hours: 24,
            max_span_hours: 72,
            sla_minutes: [("critical", 15), ("high", 60), ("medium", 240), ("low", 1440), ("info", 4320)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    }
}

/// `[privacy]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Tokens are keyed per tenant.
    pub tenant: String,
    /// File holding the 32-byte master key (64 hex characters) that keys
    /// tokens and encrypts the vault. Default `<data>/keys/vault.key`,
    /// created on first use; `WARDEN_VAULT_KEY` (64 hex) overrides both.
    /// Never inside the database.
    pub vault_key_file: Option<std::path::PathBuf>,
    /// Built-in recognisers to turn off, by name (see `warden privacy recognisers`).
    pub disabled_recognisers: Vec<String>,
    /// Extra recognisers.
    pub recognisers: Vec<warden_privacy::CustomRecogniser>,
    /// What people see, per role and data class (`shown`, `tokenised` or
    /// `hidden`), over the default: analysts, senior analysts and managers
    /// see host names, user names, IP addresses, URLs and MACs as they are
    /// and everything else tokenised; auditors and admins see tokens.
    /// `[privacy.view.analyst] email = "shown"`.
    pub view: BTreeMap<String, BTreeMap<String, warden_privacy::Display>>,
}

impl PrivacyConfig {
    /// The view policy this configuration describes.
    pub fn view_policy(&self) -> Result<warden_privacy::ViewPolicy, String> {
        let mut o = BTreeMap::new();
        for (role, classes) in &self.view {
            let r = role.parse::<warden_core::Role>().map_err(|e| format!("privacy.view.{role}: {e}"))?;
            let mut m = BTreeMap::new();
            for (class, d) in classes {
                let c =
                    class.parse::<warden_core::DataClass>().map_err(|e| format!("privacy.view.{role}.{class}: {e}"))?;
                m.insert(c, *d);
            }
            o.insert(r, m);
        }
        Ok(warden_privacy::ViewPolicy::with(&o))
    }
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            tenant: "default".into(),
            vault_key_file: None,
            disabled_recognisers: Vec::new(),
            recognisers: Vec::new(),
            view: BTreeMap::new(),
        }
    }
}

/// `[providers.<name>]`: an analyzer provider.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    /// The API it speaks: `openai` (default; any OpenAI-compatible
    /// chat-completions endpoint: OpenAI, Azure OpenAI, vLLM, Ollama, …).
    pub kind: ProviderKind,
    /// `on_prem`, `region:<name>` or `external`.
    pub residency: String,
    /// Per data class: `raw`, `tokenise` or `never`. Unlisted classes:
    /// raw on the premises; elsewhere tokenised, and secrets never.
    pub classes: BTreeMap<String, warden_privacy::Handling>,
    /// Fields no recogniser classifies: `raw` or `never` (default `never`
    /// off the premises, `raw` on them).
    pub unclassified: Option<warden_privacy::Handling>,
    /// An OpenAI-compatible chat-completions endpoint makes this provider an
    /// analyzer a workflow can use: e.g. `http://127.0.0.1:11434/v1` (Ollama).
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Environment variable holding the API key (never put the key in this file).
    pub api_key_env: Option<String>,
    /// Or a file holding it.
    pub api_key_file: Option<std::path::PathBuf>,
    /// `authorization` (Bearer, default) or `api-key` (Azure OpenAI).
    pub auth_header: Option<String>,
    /// Azure OpenAI's `api-version`.
    pub api_version: Option<String>,
    /// Per-attempt timeout (default 60).
    pub timeout_secs: Option<u64>,
    /// Further attempts on timeouts, 429 and 5xx (default 2).
    pub retries: Option<u32>,
    /// Requests in flight at once (default 4).
    pub max_concurrency: Option<usize>,
    /// Consecutive failures that open the circuit (default 5) and how long it stays open (default 60 s).
    pub breaker_failures: Option<u32>,
    pub breaker_cooldown_secs: Option<u64>,
    /// Tokens this provider may use in all (default 0: no limit).
    pub token_budget: Option<u64>,
    /// `json_schema` (default) or `json_object` for servers without structured output.
    pub response_format: Option<String>,
    /// Few-shot examples per request: the most similar alerts analysts
    /// decided, protected like the alert (default 0).
    pub few_shot: Option<usize>,
    /// `[providers.<name>.budget]`: calls, tokens and cost per hour and per
    /// day. Past a limit the alert goes to the local analyzer and review.
    pub budget: BudgetConfig,
    /// `[providers.<name>.price]`: what 1,000 tokens cost, for the ledger and the cost budget.
    pub price: PriceConfig,
}

/// The kinds of generative provider Warden can call.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
pub enum ProviderKind {
    #[default]
    #[serde(rename = "openai")]
    OpenAiCompatible,
}

/// Limits per clock hour and per UTC day; 0 or absent is no limit (the
/// analyzers count against this very type).
pub type BudgetConfig = warden_analyze::llm::Budget;

/// Prices per 1,000 tokens (the analyzers price calls with this very type).
pub type PriceConfig = warden_analyze::llm::Prices;

/// `[actions.<action>]`, e.g. `[actions.isolate_host]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ActionConfig {
    /// low, medium, high or critical. Only raising the default is allowed here;
    /// lowering needs a manager (`warden actions set-tier`).
    pub tier: Option<String>,
    /// Name of an `[executors.<name>]` entry; default `log` (a dry run recorded in the audit log).
    pub executor: Option<String>,
}

/// `[executors.<name>]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorConfig {
    /// `webhook` (HTTP POST of a signed JSON body), `thehive` (TheHive 5
    /// alert with observables), `iris` (DFIR-IRIS case with IOCs), `jira`
    /// (Jira issue) or `log` (dry run).
    pub kind: String,
    /// Webhook URL, or the base URL of TheHive, IRIS or Jira.
    pub url: Option<String>,
    /// Environment variable holding the secret: the webhook's HMAC-SHA256
    /// signing key, or the API key / token (never put the secret in this file).
    pub secret_env: Option<String>,
    /// Per-attempt timeout.
    pub timeout_secs: u64,
    /// Further attempts after a timeout, a 429 or a 5xx, with exponential backoff and jitter.
    pub retries: u32,
    /// Jira: the project key issues go to (required) and the issue type.
    pub project: Option<String>,
    pub issue_type: String,
    /// Jira Cloud: the account e-mail, for basic authentication with the
    /// API token; unset, the token is sent as a bearer token (Data Center PATs).
    pub user: Option<String>,
    /// DFIR-IRIS: the customer id cases are filed under.
    pub customer_id: u64,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            kind: "log".into(),
            url: None,
            secret_env: None,
            timeout_secs: 10,
            retries: 3,
            project: None,
            issue_type: "Task".into(),
            user: None,
            customer_id: 1,
        }
    }
}

/// `[execution]`: limits on what runs.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutionConfig {
    /// At most this many actions execute automatically per hour; the rest wait for a human.
    pub max_per_hour: u64,
    /// Pending approvals expire after this many hours.
    pub approval_ttl_hours: u64,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig { max_per_hour: 30, approval_ttl_hours: 24 }
    }
}

/// `[audit]`: the tamper-evident log's checkpoints, key and retention.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Names this log in its checkpoints; a checkpoint of another log never verifies here.
    pub origin: String,
    /// Write a signed checkpoint after this many new entries.
    pub checkpoint_every: u64,
    /// The server also writes one when this many seconds have passed and there are new entries.
    pub checkpoint_interval_secs: u64,
    /// Where checkpoints are written (default `<data>/checkpoints`). Ship this
    /// directory off the machine: a checkpoint kept elsewhere proves the log later.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// The Ed25519 signing key file (default `<data>/keys/audit-signing.key`,
    /// created on first use with mode 0600). Never inside the database; its
    /// public key is written beside it as `.pub`.
    pub signing_key: Option<std::path::PathBuf>,
    /// Entries younger than this many days are never purged.
    pub min_retention_days: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            origin: "warden/audit-log".into(),
            checkpoint_every: 1000,
            checkpoint_interval_secs: 300,
            checkpoint_dir: None,
            signing_key: None,
            min_retention_days: 183,
        }
    }
}

/// `[ingest]`: limits on input and the field map for generic JSON.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest record (line, array element, EVTX record) accepted, in bytes.
    pub max_record_bytes: usize,
    /// Largest single field value accepted, in bytes.
    pub max_field_bytes: usize,
    /// Deepest nesting of objects and arrays accepted.
    pub max_depth: usize,
    /// Most fields in one record accepted.
    pub max_fields: usize,
    /// Generic JSON: canonical field name → candidate paths, tried in order.
    /// Names: timestamp, host, user, source_ip, destination_ip, command_line,
    /// image, rule_name, vendor_severity, event_code, message, …
    pub json_fields: BTreeMap<String, Vec<String>>,
    /// `[ingest.syslog]`: syslog, CEF and LEEF over UDP and TCP. Deployment
    /// (each node listens where it is told), so not versioned.
    #[serde(skip_serializing)]
    pub syslog: SyslogConfig,
}

/// `[ingest.syslog]`: `warden serve` listens for syslog (RFC 3164 and 5424),
/// CEF and LEEF messages, over UDP (one message per datagram) and TCP (RFC
/// 6587: octet-counted or one message per line).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    /// Address and port, such as `0.0.0.0:5514`. Unset: no listener.
    pub bind: Option<String>,
    /// Which transports to listen on at `bind`.
    pub udp: bool,
    pub tcp: bool,
    /// Largest message; a longer one is dead-lettered (its first bytes kept).
    pub max_message_bytes: usize,
    /// Messages held between the sockets and the pipeline. When it is full,
    /// TCP senders wait (the connection stops being read) and UDP datagrams
    /// are dropped and counted, since UDP cannot wait.
    pub queue: usize,
    /// Messages per pipeline batch, and the longest a message waits for one to fill.
    pub batch: usize,
    pub flush_ms: u64,
    /// Most TCP connections at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            bind: None,
            udp: true,
            tcp: true,
            max_message_bytes: 64 << 10,
            queue: 10_000,
            batch: 500,
            flush_ms: 250,
            max_connections: 256,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        let l = warden_ingest::Limits::default();
        IngestConfig {
            max_record_bytes: l.max_record_bytes,
            max_field_bytes: l.max_field_bytes,
            max_depth: l.max_depth,
            max_fields: l.max_fields,
            json_fields: BTreeMap::new(),
            syslog: SyslogConfig::default(),
        }
    }
}

/// `[govern]`: the routing policy of the default workflow (the one that
/// takes every alert no `[[workflows]]` entry matches), and what the others
/// inherit.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GovernConfig {
    /// Below this (calibrated) confidence, review is mandatory. 0 to 1.
    pub confidence_threshold: f64,
    /// `shadow` (AI recorded, not used), `assist` (a human decides everything,
    /// AI view attached) or `supervised` (routing by policy).
    pub stage: warden_govern::Stage,
    /// Minimum length of burn-in, in days, from its start.
    pub burn_in_days: u32,
    /// When burn-in started (YYYY-MM-DD); default: the day the workflow first saw an alert.
    pub burn_in_start: Option<jiff::civil::Date>,
    /// Share of would-be auto-closed alerts still sent to a human after burn-in (0 to 1).
    pub qa_sample_rate: f64,
    /// What measured accuracy must reach before burn-in may end.
    pub exit: ExitConfig,
    /// Blind first look: analysts record their verdict before the AI's is
    /// shown, so acceptance measures agreement, not deference.
    pub blind_first_look: bool,
    /// The server refits the calibration map this often (hours; 0: only on demand).
    pub recalibrate_every_hours: u64,
    /// The default workflow's analyzer: `local` or a provider with a `base_url`.
    pub analyzer: String,
    /// Actions an alert flagged for prompt injection may still recommend.
    pub injection_allowed_actions: Vec<String>,
    /// Deterministic first: when analysts confirmed the local analyzer's
    /// verdict on this detection (rule name, or channel and event id) at
    /// least this many times and never decided otherwise, and the local
    /// analyzer is confident (at or above the threshold), no model is
    /// called. 0 (default): always call the workflow's model.
    pub precedent_confirmations: u32,
    /// `[govern.replay]`: the gate a candidate rule set must pass before it becomes active.
    pub replay: ReplayGate,
    /// `[govern.budget]`: what the default workflow (and any workflow
    /// without its own) may spend on its model per hour and day; none by default.
    pub budget: BudgetConfig,
}

/// The replay gate: a candidate may not lower any tactic's recall (on the
/// alerts analysts decided) by more than `max_tactic_recall_drop`, nor leave
/// a tactic the active set catches uncaught, counting tactics with at least
/// `min_tactic_support` decided attacks.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReplayGate {
    pub max_tactic_recall_drop: f64,
    pub min_tactic_support: usize,
}

impl Default for ReplayGate {
    fn default() -> Self {
        ReplayGate { max_tactic_recall_drop: 0.05, min_tactic_support: 1 }
    }
}

impl Default for GovernConfig {
    fn default() -> Self {
        GovernConfig {
            confidence_threshold: warden_govern::default_confidence_threshold(),
            stage: warden_govern::Stage::Assist,
            burn_in_days: 90,
            burn_in_start: None,
            qa_sample_rate: 0.05,
            exit: ExitConfig::default(),
            blind_first_look: false,
            recalibrate_every_hours: 24,
            analyzer: "local".into(),
            injection_allowed_actions: vec!["enrich".into(), "tag".into(), "add_note".into(), "open_ticket".into()],
            precedent_confirmations: 0,
            replay: ReplayGate::default(),
            budget: BudgetConfig::default(),
        }
    }
}

/// `[govern.exit]`: burn-in exit criteria, measured on reviewed alerts.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExitConfig {
    /// At least this many human decisions.
    pub min_reviews: u64,
    /// Of the alerts humans called malicious, the share the AI called malicious.
    pub min_malicious_recall: f64,
    /// Expected calibration error (15 bins) at most this.
    pub max_ece: f64,
}

impl Default for ExitConfig {
    fn default() -> Self {
        ExitConfig { min_reviews: 200, min_malicious_recall: 0.95, max_ece: 0.05 }
    }
}

/// `[[workflows]]`: alerts selected by format, source, rule or tag, with
/// their own stage, burn-in and thresholds (unset keys inherit `[govern]`).
/// The first workflow that matches an alert takes it; a workflow with no
/// selectors matches everything.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowConfig {
    pub name: String,
    /// Input formats: ocsf, ecs, eve, evtx, json.
    pub formats: Vec<String>,
    /// Substrings of the source (channel, product, dataset or input name), case-insensitive.
    pub sources: Vec<String>,
    /// Substrings of the detection's rule name, case-insensitive.
    pub rules: Vec<String>,
    /// Values of the alert's `tags` field.
    pub tags: Vec<String>,
    pub stage: Option<warden_govern::Stage>,
    pub confidence_threshold: Option<f64>,
    pub burn_in_days: Option<u32>,
    pub burn_in_start: Option<jiff::civil::Date>,
    pub qa_sample_rate: Option<f64>,
    pub exit: Option<ExitConfig>,
    pub blind_first_look: Option<bool>,
    /// The analyzer: `local` (default) or a `[providers.<name>]` with a `base_url`.
    pub analyzer: Option<String>,
    /// Calls, tokens and cost this workflow may spend on its model per hour
    /// and day (default `govern.budget`); past one the local analyzer stands in.
    pub budget: Option<BudgetConfig>,
}

/// `[pipeline]`: how work is grouped.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Alerts written per transaction. Results are reported once their batch
    /// is durable, so a smaller batch reports sooner and loses less work to a
    /// crash; a larger one is faster.
    pub batch_size: usize,
    /// Cores that screen and protect a batch's alerts at once (0: every core
    /// the process may use). The rest of each alert's processing runs in
    /// input order, so the results are the same whatever this says.
    pub threads: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig { batch_size: 1024, threads: 0 }
    }
}

/// `[server]`: `warden serve`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take, reading its body included; a slower
    /// client gets 408. Ingestion stops before its next batch at four fifths
    /// of it and answers 503 with what it committed (`complete: false`);
    /// nothing runs on after the request.
    pub request_timeout_secs: u64,
    /// Longest a client may take to send a request's headers (the first
    /// request on a connection, or the next one on a kept-alive connection);
    /// a slower one is disconnected, so trickled headers cannot hold
    /// connections open.
    pub header_timeout_secs: u64,
    /// Ingest requests served at once (bodies being read or triaged); one
    /// more waits up to a second for a slot and is then answered 503 with
    /// `Retry-After`, before its body is read. Memory for bodies is bounded
    /// by this times `max_body_bytes`.
    pub max_concurrent_ingest: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 32 << 20,
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            max_concurrent_ingest: 8,
        }
    }
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

impl Config {
    /// Reads a file (when given), applies `WARDEN_SECTION__KEY` overrides from
    /// `env`, and validates. Returns every error at once.
    pub fn load(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigErrors> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| ConfigErrors(vec![format!("{}: {e}", p.display())]))?,
            None => String::new(),
        };
        let name = path.map_or("configuration".to_owned(), |p| p.display().to_string());
        Self::parse(&text, &name, env)
    }

    /// As [`Config::load`], from text.
    pub fn parse(
        text: &str,
        name: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let mut table: toml::Table =
            text.parse().map_err(|e: toml::de::Error| ConfigErrors(vec![format!("{name}: {e}")]))?;
        let mut errors = Vec::new();
        for (key, value) in env {
            let Some(rest) = key.strip_prefix("WARDEN_") else {
                continue;
            };
            let Some((section, field)) = rest.split_once("__") else {
                continue;
            };
            let (section, field) = (section.to_lowercase(), field.to_lowercase());
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            match table.entry(section).or_insert_with(|| toml::Value::Table(toml::Table::new())) {
                toml::Value::Table(t) => {
                    t.insert(field, parsed);
                }
                _ => errors.push(format!("{key}: section is not a table")),
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let config: Config = Config::deserialize(table).map_err(|e| ConfigErrors(vec![format!("{name}: {e}")]))?;
        config.validate()?;
        Ok(config)
    }

    /// The second stage: every rule checked, every failure reported.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut e = Vec::new();
        if let Some(u) = &self.store.url
            && !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
        {
            e.push("store.url must be a postgres:// URL (leave it unset for the embedded SQLite file)".into());
        }
        if self.queue.publish && self.queue.nats_url.is_none() {
            e.push("queue.publish needs queue.nats_url (the JetStream server to publish to)".into());
        }
        if self.queue.user.is_some() != self.queue.password_env.is_some() {
            e.push("queue.user and queue.password_env go together".into());
        }
        if self.queue.token_env.is_some() && self.queue.user.is_some() {
            e.push("queue: give token_env or user and password_env, not both".into());
        }
        if self.queue.max_deliver < 1 || self.queue.fetch == 0 || self.queue.ack_wait_secs == 0 {
            e.push("queue.max_deliver, queue.fetch and queue.ack_wait_secs must be at least 1".into());
        }
        if self.store.ca_file.is_some() && !self.store.tls {
            e.push("store.ca_file is only used with store.tls = true".into());
        }
        if self.store.url.is_some() && self.store.url_env.is_some() {
            e.push("store: give url or url_env, not both".into());
        }
        let t = self.govern.confidence_threshold;
        if !(0.0..=1.0).contains(&t) {
            e.push(format!("govern.confidence_threshold must be between 0 and 1, got {t}"));
        }
        let unit = |name: String, v: f64, e: &mut Vec<String>| {
            if !(0.0..=1.0).contains(&v) {
                e.push(format!("{name} must be between 0 and 1, got {v}"));
            }
        };
        unit("govern.qa_sample_rate".into(), self.govern.qa_sample_rate, &mut e);
        unit("govern.exit.min_malicious_recall".into(), self.govern.exit.min_malicious_recall, &mut e);
        unit("govern.exit.max_ece".into(), self.govern.exit.max_ece, &mut e);
        let analyzers: Vec<&String> = std::iter::once(&self.govern.analyzer)
            .chain(self.workflows.iter().filter_map(|w| w.analyzer.as_ref()))
            .collect();
        for a in analyzers {
            if a != "local" && self.providers.get(a).is_none_or(|p| p.base_url.is_none()) {
                e.push(format!("analyzer {a:?}: not `local` and no [providers.{a}] with a base_url"));
            }
        }
        if let Err(m) = self.privacy.view_policy() {
            e.push(m);
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, w) in self.workflows.iter().enumerate() {
            let at = format!("workflows[{i}]");
            if w.name.is_empty()
                || w.name == "default"
                || !w.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                e.push(format!("{at}.name: give a name of letters, digits, '-' or '_' (not \"default\")"));
            } else if !names.insert(w.name.clone()) {
                e.push(format!("{at}.name: {:?} is used twice", w.name));
            }
            for f in &w.formats {
                if f.parse::<warden_core::Format>().is_err() {
                    e.push(format!("{at}.formats: unknown format {f:?}"));
                }
            }
            for (k, v) in [("confidence_threshold", w.confidence_threshold), ("qa_sample_rate", w.qa_sample_rate)] {
                if let Some(v) = v {
                    unit(format!("{at}.{k}"), v, &mut e);
                }
            }
        }
        for (name, v) in [
            ("ingest.max_record_bytes", self.ingest.max_record_bytes),
            ("ingest.max_field_bytes", self.ingest.max_field_bytes),
            ("ingest.max_depth", self.ingest.max_depth),
            ("ingest.max_fields", self.ingest.max_fields),
            ("pipeline.batch_size", self.pipeline.batch_size),
            ("incidents.window_minutes", self.incidents.window_minutes as usize),
            ("incidents.max_span_hours", self.incidents.max_span_hours as usize),
            ("server.max_body_bytes", self.server.max_body_bytes),
            ("server.request_timeout_secs", self.server.request_timeout_secs as usize),
            ("server.header_timeout_secs", self.server.header_timeout_secs as usize),
        ] {
            if v == 0 {
                e.push(format!("{name} must be greater than 0"));
            }
        }
        for k in self.incidents.sla_minutes.keys() {
            if k.parse::<warden_core::Severity>().is_err() {
                e.push(format!("incidents.sla_minutes.{k}: not a severity (critical, high, medium, low, info)"));
            }
        }
        if self.audit.origin.trim().is_empty() || self.audit.origin.contains('\n') {
            e.push("audit.origin must be one non-empty line".to_owned());
        }
        if self.server.max_concurrent_ingest == 0 {
            e.push("server.max_concurrent_ingest must be at least 1".to_owned());
        }
        if self.audit.checkpoint_every == 0 || self.audit.checkpoint_interval_secs == 0 {
            e.push("audit.checkpoint_every and audit.checkpoint_interval_secs must be greater than 0".to_owned());
        }
        if self.audit.min_retention_days < 1 {
            e.push("audit.min_retention_days must be at least 1".to_owned());
        }
        for (name, a) in &self.actions {
            match name.parse::<warden_core::ActionKind>() {
                Err(_) => e.push(format!(
                    "actions.{name}: unknown action (known: {})",
                    warden_core::ActionKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                )),
                Ok(kind) => {
                    if let Some(t) = &a.tier {
                        match t.parse::<warden_core::RiskTier>() {
                            Err(_) => {
                                e.push(format!("actions.{name}.tier: {t:?} is not low, medium, high or critical"))
                            }
                            Ok(tier) if tier < kind.default_tier() => e.push(format!(
                                "actions.{name}.tier: {tier} is below the default {}; lowering a tier needs a manager \
                                 (warden actions set-tier)",
                                kind.default_tier()
                            )),
                            Ok(_) => {}
                        }
                    }
                }
            }
            if let Some(x) = &a.executor
                && x != "log"
                && !self.executors.contains_key(x)
            {
                e.push(format!("actions.{name}.executor: no [executors.{x}]"));
            }
        }
        for (name, x) in &self.executors {
            match x.kind.as_str() {
                "log" => {}
                "webhook" => {
                    match &x.url {
                        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {}
                        _ => e.push(format!("executors.{name}.url: a webhook needs an http:// or https:// URL")),
                    }
                    if x.secret_env.is_none() {
                        e.push(format!("executors.{name}.secret_env: name the variable holding the signing secret"));
                    }
                }
                "thehive" | "iris" | "jira" => {
                    match &x.url {
                        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {}
                        _ => e.push(format!("executors.{name}.url: give the server's http:// or https:// base URL")),
                    }
                    if x.secret_env.is_none() {
                        e.push(format!("executors.{name}.secret_env: name the variable holding the API key"));
                    }
                    if x.kind == "jira" && x.project.is_none() {
                        e.push(format!("executors.{name}.project: name the Jira project key issues go to"));
                    }
                }
                other => e.push(format!("executors.{name}.kind: {other:?} is not webhook, thehive, iris, jira or log")),
            }
            if x.timeout_secs == 0 {
                e.push(format!("executors.{name}.timeout_secs must be greater than 0"));
            }
        }
        for (name, p) in &self.providers {
            if warden_privacy::Residency::parse(&p.residency).is_none() {
                e.push(format!(
                    "providers.{name}.residency: {:?} is not on_prem, region:<name> or external",
                    p.residency
                ));
            }
            for class in p.classes.keys() {
                if class.parse::<warden_core::DataClass>().is_err() {
                    e.push(format!("providers.{name}.classes: unknown data class {class:?}"));
                }
            }
            if p.unclassified == Some(warden_privacy::Handling::Tokenise) {
                e.push(format!(
                    "providers.{name}.unclassified: raw or never (an unclassified value has no token type)"
                ));
            }
            if name == "local" {
                e.push("providers.local: the local analyzer's provider is built in".to_owned());
            }
            if p.base_url.is_some() && p.model.is_none() {
                e.push(format!("providers.{name}.model: a provider with a base_url needs a model"));
            }
            if let Some(f) = &p.response_format
                && f != "json_schema"
                && f != "json_object"
            {
                e.push(format!("providers.{name}.response_format: json_schema or json_object, got {f:?}"));
            }
        }
        for r in &self.privacy.recognisers {
            if r.class.parse::<warden_core::DataClass>().is_err() {
                e.push(format!("privacy.recognisers {}: unknown data class {:?}", r.name, r.class));
            }
            if let Err(x) = regex::Regex::new(&r.pattern) {
                e.push(format!("privacy.recognisers {}: {x}", r.name));
            }
        }
        if self.execution.approval_ttl_hours == 0 {
            e.push("execution.approval_ttl_hours must be greater than 0".to_owned());
        }
        if self.ingest.max_depth > 128 {
            e.push(format!(
                "ingest.max_depth must be at most 128 (the JSON parser's own limit), got {}",
                self.ingest.max_depth
            ));
        }
        for (name, paths) in &self.ingest.json_fields {
            if name.parse::<Canon>().is_err() {
                e.push(format!(
                    "ingest.json_fields: unknown canonical field {name:?} (known: {})",
                    Canon::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            if paths.is_empty() {
                e.push(format!("ingest.json_fields.{name}: give at least one path"));
            }
        }
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            e.push(format!(
                "server.bind must be an address and port such as 127.0.0.1:8080, got {:?}",
                self.server.bind
            ));
        }
        let n = &self.notify;
        if !(n.public_url.starts_with("http://") || n.public_url.starts_with("https://")) {
            e.push(format!("notify.public_url must be an http:// or https:// URL, got {:?}", n.public_url));
        }
        if n.link_ttl_minutes == 0 || n.link_ttl_minutes > 7 * 24 * 60 || n.timeout_secs == 0 {
            e.push("notify.link_ttl_minutes must be 1 to 10080 (a week), and timeout_secs at least 1".to_owned());
        }
        let o = &self.oidc;
        if let Some(i) = &o.issuer {
            if !(i.starts_with("https://") || i.starts_with("http://")) {
                e.push(format!("oidc.issuer must be an https:// URL, got {i:?}"));
            }
            if o.roles.is_empty() {
                e.push("oidc.roles: map at least one claim value to a role, or nobody can sign in".to_owned());
            }
            if !o.scopes.iter().any(|s| s == "openid") {
                e.push("oidc.scopes must include openid".to_owned());
            }
        }
        for (value, role) in &o.roles {
            if role.parse::<warden_core::Role>().is_err() {
                e.push(format!(
                    "oidc.roles.{value}: {role:?} is not a role (analyst, senior_analyst, manager, auditor, admin)"
                ));
            }
        }
        let out = &self.outbound;
        if let Some(u) = &out.url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            e.push(format!("outbound.url must be an http:// or https:// URL, got {u:?}"));
        }
        if out.batch == 0 || out.interval_secs == 0 || out.timeout_secs == 0 {
            e.push("outbound.batch, interval_secs and timeout_secs must be at least 1".to_owned());
        }
        let sys = &self.ingest.syslog;
        if let Some(b) = &sys.bind {
            if b.parse::<std::net::SocketAddr>().is_err() {
                e.push(format!("ingest.syslog.bind must be an address and port such as 0.0.0.0:5514, got {b:?}"));
            }
            if !sys.udp && !sys.tcp {
                e.push("ingest.syslog: udp and tcp are both off, so bind listens on nothing".to_owned());
            }
        }
        if sys.queue == 0 || sys.batch == 0 || sys.max_connections == 0 || sys.flush_ms == 0 {
            e.push("ingest.syslog.queue, batch, flush_ms and max_connections must be at least 1".to_owned());
        }
        if sys.max_message_bytes == 0 || sys.max_message_bytes > self.ingest.max_record_bytes {
            e.push(format!(
                "ingest.syslog.max_message_bytes must be between 1 and ingest.max_record_bytes ({}), got {}",
                self.ingest.max_record_bytes, sys.max_message_bytes
            ));
        }
        if e.is_empty() { Ok(()) } else { Err(ConfigErrors(e)) }
    }

    pub(crate) fn ingest_options(&self, received_at: jiff::Timestamp) -> warden_ingest::Options {
        let mut o = warden_ingest::Options::new(received_at);
        o.limits = warden_ingest::Limits {
            max_record_bytes: self.ingest.max_record_bytes,
            max_field_bytes: self.ingest.max_field_bytes,
            max_depth: self.ingest.max_depth,
            max_fields: self.ingest.max_fields,
        };
        o.json_field_map =
            self.ingest.json_fields.iter().filter_map(|(k, v)| Some((k.parse::<Canon>().ok()?, v.clone()))).collect();
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_store_url_never_shows_in_debug_output() {
        let c = Config::parse("[store]\nurl = \"postgres://ann:s3cret@db/w\"\n", "t", Vec::new()).unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(!serde_json::to_string(&c).unwrap().contains("s3cret"), "nor in the versioned form");
    }

    #[test]
    fn every_error_is_reported_together() {
        let text = "[govern]\nconfidence_threshold = 1.5\n[pipeline]\nbatch_size = 0\n[ingest.json_fields]\nhostess = [\"h\"]\n";
        let err = Config::parse(text, "t.toml", env(&[])).unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::parse("[govern]\nconfidence = 0.9\n", "t.toml", env(&[])).unwrap_err();
        assert!(err.to_string().contains("unknown field `confidence`"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let c = Config::parse(
            "[govern]\nconfidence_threshold = 0.9\n",
            "t.toml",
            env(&[
                ("WARDEN_GOVERN__CONFIDENCE_THRESHOLD", "0.7"),
                ("WARDEN_SERVER__BIND", "0.0.0.0:9000"),
                ("WARDEN_PASSWORD", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.govern.confidence_threshold, 0.7);
        assert_eq!(c.server.bind, "0.0.0.0:9000");
    }
}
