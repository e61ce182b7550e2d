#!/bin/sh
# Fetches Lua's source from Debian (bookworm's lua5.4 source package, through apt with a temporary
# deb-src list: nothing is added to the system's apt configuration) and builds a static i386 `lua`
# into bench/.build/lua. Bench time only: tests and CI never run this. Prints one line and exits 0 when
# the network or apt is not available, so `npm run bench` goes on without the Lua figures.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out="$here/.build/lua"
[ -x "$out" ] && exit 0
work=$(mktemp -d /tmp/probelab-lua.XXXXXX)
trap 'rm -rf "$work"' EXIT
# deb-src lines for the mirrors and suites this system's apt already uses (one-line and deb822 forms).
{
  sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) \([^ ]*\) .*/deb-src \2 \3 main/p' /etc/apt/sources.list 2>/dev/null || true
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '/^URIs:/ { u = $2 } /^Suites:/ { s = $2 } /^$/ { if (u && s) print "deb-src " u " " s " main"; u = s = "" }
      END { if (u && s) print "deb-src " u " " s " main" }' "$f"
  done
} | sort -u >"$work/src.list"
mkdir -p "$work/lists/partial"
apt_opts="-o Dir::Etc::SourceList=$work/src.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$work/lists -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
if ! (cd "$work" && apt-get -qq $apt_opts update >/dev/null 2>&1 &&
  apt-get -qq $apt_opts source --download-only lua5.4 >/dev/null 2>&1); then
  echo 'lua: source not available (apt-get source lua5.4 failed: no network?); skipped'
  exit 0
fi
tar xzf "$work"/lua5.4_*.orig.tar.gz -C "$work"
src=$(echo "$work"/lua-5.4*/src)
# The plain upstream build (Debian's patches only add its shared-library packaging), static, -O2,
# x87 floating point (no SSE: the emulator's default CPU model is a pentium2).
make -s -C "$src" CC='gcc -m32 -std=gnu99' MYCFLAGS='-O2 -march=i686' MYLDFLAGS='-static' \
  SYSCFLAGS='-DLUA_USE_POSIX' SYSLIBS='-lm' lua >/dev/null 2>&1
mkdir -p "$here/.build"
cp "$src/lua" "$out"
echo "lua: built $out"
