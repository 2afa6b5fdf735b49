//! The line by the clock, for the front-ends: what the line does at a
//! moment (the schedule in `prompts/schedule.toml` and the override in
//! force), what the IVR is told of it, and staff announcements checked
//! before they are stored. Used by the webhooks, the workspace and the CLI.

use crate::config::Config;
use crate::domain::schedule::{LineState, Reason, Schedule, ScheduleError};
use crate::domain::{has_stray_controls, Millis};
use crate::ivr::{Context, LineCondition};
use crate::prompts::{PromptError, PromptSource};
use crate::store::{NewAnnouncement, OverrideRow, Store, StoreError};

/// Longest announcement text per language (about twenty seconds spoken).
pub const MAX_ANNOUNCEMENT_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error(transparent)]
    Read(#[from] PromptError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `schedule.toml` from the prompts (the compiled-in one unless replaced).
pub fn load_schedule(src: &PromptSource) -> Result<Schedule, LineError> {
    match src.read("schedule.toml")? {
        Some(text) => Ok(Schedule::parse(&text)?),
        None => Ok(Schedule::default()),
    }
}

/// What the line does at `at`, and the override behind it if one is in force.
pub async fn state(
    store: &Store,
    schedule: &Schedule,
    at: Millis,
) -> Result<(LineState, Option<OverrideRow>), LineError> {
    let over = store.active_override(at).await?;
    let rule = over.as_ref().map(OverrideRow::rule);
    Ok((schedule.state(at, rule.as_ref()), over))
}

/// What the IVR is told at `at`: the line's state and the announcements
/// playing when the step needs them ([`crate::ivr::needs_line`]; two
/// reads), the configuration's part always.
pub async fn context(
    store: &Store,
    schedule: &Schedule,
    cfg: &Config,
    at: Millis,
    needs_line: bool,
) -> Result<Context, LineError> {
    let mut ctx = Context {
        consultants: cfg.consultants.destination.clone(),
        retention_days: cfg.retention.audio_days,
        ..Context::default()
    };
    if needs_line {
        let over = store.active_override(at).await?;
        let (staffed, reason) = schedule.at(at, over.map(|o| o.rule()).as_ref());
        ctx.line = condition(staffed, &reason);
        ctx.announcements = store
            .active_announcements(at)
            .await?
            .into_iter()
            .map(|a| [a.text_pl, a.text_uk, a.text_en])
            .collect();
    }
    Ok(ctx)
}

/// How the caller is told of the line's state.
pub fn condition(staffed: bool, reason: &Reason) -> LineCondition {
    match reason {
        _ if staffed => LineCondition::Staffed,
        Reason::Holiday(h) => LineCondition::Holiday(*h),
        Reason::ClosureDay => LineCondition::ClosureDay,
        _ => LineCondition::Closed,
    }
}

/// Why an announcement cannot be stored, in the agents' words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnouncementError {
    #[error("Komunikat po polsku jest wymagany.")]
    NoPolish,
    #[error("Komunikat może mieć najwyżej {MAX_ANNOUNCEMENT_CHARS} znaków w każdym języku.")]
    TooLong,
    #[error("Komunikat zawiera niedozwolone znaki.")]
    Controls,
    #[error("Koniec komunikatu musi być po jego początku i w przyszłości.")]
    BadPeriod,
}

/// An announcement as staff wrote it, checked: Polish required, every
/// text at most [`MAX_ANNOUNCEMENT_CHARS`], no control characters, ending
/// after it starts and after `now`.
pub fn announcement(
    texts: [&str; 3],
    starts_at: Millis,
    ends_at: Millis,
    now: Millis,
) -> Result<NewAnnouncement, AnnouncementError> {
    let [pl, uk, en] = texts.map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "));
    if pl.is_empty() {
        return Err(AnnouncementError::NoPolish);
    }
    if [&pl, &uk, &en]
        .iter()
        .any(|t| t.chars().count() > MAX_ANNOUNCEMENT_CHARS)
    {
        return Err(AnnouncementError::TooLong);
    }
    if texts.iter().any(|t| has_stray_controls(t)) {
        return Err(AnnouncementError::Controls);
    }
    if ends_at <= starts_at || ends_at <= now {
        return Err(AnnouncementError::BadPeriod);
    }
    Ok(NewAnnouncement {
        text_pl: pl,
        text_uk: uk,
        text_en: en,
        starts_at,
        ends_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_checked() {
        let ok = announcement(["  MPEC wie o awarii\n ciepła ", "", ""], 0, 10, 5).unwrap();
        assert_eq!(ok.text_pl, "MPEC wie o awarii ciepła");
        assert_eq!(
            announcement(["", "x", "y"], 0, 10, 5),
            Err(AnnouncementError::NoPolish)
        );
        let long = "a".repeat(MAX_ANNOUNCEMENT_CHARS + 1);
        assert_eq!(
            announcement(["a", &long, ""], 0, 10, 5),
            Err(AnnouncementError::TooLong)
        );
        assert_eq!(
            announcement(["a\u{7}", "", ""], 0, 10, 5),
            Err(AnnouncementError::Controls)
        );
        assert_eq!(
            announcement(["a", "", ""], 10, 10, 5),
            Err(AnnouncementError::BadPeriod)
        );
        assert_eq!(
            announcement(["a", "", ""], 0, 4, 5),
            Err(AnnouncementError::BadPeriod)
        );
    }
}
