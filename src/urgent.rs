//! Urgent phrases in a transcript ("czuć gaz", "ulatnia się gaz", "drzewo
//! przewróciło się na jezdnię"), per language from
//! `prompts/<lang>/urgent.txt`, found despite inflection, word order and
//! transcription errors by the phrase matcher ([`crate::phrases`]).

use std::collections::BTreeMap;

use crate::domain::Language;
use crate::phrases::{PhraseList, Said};
use crate::prompts::{PromptError, PromptSource};

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
    by_lang: BTreeMap<Language, PhraseList>,
}

impl UrgentPhrases {
    pub fn load(src: &PromptSource) -> Result<Self, PromptError> {
        let mut by_lang = BTreeMap::new();
        for lang in Language::ALL {
            let text = src.read(&format!("{lang}/urgent.txt"))?.unwrap_or_default();
            by_lang.insert(lang, PhraseList::parse(&text));
        }
        Ok(Self { by_lang })
    }

    /// One language's list (one phrase a line, `#` comments; `heard =>
    /// shown` for a transcription error of a phrase, shown as the phrase).
    pub fn parse(lang: Language, text: &str) -> Self {
        Self {
            by_lang: [(lang, PhraseList::parse(text))].into_iter().collect(),
        }
    }

    /// The first phrase of `lang` that `transcript` says, if any.
    pub fn find(&self, lang: Language, transcript: &str) -> Option<UrgentMatch> {
        let m = self.by_lang.get(&lang)?.first(&Said::new(transcript))?;
        Some(UrgentMatch {
            phrase: m.phrase,
            heard: m.heard,
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
