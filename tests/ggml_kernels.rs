//! The matrix products hotline's patched ggml computes with tinyBLAS (see
//! vendor/whisper-rs-sys/PATCHES.md): shapes whose inner dimension is not a
//! multiple of the vector width, or whose row count is not a multiple of 4,
//! as Whisper's attention (1500 positions) and logits (51865 tokens) have.
//! Each product is checked against a plain f64 reference on the same
//! f16-rounded inputs, through ggml's public graph API.

mod support;

use half::f16;
use support::signals::Rng;
use whisper_rs_sys as ggml;

/// `m` rows of length `k` (f16) times `n` columns of length `k` (f32):
/// ggml's `mul_mat`, computed with `threads` threads, as a column-major m×n
/// result.
fn ggml_mul_mat(a: &[f16], b: &[f32], m: usize, n: usize, k: usize, threads: i32) -> Vec<f32> {
    assert_eq!(a.len(), m * k);
    assert_eq!(b.len(), n * k);
    // SAFETY: a context of our own, tensors created in it with the sizes
    // their data is copied from, freed before returning.
    unsafe {
        ggml::ggml_cpu_init();
        let ctx = ggml::ggml_init(ggml::ggml_init_params {
            mem_size: 2 * (m * k * 2 + n * k * 4 + m * n * 4) + (64 << 20),
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        });
        assert!(!ctx.is_null());
        let ta = ggml::ggml_new_tensor_2d(ctx, ggml::ggml_type_GGML_TYPE_F16, k as i64, m as i64);
        let tb = ggml::ggml_new_tensor_2d(ctx, ggml::ggml_type_GGML_TYPE_F32, k as i64, n as i64);
        std::ptr::copy_nonoverlapping(a.as_ptr().cast::<u16>(), (*ta).data.cast::<u16>(), a.len());
        std::ptr::copy_nonoverlapping(b.as_ptr(), (*tb).data.cast::<f32>(), b.len());
        let tc = ggml::ggml_mul_mat(ctx, ta, tb);
        let graph = ggml::ggml_new_graph(ctx);
        ggml::ggml_build_forward_expand(graph, tc);
        let status = ggml::ggml_graph_compute_with_ctx(ctx, graph, threads);
        assert_eq!(status, ggml::ggml_status_GGML_STATUS_SUCCESS);
        let out = std::slice::from_raw_parts((*tc).data.cast::<f32>(), m * n).to_vec();
        ggml::ggml_free(ctx);
        out
    }
}

/// Deterministic values in [-1, 1).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next()).collect()
}

fn check(m: usize, n: usize, k: usize) {
    let a: Vec<f16> = values(m * k, 1).into_iter().map(f16::from_f32).collect();
    let b = values(n * k, 2);
    // ggml rounds the f32 operand to f16 before tinyBLAS multiplies.
    let b16: Vec<f64> = b.iter().map(|&x| f64::from(f16::from_f32(x))).collect();
    for threads in [1, 2] {
        let got = ggml_mul_mat(&a, &b, m, n, k, threads);
        for j in 0..n {
            for i in 0..m {
                let want: f64 = (0..k)
                    .map(|l| f64::from(a[i * k + l]) * b16[j * k + l])
                    .sum();
                let g = f64::from(got[j * m + i]);
                assert!(
                    (g - want).abs() <= 1e-3 * (1.0 + want.abs()),
                    "m={m} n={n} k={k} threads={threads}: C[{i},{j}] = {g}, want {want}"
                );
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
