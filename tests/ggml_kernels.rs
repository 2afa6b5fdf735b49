//! The matrix products hotline's patched ggml computes with tinyBLAS (see
//! vendor/whisper-rs-sys/PATCHES.md): shapes whose inner dimension is not a
//! multiple of the vector width, or whose row count is not a multiple of 4,
//! as Whisper's attention (1500 positions) and logits (51865 tokens) have.
//! Each product is checked against a plain f64 reference on the same
//! f16-rounded inputs, through ggml's public graph API.
//!
//! Products large in every dimension go to OpenBLAS's sgemm instead (the
//! encoder's), with f32 activations: those are checked to f32 precision,
//! which tinyBLAS's f16 rounding would not meet, so a silent fallback fails.
//!
//! Weights registered for int8 (as whisper.cpp registers the model's) go to
//! the int8 kernel, AVX-512 VNNI or AVX2: checked against an exact int8
//! reference, which an f16 or f32 product would not meet.

mod support;

use half::f16;
use support::signals::Rng;
use whisper_rs_sys as ggml;

extern "C" {
    // Defined in the vendored ggml (`ggml-cpu/hotline-q8.h`); this test
    // gives the f16 memory back, as whisper.cpp does, which the crate's
    // `kernels::q8_prepare` does not.
    fn hotline_q8_prepare(w: *const ggml::ggml_tensor, drop_original: bool) -> bool;
    fn hotline_q8_release(w: *const ggml::ggml_tensor);
}

/// `batch` products of `m` rows of length `k` (f16) times `n` columns of
/// length `k` (f32): ggml's `mul_mat`, computed with `threads` threads, as
/// column-major m×n results one after the other. With `int8`, the weights
/// are registered for the int8 kernel first and their f16 memory given back,
/// as whisper.cpp does with the model's; the second value tells whether that
/// was accepted.
fn ggml_mul_mat(
    a: &[f16],
    b: &[f32],
    (m, n, k, batch): (usize, usize, usize, usize),
    threads: i32,
    int8: bool,
) -> (Vec<f32>, bool) {
    assert_eq!(a.len(), m * k * batch);
    assert_eq!(b.len(), n * k * batch);
    let (m, n, k, batch) = (m as i64, n as i64, k as i64, batch as i64);
    // SAFETY: a context of our own, tensors created in it with the sizes
    // their data is copied from, freed before returning.
    unsafe {
        ggml::ggml_cpu_init();
        let ctx = ggml::ggml_init(ggml::ggml_init_params {
            mem_size: 2 * (a.len() * 2 + b.len() * 4 + (m * n * batch) as usize * 4) + (64 << 20),
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        });
        assert!(!ctx.is_null());
        let ta = ggml::ggml_new_tensor_3d(ctx, ggml::ggml_type_GGML_TYPE_F16, k, m, batch);
        let tb = ggml::ggml_new_tensor_3d(ctx, ggml::ggml_type_GGML_TYPE_F32, k, n, batch);
        std::ptr::copy_nonoverlapping(a.as_ptr().cast::<u16>(), (*ta).data.cast::<u16>(), a.len());
        std::ptr::copy_nonoverlapping(b.as_ptr(), (*tb).data.cast::<f32>(), b.len());
        let registered = int8 && hotline_q8_prepare(ta, true);
        let tc = ggml::ggml_mul_mat(ctx, ta, tb);
        let graph = ggml::ggml_new_graph(ctx);
        ggml::ggml_build_forward_expand(graph, tc);
        let status = ggml::ggml_graph_compute_with_ctx(ctx, graph, threads);
        assert_eq!(status, ggml::ggml_status_GGML_STATUS_SUCCESS);
        let out =
            std::slice::from_raw_parts((*tc).data.cast::<f32>(), (m * n * batch) as usize).to_vec();
        if registered {
            hotline_q8_release(ta);
        }
        ggml::ggml_free(ctx);
        (out, registered)
    }
}

/// Deterministic values in [-1, 1).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next()).collect()
}

/// Checks tinyBLAS's products: ggml rounds the f32 operand to f16 first.
fn check(m: usize, n: usize, k: usize) {
    check_with(
        m,
        n,
        k,
        1,
        &dot_of(|x| f64::from(f16::from_f32(x))),
        1e-4,
        false,
    );
}

/// A row of weights times a column of activations: the exact result and the
/// sum of the terms' magnitudes (rounding error grows with it).
type Dot = dyn Fn(&[f16], &[f32]) -> (f64, f64);

/// The product in f64 with the activations first mapped by `operand`.
fn dot_of(operand: fn(f32) -> f64) -> impl Fn(&[f16], &[f32]) -> (f64, f64) {
    move |row, col| {
        let terms = row
            .iter()
            .zip(col)
            .map(|(&a, &b)| f64::from(a) * operand(b));
        (terms.clone().sum(), terms.map(f64::abs).sum())
    }
}

/// Checks `a × b` against `reference` for every result, within `tol` times
/// the sum of the terms' magnitudes, with one and with two threads.
fn check_with(m: usize, n: usize, k: usize, batch: usize, reference: &Dot, tol: f64, int8: bool) {
    let a: Vec<f16> = values(m * k * batch, 1)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let b = values(n * k * batch, 2);
    for threads in [1, 2] {
        let (got, _) = ggml_mul_mat(&a, &b, (m, n, k, batch), threads, int8);
        for p in 0..batch {
            let (a, b, got) = (&a[p * m * k..], &b[p * n * k..], &got[p * m * n..]);
            for j in 0..n {
                for i in 0..m {
                    let (want, size) = reference(&a[i * k..(i + 1) * k], &b[j * k..(j + 1) * k]);
                    let g = f64::from(got[j * m + i]);
                    assert!(
                        (g - want).abs() <= tol * size,
                        "m={m} n={n} k={k} batch {p} threads={threads}: C[{i},{j}] = {g}, want {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn attention_sums_over_1500_positions() {
    // V (64 values per head) times the soft-max over 1500 encoder positions:
    // encoder (many queries) and decoder cross-attention (a few beams).
    check(64, 24, 1500);
    check(64, 5, 1500);
}

#[test]
fn row_counts_that_are_not_a_multiple_of_four() {
    // 51865 vocabulary rows in Whisper; the same remainders, smaller.
    check(4 * 37 + 1, 5, 512);
    check(4 * 37 + 3, 2, 512);
    check(4 * 9 + 2, 3, 1500);
}

#[test]
fn shapes_tinyblas_does_not_take() {
    // Fewer than 4 rows, fewer than 8 terms, a single column: ggml's own
    // kernels, unchanged.
    check(3, 4, 64);
    check(8, 4, 4);
    check(16, 1, 1500);
}

#[test]
fn large_products_go_through_openblas_in_f32() {
    let kernels = hotline::engine::kernels::matrix_kernels();
    let off = std::env::var("HOTLINE_NO_BLAS").unwrap_or_default();
    if !off.is_empty() && !off.starts_with('0') {
        assert!(kernels.starts_with("built-in"), "{kernels}");
        return;
    }
    assert!(
        kernels.starts_with("OpenBLAS"),
        "OpenBLAS is not in use ({kernels}): run scripts/bootstrap"
    );
    // An encoder weight times 1500-ish positions (odd sizes, so that the
    // two threads' column shares differ), and attention's per-head products:
    // a batch of products with 64 terms, and with 1500.
    let f32 = dot_of(f64::from);
    check_with(96, 45, 512, 1, &f32, 1e-6, false);
    check_with(40, 33, 64, 3, &f32, 1e-6, false);
    check_with(64, 37, 1500, 2, &f32, 1e-6, false);
}

fn env_set(name: &str) -> bool {
    let v = std::env::var(name).unwrap_or_default();
    !v.is_empty() && !v.starts_with('0')
}

/// The int8 kernel this CPU and environment run (`hotline-q8.h`), as the
/// kernels description names it. `scripts/test` runs these tests once more
/// with `HOTLINE_INT8_AVX2=1`, so that a VNNI machine checks both.
fn int8_expected() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    let (vnni, avx2) = (
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni"),
        is_x86_feature_detected!("avx2"),
    );
    #[cfg(not(target_arch = "x86_64"))]
    let (vnni, avx2) = (false, false);
    if env_set("HOTLINE_NO_INT8") {
        None
    } else if vnni && !env_set("HOTLINE_INT8_AVX2") {
        Some("int8 AVX-512 VNNI")
    } else if avx2 {
        Some("int8 AVX2")
    } else {
        None
    }
}

/// Symmetric int8 quantization with one scale per row, computed as the
/// kernel does in f32 (round half to even).
fn quantize(row: impl Iterator<Item = f32> + Clone) -> (Vec<i32>, f32) {
    let amax = row.clone().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = amax / 127.0;
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    (
        row.map(|v| (v * inv).round_ties_even() as i32).collect(),
        scale,
    )
}

/// The int8 kernel's result: exact integer sums of the quantized rows,
/// scaled back in f32.
fn int8_dot(row: &[f16], col: &[f32]) -> (f64, f64) {
    let (qa, sa) = quantize(row.iter().map(|v| v.to_f32()));
    let (qb, sb) = quantize(col.iter().copied());
    let sum: i64 = qa.iter().zip(&qb).map(|(&x, &y)| i64::from(x * y)).sum();
    let want = f64::from(sum as f32 * sb * sa);
    let size: f64 = row
        .iter()
        .zip(col)
        .map(|(&a, &b)| (f64::from(a) * f64::from(b)).abs())
        .sum();
    (want, size)
}

#[test]
fn registered_weights_multiply_in_int8() {
    let kernel = int8_expected();
    let int8 = kernel.is_some();
    // What the start-up log and the benchmark report.
    let kernels = hotline::engine::kernels::matrix_kernels();
    assert_eq!(kernels.contains("int8"), int8, "{kernels}");
    if let Some(kernel) = kernel {
        assert!(kernels.contains(kernel), "{kernels}, want {kernel}");
    }
    // Weight rows in whole and part panels of 16, in groups of three and
    // what is left (53 = 3 x 16 + 5, 40, 80 = 5 x 16); position counts that
    // are not a multiple of the 6-row tile and split unevenly between two
    // threads; few rows (the decoder's five beams, one token), where the
    // threads split the weights instead; inner lengths that are not a
    // multiple of 4 (102) or are the model's (512). The f16 weights are
    // gone once registered, so a kernel that read them would fail. Both
    // kernels give the same result to the bit (exact int32 sums).
    for (m, n, k) in [
        (53, 45, 102),
        (40, 33, 512),
        (80, 70, 64),
        (53, 5, 102),
        (80, 1, 512),
    ] {
        let a = vec![f16::from_f32(0.5); m * k];
        let (_, registered) = ggml_mul_mat(&a, &vec![0.25; n * k], (m, n, k, 1), 1, true);
        assert_eq!(registered, int8, "m={m} k={k}");
        if int8 {
            check_with(m, n, k, 1, &int8_dot, 1e-6, true);
        } else if n >= 32 {
            check_with(m, n, k, 1, &dot_of(f64::from), 1e-6, true);
        } else {
            check_with(
                m,
                n,
                k,
                1,
                &dot_of(|x| f64::from(f16::from_f32(x))),
                1e-4,
                true,
            );
        }
    }
    // Weights that are not registered keep the f32 kernels.
    check_with(53, 45, 102, 1, &dot_of(f64::from), 1e-6, false);
}

#[test]
fn int8_results_stay_close_to_f32() {
    // What quantization costs: each result within a few hundredths of the
    // terms' magnitudes of the exact product (the encoder's shape).
    check_with(64, 40, 512, 1, &dot_of(f64::from), 2e-2, true);
}

/// ggml's graph of one op on an f32 tensor of `rows` rows of `len` values,
/// computed with `threads` threads.
fn ggml_unary(
    x: &[f32],
    len: usize,
    threads: i32,
    op: impl Fn(*mut ggml::ggml_context, *mut ggml::ggml_tensor) -> *mut ggml::ggml_tensor,
) -> Vec<f32> {
    // SAFETY: as in `ggml_mul_mat`.
    unsafe {
        ggml::ggml_cpu_init();
        let ctx = ggml::ggml_init(ggml::ggml_init_params {
            mem_size: 4 * x.len() * 4 + (16 << 20),
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        });
        assert!(!ctx.is_null());
        let rows = (x.len() / len) as i64;
        let t = ggml::ggml_new_tensor_2d(ctx, ggml::ggml_type_GGML_TYPE_F32, len as i64, rows);
        std::ptr::copy_nonoverlapping(x.as_ptr(), (*t).data.cast::<f32>(), x.len());
        let out = op(ctx, t);
        let graph = ggml::ggml_new_graph(ctx);
        ggml::ggml_build_forward_expand(graph, out);
        let status = ggml::ggml_graph_compute_with_ctx(ctx, graph, threads);
        assert_eq!(status, ggml::ggml_status_GGML_STATUS_SUCCESS);
        let y = std::slice::from_raw_parts((*out).data.cast::<f32>(), x.len()).to_vec();
        ggml::ggml_free(ctx);
        y
    }
}

#[test]
fn soft_max_over_1500_positions() {
    // Attention rows as the encoder has them (scaled by 1/8), and short
    // rows that end in the scalar tail; the largest value sits anywhere.
    // SAFETY: a ggml op on the tensor `ggml_unary` made in its context.
    let op = |ctx, t| unsafe { ggml::ggml_soft_max_ext(ctx, t, std::ptr::null_mut(), 0.125, 0.0) };
    for len in [1500, 13, 7] {
        let mut x: Vec<f32> = values(len * 6, 3).into_iter().map(|v| v * 40.0).collect();
        for (r, row) in x.chunks_mut(len).enumerate() {
            row[(r * 389) % len] = 60.0; // one clear maximum per row
        }
        for threads in [1, 2] {
            let y = ggml_unary(&x, len, threads, op);
            for (xr, yr) in x.chunks(len).zip(y.chunks(len)) {
                let max = xr
                    .iter()
                    .fold(f64::MIN, |m, &v| m.max(f64::from(v) * 0.125));
                let sum: f64 = xr.iter().map(|&v| (f64::from(v) * 0.125 - max).exp()).sum();
                for (&v, &got) in xr.iter().zip(yr) {
                    let want = (f64::from(v) * 0.125 - max).exp() / sum;
                    assert!(
                        (f64::from(got) - want).abs() <= 1e-6 + 1e-5 * want,
                        "len {len}: softmax {got}, want {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn gelu_in_f32() {
    // ggml's tanh form of GELU, computed in f32: within float rounding of
    // the formula (its old f16 table was 1e-3 off), across the range and
    // its clamps, with a scalar tail (4003 is not a multiple of 16).
    let x: Vec<f32> = (0..4003)
        .map(|i| -12.0 + 24.0 * i as f32 / 4002.0)
        .collect();
    // SAFETY: as for the soft-max.
    let y = ggml_unary(&x, 4003, 2, |ctx, t| unsafe { ggml::ggml_gelu(ctx, t) });
    for (&v, &got) in x.iter().zip(&y) {
        let v = f64::from(v);
        let want = 0.5
            * v
            * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * v * (1.0 + 0.044715 * v * v)).tanh());
        assert!(
            (f64::from(got) - want).abs() <= 1e-6 + 2e-6 * want.abs(),
            "gelu({v}) = {got}, want {want}"
        );
    }
}

#[test]
fn bench_kernels_times_every_shape_with_the_kernels_in_use() {
    let text = support::stdout_of(
        std::process::Command::new(env!("CARGO_BIN_EXE_hotline")).args([
            "bench",
            "kernels",
            "--reps",
            "2",
            "--threads",
            "2",
        ]),
    );
    assert!(text.starts_with("kernels: "), "{text}");
    assert!(text.contains("(2 threads)"), "{text}");
    for shape in hotline::bench::kernels::SHAPES {
        let row = text
            .lines()
            .find(|l| l.starts_with(shape.what))
            .unwrap_or_else(|| panic!("no row for {}: {text}", shape.what));
        let cells: Vec<&str> = row[shape.what.len()..].split_whitespace().collect();
        // weights, "x", rows, f16 ms, GMAC/s, int8 ms, GMAC/s, speed-up
        assert_eq!(cells.len(), 8, "{row}");
        let f16_ms: f64 = cells[3].parse().unwrap();
        assert!(f16_ms > 0.0, "{row}");
        match int8_expected() {
            Some(kernel) => {
                assert!(text.contains(kernel), "{text}");
                assert!(cells[5].parse::<f64>().unwrap() > 0.0, "{row}");
                assert!(cells[7].ends_with('x'), "{row}");
            }
            None => assert_eq!(&cells[5..], ["-", "-", "-"], "{row}"),
        }
    }
}
