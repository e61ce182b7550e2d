// Builds a guest of test/hostile-time-guests (static glibc, -O1, pthreads) once per content hash
// (test/helpers/gcc.ts caches it); returns the binary's path.

import fs from 'node:fs';
import path from 'node:path';
import { buildGuest, REPO_ROOT, STATIC } from '../helpers/gcc.js';

export function buildHostileGuest(name: string): string {
  const src = fs.readFileSync(path.join(REPO_ROOT, 'test', 'hostile-time-guests', `${name}.c`), 'utf8');
  return buildGuest(src, [...STATIC, '-O1'], `hostile-${name}`, { libs: ['-lpthread'] });
}
