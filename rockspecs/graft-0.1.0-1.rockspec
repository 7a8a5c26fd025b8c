-- graft as a LuaRocks package: `luarocks make rockspecs/graft-0.1.0-1.rockspec` in the
-- source tree (add --lua-version 5.4 --tree DIR as needed) builds it with meson (C
-- core, the C module graft.core, the graft program) and installs the Lua files and
-- graft.core where the tree's Lua finds them (`luarocks path`), the graft program in
-- the tree's bin/, and the C headers, libgraft and graft.pc inside the rock's own
-- folder (include/, clib/). Needs meson, ninja, a C compiler and the Debian packages
-- of scripts/lib/setup.sh (liblua5.4-dev, libopenblas-dev, zlib1g-dev, ...).
rockspec_format = "3.0"
package = "graft"
version = "0.1.0-1"
source = {
  url = "git+file:///usr/src/graft",
  tag = "v0.1.0",
}
description = {
  summary = "Filter grafting for deep neural networks: a C11 core driven from Lua",
  detailed = [[
A workbench for filter grafting (Meng et al., CVPR 2020): tensors, networks,
training and grafting in C11, driven from Lua 5.4 (require "graft"), with the
graft program (prompt, scripts, graft train, notebooks, a Jupyter kernel).]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "argparse",
  "dkjson",
}
build = {
  type = "command",
  build_command = [[
rm -rf build/rock &&
meson setup build/rock --prefix="$(PREFIX)" --buildtype=release -Dlua_dir="$(LUADIR)" -Dlua_cmod_dir="$(LIBDIR)" --bindir="$(BINDIR)" --libdir="$(PREFIX)/clib" &&
ninja -C build/rock]],
  install_command = "meson install -C build/rock --no-rebuild",
}
