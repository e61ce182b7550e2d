// --keep-files DIR: after a run, copies what the guest wrote (files and directories it created,
// changed or renamed, and its symlinks) from the overlay into DIR, each under its absolute guest
// path (the guest's /tmp/out.txt becomes DIR/tmp/out.txt). Guarantees: this is the only place
// where guest data reaches the host, and only below DIR: guest names never contain '/' or '..',
// and a path component below DIR that is a symlink (which the guest cannot have made: symlinks are
// written last) stops the copy with an error instead of being followed.

import fs from 'node:fs';
import path from 'node:path';
import type { Vfs } from './vfs.js';

export class KeepFilesError extends Error {}

export interface KeptFiles {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

/** Creates `dir` and its parents below `root`, refusing to pass through a symlink. */
function mkdirInside(root: string, rel: string[]): string {
  let cur = root;
  for (const c of rel) {
    cur = path.join(cur, c);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(cur);
    } catch {
      fs.mkdirSync(cur, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink() || !st.isDirectory())
      throw new KeepFilesError(`--keep-files: ${cur} exists and is not a directory; not writing through it`);
  }
  return cur;
}

export function keepFiles(vfs: Vfs, dir: string): KeptFiles {
  const root = path.resolve(dir);
  fs.mkdirSync(root, { recursive: true });
  const out: KeptFiles = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const links: Array<[string[], string]> = [];
  for (const { path: guestPath, node } of vfs.written()) {
    const parts = guestPath.split('/').filter((c) => c !== '');
    if (parts.some((c) => c === '.' || c === '..' || c.includes('\0'))) continue;
    if (node.isDir()) {
      mkdirInside(root, parts);
      out.dirs++;
    } else if (node.isLink()) links.push([parts, node.target]);
    else if (node.isReg()) {
      const bytes = vfs.keptBytes(node);
      if (!bytes) continue;
      const parent = mkdirInside(root, parts.slice(0, -1));
      const target = path.join(parent, parts[parts.length - 1]!);
      try {
        if (fs.lstatSync(target).isSymbolicLink() || fs.lstatSync(target).isDirectory())
          fs.rmSync(target, { recursive: true });
      } catch {
        // Not there yet.
      }
      // O_NOFOLLOW: even a symlink raced in meanwhile is not followed.
      const fd = fs.openSync(
        target,
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW,
        node.mode & 0o777,
      );
      try {
        fs.writeSync(fd, bytes);
        fs.fchmodSync(fd, node.mode & 0o777);
      } finally {
        fs.closeSync(fd);
      }
      out.files++;
      out.bytes += bytes.length;
    }
  }
  for (const [parts, target] of links) {
    const parent = mkdirInside(root, parts.slice(0, -1));
    const at = path.join(parent, parts[parts.length - 1]!);
    try {
      fs.rmSync(at, { force: true });
    } catch {
      // A directory of that name: leave it.
    }
    try {
      fs.symlinkSync(target, at);
      out.symlinks++;
    } catch {
      // Could not place it (a directory is there): skipped.
    }
  }
  return out;
}
