//! Which channel of a multi-channel recording is the caller.
//!
//! Telnyx records dual-channel by default (Twilio and SignalWire can):
//! one channel is the caller, the other what hotline played. During
//! `<Record>` that other channel holds only the beep and line noise, so
//! mixing the two adds noise and halves the caller's level. The rule:
//!
//! - each channel's **speech time** is counted in 20 ms frames louder than
//!   -40 dBFS (a beep lasts a fraction of a second, a caller's message tens
//!   of seconds);
//! - the channel with the most speech time is the caller's, and is taken
//!   alone when it has at least 1.5× the speech time of every other;
//! - otherwise (a mono recording saved as stereo, both sides talking) the
//!   channels are mixed, as before.

/// Frame length for the speech-time count, at any sample rate.
const FRAME_SECS: f64 = 0.02;
/// -40 dBFS as an RMS amplitude.
const FLOOR: f32 = 0.01;
/// How much more speech time the caller's channel must have to be taken alone.
const DOMINANCE: f64 = 1.5;

/// The caller's audio from `channels` (equal lengths, samples in [-1, 1]).
pub fn caller(channels: Vec<Vec<f32>>, sample_rate: u32) -> Vec<f32> {
    if channels.len() <= 1 {
        return channels.into_iter().next().unwrap_or_default();
    }
    let frame = ((f64::from(sample_rate) * FRAME_SECS) as usize).max(1);
    let speech: Vec<usize> = channels
        .iter()
        .map(|c| {
            c.chunks(frame)
                .filter(|f| {
                    let power = f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32;
                    power.sqrt() > FLOOR
                })
                .count()
        })
        .collect();
    let (best, most) = speech
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map(|(i, n)| (i, *n))
        .unwrap_or((0, 0));
    let dominant = speech
        .iter()
        .enumerate()
        .all(|(i, n)| i == best || most as f64 >= DOMINANCE * *n as f64);
    if most > 0 && dominant {
        return channels.into_iter().nth(best).unwrap_or_default();
    }
    let n = channels.len() as f32;
    let len = channels.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .map(|i| channels.iter().map(|c| c[i]).sum::<f32>() / n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f64, amp: f32) -> Vec<f32> {
        (0..(8000.0 * secs) as usize)
            .map(|i| amp * (i as f32 * 0.3).sin())
            .collect()
    }

    #[test]
    fn the_talking_channel_is_taken_alone() {
        let mut prompts = tone(0.5, 0.5);
        prompts.resize(8000 * 10, 0.0);
        let caller_side = tone(10.0, 0.2);
        for (a, b) in [(0, 1), (1, 0)] {
            let mut chans = vec![Vec::new(), Vec::new()];
            chans[a] = caller_side.clone();
            chans[b] = prompts.clone();
            assert_eq!(caller(chans, 8000), caller_side, "caller on channel {a}");
        }
    }

    #[test]
    fn alike_channels_are_mixed() {
        let a = tone(2.0, 0.2);
        let b = tone(2.0, 0.4);
        let mixed = caller(vec![a.clone(), b.clone()], 8000);
        assert!((mixed[10] - (a[10] + b[10]) / 2.0).abs() < 1e-6);
        assert!(caller(vec![vec![0.0; 100], vec![0.0; 100]], 8000)
            .iter()
            .all(|s| *s == 0.0));
    }
}
