//! Reference clips and what they go through before they are transcribed:
//! decoding, assembling voicemail-length recordings with pauses, seeded
//! white noise, a telephone line (8 kHz G.711 μ-law).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::audio::{self, DecodeOptions};
use crate::domain::Language;

/// One reference clip: a file, or a voicemail-length recording assembled
/// from files with pauses between them.
#[derive(Debug, Clone)]
pub struct RefClip {
    /// The file's name, or the assembled recording's.
    pub name: String,
    pub source: Source,
    pub reference: String,
    pub language: Language,
}

#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Assembled(Assembly),
}

/// Sentences joined as a caller leaves them: lead-in silence, the parts
/// with pauses between them, trailing silence, faint line noise, then the
/// telephone line (as `pl_call_*` were made).
#[derive(Debug, Clone)]
pub struct Assembly {
    pub parts: Vec<PathBuf>,
    /// Silence before the first part, between parts and after the last
    /// (parts + 1 values), in ms.
    pub pauses_ms: Vec<u32>,
    /// Line noise this many dB below the speech's mean power.
    pub noise_below_db: f32,
    pub seed: u64,
}

impl RefClip {
    pub fn file(path: PathBuf, reference: String, language: Language) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            name,
            source: Source::File(path),
            reference,
            language,
        }
    }

    pub(super) fn is_nemo(&self) -> bool {
        self.name.starts_with("pl_nemo_")
    }
}

/// What the clips pass through before they are transcribed (nothing by
/// default).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Channel {
    /// White noise at this signal-to-noise ratio (dB, over the whole clip),
    /// added first, as street noise around a caller would be.
    pub noise_snr_db: Option<f32>,
    /// Then a telephone line: 8 kHz, G.711 μ-law, back to 16 kHz, as a
    /// caller's recording reaches the engine.
    pub phone: bool,
}

/// A clip as 16 kHz mono (the decoder and the noise are deterministic, so
/// both systems and every run get identical input; clips are decoded one
/// at a time, as in production).
pub fn decode(clip: &RefClip, channel: Channel) -> anyhow::Result<Vec<f32>> {
    let mut samples = match &clip.source {
        Source::File(path) => decode_file(path)?,
        Source::Assembled(a) => assemble(a)?,
    };
    if let Some(snr_db) = channel.noise_snr_db {
        add_white_noise(&mut samples, snr_db, seed_of(clip.name.as_bytes()));
    }
    if channel.phone {
        samples = through_phone_line(&samples)
            .with_context(|| format!("phone line for {}", clip.name))?;
    }
    Ok(samples)
}

fn decode_file(path: &Path) -> anyhow::Result<Vec<f32>> {
    audio::decode_file(path, &DecodeOptions::default())
        .map(|p| p.samples)
        .with_context(|| format!("decoding {}", path.display()))
}

/// The recording an [`Assembly`] describes, at 16 kHz.
pub fn assemble(a: &Assembly) -> anyhow::Result<Vec<f32>> {
    let parts = a
        .parts
        .iter()
        .map(|p| decode_file(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut out = join_with_pauses(&parts, &a.pauses_ms);
    let speech: Vec<f32> = parts.concat();
    let sd = (mean_power(&speech) / 10f64.powf(f64::from(a.noise_below_db) / 10.0)).sqrt();
    add_noise_sd(&mut out, sd, a.seed);
    through_phone_line(&out)
}

/// `parts` with `pauses_ms[i]` of silence before part `i` and the last
/// value after the last part (16 kHz).
pub fn join_with_pauses(parts: &[Vec<f32>], pauses_ms: &[u32]) -> Vec<f32> {
    let silence = |ms: u32| vec![0.0f32; ms as usize * 16];
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        out.extend(silence(pauses_ms.get(i).copied().unwrap_or(0)));
        out.extend_from_slice(part);
    }
    out.extend(silence(pauses_ms.get(parts.len()).copied().unwrap_or(0)));
    out
}

/// FNV-1a: a clip's noise depends on its file name only.
fn seed_of(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Mean of the squared samples.
fn mean_power(samples: &[f32]) -> f64 {
    samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len().max(1) as f64
}

/// Adds Gaussian white noise `snr_db` below the samples' mean power (the
/// same noise for the same `seed`), keeping the result within full scale.
pub fn add_white_noise(samples: &mut [f32], snr_db: f32, seed: u64) {
    if samples.is_empty() {
        return;
    }
    let sd = (mean_power(samples) / 10f64.powf(f64::from(snr_db) / 10.0)).sqrt();
    add_noise_sd(samples, sd, seed);
}

/// Adds Gaussian white noise of standard deviation `sd`.
fn add_noise_sd(samples: &mut [f32], sd: f64, seed: u64) {
    // Box-Muller (u is never 0, so ln(u) is finite)
    let mut rng = super::Rng::new(seed);
    for s in samples.iter_mut() {
        let (u, v) = (rng.unit(), rng.unit());
        let gauss = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        *s = (f64::from(*s) + sd * gauss).clamp(-1.0, 1.0) as f32;
    }
}

/// 16 kHz samples through an 8 kHz μ-law telephone channel and back
/// (band-limited both ways by the resampler).
pub fn through_phone_line(samples: &[f32]) -> anyhow::Result<Vec<f32>> {
    use audio::g711::{linear_to_ulaw, ulaw_to_linear};
    let rate = audio::WHISPER_RATE;
    let narrow = audio::resample::resample(samples, rate, 8_000)?;
    let coded: Vec<f32> = narrow
        .iter()
        .map(|&s| {
            let linear = (s * 32768.0).clamp(-32768.0, 32767.0) as i16;
            f32::from(ulaw_to_linear(linear_to_ulaw(linear))) / 32768.0
        })
        .collect();
    Ok(audio::resample::resample(&coded, 8_000, rate)?)
}

#[cfg(test)]
mod tests {
    use super::{add_white_noise, mean_power as power};

    #[test]
    fn white_noise_lands_at_the_asked_ratio_and_repeats_with_its_seed() {
        let tone: Vec<f32> = (0..16_000)
            .map(|i| 0.3 * (i as f32 * 0.0785).sin())
            .collect();
        for snr in [0.0f32, 15.0, 30.0] {
            let mut noisy = tone.clone();
            add_white_noise(&mut noisy, snr, 7);
            let noise: Vec<f32> = noisy.iter().zip(&tone).map(|(a, b)| a - b).collect();
            let got = 10.0 * (power(&tone) / power(&noise)).log10();
            assert!(
                (got - f64::from(snr)).abs() < 0.2,
                "asked {snr} dB, got {got:.2}"
            );
            let mut again = tone.clone();
            add_white_noise(&mut again, snr, 7);
            assert_eq!(noisy, again);
            let mut other = tone.clone();
            add_white_noise(&mut other, snr, 8);
            assert_ne!(noisy, other);
        }
        // Silence stays silent, and nothing leaves full scale.
        let mut quiet = vec![0.0f32; 100];
        add_white_noise(&mut quiet, 10.0, 1);
        assert!(quiet.iter().all(|&s| s == 0.0));
        let mut loud = vec![0.99f32; 1000];
        add_white_noise(&mut loud, -10.0, 1);
        assert!(loud.iter().all(|s| (-1.0..=1.0).contains(s)));
    }
}
