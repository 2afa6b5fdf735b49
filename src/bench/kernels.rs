//! `hotline bench kernels`: the model's weight products timed alone, through
//! ggml's graph API as whisper.cpp runs them, with the weights as loaded
//! from the file (f16: OpenBLAS for many rows, tinyBLAS for a few beams) and
//! registered for the int8 kernel (`ggml-cpu/hotline-q8.h`). Shapes are the
//! base model's: the encoder's 1500 positions and the decoder's 5 beams.

use std::time::{Duration, Instant};

use half::f16;
use whisper_rs_sys as ggml;

use crate::engine::kernels;

/// One product: `rows` activation rows of `k` values times an `m` × `k`
/// weight matrix.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub what: &'static str,
    pub m: usize,
    pub k: usize,
    pub rows: usize,
}

pub const SHAPES: [Shape; 5] = [
    Shape {
        what: "encoder attention (q, k, v, out)",
        m: 512,
        k: 512,
        rows: 1500,
    },
    Shape {
        what: "encoder MLP in",
        m: 2048,
        k: 512,
        rows: 1500,
    },
    Shape {
        what: "encoder MLP out",
        m: 512,
        k: 2048,
        rows: 1500,
    },
    Shape {
        what: "decoder attention, 5 beams",
        m: 512,
        k: 512,
        rows: 5,
    },
    Shape {
        what: "decoder MLP in, 5 beams",
        m: 2048,
        k: 512,
        rows: 5,
    },
];

/// Median time of one product for each kernel.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub shape: Shape,
    pub f16: Duration,
    /// `None` where no int8 kernel runs (no AVX2, or `HOTLINE_NO_INT8`).
    pub int8: Option<Duration>,
}

/// Times every shape with `threads` threads, `reps` products each.
pub fn run(threads: usize, reps: usize) -> Vec<Timing> {
    SHAPES
        .iter()
        .map(|&shape| {
            let (f16, int8) = time_shape(shape, threads, reps.max(1));
            Timing { shape, f16, int8 }
        })
        .collect()
}

fn time_shape(s: Shape, threads: usize, reps: usize) -> (Duration, Option<Duration>) {
    // Values like a layer's: weights of ±0.05, activations of ±1.
    let mut rng = super::Rng::new(0x2545_f491_4f6c_dd1d);
    let mut next = move || (rng.unit() * 2.0 - 1.0) as f32;
    let weights: Vec<f16> = (0..s.m * s.k)
        .map(|_| f16::from_f32(next() * 0.05))
        .collect();
    let acts: Vec<f32> = (0..s.rows * s.k).map(|_| next()).collect();
    let threads = i32::try_from(threads.max(1)).unwrap_or(1);
    // SAFETY: a ggml context of our own, sized for the three tensors and the
    // graph; the tensors are created in it with the sizes copied into them;
    // the weight is released from the int8 registry before the context is
    // freed.
    unsafe {
        ggml::ggml_cpu_init();
        let ctx = ggml::ggml_init(ggml::ggml_init_params {
            // the tensors and the graph (the work buffer is ours)
            mem_size: weights.len() * 2 + acts.len() * 4 + s.m * s.rows * 4 + (16 << 20),
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        });
        if ctx.is_null() {
            return (Duration::ZERO, None);
        }
        let w =
            ggml::ggml_new_tensor_2d(ctx, ggml::ggml_type_GGML_TYPE_F16, s.k as i64, s.m as i64);
        let x = ggml::ggml_new_tensor_2d(
            ctx,
            ggml::ggml_type_GGML_TYPE_F32,
            s.k as i64,
            s.rows as i64,
        );
        std::ptr::copy_nonoverlapping(
            weights.as_ptr().cast::<u16>(),
            (*w).data.cast::<u16>(),
            weights.len(),
        );
        std::ptr::copy_nonoverlapping(acts.as_ptr(), (*x).data.cast::<f32>(), acts.len());
        let y = ggml::ggml_mul_mat(ctx, w, x);
        let graph = ggml::ggml_new_graph(ctx);
        ggml::ggml_build_forward_expand(graph, y);
        // Planned again for each kernel: their work space differs.
        let time = || {
            let mut plan = ggml::ggml_graph_plan(graph, threads, std::ptr::null_mut());
            let mut work = vec![0u8; plan.work_size];
            plan.work_data = work.as_mut_ptr();
            let mut once = || {
                let start = Instant::now();
                ggml::ggml_graph_compute(graph, &mut plan);
                start.elapsed()
            };
            once(); // warm-up
            let mut times: Vec<Duration> = (0..reps).map(|_| once()).collect();
            times.sort();
            times[times.len() / 2]
        };
        let f16 = time();
        let int8 = if kernels::q8_prepare(w) {
            let t = time();
            kernels::q8_release(w);
            Some(t)
        } else {
            None
        };
        ggml::ggml_free(ctx);
        (f16, int8)
    }
}

pub fn print(threads: usize, timings: &[Timing]) {
    println!("kernels: {} ({threads} threads)", kernels::matrix_kernels());
    println!();
    println!(
        "{:<34} {:>16} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "product", "weights x rows", "f16 ms", "GMAC/s", "int8 ms", "GMAC/s", "speed-up"
    );
    for t in timings {
        let s = t.shape;
        let macs = (s.m * s.k * s.rows) as f64;
        let rate = |d: Duration| macs / d.as_secs_f64().max(1e-9) / 1e9;
        let shape = format!("{}x{} x {}", s.m, s.k, s.rows);
        let (int8_ms, int8_rate, speedup) = match t.int8 {
            Some(d) => (
                format!("{:.3}", d.as_secs_f64() * 1e3),
                format!("{:.0}", rate(d)),
                format!("{:.2}x", t.f16.as_secs_f64() / d.as_secs_f64().max(1e-9)),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<34} {:>16} {:>10.3} {:>10.0} {:>10} {:>10} {:>9}",
            s.what,
            shape,
            t.f16.as_secs_f64() * 1e3,
            rate(t.f16),
            int8_ms,
            int8_rate,
            speedup
        );
    }
}
