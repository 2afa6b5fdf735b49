//! The report's lifecycle as a pure function, like `ivr::step`: what an
//! agent may do to a report in each status and the status it leads to. The
//! store persists the outcome; the workspace and the API ask here whether a
//! report may be edited or decided, so the rule is written once.

use super::{RejectReason, ReportStatus};

/// What an agent does to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAction {
    /// Correct the text, category or address.
    Edit,
    Confirm,
    Reject(RejectReason),
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
}

/// The status `action` leads to from `status`, or why it is refused.
pub fn apply(status: ReportStatus, action: AgentAction) -> Result<ReportStatus, Refused> {
    use ReportStatus::*;
    match (status, action) {
        (Open | AwaitingAudio | AwaitingTranscript, _) => Err(Refused::NotReady(status)),
        (Confirmed | Rejected, _) => Err(Refused::Decided(status)),
        (Draft | MissedCall, AgentAction::Edit) => Ok(status),
        (Draft, AgentAction::Confirm) => Ok(Confirmed),
        (MissedCall, AgentAction::Confirm) => Err(Refused::NothingToConfirm(status)),
        (Draft | MissedCall, AgentAction::Reject(_)) => Ok(Rejected),
    }
}

/// Whether an agent may correct the report now.
pub fn may_edit(status: ReportStatus) -> bool {
    apply(status, AgentAction::Edit).is_ok()
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
    fn reject_reasons_read_and_write_their_codes() {
        for r in RejectReason::ALL {
            assert_eq!(r.as_str().parse::<RejectReason>(), Ok(*r));
        }
        assert!("other".parse::<RejectReason>().is_err());
    }
}
