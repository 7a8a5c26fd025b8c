/* Operation names and labels of network nodes. */
#include "nn/node.h"

#include <stdio.h>
#include <string.h>

/* indexed by gf_op */
static const char *const op_names[] = {"input",   "conv2d",         "batchnorm", "activation",
                                       "maxpool", "avgpool",        "global_avgpool",
                                       "linear",  "shortcut_a",     "add"};
enum { OP_COUNT = sizeof op_names / sizeof op_names[0] };
_Static_assert(OP_COUNT == GF_OP_ADD + 1, "a name for every gf_op");

const char *gf_op_name(gf_op op) { return (unsigned)op < OP_COUNT ? op_names[op] : "unknown"; }

int gf_op_parse(const char *name) {
    for (int i = 0; i < OP_COUNT; i++)
        if (strcmp(name, op_names[i]) == 0) return i;
    return -1;
}

const char *gf_node_label(const gf_node *n, int index, char *buf, size_t size) {
    if (n->name[0])
        snprintf(buf, size, "node %d (%s '%s')", index, gf_op_name(n->op), n->name);
    else
        snprintf(buf, size, "node %d (%s)", index, gf_op_name(n->op));
    return buf;
}
