//! End to end with the real converted base model (fetched by `scripts/test`
//! into hotline's cache, or named by HOTLINE_MODEL): the CLI, the speech
//! gate, the hallucination guards and the Polish dev set.

use crate::support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use hotline::domain::Language;
use hotline::engine::gate::{Gate, GateConfig};
use hotline::engine::{Engine, EngineConfig, LanguageChoice};
use hotline::prompts::{normalize, PromptSource, WhisperPrompts};
use support::signals::*;
use support::voicemail;

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
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither WAV nor MP3"));
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

/// The reference sentence of a dev clip.
fn reference(clip: &str) -> String {
    let (lang, name) = clip.split_once('/').unwrap();
    let refs = std::fs::read_to_string(speech_dir().join(lang).join("refs.tsv")).unwrap();
    refs.lines()
        .find_map(|l| {
            let mut cols = l.split('\t');
            (cols.next() == Some(name)).then(|| cols.next().unwrap().to_owned())
        })
        .unwrap_or_else(|| panic!("{clip} not in refs.tsv"))
}

/// For each sentence, how many of its words the hypothesis kept (aligned
/// to a hypothesis word, right or wrong, on a cheapest alignment of the
/// whole text with as few deletions as it allows: a dropped sentence keeps
/// none) and how many it has; and how many words of the whole text are
/// right.
fn kept_per_sentence(sentences: &[String], hypothesis: &str) -> (Vec<(usize, usize)>, usize) {
    let mut words = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        words.extend(normalize(s).split_whitespace().map(|w| (i, w.to_owned())));
    }
    let hyp: Vec<String> = normalize(hypothesis)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let (n, m) = (words.len(), hyp.len());
    // (edits, deletions) to align the first i words with the first j.
    let mut d = vec![vec![(0usize, 0usize); m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = (i, i);
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = (j, 0);
    }
    let sub = |i: usize, j: usize| usize::from(words[i - 1].1 != hyp[j - 1]);
    for i in 1..=n {
        for j in 1..=m {
            let diag = (d[i - 1][j - 1].0 + sub(i, j), d[i - 1][j - 1].1);
            let del = (d[i - 1][j].0 + 1, d[i - 1][j].1 + 1);
            let ins = (d[i][j - 1].0 + 1, d[i][j - 1].1);
            d[i][j] = diag.min(del).min(ins);
        }
    }
    let mut kept = vec![(0usize, 0usize); sentences.len()];
    let mut right = 0;
    let (mut i, mut j) = (n, m);
    while i > 0 {
        let s = words[i - 1].0;
        if j > 0 && d[i][j] == (d[i - 1][j - 1].0 + sub(i, j), d[i - 1][j - 1].1) {
            kept[s] = (kept[s].0 + 1, kept[s].1 + 1);
            right += 1 - sub(i, j);
            i -= 1;
            j -= 1;
        } else if d[i][j] == (d[i - 1][j].0 + 1, d[i - 1][j].1 + 1) {
            kept[s].1 += 1;
            i -= 1;
        } else {
            j -= 1;
        }
    }
    (kept, right)
}

/// `hotline transcribe --format json` of `samples` written as a WAV file.
fn transcribe_json(samples: &[f32], extra: &[&str]) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("voicemail.wav");
    std::fs::write(&wav, support::wav::pcm16(16_000, samples)).unwrap();
    let mut args = vec!["--lang", "pl", "--format", "json"];
    args.extend(extra);
    serde_json::from_str(transcribe_cli(&args, &[wav]).trim()).unwrap()
}

/// Every sentence keeps at least 90 % of its words and the text is mostly
/// right.
fn assert_every_sentence_kept(clips: &[&str], json: &serde_json::Value) {
    let sentences: Vec<String> = clips.iter().map(|c| reference(c)).collect();
    let text = json["text"].as_str().unwrap();
    let (kept, right) = kept_per_sentence(&sentences, text);
    for (s, (k, n)) in sentences.iter().zip(&kept) {
        assert!(
            *k as f64 >= 0.9 * *n as f64,
            "{k} of {n} words kept of {s:?} in {text:?}\n{json:#}"
        );
    }
    let total: usize = kept.iter().map(|k| k.1).sum();
    assert!(
        right as f64 >= 0.75 * total as f64,
        "{right} of {total} words right: {text:?}"
    );
}

const SENTENCES: [&str; 8] = [
    "pl/pl_neon_001.wav",
    "pl/pl_art_005.wav",
    "pl/pl_neon_002.wav",
    "pl/pl_art_007.wav",
    "pl/pl_neon_003.wav",
    "pl/pl_art_001.wav",
    "pl/pl_neon_004.wav",
    "pl/pl_art_008.wav",
];

#[test]
fn a_voicemail_with_pauses_keeps_every_sentence_in_order_and_in_time() {
    let _one_at_a_time = exclusive();
    let pauses = [1.2, 2.5, 1.0, 6.0, 1.5, 3.5, 1.0, 4.5, 1.3];
    let (samples, spans) = voicemail::assemble(&SENTENCES, &pauses);
    assert!(samples.len() > 45 * 16_000, "voicemail-length");
    let json = transcribe_json(&samples, &[]);
    assert_every_sentence_kept(&SENTENCES, &json);
    // Segment times are in the recording's timeline, over the speech.
    let audio_ms = samples.len() as i64 / 16;
    for seg in json["segments"].as_array().unwrap() {
        let (a, b) = (
            seg["start_ms"].as_i64().unwrap(),
            seg["end_ms"].as_i64().unwrap(),
        );
        assert!(0 <= a && a < b && b <= audio_ms, "{seg}");
        assert!(
            spans.iter().any(|&(s, e)| a < e + 500 && b > s - 500),
            "segment {a}–{b} ms over no spoken span {spans:?}"
        );
    }
    // Nothing was left unclear, and the pieces are listed.
    assert_eq!(json["unclear"], serde_json::json!([]), "{json:#}");
    assert!(json["chunks"].as_array().unwrap().len() >= 2, "{json:#}");
    assert!(json["coverage"]["decoded_ms"].as_u64().unwrap() > 0);
}

#[test]
fn speech_after_a_long_pause_past_30_seconds_is_transcribed() {
    let _one_at_a_time = exclusive();
    // The first half ends at about 20 s; the second follows a 5 s pause and
    // runs past 30 s (whisper.cpp alone skipped such a second half).
    let clips = &SENTENCES[..7];
    let pauses = [0.8, 1.0, 2.0, 1.5, 5.0, 1.0, 1.2, 1.0];
    let (samples, spans) = voicemail::assemble(clips, &pauses);
    assert!(spans[4].0 > 15_000 && samples.len() > 30 * 16_000);
    let json = transcribe_json(&samples, &[]);
    assert_every_sentence_kept(clips, &json);
    let last = json["segments"].as_array().unwrap().last().unwrap().clone();
    assert!(last["end_ms"].as_i64().unwrap() > spans[6].0, "{json:#}");
}

#[test]
fn two_minutes_of_silence_or_line_noise_are_no_speech() {
    let _one_at_a_time = exclusive();
    for (name, samples) in [
        ("silence", silence(120.0)),
        (
            "line noise",
            mix(&pink_noise(120.0, 0.05, 21), &hum(120.0, 0.02)),
        ),
    ] {
        let json = transcribe_json(&samples, &[]);
        assert_eq!(json["text"], "", "{name}: {json:#}");
        assert!(json["no_speech"].is_string(), "{name}: {json:#}");
        assert_eq!(json["segments"], serde_json::json!([]), "{name}");
        // Nothing was decoded: the whole recording is accounted skipped.
        assert_eq!(json["coverage"]["decoded_ms"], 0, "{name}: {json:#}");
    }
}

/// A sentence the guards reject (here: made a "known hallucination" by the
/// prompts) is listed with its time span and reason, never dropped unseen.
#[test]
fn speech_whose_text_a_guard_rejects_is_listed_with_its_span() {
    let _one_at_a_time = exclusive();
    let prompts = voicemail::prompts_blocking("Ile to kosztuje");
    let (samples, spans) = voicemail::with_a_blocked_sentence();
    let dir = prompts.path().to_str().unwrap();
    let json = transcribe_json(&samples, &["--prompts", dir]);
    let text = normalize(json["text"].as_str().unwrap());
    assert!(!text.contains("ile to kosztuje"), "{json:#}");
    let (rejected_start, rejected_end) = spans[1];
    let unclear = json["unclear"].as_array().unwrap();
    assert!(
        unclear.iter().any(|u| {
            u["start_ms"].as_i64().unwrap() < rejected_end
                && u["end_ms"].as_i64().unwrap() > rejected_start
                && u["reason"].as_str().unwrap().contains("hallucination")
        }),
        "the rejected sentence is not listed as unclear: {json:#}"
    );
    // Every unclear stretch is explained: a rejected piece around it, or a
    // dropped segment there with the same reason.
    let overlaps = |x: &serde_json::Value, u: &serde_json::Value| {
        x["start_ms"].as_i64() < u["end_ms"].as_i64()
            && x["end_ms"].as_i64() > u["start_ms"].as_i64()
    };
    for u in unclear {
        let piece = json["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["rejected"].is_string() && overlaps(c, u));
        let segment = json["dropped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["reason"] == u["reason"] && overlaps(d, u));
        assert!(piece || segment, "nothing explains {u}: {json:#}");
    }
    assert!(json["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["reason"] == "known hallucination phrase"));
    // The other sentences are there.
    assert!(
        text.contains("średnica") && text.contains("przewodów"),
        "{text}"
    );
}
