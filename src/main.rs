//! `hotline`: see `hotline --help` and README.md.

fn main() -> std::process::ExitCode {
    // Before any thread exists: OpenBLAS reads these when whisper.cpp loads it.
    hotline::engine::kernels::configure_openblas_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(hotline::cli::run());
    // A transcription still running on a blocking thread after a graceful
    // shutdown (its lease was handed back) must not hold the exit forever.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}
