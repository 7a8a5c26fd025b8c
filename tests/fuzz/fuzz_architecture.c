/* libFuzzer harness: the input is the architecture text a checkpoint stores
 * ("graft.architecture" metadata). A text that builds must describe itself back
 * to a text that builds the same network; a network within the fuzzing budget
 * (fuzz_net.h) is finalised and run forward and backward on one sample. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_input.h"
#include "fuzz_net.h"
#include "nn/architecture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    gf_error_clear();
    gf_net *net = gf_architecture_build(text);
    free(text);
    if (net == NULL) {
        fuzz_refused();
        return 0;
    }
    char *described = gf_architecture_describe(net);
    if (described) {
        gf_net *again = gf_architecture_build(described);
        char *twice = again ? gf_architecture_describe(again) : NULL;
        if (!twice || strcmp(twice, described) != 0) {
            fprintf(stderr, "architecture does not describe itself back:\n%s\n%s\n%s\n", described,
                    twice ? twice : "(not built)", gf_error_message());
            abort();
        }
        free(twice);
        gf_net_free(again);
        free(described);
    }
    if (fuzz_net_within_budget(net) && gf_net_finalize(net, 0) == GF_OK) fuzz_net_run(net);
    gf_net_free(net);
    return 0;
}
