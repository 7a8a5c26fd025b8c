/* Register-tiled products with GCC vector extensions, compiled three times (AVX-512,
 * AVX2+FMA, portable) and chosen once at run time from the CPU's features.
 *
 * gf_gemm_nn computes MR x NR tiles of C: per k, NR floats of a row of B (two
 * vectors) times MR broadcast values of the packed A panel, MR * 2 accumulators in
 * registers. gf_gemm_nt transposes up to two vectors' worth of rows of A into a
 * panel [k][2 VL] and computes 2 VL x NJ tiles of C as outer products too: per k, the
 * panel's vectors times NJ values broadcast from rows of B. Dot products along rows
 * of A and B (the first version) needed a lane sum per element of C, and two vector
 * loads per 16 FMAs that, on shifted rows, mostly crossed cache lines. */
#include "core/gemm.h"

#include <pthread.h>
#include <string.h>

#include "core/error.h"

/* nn kernel: the tile's vector v of columns is B[kk][v VL + l] = b_rows[kk][b_cols[v] + l]
 * and C[i][v VL + l] = c_cols[v][i ldc + l] (consecutive vectors of a plain matrix, or
 * of different segments); nt kernel: A from a panel, rows of B from a table */
typedef void (*nn_kernel_fn)(int k, const float *packed_a, const float *const *b_rows,
                             const size_t *b_cols, float *const *c_cols, int ldc, int m_valid,
                             int n_valid, bool accumulate, bool prefetch_next);
typedef void (*pack_panel_fn)(float *panel, const float *const *a_rows, int m_valid, int k,
                              size_t segment, size_t stride);
typedef void (*nt_kernel_fn)(int k, const float *panel, const float *const *b_rows,
                             size_t segment, size_t stride, float *c, int ldc, int m_valid,
                             int n_valid, bool accumulate, bool transposed);

typedef struct kernel_set {
    const char *name;
    int mr, nr;            /* nn tile */
    int nt_lanes, nt_cols; /* nt tile: rows of A per vector; rows of B */
    nn_kernel_fn nn, nn_narrow; /* nr and nr / 2 columns */
    /* [0]: narrow panels (one vector of rows of A), [1]: wide (two): a wide tile
     * needs one broadcast per two FMAs, a narrow one per FMA, but wastes no lanes on
     * the last rows of A */
    pack_panel_fn pack[2];
    nt_kernel_fn nt[2];
} kernel_set;

enum { MR_MAX = 8, NR_MAX = 32, NT_ROWS_MAX = 32, PAD_K = 64 };

/* Writes an MR x (NV * VL) register tile (rows acc[i][0 .. NV - 1]) into C, whole or
 * its valid part; vector v of row i goes to c_cols[v] + i ldc. */
#define STORE_TILE(VEC, VL, MR, NV)                                                      \
    if (n_valid == NV * VL) {                                                            \
        for (int i = 0; i < MR && i < m_valid; i++) {                                    \
            for (int v = 0; v < NV; v++) {                                               \
                float *out = c_cols[v] + (size_t)i * ldc;                                \
                if (accumulate) {                                                        \
                    VEC old;                                                             \
                    memcpy(&old, out, sizeof old);                                       \
                    acc[i][v] += old;                                                    \
                }                                                                        \
                memcpy(out, &acc[i][v], sizeof acc[i][v]);                               \
            }                                                                            \
        }                                                                                \
    } else {                                                                             \
        float tile[MR][NV * VL];                                                         \
        memcpy(tile, acc, sizeof tile);                                                  \
        for (int i = 0; i < m_valid; i++)                                                \
            for (int j = 0; j < n_valid; j++) {                                          \
                float *out = c_cols[j / VL] + (size_t)i * ldc + j % VL;                  \
                *out = tile[i][j] + (accumulate ? *out : 0.0f);                          \
            }                                                                            \
    }

/* NV = 2: the MR x 2 VL tile; NV = 1: an MR x VL tile for a last column block of at
 * most VL columns, which the wide tile would compute twice over. `prefetch_next`: also
 * fetch the next column block's part of each row of B (see gf_gemm_nn). */
#define DEFINE_NN_KERNEL(NAME, ATTR, VEC, VL, MR, NV)                                     \
    ATTR static void NAME(int k, const float *packed_a, const float *const *b_rows,         \
                          const size_t *b_cols, float *const *c_cols, int ldc, int m_valid, \
                          int n_valid, bool accumulate, bool prefetch_next) {               \
        VEC acc[MR][NV];                                                                  \
        size_t col[NV];                                                                   \
        for (int v = 0; v < NV; v++) col[v] = b_cols[v];                                  \
        for (int i = 0; i < MR; i++)                                                      \
            for (int v = 0; v < NV; v++) acc[i][v] = (VEC){0};                            \
        for (int kk = 0; kk < k; kk++) {                                                  \
            VEC b[NV];                                                                    \
            const float *row = b_rows[kk];                                                \
            for (int v = 0; v < NV; v++) memcpy(&b[v], row + col[v], sizeof b[v]);       \
            if (prefetch_next)                                                            \
                for (int p = 0; p < NV * VL; p += 16)                                     \
                    __builtin_prefetch(row + col[NV - 1] + VL + p);                       \
            const float *a = packed_a + (size_t)kk * MR;                                  \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)                          \
                for (int v = 0; v < NV; v++) acc[i][v] += a[i] * b[v];                    \
        }                                                                                 \
        STORE_TILE(VEC, VL, MR, NV)                                                       \
    }

/* C tile [NV * VL rows][NJ columns] from a panel (one row of A per lane, NV vectors
 * per k) and NJ rows of B, broadcast one value at a time; B's K runs in segments of
 * `segment` values `stride` floats apart (one segment: a plain row). Rows of B past the
 * valid ones repeat the last valid row; their sums are computed and dropped, which
 * keeps the loop free of branches. U accumulator sets (consecutive k) give the FMA
 * pipelines enough independent sums when NV * NJ alone is too few; a segment of a
 * multiple of U values leaves each k to the same set as one long row does. */
#define DEFINE_NT_KERNEL(NAME, ATTR, VEC, VL, NV, NJ, U)                                  \
    ATTR static void NAME(int k, const float *panel, const float *const *b_rows,          \
                          size_t segment, size_t stride, float *c, int ldc, int m_valid,  \
                          int n_valid, bool accumulate, bool transposed) {                \
        VEC acc[U][NJ][NV];                                                               \
        for (int u = 0; u < U; u++)                                                       \
            for (int j = 0; j < NJ; j++)                                                  \
                for (int v = 0; v < NV; v++) acc[u][j][v] = (VEC){0};                     \
        size_t offset = 0; /* of the segment in B's rows */                               \
        for (int k0 = 0; k0 < k; k0 += (int)segment, offset += stride) {                  \
            const int k1 = k - k0 < (int)segment ? k : k0 + (int)segment;                 \
            const float *br[NJ];                                                          \
            for (int j = 0; j < NJ; j++) br[j] = b_rows[j < n_valid ? j : n_valid - 1] + offset; \
            const float *p = panel + (size_t)k0 * NV * VL;                                \
            int kk = 0;                                                                   \
            for (; kk + U <= k1 - k0; kk += U)                                            \
                _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) {                     \
                    VEC a[NV];                                                            \
                    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                  \
                        memcpy(&a[v], p + ((size_t)(kk + u) * NV + v) * VL, sizeof a[v]); \
                    _Pragma("GCC unroll 16") for (int j = 0; j < NJ; j++) {               \
                        const float b = br[j][kk + u];                                    \
                        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)              \
                            acc[u][j][v] += b * a[v];                                     \
                    }                                                                     \
                }                                                                         \
            for (; kk < k1 - k0; kk++)                                                    \
                for (int v = 0; v < NV; v++) {                                            \
                    VEC a;                                                                \
                    memcpy(&a, p + ((size_t)kk * NV + v) * VL, sizeof a);                 \
                    for (int j = 0; j < NJ; j++) acc[0][j][v] += br[j][kk] * a;           \
                }                                                                         \
        }                                                                                 \
        for (int j = 0; j < NJ; j++)                                                      \
            for (int v = 0; v < NV; v++)                                                  \
                for (int u = 1; u < U; u++) acc[0][j][v] += acc[u][j][v];                 \
        if (transposed) { /* column j of the tile is row j of C^T: whole vectors */       \
            for (int j = 0; j < n_valid; j++)                                             \
                for (int v = 0; v < NV && v * VL < m_valid; v++) {                        \
                    float *out = c + (size_t)j * ldc + v * VL;                            \
                    if (m_valid - v * VL >= VL) {                                         \
                        if (accumulate) {                                                 \
                            VEC old;                                                      \
                            memcpy(&old, out, sizeof old);                                \
                            acc[0][j][v] += old;                                          \
                        }                                                                 \
                        memcpy(out, &acc[0][j][v], sizeof acc[0][j][v]);                  \
                    } else {                                                              \
                        for (int l = 0; l < m_valid - v * VL; l++)                        \
                            out[l] = acc[0][j][v][l] + (accumulate ? out[l] : 0.0f);      \
                    }                                                                     \
                }                                                                         \
            return;                                                                       \
        }                                                                                 \
        float tile[NJ][NV * VL];                                                          \
        for (int j = 0; j < NJ; j++)                                                      \
            for (int v = 0; v < NV; v++)                                                  \
                memcpy(&tile[j][v * VL], &acc[0][j][v], sizeof acc[0][j][v]);             \
        for (int i = 0; i < m_valid; i++)                                                 \
            for (int j = 0; j < n_valid; j++) {                                           \
                float *out = c + (size_t)i * ldc + j;                                     \
                *out = tile[j][i] + (accumulate ? *out : 0.0f);                           \
            }                                                                             \
    }

typedef float vec16 __attribute__((vector_size(64)));
typedef float vec8 __attribute__((vector_size(32)));
typedef float vec4 __attribute__((vector_size(16)));

typedef int ivec16 __attribute__((vector_size(64)));
typedef int ivec8 __attribute__((vector_size(32)));
typedef int ivec4 __attribute__((vector_size(16)));

/* gf_gemm_nt's kernel reads A transposed: VL rows of A become a panel [k][VL]. A
 * VL x VL block is transposed in registers in log2(VL) stages; the stage of half-size
 * h swaps the off-diagonal h x h blocks of every 2h x 2h block, rows i and i + h
 * exchanging lanes through two-source shuffles with constant masks (masks built at
 * run time make GCC emit slow generic permutes). LO: lane l of row i takes row i's
 * lane l where (l & h) == 0, else row i + h's lane l - h; HI: the complement. */
#if defined(__clang__)
/* clang has only the constant-index __builtin_shufflevector; lane by lane is enough
 * for the clang-built fuzzing harnesses (tests/fuzz) */
#define SHUFFLE2(A, B, MASK)                                                              \
    __extension__({                                                                       \
        __typeof__(A) a_ = (A), b_ = (B), r_;                                             \
        const int n_ = (int)(sizeof a_ / sizeof a_[0]);                                   \
        for (int l_ = 0; l_ < n_; l_++) r_[l_] = MASK[l_] < n_ ? a_[MASK[l_]] : b_[MASK[l_] - n_]; \
        r_;                                                                               \
    })
#else
#define SHUFFLE2 __builtin_shuffle
#endif
#define SWAP_BLOCKS(R, VL, H, LO, HI)                                                   \
    _Pragma("GCC unroll 16") for (int i_ = 0; i_ < VL; i_++) if (!(i_ & H)) {            \
        __typeof__(R[0]) lo_ = SHUFFLE2(R[i_], R[i_ + H], LO);                             \
        R[i_ + H] = SHUFFLE2(R[i_], R[i_ + H], HI);                                        \
        R[i_] = lo_;                                                                        \
    }
#define TRANSPOSE_16(R)                                                                   \
    SWAP_BLOCKS(R, 16, 8, ((ivec16){0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}), \
                ((ivec16){8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}))   \
    SWAP_BLOCKS(R, 16, 4, ((ivec16){0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27}), \
                ((ivec16){4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31}))     \
    SWAP_BLOCKS(R, 16, 2, ((ivec16){0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29}), \
                ((ivec16){2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}))     \
    SWAP_BLOCKS(R, 16, 1, ((ivec16){0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}), \
                ((ivec16){1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}))
#define TRANSPOSE_8(R)                                                                    \
    SWAP_BLOCKS(R, 8, 4, ((ivec8){0, 1, 2, 3, 8, 9, 10, 11}), ((ivec8){4, 5, 6, 7, 12, 13, 14, 15})) \
    SWAP_BLOCKS(R, 8, 2, ((ivec8){0, 1, 8, 9, 4, 5, 12, 13}), ((ivec8){2, 3, 10, 11, 6, 7, 14, 15})) \
    SWAP_BLOCKS(R, 8, 1, ((ivec8){0, 8, 2, 10, 4, 12, 6, 14}), ((ivec8){1, 9, 3, 11, 5, 13, 7, 15}))
#define TRANSPOSE_4(R)                                                                    \
    SWAP_BLOCKS(R, 4, 2, ((ivec4){0, 1, 4, 5}), ((ivec4){2, 3, 6, 7}))                      \
    SWAP_BLOCKS(R, 4, 1, ((ivec4){0, 4, 2, 6}), ((ivec4){1, 5, 3, 7}))

/* panel[kk][r] = A[r][kk] for r < m_valid, 0 for the rows past them, A's K in
 * segments of `segment` values `stride` floats apart (a multiple of VL long, or one
 * segment: a plain row); NV blocks of VL rows, each transposed in registers */
#define DEFINE_PACK_PANEL(NAME, ATTR, VEC, VL, NV, TRANSPOSE)                             \
    ATTR static void NAME(float *panel, const float *const *a_rows, int m_valid, int k,   \
                          size_t segment, size_t stride) {                                \
        const int width = NV * VL;                                                        \
        size_t offset = 0, within = 0; /* of kk: its segment's place, its place in it */  \
        int kk = 0;                                                                       \
        for (; kk + VL <= k; kk += VL) {                                                  \
            const size_t at = offset + within;                                            \
            if ((within += VL) == segment) within = 0, offset += stride;                  \
            for (int v = 0; v < NV; v++) {                                                \
                VEC r[VL];                                                                \
                for (int i = 0; i < VL; i++) {                                            \
                    r[i] = (VEC){0};                                                      \
                    if (v * VL + i < m_valid) memcpy(&r[i], a_rows[v * VL + i] + at, sizeof r[i]); \
                }                                                                         \
                TRANSPOSE(r)                                                              \
                for (int i = 0; i < VL; i++)                                              \
                    memcpy(panel + (size_t)(kk + i) * width + v * VL, &r[i], sizeof r[i]); \
            }                                                                             \
        }                                                                                 \
        for (; kk < k; kk++) { /* in the last segment (k - kk < VL <= segment) */         \
            const size_t at = offset + within++;                                          \
            for (int i = 0; i < width; i++)                                               \
                panel[(size_t)kk * width + i] = i < m_valid ? a_rows[i][at] : 0.0f;       \
        }                                                                                 \
    }

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86_KERNELS 1
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))
DEFINE_NN_KERNEL(nn_avx512, AVX512, vec16, 16, 8, 2)
DEFINE_NN_KERNEL(nn_narrow_avx512, AVX512, vec16, 16, 8, 1)
DEFINE_NT_KERNEL(nt_wide_avx512, AVX512, vec16, 16, 2, 8, 1)
DEFINE_NT_KERNEL(nt_narrow_avx512, AVX512, vec16, 16, 1, 8, 2)
DEFINE_PACK_PANEL(pack_wide_avx512, AVX512, vec16, 16, 2, TRANSPOSE_16)
DEFINE_PACK_PANEL(pack_narrow_avx512, AVX512, vec16, 16, 1, TRANSPOSE_16)
DEFINE_NN_KERNEL(nn_avx2, AVX2, vec8, 8, 6, 2)
DEFINE_NN_KERNEL(nn_narrow_avx2, AVX2, vec8, 8, 6, 1)
DEFINE_NT_KERNEL(nt_wide_avx2, AVX2, vec8, 8, 2, 6, 1)
DEFINE_NT_KERNEL(nt_narrow_avx2, AVX2, vec8, 8, 1, 6, 2)
DEFINE_PACK_PANEL(pack_wide_avx2, AVX2, vec8, 8, 2, TRANSPOSE_8)
DEFINE_PACK_PANEL(pack_narrow_avx2, AVX2, vec8, 8, 1, TRANSPOSE_8)
#endif
DEFINE_NN_KERNEL(nn_portable, , vec4, 4, 4, 2)
DEFINE_NN_KERNEL(nn_narrow_portable, , vec4, 4, 4, 1)
DEFINE_NT_KERNEL(nt_wide_portable, , vec4, 4, 2, 6, 1)
DEFINE_NT_KERNEL(nt_narrow_portable, , vec4, 4, 1, 6, 2)
DEFINE_PACK_PANEL(pack_wide_portable, , vec4, 4, 2, TRANSPOSE_4)
DEFINE_PACK_PANEL(pack_narrow_portable, , vec4, 4, 1, TRANSPOSE_4)

static const kernel_set kernel_sets[] = {
#ifdef HAVE_X86_KERNELS
    {"avx512", 8, 32, 16, 8, nn_avx512, nn_narrow_avx512, {pack_narrow_avx512, pack_wide_avx512},
     {nt_narrow_avx512, nt_wide_avx512}},
    {"avx2", 6, 16, 8, 6, nn_avx2, nn_narrow_avx2, {pack_narrow_avx2, pack_wide_avx2},
     {nt_narrow_avx2, nt_wide_avx2}},
#endif
    {"portable", 4, 8, 4, 6, nn_portable, nn_narrow_portable, {pack_narrow_portable, pack_wide_portable},
     {nt_narrow_portable, nt_wide_portable}},
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
    return ((size_t)m + MR_MAX - 1) * (size_t)k;
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

/* Columns of B whose K rows gf_gemm_nn keeps in the second-level cache while every row
 * panel passes over them: each panel then writes its rows of C as runs of a whole strip,
 * not of one column block (with few rows of B, as in MobileNetV2's 1x1 layers with 16
 * to 32 inputs, the writes of C's tiles, a few cache lines in each of many rows, were
 * the products' bound); with many rows of B a strip is one column block, which the
 * first-level cache keeps. */
static int strip_columns(int k, int nr) {
    enum { STRIP_BYTES = 128 * 1024 };
    const int columns = (int)(STRIP_BYTES / (sizeof(float) * (size_t)(k > 1 ? k : 1))) / nr * nr;
    return columns > nr ? columns : nr;
}

/* Where gf_gemm_nn finds its columns: in segments of `segment` columns, each
 * `b_stride` floats on from the last in B's rows and `c_stride` in C's (a plain matrix is
 * one segment of every column). */
typedef struct column_map {
    size_t segment, b_stride, c_stride;
} column_map;

/* A walk over the columns of a column map, a tile's vectors at a time: column `at` of
 * segment `segment` (stepped, not divided, per tile: a tile of a short K costs little
 * more than a division). */
typedef struct column_cursor {
    size_t segment, at;
} column_cursor;

static column_cursor cursor_at(const column_map *map, size_t column) {
    column_cursor cursor = {column / map->segment, column % map->segment};
    return cursor;
}

/* The next `vectors` vectors of `vl` columns: their offsets in B's rows and their
 * places in C's row 0 (`c`); a vector never straddles segments (segment % vl == 0). */
static void take_columns(column_cursor *cursor, const column_map *map, int vectors, int vl,
                         float *c, size_t *b_cols, float **c_cols) {
    for (int v = 0; v < vectors; v++) {
        b_cols[v] = cursor->segment * map->b_stride + cursor->at;
        c_cols[v] = c + cursor->segment * map->c_stride + cursor->at;
        cursor->at += (size_t)vl;
        if (cursor->at == map->segment) cursor->at = 0, cursor->segment++;
    }
}

static void gemm_nn(float *c, int ldc, const column_map *map, const float *packed_a,
                    const float *const *b_rows, int m, int n, int k, bool accumulate) {
    const kernel_set *ks = kernels();
    const int mr = ks->mr, nr = ks->nr, vl = nr / 2, whole = n / nr * nr;
    const int strip = strip_columns(k, nr);
    size_t b_cols[2];
    float *c_cols[2];
    for (int j0 = 0; j0 < whole; j0 += strip) {
        const int j1 = whole - j0 < strip ? whole : j0 + strip;
        /* the first row panel fetches the next block's rows of B ahead: a 1x1
         * convolution's rows are image planes, as many streams as input channels,
         * more than the hardware's prefetchers follow */
        for (int i = 0; i < m; i += mr) {
            column_cursor cursor = cursor_at(map, (size_t)j0);
            for (int j = j0; j < j1; j += nr) {
                take_columns(&cursor, map, 2, vl, c + (size_t)i * ldc, b_cols, c_cols);
                ks->nn(k, packed_a + (size_t)i * k, b_rows, b_cols, c_cols, ldc,
                       m - i < mr ? m - i : mr, nr, accumulate, i == 0 && j + nr < whole);
            }
        }
    }
    if (whole == n) return;
    const int j = whole, n_valid = n - j;
    const bool half = 2 * n_valid <= nr;
    const nn_kernel_fn kernel = half ? ks->nn_narrow : ks->nn;
    if (n_valid == vl) {
        /* one whole vector (always so in segments of whole vectors): read in place */
        for (int i = 0; i < m; i += mr) {
            column_cursor cursor = cursor_at(map, (size_t)j);
            take_columns(&cursor, map, 1, vl, c + (size_t)i * ldc, b_cols, c_cols);
            kernel(k, packed_a + (size_t)i * k, b_rows, b_cols, c_cols, ldc,
                   m - i < mr ? m - i : mr, n_valid, accumulate, false);
        }
        return;
    }
    /* a last column block of part of a vector, or more than one: the kernel reads
     * whole vectors, so it gets a zero-padded copy, PAD_K rows at a time; at most
     * nr / 2 columns take the half-width kernel */
    const int width = half ? nr / 2 : nr;
    float padded[PAD_K * NR_MAX];
    const float *padded_rows[PAD_K];
    const size_t padded_cols[2] = {0, (size_t)vl};
    for (int k0 = 0; k0 < k; k0 += PAD_K) {
        const int k_len = k - k0 < PAD_K ? k - k0 : PAD_K;
        memset(padded, 0, sizeof(float) * (size_t)(k_len * width));
        for (int kk = 0; kk < k_len; kk++) {
            memcpy(padded + kk * width, b_rows[k0 + kk] + j, sizeof(float) * (size_t)n_valid);
            padded_rows[kk] = padded + kk * width;
        }
        for (int i = 0; i < m; i += mr) {
            float *tile = c + (size_t)i * ldc + j;
            c_cols[0] = tile;
            c_cols[1] = tile + vl;
            kernel(k_len, packed_a + (size_t)i * k + (size_t)k0 * mr, padded_rows, padded_cols,
                   c_cols, ldc, m - i < mr ? m - i : mr, n_valid, accumulate || k0 > 0, false);
        }
    }
}

void gf_gemm_nn(float *c, int ldc, const float *packed_a, const float *const *b_rows, int m,
                int n, int k, bool accumulate) {
    const column_map plain = {.segment = (size_t)(n > 0 ? n : 1)};
    gemm_nn(c, ldc, &plain, packed_a, b_rows, m, n, k, accumulate);
}

void gf_gemm_nn_segmented(float *c, int ldc, size_t c_stride, const float *packed_a,
                          const float *const *b_rows, size_t b_stride, size_t segment, int m,
                          int n, int k, bool accumulate) {
    const column_map map = {.segment = segment, .b_stride = b_stride, .c_stride = c_stride};
    gemm_nn(c, ldc, &map, packed_a, b_rows, m, n, k, accumulate);
}

size_t gf_gemm_nn_columns(size_t n) {
    const size_t rest = n % NR_MAX;
    return n - rest + (rest == 0 ? 0 : rest <= NR_MAX / 2 ? NR_MAX / 2 : NR_MAX);
}

size_t gf_gemm_nt_scratch_floats(int k) { return (size_t)NT_ROWS_MAX * (size_t)k; }

static void gemm_nt(float *c, int ldc, const float *const *a_rows, const float *const *b_rows,
                    int m, int n, int k, size_t segment, size_t a_stride, size_t b_stride,
                    bool accumulate, float *scratch, bool transposed) {
    const kernel_set *ks = kernels();
    const int wide_rows = 2 * ks->nt_lanes;
    for (int i = 0; i < m; i += wide_rows) {
        const int m_valid = m - i < wide_rows ? m - i : wide_rows;
        const int wide = m_valid > ks->nt_lanes;
        ks->pack[wide](scratch, a_rows + i, m_valid, k, segment, a_stride);
        for (int j = 0; j < n; j += ks->nt_cols) {
            float *tile = transposed ? c + (size_t)j * ldc + i : c + (size_t)i * ldc + j;
            ks->nt[wide](k, scratch, b_rows + j, segment, b_stride, tile, ldc, m_valid,
                         n - j < ks->nt_cols ? n - j : ks->nt_cols, accumulate, transposed);
        }
    }
}

/* one segment of every k: plain rows */
static size_t plain_segment(int k) { return (size_t)(k > 0 ? k : 1); }

void gf_gemm_nt(float *c, int ldc, const float *const *a_rows, const float *const *b_rows, int m,
                int n, int k, bool accumulate, float *scratch) {
    gemm_nt(c, ldc, a_rows, b_rows, m, n, k, plain_segment(k), 0, 0, accumulate, scratch, false);
}

void gf_gemm_nt_segmented(float *c, int ldc, const float *const *a_rows, size_t a_stride,
                          const float *const *b_rows, size_t b_stride, size_t segment, int m,
                          int n, int k, bool accumulate, float *scratch) {
    gemm_nt(c, ldc, a_rows, b_rows, m, n, k, segment, a_stride, b_stride, accumulate, scratch,
            false);
}

void gf_gemm_nt_transposed(float *c_t, int ldc, const float *const *a_rows,
                           const float *const *b_rows, int m, int n, int k, bool accumulate,
                           float *scratch) {
    gemm_nt(c_t, ldc, a_rows, b_rows, m, n, k, plain_segment(k), 0, 0, accumulate, scratch,
            true);
}
