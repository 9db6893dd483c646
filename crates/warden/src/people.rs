//! `warden users`, `warden tokens`, `warden actions` and `warden stop`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use warden_core::{ActionKind, AuditRecord, RiskTier, Role};
use warden_engine::Engine;
use warden_engine::actions::ActionInput;
use warden_govern::{ActionRequest, Identity, RequestStatus};

use crate::{operator, print_json};

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create a local account. The password comes from WARDEN_PASSWORD when set, else it is prompted for.
    Add {
        name: String,
        /// analyst, senior_analyst, manager, auditor or admin; repeat for several.
        #[arg(long = "role", required = true, value_name = "ROLE")]
        roles: Vec<Role>,
    },
    /// Lift a sign-in lockout (after too many failed passwords) for a user name.
    Unlock { name: String },
    /// End every web session of a user now (a lost laptop, a left employee).
    SignOut { name: String },
}

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Create a bearer token for a user; printed alone on stdout, once. Only its hash is stored.
    Create {
        #[arg(long, value_name = "NAME")]
        user: String,
    },
    /// List tokens: id, user, created, revoked (never the token itself).
    List {
        /// Only this user's tokens.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// Revoke a token by its id (`tk-…`, from `warden tokens list`); it stops working at once.
    Revoke { id: String },
}

/// How the acting person proves who they are.
#[derive(clap::Args, Debug)]
pub struct Auth {
    /// Your bearer token (see `warden tokens create`).
    #[arg(long, env = "WARDEN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    token: String,
}

impl Auth {
    pub(crate) fn identity(&self, engine: &Engine) -> anyhow::Result<Identity> {
        engine.authenticate(&self.token).context("the token is not valid")
    }
}

#[derive(Subcommand, Debug)]
pub enum ActionsCommand {
    /// Action requests, newest first.
    List {
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        #[command(flatten)]
        auth: Auth,
    },
    /// One request in full (JSON).
    Show {
        id: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// Request an action. Low-tier actions may run at once when policy allows.
    Request {
        #[arg(long, value_name = "ACTION")]
        action: ActionKind,
        #[arg(long, value_name = "ID")]
        alert: Option<String>,
        /// key=value; repeat for several.
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        #[arg(long)]
        reason: String,
        /// Have the analyzer draft the text a critical action needs from the
        /// alert's assessment (marked as AI-generated; approvers edit it with --text).
        #[arg(long, requires = "alert")]
        draft: bool,
        #[command(flatten)]
        auth: Auth,
    },
    /// Approve a request (never your own). Critical actions need --note.
    Approve {
        id: String,
        #[arg(long, default_value = "")]
        note: String,
        /// Replace the draft with this text (the version that is sent).
        #[arg(long, value_name = "TEXT")]
        text: Option<String>,
        #[command(flatten)]
        auth: Auth,
    },
    /// Reject a request with a reason; it ends there.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// Run an approved request that is waiting (for example behind the hourly cap).
    Execute {
        id: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// The risk matrix: every action and its tier.
    Tiers,
    /// Change an action's tier (lowering needs a manager).
    SetTier {
        action: ActionKind,
        tier: RiskTier,
        #[command(flatten)]
        auth: Auth,
    },
}

#[derive(Subcommand, Debug)]
pub enum StopCommand {
    /// Engage: nothing executes automatically, every new alert goes to review.
    On {
        /// Only this workflow (default: everything).
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// Release.
    Off {
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        auth: Auth,
    },
    /// Show the switch.
    Status,
}

fn password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("WARDEN_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("set WARDEN_PASSWORD or run in a terminal to be prompted for the password");
    }
    let p = rpassword::prompt_password("password: ")?;
    if rpassword::prompt_password("again: ")? != p {
        bail!("the passwords differ");
    }
    Ok(p)
}

pub fn users(engine: &Engine, cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UsersCommand::Add { name, roles } => {
            engine.add_user(operator(), &name, &roles, &password()?)?;
            eprintln!("user {name} created ({})", roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "));
        }
        UsersCommand::Unlock { name } => {
            engine.store().set_login_failures(&crate::web::session::user_key(&name), None)?;
            engine.append_audit(vec![AuditRecord::new(
                operator(),
                "login.unlocked",
                name.as_str(),
                serde_json::json!({}),
            )])?;
            eprintln!("sign-in for {name} is open again");
        }
        UsersCommand::SignOut { name } => {
            let n = engine.store().end_sessions(None, Some(&name))?;
            engine.append_audit(vec![AuditRecord::new(
                operator(),
                "sessions.ended",
                name.as_str(),
                serde_json::json!({"sessions": n}),
            )])?;
            eprintln!("{n} session(s) of {name} ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn tokens(engine: &Engine, cmd: TokensCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TokensCommand::Create { user } => {
            let (id, token) = engine.create_token(operator(), &user)?;
            println!("{token}");
            eprintln!("token {id} created for {user} (revoke with `warden tokens revoke {id}`)");
        }
        TokensCommand::List { user } => {
            println!("{:<16} {:<20} {:<28} REVOKED", "ID", "USER", "CREATED");
            for t in engine.tokens()?.into_iter().filter(|t| user.as_ref().is_none_or(|u| &t.user == u)) {
                println!("{:<16} {:<20} {:<28} {}", t.id, t.user, t.created_at, t.revoked_at.as_deref().unwrap_or("-"));
            }
        }
        TokensCommand::Revoke { id } => {
            engine.revoke_token(operator(), &id)?;
            eprintln!("token {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn params(kv: &[String]) -> anyhow::Result<serde_json::Value> {
    let mut m = serde_json::Map::new();
    for p in kv {
        let (k, v) = p.split_once('=').with_context(|| format!("--param {p:?}: expected KEY=VALUE"))?;
        m.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
    }
    Ok(serde_json::Value::Object(m))
}

fn summary(r: &ActionRequest) {
    println!(
        "{}  {:<9} {:<28} {:<8} approvals={} requester={}{}",
        r.id,
        r.status.as_str(),
        r.kind.as_str(),
        r.tier.as_str(),
        r.approvals.len(),
        r.requester,
        r.alert_id.as_deref().map(|a| format!(" alert={a}")).unwrap_or_default()
    );
}

pub fn actions(engine: &Engine, cmd: ActionsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ActionsCommand::List { status, auth } => {
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(
                    serde_json::from_value::<RequestStatus>(serde_json::Value::String(s.to_owned()))
                        .with_context(|| format!("unknown status {s:?}"))?,
                ),
            };
            for r in engine.actions(&auth.identity(engine)?, status)? {
                summary(&r);
            }
        }
        ActionsCommand::Show { id, auth } => print_json(&engine.action(&auth.identity(engine)?, &id)?)?,
        ActionsCommand::Request { action, alert, params: kv, reason, draft, auth } => {
            let who = auth.identity(engine)?;
            let input = ActionInput { alert_id: alert, kind: action, params: params(&kv)?, reason, draft };
            print_json(&engine.request_action(&who, input)?)?;
        }
        ActionsCommand::Approve { id, note, text, auth } => {
            print_json(&engine.approve_action(&auth.identity(engine)?, &id, &note, text)?)?;
        }
        ActionsCommand::Reject { id, reason, auth } => {
            print_json(&engine.reject_action(&auth.identity(engine)?, &id, &reason)?)?;
        }
        ActionsCommand::Execute { id, auth } => print_json(&engine.execute_action(&auth.identity(engine)?, &id)?)?,
        ActionsCommand::Tiers => {
            for (kind, tier) in engine.risk_matrix()?.entries() {
                println!("{:<28} {}", kind.as_str(), tier.as_str());
            }
        }
        ActionsCommand::SetTier { action, tier, auth } => {
            let c = engine.set_action_tier(&auth.identity(engine)?, action, tier)?;
            println!("{}: {} → {}", c.action.as_str(), c.from.as_str(), c.to.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stop(engine: &Engine, cmd: StopCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StopCommand::On { workflow, reason, auth } => {
            let n = engine.set_stop(&auth.identity(engine)?, workflow.as_deref(), true, &reason)?;
            println!(
                "stop switch ON: nothing executes automatically, every new alert goes to review ({n} automatic action(s) cancelled)"
            );
        }
        StopCommand::Off { workflow, reason, auth } => {
            engine.set_stop(&auth.identity(engine)?, workflow.as_deref(), false, &reason)?;
            println!("stop switch off");
        }
        StopCommand::Status => match engine.switches()?.into_iter().find(|s| s.scope == warden_engine::actions::GLOBAL)
        {
            Some(s) => println!(
                "stop switch {} since {} by {}: {}",
                if s.engaged { "ON" } else { "off" },
                s.changed_at,
                s.changed_by,
                s.reason
            ),
            None => println!("stop switch off (never engaged)"),
        },
    }
    Ok(ExitCode::SUCCESS)
}
