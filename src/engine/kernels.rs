//! Which matrix kernels whisper.cpp uses, and the settings OpenBLAS must see
//! before it loads.
//!
//! hotline's patched ggml multiplies the model's weight matrices in int8
//! (AVX-512 VNNI where the CPU has it, else AVX2; `HOTLINE_NO_INT8=1`
//! turns that off), and the encoder's other large products with OpenBLAS's
//! `cblas_sgemm` when `libopenblas.so.0` is installed (it is loaded with
//! `dlopen` on first use, so a machine without it keeps ggml's built-in
//! kernels); see vendor/whisper-rs-sys/PATCHES.md. Set `HOTLINE_NO_BLAS=1`
//! to use the built-in kernels anyway.

use std::ffi::CStr;
use std::os::raw::c_char;

extern "C" {
    /// Defined in the vendored ggml (`ggml-cpu/hotline-blas.h`).
    fn hotline_blas_info() -> *const c_char;
    /// Defined in the vendored ggml (`ggml-cpu/hotline-q8.h`).
    fn hotline_q8_prepare(w: *const whisper_rs_sys::ggml_tensor, drop_original: bool) -> bool;
    fn hotline_q8_release(w: *const whisper_rs_sys::ggml_tensor);
}

/// Registers weight matrix `w` for the int8 kernel, as whisper.cpp does
/// with the model's (without giving its f16 memory back): products with it
/// then run in int8. False where no int8 kernel runs or `w` does not suit.
///
/// # Safety
/// `w` must point to a live ggml tensor whose data stays valid until
/// [`q8_release`] is called with it.
pub unsafe fn q8_prepare(w: *const whisper_rs_sys::ggml_tensor) -> bool {
    hotline_q8_prepare(w, false)
}

/// Drops what [`q8_prepare`] kept for `w`.
///
/// # Safety
/// `w` must point to a live ggml tensor.
pub unsafe fn q8_release(w: *const whisper_rs_sys::ggml_tensor) {
    hotline_q8_release(w)
}

/// "OpenBLAS Cooperlake" (OpenBLAS's name for its kernels), or "built-in
/// (tinyBLAS)" when OpenBLAS is missing or switched off, followed by ", int8
/// AVX-512 VNNI for the model's weights" (or "int8 AVX2 …") where an int8
/// kernel runs. Loads OpenBLAS if it is not loaded yet.
pub fn matrix_kernels() -> String {
    // SAFETY: the function returns a pointer to a NUL-terminated static
    // buffer that is written once, before the first return.
    unsafe { CStr::from_ptr(hotline_blas_info()) }
        .to_string_lossy()
        .into_owned()
}

/// A machine-wide `OPENBLAS_CORETYPE` that [`configure_openblas_env`] kept
/// away from hotline's OpenBLAS, for the start-up log.
static SET_ASIDE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Prepares the environment OpenBLAS reads when it loads:
///
/// - one OpenBLAS thread unless `OPENBLAS_NUM_THREADS` says otherwise
///   (ggml's threads each call it for their share of a product; OpenBLAS's
///   own threads would fight them for the cores);
/// - kernels chosen for this CPU. OpenBLAS detects the CPU itself, but a
///   machine-wide `OPENBLAS_CORETYPE` (set on the project's machines to
///   `Haswell` for other programs) would force its AVX2 kernels on AVX-512
///   CPUs (the dev set takes 1.3x as long). hotline's OpenBLAS is private
///   (loaded with `RTLD_LOCAL` for whisper.cpp alone), so it does not
///   inherit that setting: `HOTLINE_OPENBLAS_CORETYPE` chooses its kernels
///   instead, and without it OpenBLAS detects them.
///
/// Call this at the start of `main`, before any other thread exists.
pub fn configure_openblas_env() {
    if std::env::var_os("OPENBLAS_NUM_THREADS").is_none() {
        std::env::set_var("OPENBLAS_NUM_THREADS", "1");
    }
    match std::env::var("HOTLINE_OPENBLAS_CORETYPE") {
        Ok(core) if !core.is_empty() => std::env::set_var("OPENBLAS_CORETYPE", core),
        _ => {
            if let Some(inherited) = std::env::var_os("OPENBLAS_CORETYPE") {
                let _ = SET_ASIDE.set(inherited.to_string_lossy().into_owned());
                std::env::remove_var("OPENBLAS_CORETYPE");
            }
        }
    }
}

/// The `OPENBLAS_CORETYPE` that [`configure_openblas_env`] did not pass on.
pub fn set_aside_coretype() -> Option<&'static str> {
    SET_ASIDE.get().map(String::as_str)
}
