#!/bin/sh
# Builds the benchmark guests (freestanding i386) into bench/.build.
set -e
cd "$(dirname "$0")"
mkdir -p .build
for g in intloop calls memory yield kernels bytecode parser nbody; do
  gcc -m32 -nostdlib -static -O2 -fno-pic -fno-stack-protector -fno-builtin -fcf-protection=none \
    -fno-asynchronous-unwind-tables -o ".build/$g" "guests/$g.c"
done
gcc -m32 -nostdlib -static -O2 -fno-pic -fno-stack-protector -fno-builtin -fcf-protection=none \
  -fno-asynchronous-unwind-tables -DN=32 -o .build/calls32 guests/calls.c
# SQLite (the amalgamation better-sqlite3 ships) on an in-memory database, static glibc; built once.
sq=../node_modules/better-sqlite3/deps/sqlite3
if [ ! -x .build/sqlite ] && [ -f "$sq/sqlite3.c" ]; then
  gcc -m32 -static -O2 -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -I"$sq" -o .build/sqlite \
    guests/sqlite.c "$sq/sqlite3.c" -lm
fi
