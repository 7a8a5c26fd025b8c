#include "data/augment.h"

#include "core/error.h"

int gf_augment_init(gf_augment *a, const gf_dataset *ds, int pad, bool flip) {
    if (pad < 0 || pad >= ds->height || pad >= ds->width)
        return gf_fail("augmentation: padding %d must be in [0, %d) for %dx%d images", pad,
                       ds->height < ds->width ? ds->height : ds->width, ds->height,
                       ds->width);
    a->pad = pad;
    a->flip = flip;
    for (int c = 0; c < ds->channels; c++) {
        if (!(ds->std[c] > 0))
            return gf_fail("augmentation: std of channel %d is %g (must be > 0)", c,
                           (double)ds->std[c]);
        for (int v = 0; v < 256; v++)
            a->table[c][v] = ((float)v / 255.0f - ds->mean[c]) / ds->std[c];
    }
    return GF_OK;
}

void gf_augment_image(const gf_augment *a, float *out, const uint8_t *image, int channels,
                      int height, int width, gf_rng *rng) {
    int dy = 0, dx = 0;
    if (a->pad > 0) {
        /* output pixel (y, x) shows padded pixel (y + row, x + col), i.e. source pixel
         * (y + row - pad, x + col - pad) */
        dy = (int)gf_rng_below(rng, (uint32_t)(2 * a->pad + 1)) - a->pad;
        dx = (int)gf_rng_below(rng, (uint32_t)(2 * a->pad + 1)) - a->pad;
    }
    bool flip = a->flip && gf_rng_uniform(rng) < 0.5f;
    for (int c = 0; c < channels; c++) {
        const float *table = a->table[c];
        const uint8_t *plane = image + (int64_t)c * height * width;
        float *dst = out + (int64_t)c * height * width;
        float zero = table[0];
        for (int y = 0; y < height; y++) {
            int sy = y + dy;
            float *row = dst + (int64_t)y * width;
            if (sy < 0 || sy >= height) {
                for (int x = 0; x < width; x++) row[x] = zero;
                continue;
            }
            const uint8_t *src = plane + (int64_t)sy * width;
            for (int x = 0; x < width; x++) {
                /* flipping the cropped image: column x shows crop column width-1-x */
                int cx = flip ? width - 1 - x : x;
                int sx = cx + dx;
                row[x] = sx < 0 || sx >= width ? zero : table[src[sx]];
            }
        }
    }
}
