//! An address heard in a transcript: what the street register matched.

/// A street recognised in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressCandidate {
    pub street: String,
    pub house: Option<String>,
    /// 0–1.
    pub score: f64,
    /// The words it was recognised from.
    pub heard: String,
}

impl AddressCandidate {
    pub fn address(&self) -> String {
        match &self.house {
            Some(h) => format!("{} {h}", self.street),
            None => self.street.clone(),
        }
    }
}
