// Claiming an output trace before writing it (probe-record, probe-merge), issue 16.
// Guarantees:
// - --force replaces only a regular file: a symlink, directory, device, FIFO or socket at the output
//   path is refused (as root, `-o /dev/null --force` would otherwise delete /dev/null), checked with
//   lstat, so a symlink is never followed either.
// - Two commands cannot write one output at once: the writer holds OUT.lock, created exclusively
//   (O_EXCL) with its pid, for as long as it writes; a second one is refused naming the holder.
//   A lock whose pid is no longer running (a writer killed with SIGKILL) is stale and taken over.
//   The lock is removed when the claim is released and when the process exits.
// Why a lock and not "write a temporary file and rename it at the end": a recording killed at any
// moment must leave its output with every committed batch and the run marked 'incomplete' (the
// README's crash-safety promise, test/e2e/crash.test.ts), and readers may watch the file grow; a
// temporary file would leave nothing at the output path until the very end.
// Limit: two writers that find the same stale lock at the same instant can both take it over.

import fs from 'node:fs';
import { reason } from '../trace/db.js';
import { CliError } from './common.js';

export interface OutputClaim {
  /** Removes the lock (idempotent). */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holder(lock: string): number | null {
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Checks `out` may be written (absent, or a regular file and `force`) and takes its lock; `name` is
 * how the user wrote it (for messages). Throws a one-line CliError otherwise.
 */
export function claimOutput(out: string, name: string, force: boolean): OutputClaim {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(out);
  } catch {
    st = undefined;
  }
  if (st && !force) throw new CliError(`${name} exists; use --force to overwrite`);
  if (st && !st.isFile())
    throw new CliError(
      `${name} is not a regular file (${st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : 'a device, FIFO or socket'}); --force replaces only regular files`,
    );
  const lock = `${out}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx', 0o644);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // The lock goes where the output goes: a directory that cannot take one cannot take the output.
      if (code !== 'EEXIST') throw new CliError(`cannot create ${name}: ${reason(e)} (its lock ${lock})`);
      const pid = holder(lock);
      if (pid !== null && pid !== process.pid && alive(pid))
        throw new CliError(`${name} is being written by another process (pid ${pid}, lock ${lock})`);
      if (attempt > 0) throw new CliError(`${name} is being claimed by another process (lock ${lock})`);
      // Stale: its writer is gone (or the file is not a lock we wrote). Take it over once.
      try {
        fs.unlinkSync(lock);
      } catch {
        // someone else removed it: try again
      }
    }
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    if (holder(lock) === process.pid)
      try {
        fs.unlinkSync(lock);
      } catch {
        // already gone
      }
  };
  process.on('exit', release);
  return { release };
}
