pub mod db;
pub mod hooks;
pub mod media;
pub mod s3;
pub mod server;
pub mod signals;
pub mod smtp;
pub mod voicemail;
pub mod wav;
pub mod workspace;

/// Builds the server through the composition root on `store` (the
/// worker left out, listening on a free loopback port), runs it for the
/// rest of the test, and returns its base URL (its public URL too, unless
/// `cfg` names one).
#[allow(dead_code)]
pub async fn serve(
    mut cfg: hotline::config::Config,
    store: std::sync::Arc<hotline::store::Store>,
) -> String {
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg.worker.in_server = false;
    let app = hotline::app::Application::serve_on(cfg, store)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port().unwrap());
    tokio::spawn(app.run_until(std::future::pending()));
    base
}

/// The dev set of real speech: `$HOTLINE_SPEECH_DIR`, else `../shared/speech`
/// next to the checkout.
#[allow(dead_code)]
pub fn speech(rel: &str) -> std::path::PathBuf {
    std::env::var_os("HOTLINE_SPEECH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/speech")
        })
        .join(rel)
}

/// Runs `cmd`; fails the test with its standard error unless it succeeds;
/// returns its standard output.
#[allow(dead_code)]
pub fn stdout_of(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A call from `caller` to the KCK line starts now.
#[allow(dead_code)]
pub async fn start_call(
    store: &std::sync::Arc<hotline::store::Store>,
    sid: &str,
    caller: &str,
) -> hotline::domain::CallSid {
    use hotline::domain::{now_ms, CallSid, PhoneNumber};
    let sid = CallSid::parse(sid).unwrap();
    store
        .call_started(&hotline::store::NewCall {
            sid: sid.clone(),
            caller: PhoneNumber::parse(caller).unwrap(),
            called: PhoneNumber::parse("+48126165555").unwrap(),
            at: now_ms(),
        })
        .await
        .unwrap();
    sid
}

/// Every report in the store (up to a thousand), newest first.
#[allow(dead_code)]
pub async fn reports(store: &hotline::store::Store) -> Vec<hotline::store::Report> {
    let all = hotline::store::ReportFilter {
        limit: 1000,
        ..Default::default()
    };
    store.list_reports(&all).await.unwrap()
}
