// hotline: large matrix products through OpenBLAS's sgemm, when the library
// is installed (see vendor/whisper-rs-sys/PATCHES.md).
//
// tinyBLAS streams both operands from memory for every 4x6 tile and reaches
// about a quarter of these CPUs' FMA peak on Whisper's encoder; a packed,
// cache-blocked sgemm reaches most of it. OpenBLAS is loaded at run time
// (dlopen), not linked: a machine without it keeps the built-in kernels, and
// the library's own threads are switched off because ggml's threads each
// take a share of the columns.
//
// Included once, by ggml-cpu.c.

#pragma once

// Which kernels large products use: "OpenBLAS <core>" or "built-in (...)",
// then the int8 kernel if the CPU has it (hotline-q8.h). Loads OpenBLAS on
// first use. For hotline to report; not part of ggml's API.
GGML_BACKEND_API const char * hotline_blas_info(void);

#if defined(__linux__)

#include <dlfcn.h>
#include <pthread.h>

// cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
typedef void (*hotline_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                                 const float *, int, float, float *, int);

enum { HOTLINE_CBLAS_ROW_MAJOR = 101, HOTLINE_CBLAS_NO_TRANS = 111, HOTLINE_CBLAS_TRANS = 112 };

// Products smaller than this in any dimension stay with the built-in kernels
// (the decoder's few beams, single tokens): packing would cost more than it saves.
#define HOTLINE_BLAS_MIN_DIM 32

static pthread_once_t   hotline_blas_once = PTHREAD_ONCE_INIT;
static hotline_sgemm_fn hotline_sgemm     = NULL;
static char             hotline_blas_desc[96] = "built-in (tinyBLAS)";

static void hotline_blas_load(void) {
    const char * off = getenv("HOTLINE_NO_BLAS");
    if (off != NULL && off[0] != '\0' && off[0] != '0') {
        GGML_LOG_INFO("%s: OpenBLAS disabled by HOTLINE_NO_BLAS; using the built-in kernels\n", __func__);
        return;
    }
    void * lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        lib = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    }
    if (lib == NULL) {
        GGML_LOG_INFO("%s: OpenBLAS not found; using the built-in kernels\n", __func__);
        return;
    }
    hotline_sgemm_fn sgemm = (hotline_sgemm_fn) dlsym(lib, "cblas_sgemm");
    void (*set_threads)(int) = (void (*)(int)) dlsym(lib, "openblas_set_num_threads");
    char * (*corename)(void) = (char * (*)(void)) dlsym(lib, "openblas_get_corename");
    if (sgemm == NULL || set_threads == NULL) {
        GGML_LOG_WARN("%s: libopenblas lacks cblas_sgemm; using the built-in kernels\n", __func__);
        return;
    }
    set_threads(1);
    snprintf(hotline_blas_desc, sizeof(hotline_blas_desc), "OpenBLAS %s", corename != NULL ? corename() : "");
    GGML_LOG_INFO("%s: large matrix products through %s\n", __func__, hotline_blas_desc);
    hotline_sgemm = sgemm;
}

static bool hotline_blas_ready(void) {
    pthread_once(&hotline_blas_once, hotline_blas_load);
    return hotline_sgemm != NULL;
}

static pthread_once_t hotline_kernels_once = PTHREAD_ONCE_INIT;
static char           hotline_kernels_desc[160];

static void hotline_kernels_describe(void) {
    hotline_blas_ready();
    const char * q8 = hotline_q8_kernel();
    snprintf(hotline_kernels_desc, sizeof(hotline_kernels_desc), q8 != NULL ? "%s, %s for the model's weights" : "%s",
             hotline_blas_desc, q8);
}

const char * hotline_blas_info(void) {
    pthread_once(&hotline_kernels_once, hotline_kernels_describe);
    return hotline_kernels_desc;
}

// Whether dst = src0 x src1 goes through sgemm: f16 or f32 weights whose rows
// are contiguous, f32 activations with contiguous rows, plain (non-broadcast)
// batches, and every dimension large enough.
static bool hotline_blas_suits(const struct ggml_tensor * dst) {
    const struct ggml_tensor * src0 = dst->src[0];
    const struct ggml_tensor * src1 = dst->src[1];
    if ((src0->type != GGML_TYPE_F32 && ggml_get_type_traits(src0->type)->to_float == NULL) ||
        src1->type != GGML_TYPE_F32 || dst->type != GGML_TYPE_F32) {
        return false;
    }
    if (src0->nb[0] != ggml_type_size(src0->type) || src1->nb[0] != sizeof(float) || dst->nb[0] != sizeof(float)) {
        return false;
    }
    if (src0->ne[2] != src1->ne[2] || src0->ne[3] != src1->ne[3]) {
        return false;
    }
    // sgemm's leading dimensions: whole floats, at least a row apart
    if (src1->nb[1] % sizeof(float) != 0 || dst->nb[1] % sizeof(float) != 0 ||
        src1->nb[1] < (size_t) src1->ne[0] * sizeof(float) || dst->nb[1] < (size_t) dst->ne[0] * sizeof(float)) {
        return false;
    }
    if (src0->type == GGML_TYPE_F32 &&
        (src0->nb[1] % sizeof(float) != 0 || src0->nb[1] < (size_t) src0->ne[0] * sizeof(float))) {
        return false;
    }
    const int64_t big = HOTLINE_BLAS_MIN_DIM;
    if (src0->ne[0] < big || src0->ne[1] < big || src1->ne[1] < big) {
        return false;
    }
    const int64_t lim = INT32_MAX;
    if (src0->ne[0] > lim || src0->ne[1] > lim || src1->ne[1] > lim ||
        (int64_t) (src1->nb[1] / sizeof(float)) > lim || (int64_t) (dst->nb[1] / sizeof(float)) > lim) {
        return false;
    }
    return hotline_blas_ready();
}

// Work space for the f32 copy of f16 weights (all batches).
static size_t hotline_blas_work_size(const struct ggml_tensor * dst) {
    if (!hotline_blas_suits(dst) || dst->src[0]->type == GGML_TYPE_F32) {
        return 0;
    }
    return (size_t) ggml_nelements(dst->src[0]) * sizeof(float);
}

// Runs on every thread of the op. Threads first widen their share of the f16
// weight rows into the work buffer, then each multiplies its share of the
// columns (src1 rows) by all weights, for every batch.
static bool hotline_blas_mul_mat(const struct ggml_compute_params * params, struct ggml_tensor * dst) {
    if (!hotline_blas_suits(dst)) {
        return false;
    }
    const struct ggml_tensor * src0 = dst->src[0];
    const struct ggml_tensor * src1 = dst->src[1];
    const int     ith  = params->ith;
    const int     nth  = params->nth;
    const int64_t ne00 = src0->ne[0], ne01 = src0->ne[1], ne02 = src0->ne[2], ne03 = src0->ne[3];
    const int64_t ne11 = src1->ne[1];
    const int64_t rows = ne01 * ne02 * ne03;

    // f32 weights are used in place; others are widened into the work buffer
    float * wide = NULL;
    if (src0->type != GGML_TYPE_F32) {
        ggml_to_float_t const to_float = ggml_get_type_traits(src0->type)->to_float;
        if (params->wsize < (size_t) rows * ne00 * sizeof(float)) {
            return false;  // planned without us: every thread sees the same size
        }
        wide             = (float *) params->wdata;
        const int64_t r0 = rows * ith / nth;
        const int64_t r1 = rows * (ith + 1) / nth;
        for (int64_t r = r0; r < r1; r++) {
            const int64_t i01 = r % ne01, i02 = (r / ne01) % ne02, i03 = r / (ne01 * ne02);
            const void * row = (const char *) src0->data + i01 * src0->nb[1] + i02 * src0->nb[2] + i03 * src0->nb[3];
            if (src0->type == GGML_TYPE_F16) {
                ggml_cpu_fp16_to_fp32((const ggml_fp16_t *) row, wide + r * ne00, ne00);
            } else {
                to_float(row, wide + r * ne00, ne00);
            }
        }
        ggml_barrier(params->threadpool);
    }
    const int64_t lda = wide != NULL ? ne00 : (int64_t) (src0->nb[1] / sizeof(float));

    const int64_t c0 = ne11 * ith / nth;
    const int64_t c1 = ne11 * (ith + 1) / nth;
    if (c1 <= c0) {
        return true;
    }
    for (int64_t i03 = 0; i03 < ne03; i03++) {
        for (int64_t i02 = 0; i02 < ne02; i02++) {
            const float * a = wide != NULL ?
                                  wide + (i03 * ne02 + i02) * ne01 * ne00 :
                                  (const float *) ((const char *) src0->data + i02 * src0->nb[2] + i03 * src0->nb[3]);
            const float * b = (const float *) ((const char *) src1->data + c0 * src1->nb[1] + i02 * src1->nb[2] +
                                               i03 * src1->nb[3]);
            float * c = (float *) ((char *) dst->data + c0 * dst->nb[1] + i02 * dst->nb[2] + i03 * dst->nb[3]);
            // c (columns x ne01) = b (columns x ne00) * a^T
            hotline_sgemm(HOTLINE_CBLAS_ROW_MAJOR, HOTLINE_CBLAS_NO_TRANS, HOTLINE_CBLAS_TRANS, (int) (c1 - c0),
                          (int) ne01, (int) ne00, 1.0f, b, (int) (src1->nb[1] / sizeof(float)), a, (int) lda, 0.0f,
                          c, (int) (dst->nb[1] / sizeof(float)));
        }
    }
    return true;
}

#else

const char * hotline_blas_info(void) {
    return "built-in (tinyBLAS)";
}

static size_t hotline_blas_work_size(const struct ggml_tensor * dst) {
    (void) dst;
    return 0;
}

static bool hotline_blas_mul_mat(const struct ggml_compute_params * params, struct ggml_tensor * dst) {
    (void) params;
    (void) dst;
    return false;
}

#endif
