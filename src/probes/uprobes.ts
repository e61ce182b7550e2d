// `PATH:SYMBOL[+off]` and `PATH:0xOFFSET` probes (uprobe_events forms): the spec parser's view of
// another executable the run may exec. Guarantees: the file is read the way the guest's execve would
// read it (the machine's file system, relative paths from the first process's working directory), so
// a recording logs it as an input and its replay reads the same bytes; errors are the Linux names
// trace_uprobe.c reports for the path (FILE_NOT_FOUND, also for a path the guest may not read;
// NO_REGULAR_FILE) or BAD_UPROBE_EXEC (not executable, not ELF, not static i386, static-pie).

import { posix } from 'node:path';
import { ImageError } from './images.js';
import type { ProbeEngine } from './kprobes.js';
import type { ExecutableContext } from './spec.js';

export function openExecutable(
  engine: ProbeEngine,
  path: string,
): ExecutableContext | 'FILE_NOT_FOUND' | 'NO_REGULAR_FILE' | 'BAD_UPROBE_EXEC' {
  const m = engine.machine;
  const abs = posix.resolve(m.initProcess.cwd, path);
  const fs = m.kernel.fs;
  // What the guest cannot reach (missing, or outside the directories it may read) is not found.
  const node = fs.vfs.lookup(fs.vfs.root, abs, true);
  if (typeof node === 'number') return 'FILE_NOT_FOUND';
  fs.vfs.resolve(node);
  if (!node.isReg()) return 'NO_REGULAR_FILE';
  // A regular file the guest may not execute (no x bit) is no executable it could run.
  const bytes = fs.execBytes(abs);
  if (typeof bytes === 'number') return 'BAD_UPROBE_EXEC';
  let im;
  try {
    im = engine.addImage(abs, bytes);
  } catch (e) {
    if (e instanceof ImageError) return 'BAD_UPROBE_EXEC';
    throw e;
  }
  const image = im.id;
  return {
    image,
    lookupSymbol: (name) => im.symbols.lookup(name)?.addr,
    isInsnBoundary: (addr) => engine.instructionBoundary(addr, image).ok,
    isFunctionEntry: (addr) => im.symbols.symbolize(addr)?.offset === 0,
    addressOfOffset: (offset) => engine.addressOfOffset(image, offset),
  };
}
