//! Benchmarks that print figures (docs/BENCHMARKS.md): `hotline bench
//! transcribe` (accuracy, speed and memory on a reference set, optionally side
//! by side with faster-whisper), `bench queue` (job queue throughput on both
//! backends), `bench calls` (simultaneous simulated callers against a real
//! server and a bare axum baseline), `bench kernels` (the weight products
//! alone, f16 against int8), `bench storage` (recordings fetched, stored and
//! served: a directory against S3-compatible storage), and the error-rate
//! arithmetic they use.
//! `bench transcribe --set long --contention 2` measures voicemail-length
//! recordings on a machine whose cores are shared.

pub mod calls;
pub mod channel;
pub mod contention;
pub mod kernels;
pub mod peer;
pub mod queue;
pub mod storage;
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
    /// Reference items the hypothesis lacks (on one cheapest alignment,
    /// substitutions preferred over an insertion and a deletion).
    pub deletions: usize,
    pub reference_len: usize,
}

impl Errors {
    pub fn rate(&self) -> f64 {
        ratio(self.edits, self.reference_len)
    }

    /// Share of the reference missing from the hypothesis: what a
    /// transcription that drops sentences loses.
    pub fn deletion_rate(&self) -> f64 {
        ratio(self.deletions, self.reference_len)
    }
}

fn ratio(n: usize, of: usize) -> f64 {
    if of == 0 {
        return if n == 0 { 0.0 } else { 1.0 };
    }
    n as f64 / of as f64
}

impl std::ops::AddAssign for Errors {
    fn add_assign(&mut self, o: Self) {
        self.edits += o.edits;
        self.deletions += o.deletions;
        self.reference_len += o.reference_len;
    }
}

/// Word errors after normalisation (lower case, punctuation stripped).
pub fn word_errors(reference: &str, hypothesis: &str) -> Errors {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    let r: Vec<&str> = r.split_whitespace().collect();
    let h: Vec<&str> = h.split_whitespace().collect();
    align(&r, &h)
}

/// Character errors after normalisation (spaces count as characters).
pub fn char_errors(reference: &str, hypothesis: &str) -> Errors {
    let r: Vec<char> = normalize(reference).chars().collect();
    let h: Vec<char> = normalize(hypothesis).chars().collect();
    align(&r, &h)
}

/// Levenshtein distance of `hyp` from `reference`, with the deletions of a
/// cheapest alignment: each cell keeps (edits, deletions), and among equal
/// edits the path with fewer deletions wins.
fn align<T: PartialEq>(reference: &[T], hyp: &[T]) -> Errors {
    let mut prev: Vec<(usize, usize)> = (0..=hyp.len()).map(|j| (j, 0)).collect();
    let mut cur = vec![(0, 0); hyp.len() + 1];
    for (i, x) in reference.iter().enumerate() {
        cur[0] = (i + 1, i + 1);
        for (j, y) in hyp.iter().enumerate() {
            let sub = (prev[j].0 + usize::from(x != y), prev[j].1);
            let del = (prev[j + 1].0 + 1, prev[j + 1].1 + 1);
            let ins = (cur[j].0 + 1, cur[j].1);
            cur[j + 1] = sub.min(del).min(ins);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let (edits, deletions) = prev[hyp.len()];
    Errors {
        edits,
        deletions,
        reference_len: reference.len(),
    }
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

    #[test]
    fn deletions_count_reference_words_the_hypothesis_lacks() {
        let lost = word_errors("ala ma kota i psa", "ala ma");
        assert_eq!((lost.edits, lost.deletions), (3, 3));
        assert_eq!(lost.deletion_rate(), 0.6);
        // A wrong word is a substitution, not a deletion plus an insertion.
        let wrong = word_errors("ala ma kota", "ala ma psa");
        assert_eq!((wrong.edits, wrong.deletions), (1, 0));
        let extra = word_errors("ala ma kota", "no ala ma kota");
        assert_eq!((extra.edits, extra.deletions), (1, 0));
        assert_eq!(word_errors("ala ma kota", "").deletion_rate(), 1.0);
    }
}
