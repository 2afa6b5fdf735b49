//! Entry points for the fuzzers in `fuzz/` (cargo-fuzz) and for the
//! regression test that replays every input they ever crashed on. Each one
//! feeds hostile bytes to a parser hotline exposes to the outside world and
//! checks the invariants that must hold whatever the input.

use std::time::Duration;

use crate::audio::{self, DecodeOptions};
use crate::domain::Language;
use crate::ivr::{Action, Line, Phrase, Script};
use crate::model::{ct2::Ct2Model, ggml};
use crate::telephony::twiml::{self, Render, Verb};
use crate::telephony::{digits, signature, Form, IncomingCall, Provider, RecordingEvent};

/// WAV decoding: errors are fine, panics are not; output is finite, within
/// full scale.
pub fn wav_decode(data: &[u8]) {
    let lenient = data.first().is_some_and(|b| b & 1 == 1);
    let opts = DecodeOptions {
        max_duration: Duration::from_secs(30),
        lenient,
    };
    if let Ok(pcm) = audio::decode(data, &opts) {
        assert!(
            pcm.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0),
            "samples out of range"
        );
    }
}

/// MP3 decoding (symphonia) and the channel choice after it: errors are
/// fine, panics are not; every channel is finite, within full scale, of
/// one length, and the decoded whole stays within the cap.
pub fn mp3_decode(data: &[u8]) {
    if let Ok(mp3) = audio::mp3::decode(data, 30.0) {
        let len = mp3.channels.first().map_or(0, Vec::len);
        assert!(
            mp3.channels.iter().all(|c| c.len() == len),
            "ragged channels"
        );
        assert!(
            mp3.channels
                .iter()
                .flatten()
                .all(|s| s.is_finite() && s.abs() <= 1.0),
            "samples out of range"
        );
        assert!(len as f64 / f64::from(mp3.sample_rate.max(1)) <= 30.0 + 1.0);
        let voice = audio::channels::caller(mp3.channels, mp3.sample_rate);
        assert_eq!(voice.len(), len);
    }
}

/// The CTranslate2 reader, and dequantisation of whatever it accepted.
pub fn ct2_model(data: &[u8]) {
    if let Ok(m) = Ct2Model::parse(data) {
        for v in &m.variables {
            let _ = m.weight_f32(v.name);
            let _ = v.scalar_int();
        }
    }
}

/// The header reader that vets ggml files hotline did not write itself.
pub fn ggml_header(data: &[u8]) {
    let _ = ggml::read_header(data);
}

/// Webhook forms: the strict checks, parsing into typed events and
/// signature checks.
pub fn webhook_form(data: &[u8]) {
    let form = Form::parse(data);
    for provider in [
        Provider::Twilio,
        Provider::SignalWire,
        Provider::Telnyx,
        Provider::Unverified,
    ] {
        let _ = form.check(provider);
    }
    let _ = IncomingCall::parse(&form);
    let _ = digits(&form);
    if let Ok(Some(rec)) = RecordingEvent::parse(&form) {
        let _ = rec.has_audio();
    }
    let sig = form.get("Signature").unwrap_or("");
    let _ = signature::verify_with(
        signature::Algorithm::Sha256,
        "shared",
        "https://hotline.example/twilio/voice",
        &form.0,
        sig,
    );
    let _ = signature::verify(
        "token",
        "https://hotline.example:443/twilio/voice",
        &form.0,
        sig,
    );
    let _ = signature::verify_telnyx("AAAA", form.get("ts").unwrap_or(""), data, sig, 0, 300);
}

/// TwiML rendering: any text in a prompt yields well-formed XML that a
/// provider reads back to the same text (minus characters XML cannot carry).
pub fn twiml_render(data: &[u8]) {
    static SCRIPT: std::sync::OnceLock<Option<Script>> = std::sync::OnceLock::new();
    let Some(script) =
        SCRIPT.get_or_init(|| Script::load(&crate::prompts::PromptSource::builtin()).ok())
    else {
        return;
    };
    let text = String::from_utf8_lossy(data).into_owned();
    let line = Line {
        language: Language::Pl,
        phrase: Phrase::Option,
        vars: vec![("name", text.clone()), ("digit", "1".into())],
    };
    let voices = Default::default();
    let recorded = Default::default();
    let xml = Render {
        script,
        voices: &voices,
        recorded: &recorded,
        base: "https://h.example",
        step: 1,
        report_number: None,
        max_record_secs: 180,
        ring_secs: 25,
        caller_id: None,
    }
    .render(&[Action::Gather(vec![line.clone()]), Action::Hangup]);
    let verbs =
        twiml::parse(&xml).unwrap_or_else(|e| panic!("rendered TwiML does not parse: {e}\n{xml}"));
    let Verb::Gather { prompts, .. } = &verbs[0] else {
        panic!("no gather in {xml}")
    };
    let Verb::Say { text: said, .. } = &prompts[0] else {
        panic!("no say in {xml}")
    };
    // XML cannot carry control characters and folds line ends; nothing else may change.
    let norm = |s: &str| {
        s.replace("\r\n", "\n")
            .replace('\r', "\n")
            .trim()
            .to_owned()
    };
    let kept: String = line
        .text(script)
        .chars()
        .filter(|c| (*c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    assert_eq!(norm(said), norm(&kept), "text changed on the way");
}
