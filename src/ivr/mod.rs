//! The IVR: a pure state machine from (state, event) to (state, actions,
//! effects). It knows nothing of HTTP or TwiML: the telephony layer turns
//! webhooks into [`Event`]s and renders [`Action`]s in the provider's
//! dialect, and the web layer carries out [`Effect`]s on the store.
//!
//! Flow: greeting with the after-hours and privacy notice → language (Polish
//! on timeout) → category menu (`*` repeats, `0` goes back, invalid or no
//! input re-prompts twice, then "other") → instructions → recording → the
//! report number read back twice → goodbye. An empty recording gets one
//! retry, then the call is filed as missed.

pub mod menu;

use serde::{Deserialize, Serialize};

use crate::domain::Language;
pub use menu::{Choice, Menu, MenuError, Phrase, Phrases, Script};

/// Re-prompts after the first prompt before a default is taken.
pub const MAX_REPROMPTS: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    Language { attempts: u8 },
    Menu { id: String, attempts: u8 },
    Recording { attempt: u8 },
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
}

impl Next {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::Timeout => "timeout",
            Self::Recorded => "recorded",
            Self::NoRecording => "norecording",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Say(Line),
    /// Collect one key while saying `lines`; the key is reported as `Next::Digits`.
    Gather(Vec<Line>),
    /// Record after a beep; reported as `Next::Recorded`.
    Record,
    /// Continue at our URL (after a Gather that timed out, a Record that was empty).
    Redirect(Next),
    /// Read the report number digit by digit.
    ReadNumber(Language),
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: IvrState,
    pub actions: Vec<Action>,
    pub effects: Vec<Effect>,
}

/// Advances the IVR. Pure: same inputs, same outputs.
pub fn step(script: &Script, state: &IvrState, event: &Event) -> Transition {
    let mut next = state.clone();
    next.step = state.step + 1;
    let mut t = Transition {
        state: next,
        actions: Vec::new(),
        effects: Vec::new(),
    };
    match (&state.stage, event) {
        (_, Event::Start) => {
            t.state = IvrState {
                step: state.step + 1,
                ..IvrState::default()
            };
            t.actions
                .push(Action::Say(Line::new(Language::Pl, Phrase::Greeting)));
            language_menu(script, &mut t);
        }
        (Stage::Language { attempts }, Event::Digits(d)) => {
            let idx = d
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=script.languages.len()).contains(n));
            match (d.as_str(), idx) {
                ("*", _) => language_menu(script, &mut t),
                (_, Some(n)) => {
                    t.state.path.push(format!("language:{d}"));
                    choose_language(script, &mut t, script.languages[n - 1]);
                }
                _ if *attempts < MAX_REPROMPTS => {
                    t.state.stage = Stage::Language {
                        attempts: attempts + 1,
                    };
                    t.actions
                        .push(Action::Say(Line::new(Language::Pl, Phrase::Invalid)));
                    language_menu(script, &mut t);
                }
                _ => choose_language(script, &mut t, Language::Pl),
            }
        }
        (Stage::Language { .. }, Event::Timeout) => choose_language(script, &mut t, Language::Pl),
        (Stage::Menu { id, attempts }, Event::Digits(d)) => {
            let lang = state.language_or_default();
            match (d.as_str(), script.menu.choose(id, d)) {
                ("*", _) => menu_prompt(script, &mut t, lang, id),
                ("0", _) if id != Menu::ROOT => {
                    t.state.stage = Stage::Menu {
                        id: Menu::ROOT.to_owned(),
                        attempts: 0,
                    };
                    menu_prompt(script, &mut t, lang, Menu::ROOT);
                }
                (_, Some(Choice::Category(code))) => {
                    t.state.path.push(format!("{id}:{d}"));
                    start_recording(&mut t, lang, code.to_owned());
                }
                (_, Some(Choice::Menu(sub))) => {
                    t.state.path.push(format!("{id}:{d}"));
                    t.state.stage = Stage::Menu {
                        id: sub.to_owned(),
                        attempts: 0,
                    };
                    menu_prompt(script, &mut t, lang, sub);
                }
                (_, None) => {
                    reprompt_or_default(script, &mut t, lang, id, *attempts, Phrase::Invalid)
                }
            }
        }
        (Stage::Menu { id, attempts }, Event::Timeout) => reprompt_or_default(
            script,
            &mut t,
            state.language_or_default(),
            id,
            *attempts,
            Phrase::NoInput,
        ),
        (Stage::Recording { .. }, Event::Recorded) => {
            let lang = state.language_or_default();
            t.state.stage = Stage::Done;
            t.actions.extend([
                Action::Say(Line::new(lang, Phrase::NumberIntro)),
                Action::ReadNumber(lang),
                Action::Say(Line::new(lang, Phrase::NumberRepeat)),
                Action::ReadNumber(lang),
                Action::Say(Line::new(lang, Phrase::Goodbye)),
                Action::Hangup,
            ]);
        }
        (Stage::Recording { attempt }, Event::NoRecording) => {
            let lang = state.language_or_default();
            if *attempt == 0 {
                t.state.stage = Stage::Recording { attempt: 1 };
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
        (Stage::Recording { .. }, Event::Digits(_) | Event::Timeout) => {
            record(&mut t, state.language_or_default())
        }
        // Anything out of order (a stale or forged step): no guessing.
        (Stage::Language { .. } | Stage::Menu { .. }, Event::Recorded | Event::NoRecording)
        | (Stage::Done, _) => {
            t.state.stage = Stage::Done;
            t.actions.push(Action::Hangup);
        }
    }
    t
}

fn language_menu(script: &Script, t: &mut Transition) {
    let lines = script
        .languages
        .iter()
        .enumerate()
        .map(|(i, &lang)| {
            Line::new(lang, Phrase::LanguageOption).with("digit", (i + 1).to_string())
        })
        .collect();
    t.actions.push(Action::Gather(lines));
    t.actions.push(Action::Redirect(Next::Timeout));
}

fn choose_language(script: &Script, t: &mut Transition, lang: Language) {
    t.state.language = Some(lang);
    t.state.stage = Stage::Menu {
        id: Menu::ROOT.to_owned(),
        attempts: 0,
    };
    menu_prompt(script, t, lang, Menu::ROOT);
}

fn menu_prompt(script: &Script, t: &mut Transition, lang: Language, id: &str) {
    let mut lines = vec![Line::new(lang, Phrase::MenuIntro)];
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
    if id != Menu::ROOT {
        lines.push(Line::new(lang, Phrase::Back));
    }
    lines.push(Line::new(lang, Phrase::RepeatHint));
    t.actions.push(Action::Gather(lines));
    t.actions.push(Action::Redirect(Next::Timeout));
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
        menu_prompt(script, t, lang, id);
    } else {
        let code = script.menu.default_category.clone();
        t.actions.push(Action::Say(
            Line::new(lang, Phrase::FiledAs).with("name", script.menu.category_name(&code, lang)),
        ));
        t.state.path.push(format!("{id}:default"));
        start_recording(t, lang, code);
    }
}

fn start_recording(t: &mut Transition, lang: Language, category: String) {
    t.state.category = Some(category.clone());
    t.state.stage = Stage::Recording { attempt: 0 };
    t.state.recording_offered = true;
    t.effects.push(Effect::OpenReport {
        category,
        language: lang,
    });
    record(t, lang);
}

fn record(t: &mut Transition, lang: Language) {
    t.actions
        .push(Action::Say(Line::new(lang, Phrase::Instructions)));
    t.actions.push(Action::Record);
    // An empty recording skips Record's action and falls through to here.
    t.actions.push(Action::Redirect(Next::NoRecording));
}
