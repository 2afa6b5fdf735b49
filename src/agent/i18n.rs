//! The workspace's words, in Polish (the default) and English.

use std::collections::BTreeMap;

/// (key, Polish, English)
const TEXTS: &[(&str, &str, &str)] = &[
    ("app", "Zgłoszenia po godzinach", "After-hours reports"),
    ("kck", "Krakowskie Centrum Kontaktu", "Kraków Contact Centre"),
    ("skip_to_content", "Przejdź do treści", "Skip to content"),
    ("navigation", "Nawigacja", "Navigation"),
    ("queue", "Kolejka", "Queue"),
    ("missed_calls", "Nieodebrane", "Missed calls"),
    ("admin", "Administracja", "Administration"),
    ("switch_language", "English", "Polski"),
    ("logout", "Wyloguj", "Log out"),
    ("login", "Zaloguj", "Log in"),
    ("login_title", "Logowanie konsultanta", "Agent login"),
    ("user_name", "Nazwa użytkownika", "User name"),
    ("password", "Hasło", "Password"),
    ("login_failed", "Nieprawidłowa nazwa lub hasło.", "Wrong name or password."),
    ("login_locked", "Zbyt wiele nieudanych prób. Spróbuj ponownie później.", "Too many failed attempts. Try again later."),
    ("login_expired", "Formularz wygasł, spróbuj jeszcze raz.", "The form expired, please try again."),
    ("new_reports", "Nowe zgłoszenia w kolejce.", "New reports in the queue."),
    ("refresh", "Odśwież", "Refresh"),
    ("drafts_title", "Zgłoszenia do sprawdzenia", "Drafts to review"),
    ("missed_title", "Nieodebrane połączenia — oddzwoń", "Missed calls to call back"),
    ("filters", "Filtry", "Filters"),
    ("status", "Status", "Status"),
    ("category", "Kategoria", "Category"),
    ("language", "Język", "Language"),
    ("all", "wszystkie", "all"),
    ("date_from", "Od", "From"),
    ("date_to", "Do", "To"),
    ("apply", "Filtruj", "Filter"),
    ("number", "Numer", "Number"),
    ("received", "Przyjęto", "Received"),
    ("caller", "Dzwoniący", "Caller"),
    ("anonymous", "numer zastrzeżony", "withheld number"),
    ("text", "Treść", "Text"),
    ("nothing_here", "Brak zgłoszeń.", "Nothing here."),
    ("audio_unavailable", "brak nagrania", "no audio"),
    ("audio_unavailable_long", "Nie udało się pobrać nagrania od operatora. Kategoria i numer dzwoniącego są znane: można oddzwonić.", "The recording could not be downloaded from the provider. The category and the caller's number are known: call back."),
    ("status_open", "w trakcie rozmowy", "call in progress"),
    ("status_awaiting_audio", "pobieranie nagrania", "fetching audio"),
    ("status_awaiting_transcript", "transkrypcja", "transcribing"),
    ("status_draft", "do sprawdzenia", "draft"),
    ("status_confirmed", "potwierdzone", "confirmed"),
    ("status_rejected", "odrzucone", "rejected"),
    ("status_missed_call", "nieodebrane", "missed call"),
    ("lang_pl", "polski", "Polish"),
    ("lang_uk", "ukraiński", "Ukrainian"),
    ("lang_en", "angielski", "English"),
    ("report", "Zgłoszenie", "Report"),
    ("drafts", "Zgłoszenia", "Drafts"),
    ("previous", "Poprzednie", "Previous"),
    ("next", "Następne", "Next"),
    ("menu_path", "Wybory w menu", "Menu choices"),
    ("note", "Uwagi", "Note"),
    ("recording", "Nagranie", "Recording"),
    ("keys_audio", "Alt+K: odtwórz/pauza, Alt+J / Alt+L: 5 s wstecz / naprzód.", "Alt+K: play/pause, Alt+J / Alt+L: 5 s back / forward."),
    ("transcript", "Transkrypcja", "Transcript"),
    ("segments_help", "Kliknij fragment, aby odsłuchać. Podświetlone fragmenty mogą zawierać błędy.", "Click a segment to hear it. Highlighted segments may be wrong."),
    ("low_confidence", "niska pewność", "low confidence"),
    ("unclear", "niezrozumiałe", "unclear"),
    ("unclear_help", "Tego fragmentu nie udało się rozpoznać: odsłuchaj go i uzupełnij tekst.", "This part could not be transcribed: listen to it and complete the text."),
    ("conflict_title", "Ktoś inny zmienił to zgłoszenie", "Someone else changed this report"),
    ("conflict_body", "Twoje zmiany nie zostały zapisane. Poniżej aktualna wersja; przenieś swoje poprawki i zapisz ponownie.", "Your changes were not saved. The current version is below; re-apply your corrections and save again."),
    ("your_text", "Twoja wersja treści:", "Your version of the text:"),
    ("address", "Adres", "Address"),
    ("save", "Zapisz", "Save"),
    ("confirm", "Potwierdź", "Confirm"),
    ("reject", "Odrzuć", "Reject"),
    ("reject_reason", "Powód odrzucenia", "Reason"),
    ("reason_spam", "spam lub żart", "spam or prank"),
    ("reason_silence", "cisza / brak treści", "silence / no content"),
    ("reason_duplicate", "duplikat", "duplicate"),
    ("reason_not_city", "nie jest sprawą miasta", "not a city matter"),
    ("duplicate_of", "Duplikat zgłoszenia nr", "Duplicate of report"),
    ("shortcuts", "Skróty klawiszowe", "Keyboard shortcuts"),
    ("key_play", "odtwórz / pauza", "play / pause"),
    ("key_seek", "5 s wstecz / naprzód", "5 s back / forward"),
    ("key_nav", "następne / poprzednie zgłoszenie (poza polem tekstowym)", "next / previous report (outside text fields)"),
    ("history", "Historia zmian", "History"),
    ("saved", "Zapisano.", "Saved."),
    ("confirmed_msg", "Zgłoszenie potwierdzone.", "Report confirmed."),
    ("rejected_msg", "Zgłoszenie odrzucone.", "Report rejected."),
    ("bad_duplicate", "Nie ma zgłoszenia o takim numerze.", "There is no report with that number."),
    ("not_found", "Nie znaleziono", "Not found"),
    ("not_found_body", "Nie ma takiej strony ani zgłoszenia.", "No such page or report."),
    ("forbidden", "Brak uprawnień", "Not allowed"),
    ("forbidden_body", "Ta strona jest dostępna tylko dla administratorów.", "This page is for administrators only."),
    ("csrf_failed", "Formularz wygasł lub pochodzi z innej strony. Odśwież stronę i spróbuj ponownie.", "The form expired or came from elsewhere. Reload the page and try again."),
    ("error", "Błąd", "Error"),
    ("error_body", "Coś poszło nie tak. Spróbuj ponownie.", "Something went wrong. Please try again."),
    ("back_to_queue", "Wróć do kolejki", "Back to the queue"),
    ("agents", "Konsultanci", "Agents"),
    ("agents_help", "Konta i tokeny zakłada się poleceniami: hotline agent add, hotline token create.", "Accounts and tokens are created with: hotline agent add, hotline token create."),
    ("role", "Rola", "Role"),
    ("created", "Utworzono", "Created"),
    ("tokens", "Tokeny API", "API tokens"),
    ("label", "Opis", "Label"),
    ("last_used", "Ostatnio użyty", "Last used"),
    ("revoked", "Unieważniony", "Revoked"),
    ("when", "Kiedy", "When"),
    ("deliveries", "Powiadomienia systemów miasta (webhooki)", "City system notifications (webhooks)"),
    ("event", "Zdarzenie", "Event"),
    ("endpoint", "Adres", "Endpoint"),
    ("attempt", "Próba", "Attempt"),
    ("result", "Wynik", "Result"),
    ("address_hints", "Rozpoznane adresy:", "Addresses heard:"),
    ("heard", "usłyszano", "heard"),
    ("possible_duplicates", "Możliwe duplikaty (ta sama kategoria i ulica):", "Possible duplicates (same category and street):"),
    ("duplicate_help", "Jeśli to ta sama sprawa, odrzuć jako duplikat i wpisz numer.", "If it is the same matter, reject as a duplicate and enter its number."),
    ("who", "Kto", "Who"),
    ("what", "Co", "What"),
];

/// The words of the workspace in `lang` (`pl` unless `en`).
pub fn texts(lang: &str) -> BTreeMap<&'static str, &'static str> {
    let en = lang == "en";
    TEXTS
        .iter()
        .map(|(k, pl, e)| (*k, if en { *e } else { *pl }))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = super::TEXTS.iter().map(|t| t.0).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }
}
