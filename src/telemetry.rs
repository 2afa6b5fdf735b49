//! Logging: human-readable by default, JSON with `--log-json`; `RUST_LOG`
//! is honoured. whisper.cpp's own chatter is routed here at `warn`.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,whisper_rs=warn,sqlx=warn,hyper=warn,tower_http=info")
    });
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
}
