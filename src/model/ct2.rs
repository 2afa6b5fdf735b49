//! Reader for CTranslate2's `model.bin` (binary versions 4–6).
//!
//! Layout: u32 version, spec name (u16 length incl. NUL), u32 revision,
//! u32 variable count; per variable: name, u8 rank, u32 dims, u8 dtype, u32
//! byte count, data; then (v3+) an alias table. The reader keeps the file in
//! one buffer and hands out borrowed slices, so a 1.6 GB large-v3 export is
//! not copied twice.

use std::collections::HashMap;

use half::{bf16, f16};

use super::ModelError;

/// Element type of a CTranslate2 variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    pub fn id(self) -> u8 {
        match self {
            Self::F32 => 0,
            Self::I8 => 1,
            Self::I16 => 2,
            Self::I32 => 3,
            Self::F16 => 4,
            Self::Bf16 => 5,
        }
    }

    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// One named tensor or scalar of the model.
#[derive(Debug)]
pub struct Variable<'a> {
    pub name: &'a str,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: &'a [u8],
}

impl Variable<'_> {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values widened to f32 (integer types are returned as their value:
    /// the caller applies any quantization scale).
    pub fn to_f32(&self) -> Vec<f32> {
        let d = self.data;
        match self.dtype {
            DType::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DType::F16 => d
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DType::Bf16 => d
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DType::I8 => d.iter().map(|&b| f32::from(b as i8)).collect(),
            DType::I16 => d
                .chunks_exact(2)
                .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
                .collect(),
            DType::I32 => d
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
        }
    }

    /// A scalar integer (e.g. `encoder/num_heads`).
    pub fn scalar_int(&self) -> Option<i64> {
        if !self.shape.is_empty() || self.data.len() != self.dtype.size() {
            return None;
        }
        let d = self.data;
        Some(match self.dtype {
            DType::I8 => i64::from(d[0] as i8),
            DType::I16 => i64::from(i16::from_le_bytes([d[0], d[1]])),
            DType::I32 => i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])),
            _ => return None,
        })
    }
}

/// A parsed `model.bin`.
#[derive(Debug)]
pub struct Ct2Model<'a> {
    pub version: u32,
    pub spec: &'a str,
    pub revision: u32,
    pub variables: Vec<Variable<'a>>,
    pub aliases: Vec<(&'a str, &'a str)>,
    index: HashMap<&'a str, usize>,
}

impl<'a> Ct2Model<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        let mut r = Cursor { bytes, pos: 0 };
        let version = r.u32("version")?;
        if !(4..=6).contains(&version) {
            return Err(ModelError::Format(format!(
                "CTranslate2 binary version {version} is not supported (expected 4 to 6); \
                 is this a CTranslate2 model.bin?"
            )));
        }
        let spec = r.string("spec name")?;
        let revision = r.u32("spec revision")?;
        let count = r.u32("variable count")? as usize;
        // Every variable takes at least 9 header bytes: reject absurd counts before allocating.
        if count > bytes.len() / 9 {
            return Err(ModelError::Format(format!(
                "header claims {count} variables in a {}-byte file",
                bytes.len()
            )));
        }
        let mut variables = Vec::with_capacity(count);
        let mut index = HashMap::with_capacity(count);
        for _ in 0..count {
            let name = r.string("variable name")?;
            let rank = usize::from(r.u8("rank")?);
            if rank > 8 {
                return Err(ModelError::Format(format!("{name}: rank {rank} is absurd")));
            }
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(r.u32("dimension")? as usize);
            }
            let dtype_id = r.u8("dtype")?;
            let dtype = DType::from_id(dtype_id).ok_or_else(|| {
                ModelError::Format(format!("{name}: unknown dtype id {dtype_id}"))
            })?;
            let nbytes = r.u32("byte count")? as usize;
            let elements = shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| ModelError::Format(format!("{name}: shape overflows")))?;
            if elements.checked_mul(dtype.size()) != Some(nbytes) {
                return Err(ModelError::Format(format!(
                    "{name}: {nbytes} bytes do not fit shape {shape:?} of {dtype:?}"
                )));
            }
            let data = r.take(nbytes, name)?;
            index.insert(name, variables.len());
            variables.push(Variable {
                name,
                shape,
                dtype,
                data,
            });
        }
        let mut aliases = Vec::new();
        if r.remaining() > 0 {
            let n = r.u32("alias count")? as usize;
            if n > r.remaining() / 4 {
                return Err(ModelError::Format(format!(
                    "alias table claims {n} entries"
                )));
            }
            for _ in 0..n {
                let alias = r.string("alias")?;
                let target = r.string("alias target")?;
                aliases.push((alias, target));
            }
        }
        Ok(Self {
            version,
            spec,
            revision,
            variables,
            aliases,
            index,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Variable<'a>> {
        self.index.get(name).map(|&i| &self.variables[i])
    }

    pub fn require(&self, name: &str) -> Result<&Variable<'a>, ModelError> {
        self.get(name)
            .ok_or_else(|| ModelError::Format(format!("variable {name} is missing")))
    }

    /// Weight matrix as f32, dequantizing int8/int16 exports with their
    /// per-row `weight_scale` (CTranslate2 stores `q = round(w * scale)`).
    pub fn weight_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        let var = self.require(name)?;
        let mut values = var.to_f32();
        if matches!(var.dtype, DType::I8 | DType::I16) {
            let scale_name = format!("{}_scale", name);
            let scale = self.require(&scale_name)?.to_f32();
            let rows = var.shape.first().copied().unwrap_or(1).max(1);
            let cols = values.len() / rows;
            if scale.len() == 1 {
                values.iter_mut().for_each(|v| *v /= scale[0]);
            } else if scale.len() == rows {
                for (row, s) in values.chunks_mut(cols.max(1)).zip(&scale) {
                    row.iter_mut().for_each(|v| *v /= s);
                }
            } else {
                return Err(ModelError::Format(format!(
                    "{scale_name}: {} scales for {rows} rows",
                    scale.len()
                )));
            }
        }
        Ok(values)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ModelError> {
        if self.remaining() < n {
            return Err(ModelError::Format(format!(
                "file ends inside {what} (needs {n} bytes at offset {}, {} left): truncated download?",
                self.pos,
                self.remaining()
            )));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, ModelError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, ModelError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, ModelError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self, what: &str) -> Result<&'a str, ModelError> {
        let n = usize::from(self.u16(what)?);
        let raw = self.take(n, what)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        std::str::from_utf8(raw).map_err(|_| ModelError::Format(format!("{what} is not UTF-8")))
    }
}

/// Writes a CTranslate2 `model.bin` (used by tests and fuzzing to build
/// synthetic models; hotline itself only reads this format).
pub fn write(
    spec: &str,
    revision: u32,
    vars: &[(&str, &[usize], DType, &[u8])],
    aliases: &[(&str, &str)],
) -> Vec<u8> {
    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&6u32.to_le_bytes());
    put_str(&mut out, spec);
    out.extend_from_slice(&revision.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, shape, dtype, data) in vars {
        put_str(&mut out, name);
        out.push(shape.len() as u8);
        for d in *shape {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        out.push(dtype.id());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        put_str(&mut out, a);
        put_str(&mut out, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_format_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\x06\0\0\0",
            b"\x06\0\0\0\xff\xffabc",
            &[0xffu8; 64][..],
        ] {
            assert!(matches!(Ct2Model::parse(bytes), Err(ModelError::Format(_))));
        }
    }

    #[test]
    fn int8_weights_are_dequantized_per_row() {
        let q: Vec<u8> = [10i8, -20, 30, 40].iter().map(|&v| v as u8).collect();
        let scale: Vec<u8> = [10.0f32, 20.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let bin = write(
            "WhisperSpec",
            3,
            &[
                ("w/weight", &[2, 2], DType::I8, &q),
                ("w/weight_scale", &[2], DType::F32, &scale),
            ],
            &[],
        );
        let m = Ct2Model::parse(&bin).unwrap();
        assert_eq!(m.weight_f32("w/weight").unwrap(), vec![1.0, -2.0, 1.5, 2.0]);
    }
}
