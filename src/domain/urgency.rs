//! When a report is urgent, and when an urgent report wakes the on-call
//! officer. Pure rules; the phrases themselves are matched by
//! [`crate::urgent`], the line's hours come from [`super::schedule`].

crate::domain::string_enum!(
    /// What made a report urgent.
    UrgentKind {
        /// An urgent phrase of its language was heard in the transcript;
        /// the reason is the phrase.
        Heard = "heard",
        /// The caller was offered a 24/7 service and left a report
        /// instead (or the transfer failed); the reason is the service.
        Referral = "referral",
    }
);

crate::domain::string_enum!(
    /// When an urgent report is sent to the on-call officer.
    EscalateWhen {
        /// Day and night.
        Always = "always",
        /// Only while KCK is not staffed (nights, weekends, holidays,
        /// closures): in staffed hours agents see it first in the queue.
        OutsideStaffedHours = "outside_staffed_hours",
        /// Never (triage only: the badge and the queue's order).
        Never = "never",
    }
);

/// Why a report is urgent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urgency {
    pub kind: UrgentKind,
    /// The phrase heard, or the 24/7 service's name.
    pub reason: String,
}

/// A report is urgent when its category allows it and an urgent phrase
/// was heard, or when the caller turned down (or could not reach) a 24/7
/// service and left a report instead. The phrase wins: it says what is
/// happening.
pub fn urgency(
    category_allows: bool,
    heard: Option<String>,
    declined_service: Option<String>,
) -> Option<Urgency> {
    let heard = heard.filter(|_| category_allows).map(|reason| Urgency {
        kind: UrgentKind::Heard,
        reason,
    });
    heard.or_else(|| {
        declined_service.map(|reason| Urgency {
            kind: UrgentKind::Referral,
            reason,
        })
    })
}

/// Whether a call's menu path (`language:1 > main:3 > referral:2`) shows a
/// 24/7 service offered and a report left instead: the caller pressed 2,
/// or pressed 1 and the transfer did not connect (a recording followed).
pub fn declined_referral(menu_path: &str) -> bool {
    menu_path
        .split(" > ")
        .any(|step| step == "referral:2" || step == "referral:1")
}

/// Whether an urgent report goes to the on-call officer now.
pub fn escalates(when: EscalateWhen, staffed: bool) -> bool {
    match when {
        EscalateWhen::Always => true,
        EscalateWhen::OutsideStaffedHours => !staffed,
        EscalateWhen::Never => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phrase_counts_only_where_the_category_allows_it() {
        let gas = Some("czuć gaz".to_owned());
        assert_eq!(urgency(false, gas.clone(), None), None);
        assert_eq!(
            urgency(true, gas.clone(), Some("Pogotowie gazowe".into())),
            Some(Urgency {
                kind: UrgentKind::Heard,
                reason: "czuć gaz".into()
            })
        );
        assert_eq!(
            urgency(false, gas, Some("Pogotowie gazowe".into())).map(|u| u.kind),
            Some(UrgentKind::Referral)
        );
        assert_eq!(urgency(true, None, None), None);
    }

    #[test]
    fn a_declined_service_is_read_from_the_path() {
        assert!(declined_referral("language:1 > main:3 > referral:2"));
        assert!(declined_referral("language:1 > main:3 > referral:1"));
        assert!(!declined_referral("language:1 > main:3"));
        assert!(!declined_referral("language:1 > main:default"));
        assert!(!declined_referral(""));
    }

    #[test]
    fn escalation_follows_the_hours() {
        assert!(escalates(EscalateWhen::Always, true));
        assert!(!escalates(EscalateWhen::OutsideStaffedHours, true));
        assert!(escalates(EscalateWhen::OutsideStaffedHours, false));
        assert!(!escalates(EscalateWhen::Never, false));
    }
}
