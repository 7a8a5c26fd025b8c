# Shared by the scripts in scripts/: install what is missing, then build.
# Sourced, not run. Every Debian package graft needs is listed here.

GRAFT_PACKAGES=(gcc meson ninja-build pkg-config liblua5.4-dev lua5.4 libreadline-dev
  libopenblas-dev zlib1g-dev dataset-fashion-mnist gnuplot-nox tmux python3-nbformat lua-argparse
  lua-dkjson clang libclang-rt-14-dev libzmq3-dev libssl-dev libjansson-dev python3-jupyter-client
  jupyter-nbconvert openmpi-bin libopenmpi-dev luarocks)

graft_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Installs the packages that are not installed yet (needs root, as on a fresh Debian 12).
graft_install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "graft: missing packages ${missing[*]}; run as root or install them with apt-get" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# graft_build DIR [meson options...]: configure once, then build.
graft_build() {
  local dir=$1; shift
  if [ ! -f "$graft_root/$dir/build.ninja" ]; then
    meson setup "$graft_root/$dir" "$graft_root" "$@" >/dev/null
  fi
  ninja -C "$graft_root/$dir" >/dev/null
}
