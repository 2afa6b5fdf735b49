//! How busy the machine's cores are, as the engine decides how to spread a
//! recording over them (see [`super::longform`]).
//!
//! `/proc/loadavg`'s fourth field counts the threads running or waiting for
//! a core right now, this reader included. Read a few times a millisecond
//! apart, its smallest value less one is what else wants the cores: a
//! moment's spike does not count, a busy process does.

use std::time::Duration;

/// Threads other than the caller that are running or runnable, or `None`
/// where the kernel does not say (not Linux).
pub fn others_runnable() -> Option<u32> {
    let mut least: Option<u32> = None;
    for i in 0..5 {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let n = read_running()?;
        least = Some(least.map_or(n, |l| l.min(n)));
    }
    least.map(|n| n.saturating_sub(1))
}

fn read_running() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_running(&text)
}

/// "0.51 0.34 0.20 3/512 12345" → 3.
fn parse_running(loadavg: &str) -> Option<u32> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_threads_are_read_from_loadavg() {
        assert_eq!(parse_running("0.51 0.34 0.20 3/512 12345\n"), Some(3));
        assert_eq!(parse_running("garbage"), None);
        assert_eq!(parse_running(""), None);
    }

    #[test]
    fn this_machine_answers() {
        // The reader itself is running, so there is always an answer on
        // Linux; what it says depends on the machine.
        if cfg!(target_os = "linux") {
            assert!(others_runnable().is_some());
        }
    }
}
