/* Plain-C vector code for the layer kernels that are not matrix products: `vec` holds
 * GF_VL floats (GCC vector extensions), and a function marked GF_VECTOR_CLONES is
 * compiled for AVX-512, AVX2 and baseline x86-64, one picked at run time, so that its
 * vec arithmetic uses the widest registers the CPU has (the project builds for
 * baseline x86-64). Internal to src/nn. */
#ifndef GRAFT_NN_VECTOR_CLONES_H
#define GRAFT_NN_VECTOR_CLONES_H

#include <string.h>

enum { GF_VL = 16 };

typedef float gf_vec __attribute__((vector_size(4 * GF_VL)));
/* lane masks: all bits set or none, for (gf_vec)((gf_ivec)v & mask) */
typedef int gf_ivec __attribute__((vector_size(4 * GF_VL)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GF_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GF_VECTOR_CLONES
#endif

/* macros rather than functions: a vector passed by value between a cloned function
 * and one compiled for baseline would change the calling convention */
#define GF_VEC_LOAD(v, p) memcpy(&(v), (p), sizeof(gf_vec))
#define GF_VEC_STORE(p, value)                  \
    do {                                        \
        const gf_vec stored_ = (value);         \
        memcpy((p), &stored_, sizeof stored_);  \
    } while (0)

/* Float lanes summed in double without leaving vectors: GF_VEC_ADD_WIDENED adds v's 16
 * lanes, widened, into 8 double lanes (lane l and l + 8 into one), and gf_dvec_sum adds
 * those in a tree. A plane's sums then cost a few vector operations at its end rather
 * than a chain of sixteen scalar conversions and additions, which on planes of 16 to
 * 256 floats took longer than the loads. */
typedef double gf_dvec __attribute__((vector_size(4 * GF_VL)));
typedef float gf_half_vec __attribute__((vector_size(2 * GF_VL)));
#define GF_VEC_ADD_WIDENED(acc, v)                                                         \
    do {                                                                                  \
        gf_half_vec low_, high_;                                                          \
        memcpy(&low_, &(v), sizeof low_);                                                 \
        memcpy(&high_, (const char *)&(v) + sizeof low_, sizeof high_);                   \
        (acc) += __builtin_convertvector(low_, gf_dvec) +                                 \
                 __builtin_convertvector(high_, gf_dvec);                                 \
    } while (0)
#define GF_DVEC_SUM(acc)                                                                  \
    __extension__({                                                                       \
        double d_[GF_VL / 2];                                                             \
        memcpy(d_, &(acc), sizeof d_);                                                    \
        ((d_[0] + d_[4]) + (d_[2] + d_[6])) + ((d_[1] + d_[5]) + (d_[3] + d_[7]));        \
    })

#endif
