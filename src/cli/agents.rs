//! `hotline agent …` and `hotline token …`: accounts of the agents' workspace and API tokens.

use std::process::ExitCode;

use clap::Subcommand;

use crate::accounts::AccountAction;
use crate::app::{self};
use crate::config::Config;
use crate::domain::format_ms;

use super::ServerArgs;

#[derive(Subcommand)]
pub(super) enum AgentCommand {
    /// Create an agent account (asks for the password, or reads it from stdin).
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Set a new password.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Forget the account's failed logins: it may log in again at once.
    Unlock {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Refuse the agent's logins and end its sessions, API tokens and open
    /// event streams at once.
    Disable {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Let a disabled agent log in again.
    Enable {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
pub(super) enum TokenCommand {
    /// Create an API bearer token for an agent (printed once; stored hashed).
    Create {
        #[arg(long)]
        agent: String,
        #[arg(long, default_value = "api")]
        label: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Revoke a token by its id.
    Revoke {
        id: i64,
        #[command(flatten)]
        server: ServerArgs,
    },
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub(super) fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Repeat: ")?;
    anyhow::ensure!(first == again, "the passwords differ");
    Ok(first)
}

pub(super) async fn agent_command(c: AgentCommand) -> anyhow::Result<ExitCode> {
    match c {
        AgentCommand::Add {
            name,
            admin,
            password_stdin,
            server,
        } => {
            anyhow::ensure!(
                !name.is_empty()
                    && name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || "._-@".contains(c)),
                "agent names are letters, digits and . _ - @ (at most 64)"
            );
            let hash = crate::auth::hash_password(&read_password(password_stdin)?)?;
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            let role = if admin {
                crate::auth::Role::Admin
            } else {
                crate::auth::Role::Agent
            };
            let a = store
                .create_agent(&name, &hash, role.as_str(), store.now())
                .await?;
            println!("agent {} created ({})", a.name, a.role);
            store.close().await;
        }
        AgentCommand::Passwd {
            name,
            password_stdin,
            server,
        } => {
            let hash = crate::auth::hash_password(&read_password(password_stdin)?)?;
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            anyhow::ensure!(
                store.set_agent_password(&name, &hash).await?,
                "no agent {name}"
            );
            println!("password of {name} changed; its sessions have ended");
            store.close().await;
        }
        AgentCommand::List { server } => {
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            for a in store.list_agents().await? {
                println!(
                    "{:<24} {:<6} created {}{}",
                    a.name,
                    a.role,
                    format_ms(a.created_at),
                    a.disabled_at
                        .map(|t| format!(", disabled {}", format_ms(t)))
                        .unwrap_or_default()
                );
            }
            store.close().await;
        }
        AgentCommand::Unlock { name, server } => {
            account(&name, server, AccountAction::Unlock, "unlocked").await?;
        }
        AgentCommand::Disable { name, server } => {
            account(
                &name,
                server,
                AccountAction::Disable,
                "disabled; its sessions have ended",
            )
            .await?;
        }
        AgentCommand::Enable { name, server } => {
            account(&name, server, AccountAction::Enable, "enabled").await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn account(
    name: &str,
    server: ServerArgs,
    action: AccountAction,
    done: &str,
) -> anyhow::Result<()> {
    let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
    let found = crate::accounts::apply(store.as_ref(), name, action, "cli", store.now()).await;
    store.close().await;
    anyhow::ensure!(found?, "no agent {name}");
    println!("agent {name} {done}");
    Ok(())
}

pub(super) async fn token_command(c: TokenCommand) -> anyhow::Result<ExitCode> {
    match c {
        TokenCommand::Create {
            agent,
            label,
            server,
        } => {
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            let a = store
                .agent_by_name(&agent)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no agent {agent}"))?;
            let (token, hash) = crate::auth::new_token();
            let id = store
                .create_api_token(a.id, &hash, &label, store.now())
                .await?;
            eprintln!("token {id} for {agent} (shown once; keep it secret):");
            println!("{token}");
            store.close().await;
        }
        TokenCommand::Revoke { id, server } => {
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            anyhow::ensure!(
                store.revoke_api_token(id, store.now()).await?,
                "no active token {id}"
            );
            println!("token {id} revoked");
            store.close().await;
        }
        TokenCommand::List { server } => {
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            for t in store.list_api_tokens().await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:>4} agent#{:<4} {:<8} {}",
                    t.id, t.agent_id, state, t.label
                );
            }
            store.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
