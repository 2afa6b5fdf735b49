//! The report's lifecycle as a pure function, like `ivr::step`: what an
//! agent may do to a report in each status and the status it leads to. The
//! store persists the outcome; the workspace and the API ask here whether a
//! report may be edited or decided, so the rule is written once.

use super::{CallbackOutcome, Millis, RejectReason, ReportStatus};

/// What an agent does to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAction {
    /// Correct the text, category or address.
    Edit,
    Confirm,
    Reject(RejectReason),
    /// A missed call called back, with what came of it.
    CalledBack(CallbackOutcome),
}

/// Why an action may not be done now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The report is still in the pipeline (the call, the download, the
    /// transcription): there is nothing to decide yet.
    #[error("the report is still being processed ({0})")]
    NotReady(ReportStatus),
    /// An agent has decided it already.
    #[error("the report is already {0}")]
    Decided(ReportStatus),
    /// A missed call holds no report to confirm; it can be rejected.
    #[error("a {0} report cannot be confirmed")]
    NothingToConfirm(ReportStatus),
    /// Only a decided report can be reopened.
    #[error("the report is not decided ({0})")]
    NotDecided(ReportStatus),
    /// Only a missed call is called back.
    #[error("a {0} report is not a missed call")]
    NotMissed(ReportStatus),
}

/// The status `action` leads to from `status`, or why it is refused.
pub fn apply(status: ReportStatus, action: AgentAction) -> Result<ReportStatus, Refused> {
    use ReportStatus::*;
    match (status, action) {
        (Open | AwaitingAudio | AwaitingTranscript, _) => Err(Refused::NotReady(status)),
        (Confirmed | Rejected | Closed, _) => Err(Refused::Decided(status)),
        (Draft | MissedCall, AgentAction::Edit) => Ok(status),
        (Draft, AgentAction::Confirm) => Ok(Confirmed),
        (MissedCall, AgentAction::Confirm) => Err(Refused::NothingToConfirm(status)),
        (Draft | MissedCall, AgentAction::Reject(_)) => Ok(Rejected),
        (MissedCall, AgentAction::CalledBack(o)) => Ok(match o {
            // The report taken by phone is a new draft following it.
            CallbackOutcome::Filed => Closed,
            CallbackOutcome::NoAnswer => MissedCall,
            CallbackOutcome::NotNeeded => Closed,
        }),
        (Draft, AgentAction::CalledBack(_)) => Err(Refused::NotMissed(status)),
    }
}

/// Whether an agent may correct the report now.
pub fn may_edit(status: ReportStatus) -> bool {
    apply(status, AgentAction::Edit).is_ok()
}

/// How long after a decision its agent may undo it (administrators may
/// reopen a decided report at any time).
pub const UNDO_MS: Millis = 30_000;

/// What the report holds when an agent decides it, as the decision
/// needs it (after the agent's edits in the same submission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decidable<'a> {
    pub text: &'a str,
    /// The category is one of the menu's.
    pub category_known: bool,
}

/// The report a duplicate names, as the store found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Original {
    /// None named.
    Unnamed,
    /// A number that is malformed or names no report.
    Unknown,
    /// The report being decided.
    Itself,
    Other(i64),
}

/// What keeps a decision from being made; the agent is told each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Incomplete {
    #[error("a report is confirmed with its text")]
    NoText,
    #[error("a report is confirmed with a category")]
    NoCategory,
    #[error("a duplicate names the report it duplicates")]
    NoOriginal,
    #[error("a report cannot duplicate itself")]
    SelfDuplicate,
    #[error("the duplicated report does not exist")]
    UnknownOriginal,
}

impl Incomplete {
    /// The key of the words that tell the agent.
    pub fn key(self) -> &'static str {
        match self {
            Self::NoText => "need_text",
            Self::NoCategory => "need_category",
            Self::NoOriginal => "need_original",
            Self::SelfDuplicate => "self_duplicate",
            Self::UnknownOriginal => "unknown_original",
        }
    }
}

/// Whether `action` may be taken on a report holding `r`, naming a
/// duplicate's `original`: every missing piece, or the original's id
/// (for a duplicate). The UI and the API both ask here before saving
/// anything.
pub fn check(
    action: AgentAction,
    r: Decidable,
    original: Original,
) -> Result<Option<i64>, Vec<Incomplete>> {
    let mut missing = Vec::new();
    match action {
        AgentAction::Confirm => {
            if r.text.trim().is_empty() {
                missing.push(Incomplete::NoText);
            }
            if !r.category_known {
                missing.push(Incomplete::NoCategory);
            }
        }
        AgentAction::Reject(RejectReason::Duplicate) => match original {
            Original::Unnamed => missing.push(Incomplete::NoOriginal),
            Original::Unknown => missing.push(Incomplete::UnknownOriginal),
            Original::Itself => missing.push(Incomplete::SelfDuplicate),
            Original::Other(id) => return Ok(Some(id)),
        },
        AgentAction::Reject(_) | AgentAction::Edit | AgentAction::CalledBack(_) => {}
    }
    match missing.is_empty() {
        true => Ok(None),
        false => Err(missing),
    }
}

/// The status a decided report returns to when reopened (`was`: its status
/// before the decision), or why it cannot be.
pub fn reopen(status: ReportStatus, was: ReportStatus) -> Result<ReportStatus, Refused> {
    use ReportStatus::*;
    match (status, was) {
        (Confirmed | Rejected, MissedCall) | (Closed, _) => Ok(MissedCall),
        (Confirmed | Rejected, _) => Ok(Draft),
        _ => Err(Refused::NotDecided(status)),
    }
}

/// Whether `agent`, deciding at `decided_at` as `decided_by`, may still
/// undo the decision at `now`.
pub fn may_undo(
    decided_by: Option<&str>,
    decided_at: Option<Millis>,
    agent: &str,
    now: Millis,
) -> bool {
    decided_by == Some(agent) && decided_at.is_some_and(|at| now >= at && now - at <= UNDO_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_action() {
        use ReportStatus::*;
        let reject = AgentAction::Reject(RejectReason::Spam);
        for (status, edit, confirm, rejected) in [
            (Open, false, None, None),
            (AwaitingAudio, false, None, None),
            (AwaitingTranscript, false, None, None),
            (Draft, true, Some(Confirmed), Some(Rejected)),
            (MissedCall, true, None, Some(Rejected)),
            (Confirmed, false, None, None),
            (Rejected, false, None, None),
            (Closed, false, None, None),
        ] {
            assert_eq!(may_edit(status), edit, "{status}");
            assert_eq!(
                apply(status, AgentAction::Confirm).ok(),
                confirm,
                "{status}"
            );
            assert_eq!(apply(status, reject).ok(), rejected, "{status}");
        }
        assert_eq!(
            apply(Confirmed, AgentAction::Confirm),
            Err(Refused::Decided(Confirmed))
        );
        assert_eq!(
            apply(MissedCall, AgentAction::Confirm)
                .unwrap_err()
                .to_string(),
            "a missed_call report cannot be confirmed"
        );
        assert_eq!(
            apply(Rejected, reject).unwrap_err().to_string(),
            "the report is already rejected"
        );
    }

    #[test]
    fn a_decision_needs_what_it_decides_on() {
        let empty = Decidable {
            text: "  ",
            category_known: false,
        };
        let full = Decidable {
            text: "Dziura w jezdni",
            category_known: true,
        };
        assert_eq!(
            check(AgentAction::Confirm, empty, Original::Unnamed),
            Err(vec![Incomplete::NoText, Incomplete::NoCategory])
        );
        assert_eq!(
            check(AgentAction::Confirm, full, Original::Unnamed),
            Ok(None)
        );
        let dup = AgentAction::Reject(RejectReason::Duplicate);
        for (original, want) in [
            (Original::Unnamed, Err(vec![Incomplete::NoOriginal])),
            (Original::Unknown, Err(vec![Incomplete::UnknownOriginal])),
            (Original::Itself, Err(vec![Incomplete::SelfDuplicate])),
            (Original::Other(7), Ok(Some(7))),
        ] {
            assert_eq!(check(dup, empty, original), want, "{original:?}");
        }
        // Spam needs nothing, not even text.
        let spam = AgentAction::Reject(RejectReason::Spam);
        assert_eq!(check(spam, empty, Original::Unnamed), Ok(None));
    }

    #[test]
    fn a_missed_call_called_back() {
        use CallbackOutcome::*;
        use ReportStatus::*;
        let back = |o| AgentAction::CalledBack(o);
        assert_eq!(apply(MissedCall, back(Filed)), Ok(Closed));
        assert_eq!(apply(MissedCall, back(NoAnswer)), Ok(MissedCall));
        assert_eq!(apply(MissedCall, back(NotNeeded)), Ok(Closed));
        assert_eq!(apply(Draft, back(Filed)), Err(Refused::NotMissed(Draft)));
        assert_eq!(apply(Closed, back(Filed)), Err(Refused::Decided(Closed)));
        assert_eq!(reopen(Closed, Draft), Ok(MissedCall));
    }

    #[test]
    fn undo_is_the_deciders_for_thirty_seconds_and_reopen_returns_the_status() {
        assert!(may_undo(Some("jan"), Some(1_000), "jan", 1_000 + UNDO_MS));
        assert!(!may_undo(Some("jan"), Some(1_000), "jan", 1_001 + UNDO_MS));
        assert!(!may_undo(Some("jan"), Some(1_000), "ewa", 2_000));
        assert!(!may_undo(None, None, "jan", 2_000));
        use ReportStatus::*;
        assert_eq!(reopen(Confirmed, Draft), Ok(Draft));
        assert_eq!(reopen(Rejected, MissedCall), Ok(MissedCall));
        assert_eq!(reopen(Draft, Draft), Err(Refused::NotDecided(Draft)));
    }

    #[test]
    fn reject_reasons_read_and_write_their_codes() {
        for r in RejectReason::ALL {
            assert_eq!(r.as_str().parse::<RejectReason>(), Ok(*r));
        }
        assert!("other".parse::<RejectReason>().is_err());
    }
}
