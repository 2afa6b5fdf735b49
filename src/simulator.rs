//! `hotline call`: a caller simulator that behaves as the provider does.
//! It POSTs signed webhooks, follows the TwiML it gets back (Say, Play,
//! Gather, Record, Redirect, Dial, Hangup), presses the keys it was given
//! (or that the user types), serves the WAV file as the recording from a
//! local media endpoint behind basic auth, ends every `<Dial>` with the
//! outcome it was told (never dialling anything), and sends the recording
//! and call status callbacks.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use base64::Engine as _;

use crate::telephony::signature;
use crate::telephony::twiml::{self, Verb};

pub struct CallOptions {
    /// Base URL of the hotline server.
    pub server: String,
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
    pub to: String,
    /// Keys to press at successive menus; `None` for a menu = let it time out.
    pub keys: Vec<Option<String>>,
    /// Read keys from the terminal instead.
    pub interactive: bool,
    /// The recording to leave, WAV or MP3, served as the provider's `.wav`
    /// whatever it holds (none: the recording is empty).
    pub wav: Option<PathBuf>,
    /// Leave this many empty recordings before the real one.
    pub empty_recordings: usize,
    /// Hang up after this many webhooks.
    pub hangup_after: Option<usize>,
    /// How long to keep serving the recording after the call.
    pub wait: Duration,
    pub quiet: bool,
    /// Retry a webhook the server did not answer for up to this long, as a
    /// provider with retries configured does (0: no retries).
    pub retry_for: Duration,
    /// How every `<Dial>` ends: `completed`, `no-answer`, `busy` or `failed`.
    pub dial_outcome: String,
    /// Serve the recording for the whole `wait`, not only until the first
    /// download (a worker killed mid-download fetches it again).
    pub keep_serving: bool,
}

/// `<Say>` text spoken per second, for estimates (TTS reads about 14
/// characters a second).
pub const SAY_CHARS_PER_SEC: f64 = 14.0;

/// What happened during the call.
#[derive(Debug, Default)]
pub struct CallLog {
    pub call_sid: String,
    /// Everything the caller heard, in order.
    pub heard: Vec<String>,
    pub recording_fetches: usize,
    /// The ids of the recordings the caller left, in order.
    pub recordings: Vec<String>,
    pub webhooks: usize,
    /// Each webhook's route (`voice`, `ivr:digits`, …) and round-trip time.
    pub timings: Vec<(String, std::time::Duration)>,
    /// Estimated seconds of speech before the caller can first press a key
    /// (the `<Say>` text ahead of the first `<Gather>`).
    pub secs_before_first_key: Option<f64>,
    /// Each `<Dial>`: whom it called and how it ended.
    pub transfers: Vec<(String, String)>,
}

struct Media {
    bytes: Vec<u8>,
    auth: String,
    hits: AtomicUsize,
}

async fn serve_media(
    State(m): State<Arc<Media>>,
    Path(_file): Path<String>,
    headers: HeaderMap,
) -> impl IntoResponse {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(m.auth.as_str()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    m.hits.fetch_add(1, Ordering::SeqCst);
    ([("content-type", "audio/x-wav")], m.bytes.clone()).into_response()
}

struct Caller {
    opts: CallOptions,
    http: reqwest::Client,
    log: CallLog,
    keys: std::collections::VecDeque<Option<String>>,
    media_base: String,
    recording_secs: i64,
    empty_left: usize,
}

impl Caller {
    fn say(&mut self, what: String) {
        if !self.opts.quiet {
            println!("{what}");
        }
        self.log.heard.push(what);
    }

    fn params(&self, extra: &[(&str, String)]) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = vec![
            ("CallSid".into(), self.log.call_sid.clone()),
            ("AccountSid".into(), self.opts.account_sid.clone()),
            ("From".into(), self.opts.from.clone()),
            ("To".into(), self.opts.to.clone()),
            ("Direction".into(), "inbound".into()),
            ("ApiVersion".into(), "2010-04-01".into()),
        ];
        p.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        p
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            url.to_owned()
        } else {
            format!(
                "{}/{}",
                self.opts.server.trim_end_matches('/'),
                url.trim_start_matches('/')
            )
        }
    }

    /// POSTs a signed webhook and returns the body.
    async fn post(&mut self, url: &str, params: Vec<(String, String)>) -> anyhow::Result<String> {
        let url = self.absolute(url);
        let sig = signature::sign(&self.opts.auth_token, &url, &params);
        self.log.webhooks += 1;
        let started = std::time::Instant::now();
        let resp = loop {
            let sent = self
                .http
                .post(&url)
                .header("X-Twilio-Signature", &sig)
                .form(&params)
                .send()
                .await;
            match sent {
                Ok(r)
                    if !r.status().is_server_error()
                        || started.elapsed() >= self.opts.retry_for =>
                {
                    break r
                }
                Err(e) if started.elapsed() >= self.opts.retry_for => {
                    return Err(e).with_context(|| format!("POST {url}"))
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let status = resp.status();
        let body = resp.text().await?;
        let route = url
            .split("/twilio/")
            .nth(1)
            .unwrap_or("")
            .split('?')
            .next()
            .unwrap_or("")
            .to_owned();
        let route = match url.split("ev=").nth(1) {
            Some(ev) => format!("{route}:{ev}"),
            None => route,
        };
        self.log.timings.push((route, started.elapsed()));
        if !status.is_success() {
            bail!("{url} answered {status}: {body}");
        }
        Ok(body)
    }

    fn next_key(&mut self, prompts: &[Verb]) -> anyhow::Result<Option<String>> {
        if self.opts.interactive {
            let _ = prompts;
            print!("  press a key (Enter for none): ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let key = line.trim();
            return Ok((!key.is_empty()).then(|| key.chars().take(1).collect()));
        }
        Ok(self.keys.pop_front().flatten())
    }

    /// Plays one TwiML document; returns the next document, or `None` when the call ends.
    async fn play(&mut self, doc: &str) -> anyhow::Result<Option<String>> {
        let verbs = twiml::parse(doc)?;
        if self.log.secs_before_first_key.is_none() {
            let chars: usize = verbs
                .iter()
                .take_while(|v| !matches!(v, Verb::Gather { .. }))
                .map(|v| match v {
                    Verb::Say { text, .. } => text.chars().count(),
                    _ => 0,
                })
                .sum();
            self.log.secs_before_first_key = Some(chars as f64 / SAY_CHARS_PER_SEC);
        }
        for verb in verbs {
            if self
                .opts
                .hangup_after
                .is_some_and(|n| self.log.webhooks >= n)
            {
                self.say("[caller hangs up]".into());
                return Ok(None);
            }
            match verb {
                Verb::Say { language, text } => self.say(format!("[{language}] {text}")),
                Verb::Play(url) => self.say(format!("[plays {url}]")),
                Verb::Pause(n) => self.say(format!("[pause {n} s]")),
                Verb::Gather {
                    action, prompts, ..
                } => {
                    for p in &prompts {
                        match p {
                            Verb::Say { language, text } => {
                                self.say(format!("[{language}] {text}"))
                            }
                            Verb::Play(url) => self.say(format!("[plays {url}]")),
                            _ => {}
                        }
                    }
                    match self.next_key(&prompts)? {
                        Some(key) => {
                            self.say(format!("(caller presses {key})"));
                            let p = self
                                .params(&[("Digits", key), ("CallStatus", "in-progress".into())]);
                            return Ok(Some(self.post(&action, p).await?));
                        }
                        None => self.say("(caller presses nothing)".into()),
                    }
                }
                Verb::Record {
                    action,
                    status_callback,
                    ..
                } => {
                    let rec_sid = format!("RE{:032x}", rand::random::<u128>());
                    if self.empty_left > 0 || self.opts.wav.is_none() {
                        self.empty_left = self.empty_left.saturating_sub(1);
                        self.say("[beep] (caller says nothing)".into());
                        if let Some(cb) = status_callback {
                            let p = self.params(&[
                                ("RecordingSid", rec_sid),
                                ("RecordingStatus", "absent".into()),
                                ("RecordingDuration", "0".into()),
                            ]);
                            self.post(&cb, p).await?;
                        }
                        // An empty recording skips `action`: the next verb runs.
                        continue;
                    }
                    self.say("[beep] (caller speaks the recording)".into());
                    self.log.recordings.push(rec_sid.clone());
                    let url = format!("{}/Recordings/{rec_sid}", self.media_base);
                    let rec = [
                        ("RecordingSid", rec_sid),
                        ("RecordingUrl", url),
                        ("RecordingDuration", self.recording_secs.to_string()),
                    ];
                    let mut p = self.params(&rec);
                    p.push(("CallStatus".into(), "in-progress".into()));
                    let next = self.post(&action, p).await?;
                    if let Some(cb) = status_callback {
                        let mut p = self.params(&rec);
                        p.push(("RecordingStatus".into(), "completed".into()));
                        p.push(("RecordingChannels".into(), "1".into()));
                        self.post(&cb, p).await?;
                    }
                    return Ok(Some(next));
                }
                Verb::Redirect(url) => {
                    let p = self.params(&[("CallStatus", "in-progress".into())]);
                    return Ok(Some(self.post(&url, p).await?));
                }
                Verb::Dial { action, to, .. } => {
                    let outcome = self.opts.dial_outcome.clone();
                    self.say(format!("[dials {to}] ({outcome})"));
                    self.log.transfers.push((to, outcome.clone()));
                    let secs = if outcome == "completed" { "42" } else { "0" };
                    let p = self.params(&[
                        ("CallStatus", "in-progress".into()),
                        ("DialCallStatus", outcome),
                        ("DialCallDuration", secs.into()),
                        ("DialCallSid", format!("CA{:032x}", rand::random::<u128>())),
                    ]);
                    return Ok(Some(self.post(&action, p).await?));
                }
                Verb::Hangup => {
                    self.say("[hangs up]".into());
                    return Ok(None);
                }
            }
        }
        // The document ended: the provider hangs up.
        Ok(None)
    }
}

/// Places one simulated call.
pub async fn call(opts: CallOptions) -> anyhow::Result<CallLog> {
    let bytes = match &opts.wav {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => Vec::new(),
    };
    let lenient = crate::audio::DecodeOptions {
        lenient: true,
        ..Default::default()
    };
    let recording_secs = crate::audio::decode(&bytes, &lenient)
        .map(|p| p.duration().as_secs_f64().ceil() as i64)
        .unwrap_or(if bytes.is_empty() { 0 } else { 10 });
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", opts.account_sid, opts.auth_token))
    );
    let media = Arc::new(Media {
        bytes,
        auth,
        hits: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let media_base = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/Recordings/{file}", get(serve_media))
        .with_state(Arc::clone(&media));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let keys = opts.keys.iter().cloned().collect();
    let empty_left = opts.empty_recordings;
    let mut c = Caller {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()?,
        log: CallLog {
            call_sid: format!("CA{:032x}", rand::random::<u128>()),
            ..Default::default()
        },
        keys,
        media_base,
        recording_secs,
        empty_left,
        opts,
    };
    c.say(format!(
        "(calling {} from {} as call {})",
        c.opts.to, c.opts.from, c.log.call_sid
    ));
    let started = std::time::Instant::now();
    let mut doc = Some(
        c.post(
            "/twilio/voice",
            c.params(&[("CallStatus", "ringing".into())]),
        )
        .await?,
    );
    while let Some(d) = doc {
        doc = c.play(&d).await?;
    }
    let duration = started.elapsed().as_secs().max(1).to_string();
    let p = c.params(&[
        ("CallStatus", "completed".into()),
        ("CallDuration", duration),
    ]);
    c.post("/twilio/status", p).await?;
    if c.opts.wav.is_some() && !c.opts.wait.is_zero() {
        let deadline = std::time::Instant::now() + c.opts.wait;
        while (c.opts.keep_serving || media.hits.load(Ordering::SeqCst) == 0)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let fetched = media.hits.load(Ordering::SeqCst);
        c.say(if fetched > 0 {
            "(the server downloaded the recording)".into()
        } else {
            "(the server did not download the recording in time)".into()
        });
    }
    c.log.recording_fetches = media.hits.load(Ordering::SeqCst);
    server.abort();
    Ok(c.log)
}
