//! Configuration: defaults → TOML file (`--config` or `HOTLINE_CONFIG`) →
//! environment variables (`HOTLINE_*`, and `DATABASE_URL`). Secrets are
//! wrapped in [`Secret`], which never prints its value.

mod env;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::Language;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("config file {0}: {1}")]
    Parse(PathBuf, String),
    #[error("environment variable {0}: {1}")]
    Env(&'static str, String),
    #[error("{0}")]
    Invalid(String),
}

/// A trusted proxy: `10.1.2.3` (that address) or `10.0.0.0/8`.
pub fn parse_proxy(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or network"))
}

fn proxies<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|p| parse_proxy(p).map_err(serde::de::Error::custom))
        .collect()
}

/// A string that is never logged or printed.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"[redacted]\""
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Base URL the provider (and agents' browsers) use to reach hotline;
    /// behind a reverse proxy it differs from `listen`. Webhook signatures
    /// are computed over it. Default: `http://` + the listen address.
    pub public_url: Option<String>,
    /// Recordings, the SQLite database and other state.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Folder with prompt files (default: the compiled-in `prompts/`).
    pub prompts_dir: Option<PathBuf>,
    pub model: ModelSettings,
    pub telephony: Telephony,
    pub recordings: Recordings,
    pub worker: WorkerSettings,
    pub retention: Retention,
    /// City systems told about confirmed and rejected reports.
    pub webhooks: Vec<WebhookTarget>,
    /// Separate address for `/metrics` of a `hotline worker` (the server
    /// serves it on its own listener).
    pub metrics_listen: Option<SocketAddr>,
    /// Days within which the same category and street count as a likely duplicate.
    pub duplicate_window_days: i64,
    /// Whole-request limit (reading the body included): slow clients are cut off.
    pub http_timeout_secs: u64,
    pub open311: Open311Settings,
    /// Time to send a request's headers; a connection trickling them is
    /// closed after it.
    pub header_timeout_secs: u64,
    /// A kept-alive connection with no request for this long is closed.
    pub idle_timeout_secs: u64,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the
    /// client (addresses or networks, `10.0.0.0/8`); from any other peer
    /// these headers are ignored. Login throttling keys on the client.
    #[serde(deserialize_with = "proxies")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A call with no webhook for this long is closed by the sweeper: a
    /// missed call, or its recording filed, as if the provider had said it
    /// ended.
    pub stale_call_secs: i64,
    /// Where calls go in staffed hours (`prompts/schedule.toml`).
    pub consultants: Consultants,
    /// Start the clock at this instant instead of now (RFC 3339) and let it
    /// run from there: a rehearsal of a night or a holiday, and tests. Every
    /// component reads the time from the store's clock, set here.
    pub clock_start: Option<String>,
    /// Urgent reports to the on-call officer, by e-mail.
    pub escalation: Escalation,
}

/// Where and when urgent reports go ([`crate::escalation`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Escalation {
    /// `smtp://user:pass@host:587` (STARTTLS when the server offers it;
    /// `?tls=required` insists), `smtps://user:pass@host:465` (TLS from
    /// the first byte). None: no e-mail, the `report.urgent` webhook only.
    pub smtp_url: Option<Secret>,
    /// The sender: `hotline KCK <hotline@kck.krakow.pl>`.
    pub from: String,
    /// The on-call officer's addresses.
    pub oncall: Vec<String>,
    /// Addresses per category code, instead of `oncall` for that category.
    pub categories: std::collections::BTreeMap<String, Vec<String>>,
    /// `outside_staffed_hours` (default), `always` or `never`.
    pub when: crate::domain::urgency::EscalateWhen,
    /// Include the caller's number in the e-mail (personal data).
    pub include_caller: bool,
}

impl Default for Escalation {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "hotline KCK <hotline@localhost>".into(),
            oncall: Vec::new(),
            categories: std::collections::BTreeMap::new(),
            when: crate::domain::urgency::EscalateWhen::OutsideStaffedHours,
            include_caller: false,
        }
    }
}

impl Escalation {
    /// Who is told of an urgent report of `category`.
    pub fn recipients(&self, category: &str) -> &[String] {
        self.categories
            .get(category)
            .map_or(self.oncall.as_slice(), Vec::as_slice)
    }
}

/// KCK's consultants, reached with `<Dial>` in staffed hours.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Consultants {
    /// A phone number (`+48126165555`) or SIP URI (`sip:kck@pbx.example`);
    /// none: every call leaves a report, staffed or not.
    pub destination: Option<String>,
    /// How long it rings before the caller is told all consultants are busy.
    pub ring_secs: u32,
}

impl Default for Consultants {
    fn default() -> Self {
        Self {
            destination: None,
            ring_secs: 25,
        }
    }
}

/// What Open311 says of rejected reports, by reject reason (`spam`,
/// `silence`, `duplicate`, `not_city`, `other` for any other); never the
/// caller's words. `{original}` in the duplicate's text is the original
/// report's number.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Open311Settings {
    pub reasons: std::collections::BTreeMap<String, String>,
}

impl Default for Open311Settings {
    fn default() -> Self {
        Self {
            reasons: [
                ("duplicate", "Duplikat zgłoszenia {original}."),
                ("not_city", "Sprawa nie należy do zadań miasta."),
                ("silence", "Zgłoszenie bez treści."),
                ("spam", "Zgłoszenie odrzucone."),
                ("other", "Zgłoszenie zamknięte."),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Delete the audio of decided (confirmed or rejected) reports this many
    /// days after the decision; 0 keeps audio forever.
    pub audio_days: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self { audio_days: 90 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    pub url: String,
    /// Key of the HMAC-SHA256 signature in `X-Hotline-Signature`.
    pub secret: Secret,
    /// Include the caller's number (personal data) in the payload.
    #[serde(default)]
    pub include_caller: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            prompts_dir: None,
            model: ModelSettings::default(),
            telephony: Telephony::default(),
            recordings: Recordings::default(),
            worker: WorkerSettings::default(),
            retention: Retention::default(),
            webhooks: Vec::new(),
            metrics_listen: None,
            duplicate_window_days: 7,
            http_timeout_secs: 15,
            open311: Open311Settings::default(),
            header_timeout_secs: 10,
            idle_timeout_secs: 75,
            max_connections: 1024,
            trusted_proxies: Vec::new(),
            stale_call_secs: 30 * 60,
            consultants: Consultants::default(),
            clock_start: None,
            escalation: Escalation::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// ggml model file (default: the fetched default model in the cache).
    pub path: Option<PathBuf>,
    /// CPU threads per transcription (default: all cores).
    pub threads: Option<usize>,
    /// Pieces of a recording decoded at a time (0: one on a quiet machine,
    /// one per thread when other processes want the cores).
    pub lanes: usize,
    /// Beam size (1 = greedy).
    pub beam: u8,
    /// Languages auto-detection may choose from.
    pub languages: Vec<Language>,
    /// Longest recording transcribed, in seconds.
    pub max_audio_secs: u64,
    /// How hard the word lists steer decoding: logit penalty per word they
    /// lack (0 turns it off).
    pub lexicon_penalty: f32,
    /// System word lists that replace Debian's (`wpolish`, `wukrainian`,
    /// `wbritish`) for the languages named; one word per line. An empty
    /// path decodes that language without a word list.
    pub word_lists: std::collections::HashMap<Language, PathBuf>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            path: None,
            threads: None,
            lanes: 0,
            beam: 5,
            languages: Language::ALL.to_vec(),
            max_audio_secs: 900,
            lexicon_penalty: crate::engine::lexicon::DEFAULT_PENALTY,
            word_lists: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Telephony {
    /// Provider account id (Twilio AccountSid); checked on every webhook when set.
    pub account_sid: String,
    /// Provider auth token: signs webhooks and authenticates recording downloads.
    pub auth_token: Secret,
    /// Development only: accept unsigned webhooks. Logged loudly at start.
    pub insecure_skip_signature: bool,
    /// Twilio Webhooks Rules' shared key: webhooks announcing
    /// `X-Twilio-Webhooks-Signature-Settings` are verified with it (and the
    /// hash they name) instead of the auth token.
    pub webhook_shared_key: Secret,
    /// Telnyx's webhook public key (base64 Ed25519): TeXML webhooks signed
    /// with `telnyx-signature-ed25519` are verified against it.
    pub telnyx_public_key: String,
    /// `<Say voice=…>` per language (provider voice names).
    pub voices: std::collections::BTreeMap<Language, String>,
    /// Longest recording the caller may leave, in seconds.
    pub max_recording_secs: u32,
}

impl Default for Telephony {
    fn default() -> Self {
        Self {
            account_sid: String::new(),
            auth_token: Secret::default(),
            insecure_skip_signature: false,
            webhook_shared_key: Secret::default(),
            telnyx_public_key: String::new(),
            voices: [
                (Language::Pl, "Polly.Ewa".to_owned()),
                (Language::Uk, "Google.uk-UA-Standard-A".to_owned()),
                (Language::En, "Polly.Amy".to_owned()),
            ]
            .into(),
            max_recording_secs: 180,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Recordings {
    /// Larger downloads are cut off and count as failed.
    pub max_bytes: u64,
    /// Whole-download timeout, in seconds.
    pub fetch_timeout_secs: u64,
    /// Delete the provider's copy after a verified download.
    pub delete_from_provider: bool,
    /// Where recordings are kept: `file:///path` or `s3://bucket/prefix`
    /// (`HOTLINE_RECORDINGS_URL`); none: the data directory.
    pub url: Option<String>,
    /// How to reach S3-compatible storage.
    pub s3: S3Settings,
}

impl Default for Recordings {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            fetch_timeout_secs: 60,
            delete_from_provider: false,
            url: None,
            s3: S3Settings::default(),
        }
    }
}

/// How to reach S3-compatible storage (`HOTLINE_S3_ENDPOINT`,
/// `HOTLINE_S3_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// `http://127.0.0.1:8333` for a self-hosted store; none for AWS.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// Run the job workers inside `hotline serve`.
    pub in_server: bool,
    /// Load the model and run transcriptions; off, the worker runs every
    /// other job kind (downloads, webhooks, retention) without a model.
    pub transcribe: bool,
    /// Jobs run at once by one worker process (transcriptions are further
    /// bounded by the engine's pool).
    pub concurrency: usize,
    /// A claimed job's lease; renewed by a heartbeat every third of it.
    pub lease_secs: u64,
    /// Idle poll interval, in milliseconds.
    pub poll_ms: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            in_server: true,
            transcribe: true,
            concurrency: 2,
            lease_secs: 60,
            poll_ms: 500,
        }
    }
}

impl WorkerSettings {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs.max(1))
    }
}

impl Config {
    /// Defaults, then `file` (or `$HOTLINE_CONFIG`), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let file = file
            .map(Path::to_owned)
            .or_else(|| std::env::var_os("HOTLINE_CONFIG").map(PathBuf::from));
        let mut cfg = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                toml::from_str(&text)
                    .map_err(|e| ConfigError::Parse(path.clone(), e.to_string()))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.public_base();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "public_url {url:?} must start with http:// or https://"
            )));
        }
        if !(1..=crate::engine::MAX_BEAM).contains(&self.model.beam) {
            return Err(ConfigError::Invalid(format!(
                "model.beam must be 1 (greedy) to {}, not {}",
                crate::engine::MAX_BEAM,
                self.model.beam
            )));
        }
        let penalty = self.model.lexicon_penalty;
        if !(0.0..=crate::engine::lexicon::MAX_PENALTY).contains(&penalty) {
            return Err(ConfigError::Invalid(format!(
                "model.lexicon_penalty must be 0 (off) to {}, not {penalty}",
                crate::engine::lexicon::MAX_PENALTY
            )));
        }
        if let Some(d) = &self.consultants.destination {
            let number =
                d.starts_with('+') && d.len() > 4 && d[1..].bytes().all(|b| b.is_ascii_digit());
            let sip = d.starts_with("sip:") && d.len() > 4 && !d.contains(char::is_whitespace);
            if !(number || sip) {
                return Err(ConfigError::Invalid(format!(
                    "consultants.destination {d:?} must be an E.164 number (+48…) or a sip: URI"
                )));
            }
        }
        if let Some(at) = &self.clock_start {
            if crate::domain::parse_instant(at).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "clock_start {at:?} is not a moment like 2027-03-29T10:00:00+02:00"
                )));
            }
        }
        if !(5..=120).contains(&self.consultants.ring_secs) {
            return Err(ConfigError::Invalid(format!(
                "consultants.ring_secs must be 5 to 120, not {}",
                self.consultants.ring_secs
            )));
        }
        self.validate_escalation()?;
        if self.max_connections == 0 || self.header_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "max_connections and header_timeout_secs must be at least 1".into(),
            ));
        }
        if self.worker.concurrency == 0 {
            return Err(ConfigError::Invalid(
                "worker.concurrency must be at least 1".into(),
            ));
        }
        Ok(())
    }

    fn validate_escalation(&self) -> Result<(), ConfigError> {
        let e = &self.escalation;
        let addresses = e.oncall.iter().chain(e.categories.values().flatten());
        for a in std::iter::once(&e.from).chain(addresses) {
            if a.parse::<lettre::message::Mailbox>().is_err() {
                return Err(ConfigError::Invalid(format!(
                    "escalation: {a:?} is not an e-mail address"
                )));
            }
        }
        if let Some(url) = &e.smtp_url {
            let scheme = url.expose().split_once("://").map(|(s, _)| s);
            if !matches!(scheme, Some("smtp" | "smtps")) {
                return Err(ConfigError::Invalid(
                    "escalation.smtp_url must start with smtp:// or smtps://".into(),
                ));
            }
        }
        Ok(())
    }

    /// Without a configured auth token (and without the explicit insecure
    /// flag), webhooks could not be verified: generate development
    /// credentials once, in the data directory, so the server and the
    /// caller simulator on this machine share them. Returns true if it did.
    pub fn ensure_dev_credentials(&mut self) -> Result<bool, ConfigError> {
        if !self.telephony.auth_token.is_empty() || self.telephony.insecure_skip_signature {
            return Ok(false);
        }
        #[derive(Deserialize, serde::Serialize)]
        struct Dev {
            account_sid: String,
            auth_token: String,
        }
        let path = self.data_dir.join("dev-credentials.toml");
        let dev = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<Dev>(&text)
                .map_err(|e| ConfigError::Parse(path.clone(), e.to_string()))?,
            Err(_) => {
                let dev = Dev {
                    account_sid: format!("AC{:032x}", rand::random::<u128>()),
                    auth_token: format!("{:032x}", rand::random::<u128>()),
                };
                std::fs::create_dir_all(&self.data_dir)
                    .map_err(|e| ConfigError::Read(self.data_dir.clone(), e))?;
                let text =
                    toml::to_string(&dev).map_err(|e| ConfigError::Invalid(e.to_string()))?;
                write_private(&path, &text).map_err(|e| ConfigError::Read(path.clone(), e))?;
                dev
            }
        };
        if self.telephony.account_sid.is_empty() {
            self.telephony.account_sid = dev.account_sid;
        }
        self.telephony.auth_token = Secret::new(dev.auth_token);
        Ok(true)
    }

    /// The public base URL without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("hotline.db").display()))
    }

    /// Where prompts, word lists and the street register are read from:
    /// the configured folder, else the copy built into the binary.
    pub fn prompt_source(&self) -> crate::prompts::PromptSource {
        self.prompts_dir
            .clone()
            .map(crate::prompts::PromptSource::dir)
            .unwrap_or_else(crate::prompts::PromptSource::builtin)
    }

    pub fn model_path(&self) -> PathBuf {
        self.model
            .path
            .clone()
            .unwrap_or_else(crate::model::default_model_path)
    }

    /// This process's own scratch space: downloads being staged, and
    /// recordings pulled from object storage to be transcribed.
    pub fn scratch_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_secrets_stay_hidden() {
        let mut cfg: Config = toml::from_str(
            "public_url = \"https://hotline.example\"\n[telephony]\nauth_token = \"s3cret\"\n",
        )
        .unwrap();
        let env = [
            ("HOTLINE_LISTEN", "0.0.0.0:9000"),
            ("DATABASE_URL", "postgres://db/x"),
            ("HOTLINE_INSECURE_SKIP_SIGNATURE", "true"),
            ("HOTLINE_HTTP_TIMEOUT_SECS", "5"),
        ];
        cfg.apply_env(|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        assert_eq!(cfg.listen.port(), 9000);
        assert_eq!(cfg.database_url(), "postgres://db/x");
        assert!(cfg.telephony.insecure_skip_signature);
        assert_eq!(cfg.http_timeout_secs, 5);
        assert_eq!(cfg.telephony.auth_token.expose(), "s3cret");
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn bad_values_are_named() {
        let mut cfg = Config::default();
        let err = cfg
            .apply_env(|k| (k == "HOTLINE_LISTEN").then(|| "nowhere".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("HOTLINE_LISTEN"));
        assert!(toml::from_str::<Config>("listne = 1").is_err());
    }
}
