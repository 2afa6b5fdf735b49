//! Urgent phrases in a transcript ("czuć gaz", "ulatnia się gaz", "drzewo
//! przewróciło się na jezdnię"), per language from
//! `prompts/<lang>/urgent.txt`, found despite inflection, word order and
//! transcription errors: the same stems as the street hints
//! ([`crate::address::stem`]), compared with a tolerance, every content
//! word of a phrase within a short window of the transcript, in any order.

use std::collections::BTreeMap;

use crate::address::{similarity, stem};
use crate::domain::Language;
use crate::prompts::{PromptError, PromptSource};

/// Words that carry no meaning of their own in a phrase.
const FILLERS: &[&str] = &[
    "sie", "na", "w", "we", "z", "ze", "do", "i", "o", "po", "przy", "od", "jest", "ze", "to", "u",
    "a", "the", "an", "is", "of", "on", "in", "at", "there", "my", "has", "have", "are", "на", "в",
    "у", "з", "і", "й", "та", "по", "біля", "є", "до", "від",
];

/// One phrase: how it is written, and the stems a transcript must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UrgentPhrase {
    text: String,
    stems: Vec<String>,
}

/// What made a transcript urgent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrgentMatch {
    /// The phrase of `urgent.txt`.
    pub phrase: String,
    /// The words of the transcript that matched it.
    pub heard: String,
}

/// The urgent phrases of every language.
#[derive(Debug, Clone, Default)]
pub struct UrgentPhrases {
    by_lang: BTreeMap<Language, Vec<UrgentPhrase>>,
}

fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect()
}

fn content(word: &str) -> Option<String> {
    let s = stem(word);
    (!FILLERS.contains(&s.as_str()) && !FILLERS.contains(&crate::address::fold(word).as_str()))
        .then_some(s)
}

/// Whether two stems are the same word, inflected or misheard: close by
/// edit distance, or one the other plus a short ending.
fn same_word(a: &str, b: &str) -> bool {
    let (short, long) = if a.chars().count() <= b.chars().count() {
        (a, b)
    } else {
        (b, a)
    };
    let (ns, nl) = (short.chars().count(), long.chars().count());
    if ns < 3 {
        return short == long;
    }
    let ending = if ns < 5 { 1 } else { 2 };
    (long.starts_with(short) && nl - ns <= ending) || (ns >= 4 && similarity(short, long) >= 0.75)
}

/// A word and, when Whisper glued "się" to the next word ("ulatnia
/// sięgasz" for "ulatnia się gaz"), what follows the "się" as well.
fn unglue(word: &str) -> Vec<&str> {
    let rest = word
        .strip_prefix("się")
        .or_else(|| word.strip_prefix("Się"))
        .filter(|r| r.chars().count() >= 3);
    std::iter::once(word).chain(rest).collect()
}

impl UrgentPhrases {
    pub fn load(src: &PromptSource) -> Result<Self, PromptError> {
        let mut by_lang = BTreeMap::new();
        for lang in Language::ALL {
            let text = src.read(&format!("{lang}/urgent.txt"))?.unwrap_or_default();
            by_lang.insert(lang, Self::parse_list(&text));
        }
        Ok(Self { by_lang })
    }

    /// One language's list (one phrase a line, `#` comments; `heard =>
    /// shown` for a transcription error of a phrase, shown as the phrase).
    pub fn parse(lang: Language, text: &str) -> Self {
        Self {
            by_lang: [(lang, Self::parse_list(text))].into_iter().collect(),
        }
    }

    fn parse_list(text: &str) -> Vec<UrgentPhrase> {
        crate::prompts::content_lines(text)
            .filter_map(|line| {
                let (heard, shown) = line.split_once("=>").unwrap_or((line, line));
                let stems: Vec<String> = words(heard).into_iter().filter_map(content).collect();
                (!stems.is_empty()).then(|| UrgentPhrase {
                    text: shown.trim().to_owned(),
                    stems,
                })
            })
            .collect()
    }

    /// The first phrase of `lang` that `transcript` says, if any.
    pub fn find(&self, lang: Language, transcript: &str) -> Option<UrgentMatch> {
        let said: Vec<(&str, String)> = words(transcript)
            .into_iter()
            .flat_map(unglue)
            .filter_map(|w| content(w).map(|s| (w, s)))
            .collect();
        self.by_lang.get(&lang)?.iter().find_map(|p| {
            let window = p.stems.len() + 2;
            (0..said.len()).find_map(|start| {
                let span = &said[start..(start + window).min(said.len())];
                let hits: Option<Vec<&str>> = p
                    .stems
                    .iter()
                    .map(|want| {
                        span.iter()
                            .find(|(_, s)| same_word(want, s))
                            .map(|(w, _)| *w)
                    })
                    .collect();
                let hits = hits?;
                // The window must start with one of the phrase's words.
                span.first()
                    .filter(|(w, _)| hits.contains(w))
                    .map(|_| UrgentMatch {
                        phrase: p.text.clone(),
                        heard: hits.join(" "),
                    })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polish() -> UrgentPhrases {
        UrgentPhrases::load(&PromptSource::builtin()).unwrap()
    }

    #[test]
    fn words_meet_across_inflection_and_small_errors() {
        assert!(same_word(&stem("gaz"), &stem("gazu")));
        assert!(same_word(&stem("przewróciło"), &stem("przewrócone")));
        assert!(!same_word(&stem("gaz"), &stem("gazeta")));
        assert!(!same_word(&stem("pali"), &stem("palec")));
        assert!(!same_word(&stem("lezy"), &stem("lesie")));
    }

    #[test]
    fn a_misheard_phrase_is_shown_as_the_phrase() {
        let m = polish().find(Language::Pl, "Czuję gas na klatce.").unwrap();
        assert_eq!(m.phrase, "czuć gaz");
        assert_eq!(m.heard, "Czuję gas");
    }

    #[test]
    fn urgent_polish_reports_are_found() {
        let p = polish();
        let urgent = [
            "Dzień dobry, na ulicy Długiej czuć gaz, bardzo mocno.",
            "Na klatce schodowej czuć zapach gazu.",
            "Ulatnia się gaz z rury przy Krowoderskiej.",
            "Gaz się ulatnia na podwórku, trzeba coś zrobić.",
            "Śmierdzi gazem w całej kamienicy.",
            "Czuję gas na klatce.",
            "Jest zalana ulica, woda stoi po kostki.",
            "Cała ulica zalana po deszczu, samochody nie przejadą.",
            "Woda tryska z jezdni na skrzyżowaniu.",
            "Z jezdni tryska woda, pękła rura chyba.",
            "Pękła rura wodociągowa, woda leci na ulicę.",
            "Drzewo przewróciło się na jezdnię i blokuje przejazd.",
            "Przewrócone drzewo leży na drodze.",
            "Drzewo się przewróciło na samochód.",
            "Złamane drzewo zablokowało ulicę.",
            "Gałąź spadła na jezdnię, nie da się przejechać.",
            "Zerwana linia energetyczna leży na chodniku.",
            "Zerwane przewody wiszą nad ulicą.",
            "Kable zwisają nad chodnikiem, iskrzą.",
            "Otwarta studzienka na środku jezdni, ktoś może wpaść.",
            "Nie ma pokrywy studzienki na ulicy Kalwaryjskiej.",
            "Nie działa sygnalizacja na skrzyżowaniu Alei z Karmelicką.",
            "Sygnalizacja świetlna nie działa, są korki i niebezpiecznie.",
            "Światła na skrzyżowaniu nie działają.",
            "Pożar śmietnika przy bloku.",
            "Pali się kontener na śmieci.",
            "Ktoś leży na chodniku i się nie rusza.",
            "Leży człowiek na przystanku, nieprzytomny.",
            "Dziura w jezdni jest tak głęboka, że urwało koło, zagrożenie dla kierowców.",
            "Zapadła się jezdnia, jest wielka dziura.",
            "Brak prądu w całej dzielnicy od godziny.",
            "Nie ma ogrzewania i ciepłej wody w bloku, awaria.",
            // Whisper base on a synthesised caller (tests/crash/escalation.rs).
            "Dzień dobry, z wonie ulicy Długi. A klatce stodowe ulatnia sięgasz, bardzo mocno śmieci gazem.",
        ];
        let missed: Vec<&&str> = urgent
            .iter()
            .filter(|t| p.find(Language::Pl, t).is_none())
            .collect();
        assert!(missed.is_empty(), "not found: {missed:#?}");
    }

    #[test]
    fn ordinary_polish_reports_are_not_urgent() {
        let p = polish();
        let ordinary = [
            "Na ulicy Długiej jest dziura w chodniku przy numerze dwanaście.",
            "Nie świeci latarnia przy przystanku Teatr Bagatela.",
            "Przepełniony kosz na śmieci przy parku.",
            "Ktoś wyrzucił gruz w lesie przy Tynieckiej.",
            "Trawa w parku nie była koszona od miesiąca.",
            "Proszę o przycięcie gałęzi, zasłaniają znak.",
            "Na placu zabaw jest zepsuta huśtawka.",
            "Chodnik jest nierówny, płyty się ruszają.",
            "Proszę o postawienie ławki przy przystanku.",
            "Graffiti na elewacji szkoły.",
            "Samochód stoi od miesiąca bez tablic rejestracyjnych.",
            "Woda w fontannie jest brudna.",
            "Gazeta leży na ulicy od tygodnia.",
            "Drzwi do śmietnika są zepsute.",
            "Studzienka jest zapchana liśćmi, woda nie spływa.",
            "Znak drogowy jest przekrzywiony.",
            "Pies sąsiada szczeka w nocy.",
            "Śnieg nie został odgarnięty z chodnika.",
            "Autobus linii 179 nie przyjechał.",
            "Lampa w przejściu podziemnym miga.",
            "Chciałbym zgłosić brak przejścia dla pieszych.",
            "Prośba o dodatkowy kosz na psie odchody.",
        ];
        let wrong: Vec<(&&str, UrgentMatch)> = ordinary
            .iter()
            .filter_map(|t| p.find(Language::Pl, t).map(|m| (t, m)))
            .collect();
        assert!(wrong.is_empty(), "wrongly urgent: {wrong:#?}");
    }

    #[test]
    fn the_reason_names_the_phrase() {
        let m = polish()
            .find(Language::Pl, "Gaz się ulatnia na podwórku")
            .unwrap();
        assert!(m.phrase.contains("gaz"), "{m:?}");
        assert!(m.heard.to_lowercase().contains("gaz"), "{m:?}");
    }

    #[test]
    fn ukrainian_and_english_lists_work_the_same_way() {
        let p = polish();
        for (lang, text, urgent) in [
            (
                Language::En,
                "There is a strong smell of gas in the stairwell.",
                true,
            ),
            (
                Language::En,
                "A tree fell on the road near the tram stop.",
                true,
            ),
            (
                Language::En,
                "The traffic lights are not working at the junction.",
                true,
            ),
            (Language::En, "Water is gushing out of the street.", true),
            (Language::En, "The bin by the park is overflowing.", false),
            (Language::En, "A street light is out on my road.", false),
            (Language::En, "Please cut the grass in the park.", false),
            (Language::Uk, "У під'їзді сильний запах газу.", true),
            (Language::Uk, "На дорогу впало дерево.", true),
            (Language::Uk, "Не працює світлофор на перехресті.", true),
            (Language::Uk, "Переповнений смітник біля парку.", false),
            (Language::Uk, "Не світить ліхтар біля зупинки.", false),
        ] {
            assert_eq!(p.find(lang, text).is_some(), urgent, "{lang}: {text}");
        }
    }
}
