//! A recording decoded chunk by chunk, as [`super::chunks`] plans it, so no
//! sentence is lost silently.
//!
//! Each chunk is decoded on its own and judged on its own: the guards drop
//! invented segments, OpenAI's no-speech rule rejects a chunk whose text is
//! likely invented. Then the chunk's voiced speech is checked against the
//! times of the text kept: speech whisper.cpp skipped (it moves past the
//! rest of a window whose text ends early) is decoded again on its own.
//! Voiced speech that still has no text is *unclear*: listed with its time
//! span and reason, for the agent to listen to.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use whisper_rs::WhisperState;

use super::chunks::{Chunk, Plan, Span};
use super::decode::Piece;
use super::gate::Activity;
use super::guard::Guard;
use super::{ChunkReport, Dropped, Engine, EngineError, PieceKind, Segment, Unclear};
use crate::domain::Language;
use crate::prompts::normalize;

/// Whisper's timestamps are this loose: speech this close to kept text
/// counts as covered by it (ms).
const COVER_TOLERANCE_MS: u32 = 1_000;
/// Uncovered voiced speech shorter than this is not decoded again (ms).
const MIN_UNCOVERED_VOICED_MS: u32 = 800;
/// Chunks with less voice than this get no marker when they yield no text:
/// a cough or a breath is not a lost sentence (ms).
const MIN_MARKED_VOICED_MS: u32 = 500;
/// Audio kept around speech decoded again (ms).
const RETRY_PAD_MS: u32 = 300;

/// What the chunks gave.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    pub segments: Vec<Segment>,
    pub dropped: Vec<Dropped>,
    pub unclear: Vec<Unclear>,
    pub chunks: Vec<ChunkReport>,
}

impl Engine {
    /// Decodes the planned chunks (in parallel lanes when there are several),
    /// judges them in order, decodes again the speech their text missed, and
    /// marks what stays without text.
    pub(super) fn decode_chunks(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        activity: &Activity,
        plan: &Plan,
        language: Language,
    ) -> Result<Decoded, EngineError> {
        let spans: Vec<Span> = plan.chunks.iter().map(|c| c.span).collect();
        let pieces = self.decode_spans(state, samples, &spans, language)?;
        let mut guard = Guard::new(&self.cfg.prompts, language, self.cfg.use_prompt);
        let mut out = Decoded::default();
        let mut gaps = Vec::new();
        for (chunk, piece) in plan.chunks.iter().zip(pieces) {
            let first = out.segments.len();
            let first_dropped = out.dropped.len();
            judge(
                self,
                piece,
                chunk.span,
                PieceKind::Chunk,
                &mut guard,
                &mut out,
            );
            mark_rejected_speech(activity, &mut out, first, first_dropped);
            let mut covered: Vec<Span> = out.segments[first..]
                .iter()
                .map(|s| Span {
                    start_ms: u32::try_from(s.start_ms).unwrap_or(0),
                    end_ms: u32::try_from(s.end_ms).unwrap_or(0),
                })
                .collect();
            if covered.is_empty() {
                // A chunk that kept nothing is marked as a whole below.
                continue;
            }
            covered.extend(out.unclear.iter().map(Unclear::span));
            gaps.extend(uncovered(activity, chunk, &covered).into_iter().map(|gap| {
                let span = Span {
                    start_ms: gap
                        .start_ms
                        .saturating_sub(RETRY_PAD_MS)
                        .max(chunk.span.start_ms),
                    end_ms: (gap.end_ms + RETRY_PAD_MS).min(chunk.span.end_ms),
                };
                (gap, span)
            }));
        }
        let retry_spans: Vec<Span> = gaps.iter().map(|(_, span)| *span).collect();
        let retried = self.decode_spans(state, samples, &retry_spans, language)?;
        for ((gap, span), piece) in gaps.into_iter().zip(retried) {
            let before = out.segments.len();
            judge(self, piece, span, PieceKind::Retry, &mut guard, &mut out);
            if out.segments.len() == before {
                out.unclear.push(Unclear::new(gap, last_reason(&out)));
            }
        }
        for chunk in &plan.chunks {
            let kept_any = out.segments.iter().any(|s| {
                s.start_ms < i64::from(chunk.span.end_ms)
                    && s.end_ms > i64::from(chunk.span.start_ms)
            });
            if kept_any || chunk.voiced_ms() < MIN_MARKED_VOICED_MS {
                continue;
            }
            let speech = Span {
                start_ms: chunk
                    .regions
                    .first()
                    .map_or(chunk.span.start_ms, |r| r.span.start_ms),
                end_ms: chunk
                    .regions
                    .last()
                    .map_or(chunk.span.end_ms, |r| r.span.end_ms),
            };
            if !out.unclear.iter().any(|u| u.span().overlaps(&speech)) {
                out.unclear
                    .push(Unclear::new(speech, chunk_reason(&out, chunk)));
            }
        }
        out.segments.sort_by_key(|s| s.start_ms);
        out.unclear.sort_by_key(|u| u.start_ms);
        Ok(out)
    }

    /// Decodes each span. On a quiet machine one piece at a time on every
    /// thread. When anything else wants the cores, in lanes of one thread
    /// and one whisper.cpp state each: pieces of one recording are
    /// independent (no text carries over), and lanes never wait for each
    /// other, where the threads of one decoding meet at a barrier after
    /// every graph node, and on shared cores each barrier waits for a thread
    /// the scheduler has set aside (2 threads took 1.7x faster-whisper's
    /// time beside two busy processes; lanes 0.9x). Lanes cost a state each
    /// (about 170 MB), which is why a quiet machine does without them.
    fn decode_spans(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        spans: &[Span],
        language: Language,
    ) -> Result<Vec<Piece>, EngineError> {
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        let threads = self.cfg.threads.max(1);
        let others = if threads > 1 && self.cfg.lanes == 0 {
            super::load::others_runnable()
        } else {
            None
        };
        let busy = others.is_some_and(|n| n > 0);
        let lanes = match self.cfg.lanes {
            0 if busy => threads,
            0 => 1,
            n => n,
        };
        let lanes = lanes.min(threads).min(spans.len()).max(1);
        // One piece on a busy machine: one thread, no barriers to wait at.
        let per_lane = if busy && self.cfg.lanes == 0 {
            1
        } else {
            (threads / lanes).max(1)
        };
        tracing::debug!(
            pieces = spans.len(),
            ?others,
            lanes,
            per_lane,
            "pieces over the cores"
        );
        if lanes == 1 {
            return spans
                .iter()
                .map(|&span| {
                    self.decode_piece(state, &piece_samples(samples, span), language, per_lane)
                })
                .collect();
        }
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<Piece, EngineError>>>> =
            Mutex::new((0..spans.len()).map(|_| None).collect());
        let lane = |state: &mut WhisperState| loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&span) = spans.get(i) else {
                break;
            };
            let piece = self.decode_piece(state, &piece_samples(samples, span), language, per_lane);
            if let Ok(mut r) = results.lock() {
                r[i] = Some(piece);
            }
        };
        let tracing_span = tracing::Span::current();
        std::thread::scope(|scope| -> Result<(), EngineError> {
            let mut helpers = Vec::new();
            for _ in 1..lanes {
                let mut helper_state = self.take_state()?;
                let (lane, tracing_span) = (&lane, tracing_span.clone());
                helpers.push(scope.spawn(move || {
                    tracing_span.in_scope(|| lane(&mut helper_state));
                    helper_state
                }));
            }
            lane(state);
            for h in helpers {
                match h.join() {
                    Ok(s) => self.return_state(s),
                    Err(_) => return Err(EngineError::Task("a decoding lane panicked".into())),
                }
            }
            Ok(())
        })?;
        results
            .into_inner()
            .map_err(|_| EngineError::Task("a decoding lane panicked".into()))?
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(EngineError::Task("a piece was not decoded".into()))))
            .collect()
    }
}

/// The samples of `span`, padded with silence to what whisper.cpp decodes.
fn piece_samples(samples: &[f32], span: Span) -> Cow<'_, [f32]> {
    let a = (span.start_ms as usize * 16).min(samples.len());
    // A span to the end of the recording (in whole ms) takes its last
    // samples too.
    let b = match span.end_ms as usize * 16 {
        b if b + 16 > samples.len() => samples.len(),
        b => b.max(a),
    };
    if b - a < super::MIN_SAMPLES {
        Cow::Owned([&samples[a..b], &vec![0.0; super::MIN_SAMPLES - (b - a)]].concat())
    } else {
        Cow::Borrowed(&samples[a..b])
    }
}

/// Judges one decoded piece of `span`: keeps or drops its segments (in the
/// recording's timeline) and records it.
fn judge(
    engine: &Engine,
    piece: Piece,
    span: Span,
    kind: PieceKind,
    guard: &mut Guard<'_>,
    out: &mut Decoded,
) {
    let offset = i64::from(span.start_ms);
    let end = i64::from(span.end_ms);
    // Text already kept elsewhere in the recording: a retried span whose
    // text whisper had written with wrong times.
    let known = (kind == PieceKind::Retry).then(|| {
        out.segments
            .iter()
            .map(|s| normalize(&s.text))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for mut seg in piece.segments {
        seg.start_ms = (seg.start_ms + offset).min(end);
        seg.end_ms = (seg.end_ms + offset).min(end);
        let norm = normalize(&seg.text);
        let reason = if known
            .as_ref()
            .is_some_and(|k| !norm.is_empty() && k.contains(&norm))
        {
            Some("already transcribed")
        } else {
            guard.judge(&seg.text)
        };
        match reason {
            Some(r) => dropped.push(Dropped::new(&seg, r)),
            None => kept.push(seg),
        }
    }
    // OpenAI's rule (likely no speech and a shaky decode), with the
    // no-speech probability measured where the model predicts it; plus
    // likely no speech and text that mostly repeats the initial prompt (the
    // prompt makes an invented decode look confident).
    let th = engine.cfg.thresholds;
    let avg_logprob = (!kept.is_empty())
        .then(|| kept.iter().map(|s| s.avg_logprob).sum::<f32>() / kept.len() as f32);
    let text = kept
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let echo = engine.cfg.use_prompt && guard.prompt_overlap(&text) >= 0.5;
    let silent = match (piece.no_speech_prob, avg_logprob) {
        (Some(p), Some(lp)) => p > th.no_speech && (lp < th.logprob || echo),
        _ => false,
    };
    let reason = if silent {
        let p = piece.no_speech_prob.unwrap_or_default();
        dropped.extend(
            kept.drain(..)
                .map(|s| Dropped::new(&s, "whisper no-speech probability")),
        );
        Some(format!("whisper no-speech probability {p:.2}"))
    } else if kept.is_empty() {
        Some(match dropped.first() {
            None => "whisper found no speech".to_owned(),
            Some(d) => format!("only hallucinated text ({})", d.reason),
        })
    } else {
        None
    };
    out.chunks.push(ChunkReport {
        kind,
        start_ms: offset,
        end_ms: end,
        windows: piece.windows,
        fallbacks: piece.fallbacks,
        no_speech_prob: piece.no_speech_prob,
        segments: kept.len(),
        dropped: dropped.len(),
        rejected: reason,
    });
    out.segments.extend(kept);
    out.dropped.extend(dropped);
}

/// Why the last piece decoded kept nothing.
fn last_reason(out: &Decoded) -> String {
    out.chunks
        .last()
        .and_then(|c| c.rejected.clone())
        .unwrap_or_else(|| "whisper found no speech".to_owned())
}

/// Why a chunk kept nothing: its own piece's reason.
fn chunk_reason(out: &Decoded, chunk: &Chunk) -> String {
    out.chunks
        .iter()
        .rev()
        .find(|c| c.kind == PieceKind::Chunk && c.start_ms == i64::from(chunk.span.start_ms))
        .and_then(|c| c.rejected.clone())
        .unwrap_or_else(|| "whisper found no speech".to_owned())
}

/// Segments of a chunk that a guard rejected (from `first_dropped` on) over
/// voiced speech that the text kept (from `first` on) does not cover: the
/// caller said something there that is not in the text. Marked unclear,
/// with the guard's reason. (Repeats and empty segments are not: their
/// words are there.)
fn mark_rejected_speech(
    activity: &Activity,
    out: &mut Decoded,
    first: usize,
    first_dropped: usize,
) {
    let marks: Vec<Unclear> = out.dropped[first_dropped..]
        .iter()
        .filter(|d| !matches!(d.reason.as_str(), "empty" | "repeats the previous segment"))
        .filter_map(|d| {
            let span = Span {
                start_ms: u32::try_from(d.start_ms).ok()?,
                end_ms: u32::try_from(d.end_ms).ok()?,
            };
            let covered_by_text = out.segments[first..]
                .iter()
                .any(|s| s.start_ms <= d.start_ms && s.end_ms >= d.end_ms);
            (!covered_by_text
                && activity.voiced_ms(span.start_ms, span.end_ms) >= MIN_MARKED_VOICED_MS)
                .then(|| Unclear::new(span, d.reason.clone()))
        })
        .collect();
    for m in marks {
        if !out.unclear.iter().any(|u| u.span().overlaps(&m.span())) {
            out.unclear.push(m);
        }
    }
}

/// Stretches of the chunk's speech outside `covered` (the text kept and
/// what is already marked unclear, within [`COVER_TOLERANCE_MS`]) that
/// hold enough voice to be words.
fn uncovered(activity: &Activity, chunk: &Chunk, covered: &[Span]) -> Vec<Span> {
    let hop = Activity::HOP_MS;
    let covered = |ms: u32| {
        let tol = COVER_TOLERANCE_MS;
        covered
            .iter()
            .any(|s| ms + tol >= s.start_ms && ms < s.end_ms + tol)
    };
    let mut gaps: Vec<Span> = Vec::new();
    for region in &chunk.regions {
        let (a, b) = activity.frame_range(region.span.start_ms, region.span.end_ms);
        for i in a..b {
            let ms = i as u32 * hop;
            if covered(ms) {
                continue;
            }
            match gaps.last_mut() {
                // Join stretches a short pause apart.
                Some(g) if ms <= g.end_ms + COVER_TOLERANCE_MS => g.end_ms = ms + hop,
                _ => gaps.push(Span {
                    start_ms: ms,
                    end_ms: ms + hop,
                }),
            }
        }
    }
    gaps.retain(|g| activity.voiced_ms(g.start_ms, g.end_ms) >= MIN_UNCOVERED_VOICED_MS);
    gaps
}
