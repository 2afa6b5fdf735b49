//! CTranslate2 Whisper export → whisper.cpp ggml.
//!
//! Hyper-parameters are not stored by CTranslate2: they are derived from
//! tensor shapes, the `*/num_heads` scalars and the number of `layer_N`.
//! Fused projections are split (q/k/v of self-attention, k/v of
//! cross-attention); Whisper's key projection has no bias, so none is written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use indicatif::ProgressBar;
use sha2::{Digest, Sha256};

use super::ct2::Ct2Model;
use super::ggml::{Hparams, Storage, WeightType, Writer};
use super::{mel, vocab, ModelError};

/// What a conversion produced.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Converted {
    pub hparams: Hparams,
    pub weight_type: WeightType,
    pub tensors: usize,
    pub vocab: usize,
    pub bytes: u64,
    pub sha256: String,
}

/// Converts the export in `dir` (model.bin + vocabulary) into `out`.
/// Writes to `out` directly: callers write to a temporary name and rename.
pub fn convert_dir(
    dir: &Path,
    out: &Path,
    wtype: WeightType,
    progress: &ProgressBar,
) -> Result<Converted, ModelError> {
    let bin_path = dir.join("model.bin");
    let bytes = std::fs::read(&bin_path)
        .map_err(|e| ModelError::Format(format!("cannot read {}: {e}", bin_path.display())))?;
    let vocab = vocab::load(dir)?;
    let model = Ct2Model::parse(&bytes)?;
    let file = File::create(out)?;
    let mut sink = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let mut result = convert(&model, &vocab, wtype, &mut sink, progress)?;
    let (hash, written, buf) = sink.finish();
    buf.into_inner()
        .map_err(|e| ModelError::Io(e.into_error()))?
        .sync_all()?;
    result.bytes = written;
    result.sha256 = hash;
    Ok(result)
}

/// Streams the ggml file for `model` into `out`.
pub fn convert<W: Write>(
    model: &Ct2Model<'_>,
    vocab: &[Vec<u8>],
    wtype: WeightType,
    out: W,
    progress: &ProgressBar,
) -> Result<Converted, ModelError> {
    if model.spec != "WhisperSpec" {
        return Err(ModelError::Format(format!(
            "model spec is {}, not WhisperSpec: only Whisper exports can be converted",
            model.spec
        )));
    }
    let hp = hparams(model)?;
    let mut w = Writer::new(out);
    w.header(
        &hp,
        wtype,
        &mel::filters(hp.n_mels as usize),
        mel::N_BINS,
        vocab,
    )?;
    let plan = plan(&hp);
    progress.set_length(plan.len() as u64);
    for t in &plan {
        let data = t.source.load(model, t.shape.iter().product())?;
        w.tensor(&t.name, &t.shape, t.storage(wtype), &data)?;
        progress.inc(1);
    }
    Ok(Converted {
        hparams: hp,
        weight_type: wtype,
        tensors: plan.len(),
        vocab: vocab.len(),
        bytes: 0,
        sha256: String::new(),
    })
}

fn hparams(m: &Ct2Model<'_>) -> Result<Hparams, ModelError> {
    let shape =
        |name: &str| -> Result<Vec<usize>, ModelError> { Ok(m.require(name)?.shape.clone()) };
    let heads = |name: &str| -> Result<i32, ModelError> {
        m.require(name)?
            .scalar_int()
            .map(|v| v as i32)
            .ok_or_else(|| ModelError::Format(format!("{name} is not an integer scalar")))
    };
    let layers = |prefix: &str| {
        (0..)
            .take_while(|i| {
                m.get(&format!(
                    "{prefix}/layer_{i}/self_attention/linear_0/weight"
                ))
                .is_some()
            })
            .count() as i32
    };
    let emb = shape("decoder/embeddings/weight")?;
    let enc_pos = shape("encoder/position_encodings/encodings")?;
    let dec_pos = shape("decoder/position_encodings/encodings")?;
    let conv1 = shape("encoder/conv1/weight")?;
    if emb.len() != 2 || enc_pos.len() != 2 || dec_pos.len() != 2 || conv1.len() != 3 {
        return Err(ModelError::Format(
            "unexpected tensor ranks for a Whisper model".into(),
        ));
    }
    let hp = Hparams {
        n_vocab: emb[0] as i32,
        n_audio_ctx: enc_pos[0] as i32,
        n_audio_state: enc_pos[1] as i32,
        n_audio_head: heads("encoder/num_heads")?,
        n_audio_layer: layers("encoder"),
        n_text_ctx: dec_pos[0] as i32,
        n_text_state: emb[1] as i32,
        n_text_head: heads("decoder/num_heads")?,
        n_text_layer: layers("decoder"),
        n_mels: conv1[1] as i32,
    };
    if hp.n_audio_layer == 0 || hp.n_text_layer == 0 || hp.n_audio_state != hp.n_text_state {
        return Err(ModelError::Format(format!(
            "inconsistent Whisper hyper-parameters {hp:?}"
        )));
    }
    Ok(hp)
}

/// Where a ggml tensor's values come from.
enum Source {
    Whole(String),
    /// Rows `[from, to)` of a fused matrix or bias (rows of `width` values).
    Rows {
        name: String,
        from: usize,
        to: usize,
        width: usize,
    },
}

impl Source {
    fn load(&self, m: &Ct2Model<'_>, expected: usize) -> Result<Vec<f32>, ModelError> {
        let (name, values) = match self {
            Source::Whole(name) => (name, m.weight_f32(name)?),
            Source::Rows {
                name,
                from,
                to,
                width,
            } => {
                let all = m.weight_f32(name)?;
                let slice = all
                    .get(from * width..to * width)
                    .ok_or_else(|| ModelError::Format(format!("{name} is too small to split")))?;
                (name, slice.to_vec())
            }
        };
        if values.len() != expected {
            return Err(ModelError::Format(format!(
                "{name}: {} values where {expected} were expected",
                values.len()
            )));
        }
        Ok(values)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// 1-D tensors, conv biases, positional embeddings.
    F32,
    /// Conv kernels: always f16 (whisper.cpp's `vtype`).
    Conv,
    /// Matrices: f16 or quantized.
    Matrix,
}

struct Planned {
    name: String,
    shape: Vec<usize>,
    kind: Kind,
    source: Source,
}

impl Planned {
    fn storage(&self, wtype: WeightType) -> Storage {
        match self.kind {
            Kind::F32 => Storage::F32,
            Kind::Conv => Storage::F16,
            Kind::Matrix => Storage::Weights(wtype),
        }
    }
}

/// Every tensor whisper.cpp loads, with its name, shape and source.
fn plan(hp: &Hparams) -> Vec<Planned> {
    let d = hp.n_audio_state as usize;
    let mut p = Vec::with_capacity(hp.tensor_count());
    let mut whole = |name: String, shape: Vec<usize>, kind: Kind, src: &str| {
        p.push(Planned {
            name,
            shape,
            kind,
            source: Source::Whole(src.to_owned()),
        });
    };
    whole(
        "encoder.positional_embedding".into(),
        vec![hp.n_audio_ctx as usize, d],
        Kind::F32,
        "encoder/position_encodings/encodings",
    );
    whole(
        "encoder.conv1.weight".into(),
        vec![d, hp.n_mels as usize, 3],
        Kind::Conv,
        "encoder/conv1/weight",
    );
    whole(
        "encoder.conv1.bias".into(),
        vec![d, 1],
        Kind::F32,
        "encoder/conv1/bias",
    );
    whole(
        "encoder.conv2.weight".into(),
        vec![d, d, 3],
        Kind::Conv,
        "encoder/conv2/weight",
    );
    whole(
        "encoder.conv2.bias".into(),
        vec![d, 1],
        Kind::F32,
        "encoder/conv2/bias",
    );
    whole(
        "encoder.ln_post.weight".into(),
        vec![d],
        Kind::F32,
        "encoder/layer_norm/gamma",
    );
    whole(
        "encoder.ln_post.bias".into(),
        vec![d],
        Kind::F32,
        "encoder/layer_norm/beta",
    );
    whole(
        "decoder.positional_embedding".into(),
        vec![hp.n_text_ctx as usize, d],
        Kind::F32,
        "decoder/position_encodings/encodings",
    );
    whole(
        "decoder.token_embedding.weight".into(),
        vec![hp.n_vocab as usize, d],
        Kind::Matrix,
        "decoder/embeddings/weight",
    );
    whole(
        "decoder.ln.weight".into(),
        vec![d],
        Kind::F32,
        "decoder/layer_norm/gamma",
    );
    whole(
        "decoder.ln.bias".into(),
        vec![d],
        Kind::F32,
        "decoder/layer_norm/beta",
    );
    for i in 0..hp.n_audio_layer {
        block(
            &mut p,
            d,
            &format!("encoder.blocks.{i}"),
            &format!("encoder/layer_{i}"),
            false,
        );
    }
    for i in 0..hp.n_text_layer {
        block(
            &mut p,
            d,
            &format!("decoder.blocks.{i}"),
            &format!("decoder/layer_{i}"),
            true,
        );
    }
    p
}

fn block(p: &mut Vec<Planned>, d: usize, to: &str, from: &str, cross: bool) {
    let mut b = Block { p, d, to, from };
    // Self-attention: q, k, v fused in linear_0, output in linear_1 (the
    // key has no bias in Whisper).
    b.norm("attn_ln", "self_attention");
    let attention = [
        ("attn.query", b.rows("self_attention/linear_0", 0), true),
        ("attn.key", b.rows("self_attention/linear_0", 1), false),
        ("attn.value", b.rows("self_attention/linear_0", 2), true),
        ("attn.out", b.whole("self_attention/linear_1"), true),
    ];
    for (dst, src, bias) in attention {
        b.linear(dst, src, bias, [d, d]);
    }
    if cross {
        // Cross-attention: q in linear_0, k and v fused in linear_1, output in linear_2.
        b.norm("cross_attn_ln", "attention");
        let cross_attention = [
            ("cross_attn.query", b.whole("attention/linear_0"), true),
            ("cross_attn.key", b.rows("attention/linear_1", 0), false),
            ("cross_attn.value", b.rows("attention/linear_1", 1), true),
            ("cross_attn.out", b.whole("attention/linear_2"), true),
        ];
        for (dst, src, bias) in cross_attention {
            b.linear(dst, src, bias, [d, d]);
        }
    }
    b.norm("mlp_ln", "ffn");
    b.linear("mlp.0", b.whole("ffn/linear_0"), true, [4 * d, d]);
    b.linear("mlp.2", b.whole("ffn/linear_1"), true, [d, 4 * d]);
}

/// One transformer block's tensors: `to` is the ggml prefix, `from` the
/// CTranslate2 one.
struct Block<'a> {
    p: &'a mut Vec<Planned>,
    d: usize,
    to: &'a str,
    from: &'a str,
}

/// A linear layer's source: its CTranslate2 name and which `d`-row slice of
/// a fused projection it is (`None`: the whole tensor).
struct LinearSource {
    name: String,
    part: Option<usize>,
}

impl Block<'_> {
    fn whole(&self, src: &str) -> LinearSource {
        LinearSource {
            name: format!("{}/{src}", self.from),
            part: None,
        }
    }

    fn rows(&self, src: &str, part: usize) -> LinearSource {
        LinearSource {
            name: format!("{}/{src}", self.from),
            part: Some(part),
        }
    }

    fn source(&self, name: String, part: Option<usize>, width: usize) -> Source {
        match part {
            None => Source::Whole(name),
            Some(part) => Source::Rows {
                name,
                from: part * self.d,
                to: (part + 1) * self.d,
                width,
            },
        }
    }

    fn push(&mut self, dst: &str, shape: Vec<usize>, kind: Kind, source: Source) {
        let name = format!("{}.{dst}", self.to);
        self.p.push(Planned {
            name,
            shape,
            kind,
            source,
        });
    }

    fn norm(&mut self, dst: &str, src: &str) {
        let d = self.d;
        let from = self.from;
        self.push(
            &format!("{dst}.weight"),
            vec![d],
            Kind::F32,
            Source::Whole(format!("{from}/{src}/layer_norm/gamma")),
        );
        self.push(
            &format!("{dst}.bias"),
            vec![d],
            Kind::F32,
            Source::Whole(format!("{from}/{src}/layer_norm/beta")),
        );
    }

    /// `bias` is false for Whisper's bias-less key projections.
    fn linear(&mut self, dst: &str, src: LinearSource, bias: bool, shape: [usize; 2]) {
        let weight = self.source(format!("{}/weight", src.name), src.part, shape[1]);
        self.push(
            &format!("{dst}.weight"),
            shape.to_vec(),
            Kind::Matrix,
            weight,
        );
        if bias {
            let bias = self.source(format!("{}/bias", src.name), src.part, 1);
            self.push(&format!("{dst}.bias"), vec![shape[0]], Kind::F32, bias);
        }
    }
}

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    pub fn finish(self) -> (String, u64, W) {
        (
            hex::encode(self.hasher.finalize()),
            self.written,
            self.inner,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
