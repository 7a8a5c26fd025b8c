/* The network description as text, and networks rebuilt from it. */
#include "nn/architecture.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

enum { MAX_FIELDS = 10, ITEM_CAPACITY = 256 };

/* One node's fields after its operation's name, without the separator. */
static int describe_fields(char *out, size_t size, const gf_node *n) {
    const char *name = n->name[0] ? n->name : "-";
    int a = n->inputs[0], b = n->inputs[1];
    switch (n->op) {
    case GF_OP_INPUT: return snprintf(out, size, "%d %d %d", n->channels, n->height, n->width);
    case GF_OP_CONV2D:
        return snprintf(out, size, "%s %d %d %d %d %d %d %d", name, a, n->channels, n->kernel,
                        n->stride, n->padding, n->groups, n->has_bias ? 1 : 0);
    case GF_OP_BATCHNORM: return snprintf(out, size, "%s %d", name, a);
    case GF_OP_ACTIVATION:
        return snprintf(out, size, "%d %s %.9g", a, gf_activation_name(n->activation),
                        (double)n->slope);
    case GF_OP_MAXPOOL:
    case GF_OP_AVGPOOL: return snprintf(out, size, "%d %d %d %d", a, n->kernel, n->stride, n->padding);
    case GF_OP_GLOBAL_AVGPOOL: return snprintf(out, size, "%d", a);
    case GF_OP_LINEAR:
        return snprintf(out, size, "%s %d %d %d", name, a, n->channels, n->has_bias ? 1 : 0);
    case GF_OP_SHORTCUT_A: return snprintf(out, size, "%d %d %d", a, n->channels, n->stride);
    case GF_OP_ADD: return snprintf(out, size, "%d %d", a, b);
    }
    return -1;
}

/* One node's item; returns its length or -1 if it does not fit. */
static int describe_node(char *out, size_t size, const gf_net *net, int index) {
    const gf_node *n = gf_net_node(net, index);
    char fields[ITEM_CAPACITY];
    int length = describe_fields(fields, sizeof fields, n);
    if (length < 0 || length >= (int)sizeof fields) return -1;
    return snprintf(out, size, "%s %s", gf_op_name(n->op), fields);
}

char *gf_architecture_describe(const gf_net *net) {
    int count = gf_net_node_count(net);
    size_t capacity = (size_t)count * ITEM_CAPACITY + 1, used = 0;
    char *text = malloc(capacity);
    if (text == NULL) {
        gf_fail("architecture: out of memory for %d nodes", count);
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        char item[ITEM_CAPACITY];
        int length = describe_node(item, sizeof item, net, i);
        if (length < 0 || length >= ITEM_CAPACITY) {
            free(text);
            gf_fail("architecture: node %d (%s) cannot be described", i, gf_net_node(net, i)->name);
            return NULL;
        }
        if (i > 0) text[used++] = ';';
        memcpy(text + used, item, (size_t)length);
        used += (size_t)length;
    }
    text[used] = '\0';
    return text;
}

/* Parsed fields of one item: field[0] is the op; integers are checked on use. */
typedef struct item {
    char *field[MAX_FIELDS];
    int count;
    int index; /* node index, for messages */
    const char *text;
} item;

static int integer_field(const item *it, int k, int *value) {
    char *end;
    errno = 0;
    long v = strtol(it->field[k], &end, 10);
    /* the builders check each value against its own range and the limits */
    if (errno || *end || end == it->field[k] || v < INT_MIN || v > INT_MAX)
        return gf_fail("node %d (\"%s\"): field %d (\"%s\") is not an integer (of int range)",
                       it->index, it->text, k + 1, it->field[k]);
    *value = (int)v;
    return GF_OK;
}

/* Reads fields first..count-1 as integers into values[]. */
static int integer_fields(const item *it, int first, int *values) {
    for (int k = first; k < it->count; k++)
        if (integer_field(it, k, &values[k - first]) != GF_OK) return GF_ERR;
    return GF_OK;
}

static int expect_fields(const item *it, int count) {
    if (it->count != count)
        return gf_fail("node %d (\"%s\"): %s takes %d fields, found %d", it->index, it->text,
                       it->field[0], count - 1, it->count - 1);
    return GF_OK;
}

static const char *node_name(const item *it) {
    return strcmp(it->field[1], "-") == 0 ? "" : it->field[1];
}

/* Adds one node to net; returns the builder's result (node index or GF_ERR). */
static int build_node(gf_net *net, const item *it) {
    int v[MAX_FIELDS];
    switch (gf_op_parse(it->field[0])) {
    case GF_OP_CONV2D:
        if (expect_fields(it, 9) || integer_fields(it, 2, v)) return GF_ERR;
        return gf_net_conv2d(net, node_name(it), v[0], v[1], v[2], v[3], v[4], v[5], v[6] != 0);
    case GF_OP_BATCHNORM:
        if (expect_fields(it, 3) || integer_fields(it, 2, v)) return GF_ERR;
        return gf_net_batchnorm(net, node_name(it), v[0]);
    case GF_OP_ACTIVATION: {
        if (expect_fields(it, 4) || integer_field(it, 1, &v[0])) return GF_ERR;
        int kind = gf_activation_parse(it->field[2]);
        char *end;
        float slope = strtof(it->field[3], &end);
        if (kind < 0 || *end)
            return gf_fail("node %d (\"%s\"): unknown activation or bad slope", it->index,
                           it->text);
        return gf_net_activation(net, v[0], (gf_activation_kind)kind, slope);
    }
    case GF_OP_MAXPOOL:
        if (expect_fields(it, 5) || integer_fields(it, 1, v)) return GF_ERR;
        return gf_net_maxpool(net, v[0], v[1], v[2], v[3]);
    case GF_OP_AVGPOOL:
        if (expect_fields(it, 5) || integer_fields(it, 1, v)) return GF_ERR;
        return gf_net_avgpool(net, v[0], v[1], v[2], v[3]);
    case GF_OP_GLOBAL_AVGPOOL:
        if (expect_fields(it, 2) || integer_fields(it, 1, v)) return GF_ERR;
        return gf_net_global_avgpool(net, v[0]);
    case GF_OP_LINEAR:
        if (expect_fields(it, 5) || integer_fields(it, 2, v)) return GF_ERR;
        return gf_net_linear(net, node_name(it), v[0], v[1], v[2] != 0);
    case GF_OP_SHORTCUT_A:
        if (expect_fields(it, 4) || integer_fields(it, 1, v)) return GF_ERR;
        return gf_net_shortcut_a(net, v[0], v[1], v[2]);
    case GF_OP_ADD:
        if (expect_fields(it, 3) || integer_fields(it, 1, v)) return GF_ERR;
        return gf_net_add(net, v[0], v[1]);
    case GF_OP_INPUT:
        return gf_fail("node %d (\"%s\"): only node 0 is the input", it->index, it->text);
    }
    return gf_fail("node %d (\"%s\"): unknown operation \"%s\"", it->index, it->text,
                   it->field[0]);
}

static void split(item *it, char *text) {
    char *save = NULL;
    it->count = 0;
    for (char *f = strtok_r(text, " ", &save); f && it->count < MAX_FIELDS;
         f = strtok_r(NULL, " ", &save))
        it->field[it->count++] = f;
}

gf_net *gf_architecture_build(const char *text) {
    char *copy = strdup(text);
    if (copy == NULL) {
        gf_fail("architecture: out of memory");
        return NULL;
    }
    gf_net *net = NULL;
    char *save = NULL;
    int index = 0;
    for (char *node = strtok_r(copy, ";", &save); node; node = strtok_r(NULL, ";", &save), index++) {
        char original[ITEM_CAPACITY];
        snprintf(original, sizeof original, "%s", node);
        item it = {.index = index, .text = original};
        split(&it, node);
        if (it.count == 0) {
            gf_fail("architecture: node %d is empty", index);
            goto fail;
        }
        if (index == 0) {
            int v[3];
            if (gf_op_parse(it.field[0]) != GF_OP_INPUT) {
                gf_fail("architecture: node 0 (\"%s\") must be the input", original);
                goto fail;
            }
            if (expect_fields(&it, 4) || integer_fields(&it, 1, v)) goto fail_context;
            net = gf_net_create(v[0], v[1], v[2]);
            if (net == NULL) goto fail_context;
            continue;
        }
        int built = build_node(net, &it);
        if (built == GF_ERR) goto fail_context;
        if (built != index) {
            gf_fail("architecture: node %d (\"%s\") was built as node %d", index, original, built);
            goto fail;
        }
    }
    if (net == NULL) {
        gf_fail("architecture: no nodes");
        goto fail;
    }
    free(copy);
    return net;
fail_context:
    gf_fail_context("architecture");
fail:
    if (net) gf_net_free(net);
    free(copy);
    return NULL;
}

gf_net *gf_net_clone(const gf_net *src) {
    char *text = gf_architecture_describe(src);
    if (text == NULL) return NULL;
    gf_net *copy = gf_architecture_build(text);
    free(text);
    if (copy) gf_net_set_init(copy, gf_net_init(src));
    if (copy == NULL || gf_net_finalize(copy, 0) != GF_OK ||
        gf_net_copy_state(copy, src) != GF_OK || gf_net_set_model(copy, gf_net_model(src)) != GF_OK) {
        gf_fail_context("gf_net_clone");
        gf_net_free(copy);
        return NULL;
    }
    gf_net_set_training(copy, gf_net_is_training(src));
    return copy;
}
