//! Whisper's vocabulary as CTranslate2 stores it (`vocabulary.txt`, or
//! `vocabulary.json` in newer exports): GPT-2 byte-level tokens, one per line,
//! followed by the special tokens. whisper.cpp wants the raw bytes of the
//! ordinary tokens only (ids below `<|endoftext|>`) and adds the specials itself.

use std::path::Path;

use super::ModelError;

const EOT: &str = "<|endoftext|>";

/// GPT-2's `bytes_to_unicode` table inverted: char → byte.
fn unicode_to_byte(c: char) -> Option<u8> {
    let c = c as u32;
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    if c < 256 && printable(c) {
        return Some(c as u8);
    }
    // Non-printable bytes are mapped, in order, to 256, 257, …
    let mut n = 256;
    for b in 0u32..256 {
        if !printable(b) {
            if n == c {
                return Some(b as u8);
            }
            n += 1;
        }
    }
    None
}

/// Decodes one byte-level token to its bytes.
pub fn decode_token(token: &str) -> Result<Vec<u8>, ModelError> {
    token
        .chars()
        .map(|c| {
            unicode_to_byte(c).ok_or_else(|| {
                ModelError::Format(format!(
                    "vocabulary token {token:?} is not GPT-2 byte-level"
                ))
            })
        })
        .collect()
}

/// Reads the vocabulary of a CTranslate2 export and returns the byte strings
/// of the ordinary tokens (ids below `<|endoftext|>`).
pub fn load(dir: &Path) -> Result<Vec<Vec<u8>>, ModelError> {
    let txt = dir.join("vocabulary.txt");
    let json = dir.join("vocabulary.json");
    let tokens: Vec<String> = if txt.exists() {
        let text = std::fs::read_to_string(&txt)?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.split('\n').map(str::to_owned).collect()
    } else if json.exists() {
        serde_json::from_slice(&std::fs::read(&json)?)
            .map_err(|e| ModelError::Format(format!("{}: {e}", json.display())))?
    } else {
        return Err(ModelError::Format(format!(
            "{} has neither vocabulary.txt nor vocabulary.json",
            dir.display()
        )));
    };
    ordinary_tokens(&tokens)
}

pub fn ordinary_tokens(tokens: &[String]) -> Result<Vec<Vec<u8>>, ModelError> {
    let eot = tokens.iter().position(|t| t == EOT).ok_or_else(|| {
        ModelError::Format("vocabulary has no <|endoftext|> token: not a Whisper vocabulary".into())
    })?;
    tokens[..eot].iter().map(|t| decode_token(t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_gpt2_byte_level_tokens() {
        assert_eq!(decode_token("Ġthe").unwrap(), b" the");
        assert_eq!(decode_token("Ċ").unwrap(), b"\n");
        // "ż" is 0xC5 0xBC in UTF-8, byte-level "Å¼".
        assert_eq!(decode_token("Å¼").unwrap(), "ż".as_bytes());
        assert!(decode_token("\u{4e00}").is_err());
    }

    #[test]
    fn stops_at_end_of_text() {
        let toks: Vec<String> = ["a", "Ġb", "", EOT, "<|startoftranscript|>"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let v = ordinary_tokens(&toks).unwrap();
        assert_eq!(v, vec![b"a".to_vec(), b" b".to_vec(), vec![]]);
    }
}
