//! The speech gate in front of Whisper. Whisper invents text on silence,
//! line noise and tones ("Napisy stworzone przez społeczność Amara.org"), so
//! a recording must show speech before it is decoded at all.
//!
//! Per 32 ms frame (16 ms hop), over the telephone band 100–3800 Hz:
//! energy against an absolute floor and the clip's own noise floor;
//! spectral flatness (white/pink noise is flat, speech is not); the number
//! of spectral peaks (a DTMF digit has two, a pure tone one); and spectral
//! flux between frames (a held tone or a sustained note does not change,
//! speech changes all the time). A clip passes when enough frames are
//! speech-like *and* they keep changing.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

const FRAME: usize = 512;
const HOP: usize = 256;
const RATE: f32 = 16_000.0;
const BIN_HZ: f32 = RATE / FRAME as f32;
const BAND: (usize, usize) = ((100.0 / BIN_HZ) as usize, (3800.0 / BIN_HZ) as usize);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct GateConfig {
    /// Frames quieter than this never count as speech.
    pub abs_floor_dbfs: f32,
    /// Frames must be this far above the clip's noise floor.
    pub above_floor_db: f32,
    /// Flatter frames are noise.
    pub max_flatness: f32,
    /// Frames with fewer spectral peaks are tones.
    pub min_peaks: usize,
    /// Speech-like frames needed, in milliseconds.
    pub min_speech_ms: u32,
    /// Median spectral flux of speech-like frames needed.
    pub min_flux: f32,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            abs_floor_dbfs: -55.0,
            above_floor_db: 12.0,
            max_flatness: 0.30,
            min_peaks: 4,
            min_speech_ms: 250,
            min_flux: 0.12,
        }
    }
}

/// What the gate measured on a clip.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateReport {
    pub frames: usize,
    pub speech_ms: u32,
    pub peak_dbfs: f32,
    pub noise_floor_dbfs: f32,
    pub median_flux: f32,
    /// Why the clip is not speech, or `None` if it is.
    pub rejected: Option<&'static str>,
}

impl GateReport {
    pub fn is_speech(&self) -> bool {
        self.rejected.is_none()
    }
}

struct Frame {
    db: f32,
    flatness: f32,
    peaks: usize,
    /// Normalised log-spectrum over the band, for flux.
    shape: Vec<f32>,
}

pub struct Gate {
    cfg: GateConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
}

impl Gate {
    pub fn new(cfg: GateConfig) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FRAME);
        let window = (0..FRAME)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / FRAME as f32).cos())
            .collect();
        Self { cfg, fft, window }
    }

    /// Analyses 16 kHz mono samples.
    pub fn analyse(&self, samples: &[f32]) -> GateReport {
        let frames = self.frames(samples);
        let peak_dbfs = frames.iter().map(|f| f.db).fold(f32::NEG_INFINITY, f32::max);
        let noise_floor_dbfs = percentile(frames.iter().map(|f| f.db).collect(), 0.10);
        let threshold = self.cfg.abs_floor_dbfs.max(noise_floor_dbfs + self.cfg.above_floor_db);
        let active: Vec<usize> = (0..frames.len())
            .filter(|&i| {
                let f = &frames[i];
                f.db >= threshold && f.flatness <= self.cfg.max_flatness && f.peaks >= self.cfg.min_peaks
            })
            .collect();
        let speech_ms = (active.len() * HOP * 1000 / RATE as usize) as u32;
        let fluxes: Vec<f32> = active
            .iter()
            .filter(|&&i| i > 0)
            .map(|&i| flux(&frames[i - 1].shape, &frames[i].shape))
            .collect();
        let median_flux = percentile(fluxes, 0.5);
        let rejected = if frames.is_empty() || peak_dbfs < self.cfg.abs_floor_dbfs {
            Some("silence")
        } else if frames.iter().filter(|f| f.db >= threshold).count() * HOP * 1000 / (RATE as usize)
            < self.cfg.min_speech_ms as usize
        {
            Some("too little sound")
        } else if speech_ms < self.cfg.min_speech_ms {
            Some("noise or tones, no speech-like frames")
        } else if median_flux < self.cfg.min_flux {
            Some("steady tones, no changing speech spectrum")
        } else {
            None
        };
        GateReport {
            frames: frames.len(),
            speech_ms,
            peak_dbfs,
            noise_floor_dbfs,
            median_flux,
            rejected,
        }
    }

    fn frames(&self, samples: &[f32]) -> Vec<Frame> {
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut out = Vec::with_capacity(samples.len() / HOP);
        let mut start = 0;
        while start + FRAME <= samples.len() {
            let chunk = &samples[start..start + FRAME];
            let mean = chunk.iter().sum::<f32>() / FRAME as f32;
            let energy = chunk.iter().map(|s| (s - mean) * (s - mean)).sum::<f32>() / FRAME as f32;
            let db = 10.0 * (energy + 1e-12).log10();
            for ((x, s), w) in input.iter_mut().zip(chunk).zip(&self.window) {
                *x = (s - mean) * w;
            }
            if self.fft.process(&mut input, &mut spectrum).is_err() {
                break;
            }
            let power: Vec<f32> = spectrum[BAND.0..=BAND.1].iter().map(|c| c.norm_sqr() + 1e-12).collect();
            out.push(Frame {
                db,
                flatness: flatness(&power),
                peaks: peaks(&power),
                shape: shape(&power),
            });
            start += HOP;
        }
        out
    }
}

fn flatness(power: &[f32]) -> f32 {
    let n = power.len() as f32;
    let log_mean = power.iter().map(|p| p.ln()).sum::<f32>() / n;
    let mean = power.iter().sum::<f32>() / n;
    log_mean.exp() / mean
}

/// Local maxima within 30 dB of the strongest bin.
fn peaks(power: &[f32]) -> usize {
    let max = power.iter().copied().fold(0.0, f32::max);
    let floor = max * 1e-3;
    power
        .windows(3)
        .filter(|w| w[1] > floor && w[1] > w[0] && w[1] >= w[2])
        .count()
}

/// Magnitude spectrum scaled to unit norm, so flux ignores loudness and is
/// dominated by the strong components (not by noise in the valleys).
fn shape(power: &[f32]) -> Vec<f32> {
    let mags: Vec<f32> = power.iter().map(|p| p.sqrt()).collect();
    let norm = mags.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-9);
    mags.iter().map(|v| v / norm).collect()
}

/// 1 − cosine similarity of two frame shapes (0: identical).
fn flux(a: &[f32], b: &[f32]) -> f32 {
    1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
}

fn percentile(mut v: Vec<f32>, q: f32) -> f32 {
    if v.is_empty() {
        return f32::NEG_INFINITY;
    }
    v.sort_by(f32::total_cmp);
    v[((v.len() - 1) as f32 * q).round() as usize]
}
