/* One model's training speed in graft: forward, softmax cross-entropy, backward and a
 * plain SGD update over the flat parameter buffer, on a fixed random batch; warm-up
 * steps first, then timed steps. Prints one line of key=value pairs, read by
 * scripts/bench/train_step (which also runs the same work in PyTorch).
 *
 *   bench_train_step resnet20|mobilenetv2 [batch 128] [warmup 2] [steps 10] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/error.h"
#include "core/memory.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "nn/loss.h"
#include "nn/models.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int step(gf_net *net, const float *input, const int32_t *labels, int batch,
                float *grad_logits, float *loss) {
    const float *logits;
    int classes = gf_net_output_size(net);
    if (gf_net_forward(net, input, batch, &logits) != GF_OK ||
        gf_cross_entropy(loss, grad_logits, logits, labels, batch, classes) != GF_OK ||
        gf_net_backward(net, grad_logits) != GF_OK)
        return GF_ERR;
    float *params = gf_net_params(net);
    const float *grads = gf_net_grads(net);
    size_t n = gf_net_param_count(net);
    for (size_t i = 0; i < n; i++) params[i] -= 0.01f * grads[i];
    return GF_OK;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "resnet20") != 0 && strcmp(argv[1], "mobilenetv2") != 0)) {
        fprintf(stderr, "usage: %s resnet20|mobilenetv2 [batch] [warmup] [steps]\n", argv[0]);
        return 2;
    }
    int batch = argc > 2 ? atoi(argv[2]) : 128;
    int warmup = argc > 3 ? atoi(argv[3]) : 2;
    int steps = argc > 4 ? atoi(argv[4]) : 10;
    if (batch < 2 || warmup < 0 || steps < 1) {
        fprintf(stderr, "%s: need batch >= 2, warmup >= 0, steps >= 1\n", argv[0]);
        return 2;
    }
    gf_model_options options = {.classes = 10, .seed = 1};
    gf_net *net = strcmp(argv[1], "resnet20") == 0 ? gf_model_resnet_cifar(20, &options)
                                                   : gf_model_mobilenetv2_cifar(&options);
    if (!net) {
        fprintf(stderr, "%s: %s\n", argv[0], gf_error_message());
        return 1;
    }
    size_t in_floats = (size_t)batch * 3 * 32 * 32;
    float *input = gf_alloc(in_floats * sizeof(float), "benchmark input");
    float *grad_logits = gf_alloc((size_t)batch * 10 * sizeof(float), "benchmark gradient");
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    gf_rng rng;
    gf_rng_seed(&rng, 7, 1);
    gf_rng_fill_normal(&rng, input, in_floats, 0.0f, 1.0f);
    for (int b = 0; b < batch; b++) labels[b] = (int32_t)gf_rng_below(&rng, 10);

    float loss = 0.0f;
    int status = 0;
    for (int i = 0; i < warmup && status == 0; i++)
        status = step(net, input, labels, batch, grad_logits, &loss) == GF_OK ? 0 : 1;
    double start = now_seconds();
    for (int i = 0; i < steps && status == 0; i++)
        status = step(net, input, labels, batch, grad_logits, &loss) == GF_OK ? 0 : 1;
    double seconds = now_seconds() - start;
    if (status != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], gf_error_message());
    } else {
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        printf(
            "model=%s batch=%d steps=%d threads=%d images_per_s=%.1f step_ms=%.1f "
            "max_rss_mb=%.1f arena_mb=%.1f params=%zu loss=%.4f\n",
            argv[1], batch, steps, gf_parallel_threads(), batch * steps / seconds,
            1e3 * seconds / steps, usage.ru_maxrss / 1024.0, gf_net_arena_bytes(net) / 1048576.0,
            gf_net_param_count(net), loss);
    }
    gf_free(input);
    gf_free(grad_logits);
    free(labels);
    gf_net_free(net);
    return status;
}
