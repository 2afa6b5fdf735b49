//! The CTranslate2 → ggml converter, through `hotline model fetch --from-ct2`,
//! on a tiny synthetic Whisper: header, vocabulary, tensor names, shapes,
//! types, the split of fused projections, and idempotence.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use half::f16;
use hotline::model::ct2::{write, DType};
use hotline::model::ggml::read_header;

const D: usize = 64;
const N_MELS: usize = 80;
const AUDIO_CTX: usize = 6;
const TEXT_CTX: usize = 5;

/// Values that identify their tensor and position: `tag + i / 1000`.
fn values(tag: f32, n: usize) -> Vec<f32> {
    (0..n).map(|i| tag + (i % 1000) as f32 / 1000.0).collect()
}

fn f16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| f16::from_f32(*x).to_le_bytes())
        .collect()
}

/// A Whisper-shaped CTranslate2 export with one encoder and one decoder layer.
fn tiny_ct2(dir: &Path) {
    let mut vars: Vec<(String, Vec<usize>, DType, Vec<u8>)> = Vec::new();
    let mut tag = 1.0f32;
    let mut add = |name: &str, shape: Vec<usize>| {
        let n: usize = shape.iter().product();
        tag += 1.0;
        vars.push((
            name.to_owned(),
            shape,
            DType::F16,
            f16_bytes(&values(tag, n)),
        ));
    };
    add("encoder/conv1/weight", vec![D, N_MELS, 3]);
    add("encoder/conv1/bias", vec![D]);
    add("encoder/conv2/weight", vec![D, D, 3]);
    add("encoder/conv2/bias", vec![D]);
    add("encoder/position_encodings/encodings", vec![AUDIO_CTX, D]);
    add("encoder/layer_norm/gamma", vec![D]);
    add("encoder/layer_norm/beta", vec![D]);
    add("decoder/embeddings/weight", vec![10, D]);
    add("decoder/position_encodings/encodings", vec![TEXT_CTX, D]);
    add("decoder/layer_norm/gamma", vec![D]);
    add("decoder/layer_norm/beta", vec![D]);
    for (side, attns) in [
        ("encoder", vec!["self_attention"]),
        ("decoder", vec!["self_attention", "attention"]),
    ] {
        let l = format!("{side}/layer_0");
        for a in attns {
            add(&format!("{l}/{a}/layer_norm/gamma"), vec![D]);
            add(&format!("{l}/{a}/layer_norm/beta"), vec![D]);
            if a == "self_attention" {
                add(&format!("{l}/{a}/linear_0/weight"), vec![3 * D, D]);
                add(&format!("{l}/{a}/linear_0/bias"), vec![3 * D]);
                add(&format!("{l}/{a}/linear_1/weight"), vec![D, D]);
                add(&format!("{l}/{a}/linear_1/bias"), vec![D]);
            } else {
                add(&format!("{l}/{a}/linear_0/weight"), vec![D, D]);
                add(&format!("{l}/{a}/linear_0/bias"), vec![D]);
                add(&format!("{l}/{a}/linear_1/weight"), vec![2 * D, D]);
                add(&format!("{l}/{a}/linear_1/bias"), vec![2 * D]);
                add(&format!("{l}/{a}/linear_2/weight"), vec![D, D]);
                add(&format!("{l}/{a}/linear_2/bias"), vec![D]);
            }
        }
        add(&format!("{l}/ffn/layer_norm/gamma"), vec![D]);
        add(&format!("{l}/ffn/layer_norm/beta"), vec![D]);
        add(&format!("{l}/ffn/linear_0/weight"), vec![4 * D, D]);
        add(&format!("{l}/ffn/linear_0/bias"), vec![4 * D]);
        add(&format!("{l}/ffn/linear_1/weight"), vec![D, 4 * D]);
        add(&format!("{l}/ffn/linear_1/bias"), vec![D]);
    }
    vars.push((
        "encoder/num_heads".into(),
        vec![],
        DType::I16,
        2i16.to_le_bytes().to_vec(),
    ));
    vars.push((
        "decoder/num_heads".into(),
        vec![],
        DType::I16,
        2i16.to_le_bytes().to_vec(),
    ));
    // Scalars a real export also carries; the converter must ignore them.
    vars.push((
        "decoder/scale_embeddings".into(),
        vec![],
        DType::I8,
        vec![0],
    ));
    let refs: Vec<(&str, &[usize], DType, &[u8])> = vars
        .iter()
        .map(|(n, s, t, d)| (n.as_str(), s.as_slice(), *t, d.as_slice()))
        .collect();
    let bin = write(
        "WhisperSpec",
        3,
        &refs,
        &[("decoder/projection/weight", "decoder/embeddings/weight")],
    );
    std::fs::write(dir.join("model.bin"), bin).unwrap();
    // GPT-2 byte-level tokens; "Ġ" is a space. Specials after <|endoftext|> are dropped.
    let vocab = [
        "a",
        "b",
        "Ġcat",
        "Å¼",
        "!",
        "",
        "<|endoftext|>",
        "<|startoftranscript|>",
        "<|pl|>",
        "<|notimestamps|>",
    ];
    std::fs::write(dir.join("vocabulary.txt"), vocab.join("\n") + "\n").unwrap();
}

struct Tensor {
    dims: Vec<usize>,
    ttype: i32,
    data: Vec<u8>,
}

/// Reads every tensor after the header.
fn tensors(bytes: &[u8], header_len: usize) -> BTreeMap<String, Tensor> {
    let mut pos = header_len;
    let i32_at = |p: usize| i32::from_le_bytes(bytes[p..p + 4].try_into().unwrap());
    let mut out = BTreeMap::new();
    while pos < bytes.len() {
        let (n_dims, name_len, ttype) = (
            i32_at(pos) as usize,
            i32_at(pos + 4) as usize,
            i32_at(pos + 8),
        );
        pos += 12;
        let dims: Vec<usize> = (0..n_dims).map(|i| i32_at(pos + 4 * i) as usize).collect();
        pos += 4 * n_dims;
        let name = String::from_utf8(bytes[pos..pos + name_len].to_vec()).unwrap();
        pos += name_len;
        let n: usize = dims.iter().product();
        let size = match ttype {
            0 => n * 4,
            1 => n * 2,
            8 => n / 32 * 34,
            t => panic!("unexpected type {t}"),
        };
        out.insert(
            name,
            Tensor {
                dims,
                ttype,
                data: bytes[pos..pos + size].to_vec(),
            },
        );
        pos += size;
    }
    out
}

fn header_len(bytes: &[u8]) -> usize {
    // magic + 11 ints + mel (2 ints + data) + vocab.
    let mut pos = 4 + 11 * 4;
    let i32_at = |p: usize| i32::from_le_bytes(bytes[p..p + 4].try_into().unwrap());
    let (n_mel, n_fft) = (i32_at(pos) as usize, i32_at(pos + 4) as usize);
    pos += 8 + n_mel * n_fft * 4;
    let n_vocab = i32_at(pos) as usize;
    pos += 4;
    for _ in 0..n_vocab {
        pos += 4 + i32_at(pos) as usize;
    }
    pos
}

fn fetch(dir: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["model", "fetch", "--from-ct2"])
        .arg(dir)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("HOTLINE_CACHE_DIR", dir.join("cache"))
        .output()
        .unwrap()
}

#[test]
fn tiny_model_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    tiny_ct2(dir);
    let out = dir.join("ggml-tiny.bin");
    let run = fetch(dir, &out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&out).unwrap();

    let header = read_header(&bytes[..]).unwrap();
    let hp = header.hparams;
    assert_eq!(
        (
            hp.n_vocab,
            hp.n_audio_ctx,
            hp.n_audio_state,
            hp.n_audio_head,
            hp.n_audio_layer
        ),
        (10, 6, 64, 2, 1)
    );
    assert_eq!(
        (
            hp.n_text_ctx,
            hp.n_text_state,
            hp.n_text_head,
            hp.n_text_layer,
            hp.n_mels
        ),
        (5, 64, 2, 1, 80)
    );
    assert_eq!(header.ftype, 1, "mostly f16");
    assert_eq!(header.n_fft, 201);
    // Ordinary tokens only, byte-decoded, the empty one kept.
    let vocab: Vec<&[u8]> = header.vocab.iter().map(Vec::as_slice).collect();
    assert_eq!(
        vocab,
        vec![&b"a"[..], b"b", b" cat", "ż".as_bytes(), b"!", b""]
    );

    let t = tensors(&bytes, header_len(&bytes));
    // 7 + 4 outside the blocks, 15 per encoder layer, 24 per decoder layer.
    assert_eq!(t.len(), 7 + 4 + 15 + 24);
    assert!(
        !t.keys().any(|k| k.contains("key.bias")),
        "Whisper's key projections have no bias"
    );
    assert!(
        !t.keys().any(|k| k.contains("projection")),
        "tied output projection is dropped"
    );
    let check = |name: &str, dims: &[usize], ttype: i32| {
        let x = t.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(x.dims, dims, "{name} dims (ggml order)");
        assert_eq!(x.ttype, ttype, "{name} type");
    };
    check("encoder.conv1.weight", &[3, 80, 64], 1);
    check("encoder.conv1.bias", &[1, 64], 0);
    check("encoder.positional_embedding", &[64, 6], 0);
    check("decoder.positional_embedding", &[64, 5], 0);
    check("decoder.token_embedding.weight", &[64, 10], 1);
    check("encoder.blocks.0.attn.query.weight", &[64, 64], 1);
    check("encoder.blocks.0.attn.query.bias", &[64], 0);
    check("encoder.blocks.0.mlp.0.weight", &[64, 256], 1);
    check("decoder.blocks.0.cross_attn.value.weight", &[64, 64], 1);
    check("decoder.blocks.0.cross_attn_ln.weight", &[64], 0);

    // The fused q/k/v rows are split in order: value = rows 2D..3D.
    let fused = values(0.0, 3 * D * D);
    let row_of = |name: &str| -> f32 {
        let d = &t[name].data;
        f16::from_le_bytes([d[0], d[1]]).to_f32()
    };
    let base = row_of("encoder.blocks.0.attn.query.weight");
    let value_first = row_of("encoder.blocks.0.attn.value.weight");
    let key_first = row_of("encoder.blocks.0.attn.key.weight");
    let expect = |rows: usize| fused[rows * D];
    assert!(
        (key_first - base - expect(D)).abs() < 0.02,
        "key starts at row D"
    );
    assert!(
        (value_first - base - expect(2 * D)).abs() < 0.02,
        "value starts at row 2D"
    );

    // A second fetch does nothing and says so.
    let again = fetch(dir, &out, &[]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already present"));
}

#[test]
fn quantized_model_keeps_conv_and_vectors_unquantized() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_ct2(tmp.path());
    let out = tmp.path().join("ggml-tiny-q8.bin");
    let run = fetch(tmp.path(), &out, &["--quantize", "q8_0"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&out).unwrap();
    let header = read_header(&bytes[..]).unwrap();
    assert_eq!(header.ftype, 7 + 2000, "q8_0 with quantization version 2");
    let t = tensors(&bytes, header_len(&bytes));
    assert_eq!(t["encoder.blocks.0.attn.query.weight"].ttype, 8);
    assert_eq!(t["decoder.token_embedding.weight"].ttype, 8);
    assert_eq!(t["encoder.conv2.weight"].ttype, 1);
    assert_eq!(t["encoder.blocks.0.attn.query.bias"].ttype, 0);
}

#[test]
fn wrong_inputs_fail_with_clear_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Not a CTranslate2 file.
    std::fs::write(dir.join("model.bin"), b"GGUF\x03\0\0\0 definitely not ct2").unwrap();
    std::fs::write(dir.join("vocabulary.txt"), "a\n<|endoftext|>\n").unwrap();
    let run = fetch(dir, &dir.join("out.bin"), &[]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("wrong model format"), "{err}");
    assert!(
        !dir.join("out.bin").exists() && !dir.join("out.bin.partial").exists(),
        "no half-written model left"
    );
    // A truncated CTranslate2 file.
    tiny_ct2(dir);
    let full = std::fs::read(dir.join("model.bin")).unwrap();
    std::fs::write(dir.join("model.bin"), &full[..full.len() / 2]).unwrap();
    let run = fetch(dir, &dir.join("out.bin"), &[]);
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("truncated"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // --from-file refuses a file that is not ggml.
    let run = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["model", "fetch", "--from-file"])
        .arg(dir.join("vocabulary.txt"))
        .arg("--out")
        .arg(dir.join("x.bin"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stderr).contains("not a whisper.cpp ggml model"));
}
