//! What every request handler shares: the store, the caller's script, the
//! configuration, recorded prompts, templates, the street register.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Config;
use crate::domain::Language;
use crate::ivr::Script;
use crate::store::Store;

/// Everything a request handler may need.
pub struct AppState {
    pub store: Arc<Store>,
    pub script: Script,
    /// Staffed hours (`prompts/schedule.toml`).
    pub schedule: crate::domain::schedule::Schedule,
    pub cfg: Config,
    /// Where recordings are kept (the agents' player reads them here).
    pub storage: crate::storage::Storage,
    /// Recorded prompts found in the prompts folder: (language, key) → file.
    pub recorded: BTreeMap<(Language, String), std::path::PathBuf>,
    /// Their public URLs, as `<Play>` needs them.
    pub recorded_urls: BTreeMap<(Language, String), String>,
    /// `cfg.public_base()`, computed once.
    pub public_base: String,
    /// The agent workspace's templates.
    pub templates: minijinja::Environment<'static>,
    /// The street register, for address hints.
    pub streets: crate::address::Streets,
    /// Category keywords, for suggestions on default-category drafts.
    pub category_hints: crate::category_hints::CategoryHints,
    /// Set once the process is ready: the loaded model's id, or `None` when
    /// this process does not transcribe.
    pub model: std::sync::OnceLock<Option<String>>,
    /// Agents' password checks, bounded (see [`crate::auth::PasswordChecks`]).
    pub passwords: crate::auth::PasswordChecks,
}

impl AppState {
    pub fn new(store: Arc<Store>, cfg: Config) -> anyhow::Result<Arc<Self>> {
        let script = Script::load(&cfg.prompt_source())?;
        let streets = crate::address::Streets::load(&cfg.prompt_source())?;
        let category_hints =
            crate::category_hints::CategoryHints::load(&cfg.prompt_source(), &script.menu)?;
        let schedule = crate::line::load_schedule(&cfg.prompt_source())?;
        let mut recorded = BTreeMap::new();
        let mut recorded_urls = BTreeMap::new();
        if let Some(dir) = &cfg.prompts_dir {
            for lang in Language::ALL {
                let Ok(entries) = std::fs::read_dir(dir.join(lang.code()).join("audio")) else {
                    continue;
                };
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let Some((key, ext)) = name.rsplit_once('.') else {
                        continue;
                    };
                    if matches!(ext, "wav" | "mp3") && safe_name(key) {
                        recorded_urls.insert(
                            (lang, key.to_owned()),
                            format!("{}/prompts/audio/{lang}/{name}", cfg.public_base()),
                        );
                        recorded.insert((lang, name), e.path());
                    }
                }
            }
        }
        let public_base = cfg.public_base();
        let storage = crate::storage::Storage::from_config(&cfg)?;
        Ok(Arc::new(Self {
            store,
            script,
            category_hints,
            schedule,
            storage,
            cfg,
            recorded,
            recorded_urls,
            public_base,
            templates: super::agent::templates::environment(),
            streets,
            model: std::sync::OnceLock::new(),
            passwords: crate::auth::PasswordChecks::for_this_machine(),
        }))
    }
}

fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
