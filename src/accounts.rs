//! What an administrator does to an agent's account, from the CLI or the
//! admin page alike: unlock after failed logins, disable (every session and
//! token stops at once), enable. Each is written to the audit log.

use crate::domain::Millis;
use crate::store::{NewAudit, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    /// Forget the account's failed logins and lock.
    Unlock,
    /// Refuse logins, end sessions, stop tokens and event streams.
    Disable,
    Enable,
}

impl AccountAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unlock" => Some(Self::Unlock),
            "disable" => Some(Self::Disable),
            "enable" => Some(Self::Enable),
            _ => None,
        }
    }

    /// The audit log's code.
    fn code(self) -> &'static str {
        match self {
            Self::Unlock => "agent_unlocked",
            Self::Disable => "agent_disabled",
            Self::Enable => "agent_enabled",
        }
    }
}

/// The throttle's key for an account name (case does not matter).
pub fn name_key(name: &str) -> String {
    format!("name:{}", name.trim().to_lowercase())
}

/// The throttle's key for a client address.
pub fn address_key(ip: std::net::IpAddr) -> String {
    format!("addr:{ip}")
}

/// Applies `action` to agent `name`; false if there is no such agent.
pub async fn apply(
    store: &Store,
    name: &str,
    action: AccountAction,
    actor: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let Some(agent) = store.agent_by_name(name).await? else {
        return Ok(false);
    };
    match action {
        AccountAction::Unlock => store.login_succeeded(&name_key(&agent.name)).await?,
        AccountAction::Disable => {
            store.set_agent_disabled(&agent.name, Some(now)).await?;
        }
        AccountAction::Enable => {
            store.set_agent_disabled(&agent.name, None).await?;
        }
    }
    store
        .audit(&NewAudit {
            report_id: None,
            actor: actor.to_owned(),
            action: action.code().to_owned(),
            before_json: None,
            after_json: Some(serde_json::json!({ "agent": agent.name }).to_string()),
            at: now,
        })
        .await?;
    Ok(true)
}
