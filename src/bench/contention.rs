//! Busy processes beside a benchmark (`bench transcribe --contention N`):
//! N copies of `hotline bench burn`, each spinning one core on arithmetic
//! until the benchmark ends, as other jobs on a shared city machine would.

use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// The busy processes; they are killed when this is dropped.
pub struct Contention {
    children: Vec<Child>,
}

impl Contention {
    /// Starts `n` busy processes (none for 0).
    pub fn start(n: usize) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the hotline binary")?;
        let mut children = Vec::with_capacity(n);
        for _ in 0..n {
            let child = Command::new(&exe)
                .args(["bench", "burn"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .context("starting a busy process")?;
            children.push(child);
        }
        Ok(Self { children })
    }
}

impl Drop for Contention {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Spins one core until killed (at most an hour, should the parent die
/// without killing it).
pub fn burn() {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    let mut x = 1.000_1f64;
    while std::time::Instant::now() < until {
        for _ in 0..1_000_000 {
            x = std::hint::black_box(x * 1.000_000_1 + 1e-9);
        }
    }
}
