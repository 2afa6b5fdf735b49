//! Every input the fuzzers (fuzz/, cargo-fuzz) started from or ever crashed
//! on, replayed through the same entry points: a crash found once stays fixed.
//! Crashes go in fuzz/regressions/<target>/, seeds in fuzz/seeds/<target>/.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).unwrap();
            run(&data);
            // Every prefix too: truncation is the commonest corruption.
            for cut in [0, 1, 4, 12, 44, data.len() / 2] {
                run(&data[..cut.min(data.len())]);
            }
            n += 1;
        }
    }
    assert!(n > 0, "no inputs for {target}");
}

#[test]
fn wav_decode() {
    replay("wav_decode", hotline::fuzzing::wav_decode);
}

#[test]
fn mp3_decode() {
    replay("mp3_decode", hotline::fuzzing::mp3_decode);
}

#[test]
fn ct2_model() {
    replay("ct2_model", hotline::fuzzing::ct2_model);
}

#[test]
fn ggml_header() {
    replay("ggml_header", hotline::fuzzing::ggml_header);
}

#[test]
fn webhook_form() {
    replay("webhook_form", hotline::fuzzing::webhook_form);
}

#[test]
fn twiml_render() {
    replay("twiml_render", hotline::fuzzing::twiml_render);
}
