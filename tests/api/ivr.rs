//! Every transition of the IVR state machine, without HTTP.

use hotline::domain::Language;
use hotline::ivr::{self, Action, Effect, Event, IvrState, Next, Phrase, Script, Stage};
use hotline::prompts::PromptSource;

fn script() -> Script {
    Script::load(&PromptSource::builtin()).unwrap()
}

fn run(s: &Script, events: &[Event]) -> (IvrState, Vec<Vec<Action>>, Vec<Effect>) {
    let mut state = IvrState::default();
    let mut all = Vec::new();
    let mut effects = Vec::new();
    for e in events {
        let t = ivr::step(s, &state, e);
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
    actions.iter().any(|a| match a {
        Action::Say(l) => l.phrase == phrase,
        Action::Gather(lines) => lines.iter().any(|l| l.phrase == phrase),
        _ => false,
    })
}

#[test]
fn start_greets_with_the_privacy_notice_and_offers_languages() {
    let s = script();
    let (state, actions, _) = run(&s, &[Event::Start]);
    assert_eq!(state.stage, Stage::Language { attempts: 0 });
    let a = &actions[0];
    assert!(
        matches!(&a[0], Action::Say(l) if l.phrase == Phrase::Greeting && l.language == Language::Pl)
    );
    let greeting = s.phrase(Language::Pl, Phrase::Greeting);
    assert!(
        greeting.contains("nagrywana") && greeting.contains("przepisywana"),
        "recording and transcription notice"
    );
    assert!(
        greeting.contains("7") || greeting.contains("siódmej"),
        "office hours"
    );
    match &a[1] {
        Action::Gather(lines) => {
            let langs: Vec<Language> = lines.iter().map(|l| l.language).collect();
            assert_eq!(
                langs,
                vec![Language::Pl, Language::Uk, Language::En],
                "each option in its own language"
            );
        }
        other => panic!("expected a gather, got {other:?}"),
    }
    assert_eq!(a[2], Action::Redirect(Next::Timeout));
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
    assert!(says(&actions[1], Phrase::Invalid));
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
    assert_eq!(state.stage, Stage::Recording { attempt: 0 });
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
    // At most five options per level, every category reachable.
    for m in &s.menu.menus {
        assert!(
            m.options.len() <= 5,
            "{} has {} options",
            m.id,
            m.options.len()
        );
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
        &[Event::Start, digits("1"), digits("9"), Event::Timeout],
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
            digits("9"),
            Event::Timeout,
            digits("8"),
        ],
    );
    assert_eq!(state.category.as_deref(), Some("other"));
    assert_eq!(state.stage, Stage::Recording { attempt: 0 });
    assert!(says(&actions[4], Phrase::FiledAs));
    assert_eq!(effects.len(), 1);
}

#[test]
fn recording_then_number_read_back_twice() {
    let s = script();
    let (state, actions, _) = run(
        &s,
        &[Event::Start, digits("1"), digits("1"), Event::Recorded],
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
}

#[test]
fn empty_recording_gets_one_retry_then_a_missed_call() {
    let s = script();
    let (state, actions, effects) = run(
        &s,
        &[Event::Start, digits("2"), digits("4"), Event::NoRecording],
    );
    assert_eq!(state.stage, Stage::Recording { attempt: 1 });
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
            digits("1"),
            Event::Recorded,
            digits("1"),
        ],
    );
    assert_eq!(actions[4], vec![Action::Hangup]);
    // Keys during recording: record again rather than drop the caller.
    let (state, actions, _) = run(&s, &[Event::Start, digits("1"), digits("1"), digits("5")]);
    assert_eq!(state.stage, Stage::Recording { attempt: 0 });
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
