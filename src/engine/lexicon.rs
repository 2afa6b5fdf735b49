//! Lexicon bias: a word list steers Whisper's beam search towards real
//! words (shallow fusion of a lexicon into the decoder).
//!
//! The base model often hears a word right and spells it wrong: "węty
//! latora" for "wentylatora", "rodzicera zwiedli" for "rodzice rozwiedli",
//! "зайніки" for "зайняті". At every decoding step whisper.cpp hands its
//! logits to [`LexiconBias`], which lowers by a fixed penalty the
//! competitive tokens that would start a word no word in the lexicon begins
//! with, or end a word that is not in it. The penalty is soft: a name or a
//! word the list lacks still wins when the audio is clear, at the cost of
//! the penalty once per word.
//!
//! Words are matched lower-cased, with `’`/`ʼ` as `'`, over the UTF-8 bytes
//! of an [`fst::Set`]: Whisper's byte-level tokens may split a letter, and a
//! prefix walk over bytes needs no decoding until a word ends. Digits end
//! a word; numbers and single letters are never judged.

use std::ffi::{c_int, c_void};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use fst::raw::{Fst, Node};
use whisper_rs_sys::whisper_token_data;

#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("cannot read word list {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("lexicon file {path} is not a word set: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("cannot write lexicon {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Logit penalty per unknown word, chosen on the dev set, its phone-line
/// and its noisy copies (docs/BENCHMARKS.md).
pub const DEFAULT_PENALTY: f32 = 5.0;

/// Largest penalty accepted: beyond it the word list all but forbids
/// names it lacks.
pub const MAX_PENALTY: f32 = 20.0;

/// Tokens this far below the best (beyond the penalty) are not judged: at
/// e^-4 they do not reach the beam.
pub const WINDOW_MARGIN: f32 = 4.0;

/// Debian's word lists (packages `wpolish`, `wukrainian`, `wbritish`).
pub fn default_word_lists() -> std::collections::HashMap<crate::domain::Language, PathBuf> {
    use crate::domain::Language;
    [
        (Language::Pl, "/usr/share/dict/polish"),
        (Language::Uk, "/usr/share/dict/ukrainian"),
        (Language::En, "/usr/share/dict/british-english"),
    ]
    .into_iter()
    .map(|(l, p)| (l, PathBuf::from(p)))
    .collect()
}

/// One language's words: one or more sets (the system dictionary, the
/// city's own words), a word counts if any set has it.
#[derive(Default)]
pub struct Lexicon {
    sets: Vec<fst::Set<Vec<u8>>>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("words", &self.len())
            .finish()
    }
}

/// Letters of a word: alphabetic characters and apostrophes (Ukrainian
/// "з'єднання", English "don't"). Digits are not: "12b" is a number and a
/// letter, and a word cannot hide behind a digit ("Alci50").
fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '\'' | '’' | 'ʼ')
}

/// The form words are stored and looked up in.
fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if matches!(c, '’' | 'ʼ') { '\'' } else { c })
        .collect()
}

/// Words of a line of text, folded; hyphenated words give their parts.
fn words_of(line: &str) -> impl Iterator<Item = String> + '_ {
    line.split(|c: char| !is_word_char(c))
        .filter(|w| w.chars().any(char::is_alphabetic))
        .map(fold)
}

/// A set from words (any order, repeats allowed).
fn build_set(words: impl IntoIterator<Item = String>) -> fst::Set<Vec<u8>> {
    let mut words: Vec<String> = words.into_iter().collect();
    words.sort_unstable();
    words.dedup();
    // Sorted and unique: `from_iter` cannot fail on that input.
    fst::Set::from_iter(words).unwrap_or_default()
}

/// A set from a word list file. The words are kept in one buffer and
/// sorted by span, not as one `String` each: Polish has 4.3 million.
fn build_set_from_file(path: &Path) -> Result<fst::Set<Vec<u8>>, LexiconError> {
    let read = |source| LexiconError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut arena: Vec<u8> = Vec::new();
    let mut spans: Vec<(u32, u32)> = Vec::new();
    let too_big = || LexiconError::Format {
        path: path.to_owned(),
        reason: "word list larger than 4 GiB".to_owned(),
    };
    for line in std::io::BufReader::new(file).lines() {
        for word in words_of(&line.map_err(read)?) {
            let start = u32::try_from(arena.len()).map_err(|_| too_big())?;
            arena.extend_from_slice(word.as_bytes());
            spans.push((start, word.len() as u32));
        }
    }
    let key = |&(start, len): &(u32, u32)| &arena[start as usize..(start + len) as usize];
    spans.sort_unstable_by(|a, b| key(a).cmp(key(b)));
    spans.dedup_by(|a, b| key(a) == key(b));
    let mut builder = fst::SetBuilder::memory();
    for span in &spans {
        builder
            .insert(key(span))
            .map_err(|e| LexiconError::Format {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
    }
    Ok(builder.into_set())
}

/// The compiled form of a word list, in `dir`, built now if it is missing
/// or older than the list. Returns its path.
pub fn compile(word_list: &Path, dir: &Path) -> Result<PathBuf, LexiconError> {
    let name = word_list
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "words".to_owned());
    let out = dir.join(format!("{name}.fst"));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let source = modified(word_list).ok_or_else(|| LexiconError::Read {
        path: word_list.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "word list not found"),
    })?;
    if modified(&out).is_some_and(|built| built >= source) {
        return Ok(out);
    }
    let started = std::time::Instant::now();
    let set = build_set_from_file(word_list)?;
    let write = |source| LexiconError::Write {
        path: out.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write)?;
    // Several processes may compile at once (test binaries, a server and a
    // worker): each writes its own file and the rename is atomic.
    let tmp = out.with_extension(format!("{}.partial", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, set.as_fst().as_bytes()).map_err(write)?;
    std::fs::rename(&tmp, &out).map_err(write)?;
    tracing::info!(
        word_list = %word_list.display(),
        words = set.len(),
        bytes = set.as_fst().as_bytes().len(),
        ms = started.elapsed().as_millis() as u64,
        "lexicon compiled"
    );
    Ok(out)
}

impl Lexicon {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the words of a text (any number of words per line: street
    /// names, a prompt, a short list).
    pub fn add_text(&mut self, text: &str) {
        self.sets.push(build_set(text.lines().flat_map(words_of)));
    }

    /// Adds a set compiled by [`compile`].
    pub fn add_compiled(&mut self, path: &Path) -> Result<(), LexiconError> {
        let bytes = std::fs::read(path).map_err(|source| LexiconError::Read {
            path: path.to_owned(),
            source,
        })?;
        let set = fst::Set::new(bytes).map_err(|e| LexiconError::Format {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        self.sets.push(set);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.sets.iter().map(|s| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `word` (any case) is a word.
    pub fn contains(&self, word: &str) -> bool {
        self.judge(&fold(word), true)
    }

    /// Whether some word starts with `prefix` (any case).
    pub fn is_prefix(&self, prefix: &str) -> bool {
        self.judge(&fold(prefix), false)
    }

    /// Whether a folded word is whole (`whole`) or begins some word.
    fn judge(&self, folded: &str, whole: bool) -> bool {
        self.sets
            .iter()
            .any(|s| walk(s.as_fst(), folded.as_bytes()).is_some_and(|n| !whole || n.is_final()))
    }

    /// How many words of `text` fail: whole words not in the lexicon, a
    /// last, unfinished word no word begins with, and broken UTF-8. Bytes
    /// of a letter split at the end of `text` wait for the next token.
    fn failures(&self, text: &[u8]) -> u32 {
        let mut failures = 0;
        let mut word = String::new();
        // A single letter is never judged: "w", "z", a house number's "b".
        let close = |word: &mut String, whole: bool| {
            let fails = word.chars().nth(1).is_some() && !self.judge(&fold(word), whole);
            word.clear();
            u32::from(fails)
        };
        let mut chunks = text.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            for c in chunk.valid().chars() {
                if is_word_char(c) {
                    word.push(c);
                } else {
                    failures += close(&mut word, true);
                }
            }
            // Bytes that can never form a letter (a split letter the next
            // token did not finish) fail on their own and end the word.
            let incomplete_tail = chunks.peek().is_none();
            if !chunk.invalid().is_empty() && !incomplete_tail {
                failures += close(&mut word, true) + 1;
            }
        }
        failures + close(&mut word, false)
    }
}

fn walk<'f>(fst: &'f Fst<Vec<u8>>, key: &[u8]) -> Option<Node<'f>> {
    let mut node = fst.root();
    for &b in key {
        let i = node.find_input(b)?;
        node = fst.node(node.transition(i).addr);
    }
    Some(node)
}

/// The model's text tokens as bytes, for the bias to spell candidates.
pub struct TokenTable {
    /// Text tokens: ids below `<|endoftext|>`.
    bytes: Vec<Box<[u8]>>,
    /// First timestamp token.
    beg: usize,
    n_vocab: usize,
}

impl TokenTable {
    pub fn new(ctx: &whisper_rs::WhisperContext) -> Self {
        let eot = ctx.token_eot().max(0);
        let bytes = (0..eot)
            .map(|id| ctx.token_to_bytes(id).map(Box::from).unwrap_or_default())
            .collect();
        Self::from_parts(
            bytes,
            usize::try_from(ctx.token_beg()).unwrap_or(0),
            usize::try_from(ctx.n_vocab()).unwrap_or(0),
        )
    }

    /// A vocabulary of `text` tokens (ids `0..text.len()`; the next id is
    /// end-of-text), timestamps from `beg`, `n_vocab` ids in all.
    pub fn from_parts(text: Vec<Box<[u8]>>, beg: usize, n_vocab: usize) -> Self {
        Self {
            beg: beg.max(text.len()),
            n_vocab: n_vocab.max(text.len() + 1),
            bytes: text,
        }
    }

    fn eot(&self) -> usize {
        self.bytes.len()
    }
}

/// Longest word the bias looks back over, in tokens.
const MAX_WORD_TOKENS: usize = 24;

/// The decoder hook: one per transcription, borrowed by whisper.cpp for
/// the duration of `whisper_full`.
pub struct LexiconBias<'a> {
    pub lexicon: &'a Lexicon,
    pub tokens: &'a TokenTable,
    /// Subtracted from a token's logit per failing word it makes.
    pub penalty: f32,
    /// Only tokens within this of the best logit are judged; the rest
    /// cannot reach the beam.
    pub window: f32,
}

impl LexiconBias<'_> {
    /// The unfinished word the decoded text ends with (raw bytes; empty
    /// after a space, punctuation or a timestamp).
    fn partial(&self, sequence: &[i32]) -> Vec<u8> {
        let mut tail: Vec<&[u8]> = Vec::new();
        for &id in sequence.iter().rev().take(MAX_WORD_TOKENS) {
            let Some(bytes) = usize::try_from(id)
                .ok()
                .and_then(|id| self.tokens.bytes.get(id))
            else {
                break;
            };
            tail.push(bytes);
            let starts_word = bytes
                .first()
                .is_some_and(|&b| b.is_ascii() && !(b.is_ascii_alphabetic() || b == b'\''));
            if starts_word {
                break;
            }
        }
        let text: Vec<u8> = tail.iter().rev().flat_map(|b| b.iter().copied()).collect();
        // The bytes after the last character that is not part of a word.
        let mut start = 0;
        let mut pos = 0;
        for chunk in text.utf8_chunks() {
            for c in chunk.valid().chars() {
                pos += c.len_utf8();
                if !is_word_char(c) {
                    start = pos;
                }
            }
            pos += chunk.invalid().len();
        }
        text[start..].to_vec()
    }

    /// Lowers the logits of the tokens that would make a failing word,
    /// given the tokens decoded so far in this window.
    pub fn apply(&self, sequence: &[i32], logits: &mut [f32]) {
        let n = logits.len().min(self.tokens.n_vocab);
        let logits = &mut logits[..n];
        let best = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if !best.is_finite() {
            return;
        }
        let floor = best - self.window;
        let partial = self.partial(sequence);
        let base = self.lexicon.failures(&partial);
        let mut text = partial.clone();
        let mut cost = |extra: &[u8]| {
            text.truncate(partial.len());
            text.extend_from_slice(extra);
            self.lexicon.failures(&text).saturating_sub(base) as f32 * self.penalty
        };
        for (logit, bytes) in logits.iter_mut().zip(&self.tokens.bytes) {
            if *logit >= floor {
                *logit -= cost(bytes);
            }
        }
        // End of text and timestamps end the word too.
        let end = cost(b" ");
        if end > 0.0 {
            let eot = self.tokens.eot();
            for (id, logit) in logits.iter_mut().enumerate().skip(eot) {
                if id == eot || id >= self.tokens.beg {
                    *logit -= end;
                }
            }
        }
    }

    /// The C callback for `whisper_full_params.logits_filter_callback`.
    ///
    /// # Safety
    /// `user_data` must point to a live `LexiconBias`, `tokens` to
    /// `n_tokens` token records and `logits` to the model's vocabulary of
    /// logits, as whisper.cpp passes them.
    pub unsafe extern "C" fn callback(
        _ctx: *mut whisper_rs_sys::whisper_context,
        _state: *mut whisper_rs_sys::whisper_state,
        tokens: *const whisper_token_data,
        n_tokens: c_int,
        logits: *mut f32,
        user_data: *mut c_void,
    ) {
        if user_data.is_null() || logits.is_null() {
            return;
        }
        // SAFETY: the caller passes a live bias, `n_tokens` records and a
        // vocabulary of logits (see above).
        let bias = unsafe { &*(user_data as *const LexiconBias<'_>) };
        let records = match usize::try_from(n_tokens) {
            Ok(n) if n > 0 && !tokens.is_null() => unsafe { std::slice::from_raw_parts(tokens, n) },
            _ => &[],
        };
        let logits = unsafe { std::slice::from_raw_parts_mut(logits, bias.tokens.n_vocab) };
        let start = records.len().saturating_sub(MAX_WORD_TOKENS);
        let sequence: Vec<i32> = records[start..].iter().map(|t| t.id).collect();
        // A panic must not unwind into C++; a failed step is left unbiased.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            bias.apply(&sequence, logits)
        }));
    }
}
