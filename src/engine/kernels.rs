//! Which matrix kernels whisper.cpp uses, and the settings OpenBLAS must see
//! before it loads.
//!
//! hotline's patched ggml multiplies the encoder's large matrices with
//! OpenBLAS's `cblas_sgemm` when `libopenblas.so.0` is installed (it is
//! loaded with `dlopen` on first use, so a machine without it keeps ggml's
//! built-in kernels); see vendor/whisper-rs-sys/PATCHES.md. Set
//! `HOTLINE_NO_BLAS=1` to use the built-in kernels anyway.

use std::ffi::CStr;
use std::os::raw::c_char;

extern "C" {
    /// Defined in the vendored ggml (`ggml-cpu/hotline-blas.h`).
    fn hotline_blas_info() -> *const c_char;
}

/// "OpenBLAS SKYLAKEX", or "built-in (tinyBLAS)" when OpenBLAS is missing or
/// switched off. Loads OpenBLAS if it is not loaded yet.
pub fn matrix_kernels() -> String {
    // SAFETY: the function returns a pointer to a NUL-terminated static
    // buffer that is written once, before the first return.
    unsafe { CStr::from_ptr(hotline_blas_info()) }
        .to_string_lossy()
        .into_owned()
}

/// Sets OpenBLAS's own environment variables where the operator has not:
/// one OpenBLAS thread (ggml's threads each call it for their share of a
/// product), and on CPUs with AVX-512 the SkylakeX kernels, which OpenBLAS
/// 0.3.21 (Debian 12) does not pick by itself on newer AMD EPYC cores (it
/// falls back to its AVX2 kernels: 1.6x slower encoder here).
///
/// OpenBLAS reads them once, when it is loaded, so call this at the start of
/// `main`, before any other thread exists.
pub fn configure_openblas_env() {
    if std::env::var_os("OPENBLAS_NUM_THREADS").is_none() {
        std::env::set_var("OPENBLAS_NUM_THREADS", "1");
    }
    #[cfg(target_arch = "x86_64")]
    {
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512cd")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl");
        if avx512 && std::env::var_os("OPENBLAS_CORETYPE").is_none() {
            std::env::set_var("OPENBLAS_CORETYPE", "SkylakeX");
        }
    }
}
