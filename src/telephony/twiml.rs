//! TwiML (Twilio; Telnyx TeXML and SignalWire cXML read the same): the IVR's
//! actions rendered as XML with correct escaping, and parsed back (for the
//! caller simulator, which plays the provider).

use std::collections::BTreeMap;

use crate::domain::{Language, ReportNumber};
use crate::ivr::{Action, Line, Next, Script};
use crate::xml::escape;

/// A minimal XML element writer.
struct Xml(String);

impl Xml {
    fn open(&mut self, name: &str, attrs: &[(&str, &str)], empty: bool) {
        self.0.push('<');
        self.0.push_str(name);
        for (k, v) in attrs {
            self.0.push_str(&format!(" {k}=\"{}\"", escape(v)));
        }
        self.0.push_str(if empty { "/>" } else { ">" });
    }

    fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs, false);
        self.0.push_str(&escape(text));
        self.0.push_str(&format!("</{name}>"));
    }

    fn close(&mut self, name: &str) {
        self.0.push_str(&format!("</{name}>"));
    }
}

/// What rendering needs besides the actions.
pub struct Render<'a> {
    pub script: &'a Script,
    /// `<Say voice=…>` per language.
    pub voices: &'a BTreeMap<Language, String>,
    /// Public URLs of recorded prompts, by (language, phrase key).
    pub recorded: &'a BTreeMap<(Language, String), String>,
    /// Our public base URL (no trailing slash).
    pub base: &'a str,
    /// The step the next request will carry.
    pub step: u32,
    pub report_number: Option<&'a ReportNumber>,
    pub max_record_secs: u32,
    /// How long a `<Dial>` rings before it counts as not answered.
    pub ring_secs: u32,
    /// The caller's number, passed on as the caller id of a `<Dial>`
    /// (none: anonymous, the provider's default).
    pub caller_id: Option<&'a str>,
}

impl Render<'_> {
    fn url(&self, next: Next) -> String {
        format!(
            "{}/twilio/ivr?step={}&ev={}",
            self.base,
            self.step,
            next.as_str()
        )
    }

    /// A `<Gather>` of one key, or of a number ended by `#` (its keys
    /// come together; a pause of 8 s ends it too).
    fn gather(&self, x: &mut Xml, lines: &[Line], number: bool) {
        let action = self.url(Next::Digits);
        let mut attrs = vec![
            ("input", "dtmf"),
            ("action", action.as_str()),
            ("method", "POST"),
            ("actionOnEmptyResult", "false"),
        ];
        attrs.extend(match number {
            false => [("numDigits", "1"), ("timeout", "4")],
            true => [("finishOnKey", "#"), ("timeout", "8")],
        });
        x.open("Gather", &attrs, false);
        for l in lines {
            self.line(x, l);
        }
        x.close("Gather");
    }

    fn line(&self, x: &mut Xml, line: &Line) {
        let recorded = line
            .vars
            .is_empty()
            .then(|| {
                self.recorded
                    .get(&(line.language, line.phrase.key().to_owned()))
            })
            .flatten();
        match recorded {
            Some(url) => x.text("Play", &[], url),
            None => self.say(x, line.language, &line.text(self.script)),
        }
    }

    fn say(&self, x: &mut Xml, lang: Language, text: &str) {
        let voice = self.voices.get(&lang).map(String::as_str).unwrap_or("");
        let mut attrs = vec![("language", lang.tts_tag())];
        if !voice.is_empty() {
            attrs.push(("voice", voice));
        }
        x.text("Say", &attrs, text);
    }

    /// The TwiML document for `actions`.
    pub fn render(&self, actions: &[Action]) -> String {
        let mut x = Xml(String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        x.open("Response", &[], false);
        for a in actions {
            match a {
                Action::Say(line) => self.line(&mut x, line),
                Action::Gather(lines) => self.gather(&mut x, lines, false),
                Action::GatherNumber(lines) => self.gather(&mut x, lines, true),
                Action::Record => {
                    let action = self.url(Next::Recorded);
                    let status = format!("{}/twilio/recording", self.base);
                    let max = self.max_record_secs.to_string();
                    x.open(
                        "Record",
                        &[
                            ("action", &action),
                            ("method", "POST"),
                            ("maxLength", &max),
                            ("timeout", "5"),
                            ("finishOnKey", "#"),
                            ("playBeep", "true"),
                            ("trim", "trim-silence"),
                            ("recordingStatusCallback", &status),
                            ("recordingStatusCallbackMethod", "POST"),
                            ("recordingStatusCallbackEvent", "completed absent"),
                        ],
                        true,
                    );
                }
                Action::Redirect(next) => {
                    x.text("Redirect", &[("method", "POST")], &self.url(*next))
                }
                Action::ReadNumber(lang) => {
                    // Digit by digit, with pauses, so the caller can write it down.
                    let digits: Vec<String> = self
                        .report_number
                        .map(|n| n.digits().map(|d| d.to_string()).collect())
                        .unwrap_or_default();
                    self.say(&mut x, *lang, &digits.join(", "));
                }
                Action::Dial { to } => {
                    let action = self.url(Next::Dialled);
                    let ring = self.ring_secs.to_string();
                    let mut attrs = vec![
                        ("action", action.as_str()),
                        ("method", "POST"),
                        ("timeout", ring.as_str()),
                    ];
                    if let Some(id) = self.caller_id {
                        attrs.push(("callerId", id));
                    }
                    x.open("Dial", &attrs, false);
                    let noun = if to.starts_with("sip:") {
                        "Sip"
                    } else {
                        "Number"
                    };
                    x.text(noun, &[], to);
                    x.close("Dial");
                }
                Action::Hangup => x.open("Hangup", &[], true),
            }
        }
        x.close("Response");
        x.0
    }
}

/// A response with nothing but a spoken message and a hang-up (errors).
pub fn say_and_hangup(lang: Language, text: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"{}\">{}</Say><Hangup/></Response>",
        lang.tts_tag(),
        escape(text)
    )
}

/// A parsed TwiML verb (the subset hotline emits, as a provider reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Say {
        language: String,
        text: String,
    },
    Play(String),
    Gather {
        action: String,
        timeout_secs: u32,
        prompts: Vec<Verb>,
    },
    Record {
        action: String,
        status_callback: Option<String>,
        max_secs: u32,
    },
    Redirect(String),
    Pause(u32),
    Dial {
        action: String,
        timeout_secs: u32,
        caller_id: Option<String>,
        /// The `<Number>` or `<Sip>` dialled.
        to: String,
    },
    Hangup,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid TwiML: {0}")]
pub struct TwimlError(pub String);

pub fn parse(xml: &str) -> Result<Vec<Verb>, TwimlError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| TwimlError(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(TwimlError(format!(
            "root is <{}>, not <Response>",
            root.tag_name().name()
        )));
    }
    root.children()
        .filter(|n| n.is_element())
        .map(verb)
        .collect()
}

fn verb(n: roxmltree::Node<'_, '_>) -> Result<Verb, TwimlError> {
    let attr = |k: &str| n.attribute(k).map(str::to_owned);
    let num = |k: &str, d: u32| n.attribute(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let text = || n.text().unwrap_or("").trim().to_owned();
    Ok(match n.tag_name().name() {
        "Say" => Verb::Say {
            language: attr("language").unwrap_or_default(),
            text: text(),
        },
        "Play" => Verb::Play(text()),
        "Gather" => Verb::Gather {
            action: attr("action").ok_or_else(|| TwimlError("<Gather> without action".into()))?,
            timeout_secs: num("timeout", 5),
            prompts: n
                .children()
                .filter(|c| c.is_element())
                .map(verb)
                .collect::<Result<_, _>>()?,
        },
        "Record" => Verb::Record {
            action: attr("action")
                .ok_or_else(|| TwimlError("<Record> without action loops forever".into()))?,
            status_callback: attr("recordingStatusCallback"),
            max_secs: num("maxLength", 3600),
        },
        "Redirect" => Verb::Redirect(text()),
        "Pause" => Verb::Pause(num("length", 1)),
        "Dial" => Verb::Dial {
            action: attr("action")
                .ok_or_else(|| TwimlError("<Dial> without action ends the call".into()))?,
            timeout_secs: num("timeout", 30),
            caller_id: attr("callerId"),
            to: n
                .children()
                .find(|c| matches!(c.tag_name().name(), "Number" | "Sip"))
                .and_then(|c| c.text())
                .unwrap_or("")
                .trim()
                .to_owned(),
        },
        "Hangup" => Verb::Hangup,
        other => return Err(TwimlError(format!("unexpected verb <{other}>"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(escape("x\u{0}\u{7}y\n"), "xy\n");
    }

    #[test]
    fn parse_reads_what_providers_send_back() {
        let verbs = parse(
            r#"<?xml version="1.0"?><Response><Gather action="https://h/x?a=1&amp;b=2" timeout="3"><Say language="pl-PL">Tak &amp; nie</Say></Gather><Redirect>https://h/y</Redirect><Hangup/></Response>"#,
        )
        .unwrap();
        assert_eq!(
            verbs[0],
            Verb::Gather {
                action: "https://h/x?a=1&b=2".into(),
                timeout_secs: 3,
                prompts: vec![Verb::Say {
                    language: "pl-PL".into(),
                    text: "Tak & nie".into()
                }]
            }
        );
        assert_eq!(verbs[2], Verb::Hangup);
        assert!(parse("<html/>").is_err());
        assert!(parse("<Response><Record/></Response>").is_err());
    }
}
