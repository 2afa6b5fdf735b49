//! Cutting a voicemail into pieces Whisper decodes whole.
//!
//! Whisper reads 30 s windows, and whisper.cpp moves through a longer
//! recording by the timestamps it decodes: a window whose text ends early
//! ("single timestamp ending") is skipped to its end, so a caller who pauses
//! to think can lose the sentences after the pause without a trace. hotline
//! therefore plans the windows itself, from the speech gate's frames: speech
//! regions (loud frames with voice in them, short gaps closed), padded, and
//! packed into chunks of at most [`ChunkConfig::max_chunk_ms`] that start
//! and end in pauses (a recording that fits in one chunk is decoded whole). Every chunk is decoded on its own, with its times kept
//! in the recording's timeline; what lies between chunks is silence or
//! noise without a voice, and is listed, never dropped unseen.
//!
//! Pure functions of the gate's frames: tested without a model.

use super::gate::Activity;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ChunkConfig {
    /// Quieter stretches shorter than this do not end a speech region (ms).
    pub min_gap_ms: u32,
    /// Audio kept before and after each region (ms).
    pub pad_ms: u32,
    /// Longest chunk (ms); Whisper's window is 30 s.
    pub max_chunk_ms: u32,
    /// A pause at least this long ends a chunk even when the next region
    /// would fit (ms).
    pub split_pause_ms: u32,
    /// Loud stretches with less voice than this are noise (ms).
    pub min_voiced_ms: u32,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self {
            min_gap_ms: 300,
            pad_ms: 300,
            max_chunk_ms: 28_000,
            split_pause_ms: u32::MAX,
            min_voiced_ms: 100,
        }
    }
}

/// A stretch of the recording, in ms from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub start_ms: u32,
    pub end_ms: u32,
}

impl Span {
    pub fn len_ms(&self) -> u32 {
        self.end_ms.saturating_sub(self.start_ms)
    }

    pub fn overlaps(&self, other: &Span) -> bool {
        self.start_ms < other.end_ms && other.start_ms < self.end_ms
    }
}

/// A speech region: loud frames with voice among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub span: Span,
    pub voiced_ms: u32,
}

/// One piece to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub span: Span,
    /// The speech regions inside it (unpadded).
    pub regions: Vec<Region>,
}

impl Chunk {
    pub fn voiced_ms(&self) -> u32 {
        self.regions.iter().map(|r| r.voiced_ms).sum()
    }
}

/// How a recording is cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub chunks: Vec<Chunk>,
    /// Loud stretches without enough voice (clicks, bumps, line noise):
    /// not decoded, but listed.
    pub noise: Vec<Region>,
}

/// Plans the chunks of a recording from its frames.
pub fn plan(activity: &Activity, cfg: &ChunkConfig) -> Plan {
    let hop = Activity::HOP_MS;
    let total = activity.duration_ms();
    // Runs of loud frames, with short gaps closed.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let gap_frames = (cfg.min_gap_ms / hop) as usize;
    for (i, f) in activity.frames.iter().enumerate() {
        if !f.loud {
            continue;
        }
        match runs.last_mut() {
            Some((_, end)) if i <= *end + gap_frames => *end = i + 1,
            _ => runs.push((i, i + 1)),
        }
    }
    let mut plan = Plan::default();
    let mut regions = Vec::new();
    for (a, b) in runs {
        let voiced = activity.frames[a..b].iter().filter(|f| f.voiced).count() as u32 * hop;
        let span = Span {
            start_ms: a as u32 * hop,
            end_ms: ((b - 1) as u32 * hop + Activity::FRAME_MS).min(total),
        };
        let region = Region {
            span,
            voiced_ms: voiced,
        };
        if voiced >= cfg.min_voiced_ms {
            regions.push(region);
        } else {
            plan.noise.push(region);
        }
    }
    // A recording that fits one window is decoded whole, as it came.
    let long_pause = regions
        .windows(2)
        .any(|w| w[1].span.start_ms - w[0].span.end_ms >= cfg.split_pause_ms);
    if total <= cfg.max_chunk_ms && !regions.is_empty() && !long_pause {
        plan.chunks.push(Chunk {
            span: Span {
                start_ms: 0,
                end_ms: total,
            },
            regions,
        });
        return plan;
    }
    // Regions longer than a chunk are cut at their quietest frame.
    let regions: Vec<Region> = regions
        .into_iter()
        .flat_map(|r| split_long(activity, r, cfg.max_chunk_ms.saturating_sub(2 * cfg.pad_ms)))
        .collect();
    // Padding: up to pad_ms, never past half the pause to a neighbour.
    let padded: Vec<Span> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let before = match i.checked_sub(1).map(|j| regions[j].span.end_ms) {
                Some(prev) => (r.span.start_ms.saturating_sub(prev)) / 2,
                None => r.span.start_ms,
            };
            let after = match regions.get(i + 1) {
                Some(next) => next.span.start_ms.saturating_sub(r.span.end_ms) / 2,
                None => total.saturating_sub(r.span.end_ms),
            };
            Span {
                start_ms: r.span.start_ms - before.min(cfg.pad_ms),
                end_ms: r.span.end_ms + after.min(cfg.pad_ms),
            }
        })
        .collect();
    for (region, span) in regions.into_iter().zip(padded) {
        match plan.chunks.last_mut() {
            Some(chunk)
                if span.end_ms - chunk.span.start_ms <= cfg.max_chunk_ms
                    && region.span.start_ms - chunk_last_end(chunk) < cfg.split_pause_ms =>
            {
                chunk.span.end_ms = span.end_ms;
                chunk.regions.push(region);
            }
            _ => plan.chunks.push(Chunk {
                span,
                regions: vec![region],
            }),
        }
    }
    plan
}

fn chunk_last_end(chunk: &Chunk) -> u32 {
    chunk
        .regions
        .last()
        .map_or(chunk.span.end_ms, |r| r.span.end_ms)
}

/// Cuts a region longer than `max_ms` at the quietest frame of the last
/// half of each `max_ms`, so no piece exceeds it.
fn split_long(activity: &Activity, region: Region, max_ms: u32) -> Vec<Region> {
    let hop = Activity::HOP_MS;
    let max_ms = max_ms.max(2 * hop);
    let mut out = Vec::new();
    let mut start = region.span.start_ms;
    while region.span.end_ms - start > max_ms {
        let (a, b) = activity.frame_range(start + max_ms / 2, start + max_ms - hop);
        let cut = (a..b)
            .min_by(|&x, &y| activity.frames[x].db.total_cmp(&activity.frames[y].db))
            .map_or(start + max_ms, |i| i as u32 * hop);
        let span = Span {
            start_ms: start,
            end_ms: cut,
        };
        out.push(Region {
            span,
            voiced_ms: activity.voiced_ms(span.start_ms, span.end_ms),
        });
        start = cut;
    }
    let span = Span {
        start_ms: start,
        end_ms: region.span.end_ms,
    };
    out.push(Region {
        span,
        voiced_ms: activity.voiced_ms(span.start_ms, span.end_ms),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::super::gate::FrameActivity;
    use super::*;

    /// Frames from a pattern: '.' quiet, 'n' loud noise, 'v' voiced speech;
    /// each character is one 20 ms frame.
    fn activity(pattern: &str) -> Activity {
        let frames: Vec<FrameActivity> = pattern
            .chars()
            .map(|c| FrameActivity {
                db: match c {
                    '.' => -70.0,
                    _ => -20.0,
                },
                loud: c != '.',
                voiced: c == 'v',
            })
            .collect();
        // The recording ends where the last frame ends.
        let samples =
            (frames.len().saturating_sub(1) * 320 + 1024) * usize::from(!frames.is_empty());
        Activity { frames, samples }
    }

    fn repeat(c: char, ms: u32) -> String {
        std::iter::repeat_n(c, (ms / 20) as usize).collect()
    }

    #[test]
    fn silence_gives_no_chunk() {
        let p = plan(&activity(&repeat('.', 120_000)), &ChunkConfig::default());
        assert!(p.chunks.is_empty());
        assert!(p.noise.is_empty());
    }

    #[test]
    fn short_pauses_stay_inside_a_chunk_and_times_are_the_recordings() {
        // 1 s quiet, 2 s speech, 1 s pause, 3 s speech, 2 s quiet: one
        // chunk, the whole recording.
        let short = [
            repeat('.', 1000),
            repeat('v', 2000),
            repeat('.', 1000),
            repeat('v', 3000),
            repeat('.', 2000),
        ]
        .concat();
        let p = plan(&activity(&short), &ChunkConfig::default());
        assert_eq!(p.chunks.len(), 1);
        let c = &p.chunks[0];
        assert_eq!(c.regions.len(), 2);
        assert_eq!(c.regions[0].span.start_ms, 1000);
        assert_eq!(c.regions[1].span.start_ms, 4000);
        assert_eq!(c.span.start_ms, 0);
        assert_eq!(c.span.end_ms, activity(&short).duration_ms());
        assert_eq!(c.voiced_ms(), 5000);
        // Longer than a window: chunks padded by 300 ms around the speech.
        let long = [
            repeat('.', 1000),
            repeat('v', 20_000),
            repeat('.', 3000),
            repeat('v', 15_000),
            repeat('.', 2000),
        ]
        .concat();
        let p = plan(&activity(&long), &ChunkConfig::default());
        assert_eq!(p.chunks.len(), 2);
        assert_eq!(p.chunks[0].span.start_ms, 700);
        let end = p.chunks[0].regions[0].span.end_ms;
        assert_eq!(p.chunks[0].span.end_ms, end + 300);
        assert_eq!(p.chunks[1].span.start_ms, 24_000 - 300);
    }

    #[test]
    fn chunks_never_exceed_the_window_and_cut_in_pauses() {
        // Ten sentences of 6 s with 1.5 s pauses: 76 s.
        let mut pattern = repeat('.', 1000);
        for _ in 0..10 {
            pattern += &repeat('v', 6000);
            pattern += &repeat('.', 1500);
        }
        let a = activity(&pattern);
        let cfg = ChunkConfig::default();
        let p = plan(&a, &cfg);
        assert!(p.chunks.len() >= 3, "{} chunks", p.chunks.len());
        let mut regions = 0;
        for c in &p.chunks {
            assert!(c.span.len_ms() <= cfg.max_chunk_ms, "{:?}", c.span);
            // Every chunk starts and ends in a pause.
            for edge in [c.span.start_ms, c.span.end_ms.saturating_sub(20)] {
                let i = (edge / 20) as usize;
                assert!(
                    i >= a.frames.len() || !a.frames[i].voiced,
                    "cut at {edge} ms"
                );
            }
            regions += c.regions.len();
        }
        assert_eq!(regions, 10, "every sentence in exactly one chunk");
        for w in p.chunks.windows(2) {
            assert!(w[0].span.end_ms <= w[1].span.start_ms);
        }
    }

    #[test]
    fn a_long_pause_ends_a_chunk_when_asked() {
        let pattern = [repeat('v', 10_000), repeat('.', 5000), repeat('v', 10_000)].concat();
        let one = plan(&activity(&pattern), &ChunkConfig::default());
        assert_eq!(one.chunks.len(), 1);
        let cfg = ChunkConfig {
            split_pause_ms: 2000,
            ..Default::default()
        };
        let two = plan(&activity(&pattern), &cfg);
        assert_eq!(two.chunks.len(), 2);
        assert_eq!(two.chunks[1].regions[0].span.start_ms, 15_000);
    }

    #[test]
    fn unbroken_speech_is_cut_at_its_quietest_moment() {
        // 70 s of speech without a pause, a dip at 20 s and at 45 s.
        let mut a = activity(&repeat('v', 70_000));
        for dip in [1000usize, 2250] {
            a.frames[dip].db = -40.0;
        }
        let p = plan(&a, &ChunkConfig::default());
        assert!(p.chunks.len() >= 3);
        assert_eq!(p.chunks[0].regions[0].span.end_ms, 20_000);
        for c in &p.chunks {
            assert!(c.span.len_ms() <= 28_000);
        }
        let voiced: u32 = p.chunks.iter().map(Chunk::voiced_ms).sum();
        assert_eq!(voiced, 70_000, "nothing lost at the cuts");
    }

    #[test]
    fn loud_noise_without_voice_is_listed_not_decoded() {
        let pattern = [
            repeat('n', 400),
            repeat('.', 2000),
            repeat('v', 2000),
            repeat('.', 2000),
        ]
        .concat();
        let p = plan(&activity(&pattern), &ChunkConfig::default());
        assert_eq!(p.chunks.len(), 1);
        assert_eq!(p.noise.len(), 1);
        assert_eq!(p.noise[0].span.start_ms, 0);
        // Nothing but noise: nothing to decode.
        let p = plan(&activity(&repeat('n', 40_000)), &ChunkConfig::default());
        assert!(p.chunks.is_empty());
        assert_eq!(p.noise.len(), 1);
    }
}
