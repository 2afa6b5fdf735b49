//! The decoder's lexicon: word lists compiled and looked up, and the bias
//! it puts on Whisper's next-token logits, on a small made-up vocabulary
//! (the real model's effect is in tests/transcribe.rs).

use std::path::Path;

use hotline::domain::Language;
use hotline::engine::lexicon::{compile, Lexicon, LexiconBias, LexiconError, TokenTable};

fn lexicon_of(dir: &Path, words: &str) -> Lexicon {
    let list = dir.join("words");
    std::fs::write(&list, words).unwrap();
    let mut lex = Lexicon::new();
    lex.add_compiled(&compile(&list, &dir.join("compiled")).unwrap())
        .unwrap();
    lex
}

#[test]
fn a_word_list_compiles_to_a_set_matched_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let lex = lexicon_of(
        dir.path(),
        "Kraków\nkraków\nwentylatora\n\nbiało-czerwony\nз’єднання\ndon't\n",
    );
    // Kraków once, the hyphenated word as its two parts.
    assert_eq!(lex.len(), 6);
    for word in ["Kraków", "KRAKÓW", "kraków", "biało", "czerwony", "don't"] {
        assert!(lex.contains(word), "{word}");
    }
    // Both apostrophes Whisper writes are the one the list has.
    assert!(lex.contains("з'єднання") && lex.contains("з’єднання"));
    assert!(lex.is_prefix("Krak") && lex.is_prefix("wenty") && lex.is_prefix(""));
    assert!(!lex.contains("Krak") && !lex.contains("wenty"));
    assert!(!lex.is_prefix("węty") && !lex.contains("biało-czerwony"));
}

#[test]
fn a_compiled_list_is_reused_until_the_list_changes() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("polish");
    let out = dir.path().join("cache");
    std::fs::write(&list, "latarnia\n").unwrap();
    let compiled = compile(&list, &out).unwrap();
    assert_eq!(compiled, out.join("polish.fst"));
    let built = std::fs::metadata(&compiled).unwrap().modified().unwrap();
    assert_eq!(compile(&list, &out).unwrap(), compiled);
    assert_eq!(
        std::fs::metadata(&compiled).unwrap().modified().unwrap(),
        built,
        "an up-to-date set is not rebuilt"
    );

    std::fs::write(&list, "latarnia\nchodnik\n").unwrap();
    let later = built + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&list)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let mut lex = Lexicon::new();
    lex.add_compiled(&compile(&list, &out).unwrap()).unwrap();
    assert!(lex.contains("chodnik"), "a newer list is compiled again");
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn missing_and_broken_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = compile(&dir.path().join("nope"), dir.path()).unwrap_err();
    assert!(matches!(err, LexiconError::Read { .. }), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");

    let junk = dir.path().join("junk.fst");
    std::fs::write(&junk, b"not a set at all").unwrap();
    let err = Lexicon::new().add_compiled(&junk).unwrap_err();
    assert!(matches!(err, LexiconError::Format { .. }), "{err}");
}

/// Token ids of the made-up vocabulary; end of text is `TOKENS.len()`,
/// timestamps start two later.
const TOKENS: &[&[u8]] = &[
    b" w",          // 0
    b"ent",         // 1
    "ę".as_bytes(), // 2
    b"y",           // 3
    b"latora",      // 4
    b" latora",     // 5
    b" Ile",        // 6
    b".",           // 7
    b"50",          // 8
    b" Al",         // 9
    b" we",         // 10
    b"j",           // 11
    b"\xc5",        // 12: first byte of "ś"
    b"\x9bcie",     // 13: the rest of "ście"
    b"\x9bx",       // 14
    b" kosztuje",   // 15
];
const EOT: usize = TOKENS.len();
const BEG: usize = EOT + 2;
const N_VOCAB: usize = BEG + 3;
const PENALTY: f32 = 5.0;

fn table() -> TokenTable {
    TokenTable::from_parts(
        TOKENS.iter().map(|t| Box::<[u8]>::from(*t)).collect(),
        BEG,
        N_VOCAB,
    )
}

/// What the bias takes off each token's logit after `sequence`, all
/// logits starting level.
fn costs(lex: &Lexicon, sequence: &[i32]) -> Vec<f32> {
    let tokens = table();
    let bias = LexiconBias {
        lexicon: lex,
        tokens: &tokens,
        penalty: PENALTY,
        window: PENALTY + 4.0,
    };
    let mut logits = vec![0.0; N_VOCAB];
    bias.apply(sequence, &mut logits);
    logits.iter().map(|l| -l).collect()
}

fn words(dir: &Path) -> Lexicon {
    lexicon_of(dir, "wentylatora\nile\nkosztuje\nwejście\n")
}

#[test]
fn tokens_that_start_or_end_a_word_the_lexicon_lacks_are_penalised() {
    let dir = tempfile::tempdir().unwrap();
    let lex = words(dir.path());

    // " w": "went" may become a word, "wę" cannot; " latora" would start
    // a word nothing begins with. A single letter is never judged.
    let c = costs(&lex, &[0]);
    assert_eq!((c[1], c[2], c[5]), (0.0, PENALTY, PENALTY));
    assert_eq!(c[EOT], 0.0, "\"w\" alone may end");

    // " w" "ent" "y": "latora" completes the word; " latora" would leave
    // "wenty" unfinished and start a non-word: two failures. Ending the
    // text or a segment here leaves "wenty" unfinished.
    let c = costs(&lex, &[0, 1, 3]);
    assert_eq!(c[4], 0.0);
    assert_eq!(c[5], 2.0 * PENALTY);
    assert_eq!(c[EOT], PENALTY);
    assert!(c[BEG..].iter().all(|&x| x == PENALTY));
    assert_eq!(
        c[EOT + 1],
        0.0,
        "only end of text and timestamps end a word"
    );

    // After "wentylatora" anything may follow.
    let c = costs(&lex, &[0, 1, 3, 4]);
    assert_eq!((c[7], c[15], c[EOT]), (0.0, 0.0, 0.0));
}

#[test]
fn a_letter_split_across_tokens_is_judged_once_it_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let lex = words(dir.path());
    // " we" "j" + the first byte of "ś": nothing to judge yet.
    assert_eq!(costs(&lex, &[10, 11])[12], 0.0);
    // ... + the rest: "wejście" is fine, "wejśx" is not.
    let c = costs(&lex, &[10, 11, 12]);
    assert_eq!((c[13], c[14]), (0.0, PENALTY));
    // A token that leaves the letter broken ("wej\xc5.") fails twice: the
    // broken byte, and "wej" ended by it.
    assert_eq!(c[7], 2.0 * PENALTY);
}

#[test]
fn digits_end_a_word_and_are_never_judged_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let lex = words(dir.path());
    // "Ile" in any case, then a number.
    let c = costs(&lex, &[]);
    assert_eq!((c[6], c[15]), (0.0, 0.0));
    assert_eq!(costs(&lex, &[6])[8], 0.0);
    // A non-word pays once, where it starts, not again behind a digit.
    assert_eq!(costs(&lex, &[])[9], PENALTY);
    assert_eq!(costs(&lex, &[9])[8], 0.0);
}

#[test]
fn only_competitive_tokens_are_judged() {
    let dir = tempfile::tempdir().unwrap();
    let lex = words(dir.path());
    let tokens = table();
    let bias = LexiconBias {
        lexicon: &lex,
        tokens: &tokens,
        penalty: PENALTY,
        window: 3.0,
    };
    let mut logits = vec![0.0; N_VOCAB];
    logits[2] = -10.0; // "ę", far behind the best
    logits[5] = -1.0; // " latora", close behind
    bias.apply(&[0], &mut logits);
    assert_eq!(logits[2], -10.0);
    assert_eq!(logits[5], -1.0 - PENALTY);
    // A vocabulary without a finite logit is left alone.
    let mut dead = vec![f32::NEG_INFINITY; N_VOCAB];
    bias.apply(&[0], &mut dead);
    assert!(dead.iter().all(|l| *l == f32::NEG_INFINITY));
}

#[test]
fn a_config_file_replaces_word_lists_one_language_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hotline.toml");
    std::fs::write(
        &file,
        "[model]\nlexicon_penalty = 3.5\n\n[model.word_lists]\npl = \"/srv/kck/slownik.txt\"\nen = \"\"\n",
    )
    .unwrap();
    let cfg = hotline::config::Config::load(Some(&file)).unwrap();
    let engine = hotline::app::engine_config(&cfg).unwrap();
    let lists = &engine.lexicon.word_lists;
    assert_eq!(engine.lexicon.penalty, 3.5);
    assert_eq!(lists[&Language::Pl], Path::new("/srv/kck/slownik.txt"));
    assert_eq!(lists[&Language::Uk], Path::new("/usr/share/dict/ukrainian"));
    assert_eq!(lists[&Language::En], Path::new(""));

    std::fs::write(&file, "[model]\nlexicon_penalty = 40\n").unwrap();
    let err = hotline::config::Config::load(Some(&file)).unwrap_err();
    assert!(err.to_string().contains("lexicon_penalty"), "{err}");
}
