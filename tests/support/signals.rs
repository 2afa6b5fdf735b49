//! Synthetic signals for tests: what a phone line carries that is not speech.
#![allow(dead_code)]

use std::f32::consts::PI;

pub const RATE: u32 = 16_000;

/// A small deterministic PRNG (xorshift), so tests are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// Uniform in [-1, 1).
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

fn n(secs: f32) -> usize {
    (secs * RATE as f32) as usize
}

pub fn silence(secs: f32) -> Vec<f32> {
    vec![0.0; n(secs)]
}

pub fn white_noise(secs: f32, amp: f32, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n(secs)).map(|_| r.next() * amp).collect()
}

/// Pink-ish noise (Paul Kellet's filter): line hiss.
pub fn pink_noise(secs: f32, amp: f32, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    (0..n(secs))
        .map(|_| {
            let w = r.next();
            b0 = 0.99765 * b0 + w * 0.0990460;
            b1 = 0.96300 * b1 + w * 0.2965164;
            b2 = 0.57000 * b2 + w * 1.0526913;
            (b0 + b1 + b2 + w * 0.1848) * amp * 0.25
        })
        .collect()
}

pub fn tone(freqs: &[f32], secs: f32, amp: f32) -> Vec<f32> {
    (0..n(secs))
        .map(|i| {
            let t = i as f32 / RATE as f32;
            freqs.iter().map(|f| (2.0 * PI * f * t).sin()).sum::<f32>() * amp / freqs.len() as f32
        })
        .collect()
}

/// DTMF digits, 150 ms tone and 100 ms gap each.
pub fn dtmf(digits: &str, amp: f32) -> Vec<f32> {
    let mut out = Vec::new();
    for d in digits.chars() {
        let (lo, hi) = match d {
            '1' => (697.0, 1209.0),
            '2' => (697.0, 1336.0),
            '3' => (697.0, 1477.0),
            '4' => (770.0, 1209.0),
            '5' => (770.0, 1336.0),
            '6' => (770.0, 1477.0),
            '7' => (852.0, 1209.0),
            '8' => (852.0, 1336.0),
            '9' => (852.0, 1477.0),
            '*' => (941.0, 1209.0),
            '0' => (941.0, 1336.0),
            _ => (941.0, 1477.0),
        };
        out.extend(tone(&[lo, hi], 0.15, amp));
        out.extend(silence(0.1));
    }
    out
}

/// Polish ringback / busy tones: 425 Hz on/off.
pub fn cadence(freq: f32, on: f32, off: f32, secs: f32, amp: f32) -> Vec<f32> {
    let mut out = Vec::new();
    while out.len() < n(secs) {
        out.extend(tone(&[freq], on, amp));
        out.extend(silence(off));
    }
    out.truncate(n(secs));
    out
}

/// Hold-music-like melody: notes of `harmonics` partials each, with short
/// attack and release, 300 ms per note.
pub fn melody(secs: f32, harmonics: usize, amp: f32) -> Vec<f32> {
    let notes = [261.6, 329.6, 392.0, 523.3, 392.0, 329.6, 293.7, 349.2];
    let per = n(0.3);
    (0..n(secs))
        .map(|i| {
            let f = notes[(i / per) % notes.len()];
            let k = i % per;
            let env = (k as f32 / 160.0).min(1.0) * ((per - k) as f32 / 480.0).min(1.0);
            let t = i as f32 / RATE as f32;
            let s: f32 = (1..=harmonics)
                .map(|h| (2.0 * PI * f * h as f32 * t).sin() / h as f32)
                .sum();
            s * env * amp
        })
        .collect()
}

/// A three-note chord progression (pure sines): a synthesiser playing hold music.
pub fn chords(secs: f32, amp: f32) -> Vec<f32> {
    let progression: [[f32; 3]; 4] = [
        [261.6, 329.6, 392.0],
        [220.0, 261.6, 329.6],
        [174.6, 220.0, 261.6],
        [196.0, 246.9, 293.7],
    ];
    let per = n(0.8);
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < n(secs) {
        out.extend(tone(&progression[i % 4], 0.8, amp).into_iter().take(per));
        i += 1;
    }
    out.truncate(n(secs));
    out
}

pub fn mix(a: &[f32], b: &[f32]) -> Vec<f32> {
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).copied().unwrap_or(0.0) + b.get(i).copied().unwrap_or(0.0))
        .collect()
}

/// Mains hum at 50 Hz with harmonics.
pub fn hum(secs: f32, amp: f32) -> Vec<f32> {
    tone(&[50.0, 100.0, 150.0, 250.0], secs, amp)
}

/// Melody with pauses between notes and changing loudness, so that no
/// constant level gives it away: `harmonics` partials per note, optional
/// vibrato depth (fraction of the pitch) at 5.5 Hz.
pub fn phrased_melody(secs: f32, harmonics: usize, vibrato: f32, amp: f32) -> Vec<f32> {
    let notes = [
        261.6, 329.6, 392.0, 523.3, 392.0, 329.6, 293.7, 349.2, 440.0, 220.0,
    ];
    let loud = [1.0, 0.5, 0.8, 0.3, 1.0, 0.6, 0.4, 0.9];
    let mut out = Vec::new();
    let mut k = 0;
    while out.len() < n(secs) {
        let f = notes[k % notes.len()];
        let a = amp * loud[k % loud.len()];
        let len = n(0.25);
        let mut phase = 0.0f32;
        for i in 0..len {
            let t = i as f32 / RATE as f32;
            let inst = f * (1.0 + vibrato * (2.0 * PI * 5.5 * t).sin());
            phase += 2.0 * PI * inst / RATE as f32;
            let env = (i as f32 / 160.0).min(1.0) * ((len - i) as f32 / 800.0).min(1.0);
            let s: f32 = (1..=harmonics)
                .map(|h| (phase * h as f32).sin() / h as f32)
                .sum();
            out.push(s * env * a);
        }
        out.extend(silence(0.08));
        k += 1;
    }
    out.truncate(n(secs));
    out
}
