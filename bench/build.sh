#!/bin/sh
# Builds the benchmark guests (freestanding i386) into bench/.build.
set -e
cd "$(dirname "$0")"
mkdir -p .build
for g in intloop calls memory yield kernels bytecode parser; do
  gcc -m32 -nostdlib -static -O2 -fno-pic -fno-stack-protector -fno-builtin -fcf-protection=none \
    -fno-asynchronous-unwind-tables -o ".build/$g" "guests/$g.c"
done
gcc -m32 -nostdlib -static -O2 -fno-pic -fno-stack-protector -fno-builtin -fcf-protection=none \
  -fno-asynchronous-unwind-tables -DN=32 -o .build/calls32 guests/calls.c
