// HostFiles sandbox: read-only access inside allowed directories, nothing outside, whatever
// symlinks or '..' the guest tries; Linux errno numbers for failures. The guest's view is checked
// through the file system that uses it (os/vfs.ts follows symlinks itself, #12: host symlinks are
// shown as symlinks); HostFiles' own answers (lookup/list/read on physical paths) are checked
// against the host (lstat) and, for #16, while a native process swaps a directory and a symlink.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import {
  EACCES,
  EFBIG,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  HostFiles,
  normaliseGuestPath,
} from '../src/emulator/hostfiles.js';
import { Vfs } from '../src/emulator/os/vfs.js';
import { buildGuest, REPO_ROOT } from './helpers/gcc.js';

let root: string;
let allowed: string;
let outside: string;

beforeAll(() => {
  // Real path of the temp dir, so expectations do not depend on /tmp being a symlink.
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-hostfiles-')));
  allowed = path.join(root, 'allowed');
  outside = path.join(root, 'outside');
  fs.mkdirSync(path.join(allowed, 'sub', 'deeper'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(allowed, 'data.txt'), 'inside data\n');
  fs.writeFileSync(path.join(allowed, 'sub', 'b.bin'), Buffer.from([0, 1, 2, 255]));
  fs.writeFileSync(path.join(allowed, 'sub', 'a.txt'), '');
  fs.writeFileSync(path.join(allowed, 'sub', 'Z.txt'), 'z');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'top secret\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(allowed, 'leak'));
  fs.symlinkSync(outside, path.join(allowed, 'outdir'));
  fs.symlinkSync('../outside/secret.txt', path.join(allowed, 'relleak'));
  fs.symlinkSync(path.join(outside, 'nonexistent'), path.join(allowed, 'dangling-out'));
  fs.symlinkSync('data.txt', path.join(allowed, 'alias'));
  fs.symlinkSync('sub/../data.txt', path.join(allowed, 'alias2'));
  fs.symlinkSync('loop', path.join(allowed, 'loop'));
  fs.symlinkSync('../outside/../allowed/data.txt', path.join(allowed, 'roundtrip'));
  execFileSync('mkfifo', [path.join(allowed, 'fifo')]);
  fs.symlinkSync(allowed, path.join(root, 'allowed-link'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

type Seen = { kind: 'file'; text: string } | { kind: 'dir'; entries: string[] } | { kind: 'link' };

/** What the guest sees at `p` (relative to `cwd`) through a fresh file system over `hf`, or an errno. */
function guestOpen(hf: HostFiles, p: string, cwd = root): Seen | number {
  const v = new Vfs({ files: hf, clockNs: () => 0, epochSec: 0 });
  if (p === '') return ENOENT;
  if (Buffer.byteLength(p) >= 4096) return ENAMETOOLONG;
  const n = v.lookup(v.root, p.startsWith('/') ? p : `${cwd}/${p}`, true);
  if (typeof n === 'number') return -n;
  if (n.isDir()) return { kind: 'dir', entries: v.list(n) };
  const e = v.content(n);
  if (e < 0) return -e;
  return { kind: 'file', text: Buffer.from(n.data.subarray(0, n.size)).toString() };
}
const errno = (r: Seen | number) => (typeof r === 'number' ? r : `kind:${r.kind}`);
const text = (r: Seen | number) => (typeof r !== 'number' && r.kind === 'file' ? r.text : r);

describe('normaliseGuestPath', () => {
  it('resolves ., .., relative paths and slashes lexically', () => {
    expect(normaliseGuestPath('/home/u', 'a/b')).toBe('/home/u/a/b');
    expect(normaliseGuestPath('/home/u', './a/./b/')).toBe('/home/u/a/b');
    expect(normaliseGuestPath('/home/u', '../x')).toBe('/home/x');
    expect(normaliseGuestPath('/home/u', '/a//b/../../../..')).toBe('/');
    expect(normaliseGuestPath('/home/u', '..')).toBe('/home');
    expect(normaliseGuestPath('/', '.')).toBe('/');
    expect(normaliseGuestPath('/home/u', '/etc/./passwd')).toBe('/etc/passwd');
    expect(normaliseGuestPath('/home/u', '')).toBe('');
  });
});

describe('HostFiles', () => {
  it('lookup reports what lstat sees (mode, size, inode, mtime in ns); read returns the bytes', () => {
    const hf = new HostFiles([allowed], root);
    const p = path.join(allowed, 'data.txt');
    const st = fs.lstatSync(p, { bigint: true });
    const r = hf.lookup(p);
    expect(r).toMatchObject({
      kind: 'file',
      mode: Number(st.mode),
      size: Number(st.size),
      ino: Number(st.ino),
      mtimeSec: Number(st.mtimeNs / 1000000000n),
      mtimeNsec: Number(st.mtimeNs % 1000000000n),
    });
    const data = hf.read(p);
    expect(typeof data !== 'number' && Buffer.from(data.data).toString()).toBe('inside data\n');
    expect(typeof data !== 'number' && r.kind === 'file' && data.id === r.id).toBe(true);
    expect(text(guestOpen(hf, path.join(allowed, 'sub', 'b.bin')))).toBe(
      Buffer.from([0, 1, 2, 255]).toString(),
    );
    expect(text(guestOpen(hf, path.join(allowed, 'sub', 'a.txt')))).toBe('');
  });

  it('#16 identity: hard links share an id, other files and changed files do not', () => {
    const dir = path.join(root, 'ids');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'one'), 'same bytes');
    fs.writeFileSync(path.join(dir, 'two'), 'same bytes');
    fs.linkSync(path.join(dir, 'one'), path.join(dir, 'hard'));
    const hf = new HostFiles([dir], root);
    const id = (n: string) => {
      const r = hf.lookup(path.join(dir, n));
      return r.kind === 'file' ? r.id : r.kind;
    };
    expect(id('one')).toBe(id('hard'));
    expect(id('one')).not.toBe(id('two'));
    const before = id('one');
    fs.appendFileSync(path.join(dir, 'one'), '!');
    expect(id('one')).not.toBe(before);
  });

  it('lists directories sorted (byte order), including the allowed dir itself', () => {
    const hf = new HostFiles([allowed], root);
    expect(hf.list(path.join(allowed, 'sub'))).toEqual(['Z.txt', 'a.txt', 'b.bin', 'deeper']);
    const top = hf.lookup(allowed);
    expect(top.kind === 'dir' && (top.mode & 0o170000) === 0o040000).toBe(true);
    expect(guestOpen(hf, path.join(allowed, 'sub'))).toEqual({
      kind: 'dir',
      entries: ['Z.txt', 'a.txt', 'b.bin', 'deeper'],
    });
  });

  it('#12 symlinks are shown as links and never followed by HostFiles itself', () => {
    const hf = new HostFiles([allowed], root);
    expect(hf.lookup(path.join(allowed, 'alias'))).toMatchObject({ kind: 'link', target: 'data.txt' });
    expect(hf.lookup(path.join(allowed, 'leak'))).toMatchObject({
      kind: 'link',
      target: path.join(outside, 'secret.txt'),
    });
    // A physical path through a symlink is not resolved: the caller follows links itself.
    expect(hf.lookup(path.join(allowed, 'outdir', 'secret.txt'))).toEqual({ kind: 'error', errno: ENOTDIR });
    expect(hf.read(path.join(allowed, 'leak'))).toBe(EACCES);
    expect(hf.read(path.join(allowed, 'outdir', 'secret.txt'))).toBe(ENOTDIR);
    expect(hf.list(path.join(allowed, 'outdir'))).toBe(ENOTDIR);
    expect(hf.list(outside)).toBe(EACCES);
    expect(hf.read(path.join(outside, 'secret.txt'))).toBe(EACCES);
  });

  it('follows symlinks that stay inside', () => {
    const hf = new HostFiles([allowed], root);
    for (const name of ['alias', 'alias2']) {
      expect(text(guestOpen(hf, path.join(allowed, name)))).toBe('inside data\n');
    }
  });

  it('refuses symlinks that escape, with EACCES, whether or not the target exists', () => {
    const hf = new HostFiles([allowed], root);
    expect(errno(guestOpen(hf, path.join(allowed, 'leak')))).toBe(EACCES);
    expect(errno(guestOpen(hf, path.join(allowed, 'relleak')))).toBe(EACCES);
    expect(errno(guestOpen(hf, path.join(allowed, 'outdir')))).toBe(EACCES);
    expect(errno(guestOpen(hf, path.join(allowed, 'outdir', 'secret.txt')))).toBe(EACCES);
    expect(errno(guestOpen(hf, path.join(allowed, 'outdir', 'nonexistent')))).toBe(EACCES);
    expect(errno(guestOpen(hf, path.join(allowed, 'dangling-out')))).toBe(EACCES);
    // A walk may pass through an outside name on its way back in (as Linux resolves it), learning
    // nothing: an outside name is walked through whether or not it exists.
    expect(text(guestOpen(hf, path.join(allowed, 'roundtrip')))).toBe('inside data\n');
    expect(text(guestOpen(hf, `${root}/no-such-dir/../allowed/data.txt`))).toBe('inside data\n');
  });

  it("refuses '..' escapes and directories that are not allowed", () => {
    const hf = new HostFiles([allowed], root);
    expect(errno(guestOpen(hf, `${allowed}/../outside/secret.txt`))).toBe(EACCES);
    expect(errno(guestOpen(hf, `${allowed}/sub/../../outside/secret.txt`))).toBe(EACCES);
    expect(errno(guestOpen(hf, '../outside/secret.txt'))).toBe(EACCES); // relative to cwd = root
    expect(errno(guestOpen(hf, path.join(outside, 'secret.txt')))).toBe(EACCES);
    expect(errno(guestOpen(hf, path.join(outside, 'missing')))).toBe(EACCES);
    expect(errno(guestOpen(hf, outside))).toBe(EACCES);
    expect(errno(guestOpen(hf, root))).toBe(EACCES);
    expect(errno(guestOpen(hf, '/etc/passwd'))).toBe(EACCES);
    // The root is walked through, never listed.
    expect(guestOpen(hf, '/')).toEqual({ kind: 'dir', entries: [] });
    // A sibling whose name merely starts with the allowed dir's name is not inside it.
    expect(errno(guestOpen(hf, `${allowed}-evil/x`))).toBe(EACCES);
    // '..' that stays inside is fine.
    expect(errno(guestOpen(hf, `${allowed}/sub/../data.txt`))).toBe('kind:file');
  });

  it('Linux errnos: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, and no FIFOs', () => {
    const hf = new HostFiles([allowed], root);
    expect(errno(guestOpen(hf, path.join(allowed, 'nope')))).toBe(ENOENT);
    expect(errno(guestOpen(hf, path.join(allowed, 'nope', 'deeper')))).toBe(ENOENT);
    expect(errno(guestOpen(hf, path.join(allowed, 'data.txt', 'x')))).toBe(ENOTDIR);
    expect(errno(guestOpen(hf, path.join(allowed, 'loop')))).toBe(40);
    expect(errno(guestOpen(hf, path.join(allowed, 'x'.repeat(5000))))).toBe(ENAMETOOLONG);
    expect(errno(guestOpen(hf, path.join(allowed, 'fifo')))).toBe(EACCES);
    expect(errno(guestOpen(hf, ''))).toBe(ENOENT);
  });

  it('relative guest paths resolve against cwd; allowed dirs may be given relative or as symlinks', () => {
    const hf = new HostFiles(['allowed'], root);
    expect(errno(guestOpen(hf, 'allowed/data.txt'))).toBe('kind:file');
    expect(errno(guestOpen(hf, './allowed/sub/../data.txt'))).toBe('kind:file');
    const viaLink = new HostFiles([path.join(root, 'allowed-link')], root);
    expect(errno(guestOpen(viaLink, path.join(root, 'allowed-link', 'data.txt')))).toBe('kind:file');
    expect(errno(guestOpen(viaLink, path.join(allowed, 'data.txt')))).toBe('kind:file');
    expect(errno(guestOpen(viaLink, path.join(root, 'allowed-link', 'leak')))).toBe(EACCES);
  });

  it('grants nothing without allowed dirs, and nothing for a missing allowed dir', () => {
    expect(errno(guestOpen(new HostFiles([], root), path.join(allowed, 'data.txt')))).toBe(EACCES);
    const hf = new HostFiles([path.join(root, 'missing')], root);
    expect(hf.realDirs).toEqual([]);
    expect(errno(guestOpen(hf, path.join(root, 'missing', 'x')))).toBe(EACCES);
  });

  it('refuses files over the size limit and never modifies the host', () => {
    const hf = new HostFiles([allowed], root, { maxFileBytes: 4 });
    expect(errno(guestOpen(hf, path.join(allowed, 'data.txt')))).toBe(EFBIG);
    expect(errno(guestOpen(hf, path.join(allowed, 'sub', 'b.bin')))).toBe('kind:file');
    expect(fs.readFileSync(path.join(allowed, 'data.txt'), 'utf8')).toBe('inside data\n');
  });

  it('#16 a directory swapped with a symlink to outside (RENAME_EXCHANGE) never leads a walk outside', async () => {
    const swapper = buildGuest(
      fs.readFileSync(path.join(REPO_ROOT, 'test', 'os', 'vfs-guests', 'swap.c'), 'utf8'),
      ['-m64', '-O2'],
      'vfs-swap',
    );
    const dir = path.join(root, 'race');
    const out = path.join(root, 'race-out');
    fs.mkdirSync(path.join(dir, 'd'), { recursive: true });
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(dir, 'd', 'f'), 'in');
    fs.writeFileSync(path.join(out, 'f'), 'OUT-SECRET');
    fs.symlinkSync(out, path.join(dir, 'x'));
    const hf = new HostFiles([dir], root);
    const child = spawn(swapper, [path.join(dir, 'd'), path.join(dir, 'x')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
        child.on('exit', () => reject(new Error('the swapper exited before it was ready')));
      });
      const seen = { in: 0, refused: 0, naiveOut: 0 };
      for (let i = 0; i < 1000; i++) {
        const r = hf.read(path.join(dir, 'd', 'f'));
        const got = typeof r === 'number' ? '' : Buffer.from(r.data).toString();
        expect(got === '' || got === 'in', `HostFiles read ${got}`).toBe(true);
        if (got === 'in') seen.in++;
        else seen.refused++;
        const e = hf.lookup(path.join(dir, 'd', 'f'));
        expect(e.kind === 'file' ? e.size : 2, 'an outside file was looked up').toBe(2);
        // The control: a plain open of the same path does follow the swapped-in symlink.
        try {
          if (fs.readFileSync(path.join(dir, 'd', 'f'), 'utf8') !== 'in') seen.naiveOut++;
        } catch {
          // Mid-swap.
        }
      }
      expect(seen.naiveOut, 'the race was live (a plain open read outside)').toBeGreaterThan(0);
      expect(seen.in).toBeGreaterThan(0);
      expect(seen.refused).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
