/* The printed form of a tensor (tostring, the prompt). A vector is one line: its
 * first values and the last. A tensor of two or more dimensions is a short matrix
 * as NumPy prints it: at most MATRIX_EDGE rows and columns at each end, the middle
 * elided, values right-aligned in columns of one width; the dimensions before the
 * last two show their first and last index only, each matrix under its index
 * ("[1, 3, :, :]"), so that a convolution's weight stays on a screen. */
#include <stdio.h>
#include <string.h>

#include "lua/tensor_text.h"

enum { VECTOR_HEAD = 5, MATRIX_EDGE = 3, BLOCK_EDGE = 1 };

static int format_value(char *item, size_t size, float v) {
    return snprintf(item, size, "%.4g", (double)v);
}

/* The positions shown along a dimension of `size` with `edge` kept at each end,
 * -1 standing for the elided middle; returns how many entries `out` holds. */
static int shown_positions(int64_t size, int edge, int64_t *out) {
    int count = 0;
    if (size <= 2 * edge + 1) {
        for (int64_t i = 0; i < size; i++) out[count++] = i;
        return count;
    }
    for (int64_t i = 0; i < edge; i++) out[count++] = i;
    out[count++] = -1;
    for (int64_t i = size - edge; i < size; i++) out[count++] = i;
    return count;
}

typedef struct layout {
    const gf_tensor *t;
    int64_t rows[2 * MATRIX_EDGE + 1], cols[2 * MATRIX_EDGE + 1];
    int row_count, col_count;
    int width; /* of every shown value */
    int64_t index[GF_MAX_DIMS]; /* the leading indices of the current matrix */
} layout;

/* The width of the widest value shown, over every matrix shown. */
static void measure(layout *l, int dim, int64_t offset) {
    const gf_tensor *t = l->t;
    int64_t rows = t->shape[t->ndim - 2], cols = t->shape[t->ndim - 1];
    if (dim == t->ndim - 2) {
        char item[32];
        for (int r = 0; r < l->row_count; r++)
            for (int c = 0; c < l->col_count; c++) {
                if (l->rows[r] < 0 || l->cols[c] < 0) continue;
                int w = format_value(item, sizeof item, l->t->data[offset + l->rows[r] * cols + l->cols[c]]);
                if (w > l->width) l->width = w;
            }
        return;
    }
    int64_t positions[2 * BLOCK_EDGE + 1], stride = rows * cols;
    for (int d = dim + 1; d < t->ndim - 2; d++) stride *= t->shape[d];
    int count = shown_positions(t->shape[dim], BLOCK_EDGE, positions);
    for (int i = 0; i < count; i++)
        if (positions[i] >= 0) measure(l, dim + 1, offset + positions[i] * stride);
}

static void add_padded(luaL_Buffer *b, float v, int width) {
    char item[32];
    int w = format_value(item, sizeof item, v);
    for (int i = w; i < width; i++) luaL_addchar(b, ' ');
    luaL_addstring(b, item);
}

static void add_matrix(luaL_Buffer *b, const layout *l, int64_t offset) {
    int64_t cols = l->t->shape[l->t->ndim - 1];
    for (int r = 0; r < l->row_count; r++) {
        if (l->rows[r] < 0) {
            luaL_addstring(b, " ...,\n");
            continue;
        }
        luaL_addstring(b, r == 0 ? "[[" : " [");
        for (int c = 0; c < l->col_count; c++) {
            if (c > 0) luaL_addstring(b, ", ");
            if (l->cols[c] < 0) {
                luaL_addstring(b, "...");
                continue;
            }
            add_padded(b, l->t->data[offset + l->rows[r] * cols + l->cols[c]], l->width);
        }
        luaL_addstring(b, r + 1 < l->row_count ? "],\n" : "]]");
    }
}

static void add_blocks(luaL_Buffer *b, layout *l, int dim, int64_t offset, bool *first) {
    const gf_tensor *t = l->t;
    if (dim == t->ndim - 2) {
        if (t->ndim > 2) {
            luaL_addstring(b, *first ? "" : "\n");
            luaL_addchar(b, '[');
            for (int d = 0; d < t->ndim - 2; d++) {
                char number[24];
                snprintf(number, sizeof number, "%lld, ", (long long)l->index[d] + 1);
                luaL_addstring(b, number);
            }
            luaL_addstring(b, ":, :] =\n");
        }
        add_matrix(b, l, offset);
        *first = false;
        return;
    }
    int64_t positions[2 * BLOCK_EDGE + 1], stride = t->shape[t->ndim - 2] * t->shape[t->ndim - 1];
    for (int d = dim + 1; d < t->ndim - 2; d++) stride *= t->shape[d];
    int count = shown_positions(t->shape[dim], BLOCK_EDGE, positions);
    for (int i = 0; i < count; i++) {
        if (positions[i] < 0) {
            luaL_addstring(b, "\n...");
            continue;
        }
        l->index[dim] = positions[i];
        add_blocks(b, l, dim + 1, offset + positions[i] * stride, first);
    }
}

static void add_vector(luaL_Buffer *b, const gf_tensor *t) {
    char item[32];
    luaL_addstring(b, " {");
    int64_t head = t->numel <= VECTOR_HEAD + 1 ? t->numel : VECTOR_HEAD;
    for (int64_t i = 0; i < head; i++) {
        if (i > 0) luaL_addstring(b, ", ");
        format_value(item, sizeof item, t->data[i]);
        luaL_addstring(b, item);
    }
    if (head < t->numel) {
        luaL_addstring(b, ", ..., ");
        format_value(item, sizeof item, t->data[t->numel - 1]);
        luaL_addstring(b, item);
    }
    luaL_addstring(b, "}");
}

void gf_lua_push_tensor_text(lua_State *L, const gf_tensor *t, const char *type_name) {
    char shape[128];
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, type_name);
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, gf_shape_format(shape, sizeof shape, t->ndim, t->shape));
    if (t->ndim < 2) {
        add_vector(&b, t);
        luaL_pushresult(&b);
        return;
    }
    layout l = {.t = t};
    l.row_count = shown_positions(t->shape[t->ndim - 2], MATRIX_EDGE, l.rows);
    l.col_count = shown_positions(t->shape[t->ndim - 1], MATRIX_EDGE, l.cols);
    measure(&l, 0, 0);
    luaL_addchar(&b, '\n');
    bool first = true;
    add_blocks(&b, &l, 0, 0, &first);
    luaL_pushresult(&b);
}
