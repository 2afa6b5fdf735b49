// hotline: the model's weight products in int8 (see
// vendor/whisper-rs-sys/PATCHES.md).
//
// What CTranslate2 does for faster-whisper: weights are quantized once to
// int8 with one scale per output row; activations are quantized per row
// (token) when the product runs; the inner sums are exact int32 dot products
// of four byte pairs at a time (vpdpbusd, 64 multiply-adds per instruction
// against 16 for an f32 FMA), and each result is scaled back to f32 once.
// ggml's q8_0 rescales every block of 32 in f32 and is no faster than f16
// here. CPUs without VNNI use AVX2: vpmaddubsw multiplies |w| by the
// activation carrying w's sign (vpsignb), so no 16-bit pair sum can
// saturate (2 x 127 x 127 < 32767); the int32 sums, and so the results, are
// the same to the bit as with VNNI.
//
// whisper.cpp registers the weights it wants this for after loading a model
// (hotline_q8_prepare) and drops them before freeing it (hotline_q8_release);
// every product with a registered weight comes here. Everything else keeps
// the other kernels.
//
// Included once, by ggml-cpu.c.

#pragma once

// Registers weight matrix `w` for int8 products: quantizes and packs it.
// Returns false (and keeps nothing) when this CPU lacks AVX2, when
// HOTLINE_NO_INT8 is set, or when the tensor does not suit (not a 2-D matrix
// in host memory with contiguous rows and a float conversion). With
// `drop_original`, the memory pages wholly inside `w`'s own data are given
// back to the system (their contents are lost): only the int8 copy is used
// from then on, and a product with `w` that the int8 kernel cannot take
// aborts rather than read them.
GGML_BACKEND_API bool hotline_q8_prepare(const struct ggml_tensor * w, bool drop_original);
// Drops what hotline_q8_prepare kept for `w`; call it before `w`'s memory is freed.
GGML_BACKEND_API void hotline_q8_release(const struct ggml_tensor * w);
// The int8 kernel in use on this machine: "int8 AVX-512 VNNI", "int8 AVX2"
// (also where VNNI exists if HOTLINE_INT8_AVX2 is set, to compare), or NULL.
static const char * hotline_q8_kernel(void);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__linux__)

#include <immintrin.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

// Output rows are packed in panels of 16 (one zmm of int32 sums, two ymm);
// within a panel, for every 4 inner positions, 16 x 4 bytes. For VNNI, w + 128
// as unsigned bytes (vpdpbusd multiplies unsigned by signed bytes; the +128 is
// taken back with each activation row's sum); for AVX2, w as signed bytes.
#define HOTLINE_Q8_PANEL 16
// Register tiles, activation rows x panels: 6 x 3 for VNNI (18 accumulators
// of 32 zmm), 4 x 1 for AVX2 (8 of 16 ymm).
#define HOTLINE_Q8_ROWS      6
#define HOTLINE_Q8_PANELS    3
#define HOTLINE_Q8_AVX2_ROWS 4
// With fewer activation rows than this (the decoder's beams), the threads
// split the weight panels instead of the rows, so that each weight is read once.
#define HOTLINE_Q8_FEW_ROWS 48

struct hotline_q8_weight {
    const void * data;   // the tensor's data: the registry's key
    int64_t      rows;   // output rows (ne01)
    int64_t      k;      // inner length (ne00)
    int64_t      k4;     // inner length padded to 4, over 4
    uint8_t *    packed; // panels x k4 x 64 bytes
    float *      scale;  // panels x 16 scales (0 past `rows`)
    bool         only;   // the original's memory was given back: int8 or nothing
};

static pthread_rwlock_t            hotline_q8_lock  = PTHREAD_RWLOCK_INITIALIZER;
static struct hotline_q8_weight ** hotline_q8_reg   = NULL;
static size_t                      hotline_q8_count = 0;
static size_t                      hotline_q8_cap   = 0;

enum hotline_q8_isa { HOTLINE_Q8_NONE, HOTLINE_Q8_AVX2, HOTLINE_Q8_VNNI };

static pthread_once_t      hotline_q8_once = PTHREAD_ONCE_INIT;
static enum hotline_q8_isa hotline_q8_isa  = HOTLINE_Q8_NONE;

static bool hotline_q8_env(const char * name) {
    const char * v = getenv(name);
    return v != NULL && v[0] != '\0' && v[0] != '0';
}

static void hotline_q8_detect(void) {
    if (hotline_q8_env("HOTLINE_NO_INT8")) {
        GGML_LOG_INFO("%s: int8 products disabled by HOTLINE_NO_INT8\n", __func__);
        return;
    }
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni") && !hotline_q8_env("HOTLINE_INT8_AVX2")) {
        hotline_q8_isa = HOTLINE_Q8_VNNI;
    } else if (__builtin_cpu_supports("avx2")) {
        hotline_q8_isa = HOTLINE_Q8_AVX2;
    }
}

static enum hotline_q8_isa hotline_q8_kernel_isa(void) {
    pthread_once(&hotline_q8_once, hotline_q8_detect);
    return hotline_q8_isa;
}

static const char * hotline_q8_kernel(void) {
    switch (hotline_q8_kernel_isa()) {
        case HOTLINE_Q8_VNNI: return "int8 AVX-512 VNNI";
        case HOTLINE_Q8_AVX2: return "int8 AVX2";
        default:              return NULL;
    }
}

static void hotline_q8_free(struct hotline_q8_weight * q) {
    if (q != NULL) {
        free(q->packed);
        free(q->scale);
        free(q);
    }
}

bool hotline_q8_prepare(const struct ggml_tensor * w, bool drop_original) {
    const enum hotline_q8_isa isa = hotline_q8_kernel_isa();
    if (isa == HOTLINE_Q8_NONE || w == NULL || w->data == NULL ||
        (w->buffer != NULL && !ggml_backend_buffer_is_host(w->buffer)) || w->ne[2] != 1 || w->ne[3] != 1 ||
        w->nb[0] != ggml_type_size(w->type) || ggml_blck_size(w->type) != 1 || w->ne[0] < 4 ||
        w->ne[1] < HOTLINE_Q8_PANEL) {
        return false;
    }
    ggml_to_float_t const to_float = w->type == GGML_TYPE_F32 ? NULL : ggml_get_type_traits(w->type)->to_float;
    if (w->type != GGML_TYPE_F32 && to_float == NULL) {
        return false;
    }
    const int64_t rows = w->ne[1], k = w->ne[0], k4 = (k + 3) / 4;
    const int64_t panels = (rows + HOTLINE_Q8_PANEL - 1) / HOTLINE_Q8_PANEL;

    // both sizes are multiples of 64, as aligned_alloc wants
    struct hotline_q8_weight * q   = (struct hotline_q8_weight *) calloc(1, sizeof(*q));
    float *                    row = (float *) malloc((size_t) k * sizeof(float));
    if (q != NULL) {
        q->packed = (uint8_t *) aligned_alloc(64, (size_t) (panels * k4 * 64));
        q->scale  = (float *) aligned_alloc(64, (size_t) (panels * HOTLINE_Q8_PANEL) * sizeof(float));
    }
    if (q == NULL || row == NULL || q->packed == NULL || q->scale == NULL) {
        free(row);
        hotline_q8_free(q);
        return false;
    }
    q->data = w->data;
    q->rows = rows;
    q->k    = k;
    q->k4   = k4;
    const int bias = isa == HOTLINE_Q8_VNNI ? 128 : 0;  // see HOTLINE_Q8_PANEL
    memset(q->packed, bias, (size_t) (panels * k4 * 64));
    memset(q->scale, 0, (size_t) (panels * HOTLINE_Q8_PANEL) * sizeof(float));
    for (int64_t j = 0; j < rows; j++) {
        const void * src = (const char *) w->data + j * w->nb[1];
        if (to_float != NULL) {
            to_float(src, row, k);
        } else {
            memcpy(row, src, (size_t) k * sizeof(float));
        }
        float amax = 0.0f;
        for (int64_t i = 0; i < k; i++) {
            amax = fmaxf(amax, fabsf(row[i]));
        }
        const float scale = amax / 127.0f;
        const float inv   = scale > 0.0f ? 1.0f / scale : 0.0f;
        q->scale[j]       = scale;
        uint8_t * panel   = q->packed + (j / HOTLINE_Q8_PANEL) * k4 * 64 + (j % HOTLINE_Q8_PANEL) * 4;
        for (int64_t i = 0; i < k; i++) {
            const int v                   = (int) nearbyintf(row[i] * inv);
            panel[(i / 4) * 64 + (i % 4)] = (uint8_t) (v + bias);
        }
    }
    free(row);

    pthread_rwlock_wrlock(&hotline_q8_lock);
    bool kept = false;
    if (hotline_q8_count == hotline_q8_cap) {
        size_t                      cap  = hotline_q8_cap == 0 ? 64 : hotline_q8_cap * 2;
        struct hotline_q8_weight ** grow = (struct hotline_q8_weight **) realloc(hotline_q8_reg, cap * sizeof(*grow));
        if (grow != NULL) {
            hotline_q8_reg = grow;
            hotline_q8_cap = cap;
        }
    }
    if (hotline_q8_count < hotline_q8_cap) {
        hotline_q8_reg[hotline_q8_count++] = q;
        kept                               = true;
    }
    if (kept && drop_original) {
        // The registry is locked, so no product can look `w` up half-dropped.
        const uintptr_t page  = (uintptr_t) sysconf(_SC_PAGESIZE);
        const uintptr_t begin = ((uintptr_t) w->data + page - 1) / page * page;
        const uintptr_t end   = ((uintptr_t) w->data + ggml_nbytes(w)) / page * page;
        if (end > begin && madvise((void *) begin, end - begin, MADV_DONTNEED) == 0) {
            q->only = true;
        }
    }
    pthread_rwlock_unlock(&hotline_q8_lock);
    if (!kept) {
        hotline_q8_free(q);
    }
    return kept;
}

void hotline_q8_release(const struct ggml_tensor * w) {
    if (w == NULL || w->data == NULL) {
        return;
    }
    struct hotline_q8_weight * gone = NULL;
    pthread_rwlock_wrlock(&hotline_q8_lock);
    for (size_t i = 0; i < hotline_q8_count; i++) {
        if (hotline_q8_reg[i]->data == w->data) {
            gone              = hotline_q8_reg[i];
            hotline_q8_reg[i] = hotline_q8_reg[--hotline_q8_count];
            break;
        }
    }
    pthread_rwlock_unlock(&hotline_q8_lock);
    hotline_q8_free(gone);
}

// The registered weight of dst = src0 x src1 if the product suits the int8
// kernel: the whole weight, f32 activations with contiguous rows, one batch.
static const struct hotline_q8_weight * hotline_q8_find(const struct ggml_tensor * dst) {
    const struct ggml_tensor *       src0  = dst->src[0];
    const struct ggml_tensor *       src1  = dst->src[1];
    const struct hotline_q8_weight * found = NULL;
    pthread_rwlock_rdlock(&hotline_q8_lock);
    for (size_t i = 0; i < hotline_q8_count; i++) {
        if (hotline_q8_reg[i]->data == src0->data) {
            found = hotline_q8_reg[i];
            break;
        }
    }
    pthread_rwlock_unlock(&hotline_q8_lock);
    if (found == NULL) {
        return NULL;
    }
    const bool suits = found->rows == src0->ne[1] && found->k == src0->ne[0] && found->k == src1->ne[0] &&
                       src0->ne[2] == 1 && src0->ne[3] == 1 && src1->type == GGML_TYPE_F32 &&
                       dst->type == GGML_TYPE_F32 && src1->nb[0] == sizeof(float) && dst->nb[0] == sizeof(float) &&
                       src1->ne[1] >= 1 && src1->ne[2] == 1 && src1->ne[3] == 1 &&
                       src1->nb[1] % sizeof(float) == 0 && dst->nb[1] % sizeof(float) == 0;
    if (!suits && found->only) {
        GGML_ABORT("hotline: weight %s is kept in int8 only, and the int8 kernel cannot take this product", src0->name);
    }
    return suits ? found : NULL;
}

// Work space: activation rows as signed bytes (k4 * 4 each), with their
// scales and sums; every thread has its own copy of all rows when there are
// few (it multiplies them all by its share of the panels).
static size_t hotline_q8_rows_bytes(const struct hotline_q8_weight * q, int64_t n) {
    return (size_t) n * ((size_t) q->k4 * 4 + sizeof(float) + sizeof(int32_t)) + 64;
}

static size_t hotline_q8_work_bytes(const struct hotline_q8_weight * q, int64_t n, int n_threads) {
    return (n < HOTLINE_Q8_FEW_ROWS ? (size_t) n_threads : 1) * hotline_q8_rows_bytes(q, n);
}

static size_t hotline_q8_work_size(const struct ggml_tensor * dst, int n_threads) {
    const struct hotline_q8_weight * q = hotline_q8_find(dst);
    return q == NULL ? 0 : hotline_q8_work_bytes(q, dst->src[1]->ne[1], n_threads);
}

// Quantizes activation rows [r0, r1): symmetric, one scale per row. AVX2,
// for both kernels (it is a small part of the work).
__attribute__((target("avx2"))) static void hotline_q8_quantize_rows(
    const struct ggml_tensor * src1, int64_t r0, int64_t r1, int64_t k4, int8_t * qa, float * sa, int32_t * sum) {
    const int64_t k    = src1->ne[0];
    const __m256  sign = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t r = r0; r < r1; r++) {
        const float * a    = (const float *) ((const char *) src1->data + r * src1->nb[1]);
        int8_t *      out  = qa + r * k4 * 4;
        __m256        vmax = _mm256_setzero_ps();
        int64_t       i    = 0;
        for (; i + 8 <= k; i += 8) {
            vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(a + i), sign));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
        m        = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m        = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
        float amax = _mm_cvtss_f32(m);
        for (; i < k; i++) {
            amax = fmaxf(amax, fabsf(a[i]));
        }
        const float  scale = amax / 127.0f;
        const float  inv   = scale > 0.0f ? 1.0f / scale : 0.0f;
        const __m256 vinv  = _mm256_set1_ps(inv);
        __m256i      vsum  = _mm256_setzero_si256();
        for (i = 0; i + 8 <= k; i += 8) {
            const __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(a + i), vinv));
            vsum            = _mm256_add_epi32(vsum, v);
            // |v| <= 127: the saturating packs are exact
            const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            _mm_storel_epi64((__m128i *) (out + i), _mm_packs_epi16(w16, w16));
        }
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(vsum), _mm256_extracti128_si256(vsum, 1));
        s4         = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
        s4         = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
        int32_t s  = _mm_cvtsi128_si32(s4);
        for (; i < k; i++) {
            const int v = (int) nearbyintf(a[i] * inv);
            out[i]      = (int8_t) v;
            s += v;
        }
        for (; i < k4 * 4; i++) {
            out[i] = 0;
        }
        sa[r]  = scale;
        sum[r] = s;
    }
}

// dst rows [r0, r1) = activation rows x all weight rows. NP panels, NR rows,
// as compile-time constants so that the accumulators stay in registers.
#define HOTLINE_Q8_TILE(NR, NP)                                                                                     \
    __attribute__((target("avx512f,avx512bw,avx512vnni"))) static void hotline_q8_tile_##NR##_##NP(               \
        const struct hotline_q8_weight * q, int64_t p0, const int8_t * qa, const float * sa, const int32_t * sum,   \
        int64_t r, struct ggml_tensor * dst) {                                                                      \
        __m512i acc[NR][NP];                                                                                         \
        for (int i = 0; i < NR; i++) {                                                                               \
            for (int p = 0; p < NP; p++) {                                                                           \
                acc[i][p] = _mm512_setzero_si512();                                                                  \
            }                                                                                                        \
        }                                                                                                            \
        const uint8_t * w  = q->packed + p0 * q->k4 * 64;                                                           \
        const int8_t *  a  = qa + r * q->k4 * 4;                                                                    \
        const int64_t   ws = q->k4 * 64, as = q->k4 * 4;                                                            \
        for (int64_t k = 0; k < q->k4; k++) {                                                                        \
            __m512i wv[NP];                                                                                          \
            for (int p = 0; p < NP; p++) {                                                                           \
                wv[p] = _mm512_load_si512((const void *) (w + p * ws + k * 64));                                     \
            }                                                                                                        \
            for (int i = 0; i < NR; i++) {                                                                           \
                int32_t four;                                                                                        \
                memcpy(&four, a + i * as + k * 4, sizeof(four));                                                     \
                const __m512i b = _mm512_set1_epi32(four);                                                           \
                for (int p = 0; p < NP; p++) {                                                                       \
                    acc[i][p] = _mm512_dpbusd_epi32(acc[i][p], wv[p], b);                                            \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
        for (int i = 0; i < NR; i++) {                                                                               \
            const __m512i back = _mm512_set1_epi32(128 * sum[r + i]);                                                \
            const __m512  s    = _mm512_set1_ps(sa[r + i]);                                                          \
            float * out = (float *) ((char *) dst->data + (r + i) * dst->nb[1]);                                     \
            for (int p = 0; p < NP; p++) {                                                                           \
                const int64_t j0   = (p0 + p) * HOTLINE_Q8_PANEL;                                                    \
                const int64_t left = q->rows - j0;                                                                   \
                const __m512  v    = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][p], back)), s), \
                                                   _mm512_load_ps(q->scale + j0));                                   \
                const __mmask16 m  = left >= HOTLINE_Q8_PANEL ? (__mmask16) 0xffff : (__mmask16) ((1u << left) - 1); \
                _mm512_mask_storeu_ps(out + j0, m, v);                                                               \
            }                                                                                                        \
        }                                                                                                            \
    }

HOTLINE_Q8_TILE(1, 1) HOTLINE_Q8_TILE(1, 2) HOTLINE_Q8_TILE(1, 3)
HOTLINE_Q8_TILE(2, 1) HOTLINE_Q8_TILE(2, 2) HOTLINE_Q8_TILE(2, 3)
HOTLINE_Q8_TILE(3, 1) HOTLINE_Q8_TILE(3, 2) HOTLINE_Q8_TILE(3, 3)
HOTLINE_Q8_TILE(4, 1) HOTLINE_Q8_TILE(4, 2) HOTLINE_Q8_TILE(4, 3)
HOTLINE_Q8_TILE(5, 1) HOTLINE_Q8_TILE(5, 2) HOTLINE_Q8_TILE(5, 3)
HOTLINE_Q8_TILE(6, 1) HOTLINE_Q8_TILE(6, 2) HOTLINE_Q8_TILE(6, 3)

typedef void (*hotline_q8_tile_fn)(const struct hotline_q8_weight *, int64_t, const int8_t *, const float *,
                                   const int32_t *, int64_t, struct ggml_tensor *);

// [rows - 1][panels - 1]
static const hotline_q8_tile_fn hotline_q8_tiles[HOTLINE_Q8_ROWS][HOTLINE_Q8_PANELS] = {
    { hotline_q8_tile_1_1, hotline_q8_tile_1_2, hotline_q8_tile_1_3 },
    { hotline_q8_tile_2_1, hotline_q8_tile_2_2, hotline_q8_tile_2_3 },
    { hotline_q8_tile_3_1, hotline_q8_tile_3_2, hotline_q8_tile_3_3 },
    { hotline_q8_tile_4_1, hotline_q8_tile_4_2, hotline_q8_tile_4_3 },
    { hotline_q8_tile_5_1, hotline_q8_tile_5_2, hotline_q8_tile_5_3 },
    { hotline_q8_tile_6_1, hotline_q8_tile_6_2, hotline_q8_tile_6_3 },
};

// The AVX2 tile: NR activation rows x one panel (two ymm of 8 sums each).
// vpsignb gives each activation byte the sign of the weight it meets, so
// vpmaddubsw can multiply |w| (unsigned) by it without saturating.
#define HOTLINE_Q8_AVX2_TILE(NR)                                                                                   \
    __attribute__((target("avx2"))) static void hotline_q8_avx2_tile_##NR(                                          \
        const struct hotline_q8_weight * q, int64_t p0, const int8_t * qa, const float * sa, const int32_t * sum,   \
        int64_t r, struct ggml_tensor * dst) {                                                                      \
        (void) sum;                                                                                                  \
        __m256i acc[NR][2];                                                                                          \
        for (int i = 0; i < NR; i++) {                                                                               \
            acc[i][0] = _mm256_setzero_si256();                                                                      \
            acc[i][1] = _mm256_setzero_si256();                                                                      \
        }                                                                                                            \
        const __m256i   ones = _mm256_set1_epi16(1);                                                                 \
        const uint8_t * w    = q->packed + p0 * q->k4 * 64;                                                          \
        const int8_t *  a    = qa + r * q->k4 * 4;                                                                   \
        const int64_t   as   = q->k4 * 4;                                                                            \
        for (int64_t k = 0; k < q->k4; k++) {                                                                        \
            const __m256i w0 = _mm256_load_si256((const __m256i *) (w + k * 64));                                    \
            const __m256i w1 = _mm256_load_si256((const __m256i *) (w + k * 64 + 32));                               \
            const __m256i u0 = _mm256_sign_epi8(w0, w0);                                                             \
            const __m256i u1 = _mm256_sign_epi8(w1, w1);                                                             \
            for (int i = 0; i < NR; i++) {                                                                           \
                int32_t four;                                                                                        \
                memcpy(&four, a + i * as + k * 4, sizeof(four));                                                     \
                const __m256i b = _mm256_set1_epi32(four);                                                           \
                acc[i][0] = _mm256_add_epi32(acc[i][0],                                                              \
                                             _mm256_madd_epi16(_mm256_maddubs_epi16(u0, _mm256_sign_epi8(b, w0)), ones)); \
                acc[i][1] = _mm256_add_epi32(acc[i][1],                                                              \
                                             _mm256_madd_epi16(_mm256_maddubs_epi16(u1, _mm256_sign_epi8(b, w1)), ones)); \
            }                                                                                                        \
        }                                                                                                            \
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);                                             \
        for (int i = 0; i < NR; i++) {                                                                               \
            const __m256 s   = _mm256_set1_ps(sa[r + i]);                                                            \
            float *      out = (float *) ((char *) dst->data + (r + i) * dst->nb[1]);                                \
            for (int h = 0; h < 2; h++) {                                                                            \
                const int64_t j0   = p0 * HOTLINE_Q8_PANEL + h * 8;                                                  \
                const int64_t left = q->rows - j0;                                                                   \
                if (left <= 0) {                                                                                     \
                    break;                                                                                           \
                }                                                                                                    \
                const __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][h]), s),                     \
                                               _mm256_load_ps(q->scale + j0));                                       \
                if (left >= 8) {                                                                                     \
                    _mm256_storeu_ps(out + j0, v);                                                                   \
                } else {                                                                                             \
                    _mm256_maskstore_ps(out + j0, _mm256_cmpgt_epi32(_mm256_set1_epi32((int) left), lane), v);       \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
    }

HOTLINE_Q8_AVX2_TILE(1)
HOTLINE_Q8_AVX2_TILE(2)
HOTLINE_Q8_AVX2_TILE(3)
HOTLINE_Q8_AVX2_TILE(4)

// [rows - 1]
static const hotline_q8_tile_fn hotline_q8_avx2_tiles[HOTLINE_Q8_AVX2_ROWS] = {
    hotline_q8_avx2_tile_1, hotline_q8_avx2_tile_2, hotline_q8_avx2_tile_3, hotline_q8_avx2_tile_4,
};

// Runs on every thread of the op. Many activation rows (the encoder's
// positions): each thread quantizes and multiplies its share of the rows by
// all weights. Few (the decoder's beams): each thread quantizes all rows and
// multiplies them by its share of the weight panels.
static bool hotline_q8_mul_mat(const struct ggml_compute_params * params, struct ggml_tensor * dst) {
    const struct hotline_q8_weight * q = hotline_q8_find(dst);
    if (q == NULL) {
        return false;
    }
    const int64_t n = dst->src[1]->ne[1];
    if (params->wsize < hotline_q8_work_bytes(q, n, params->nth)) {
        if (q->only) {
            GGML_ABORT("hotline: weight %s is kept in int8 only, and the product was planned without it", dst->src[0]->name);
        }
        return false;  // planned without us: every thread sees the same size
    }
    const int64_t panels = (q->rows + HOTLINE_Q8_PANEL - 1) / HOTLINE_Q8_PANEL;
    const bool    few    = n < HOTLINE_Q8_FEW_ROWS;
    int8_t *      qa     = (int8_t *) params->wdata + (few ? hotline_q8_rows_bytes(q, n) * (size_t) params->ith : 0);
    float *       sa     = (float *) GGML_PAD((uintptr_t) (qa + n * q->k4 * 4), 16);
    int32_t *     sum    = (int32_t *) (sa + n);

    const int64_t r0 = few ? 0 : n * params->ith / params->nth;
    const int64_t r1 = few ? n : n * (params->ith + 1) / params->nth;
    const int64_t pa = few ? panels * params->ith / params->nth : 0;
    const int64_t pb = few ? panels * (params->ith + 1) / params->nth : panels;
    if (r1 <= r0 || pb <= pa) {
        return true;
    }
    hotline_q8_quantize_rows(dst->src[1], r0, r1, q->k4, qa, sa, sum);

    if (hotline_q8_isa == HOTLINE_Q8_AVX2) {
        for (int64_t p = pa; p < pb; p++) {
            for (int64_t r = r0; r < r1; r += HOTLINE_Q8_AVX2_ROWS) {
                const int64_t nr = r1 - r < HOTLINE_Q8_AVX2_ROWS ? r1 - r : HOTLINE_Q8_AVX2_ROWS;
                hotline_q8_avx2_tiles[nr - 1](q, p, qa, sa, sum, r, dst);
            }
        }
        return true;
    }
    for (int64_t p0 = pa; p0 < pb; p0 += HOTLINE_Q8_PANELS) {
        const int64_t np = pb - p0 < HOTLINE_Q8_PANELS ? pb - p0 : HOTLINE_Q8_PANELS;
        for (int64_t r = r0; r < r1; r += HOTLINE_Q8_ROWS) {
            const int64_t nr = r1 - r < HOTLINE_Q8_ROWS ? r1 - r : HOTLINE_Q8_ROWS;
            hotline_q8_tiles[nr - 1][np - 1](q, p0, qa, sa, sum, r, dst);
        }
    }
    return true;
}

#else

bool hotline_q8_prepare(const struct ggml_tensor * w, bool drop_original) {
    (void) w;
    (void) drop_original;
    return false;
}

void hotline_q8_release(const struct ggml_tensor * w) {
    (void) w;
}

static const char * hotline_q8_kernel(void) {
    return NULL;
}

static size_t hotline_q8_work_size(const struct ggml_tensor * dst, int n_threads) {
    (void) dst;
    (void) n_threads;
    return 0;
}

static bool hotline_q8_mul_mat(const struct ggml_compute_params * params, struct ggml_tensor * dst) {
    (void) params;
    (void) dst;
    return false;
}

#endif
