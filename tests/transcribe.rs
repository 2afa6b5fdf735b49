//! End to end with the real converted base model (fetched by `scripts/test`
//! into hotline's cache, or named by HOTLINE_MODEL): the CLI, the speech
//! gate, the hallucination guards and the Polish dev set.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use hotline::domain::Language;
use hotline::engine::gate::{Gate, GateConfig};
use hotline::engine::{Engine, EngineConfig, LanguageChoice};
use hotline::prompts::{normalize, PromptSource, WhisperPrompts};
use support::signals::*;

fn speech_dir() -> PathBuf {
    support::speech("")
}

fn model() -> PathBuf {
    let m = hotline::model::default_model_path();
    assert!(
        m.exists(),
        "model {} missing: run `hotline model fetch` (scripts/test does)",
        m.display()
    );
    m
}

/// Whisper uses every core and ggml's threads spin while they wait: two
/// transcriptions at once slow each other down many times over. Tests that
/// run the model take this lock.
fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static L: std::sync::Mutex<()> = std::sync::Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

/// One engine for the whole test binary (loading takes a moment).
fn engine() -> Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        let prompts = WhisperPrompts::load(&PromptSource::builtin()).unwrap();
        Arc::new(Engine::load(EngineConfig::new(model(), prompts)).unwrap())
    })
    .clone()
}

/// `hotline transcribe <args> --model <base> <files>`, which must succeed:
/// its standard output.
fn transcribe_cli(args: &[&str], files: &[PathBuf]) -> String {
    support::stdout_of(
        Command::new(env!("CARGO_BIN_EXE_hotline"))
            .arg("transcribe")
            .args(args)
            .arg("--model")
            .arg(model())
            .args(files),
    )
}

#[test]
fn jfk_through_the_cli() {
    let _one_at_a_time = exclusive();
    let out = transcribe_cli(&["--lang", "en"], &[speech_dir().join("en/en_jfk_001.wav")]);
    assert_eq!(
        normalize(&out),
        normalize("And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.")
    );
}

#[test]
fn json_and_tsv_formats() {
    let _one_at_a_time = exclusive();
    let file = speech_dir().join("pl/pl_neon_005.wav");
    let run = |format: &str| {
        transcribe_cli(
            &["--lang", "pl", "--format", format],
            std::slice::from_ref(&file),
        )
    };
    let json: serde_json::Value = serde_json::from_str(run("json").trim()).unwrap();
    assert_eq!(json["language"], "pl");
    assert!(json["model_id"].as_str().unwrap().starts_with("base"));
    let seg = &json["segments"][0];
    assert!(seg["end_ms"].as_i64().unwrap() > seg["start_ms"].as_i64().unwrap());
    // Within the recording (whisper.cpp ends a last segment without a
    // closing timestamp at its 30 s window).
    let audio_ms = json["timings"]["audio_ms"].as_i64().unwrap();
    assert!(seg["end_ms"].as_i64().unwrap() <= audio_ms, "{json}");
    assert!(seg["avg_logprob"].as_f64().unwrap() < 0.0);
    assert!(seg["no_speech_prob"].as_f64().is_some());
    assert!(json["timings"]["whisper_ms"].as_u64().unwrap() > 0);
    assert_eq!(normalize(json["text"].as_str().unwrap()), "ile to kosztuje");
    let tsv = run("tsv");
    let (name, text) = tsv.trim_end().split_once('\t').unwrap();
    assert!(name.ends_with("pl_neon_005.wav"));
    assert_eq!(normalize(text), "ile to kosztuje");
}

/// A worker transcribes one recording after another with the same state:
/// what it transcribed before must not change the text (whisper.cpp's beam
/// search drew its candidates at random from a generator that carried over
/// from call to call; see vendor/whisper-rs-sys/PATCHES.md).
#[test]
fn a_recording_gets_the_same_text_whatever_came_before() {
    let _one_at_a_time = exclusive();
    let first = speech_dir().join("uk/uk_ast8k_001.wav");
    // Upstream gave the first clip different text after the second one.
    let stdout = transcribe_cli(
        &["--lang", "uk", "--format", "tsv"],
        &[
            first.clone(),
            speech_dir().join("uk/uk_ast8k_003.wav"),
            first,
        ],
    );
    let texts: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, text)| text))
        .collect();
    assert_eq!(texts.len(), 3, "{stdout}");
    assert!(!texts[0].is_empty());
    assert_eq!(texts[0], texts[2], "same file, different text");
}

#[test]
fn bad_files_are_reported_and_the_rest_transcribed() {
    let _one_at_a_time = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.wav");
    std::fs::write(&bad, b"<html>gateway timeout</html>").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["transcribe", "--lang", "pl", "--format", "tsv", "--model"])
        .arg(model())
        .arg(&bad)
        .arg(speech_dir().join("pl/pl_neon_005.wav"))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a bad file makes the exit status non-zero"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a WAV file"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("pl_neon_005.wav"));
}

#[test]
fn a_beam_whisper_cannot_run_is_refused_up_front() {
    // whisper.cpp runs at most 8 decoders; a wider beam used to fail every
    // clip with "Generic whisper error".
    let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["transcribe", "--beam", "10", "--model"])
        .arg(model())
        .arg(speech_dir().join("pl/pl_neon_005.wav"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--beam") && err.contains("1..=8"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_lexicon_penalty_out_of_range_is_refused() {
    for bad in ["25", "-1", "lots"] {
        let out = Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(["transcribe", "--lexicon-penalty", bad, "--model"])
            .arg(model())
            .arg(speech_dir().join("pl/pl_neon_005.wav"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--lexicon-penalty"), "{err}");
    }
}

#[test]
fn the_word_lists_steer_polish_towards_real_words() {
    let _one_at_a_time = exclusive();
    // The base model hears "wentylatora" but spells "węty latora".
    let clip = speech_dir().join("pl/pl_neon_003.wav");
    let biased = normalize(&transcribe_cli(
        &["--lang", "pl"],
        std::slice::from_ref(&clip),
    ));
    let plain = normalize(&transcribe_cli(
        &["--lang", "pl", "--lexicon-penalty", "0"],
        &[clip],
    ));
    assert!(biased.contains("krawędzi wentylatora widać"), "{biased}");
    assert!(!plain.contains("wentylatora"), "{plain}");
}

#[test]
fn a_language_without_its_word_list_is_decoded_unbiased() {
    let _one_at_a_time = exclusive();
    let prompts = WhisperPrompts::load(&PromptSource::builtin()).unwrap();
    let mut cfg = EngineConfig::new(model(), prompts);
    cfg.lexicon
        .word_lists
        .insert(Language::Pl, PathBuf::from("/nonexistent/polish"));
    let e = Engine::load(cfg).unwrap();
    let sizes = e.lexicon_sizes();
    assert!(sizes.iter().all(|(l, _)| *l != Language::Pl), "{sizes:?}");
    assert!(
        sizes
            .iter()
            .any(|(l, n)| *l == Language::Uk && *n > 1_000_000),
        "{sizes:?}"
    );
    let summary = e.lexicon_summary();
    assert!(
        summary.starts_with("uk 1.") && summary.ends_with("words, penalty 5"),
        "{summary}"
    );
    let pcm = hotline::audio::decode_file(
        &speech_dir().join("pl/pl_neon_003.wav"),
        &Default::default(),
    )
    .unwrap();
    let t = e
        .transcribe_blocking(&pcm.samples, LanguageChoice::Forced(Language::Pl))
        .unwrap();
    assert!(normalize(&t.text).contains("latora"), "{}", t.text);
}

#[test]
fn an_english_only_model_is_steered_by_english_words_whatever_the_caller_chose() {
    let _one_at_a_time = exclusive();
    let tiny = hotline::model::models_dir().join("ggml-tiny.en.bin");
    assert!(
        tiny.exists(),
        "run `hotline model fetch tiny.en` (scripts/test does)"
    );
    let prompts = WhisperPrompts::load(&PromptSource::builtin()).unwrap();
    let mut cfg = EngineConfig::new(tiny, prompts);
    // At full strength, so that the wrong word list would show.
    cfg.lexicon.penalty = hotline::engine::lexicon::MAX_PENALTY;
    let e = Engine::load(cfg).unwrap();
    let pcm =
        hotline::audio::decode_file(&speech_dir().join("en/en_jfk_001.wav"), &Default::default())
            .unwrap();
    // A caller who pressed "Polish" on a line served by tiny.en still gets
    // English text, and Polish words must not bend it.
    let t = e
        .transcribe_blocking(&pcm.samples, LanguageChoice::Forced(Language::Pl))
        .unwrap();
    let text = normalize(&t.text);
    assert!(
        text.contains("ask not what your country can do for you"),
        "{text}"
    );
}

/// What a phone line carries that is not speech.
fn not_speech() -> Vec<(&'static str, Vec<f32>)> {
    let hiss = |seed| white_noise(6.0, 0.003, seed);
    vec![
        ("silence", silence(6.0)),
        ("digital near-silence", white_noise(6.0, 0.0005, 11)),
        ("white noise", white_noise(6.0, 0.1, 1)),
        ("loud white noise", white_noise(6.0, 0.6, 2)),
        ("pink line noise", pink_noise(6.0, 0.3, 3)),
        ("mains hum", hum(6.0, 0.3)),
        ("dial tone", tone(&[425.0], 6.0, 0.3)),
        ("busy tone", cadence(425.0, 0.5, 0.5, 6.0, 0.3)),
        (
            "ringback with hiss",
            mix(&cadence(425.0, 1.0, 4.0, 6.0, 0.3), &hiss(4)),
        ),
        ("DTMF digits", dtmf("123456789*0#1234", 0.3)),
        ("DTMF with hiss", mix(&dtmf("987654321#", 0.3), &hiss(5))),
        ("sine melody", melody(6.0, 1, 0.3)),
        ("organ melody", melody(6.0, 8, 0.3)),
        ("phrased melody", phrased_melody(6.0, 8, 0.0, 0.3)),
        (
            "phrased melody with vibrato",
            phrased_melody(6.0, 8, 0.01, 0.3),
        ),
        (
            "phrased melody with hiss",
            mix(&phrased_melody(6.0, 6, 0.0, 0.3), &hiss(6)),
        ),
        ("synth chords", chords(6.0, 0.3)),
    ]
}

#[test]
fn gate_rejects_what_is_not_speech_and_passes_every_dev_clip() {
    let gate = Gate::new(GateConfig::default());
    for (name, s) in not_speech() {
        let r = gate.analyse(&s);
        assert!(!r.is_speech(), "{name} passed the gate: {r:?}");
    }
    let mut clips = 0;
    for lang in ["pl", "uk", "en"] {
        for entry in std::fs::read_dir(speech_dir().join(lang)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "wav") {
                let pcm = hotline::audio::decode_file(&path, &Default::default()).unwrap();
                let r = gate.analyse(&pcm.samples);
                assert!(r.is_speech(), "{} rejected: {r:?}", path.display());
                // Speech over a noisy line still passes (SNR ≈ 15 dB).
                let noisy = mix(
                    &pcm.samples,
                    &pink_noise(pcm.samples.len() as f32 / 16_000.0, 0.02, 9),
                );
                assert!(
                    gate.analyse(&noisy).is_speech(),
                    "{} rejected with line noise",
                    path.display()
                );
                clips += 1;
            }
        }
    }
    assert!(clips >= 20, "dev set missing? {clips} clips");
}

#[test]
fn silence_noise_and_tones_never_become_text() {
    let _one_at_a_time = exclusive();
    let e = engine();
    for (name, s) in not_speech() {
        for lang in [hotline::domain::Language::Pl, hotline::domain::Language::En] {
            let t = e
                .transcribe_blocking(&s, LanguageChoice::Forced(lang))
                .unwrap();
            assert!(
                t.text.is_empty() && t.no_speech.is_some(),
                "{name} ({lang}) became text: {:?}",
                t.text
            );
        }
    }
}

#[test]
fn whisper_output_is_guarded_even_past_the_gate() {
    let _one_at_a_time = exclusive();
    // With the gate wide open, Whisper itself runs on noise and tones: its
    // no-speech figures and the blocklist must still keep text out.
    let prompts = WhisperPrompts::load(&PromptSource::builtin()).unwrap();
    let mut cfg = EngineConfig::new(model(), prompts);
    cfg.gate = GateConfig {
        abs_floor_dbfs: -200.0,
        min_voiced_ms: 0,
        max_steady_share: 2.0,
        min_peaks: 0,
        max_flatness: 2.0,
        min_periodicity: -1.0,
        above_floor_db: -200.0,
    };
    let e = Engine::load(cfg).unwrap();
    let mut leaked = Vec::new();
    for (name, s) in not_speech() {
        let t = e
            .transcribe_blocking(&s, LanguageChoice::Forced(hotline::domain::Language::Pl))
            .unwrap();
        if !t.text.is_empty() {
            let figures: Vec<String> = t
                .segments
                .iter()
                .map(|s| format!("ns {:.2} lp {:.2}", s.no_speech_prob, s.avg_logprob))
                .collect();
            leaked.push(format!(
                "{name}: {:?} {figures:?} clip ns {:?}",
                t.text, t.no_speech_prob
            ));
        }
    }
    // Whisper alone is not enough (that is why the gate exists), but the
    // guards must catch most of it.
    assert!(
        leaked.len() <= not_speech().len() / 3,
        "guards let through: {leaked:#?}"
    );
}

#[test]
fn auto_detection_chooses_only_configured_languages() {
    let _one_at_a_time = exclusive();
    let e = engine();
    for (file, want) in [
        ("pl/pl_telsim_001.wav", "pl"),
        ("uk/uk_ast8k_004.wav", "uk"),
        ("en/en_ast8k_003.wav", "en"),
    ] {
        let pcm =
            hotline::audio::decode_file(&speech_dir().join(file), &Default::default()).unwrap();
        let t = e
            .transcribe_blocking(&pcm.samples, LanguageChoice::Auto)
            .unwrap();
        assert_eq!(t.language.code(), want, "{file}");
        assert!(t.language_probability.unwrap() > 0.0);
    }
}

#[test]
fn polish_dev_set_stays_under_the_regression_bound() {
    let _one_at_a_time = exclusive();
    let out = support::stdout_of(
        Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(["bench", "transcribe", "--json", "--refs"])
            .arg(speech_dir().join("pl/refs.tsv"))
            .arg("--model")
            .arg(model()),
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pl = &report["hotline"]["per_language"]["pl"];
    let wer =
        pl["words"]["edits"].as_f64().unwrap() / pl["words"]["reference_len"].as_f64().unwrap();
    assert_eq!(pl["clips"], 18);
    assert!(
        wer <= 0.25,
        "Polish WER {wer:.3} above the regression bound 0.25"
    );
}
