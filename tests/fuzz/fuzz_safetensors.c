/* libFuzzer harness: the input is a safetensors file. A file that reads must hold
 * what its entries promise: every byte of every tensor, every metadata string,
 * and each name found again by gf_safetensors_find. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_input.h"
#include "io/safetensors.h"

static size_t element_bytes(gf_dtype dtype) { return dtype == GF_DTYPE_I64 ? 8 : 4; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gf_error_clear();
    gf_st_file *f = gf_safetensors_read(fuzz_file(0, data, size));
    if (f == NULL) {
        fuzz_refused();
        return 0;
    }
    for (size_t i = 0; i < gf_safetensors_count(f); i++) {
        const gf_st_entry *e = gf_safetensors_entry(f, i);
        int64_t numel = 1;
        for (int d = 0; d < e->ndim; d++) numel *= e->shape[d];
        fuzz_touch(e->data, (size_t)numel * element_bytes(e->dtype));
        if (gf_safetensors_find(f, e->name) != e) abort();
    }
    for (size_t i = 0; i < gf_safetensors_meta_count(f); i++) {
        const gf_st_meta *m = gf_safetensors_meta(f, i);
        fuzz_touch(m->key, strlen(m->key) + 1);
        fuzz_touch(m->value, strlen(m->value) + 1);
    }
    gf_safetensors_close(f);
    return 0;
}
