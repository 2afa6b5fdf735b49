pub mod db;
pub mod media;
pub mod signals;
pub mod wav;
pub mod workspace;

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
