//! Benchmarks that print figures (docs/BENCHMARKS.md): `hotline bench
//! transcribe` (accuracy, speed and memory on a reference set, optionally side
//! by side with faster-whisper), `bench queue` (job queue throughput on both
//! backends), `bench calls` (simultaneous simulated callers against a real
//! server and a bare axum baseline), `bench kernels` (the weight products
//! alone, f16 against int8), and the error-rate arithmetic they use.

pub mod calls;
pub mod kernels;
pub mod peer;
pub mod queue;
pub mod transcribe;

use crate::prompts::normalize;

/// xorshift64*: the benchmarks' seeded numbers, the same on every machine
/// and with every crate version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// Uniform in (0, 1]: 53 random bits, never 0.
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// Edit counts of a hypothesis against a reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Errors {
    pub edits: usize,
    pub reference_len: usize,
}

impl Errors {
    pub fn rate(&self) -> f64 {
        if self.reference_len == 0 {
            return if self.edits == 0 { 0.0 } else { 1.0 };
        }
        self.edits as f64 / self.reference_len as f64
    }
}

impl std::ops::AddAssign for Errors {
    fn add_assign(&mut self, o: Self) {
        self.edits += o.edits;
        self.reference_len += o.reference_len;
    }
}

/// Word errors after normalisation (lower case, punctuation stripped).
pub fn word_errors(reference: &str, hypothesis: &str) -> Errors {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    let r: Vec<&str> = r.split_whitespace().collect();
    let h: Vec<&str> = h.split_whitespace().collect();
    Errors {
        edits: levenshtein(&r, &h),
        reference_len: r.len(),
    }
}

/// Character errors after normalisation (spaces count as characters).
pub fn char_errors(reference: &str, hypothesis: &str) -> Errors {
    let r: Vec<char> = normalize(reference).chars().collect();
    let h: Vec<char> = normalize(hypothesis).chars().collect();
    Errors {
        edits: levenshtein(&r, &h),
        reference_len: r.len(),
    }
}

fn levenshtein<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(x != y);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Peak resident set size of this process, in bytes (Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_error_rate_counts_substitutions_insertions_deletions() {
        assert_eq!(word_errors("Ala ma kota.", "ala ma kota").edits, 0);
        assert_eq!(word_errors("ala ma kota", "ala ma psa").edits, 1);
        assert_eq!(word_errors("ala ma kota", "ala ma").edits, 1);
        assert_eq!(word_errors("ala ma kota", "ala ma kota i psa").edits, 2);
        assert_eq!(word_errors("ala ma kota", "").rate(), 1.0);
        assert_eq!(char_errors("kot", "kod").edits, 1);
    }
}
