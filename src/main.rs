//! `hotline`: see `hotline --help` and README.md.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    hotline::cli::run().await
}
