/* Register-tiled products with GCC vector extensions, compiled three times (AVX-512,
 * AVX2+FMA, portable) and chosen once at run time from the CPU's features.
 *
 * gf_gemm_nn computes MR x NR tiles of C: per k, NR floats of a row of B (two
 * vectors) times MR broadcast values of the packed A panel, MR * 2 accumulators in
 * registers. gf_gemm_nt computes 4 x 4 tiles as dot products of rows of A and B, 16
 * vector accumulators summed across lanes at the end. */
#include "core/gemm.h"

#include <pthread.h>
#include <string.h>

#include "core/error.h"

/* nn kernel: B[kk][j] = b_rows[kk][col + j]; nt kernel: rows of A and B from tables */
typedef void (*nn_kernel_fn)(int k, const float *packed_a, const float *const *b_rows, size_t col,
                             float *c, int ldc, int m_valid, int n_valid, bool accumulate);
typedef void (*nt_kernel_fn)(int k, const float *const *a_rows, const float *const *b_rows,
                             float *c, int ldc, int m_valid, int n_valid, bool accumulate);

typedef struct kernel_set {
    const char *name;
    int mr, nr;
    nn_kernel_fn nn;
    nt_kernel_fn nt;
} kernel_set;

enum { MR_MAX = 8, NR_MAX = 32, NT_TILE = 4, PAD_K = 64 };

/* Writes an MR x NR register tile (rows acc[i][0..1]) into C, whole or its valid part. */
#define STORE_TILE(VEC, VL, MR)                                                          \
    if (n_valid == 2 * VL) {                                                             \
        for (int i = 0; i < m_valid; i++) {                                              \
            float *row = c + (size_t)i * ldc;                                            \
            if (accumulate) {                                                            \
                VEC old0, old1;                                                          \
                memcpy(&old0, row, sizeof old0);                                         \
                memcpy(&old1, row + VL, sizeof old1);                                    \
                acc[i][0] += old0;                                                       \
                acc[i][1] += old1;                                                       \
            }                                                                            \
            memcpy(row, &acc[i][0], sizeof acc[i][0]);                                   \
            memcpy(row + VL, &acc[i][1], sizeof acc[i][1]);                              \
        }                                                                                \
    } else {                                                                             \
        float tile[MR][2 * VL];                                                          \
        memcpy(tile, acc, sizeof tile);                                                  \
        for (int i = 0; i < m_valid; i++)                                                \
            for (int j = 0; j < n_valid; j++)                                            \
                c[(size_t)i * ldc + j] = tile[i][j] + (accumulate ? c[(size_t)i * ldc + j] : 0.0f); \
    }

#define DEFINE_NN_KERNEL(NAME, ATTR, VEC, VL, MR)                                         \
    ATTR static void NAME(int k, const float *packed_a, const float *const *b_rows,         \
                          size_t col, float *c, int ldc, int m_valid, int n_valid,          \
                          bool accumulate) {                                                \
        VEC acc[MR][2];                                                                   \
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (VEC){0};                    \
        for (int kk = 0; kk < k; kk++) {                                                  \
            VEC b0, b1;                                                                   \
            const float *b = b_rows[kk] + col;                                            \
            memcpy(&b0, b, sizeof b0);                                                    \
            memcpy(&b1, b + VL, sizeof b1);                                               \
            const float *a = packed_a + (size_t)kk * MR;                                  \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) {                        \
                acc[i][0] += a[i] * b0;                                                   \
                acc[i][1] += a[i] * b1;                                                   \
            }                                                                             \
        }                                                                                 \
        STORE_TILE(VEC, VL, MR)                                                           \
    }

/* Rows of A (i) and B (j) past the valid ones repeat the last valid row; their sums
 * are computed and dropped, which keeps the loop free of branches. */
#define DEFINE_NT_KERNEL(NAME, ATTR, VEC, VL, LANE_SUM)                                   \
    ATTR static void NAME(int k, const float *const *a_rows, const float *const *b_rows,    \
                          float *c, int ldc, int m_valid, int n_valid, bool accumulate) {   \
        const float *ar[NT_TILE], *br[NT_TILE];                                           \
        for (int t = 0; t < NT_TILE; t++) {                                               \
            ar[t] = a_rows[t < m_valid ? t : m_valid - 1];                                \
            br[t] = b_rows[t < n_valid ? t : n_valid - 1];                                \
        }                                                                                 \
        VEC acc[NT_TILE][NT_TILE];                                                        \
        for (int i = 0; i < NT_TILE; i++)                                                 \
            for (int j = 0; j < NT_TILE; j++) acc[i][j] = (VEC){0};                       \
        int kk = 0;                                                                       \
        for (; kk + VL <= k; kk += VL) {                                                  \
            VEC av[NT_TILE], bv[NT_TILE];                                                 \
            for (int t = 0; t < NT_TILE; t++) {                                           \
                memcpy(&av[t], ar[t] + kk, sizeof av[t]);                                 \
                memcpy(&bv[t], br[t] + kk, sizeof bv[t]);                                 \
            }                                                                             \
            _Pragma("GCC unroll 4") for (int i = 0; i < NT_TILE; i++)                     \
                _Pragma("GCC unroll 4") for (int j = 0; j < NT_TILE; j++)                 \
                    acc[i][j] += av[i] * bv[j];                                           \
        }                                                                                 \
        for (int i = 0; i < m_valid; i++)                                                 \
            for (int j = 0; j < n_valid; j++) {                                           \
                float sum = LANE_SUM(acc[i][j]);                                          \
                for (int t = kk; t < k; t++) sum += ar[i][t] * br[j][t];                  \
                float *out = c + (size_t)i * ldc + j;                                     \
                *out = accumulate ? *out + sum : sum;                                     \
            }                                                                             \
    }

typedef float vec16 __attribute__((vector_size(64)));
typedef float vec8 __attribute__((vector_size(32)));
typedef float vec4 __attribute__((vector_size(16)));

typedef int ivec16 __attribute__((vector_size(64)));
typedef int ivec8 __attribute__((vector_size(32)));
typedef int ivec4 __attribute__((vector_size(16)));

/* The sum of a vector's lanes, by folding it onto itself with shuffles of constant
 * masks: storing the accumulators and adding their lanes one by one from memory made
 * each 4 x 4 tile of gf_gemm_nt cost about 1000 cycles more than its dot products. */
#define FOLD(V, MASK) V += __builtin_shuffle(V, MASK)
#define LANE_SUM_4(V)                                                                     \
    ({ vec4 v_ = (V); FOLD(v_, ((ivec4){2, 3, 0, 1})); FOLD(v_, ((ivec4){1, 0, 3, 2}));    \
       v_[0]; })
#define LANE_SUM_8(V)                                                                     \
    ({ vec8 v_ = (V); FOLD(v_, ((ivec8){4, 5, 6, 7, 0, 1, 2, 3}));                         \
       FOLD(v_, ((ivec8){2, 3, 0, 1, 6, 7, 4, 5})); FOLD(v_, ((ivec8){1, 0, 3, 2, 5, 4, 7, 6})); \
       v_[0]; })
#define LANE_SUM_16(V)                                                                    \
    ({ vec16 v_ = (V);                                                                    \
       FOLD(v_, ((ivec16){8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7}));          \
       FOLD(v_, ((ivec16){4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11}));          \
       FOLD(v_, ((ivec16){2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13}));          \
       FOLD(v_, ((ivec16){1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}));          \
       v_[0]; })

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86_KERNELS 1
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))
DEFINE_NN_KERNEL(nn_avx512, AVX512, vec16, 16, 8)
DEFINE_NT_KERNEL(nt_avx512, AVX512, vec16, 16, LANE_SUM_16)
DEFINE_NN_KERNEL(nn_avx2, AVX2, vec8, 8, 6)
DEFINE_NT_KERNEL(nt_avx2, AVX2, vec8, 8, LANE_SUM_8)
#endif
DEFINE_NN_KERNEL(nn_portable, , vec4, 4, 4)
DEFINE_NT_KERNEL(nt_portable, , vec4, 4, LANE_SUM_4)

static const kernel_set kernel_sets[] = {
#ifdef HAVE_X86_KERNELS
    {"avx512", 8, 32, nn_avx512, nt_avx512},
    {"avx2", 6, 16, nn_avx2, nt_avx2},
#endif
    {"portable", 4, 8, nn_portable, nt_portable},
};
enum { KERNEL_SET_COUNT = sizeof kernel_sets / sizeof kernel_sets[0] };

static bool cpu_supports(const kernel_set *set) {
#ifdef HAVE_X86_KERNELS
    __builtin_cpu_init();
    if (strcmp(set->name, "avx512") == 0) return __builtin_cpu_supports("avx512f");
    if (strcmp(set->name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    (void)set;
    return true;
}

static const kernel_set *active;
static pthread_once_t active_once = PTHREAD_ONCE_INIT;

static void choose_kernels(void) {
    for (int i = 0; i < (int)KERNEL_SET_COUNT; i++)
        if (cpu_supports(&kernel_sets[i])) {
            active = &kernel_sets[i];
            return;
        }
}

static const kernel_set *kernels(void) {
    pthread_once(&active_once, choose_kernels);
    return active;
}

const char *gf_gemm_isa(void) { return kernels()->name; }

int gf_gemm_use(const char *isa) {
    kernels();
    for (int i = 0; i < (int)KERNEL_SET_COUNT; i++)
        if (strcmp(kernel_sets[i].name, isa) == 0) {
            if (!cpu_supports(&kernel_sets[i]))
                return gf_fail("gemm: this CPU cannot run the %s kernels", isa);
            active = &kernel_sets[i];
            return GF_OK;
        }
    return gf_fail("gemm: no kernel set named \"%s\" (avx512, avx2, portable)", isa);
}

size_t gf_gemm_packed_a_floats(int m, int k) {
    return (size_t)(m + MR_MAX - 1) * (size_t)k;
}

/* Panel p holds rows p*MR .. p*MR + MR - 1, as packed[p][k][MR]. */
void gf_gemm_pack_a(float *packed, const float *a, int lda, bool transposed, int m, int k) {
    const int mr = kernels()->mr;
    for (int p = 0; p * mr < m; p++) {
        float *panel = packed + (size_t)p * k * mr;
        for (int kk = 0; kk < k; kk++)
            for (int r = 0; r < mr; r++) {
                int i = p * mr + r;
                float v = 0.0f;
                if (i < m) v = transposed ? a[(size_t)kk * lda + i] : a[(size_t)i * lda + kk];
                panel[(size_t)kk * mr + r] = v;
            }
    }
}

void gf_gemm_rows(const float **rows, const float *base, size_t ld, int count) {
    for (int i = 0; i < count; i++) rows[i] = base + (size_t)i * ld;
}

void gf_gemm_nn(float *c, int ldc, const float *packed_a, const float *const *b_rows, int m,
                int n, int k, bool accumulate) {
    const kernel_set *ks = kernels();
    const int mr = ks->mr, nr = ks->nr;
    for (int j = 0; j < n; j += nr) {
        const int n_valid = n - j < nr ? n - j : nr;
        if (n_valid == nr) {
            for (int i = 0; i < m; i += mr)
                ks->nn(k, packed_a + (size_t)i * k, b_rows, (size_t)j, c + (size_t)i * ldc + j,
                       ldc, m - i < mr ? m - i : mr, nr, accumulate);
            continue;
        }
        /* the last, narrow column block: the kernel reads nr columns, so it gets a
         * zero-padded copy, PAD_K rows at a time */
        float padded[PAD_K * NR_MAX];
        const float *padded_rows[PAD_K];
        for (int k0 = 0; k0 < k; k0 += PAD_K) {
            const int k_len = k - k0 < PAD_K ? k - k0 : PAD_K;
            memset(padded, 0, sizeof padded);
            for (int kk = 0; kk < k_len; kk++) {
                memcpy(padded + kk * nr, b_rows[k0 + kk] + j, sizeof(float) * (size_t)n_valid);
                padded_rows[kk] = padded + kk * nr;
            }
            for (int i = 0; i < m; i += mr)
                ks->nn(k_len, packed_a + (size_t)i * k + (size_t)k0 * mr, padded_rows, 0,
                       c + (size_t)i * ldc + j, ldc, m - i < mr ? m - i : mr, n_valid,
                       accumulate || k0 > 0);
        }
    }
}

void gf_gemm_nt(float *c, int ldc, const float *const *a_rows, const float *const *b_rows, int m,
                int n, int k, bool accumulate) {
    const nt_kernel_fn nt = kernels()->nt;
    for (int i = 0; i < m; i += NT_TILE)
        for (int j = 0; j < n; j += NT_TILE)
            nt(k, a_rows + i, b_rows + j, c + (size_t)i * ldc + j, ldc,
               m - i < NT_TILE ? m - i : NT_TILE, n - j < NT_TILE ? n - j : NT_TILE, accumulate);
}
