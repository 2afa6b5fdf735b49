//! Every transition of the IVR state machine, without HTTP.

use hotline::domain::schedule::holiday;
use hotline::domain::Language;
use hotline::ivr::{
    self, Action, Context, DialOutcome, Effect, Event, IvrState, LineCondition, Next, Phrase,
    Script, Stage,
};
use hotline::prompts::PromptSource;

fn script() -> Script {
    Script::load(&PromptSource::builtin()).unwrap()
}

fn run(s: &Script, events: &[Event]) -> (IvrState, Vec<Vec<Action>>, Vec<Effect>) {
    run_in(s, &Context::default(), events)
}

fn run_in(
    s: &Script,
    ctx: &Context,
    events: &[Event],
) -> (IvrState, Vec<Vec<Action>>, Vec<Effect>) {
    let mut state = IvrState::default();
    let mut all = Vec::new();
    let mut effects = Vec::new();
    for e in events {
        let t = ivr::step(s, &state, e, ctx);
        assert_eq!(t.state.step, state.step + 1, "every response is a new step");
        state = t.state;
        all.push(t.actions);
        effects.extend(t.effects);
    }
    (state, all, effects)
}

fn digits(d: &str) -> Event {
    Event::Digits(d.into())
}

fn says(actions: &[Action], phrase: Phrase) -> bool {
    spoken(actions).iter().any(|l| l.phrase == phrase)
}

fn spoken(actions: &[Action]) -> Vec<&ivr::Line> {
    actions
        .iter()
        .flat_map(|a| match a {
            Action::Say(l) => vec![l],
            Action::Gather(lines) | Action::GatherNumber(lines) => lines.iter().collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn the_112_notice_comes_first_and_the_languages_in_a_gather() {
    let s = script();
    let (state, actions, _) = run(&s, &[Event::Start]);
    assert_eq!(state.stage, Stage::Language { attempts: 0 });
    let a = &actions[0];
    assert!(
        matches!(&a[0], Action::Say(l) if l.phrase == Phrase::Emergency && l.language == Language::Pl),
        "the Polish notice before anything else: {a:?}"
    );
    assert!(s.phrase(Language::Pl, Phrase::Emergency).contains("112"));
    match &a[1] {
        Action::Gather(lines) => {
            let said: Vec<(Language, Phrase)> =
                lines.iter().map(|l| (l.language, l.phrase)).collect();
            assert_eq!(
                said,
                vec![
                    (Language::Uk, Phrase::Emergency),
                    (Language::En, Phrase::Emergency),
                    (Language::Pl, Phrase::LanguageOption),
                    (Language::Uk, Phrase::LanguageOption),
                    (Language::En, Phrase::LanguageOption),
                ],
                "the other notices and each option in its own language, all skippable by a key"
            );
            for l in lines.iter().filter(|l| l.phrase == Phrase::Emergency) {
                let text = l.text(&s);
                assert!(
                    text.contains("112") || text.contains("one one two"),
                    "{text}"
                );
            }
        }
        other => panic!("expected a gather, got {other:?}"),
    }
    assert_eq!(a[2], Action::Redirect(Next::Timeout));
}

#[test]
fn after_the_language_the_line_state_privacy_channels_and_announcements() {
    let s = script();
    let ctx = Context {
        announcements: vec![
            [
                "MPEC wie o awarii ciepła na Podgórzu.".into(),
                "".into(),
                "MPEC knows of the heating failure.".into(),
            ],
            [
                "Druga <informacja> & więcej".into(),
                "Друга інформація".into(),
                "".into(),
            ],
        ],
        retention_days: 30,
        ..Context::default()
    };
    let (state, actions, _) = run_in(&s, &ctx, &[Event::Start, digits("3")]);
    assert_eq!(state.language, Some(Language::En));
    let Action::Gather(lines) = &actions[1][0] else {
        panic!("{:?}", actions[1])
    };
    let said: Vec<Phrase> = lines.iter().map(|l| l.phrase).collect();
    assert_eq!(
        &said[..6],
        &[
            Phrase::StateClosed,
            Phrase::PrivacyShort,
            Phrase::TextChannels,
            Phrase::Announcement,
            Phrase::Announcement,
            Phrase::MenuIntro,
        ]
    );
    assert!(
        lines[1].text(&s).contains("30 days"),
        "{}",
        lines[1].text(&s)
    );
    assert!(
        lines[1].text(&s).contains("nine"),
        "press 9 for the full notice"
    );
    assert_eq!(lines[3].language, Language::En);
    assert!(lines[3].text(&s).contains("MPEC knows"));
    assert_eq!(
        lines[4].language,
        Language::Pl,
        "no English text: the Polish one"
    );
    assert!(lines[4].text(&s).contains("Druga <informacja> & więcej"));
    // Uk and Pl callers get their own texts in the same order.
    let (_, actions, _) = run_in(&s, &ctx, &[Event::Start, digits("2")]);
    let Action::Gather(lines) = &actions[1][0] else {
        panic!()
    };
    let texts: Vec<String> = lines
        .iter()
        .filter(|l| l.phrase == Phrase::Announcement)
        .map(|l| l.text(&s))
        .collect();
    assert!(
        texts[0].contains("MPEC wie") && texts[1].contains("Друга"),
        "{texts:?}"
    );
    // A repeat (*) is the menu alone.
    let (_, actions, _) = run_in(&s, &ctx, &[Event::Start, digits("1"), digits("*")]);
    let Action::Gather(lines) = &actions[2][0] else {
        panic!()
    };
    assert_eq!(lines[0].phrase, Phrase::MenuIntro);
}

#[test]
fn the_line_state_names_the_holiday_a_closure_and_an_open_office() {
    let s = script();
    let easter_monday = holiday(jiff::civil::date(2027, 3, 29)).unwrap();
    for (line, phrase, lang, needle) in [
        (
            LineCondition::Holiday(easter_monday),
            Phrase::StateHoliday,
            "1",
            "Poniedziałek Wielkanocny",
        ),
        (
            LineCondition::Holiday(easter_monday),
            Phrase::StateHoliday,
            "3",
            "Easter Monday",
        ),
        (LineCondition::ClosureDay, Phrase::StateClosure, "1", ""),
        (LineCondition::Staffed, Phrase::StateStaffed, "1", ""),
    ] {
        let ctx = Context {
            line,
            ..Context::default()
        };
        let (state, actions, effects) = run_in(&s, &ctx, &[Event::Start, digits(lang)]);
        assert!(
            matches!(state.stage, Stage::Menu { .. }),
            "{line:?}: intake"
        );
        assert!(effects.is_empty());
        let Action::Gather(lines) = &actions[1][0] else {
            panic!()
        };
        assert_eq!(lines[0].phrase, phrase);
        assert!(lines[0].text(&s).contains(needle), "{}", lines[0].text(&s));
    }
}

#[test]
fn staffed_hours_dial_the_consultants_and_fall_back_to_the_intake() {
    let s = script();
    let ctx = Context {
        line: LineCondition::Staffed,
        consultants: Some("+48126165555".into()),
        ..Context::default()
    };
    let (state, actions, effects) = run_in(&s, &ctx, &[Event::Start, digits("1")]);
    assert_eq!(state.stage, Stage::Dialling { category: None });
    assert!(says(&actions[1], Phrase::Connecting));
    assert!(actions[1].contains(&Action::Dial {
        to: "+48126165555".into()
    }));
    assert_eq!(
        effects,
        vec![Effect::DialStarted {
            to: "+48126165555".into(),
            category: None
        }]
    );
    let done = Event::Dialled {
        outcome: DialOutcome::Completed,
        seconds: Some(120),
    };
    let (state, actions, effects) = run_in(&s, &ctx, &[Event::Start, digits("1"), done]);
    assert_eq!(state.stage, Stage::Done);
    assert_eq!(
        actions[2],
        vec![Action::Hangup],
        "answered: the call ends there"
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::OpenReport { .. })),
        "nothing filed"
    );
    for outcome in [
        DialOutcome::NoAnswer,
        DialOutcome::Busy,
        DialOutcome::Failed,
    ] {
        let ended = Event::Dialled {
            outcome,
            seconds: None,
        };
        let (state, actions, effects) = run_in(
            &s,
            &ctx,
            &[
                Event::Start,
                digits("2"),
                ended,
                digits("4"),
                Event::Recorded,
                Event::Timeout,
            ],
        );
        assert!(
            effects.contains(&Effect::DialEnded {
                outcome,
                seconds: None
            }),
            "{outcome:?}"
        );
        let Action::Gather(lines) = &actions[2][0] else {
            panic!("{:?}", actions[2])
        };
        assert_eq!(
            lines[0].phrase,
            Phrase::StateBusy,
            "{outcome:?}: told all are busy"
        );
        assert_eq!(lines[0].language, Language::Uk);
        assert_eq!(
            state.category.as_deref(),
            Some("greenery"),
            "{outcome:?}: a report"
        );
        assert_eq!(state.stage, Stage::Done);
    }
    // Announcements come before the connection.
    let with_news = Context {
        announcements: vec![["Awaria ciepła na Podgórzu.".into(), "".into(), "".into()]],
        ..ctx.clone()
    };
    let (_, actions, _) = run_in(&s, &with_news, &[Event::Start, digits("1")]);
    assert!(
        matches!(&actions[1][0], Action::Say(l) if l.phrase == Phrase::Announcement),
        "{:?}",
        actions[1]
    );
    assert!(matches!(actions[1].last(), Some(Action::Dial { .. })));
    // Staffed without a destination: the intake, never a Dial.
    let ctx = Context {
        line: LineCondition::Staffed,
        ..Context::default()
    };
    let (_, actions, _) = run_in(&s, &ctx, &[Event::Start, digits("1")]);
    assert!(!actions[1].iter().any(|a| matches!(a, Action::Dial { .. })));
}

#[test]
fn nine_reads_the_full_privacy_notice_then_the_menu() {
    let s = script();
    let (state, actions, _) = run(&s, &[Event::Start, digits("1"), digits("9")]);
    assert_eq!(
        state.stage,
        Stage::Privacy {
            menu: "main".into()
        }
    );
    let Action::Gather(lines) = &actions[2][0] else {
        panic!()
    };
    let notice = lines[0].text(&s);
    assert_eq!(lines[0].phrase, Phrase::PrivacyFull);
    assert!(
        notice.contains("iod@") || notice.contains("Inspektor") || notice.contains("inspektor"),
        "{notice}"
    );
    assert!(
        notice.contains("90") && !notice.contains('{'),
        "retention filled in: {notice}"
    );
    for back in [Event::Timeout, digits("5")] {
        let (state, actions, _) = run(&s, &[Event::Start, digits("1"), digits("9"), back]);
        assert_eq!(
            state.stage,
            Stage::Menu {
                id: "main".into(),
                attempts: 0
            }
        );
        let Action::Gather(lines) = &actions[3][0] else {
            panic!()
        };
        assert_eq!(lines[0].phrase, Phrase::MenuIntro);
    }
}

#[test]
fn a_category_with_a_24_7_service_offers_a_transfer() {
    let s = script();
    let water = ["5", "1"];
    let water_events = |then: &[Event]| {
        let mut e = vec![
            Event::Start,
            digits("1"),
            digits(water[0]),
            digits(water[1]),
        ];
        e.extend_from_slice(then);
        e
    };
    let (state, actions, effects) = run(&s, &water_events(&[]));
    assert_eq!(
        state.stage,
        Stage::Referral {
            category: "water".into(),
            attempts: 0
        }
    );
    assert!(effects.is_empty(), "no report yet");
    let Action::Gather(lines) = &actions[3][0] else {
        panic!()
    };
    let offer = lines[0].text(&s);
    assert!(
        offer.contains("Wodociąg") && offer.contains("jeden"),
        "{offer}"
    );
    // 1: connected to 994.
    let (state, actions, effects) = run(&s, &water_events(&[digits("1")]));
    assert_eq!(
        state.stage,
        Stage::Dialling {
            category: Some("water".into())
        }
    );
    assert!(actions[4].contains(&Action::Dial { to: "994".into() }));
    assert_eq!(
        effects,
        vec![Effect::DialStarted {
            to: "994".into(),
            category: Some("water".into())
        }]
    );
    let done = Event::Dialled {
        outcome: DialOutcome::Completed,
        seconds: Some(60),
    };
    let (state, _, effects) = run(&s, &water_events(&[digits("1"), done]));
    assert_eq!(state.stage, Stage::Done);
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::OpenReport { .. })));
    // A failed transfer returns to the report, in the same category.
    let failed = Event::Dialled {
        outcome: DialOutcome::Busy,
        seconds: None,
    };
    let (state, actions, effects) = run(&s, &water_events(&[digits("1"), failed]));
    assert_eq!(
        state.stage,
        Stage::Recording {
            attempt: 0,
            again: false
        }
    );
    assert!(says(&actions[5], Phrase::TransferFailed));
    assert!(effects.contains(&Effect::OpenReport {
        category: "water".into(),
        language: Language::Pl
    }));
    // 2 or silence: leave a report.
    for then in [digits("2"), Event::Timeout] {
        let (state, actions, _) = run(&s, &water_events(&[then]));
        assert_eq!(
            state.stage,
            Stage::Recording {
                attempt: 0,
                again: false
            }
        );
        assert!(actions[4].contains(&Action::Record));
    }
    // A category without a service goes straight to the recording.
    let (state, _, _) = run(&s, &[Event::Start, digits("1"), digits("2")]);
    assert_eq!(
        state.stage,
        Stage::Recording {
            attempt: 0,
            again: false
        }
    );
    // Kraków's services as shipped.
    for (code, number) in [
        ("water", "994"),
        ("roads", "12 616 75 55"),
        ("public_order", "986"),
        ("heating", "993"),
        ("gas", "992"),
        ("power", "991"),
    ] {
        let r = s
            .menu
            .referral(code)
            .unwrap_or_else(|| panic!("{code} has no referral"));
        assert_eq!(r.number, number, "{code}");
        assert!(r.transfer, "{code}");
    }
}

#[test]
fn language_choice_timeout_and_invalid_keys() {
    let s = script();
    let (state, _, _) = run(&s, &[Event::Start, digits("2")]);
    assert_eq!(
        (state.language, &state.stage),
        (
            Some(Language::Uk),
            &Stage::Menu {
                id: "main".into(),
                attempts: 0
            }
        )
    );
    let (state, _, _) = run(&s, &[Event::Start, Event::Timeout]);
    assert_eq!(state.language, Some(Language::Pl), "Polish on timeout");
    let (state, actions, _) = run(&s, &[Event::Start, digits("9")]);
    assert_eq!(state.stage, Stage::Language { attempts: 1 });
    let invalid: Vec<Language> = actions[1]
        .iter()
        .filter_map(|a| match a {
            Action::Say(l) if l.phrase == Phrase::Invalid => Some(l.language),
            _ => None,
        })
        .collect();
    assert_eq!(invalid, Language::ALL.to_vec(), "in all three languages");
    let (state, _, _) = run(&s, &[Event::Start, digits("9"), digits("7"), digits("8")]);
    assert_eq!(
        state.language,
        Some(Language::Pl),
        "Polish after repeated invalid keys"
    );
    let (state, actions, _) = run(&s, &[Event::Start, digits("*")]);
    assert_eq!(
        state.stage,
        Stage::Language { attempts: 0 },
        "* repeats without counting"
    );
    assert!(matches!(actions[1][0], Action::Gather(_)));
}

#[test]
fn categories_submenus_back_and_repeat() {
    let s = script();
    let (state, actions, effects) = run(&s, &[Event::Start, digits("1"), digits("2")]);
    assert_eq!(state.category.as_deref(), Some("lighting"));
    assert_eq!(
        state.stage,
        Stage::Recording {
            attempt: 0,
            again: false
        }
    );
    assert_eq!(
        effects,
        vec![Effect::OpenReport {
            category: "lighting".into(),
            language: Language::Pl
        }]
    );
    let last = actions.last().unwrap();
    assert!(says(last, Phrase::Instructions));
    assert!(last.contains(&Action::Record));
    assert_eq!(
        last.last(),
        Some(&Action::Redirect(Next::NoRecording)),
        "empty recordings fall through to a redirect"
    );
    assert_eq!(state.path, vec!["language:1", "main:2"]);

    let (state, actions, _) = run(&s, &[Event::Start, digits("3"), digits("5")]);
    assert_eq!(
        state.stage,
        Stage::Menu {
            id: "more".into(),
            attempts: 0
        }
    );
    assert!(says(&actions[2], Phrase::Back));
    let (state, _, _) = run(&s, &[Event::Start, digits("3"), digits("5"), digits("2")]);
    assert_eq!(
        (state.category.as_deref(), state.language),
        (Some("winter"), Some(Language::En))
    );
    let (state, _, _) = run(&s, &[Event::Start, digits("1"), digits("5"), digits("0")]);
    assert_eq!(
        state.stage,
        Stage::Menu {
            id: "main".into(),
            attempts: 0
        },
        "0 goes back"
    );
    let (state, _, _) = run(&s, &[Event::Start, digits("1"), digits("*"), digits("*")]);
    assert_eq!(
        state.stage,
        Stage::Menu {
            id: "main".into(),
            attempts: 0
        },
        "* repeats"
    );
    // At most six options per level, 9 left for the privacy notice,
    // every category reachable.
    for m in &s.menu.menus {
        assert!(
            m.options.len() <= 6,
            "{} has {} options",
            m.id,
            m.options.len()
        );
        assert!(m.options.iter().all(|o| o.digit != "9"));
    }
    for c in &s.menu.categories {
        let reachable = s.menu.menus.iter().any(|m| {
            m.options
                .iter()
                .any(|o| o.category.as_deref() == Some(c.code.as_str()))
        });
        assert!(reachable, "{} unreachable", c.code);
    }
}

#[test]
fn two_reprompts_then_other() {
    let s = script();
    let (state, actions, _) = run(&s, &[Event::Start, digits("1"), Event::Timeout]);
    assert_eq!(
        state.stage,
        Stage::Menu {
            id: "main".into(),
            attempts: 1
        }
    );
    assert!(says(&actions[2], Phrase::NoInput));
    let (state, _, _) = run(
        &s,
        &[Event::Start, digits("1"), digits("7"), Event::Timeout],
    );
    assert_eq!(
        state.stage,
        Stage::Menu {
            id: "main".into(),
            attempts: 2
        }
    );
    let (state, actions, effects) = run(
        &s,
        &[
            Event::Start,
            digits("1"),
            digits("7"),
            Event::Timeout,
            digits("#"),
        ],
    );
    assert_eq!(state.category.as_deref(), Some("other"));
    assert_eq!(
        state.stage,
        Stage::Recording {
            attempt: 0,
            again: false
        }
    );
    assert!(says(&actions[4], Phrase::FiledAs));
    assert_eq!(effects.len(), 1);
}

#[test]
fn recording_then_number_read_back_twice() {
    let s = script();
    let (state, actions, _) = run(
        &s,
        &[
            Event::Start,
            digits("1"),
            digits("2"),
            Event::Recorded,
            digits("1"),
        ],
    );
    assert_eq!(state.stage, Stage::Done);
    let last = actions.last().unwrap();
    assert_eq!(
        last.iter()
            .filter(|a| matches!(a, Action::ReadNumber(Language::Pl)))
            .count(),
        2
    );
    assert!(says(last, Phrase::Goodbye));
    assert_eq!(last.last(), Some(&Action::Hangup));
    assert!(
        !says(last, Phrase::CallbackOffer),
        "a withheld number: not asked"
    );
}

#[test]
fn a_known_caller_is_asked_about_a_callback_after_the_read_back() {
    let s = script();
    let ctx = Context {
        caller_known: true,
        ..Context::default()
    };
    let to_record = [
        Event::Start,
        digits("1"),
        digits("2"),
        Event::Recorded,
        Event::Timeout,
    ];
    let (state, actions, _) = run_in(&s, &ctx, &to_record);
    assert_eq!(state.stage, Stage::Callback);
    let last = actions.last().unwrap();
    let read_back = last
        .iter()
        .rposition(|a| matches!(a, Action::ReadNumber(_)))
        .unwrap();
    assert!(
        matches!(&last[read_back + 1], Action::Gather(l) if l[0].phrase == Phrase::CallbackOffer),
        "asked after the number: {last:?}"
    );
    for (answer, consent) in [
        (digits("1"), true),
        (digits("2"), false),
        (Event::Timeout, false),
    ] {
        let t = ivr::step(&s, &state, &answer, &ctx);
        assert_eq!(t.effects, vec![Effect::CallbackConsent(consent)]);
        assert_eq!(t.state.stage, Stage::Done);
        assert_eq!(t.actions.last(), Some(&Action::Hangup));
        assert_eq!(says(&t.actions, Phrase::CallbackNoted), consent);
    }
}

#[test]
fn the_caller_keeps_the_recording_or_records_it_once_more() {
    let s = script();
    let recorded = [Event::Start, digits("1"), digits("2"), Event::Recorded];
    let (state, actions, effects) = run(&s, &recorded);
    assert_eq!(state.stage, Stage::Review { attempts: 0 });
    assert_eq!(
        effects.last(),
        Some(&Effect::HoldRecording),
        "held, not fetched"
    );
    assert!(
        matches!(&actions[3][0], Action::Gather(l) if l[0].phrase == Phrase::ReviewOffer),
        "{:?}",
        actions[3]
    );
    assert!(!actions[3]
        .iter()
        .any(|a| matches!(a, Action::ReadNumber(_))));
    // 1, silence, or a wrong key twice: kept, then the number.
    for answers in [
        vec![digits("1")],
        vec![Event::Timeout],
        vec![digits("7"), digits("5")],
    ] {
        let mut st = state.clone();
        let mut t = None;
        for a in &answers {
            let next = ivr::step(&s, &st, a, &Context::default());
            st = next.state.clone();
            t = Some(next);
        }
        let t = t.unwrap();
        assert_eq!(t.effects, vec![Effect::KeepRecording], "{answers:?}");
        assert_eq!(t.state.stage, Stage::Done);
        assert!(t.actions.contains(&Action::ReadNumber(Language::Pl)));
    }
    // A wrong key is told so and asked again once.
    let t = ivr::step(&s, &state, &digits("7"), &Context::default());
    assert_eq!(t.state.stage, Stage::Review { attempts: 1 });
    assert!(says(&t.actions, Phrase::Invalid) && says(&t.actions, Phrase::ReviewOffer));
    assert!(t.effects.is_empty());
    // 2: once more, and the second recording is not reviewed again.
    let again = [recorded.as_slice(), &[digits("2")]].concat();
    let (state, actions, effects) = run(&s, &again);
    assert_eq!(
        state.stage,
        Stage::Recording {
            attempt: 0,
            again: true
        }
    );
    assert!(says(&actions[4], Phrase::Rerecord));
    assert!(actions[4].contains(&Action::Record));
    assert_eq!(effects.last(), Some(&Effect::HoldRecording));
    assert_eq!(state.path.last().map(String::as_str), Some("review:2"));
    let t = ivr::step(&s, &state, &Event::Recorded, &Context::default());
    assert_eq!(t.effects, vec![Effect::KeepRecording]);
    assert_eq!(t.state.stage, Stage::Done);
    assert!(t.actions.contains(&Action::ReadNumber(Language::Pl)));
    // Nothing said the second time: the first recording stands.
    let t = ivr::step(&s, &state, &Event::NoRecording, &Context::default());
    assert_eq!(t.effects, vec![Effect::KeepRecording]);
    assert!(says(&t.actions, Phrase::RerecordEmpty));
    assert!(t.actions.contains(&Action::ReadNumber(Language::Pl)));
    // Review switched off: every recording is kept at once.
    let mut off = script();
    off.menu.review_recording = false;
    let (state, _, effects) = run(&off, &recorded);
    assert_eq!(state.stage, Stage::Done);
    assert_eq!(effects.last(), Some(&Effect::KeepRecording));
}

#[test]
fn empty_recording_gets_one_retry_then_a_missed_call() {
    let s = script();
    let (state, actions, effects) = run(
        &s,
        &[Event::Start, digits("2"), digits("4"), Event::NoRecording],
    );
    assert_eq!(
        state.stage,
        Stage::Recording {
            attempt: 1,
            again: false
        }
    );
    assert!(says(&actions[3], Phrase::NoRecordingRetry));
    assert!(actions[3].contains(&Action::Record));
    assert!(!effects.contains(&Effect::MissedCall));
    let (state, actions, effects) = run(
        &s,
        &[
            Event::Start,
            digits("2"),
            digits("4"),
            Event::NoRecording,
            Event::NoRecording,
        ],
    );
    assert_eq!(state.stage, Stage::Done);
    assert!(says(&actions[4], Phrase::NoRecordingFinal));
    assert!(effects.contains(&Effect::MissedCall));
    // The retry can still succeed.
    let (state, _, effects) = run(
        &s,
        &[
            Event::Start,
            digits("2"),
            digits("4"),
            Event::NoRecording,
            Event::Recorded,
            digits("1"),
        ],
    );
    assert_eq!(state.stage, Stage::Done);
    assert!(!effects.contains(&Effect::MissedCall));
}

#[test]
fn out_of_order_events_end_the_call_cleanly() {
    let s = script();
    let (state, actions, _) = run(&s, &[Event::Start, Event::Recorded]);
    assert_eq!(state.stage, Stage::Done);
    assert_eq!(actions[1], vec![Action::Hangup]);
    let (_, actions, _) = run(
        &s,
        &[
            Event::Start,
            digits("1"),
            digits("2"),
            Event::Recorded,
            Event::Timeout,
            digits("1"),
        ],
    );
    assert_eq!(actions[5], vec![Action::Hangup]);
    // Keys during recording: record again rather than drop the caller.
    let (state, actions, _) = run(&s, &[Event::Start, digits("1"), digits("2"), digits("5")]);
    assert_eq!(
        state.stage,
        Stage::Recording {
            attempt: 0,
            again: false
        }
    );
    assert!(actions[3].contains(&Action::Record));
}

#[test]
fn every_language_has_every_phrase_and_category_name() {
    let s = script();
    for lang in Language::ALL {
        for c in &s.menu.categories {
            assert!(!s.menu.category_name(&c.code, lang).is_empty());
        }
        let (_, actions, _) = run(
            &s,
            &[
                Event::Start,
                digits(match lang {
                    Language::Pl => "1",
                    Language::Uk => "2",
                    Language::En => "3",
                }),
            ],
        );
        match &actions[1][0] {
            Action::Gather(lines) => {
                for l in lines {
                    let text = l.text(&s);
                    assert!(!text.is_empty() && !text.contains('{'), "{lang}: {text:?}");
                }
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_caller_hears_the_status_of_up_to_three_reports() {
    use hotline::domain::{RejectReason, ReportNumber};
    use ivr::StatusAnswer;
    let s = script();
    let n = ReportNumber::parse("2600013").unwrap();
    let (state, actions, _) = run(&s, &[Event::Start, digits("1")]);
    let offer = spoken(&actions[1])
        .into_iter()
        .find(|l| l.phrase == Phrase::StatusOption)
        .expect("the main menu offers the status");
    assert_eq!(offer.vars, vec![("digit", "8".to_owned())]);
    assert_eq!(
        state.stage,
        Stage::Menu {
            id: "main".into(),
            attempts: 0
        }
    );

    let t = ivr::step(&s, &state, &digits("8"), &Context::default());
    assert_eq!(t.state.stage, Stage::Status { lookups: 0 });
    assert_eq!(t.state.menu_path(), "language:1 > status:asked");
    assert!(matches!(&t.actions[0], Action::GatherNumber(l) if l[0].phrase == Phrase::StatusAsk));
    assert!(ivr::status_query(&t.state, &digits("2600013")).is_some());
    assert!(ivr::status_query(&t.state, &digits("*")).is_none());

    let answers = [
        (
            StatusAnswer::Confirmed(n.clone(), "2026-12-03".parse().unwrap()),
            Phrase::StatusConfirmed,
            "3 grudnia",
        ),
        (
            StatusAnswer::Rejected(n.clone(), Some(RejectReason::Duplicate)),
            Phrase::StatusRejected,
            "tę samą sprawę zgłoszono już wcześniej",
        ),
        (
            StatusAnswer::Malformed,
            Phrase::StatusMalformed,
            "siedem cyfr",
        ),
    ];
    let mut state = t.state;
    for (i, (answer, phrase, words)) in answers.into_iter().enumerate() {
        let ctx = Context {
            status: Some(answer),
            ..Context::default()
        };
        let t = ivr::step(&s, &state, &digits("2600013"), &ctx);
        let said: Vec<String> = spoken(&t.actions).iter().map(|l| l.text(&s)).collect();
        assert!(says(&t.actions, phrase), "{said:?}");
        assert!(said.iter().any(|l| l.contains(words)), "{said:?}");
        if phrase != Phrase::StatusMalformed {
            assert!(
                said[0].contains("2, 6, 0, 0, 0, 1, 3"),
                "digit by digit: {said:?}"
            );
        }
        if i < 2 {
            assert_eq!(
                t.state.stage,
                Stage::Status {
                    lookups: i as u8 + 1
                }
            );
            assert!(says(&t.actions, Phrase::StatusMore));
        } else {
            assert!(
                says(&t.actions, Phrase::StatusLimit),
                "three lookups at most"
            );
            assert_eq!(
                t.state.stage,
                Stage::Menu {
                    id: "main".into(),
                    attempts: 0
                }
            );
        }
        state = t.state;
    }

    // `*` or silence while asked for a number: back to the menu.
    let (asked, _, _) = run(&s, &[Event::Start, digits("1"), digits("8")]);
    for e in [digits("*"), Event::Timeout] {
        let t = ivr::step(&s, &asked, &e, &Context::default());
        assert_eq!(
            t.state.stage,
            Stage::Menu {
                id: "main".into(),
                attempts: 0
            }
        );
        assert!(says(&t.actions, Phrase::MenuIntro));
    }
}

#[test]
fn every_language_names_the_months_and_reasons() {
    let s = script();
    for lang in Language::ALL {
        assert_eq!(
            s.phrase(lang, Phrase::Months).split(',').count(),
            12,
            "{lang}"
        );
    }
}
