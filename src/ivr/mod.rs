//! The IVR: a pure state machine from (state, event, context) to (state,
//! actions, effects). It knows nothing of HTTP or TwiML: the telephony layer
//! turns webhooks into [`Event`]s and renders [`Action`]s in the provider's
//! dialect, the web layer carries out [`Effect`]s on the store, and the
//! application tells it what the line is doing now in a [`Context`].
//!
//! Flow: the emergency notice (call 112) in Polish, then inside the language
//! `<Gather>` one line each in Ukrainian and English and the language
//! options (Polish on timeout; an invalid key answered in all three). In
//! staffed hours with consultants configured, the call is connected to them
//! (`<Dial>`); completed, it ends there; not answered, busy or failed, the
//! caller is told all consultants are busy and leaves a report. Otherwise,
//! in the caller's language: the line's state, a one-sentence privacy notice
//! (`9` reads the full one), the written channels and any staff
//! announcements, then the category menu (`*` repeats, `0` goes back,
//! invalid or no input re-prompts twice, then the default category). A
//! category with a 24/7 service tells of it, and offers a connection when
//! it can (`1` connects, `2` or a timeout leaves a report; a failed
//! connection returns to the report). Then instructions → recording → the
//! review (keep it with `1` or silence, record it once more with `2`; the
//! first recording is kept when the second is empty) → the report number
//! read back twice → the callback question → goodbye. An empty recording
//! gets one retry, then the call is filed as missed.

pub mod menu;

use serde::{Deserialize, Serialize};

use crate::domain::Language;
mod status;

pub use menu::{Choice, Menu, MenuError, Phrase, Phrases, Referral, Script, PRIVACY_KEY};
use status::status_line;
pub use status::{status_query, StatusAnswer, MAX_STATUS_LOOKUPS};

use crate::domain::schedule::Holiday;

/// Re-prompts after the first prompt before a default is taken.
pub const MAX_REPROMPTS: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    Language {
        attempts: u8,
    },
    Menu {
        id: String,
        attempts: u8,
    },
    /// Hearing the full privacy notice; any key or silence returns to `menu`.
    Privacy {
        menu: String,
    },
    /// Offered a connection to the category's 24/7 service.
    Referral {
        category: String,
        attempts: u8,
    },
    /// Being connected: to the consultants (`category` none) or to the
    /// category's 24/7 service.
    Dialling {
        category: Option<String>,
    },
    Recording {
        attempt: u8,
        /// Recording once more after the review: the first recording is
        /// held until this one arrives.
        #[serde(default)]
        again: bool,
    },
    /// Asked whether to keep the recording (1 or silence) or record it once
    /// more (2).
    Review {
        attempts: u8,
    },
    /// Asked whether a consultant may call back on the caller's number.
    Callback,
    /// Entering a report number to hear its status; `lookups` made so far.
    Status {
        lookups: u8,
    },
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IvrState {
    /// Number of responses given so far; the provider echoes it back in
    /// every URL we hand it, so a retried webhook is recognised.
    pub step: u32,
    pub stage: Stage,
    pub language: Option<Language>,
    pub category: Option<String>,
    /// Keys pressed, as `menu:key`.
    pub path: Vec<String>,
    /// The last response, replayed when the provider retries a webhook.
    #[serde(default)]
    pub last_response: String,
    /// The caller reached the recording step (a recording of this call is
    /// expected; before it, none can be genuine).
    #[serde(default)]
    pub recording_offered: bool,
}

impl IvrState {
    /// The caller is at the recording step: a recording may arrive.
    pub fn expects_recording(&self) -> bool {
        matches!(self.stage, Stage::Recording { .. })
    }
}

impl Default for IvrState {
    fn default() -> Self {
        Self {
            step: 0,
            stage: Stage::Language { attempts: 0 },
            language: None,
            category: None,
            path: Vec::new(),
            last_response: String::new(),
            recording_offered: false,
        }
    }
}

impl IvrState {
    pub fn language_or_default(&self) -> Language {
        self.language.unwrap_or(Language::DEFAULT)
    }

    pub fn menu_path(&self) -> String {
        self.path.join(" > ")
    }
}

/// What the caller (through the provider) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The call reached us.
    Start,
    /// Keys pressed in a menu.
    Digits(String),
    /// A menu timed out without a key.
    Timeout,
    /// A recording with audio was made.
    Recorded,
    /// The recording step ended without audio.
    NoRecording,
    /// A `<Dial>` ended.
    Dialled {
        outcome: DialOutcome,
        seconds: Option<i64>,
    },
}

/// How a `<Dial>` ended, as the provider reports it (`DialCallStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl DialOutcome {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            // `answered`: bridged, and the call went on from there.
            "completed" | "answered" => Self::Completed,
            "busy" => Self::Busy,
            "no-answer" => Self::NoAnswer,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::NoAnswer => "no-answer",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
}

/// What the line is doing now, as the caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineCondition {
    Staffed,
    Closed,
    Holiday(Holiday),
    ClosureDay,
}

/// What the IVR needs to know of the world at this step (from the
/// schedule, the store and the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub line: LineCondition,
    /// Where staffed-hours calls are connected (a number or SIP URI);
    /// none: every call leaves a report.
    pub consultants: Option<String>,
    /// Staff announcements playing now, in their fixed order: the text
    /// per language (an empty one falls back to Polish).
    pub announcements: Vec<[String; 3]>,
    /// How long recordings are kept, for the privacy notice.
    pub retention_days: i64,
    /// The report the caller asked about ([`status_query`]).
    pub status: Option<StatusAnswer>,
    /// The caller's number is known (not withheld): a callback may be
    /// offered on it.
    pub caller_known: bool,
}

impl Default for Context {
    /// A closed line without announcements (the after-hours intake).
    fn default() -> Self {
        Self {
            line: LineCondition::Closed,
            consultants: None,
            announcements: Vec::new(),
            retention_days: 90,
            status: None,
            caller_known: false,
        }
    }
}

/// One spoken line: a phrase in a language, with its placeholders filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub language: Language,
    pub phrase: Phrase,
    pub vars: Vec<(&'static str, String)>,
}

impl Line {
    fn new(language: Language, phrase: Phrase) -> Self {
        Self {
            language,
            phrase,
            vars: Vec::new(),
        }
    }

    fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.vars.push((key, value.into()));
        self
    }

    /// The text, with `{key}` placeholders filled.
    pub fn text(&self, script: &Script) -> String {
        let mut t = script.phrase(self.language, self.phrase).to_owned();
        for (k, v) in &self.vars {
            t = t.replace(&format!("{{{k}}}"), v);
        }
        t
    }
}

/// What the next webhook will report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Digits,
    Timeout,
    Recorded,
    NoRecording,
    Dialled,
}

impl Next {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::Timeout => "timeout",
            Self::Recorded => "recorded",
            Self::NoRecording => "norecording",
            Self::Dialled => "dialled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Say(Line),
    /// Collect one key while saying `lines`; the key is reported as `Next::Digits`.
    Gather(Vec<Line>),
    /// Collect a number ended by `#` while saying `lines`; reported as
    /// `Next::Digits`.
    GatherNumber(Vec<Line>),
    /// Record after a beep; reported as `Next::Recorded`.
    Record,
    /// Continue at our URL (after a Gather that timed out, a Record that was empty).
    Redirect(Next),
    /// Read the report number digit by digit.
    ReadNumber(Language),
    /// Connect the caller to `to` (a number or SIP URI); how it ended is
    /// reported as `Next::Dialled`.
    Dial {
        to: String,
    },
    Hangup,
}

/// What the store must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The caller reached the recording step: the report (and its number) must exist.
    OpenReport {
        category: String,
        language: Language,
    },
    /// No recording after the retry: a missed call.
    MissedCall,
    /// The caller is being connected onwards (to the consultants when
    /// `category` is none, else to its 24/7 service).
    DialStarted {
        to: String,
        category: Option<String>,
    },
    /// The connection ended.
    DialEnded {
        outcome: DialOutcome,
        seconds: Option<i64>,
    },
    /// The caller said whether a consultant may call back.
    CallbackConsent(bool),
    /// The recording this event brought is held for the caller's review:
    /// stored, not fetched.
    HoldRecording,
    /// The caller kept the held recording: it becomes the report's audio
    /// (a recording that arrives with this event replaces it).
    KeepRecording,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: IvrState,
    pub actions: Vec<Action>,
    pub effects: Vec<Effect>,
}

/// Whether [`step`] reads the line's state and announcements from the
/// [`Context`] for this event (after the language choice, after a
/// connection to the consultants); other steps need only its configuration.
pub fn needs_line(state: &IvrState, event: &Event) -> bool {
    matches!(
        (&state.stage, event),
        (Stage::Language { .. }, Event::Digits(_) | Event::Timeout)
            | (Stage::Dialling { .. }, Event::Dialled { .. })
    )
}

/// Advances the IVR. Pure: same inputs, same outputs.
pub fn step(script: &Script, state: &IvrState, event: &Event, ctx: &Context) -> Transition {
    let mut next = state.clone();
    next.step = state.step + 1;
    let mut t = Transition {
        state: next,
        actions: Vec::new(),
        effects: Vec::new(),
    };
    let lang = state.language_or_default();
    match (&state.stage, event) {
        (_, Event::Start) => {
            t.state = IvrState {
                step: state.step + 1,
                ..IvrState::default()
            };
            t.actions
                .push(Action::Say(Line::new(Language::Pl, Phrase::Emergency)));
            language_menu(script, &mut t, true);
        }
        (Stage::Language { attempts }, Event::Digits(d)) => {
            let idx = d
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=script.languages.len()).contains(n));
            match (d.as_str(), idx) {
                ("*", _) => language_menu(script, &mut t, false),
                (_, Some(n)) => {
                    t.state.path.push(format!("language:{d}"));
                    choose_language(script, &mut t, script.languages[n - 1], ctx);
                }
                _ if *attempts < MAX_REPROMPTS => {
                    t.state.stage = Stage::Language {
                        attempts: attempts + 1,
                    };
                    // Nobody knows the caller's language yet: all of them.
                    for &l in &script.languages {
                        t.actions.push(Action::Say(Line::new(l, Phrase::Invalid)));
                    }
                    language_menu(script, &mut t, false);
                }
                _ => choose_language(script, &mut t, Language::DEFAULT, ctx),
            }
        }
        (Stage::Language { .. }, Event::Timeout) => {
            choose_language(script, &mut t, Language::DEFAULT, ctx)
        }
        (Stage::Menu { id, .. }, Event::Digits(d)) if d == PRIVACY_KEY => {
            t.state.stage = Stage::Privacy { menu: id.clone() };
            let days = ctx.retention_days.to_string();
            t.actions.push(Action::Gather(vec![
                Line::new(lang, Phrase::PrivacyFull).with("days", days),
                Line::new(lang, Phrase::PrivacyBack),
            ]));
            t.actions.push(Action::Redirect(Next::Timeout));
        }
        (Stage::Privacy { menu }, Event::Digits(_) | Event::Timeout) => {
            t.state.stage = Stage::Menu {
                id: menu.clone(),
                attempts: 0,
            };
            menu_prompt(script, &mut t, lang, menu, Vec::new());
        }
        (Stage::Menu { id, .. }, Event::Digits(d))
            if id == Menu::ROOT && script.menu.status_key.as_deref() == Some(d.as_str()) =>
        {
            t.state.stage = Stage::Status { lookups: 0 };
            t.state.path.push("status:asked".into());
            ask_number(&mut t, lang, Phrase::StatusAsk);
        }
        (Stage::Status { lookups }, Event::Digits(d)) if d != "*" => {
            let lookups = lookups + 1;
            if let Some(answer) = &ctx.status {
                t.actions
                    .push(Action::Say(status_line(script, lang, answer)));
            }
            if lookups < MAX_STATUS_LOOKUPS {
                t.state.stage = Stage::Status { lookups };
                ask_number(&mut t, lang, Phrase::StatusMore);
            } else {
                t.actions
                    .push(Action::Say(Line::new(lang, Phrase::StatusLimit)));
                back_to_menu(script, &mut t, lang);
            }
        }
        // `*` or silence: back to the menu.
        (Stage::Status { .. }, Event::Digits(_) | Event::Timeout) => {
            back_to_menu(script, &mut t, lang)
        }
        (Stage::Menu { id, attempts }, Event::Digits(d)) => {
            match (d.as_str(), script.menu.choose(id, d)) {
                ("*", _) => menu_prompt(script, &mut t, lang, id, Vec::new()),
                ("0", _) if id != Menu::ROOT => {
                    t.state.stage = Stage::Menu {
                        id: Menu::ROOT.to_owned(),
                        attempts: 0,
                    };
                    menu_prompt(script, &mut t, lang, Menu::ROOT, Vec::new());
                }
                (_, Some(Choice::Category(code))) => {
                    t.state.path.push(format!("{id}:{d}"));
                    category_chosen(script, &mut t, lang, code);
                }
                (_, Some(Choice::Menu(sub))) => {
                    t.state.path.push(format!("{id}:{d}"));
                    t.state.stage = Stage::Menu {
                        id: sub.to_owned(),
                        attempts: 0,
                    };
                    menu_prompt(script, &mut t, lang, sub, Vec::new());
                }
                (_, None) => {
                    reprompt_or_default(script, &mut t, lang, id, *attempts, Phrase::Invalid)
                }
            }
        }
        (Stage::Menu { id, attempts }, Event::Timeout) => {
            reprompt_or_default(script, &mut t, lang, id, *attempts, Phrase::NoInput)
        }
        (Stage::Referral { category, attempts }, Event::Digits(d)) => match d.as_str() {
            "1" => match script.menu.referral(category) {
                Some(r) => {
                    t.state.path.push("referral:1".into());
                    t.state.stage = Stage::Dialling {
                        category: Some(category.clone()),
                    };
                    t.actions.push(Action::Say(
                        Line::new(lang, Phrase::ConnectingService).with("service", r.name(lang)),
                    ));
                    dial(&mut t, r.dial_target(), Some(category.clone()));
                }
                None => start_recording(&mut t, lang, category.clone()),
            },
            "2" => {
                t.state.path.push("referral:2".into());
                start_recording(&mut t, lang, category.clone());
            }
            _ if *attempts < MAX_REPROMPTS => {
                t.state.stage = Stage::Referral {
                    category: category.clone(),
                    attempts: attempts + 1,
                };
                t.actions
                    .push(Action::Say(Line::new(lang, Phrase::Invalid)));
                offer_referral(script, &mut t, lang, category);
            }
            _ => start_recording(&mut t, lang, category.clone()),
        },
        // Silence: the caller wants to leave a report.
        (Stage::Referral { category, .. }, Event::Timeout) => {
            start_recording(&mut t, lang, category.clone())
        }
        (Stage::Dialling { category }, Event::Dialled { outcome, seconds }) => {
            t.effects.push(Effect::DialEnded {
                outcome: *outcome,
                seconds: *seconds,
            });
            match (outcome, category) {
                (DialOutcome::Completed, _) => {
                    t.state.stage = Stage::Done;
                    t.actions.push(Action::Hangup);
                }
                (_, None) => intake(
                    script,
                    &mut t,
                    lang,
                    ctx,
                    Line::new(lang, Phrase::StateBusy),
                ),
                (_, Some(category)) => {
                    let service = script
                        .menu
                        .referral(category)
                        .map(|r| r.name(lang).to_owned())
                        .unwrap_or_default();
                    t.actions.push(Action::Say(
                        Line::new(lang, Phrase::TransferFailed).with("service", service),
                    ));
                    start_recording(&mut t, lang, category.clone());
                }
            }
        }
        (Stage::Recording { again, .. }, Event::Recorded) => {
            if script.menu.review_recording && !again {
                t.effects.push(Effect::HoldRecording);
                t.state.stage = Stage::Review { attempts: 0 };
                offer_review(&mut t, lang);
            } else {
                // The second recording replaces the held first one.
                t.effects.push(Effect::KeepRecording);
                filed(&mut t, lang, ctx);
            }
        }
        (Stage::Review { .. }, Event::Digits(d)) if d == "2" => {
            t.state.path.push("review:2".into());
            t.state.stage = Stage::Recording {
                attempt: 0,
                again: true,
            };
            record_with(&mut t, lang, Phrase::Rerecord);
        }
        (Stage::Review { attempts }, Event::Digits(d)) if d != "1" && *attempts < 1 => {
            t.state.stage = Stage::Review { attempts: 1 };
            t.actions
                .push(Action::Say(Line::new(lang, Phrase::Invalid)));
            offer_review(&mut t, lang);
        }
        // 1, silence, or a second wrong key: the recording stands.
        (Stage::Review { .. }, Event::Digits(_) | Event::Timeout) => {
            t.effects.push(Effect::KeepRecording);
            filed(&mut t, lang, ctx);
        }
        // Nothing said the second time: the first recording stands.
        (Stage::Recording { again: true, .. }, Event::NoRecording) => {
            t.effects.push(Effect::KeepRecording);
            t.actions
                .push(Action::Say(Line::new(lang, Phrase::RerecordEmpty)));
            filed(&mut t, lang, ctx);
        }
        // 1: yes; any other key or silence: no.
        (Stage::Callback, Event::Digits(d)) if d == "1" => {
            t.effects.push(Effect::CallbackConsent(true));
            t.actions
                .push(Action::Say(Line::new(lang, Phrase::CallbackNoted)));
            goodbye(&mut t, lang);
        }
        (Stage::Callback, Event::Digits(_) | Event::Timeout) => {
            t.effects.push(Effect::CallbackConsent(false));
            goodbye(&mut t, lang);
        }
        (Stage::Recording { attempt, .. }, Event::NoRecording) => {
            if *attempt == 0 {
                t.state.stage = Stage::Recording {
                    attempt: 1,
                    again: false,
                };
                t.actions
                    .push(Action::Say(Line::new(lang, Phrase::NoRecordingRetry)));
                record(&mut t, lang);
            } else {
                t.state.stage = Stage::Done;
                t.actions.extend([
                    Action::Say(Line::new(lang, Phrase::NoRecordingFinal)),
                    Action::Say(Line::new(lang, Phrase::Goodbye)),
                    Action::Hangup,
                ]);
                t.effects.push(Effect::MissedCall);
            }
        }
        // Keys or timeouts while recording: the Record verb ended some
        // other way; record again rather than lose the caller.
        (Stage::Recording { again, .. }, Event::Digits(_) | Event::Timeout) => {
            let phrase = if *again {
                Phrase::Rerecord
            } else {
                Phrase::Instructions
            };
            record_with(&mut t, lang, phrase)
        }
        // Anything out of order (a stale or forged step): no guessing.
        (
            Stage::Language { .. }
            | Stage::Menu { .. }
            | Stage::Privacy { .. }
            | Stage::Referral { .. }
            | Stage::Dialling { .. }
            | Stage::Recording { .. }
            | Stage::Review { .. }
            | Stage::Status { .. }
            | Stage::Callback
            | Stage::Done,
            _,
        ) => {
            t.state.stage = Stage::Done;
            t.actions.push(Action::Hangup);
        }
    }
    t
}

/// The language options; the first time with the Ukrainian and English
/// emergency lines ahead of them, inside the `<Gather>` so a key can be
/// pressed at once.
fn language_menu(script: &Script, t: &mut Transition, first: bool) {
    let mut lines: Vec<Line> = Vec::new();
    if first {
        lines.extend(
            script
                .languages
                .iter()
                .filter(|&&l| l != Language::Pl)
                .map(|&l| Line::new(l, Phrase::Emergency)),
        );
    }
    lines.extend(script.languages.iter().enumerate().map(|(i, &lang)| {
        Line::new(lang, Phrase::LanguageOption).with("digit", (i + 1).to_string())
    }));
    t.actions.push(Action::Gather(lines));
    t.actions.push(Action::Redirect(Next::Timeout));
}

fn choose_language(script: &Script, t: &mut Transition, lang: Language, ctx: &Context) {
    t.state.language = Some(lang);
    let state = match (&ctx.line, &ctx.consultants) {
        (LineCondition::Staffed, Some(to)) => {
            t.state.stage = Stage::Dialling { category: None };
            // Announcements first: "MPEC knows of the failure" may spare
            // the caller the wait for a consultant.
            t.actions
                .extend(announcements(ctx, lang).into_iter().map(Action::Say));
            t.actions
                .push(Action::Say(Line::new(lang, Phrase::Connecting)));
            dial(t, to.clone(), None);
            return;
        }
        (LineCondition::Staffed, None) => Line::new(lang, Phrase::StateStaffed),
        (LineCondition::Closed, _) => Line::new(lang, Phrase::StateClosed),
        (LineCondition::ClosureDay, _) => Line::new(lang, Phrase::StateClosure),
        (LineCondition::Holiday(h), _) => {
            Line::new(lang, Phrase::StateHoliday).with("name", h.name(lang))
        }
    };
    intake(script, t, lang, ctx, state);
}

/// The report intake: the line's state, the privacy notice, the written
/// channels and the announcements ahead of the category menu.
fn intake(script: &Script, t: &mut Transition, lang: Language, ctx: &Context, state: Line) {
    let mut preamble = vec![
        state,
        Line::new(lang, Phrase::PrivacyShort).with("days", ctx.retention_days.to_string()),
        Line::new(lang, Phrase::TextChannels),
    ];
    preamble.extend(announcements(ctx, lang));
    t.state.stage = Stage::Menu {
        id: Menu::ROOT.to_owned(),
        attempts: 0,
    };
    menu_prompt(script, t, lang, Menu::ROOT, preamble);
}

/// The announcements playing, each in the caller's language (in Polish
/// when it has no text in theirs).
fn announcements(ctx: &Context, lang: Language) -> Vec<Line> {
    ctx.announcements
        .iter()
        .filter_map(|texts| {
            let own = &texts[Language::ALL.iter().position(|&l| l == lang).unwrap_or(0)];
            let (said_in, text) = match own.trim() {
                "" => (Language::Pl, texts[0].trim()),
                own => (lang, own),
            };
            (!text.is_empty()).then(|| Line::new(said_in, Phrase::Announcement).with("text", text))
        })
        .collect()
}

fn menu_prompt(script: &Script, t: &mut Transition, lang: Language, id: &str, preamble: Vec<Line>) {
    let mut lines = preamble;
    lines.push(Line::new(lang, Phrase::MenuIntro));
    if let Some(level) = script.menu.level(id) {
        for o in &level.options {
            let name = match (&o.category, &o.menu) {
                (Some(c), _) => script.menu.category_name(c, lang),
                (None, Some(m)) => script
                    .menu
                    .level(m)
                    .and_then(|l| l.names.get(&lang))
                    .cloned()
                    .unwrap_or_default(),
                _ => continue,
            };
            lines.push(
                Line::new(lang, Phrase::Option)
                    .with("name", name)
                    .with("digit", o.digit.clone()),
            );
        }
    }
    match &script.menu.status_key {
        Some(key) if id == Menu::ROOT => {
            lines.push(Line::new(lang, Phrase::StatusOption).with("digit", key.clone()))
        }
        _ => {}
    }
    if id != Menu::ROOT {
        lines.push(Line::new(lang, Phrase::Back));
    }
    lines.push(Line::new(lang, Phrase::RepeatHint));
    t.actions.push(Action::Gather(lines));
    t.actions.push(Action::Redirect(Next::Timeout));
}

/// The recording is kept: the report number read back twice, then the
/// callback question for a known number.
fn filed(t: &mut Transition, lang: Language, ctx: &Context) {
    t.actions.extend([
        Action::Say(Line::new(lang, Phrase::NumberIntro)),
        Action::ReadNumber(lang),
        Action::Say(Line::new(lang, Phrase::NumberRepeat)),
        Action::ReadNumber(lang),
    ]);
    if ctx.caller_known {
        t.state.stage = Stage::Callback;
        t.actions.extend([
            Action::Gather(vec![Line::new(lang, Phrase::CallbackOffer)]),
            Action::Redirect(Next::Timeout),
        ]);
    } else {
        goodbye(t, lang);
    }
}

fn offer_review(t: &mut Transition, lang: Language) {
    t.actions
        .push(Action::Gather(vec![Line::new(lang, Phrase::ReviewOffer)]));
    t.actions.push(Action::Redirect(Next::Timeout));
}

fn goodbye(t: &mut Transition, lang: Language) {
    t.state.stage = Stage::Done;
    t.actions.extend([
        Action::Say(Line::new(lang, Phrase::Goodbye)),
        Action::Hangup,
    ]);
}

/// Asks for a report number (`why`: the first time, or once more).
fn ask_number(t: &mut Transition, lang: Language, why: Phrase) {
    t.actions
        .push(Action::GatherNumber(vec![Line::new(lang, why)]));
    t.actions.push(Action::Redirect(Next::Timeout));
}

fn back_to_menu(script: &Script, t: &mut Transition, lang: Language) {
    t.state.stage = Stage::Menu {
        id: Menu::ROOT.to_owned(),
        attempts: 0,
    };
    menu_prompt(script, t, lang, Menu::ROOT, Vec::new());
}

fn reprompt_or_default(
    script: &Script,
    t: &mut Transition,
    lang: Language,
    id: &str,
    attempts: u8,
    why: Phrase,
) {
    t.actions.push(Action::Say(Line::new(lang, why)));
    if attempts < MAX_REPROMPTS {
        t.state.stage = Stage::Menu {
            id: id.to_owned(),
            attempts: attempts + 1,
        };
        menu_prompt(script, t, lang, id, Vec::new());
    } else {
        let code = script.menu.default_category.clone();
        t.actions.push(Action::Say(
            Line::new(lang, Phrase::FiledAs).with("name", script.menu.category_name(&code, lang)),
        ));
        t.state.path.push(format!("{id}:default"));
        category_chosen(script, t, lang, &code);
    }
}

/// A category chosen: its 24/7 service first, if it has one.
fn category_chosen(script: &Script, t: &mut Transition, lang: Language, code: &str) {
    match script.menu.referral(code) {
        Some(r) if r.transfer => {
            t.state.category = Some(code.to_owned());
            t.state.stage = Stage::Referral {
                category: code.to_owned(),
                attempts: 0,
            };
            offer_referral(script, t, lang, code);
        }
        Some(r) => {
            t.actions.push(Action::Say(
                Line::new(lang, Phrase::ReferralInfo)
                    .with("service", r.name(lang))
                    .with("number", r.number.clone()),
            ));
            start_recording(t, lang, code.to_owned());
        }
        None => start_recording(t, lang, code.to_owned()),
    }
}

fn offer_referral(script: &Script, t: &mut Transition, lang: Language, code: &str) {
    let service = script
        .menu
        .referral(code)
        .map(|r| r.name(lang).to_owned())
        .unwrap_or_default();
    t.actions.push(Action::Gather(vec![
        Line::new(lang, Phrase::ReferralOffer).with("service", service)
    ]));
    t.actions.push(Action::Redirect(Next::Timeout));
}

fn dial(t: &mut Transition, to: String, category: Option<String>) {
    t.effects.push(Effect::DialStarted {
        to: to.clone(),
        category,
    });
    t.actions.push(Action::Dial { to });
}

fn start_recording(t: &mut Transition, lang: Language, category: String) {
    t.state.category = Some(category.clone());
    t.state.stage = Stage::Recording {
        attempt: 0,
        again: false,
    };
    t.state.recording_offered = true;
    t.effects.push(Effect::OpenReport {
        category,
        language: lang,
    });
    record(t, lang);
}

fn record(t: &mut Transition, lang: Language) {
    record_with(t, lang, Phrase::Instructions)
}

/// `instructions`, the beep, the recording.
fn record_with(t: &mut Transition, lang: Language, instructions: Phrase) {
    t.actions.push(Action::Say(Line::new(lang, instructions)));
    t.actions.push(Action::Record);
    // An empty recording skips Record's action and falls through to here.
    t.actions.push(Action::Redirect(Next::NoRecording));
}
