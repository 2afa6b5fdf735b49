//! Guards that keep invented text out of reports: Whisper's own loops
//! collapsed, segments that repeat a known hallucination
//! (`prompts/<lang>/hallucinations.txt`), repeat the previous segment or echo
//! the initial prompt dropped, each with its reason.

use crate::domain::Language;
use crate::prompts::{normalize, WhisperPrompts};

/// Why a decoded segment is not speech, if it is not.
pub struct Guard<'a> {
    prompts: &'a WhisperPrompts,
    language: Language,
    use_prompt: bool,
    prompt: Option<String>,
    /// The last kept segment, normalised (a repeat of it is dropped).
    previous: String,
}

impl<'a> Guard<'a> {
    pub fn new(prompts: &'a WhisperPrompts, language: Language, use_prompt: bool) -> Self {
        Self {
            prompt: prompts.initial.get(&language).map(|p| normalize(p)),
            prompts,
            language,
            use_prompt,
            previous: String::new(),
        }
    }

    /// The reason to drop `text`, or `None` to keep it (and remember it as
    /// the previous segment).
    pub fn judge(&mut self, text: &str) -> Option<&'static str> {
        let norm = normalize(text);
        let reason = if norm.is_empty() {
            Some("empty")
        } else if norm == self.previous {
            Some("repeats the previous segment")
        } else if is_loop(text) {
            Some("repetition loop")
        } else if self
            .prompts
            .blocklist
            .get(&self.language)
            .is_some_and(|b| b.matches(text))
        {
            Some("known hallucination phrase")
        } else if self.use_prompt
            && norm.split(' ').count() >= 3
            && self.prompt.as_ref().is_some_and(|p| p.contains(&norm))
        {
            Some("echo of the initial prompt")
        } else {
            None
        };
        if reason.is_none() {
            self.previous = norm;
        }
        reason
    }

    /// Share of the words of `text` that occur in the language's initial
    /// prompt.
    pub fn prompt_overlap(&self, text: &str) -> f32 {
        let Some(prompt) = &self.prompt else {
            return 0.0;
        };
        let vocab: std::collections::HashSet<&str> = prompt.split(' ').collect();
        let text = normalize(text);
        let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            return 0.0;
        }
        words.iter().filter(|w| vocab.contains(*w)).count() as f32 / words.len() as f32
    }
}

/// Removes decoding loops: a run of words repeated back to back is kept
/// once when it is three or more words repeated twice ("Proszę przyjechać
/// na Długą. Proszę przyjechać na Długą.") or one or two words repeated
/// three times or more. "bardzo, bardzo" stays: people say that.
pub fn collapse_repeats(text: &str) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<String> = words.iter().map(|w| normalize(w)).collect();
    let mut keys = keys;
    let mut i = 0;
    while i < words.len() {
        let mut removed = false;
        for period in (1..=(words.len() - i) / 2).rev() {
            let copies = (1..)
                .take_while(|c| {
                    let start = i + c * period;
                    start + period <= words.len()
                        && (0..period).all(|k| keys[i + k] == keys[start + k])
                })
                .count();
            let loop_found = if period >= 3 {
                copies >= 1
            } else {
                copies >= 2
            };
            if loop_found && keys[i..i + period].iter().any(|k| !k.is_empty()) {
                words.drain(i + period..i + period * (copies + 1));
                keys.drain(i + period..i + period * (copies + 1));
                removed = true;
                break;
            }
        }
        if !removed {
            i += 1;
        }
    }
    words.join(" ")
}

/// Text that is mostly the same few characters or words over and over
/// (what is left when a loop sits inside one word: "Osososososos…").
pub fn is_loop(text: &str) -> bool {
    let norm = normalize(text);
    let chars: Vec<char> = norm.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() >= 24 {
        let grams: std::collections::HashSet<&[char]> = chars.windows(4).collect();
        if (grams.len() as f32) < chars.len() as f32 * 0.2 {
            return true;
        }
    }
    let words: Vec<&str> = norm.split(' ').collect();
    if words.len() >= 8 {
        let distinct: std::collections::HashSet<&&str> = words.iter().collect();
        return (distinct.len() as f32) < words.len() as f32 * 0.25;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_collapse_and_natural_repeats_stay() {
        assert_eq!(
            collapse_repeats("Ile to kosztuje? Ile to kosztuje? Ile to kosztuje?"),
            "Ile to kosztuje?"
        );
        assert_eq!(
            collapse_repeats("iletokostuje iletokostuje iletokostuje"),
            "iletokostuje"
        );
        assert_eq!(
            collapse_repeats("Dzień dobry, nielegalnie, nielegalnie, nielegalnie."),
            "Dzień dobry, nielegalnie,"
        );
        assert_eq!(
            collapse_repeats("bardzo, bardzo proszę"),
            "bardzo, bardzo proszę"
        );
        assert_eq!(
            collapse_repeats("na ulicy Długiej 12"),
            "na ulicy Długiej 12"
        );
        assert!(is_loop(&"os".repeat(100)));
        assert!(!is_loop(
            "Dziura w jezdni na ulicy Długiej naprzeciwko numeru dwanaście, bardzo głęboka."
        ));
    }
}
