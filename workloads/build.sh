#!/bin/sh
# Build the probelab guest workloads: static i386 ELF executables with no C
# library, from the C sources in this directory and the runtime in runtime/.
#
#   sh workloads/build.sh [OUTDIR]      (default OUTDIR: workloads/bin)
#
# The build is byte-reproducible: no build id, no .comment, no absolute
# paths, one fixed command per workload.  test/workloads.test.ts rebuilds
# every workload into a temporary directory with this script and checks that
# the bytes equal the committed workloads/bin/*.
set -eu

cd "$(dirname "$0")"
OUT=${1:-bin}
mkdir -p "$OUT"
CC=${CC:-gcc}

# The workloads, in the order of workloads.json.
WORKLOADS="hello spinlock percpu sleepy recursive server jprobe"

# Why each flag:
#   -m32 -march=i686 -mno-sse -mno-mmx   the emulated CPU is P6-class, no SSE
#   -O2 -fno-omit-frame-pointer          real code, push %ebp/mov %esp,%ebp frames
#   -fno-pic -fno-pie -no-pie -static    fixed load address, no dynamic linking
#   -ffreestanding -nostdinc -nostdlib   no C library and no system header at all
#   -fno-stack-protector                 no canary (it would need TLS at %gs:0x14)
#   -fcf-protection=none                 no endbr32 at function entries
#   -fno-asynchronous-unwind-tables      no .eh_frame
#   -fno-optimize-sibling-calls          every call stays a call (tail calls and
#                                        tail recursion would hide nesting from
#                                        return probes)
#   -fno-reorder-blocks-and-partition    no foo.cold fragments: one symbol, one body
#   -fno-tree-loop-distribute-patterns   loops never become memset/memcpy calls
#   -fno-stack-clash-protection          no stack probes (default on some distros)
#   -fno-ident -Wl,--build-id=none       no compiler banner, no build id
#   -ffile-prefix-map=$PWD=.             no absolute paths
#   -Wl,-z,noexecstack                   the usual GNU stack note
CFLAGS="-m32 -march=i686 -mtune=generic -mno-sse -mno-mmx -O2 -std=gnu11 -Wall -Wextra -Werror \
 -fno-omit-frame-pointer -fno-pic -fno-pie -fno-stack-protector -fcf-protection=none \
 -fno-asynchronous-unwind-tables -fno-optimize-sibling-calls -fno-reorder-blocks-and-partition \
 -fno-tree-loop-distribute-patterns -fno-stack-clash-protection -fno-ident \
 -ffreestanding -nostdinc"
LDFLAGS="-nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack"

for w in $WORKLOADS; do
  # shellcheck disable=SC2086
  $CC $CFLAGS "-ffile-prefix-map=$PWD=." -Iruntime -o "$OUT/$w" "$w.c" runtime/rt.c runtime/start.S $LDFLAGS
done
