//! The speech gate in front of Whisper. Whisper invents text on silence,
//! line noise and tones ("Napisy stworzone przez społeczność Amara.org"), so
//! a recording must show speech before it is decoded at all.
//!
//! Per 64 ms frame (20 ms hop), over the telephone band 100–3800 Hz:
//! - energy, against an absolute floor and the clip's own noise floor;
//! - spectral flatness: hiss and line noise are flat, voiced speech is not;
//! - periodicity (normalised autocorrelation at a pitch lag of 70–400 Hz):
//!   voiced speech is periodic, noise is not;
//! - harmonic peaks: a voice has many partials, a DTMF digit two, a dial
//!   tone one, a synthesiser chord three;
//! - pitch movement between voiced frames: a voice glides all the time,
//!   a note of hold music holds its pitch.
//!
//! A clip is speech when it has enough voiced, harmonic frames and their
//! pitch moves like a voice.

use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

const RATE: f32 = 16_000.0;
const FRAME: usize = 1024;
const HOP: usize = 320;
const HOP_MS: usize = 20;
const BIN_HZ: f32 = RATE / FRAME as f32;
const BAND: (usize, usize) = ((100.0 / BIN_HZ) as usize, (3800.0 / BIN_HZ) as usize);
const MIN_LAG: usize = (RATE / 400.0) as usize;
const MAX_LAG: usize = (RATE / 70.0) as usize;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct GateConfig {
    /// Frames quieter than this never count as speech (dBFS).
    pub abs_floor_dbfs: f32,
    /// Frames must be this far above the clip's noise floor (dB).
    pub above_floor_db: f32,
    /// Flatter frames are noise.
    pub max_flatness: f32,
    /// Periodicity a voiced frame needs (0–1).
    pub min_periodicity: f32,
    /// Frames with fewer harmonic peaks are tones.
    pub min_peaks: usize,
    /// Voiced, harmonic frames needed (ms).
    pub min_voiced_ms: u32,
    /// Share of voiced frame pairs whose pitch holds within 0.6 % above
    /// which the "voice" is an instrument.
    pub max_steady_share: f32,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            abs_floor_dbfs: -50.0,
            above_floor_db: 6.0,
            max_flatness: 0.35,
            min_periodicity: 0.45,
            min_peaks: 4,
            min_voiced_ms: 200,
            max_steady_share: 0.7,
        }
    }
}

/// What the gate measured on a clip.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GateReport {
    pub frames: usize,
    /// Voiced frames with a voice-like spectrum (ms).
    pub voiced_ms: u32,
    /// Periodic frames with too few partials to be a voice (ms).
    pub tonal_ms: u32,
    pub peak_dbfs: f32,
    pub noise_floor_dbfs: f32,
    /// Share of consecutive voiced frames whose pitch did not move.
    pub steady_share: f32,
    /// Why the clip is not speech, or `None` if it is.
    pub rejected: Option<String>,
}

impl GateReport {
    pub fn is_speech(&self) -> bool {
        self.rejected.is_none()
    }
}

/// What one frame (64 ms, every 20 ms) of a recording holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameActivity {
    /// Level (dBFS).
    pub db: f32,
    /// Above the noise floor by the gate's margin (and the absolute floor).
    pub loud: bool,
    /// Voiced with a voice's spectrum (what the gate counts as speech).
    pub voiced: bool,
}

/// A recording frame by frame: frame `i` starts at `i * HOP_MS` ms.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub frames: Vec<FrameActivity>,
    /// Length of the recording (16 kHz samples).
    pub samples: usize,
}

impl Activity {
    /// Milliseconds between frame starts.
    pub const HOP_MS: u32 = HOP_MS as u32;
    /// Milliseconds one frame covers.
    pub const FRAME_MS: u32 = (FRAME * 1000 / RATE as usize) as u32;

    pub fn duration_ms(&self) -> u32 {
        (self.samples as u64 * 1000 / RATE as u64) as u32
    }

    /// Voiced milliseconds whose frames start within `start_ms..end_ms`.
    pub fn voiced_ms(&self, start_ms: u32, end_ms: u32) -> u32 {
        let (a, b) = self.frame_range(start_ms, end_ms);
        self.frames[a..b].iter().filter(|f| f.voiced).count() as u32 * Self::HOP_MS
    }

    /// Frames whose start lies within `start_ms..end_ms`.
    pub fn frame_range(&self, start_ms: u32, end_ms: u32) -> (usize, usize) {
        let n = self.frames.len();
        let a = (start_ms.div_ceil(Self::HOP_MS) as usize).min(n);
        let b = (end_ms.div_ceil(Self::HOP_MS) as usize).clamp(a, n);
        (a, b)
    }
}

#[derive(Debug)]
struct Frame {
    db: f32,
    flatness: f32,
    periodicity: f32,
    /// Pitch period in samples (interpolated).
    lag: f32,
    peaks: usize,
}

pub struct Gate {
    cfg: GateConfig,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
}

impl Gate {
    pub fn new(cfg: GateConfig) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        // Zero-padded to twice the frame so the autocorrelation is linear.
        let forward = planner.plan_fft_forward(2 * FRAME);
        let inverse = planner.plan_fft_inverse(2 * FRAME);
        let window = (0..FRAME)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / FRAME as f32).cos())
            .collect();
        Self {
            cfg,
            forward,
            inverse,
            window,
        }
    }

    /// Analyses 16 kHz mono samples.
    pub fn analyse(&self, samples: &[f32]) -> GateReport {
        self.analyse_frames(samples).0
    }

    /// Analyses 16 kHz mono samples and tells, frame by frame, where the
    /// sound rises above the noise floor and where it is voiced: what the
    /// engine cuts a long recording at.
    pub fn analyse_frames(&self, samples: &[f32]) -> (GateReport, Activity) {
        let frames = self.frames(samples);
        let peak_dbfs = frames.iter().map(|f| f.db).fold(-120.0, f32::max);
        let noise_floor_dbfs = percentile(frames.iter().map(|f| f.db).collect(), 0.10);
        let threshold = self
            .cfg
            .abs_floor_dbfs
            .max(noise_floor_dbfs + self.cfg.above_floor_db);
        let periodic = |f: &Frame| {
            f.db >= threshold
                && f.flatness <= self.cfg.max_flatness
                && f.periodicity >= self.cfg.min_periodicity
        };
        let voiced: Vec<Option<&Frame>> = frames
            .iter()
            .map(|f| (periodic(f) && f.peaks >= self.cfg.min_peaks).then_some(f))
            .collect();
        let n_voiced = voiced.iter().flatten().count();
        let n_tonal = frames
            .iter()
            .filter(|f| periodic(f) && f.peaks < self.cfg.min_peaks)
            .count();
        let (mut pairs, mut steady) = (0usize, 0usize);
        for w in voiced.windows(2) {
            if let [Some(a), Some(b)] = w {
                pairs += 1;
                if (a.lag - b.lag).abs() / a.lag < 0.006 {
                    steady += 1;
                }
            }
        }
        let steady_share = if pairs == 0 {
            0.0
        } else {
            steady as f32 / pairs as f32
        };
        let voiced_ms = (n_voiced * HOP_MS) as u32;
        let rejected = if frames.is_empty() || peak_dbfs < self.cfg.abs_floor_dbfs {
            Some("silence".to_owned())
        } else if voiced_ms < self.cfg.min_voiced_ms {
            Some(format!(
                "no voice: {voiced_ms} ms voiced, {} ms tonal (noise, dial or DTMF tones)",
                n_tonal * HOP_MS
            ))
        } else if steady_share > self.cfg.max_steady_share {
            Some(format!(
                "steady pitch in {:.0}% of voiced frames (music or tones)",
                steady_share * 100.0
            ))
        } else {
            None
        };
        let activity = Activity {
            frames: frames
                .iter()
                .zip(&voiced)
                .map(|(f, v)| FrameActivity {
                    db: f.db,
                    loud: f.db >= threshold,
                    voiced: v.is_some(),
                })
                .collect(),
            samples: samples.len(),
        };
        let report = GateReport {
            frames: frames.len(),
            voiced_ms,
            tonal_ms: (n_tonal * HOP_MS) as u32,
            peak_dbfs,
            noise_floor_dbfs,
            steady_share,
            rejected,
        };
        (report, activity)
    }

    fn frames(&self, samples: &[f32]) -> Vec<Frame> {
        let mut input = self.forward.make_input_vec();
        let mut spectrum = self.forward.make_output_vec();
        let mut acf = self.inverse.make_output_vec();
        let mut out = Vec::with_capacity(samples.len() / HOP + 1);
        let mut start = 0;
        while start + FRAME <= samples.len() {
            let chunk = &samples[start..start + FRAME];
            start += HOP;
            let mean = chunk.iter().sum::<f32>() / FRAME as f32;
            let energy = chunk.iter().map(|s| (s - mean) * (s - mean)).sum::<f32>() / FRAME as f32;
            let db = 10.0 * (energy + 1e-12).log10();
            input.iter_mut().for_each(|x| *x = 0.0);
            for ((x, s), w) in input.iter_mut().zip(chunk).zip(&self.window) {
                *x = (s - mean) * w;
            }
            if self.forward.process(&mut input, &mut spectrum).is_err() {
                break;
            }
            // Power in the band, at the frame's own resolution (every 2nd bin
            // of the zero-padded transform).
            let power: Vec<f32> = (BAND.0..=BAND.1)
                .map(|b| spectrum[2 * b].norm_sqr() + 1e-12)
                .collect();
            let flatness = flatness(&power);
            let peaks = peaks(&power);
            // Autocorrelation of the band-limited frame = inverse FFT of its power.
            let lo = 2 * BAND.0;
            let hi = 2 * BAND.1;
            for (i, c) in spectrum.iter_mut().enumerate() {
                let p = if (lo..=hi).contains(&i) {
                    c.norm_sqr()
                } else {
                    0.0
                };
                *c = realfft::num_complex::Complex::new(p, 0.0);
            }
            let (periodicity, lag) =
                if self.inverse.process(&mut spectrum, &mut acf).is_ok() && acf[0] > 0.0 {
                    pitch(&acf)
                } else {
                    (0.0, 0.0)
                };
            out.push(Frame {
                db,
                flatness,
                periodicity,
                lag,
                peaks,
            });
        }
        out
    }
}

/// Strongest normalised autocorrelation peak in the pitch range, and its
/// lag refined by parabolic interpolation.
fn pitch(acf: &[f32]) -> (f32, f32) {
    let r0 = acf[0];
    let mut best = (0.0f32, 0usize);
    for lag in MIN_LAG..=MAX_LAG.min(acf.len() - 2) {
        let r = acf[lag] / r0;
        if r > best.0 && acf[lag] >= acf[lag - 1] && acf[lag] >= acf[lag + 1] {
            best = (r, lag);
        }
    }
    if best.1 == 0 {
        return (0.0, 0.0);
    }
    let (a, b, c) = (acf[best.1 - 1], acf[best.1], acf[best.1 + 1]);
    let denom = a - 2.0 * b + c;
    let shift = if denom.abs() > 1e-12 {
        0.5 * (a - c) / denom
    } else {
        0.0
    };
    (best.0, best.1 as f32 + shift.clamp(-0.5, 0.5))
}

fn flatness(power: &[f32]) -> f32 {
    let n = power.len() as f32;
    let log_mean = power.iter().map(|p| p.ln()).sum::<f32>() / n;
    let mean = power.iter().sum::<f32>() / n;
    log_mean.exp() / mean
}

/// Prominent local maxima within 25 dB of the strongest bin.
fn peaks(power: &[f32]) -> usize {
    let max = power.iter().copied().fold(0.0, f32::max);
    let floor = max * 10f32.powf(-2.5);
    power
        .windows(5)
        .filter(|w| w[2] > floor && w[2] > w[1] && w[2] >= w[3] && w[2] > 2.0 * w[0].max(w[4]))
        .count()
}

fn percentile(mut v: Vec<f32>, q: f32) -> f32 {
    if v.is_empty() {
        return -120.0;
    }
    v.sort_by(f32::total_cmp);
    v[((v.len() - 1) as f32 * q).round() as usize]
}
