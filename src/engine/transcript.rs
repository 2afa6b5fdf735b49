//! What the engine returns: the text, its segments with times, what the
//! guards dropped and why, speech left unclear, and per-piece coverage.

use super::chunks::{self, Span};
use super::gate::{self, GateReport};
use super::longform;
use crate::domain::Language;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    pub avg_logprob: f32,
    pub no_speech_prob: f32,
    /// Speech that yielded no text (the text is empty): why. Only in
    /// [`Transcript::timeline`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unclear: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Timings {
    pub audio_ms: u64,
    pub gate_ms: u64,
    pub detect_ms: u64,
    pub whisper_ms: u64,
    pub total_ms: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Transcript {
    pub text: String,
    /// The text, segment by segment, in the recording's timeline.
    pub segments: Vec<Segment>,
    pub language: Language,
    /// Detection probability (auto mode only).
    pub language_probability: Option<f32>,
    pub model_id: String,
    /// Why there is no text, if there is none.
    pub no_speech: Option<String>,
    /// Segments the guards removed, with the reason.
    pub dropped: Vec<Dropped>,
    /// Speech heard but not written (a marker for the agent).
    pub unclear: Vec<Unclear>,
    /// The pieces decoded, in order.
    pub chunks: Vec<ChunkReport>,
    /// How much of the recording was decoded, skipped or left unclear.
    pub coverage: Coverage,
    pub gate: GateReport,
    pub avg_logprob: Option<f32>,
    /// Lowest probability of Whisper's no-speech token over the pieces
    /// decoded (measured at the start of each).
    pub no_speech_prob: Option<f32>,
    pub timings: Timings,
}

/// A segment the guards removed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Dropped {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    pub reason: String,
}

impl Dropped {
    pub(super) fn new(seg: &Segment, reason: &str) -> Self {
        Self {
            start_ms: seg.start_ms,
            end_ms: seg.end_ms,
            text: seg.text.clone(),
            reason: reason.to_owned(),
        }
    }
}

/// Voiced speech that yielded no text that passed the guards.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unclear {
    pub start_ms: i64,
    pub end_ms: i64,
    pub reason: String,
}

impl Unclear {
    pub(super) fn new(span: Span, reason: String) -> Self {
        Self {
            start_ms: i64::from(span.start_ms),
            end_ms: i64::from(span.end_ms),
            reason,
        }
    }

    pub(super) fn span(&self) -> Span {
        Span {
            start_ms: u32::try_from(self.start_ms).unwrap_or(0),
            end_ms: u32::try_from(self.end_ms).unwrap_or(0),
        }
    }
}

/// Whether a piece is a planned chunk or speech of one decoded again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PieceKind {
    Chunk,
    /// Voiced speech of the chunk before that its text did not cover.
    Retry,
}

/// One piece whisper.cpp decoded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChunkReport {
    pub kind: PieceKind,
    pub start_ms: i64,
    pub end_ms: i64,
    /// 30 s windows encoded.
    pub windows: u32,
    /// Decodings redone at a higher temperature.
    pub fallbacks: u32,
    pub no_speech_prob: Option<f32>,
    /// Segments kept and dropped.
    pub segments: usize,
    pub dropped: usize,
    /// Why nothing was kept, if nothing was.
    pub rejected: Option<String>,
}

/// What became of the recording's audio.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Coverage {
    /// Audio inside the chunks decoded (ms).
    pub decoded_ms: u32,
    /// Audio between the chunks: pauses, silence and noise (ms).
    pub skipped_ms: u32,
    /// Loud stretches without a voice among the skipped audio.
    pub noise: Vec<Span>,
    /// Voiced speech left without text (ms).
    pub unclear_ms: u32,
    /// Windows encoded and temperature fallbacks over all pieces.
    pub windows: u32,
    pub fallbacks: u32,
    /// Pieces decoded again because their speech had no text.
    pub retries: u32,
}

impl Coverage {
    pub(super) fn of(
        activity: &gate::Activity,
        plan: &chunks::Plan,
        d: &longform::Decoded,
    ) -> Self {
        let decoded_ms: u32 = plan.chunks.iter().map(|c| c.span.len_ms()).sum();
        Self {
            decoded_ms,
            skipped_ms: activity.duration_ms().saturating_sub(decoded_ms),
            noise: plan.noise.iter().map(|r| r.span).collect(),
            unclear_ms: d.unclear.iter().map(|u| u.span().len_ms()).sum(),
            windows: d.chunks.iter().map(|c| c.windows).sum(),
            fallbacks: d.chunks.iter().map(|c| c.fallbacks).sum(),
            retries: d
                .chunks
                .iter()
                .filter(|c| c.kind == PieceKind::Retry)
                .count() as u32,
        }
    }
}

impl Transcript {
    pub fn has_speech(&self) -> bool {
        self.no_speech.is_none()
    }

    /// The segments and the unclear stretches between them, in the
    /// recording's order: what the agent sees and clicks through.
    pub fn timeline(&self) -> Vec<Segment> {
        let mut all: Vec<Segment> = self.segments.clone();
        all.extend(self.unclear.iter().map(|u| Segment {
            start_ms: u.start_ms,
            end_ms: u.end_ms,
            text: String::new(),
            avg_logprob: 0.0,
            no_speech_prob: 0.0,
            unclear: Some(u.reason.clone()),
        }));
        all.sort_by_key(|s| s.start_ms);
        all
    }
}
