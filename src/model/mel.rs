//! Slaney-style mel filter bank, as `librosa.filters.mel(sr=16000,
//! n_fft=400, n_mels=N)` computes it (and therefore as OpenAI Whisper and
//! faster-whisper use it). CTranslate2 exports do not carry the filters.

pub const SAMPLE_RATE: f64 = 16_000.0;
pub const N_FFT: usize = 400;
/// Frequency bins of a 400-point real FFT.
pub const N_BINS: usize = N_FFT / 2 + 1;

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// Row-major `n_mels × 201` filter matrix.
pub fn filters(n_mels: usize) -> Vec<f32> {
    let fft_freqs: Vec<f64> = (0..N_BINS)
        .map(|i| i as f64 * SAMPLE_RATE / N_FFT as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = Vec::with_capacity(n_mels * N_BINS);
    for m in 0..n_mels {
        let (left, centre, right) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (right - left);
        for &f in &fft_freqs {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            out.push((lower.min(upper).max(0.0) * enorm) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_librosa_reference_values() {
        // Values printed by librosa 0.11: librosa.filters.mel(sr=16000, n_fft=400, n_mels=N)[m, b].
        let cases: [(usize, usize, usize, f32); 7] = [
            (80, 0, 1, 0.024_862_595),
            (80, 1, 2, 0.022_871_772),
            (80, 1, 3, 0.0),
            (80, 40, 42, 0.005_411_105),
            (80, 79, 188, 0.001_299_398_4),
            (128, 0, 1, 0.012_373_987),
            (128, 100, 101, 0.006_775_828_5),
        ];
        for (n_mels, m, b, want) in cases {
            let f = filters(n_mels);
            assert_eq!(f.len(), n_mels * N_BINS);
            let got = f[m * N_BINS + b];
            assert!(
                (got - want).abs() < 1e-7,
                "mel {n_mels} [{m},{b}]: {got} != {want}"
            );
        }
    }
}
