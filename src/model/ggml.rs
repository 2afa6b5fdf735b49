//! whisper.cpp's legacy ggml model file: writer, and a header reader used to
//! validate files hotline did not produce itself (`--from-file`, `--url`).
//!
//! Layout: magic, 11 i32 hparams, mel filters (n_mel, n_fft, f32 data),
//! vocabulary (count, then length-prefixed bytes), then tensors
//! (n_dims, name length, type, dims in ggml order = reversed, name, data).

use std::io::{self, Read, Write};

use half::f16;

use super::ModelError;

pub const MAGIC: u32 = 0x6767_6d6c;
const QNT_VERSION: i32 = 2;
const QNT_VERSION_FACTOR: i32 = 1000;
/// Values per q8_0 block.
const QK8_0: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
}

impl Hparams {
    fn fields(&self) -> [i32; 10] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
        ]
    }

    /// Tensors whisper.cpp expects for these hparams.
    pub fn tensor_count(&self) -> usize {
        7 + 15 * self.n_audio_layer as usize + 4 + 24 * self.n_text_layer as usize
    }
}

/// Storage type of the big matrices.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum WeightType {
    #[default]
    F16,
    #[value(name = "q8_0")]
    #[serde(rename = "q8_0")]
    Q8_0,
}

impl WeightType {
    fn ftype(self) -> i32 {
        match self {
            Self::F16 => 1,
            Self::Q8_0 => 7 + QNT_VERSION * QNT_VERSION_FACTOR,
        }
    }

    pub fn suffix(self) -> &'static str {
        match self {
            Self::F16 => "",
            Self::Q8_0 => "-q8_0",
        }
    }
}

/// How one tensor is stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    F32,
    F16,
    Weights(WeightType),
}

impl Storage {
    fn ttype(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 | Self::Weights(WeightType::F16) => 1,
            Self::Weights(WeightType::Q8_0) => 8,
        }
    }
}

pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    pub fn header(
        &mut self,
        hp: &Hparams,
        wtype: WeightType,
        mel: &[f32],
        n_fft: usize,
        vocab: &[Vec<u8>],
    ) -> io::Result<()> {
        self.u32(MAGIC)?;
        for v in hp.fields() {
            self.i32(v)?;
        }
        self.i32(wtype.ftype())?;
        self.i32(hp.n_mels)?;
        self.i32(n_fft as i32)?;
        for v in mel {
            self.out.write_all(&v.to_le_bytes())?;
        }
        self.i32(vocab.len() as i32)?;
        for token in vocab {
            self.u32(token.len() as u32)?;
            self.out.write_all(token)?;
        }
        Ok(())
    }

    /// `shape` is in PyTorch order (outermost first); ggml wants it reversed.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        storage: Storage,
        data: &[f32],
    ) -> Result<(), ModelError> {
        if storage == Storage::Weights(WeightType::Q8_0)
            && (shape.len() != 2 || shape[1] % QK8_0 != 0)
        {
            return Err(ModelError::Format(format!(
                "{name}: shape {shape:?} cannot be stored as q8_0 (rows must be whole blocks of {QK8_0})"
            )));
        }
        self.i32(shape.len() as i32)?;
        self.i32(name.len() as i32)?;
        self.i32(storage.ttype())?;
        for d in shape.iter().rev() {
            self.i32(*d as i32)?;
        }
        self.out.write_all(name.as_bytes())?;
        let bytes = match storage {
            Storage::F32 => data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Storage::F16 | Storage::Weights(WeightType::F16) => data
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                .collect(),
            Storage::Weights(WeightType::Q8_0) => quantize_q8_0(data),
        };
        self.out.write_all(&bytes)?;
        Ok(())
    }

    fn i32(&mut self, v: i32) -> io::Result<()> {
        self.out.write_all(&v.to_le_bytes())
    }

    fn u32(&mut self, v: u32) -> io::Result<()> {
        self.out.write_all(&v.to_le_bytes())
    }
}

/// ggml's reference q8_0: per block of 32, `d = amax / 127` (stored as f16)
/// and `q = round(x / d)`.
pub fn quantize_q8_0(data: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / QK8_0 * (2 + QK8_0));
    for block in data.chunks(QK8_0) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|v| (v * id).round() as i8 as u8));
    }
    out
}

/// What the header of a ggml file says.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub hparams: Hparams,
    pub ftype: i32,
    pub n_fft: i32,
    pub vocab: Vec<Vec<u8>>,
}

impl Header {
    pub fn is_multilingual(&self) -> bool {
        self.hparams.n_vocab >= 51865
    }
}

/// Reads and sanity-checks a ggml header so that a wrong or truncated file is
/// rejected with a message instead of an abort inside whisper.cpp.
pub fn read_header(mut r: impl Read) -> Result<Header, ModelError> {
    let mut rd = |what: &str| -> Result<i32, ModelError> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                ModelError::Format(format!("ggml file ends inside the header ({what})"))
            }
            _ => ModelError::Io(e),
        })?;
        Ok(i32::from_le_bytes(b))
    };
    if rd("magic")? as u32 != MAGIC {
        return Err(ModelError::Format(
            "not a whisper.cpp ggml model (bad magic; GGUF and safetensors files are not supported)"
                .into(),
        ));
    }
    let mut f = [0i32; 10];
    for v in &mut f {
        *v = rd("hparams")?;
    }
    let hparams = Hparams {
        n_vocab: f[0],
        n_audio_ctx: f[1],
        n_audio_state: f[2],
        n_audio_head: f[3],
        n_audio_layer: f[4],
        n_text_ctx: f[5],
        n_text_state: f[6],
        n_text_head: f[7],
        n_text_layer: f[8],
        n_mels: f[9],
    };
    let ftype = rd("ftype")?;
    let sane = |v: i32, lo: i32, hi: i32| (lo..=hi).contains(&v);
    if !(sane(hparams.n_vocab, 1, 200_000)
        && sane(hparams.n_audio_ctx, 1, 10_000)
        && sane(hparams.n_audio_state, 1, 10_000)
        && sane(hparams.n_audio_layer, 1, 64)
        && sane(hparams.n_text_layer, 1, 64)
        && sane(hparams.n_audio_head, 1, 128)
        && sane(hparams.n_text_head, 1, 128)
        && (hparams.n_mels == 80 || hparams.n_mels == 128)
        && hparams.n_text_state == hparams.n_audio_state)
    {
        return Err(ModelError::Format(format!(
            "ggml header has implausible hyper-parameters {hparams:?}"
        )));
    }
    let n_mel = rd("mel filters")?;
    let n_fft = rd("mel filters")?;
    if n_mel != hparams.n_mels || !sane(n_fft, 1, 4096) {
        return Err(ModelError::Format(format!(
            "ggml mel filter table {n_mel}x{n_fft} does not match n_mels {}",
            hparams.n_mels
        )));
    }
    let mut filters = vec![0u8; n_mel as usize * n_fft as usize * 4];
    r.read_exact(&mut filters)
        .map_err(|_| ModelError::Format("ggml file ends inside the mel filters".into()))?;
    let mut b = [0u8; 4];
    r.read_exact(&mut b)
        .map_err(|_| ModelError::Format("ggml file ends before the vocabulary".into()))?;
    let n_vocab = i32::from_le_bytes(b);
    if !sane(n_vocab, 0, hparams.n_vocab) {
        return Err(ModelError::Format(format!(
            "ggml vocabulary count {n_vocab} is implausible"
        )));
    }
    let mut vocab = Vec::with_capacity(n_vocab as usize);
    for _ in 0..n_vocab {
        r.read_exact(&mut b)
            .map_err(|_| ModelError::Format("ggml file ends inside the vocabulary".into()))?;
        let len = u32::from_le_bytes(b) as usize;
        if len > 1024 {
            return Err(ModelError::Format(format!(
                "ggml token of {len} bytes is implausible"
            )));
        }
        let mut tok = vec![0u8; len];
        r.read_exact(&mut tok)
            .map_err(|_| ModelError::Format("ggml file ends inside the vocabulary".into()))?;
        vocab.push(tok);
    }
    Ok(Header {
        hparams,
        ftype,
        n_fft,
        vocab,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_block_roundtrips_within_a_step() {
        let data: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) / 10.0).collect();
        let q = quantize_q8_0(&data);
        assert_eq!(q.len(), 2 * 34);
        for (b, block) in q.chunks(34).zip(data.chunks(32)) {
            let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
            for (qv, x) in b[2..].iter().zip(block) {
                assert!((f32::from(*qv as i8) * d - x).abs() <= d * 0.51 + 1e-3);
            }
        }
    }
}
