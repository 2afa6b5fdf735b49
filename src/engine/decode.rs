//! One piece of a recording through whisper.cpp: the decoding parameters,
//! the word-list bias, and what whisper.cpp did with it (segments, windows
//! encoded, temperature fallbacks, the no-speech probability).

use std::os::raw::c_void;

use whisper_rs::{FullParams, SamplingStrategy, WhisperState};

use super::{lexicon, AudioCtx, Engine, EngineError, Search, Segment};
use crate::domain::Language;

extern "C" {
    /// Defined in the vendored whisper.cpp (PATCHES.md).
    fn whisper_hotline_n_fallbacks(state: *mut whisper_rs_sys::whisper_state) -> i32;
}

/// What whisper.cpp made of one piece.
#[derive(Debug, Default)]
pub struct Piece {
    /// Segments with times relative to the piece's start.
    pub segments: Vec<Segment>,
    /// P(no speech) over the last window encoded (see [`Engine::no_speech_prob`]).
    pub no_speech_prob: Option<f32>,
    /// 30 s windows encoded: more than one when whisper.cpp moved on
    /// inside the piece.
    pub windows: u32,
    /// Decodings redone at a higher temperature.
    pub fallbacks: u32,
}

/// Counts the windows whisper.cpp encodes and notes its fallback counter
/// before the first.
struct Windows {
    count: u32,
    state: *mut whisper_rs_sys::whisper_state,
    fallbacks_before: i32,
}

unsafe extern "C" fn on_encode(
    _ctx: *mut whisper_rs_sys::whisper_context,
    state: *mut whisper_rs_sys::whisper_state,
    data: *mut c_void,
) -> bool {
    // SAFETY: `data` is the `Windows` that `Engine::decode_piece` keeps
    // alive across the `full` call that invokes this; `state` is live then.
    let w = unsafe { &mut *(data as *mut Windows) };
    if w.count == 0 {
        w.state = state;
        w.fallbacks_before = unsafe { whisper_hotline_n_fallbacks(state) };
    }
    w.count += 1;
    true
}

/// A text token of a segment, with whisper.cpp's estimate of its time.
struct TokenText {
    bytes: Vec<u8>,
    /// Centiseconds from the start of the piece.
    t0: i64,
    t1: i64,
    plog: f32,
}

/// A segment's tokens cut after each token that ends a sentence ('.', '?',
/// '!', '…'): with the initial prompt, whisper.cpp often writes a whole
/// window as one segment, and the guards, the coverage check and the
/// agents' click-to-seek work sentence by sentence.
fn sentences(tokens: &[TokenText]) -> Vec<&[TokenText]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        let text = String::from_utf8_lossy(&t.bytes);
        let ends = text.trim_end().ends_with(['.', '?', '!', '…']);
        // "ul. Długa": an abbreviation's dot is followed by more of the
        // sentence in the same token run, so only a dot before a token that
        // starts a new word with a capital (or the end) counts.
        let next_starts_sentence = tokens.get(i + 1).is_none_or(|n| {
            let next = String::from_utf8_lossy(&n.bytes);
            next.starts_with(' ')
                && next
                    .trim_start()
                    .chars()
                    .next()
                    .is_some_and(char::is_uppercase)
        });
        if ends && next_starts_sentence && i + 1 > start {
            out.push(&tokens[start..=i]);
            start = i + 1;
        }
    }
    if start < tokens.len() {
        out.push(&tokens[start..]);
    }
    out
}

impl Engine {
    /// Decodes `samples` (one piece, at most a few 30 s windows) with the
    /// language forced, on `threads` CPU threads.
    pub(super) fn decode_piece(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        language: Language,
        threads: usize,
    ) -> Result<Piece, EngineError> {
        let strategy = match self.cfg.search {
            Search::Greedy => SamplingStrategy::Greedy { best_of: 1 },
            Search::Beam(n) => SamplingStrategy::BeamSearch {
                beam_size: i32::from(n.max(1)),
                patience: -1.0,
            },
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(threads.max(1) as i32);
        let written = self.written_language(language);
        params.set_language(Some(written.code()));
        params.set_detect_language(false);
        params.set_translate(false);
        params.set_no_context(true);
        params.set_no_timestamps(!self.cfg.timestamps);
        // Per-token times, to cut long segments into sentences.
        params.set_token_timestamps(self.cfg.timestamps);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_temperature(0.0);
        params.set_temperature_inc(if self.cfg.temperature_fallback {
            0.2
        } else {
            0.0
        });
        params.set_no_speech_thold(self.cfg.thresholds.no_speech);
        params.set_logprob_thold(self.cfg.thresholds.logprob);
        params.set_entropy_thold(self.cfg.thresholds.entropy);
        if let AudioCtx::Fit { margin_ms } = self.cfg.audio_ctx {
            let ms = samples.len() as u64 * 1000 / 16_000 + u64::from(margin_ms);
            // 50 encoder positions per second; past ~30 s the full window is used.
            let ctx = (ms * 50).div_ceil(1000);
            if ctx < 1500 {
                params.set_audio_ctx(ctx as i32);
            }
        }
        if self.cfg.use_prompt {
            if let Some(prompt) = self.cfg.prompts.initial.get(&language) {
                params.set_initial_prompt(prompt);
            }
        }
        let bias = self
            .lexicons
            .get(&written)
            .map(|lexicon| lexicon::LexiconBias {
                lexicon,
                tokens: &self.tokens,
                penalty: self.cfg.lexicon.penalty,
                window: self.cfg.lexicon.penalty + lexicon::WINDOW_MARGIN,
            });
        if let Some(bias) = &bias {
            // SAFETY: `bias` outlives `full` below, which is the only user
            // of the callback and its data.
            unsafe {
                params.set_filter_logits_callback(Some(lexicon::LexiconBias::callback));
                params.set_filter_logits_callback_user_data(
                    bias as *const lexicon::LexiconBias<'_> as *mut c_void,
                );
            }
        }
        let mut windows = Windows {
            count: 0,
            state: std::ptr::null_mut(),
            fallbacks_before: 0,
        };
        // SAFETY: `windows` outlives `full` below, the only caller.
        unsafe {
            params.set_start_encoder_callback(Some(on_encode));
            params
                .set_start_encoder_callback_user_data(&mut windows as *mut Windows as *mut c_void);
        }
        state
            .full(params, samples)
            .map_err(|e| EngineError::Whisper(e.to_string()))?;
        let fallbacks = if windows.state.is_null() {
            0
        } else {
            // SAFETY: the state is the one `full` ran on, still alive.
            let after = unsafe { whisper_hotline_n_fallbacks(windows.state) };
            u32::try_from(after - windows.fallbacks_before).unwrap_or(0)
        };
        let eot = self.ctx.token_eot();
        // whisper.cpp ends a last segment that has no closing timestamp at
        // its 30 s window; segments are kept within the piece.
        let audio_ms = samples.len() as i64 * 1000 / i64::from(crate::audio::WHISPER_RATE);
        let no_speech_prob = self.no_speech_prob(state, threads);
        let mut segments = Vec::new();
        for seg in state.as_iter() {
            let tokens: Vec<TokenText> = (0..seg.n_tokens())
                .filter_map(|i| seg.get_token(i))
                .filter(|t| t.token_id() < eot)
                .map(|t| {
                    let data = t.token_data();
                    TokenText {
                        bytes: t.to_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
                        t0: data.t0,
                        t1: data.t1,
                        plog: data.plog,
                    }
                })
                .collect();
            let (seg_start, seg_end) = (seg.start_timestamp(), seg.end_timestamp());
            for sentence in sentences(&tokens) {
                // Token times (centiseconds) are whisper.cpp's estimate
                // within the segment; the segment's own bound the first and
                // last sentence.
                let first = sentence.first().map_or(seg_start, |t| t.t0);
                let last = sentence.last().map_or(seg_end, |t| t.t1);
                let start = if std::ptr::eq(sentence.as_ptr(), tokens.as_ptr()) {
                    seg_start
                } else {
                    first.clamp(seg_start, seg_end)
                };
                let end = if sentence.as_ptr_range().end == tokens.as_ptr_range().end {
                    seg_end
                } else {
                    last.clamp(start, seg_end)
                };
                let bytes: Vec<u8> = sentence
                    .iter()
                    .flat_map(|t| t.bytes.iter().copied())
                    .collect();
                // A letter split across byte tokens that the next token did
                // not finish is invalid UTF-8: it is left out, not shown as "�".
                let text = String::from_utf8_lossy(&bytes).replace('\u{FFFD}', "");
                let avg_logprob =
                    sentence.iter().map(|t| t.plog).sum::<f32>() / sentence.len().max(1) as f32;
                segments.push(Segment {
                    start_ms: (start * 10).min(audio_ms),
                    end_ms: (end * 10).min(audio_ms),
                    text: super::guard::collapse_repeats(text.trim()),
                    avg_logprob,
                    no_speech_prob: no_speech_prob.unwrap_or(0.0),
                    unclear: None,
                });
            }
        }
        Ok(Piece {
            segments,
            no_speech_prob,
            windows: windows.count,
            fallbacks,
        })
    }

    /// An English-only model writes English whatever the caller chose.
    pub(super) fn written_language(&self, language: Language) -> Language {
        if self.multilingual {
            language
        } else {
            Language::En
        }
    }

    /// P(no-speech) as OpenAI computes it: the model's prediction right
    /// after start-of-transcript, over the window just encoded. (whisper.cpp
    /// reports it one position later, where it is always close to zero.)
    fn no_speech_prob(&self, state: &mut WhisperState, threads: usize) -> Option<f32> {
        state
            .decode(&[self.ctx.token_sot()], 0, threads.max(1))
            .ok()?;
        let logits = state.get_logits().ok()?;
        let nosp = usize::try_from(self.ctx.token_nosp()).ok()?;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
        logits.get(nosp).map(|l| (l - max).exp() / sum)
    }
}
