//! The environment's layer of the configuration: `HOTLINE_*` variables
//! override the file and the defaults.

use std::path::PathBuf;

use std::fmt;

use super::{parse_proxy, Config, ConfigError, Secret, WebhookTarget};

impl Config {
    /// Applies `HOTLINE_*` variables (and `DATABASE_URL`) read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(key: &'static str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: fmt::Display,
        {
            v.trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Env(key, e.to_string()))
        }
        let flag = |key: &'static str, v: &str| -> Result<bool, ConfigError> {
            match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" | "" => Ok(false),
                other => Err(ConfigError::Env(key, format!("{other:?} is not a boolean"))),
            }
        };
        if let Some(v) = get("HOTLINE_LISTEN") {
            self.listen = parse("HOTLINE_LISTEN", &v)?;
        }
        if let Some(v) = get("HOTLINE_PUBLIC_URL") {
            self.public_url = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("HOTLINE_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("HOTLINE_DATABASE_URL").or_else(|| get("DATABASE_URL")) {
            self.database_url = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("HOTLINE_PROMPTS_DIR") {
            self.prompts_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = get("HOTLINE_MODEL") {
            self.model.path = Some(PathBuf::from(v));
        }
        if let Some(v) = get("HOTLINE_TWILIO_ACCOUNT_SID") {
            self.telephony.account_sid = v;
        }
        if let Some(v) = get("HOTLINE_TWILIO_AUTH_TOKEN") {
            self.telephony.auth_token = Secret::new(v);
        }
        if let Some(v) = get("HOTLINE_INSECURE_SKIP_SIGNATURE") {
            self.telephony.insecure_skip_signature = flag("HOTLINE_INSECURE_SKIP_SIGNATURE", &v)?;
        }
        if let Some(v) = get("HOTLINE_TWILIO_WEBHOOK_SHARED_KEY") {
            self.telephony.webhook_shared_key = Secret::new(v);
        }
        if let Some(v) = get("HOTLINE_TELNYX_PUBLIC_KEY") {
            self.telephony.telnyx_public_key = v;
        }
        if let Some(v) = get("HOTLINE_WORKER_IN_SERVER") {
            self.worker.in_server = flag("HOTLINE_WORKER_IN_SERVER", &v)?;
        }
        if let Some(v) = get("HOTLINE_WORKER_TRANSCRIBE") {
            self.worker.transcribe = flag("HOTLINE_WORKER_TRANSCRIBE", &v)?;
        }
        if let Some(v) = get("HOTLINE_WORKER_CONCURRENCY") {
            self.worker.concurrency = parse("HOTLINE_WORKER_CONCURRENCY", &v)?;
        }
        if let Some(v) = get("HOTLINE_LEASE_SECS") {
            self.worker.lease_secs = parse("HOTLINE_LEASE_SECS", &v)?;
        }
        if let Some(v) = get("HOTLINE_POLL_MS") {
            self.worker.poll_ms = parse("HOTLINE_POLL_MS", &v)?;
        }
        if let Some(v) = get("HOTLINE_LANES") {
            self.model.lanes = parse("HOTLINE_LANES", &v)?;
        }
        if let Some(v) = get("HOTLINE_THREADS") {
            self.model.threads = Some(parse("HOTLINE_THREADS", &v)?);
        }
        if let Some(v) = get("HOTLINE_BEAM") {
            self.model.beam = parse("HOTLINE_BEAM", &v)?;
        }
        if let Some(v) = get("HOTLINE_LEXICON_PENALTY") {
            self.model.lexicon_penalty = parse("HOTLINE_LEXICON_PENALTY", &v)?;
        }
        if let Some(v) = get("HOTLINE_DELETE_FROM_PROVIDER") {
            self.recordings.delete_from_provider = flag("HOTLINE_DELETE_FROM_PROVIDER", &v)?;
        }
        if let Some(v) = get("HOTLINE_RECORDINGS_URL") {
            self.recordings.url = Some(v).filter(|v| !v.trim().is_empty());
        }
        let s3 = &mut self.recordings.s3;
        if let Some(v) = get("HOTLINE_S3_ENDPOINT") {
            s3.endpoint = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = get("HOTLINE_S3_REGION") {
            s3.region = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = get("AWS_ACCESS_KEY_ID") {
            s3.access_key_id = v;
        }
        if let Some(v) = get("AWS_SECRET_ACCESS_KEY") {
            s3.secret_access_key = Secret::new(v);
        }
        if let Some(v) = get("HOTLINE_AUDIO_RETENTION_DAYS") {
            self.retention.audio_days = parse("HOTLINE_AUDIO_RETENTION_DAYS", &v)?;
        }
        if let Some(v) = get("HOTLINE_CLOCK_START") {
            self.clock_start = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = get("HOTLINE_CONSULTANTS_DESTINATION") {
            self.consultants.destination = Some(v).filter(|d| !d.trim().is_empty());
        }
        if let Some(v) = get("HOTLINE_CONSULTANTS_RING_SECS") {
            self.consultants.ring_secs = parse("HOTLINE_CONSULTANTS_RING_SECS", &v)?;
        }
        if let Some(v) = get("HOTLINE_METRICS_LISTEN") {
            self.metrics_listen = Some(parse("HOTLINE_METRICS_LISTEN", &v)?);
        }
        if let Some(url) = get("HOTLINE_WEBHOOK_URL").filter(|u| !u.is_empty()) {
            let secret = Secret::new(get("HOTLINE_WEBHOOK_SECRET").unwrap_or_default());
            if secret.is_empty() {
                return Err(ConfigError::Env(
                    "HOTLINE_WEBHOOK_SECRET",
                    "required with HOTLINE_WEBHOOK_URL".into(),
                ));
            }
            self.webhooks = vec![WebhookTarget {
                url,
                secret,
                include_caller: false,
            }];
        }
        if let Some(v) = get("HOTLINE_HTTP_TIMEOUT_SECS") {
            self.http_timeout_secs = parse("HOTLINE_HTTP_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("HOTLINE_HEADER_TIMEOUT_SECS") {
            self.header_timeout_secs = parse("HOTLINE_HEADER_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("HOTLINE_IDLE_TIMEOUT_SECS") {
            self.idle_timeout_secs = parse("HOTLINE_IDLE_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("HOTLINE_MAX_CONNECTIONS") {
            self.max_connections = parse("HOTLINE_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = get("HOTLINE_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| parse_proxy(p).map_err(|e| ConfigError::Env("HOTLINE_TRUSTED_PROXIES", e)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = get("HOTLINE_STALE_CALL_SECS") {
            self.stale_call_secs = parse("HOTLINE_STALE_CALL_SECS", &v)?;
        }
        if let Some(v) = get("HOTLINE_SMTP_URL") {
            self.escalation.smtp_url = Some(Secret::new(v)).filter(|u| !u.is_empty());
        }
        if let Some(v) = get("HOTLINE_SMTP_FROM") {
            self.escalation.from = v;
        }
        if let Some(v) = get("HOTLINE_ONCALL_EMAIL") {
            self.escalation.oncall = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = get("HOTLINE_ESCALATE_WHEN") {
            self.escalation.when = parse("HOTLINE_ESCALATE_WHEN", &v)?;
        }
        if let Some(v) = get("HOTLINE_FETCH_TIMEOUT_SECS") {
            self.recordings.fetch_timeout_secs = parse("HOTLINE_FETCH_TIMEOUT_SECS", &v)?;
        }
        Ok(())
    }
}
