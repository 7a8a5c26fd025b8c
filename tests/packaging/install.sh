#!/usr/bin/env bash
# `meson install` for people who build on graft: into a temporary folder (--destdir),
# every header of the C core is there under include/graft/, with libgraft and graft.pc;
# a C program that includes <graft/io/checkpoint.h> and links with
# `pkg-config --libs graft` loads a network saved by graft (gf_net_load), runs a
# forward pass and gives the numbers graft's own forward gives.
#
#   install.sh BUILD_DIR SOURCE_DIR GRAFT_EXECUTABLE C_COMPILER...
set -euo pipefail
build=$1 source=$2 graft=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

meson install -C "$build" --destdir "$work/root" --no-rebuild --quiet >/dev/null
pc=$(find "$work/root" -name graft.pc)
[ -n "$pc" ] || fail "no graft.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
# the .pc names the real prefix; point a copy of it into the temporary root
mkdir "$work/pkgconfig"
sed "s|^prefix=.*|prefix=$work/root$prefix|" "$pc" > "$work/pkgconfig/graft.pc"
export PKG_CONFIG_PATH="$work/pkgconfig"
include="$work/root$prefix/include/graft"
for folder in core nn io train data graft; do
  for header in "$source/src/$folder"/*.h; do
    [ -f "$include/$folder/$(basename "$header")" ] || fail "$folder/$(basename "$header") is not installed"
  done
done
ls "$(pkg-config --variable=libdir graft)"/libgraft.* >/dev/null || fail "libgraft is not installed"

cat > "$work/forward.c" <<'C'
#include <stdio.h>
#include <stdlib.h>

#include <graft/core/error.h>
#include <graft/io/checkpoint.h>

/* forward.c NETWORK: the network's outputs for one image of 0.5s, one per line. */
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    gf_net *net = gf_net_load(argv[1]);
    if (net == NULL) {
        fprintf(stderr, "%s\n", gf_error_message());
        return 1;
    }
    gf_net_set_training(net, false);
    int channels, height, width;
    gf_net_input_shape(net, &channels, &height, &width);
    size_t size = (size_t)channels * height * width;
    float *image = malloc(size * sizeof *image);
    for (size_t i = 0; i < size; i++) image[i] = 0.5f;
    const float *output;
    if (gf_net_forward(net, image, 1, &output) != GF_OK) {
        fprintf(stderr, "%s\n", gf_error_message());
        return 1;
    }
    for (int i = 0; i < gf_net_output_size(net); i++) printf("%.6g\n", (double)output[i]);
    free(image);
    gf_net_free(net);
    return 0;
}
C
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
"$@" -std=c11 -o "$work/forward" "$work/forward.c" $(pkg-config --cflags --libs graft)

"$graft" -e "
  local net = graft.models.resnet{depth = 8, classes = 10, in_channels = 3, image_size = 16}
  net:initialise(7)
  net:save('$work/net.safetensors')
  net:eval()
  local y = net:forward(graft.ones{1, 3, 16, 16} * 0.5)
  for i = 1, 10 do print(string.format('%.6g', y[1][i])) end" > "$work/expected"
"$work/forward" "$work/net.safetensors" > "$work/got"
[ "$(wc -l < "$work/got")" -eq 10 ] || fail "the C program printed $(wc -l < "$work/got") outputs, not 10"
paste "$work/expected" "$work/got" | awk '
  { d = $1 - $2; if (d < 0) d = -d; if (d > 1e-4 * (1 + ($1 < 0 ? -$1 : $1))) { print "output " NR ": graft " $1 ", C " $2; bad = 1 } }
  END { exit bad }' || fail "the C program's forward differs from graft's"
echo "ok: installed headers, libgraft and graft.pc; a C program built with pkg-config gives graft's outputs"
