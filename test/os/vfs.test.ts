// The overlay file system on its own (no guest): host files read through a HostFiles window, every
// change kept in memory. The oracle for the host side is the host file system itself (it must be
// byte-for-byte unchanged after everything the guest did); the Linux rules checked here (ENOTEMPTY,
// EXDEV-free rename, nlink counts, ELOOP after 40 links, '..' from the directory reached) are the
// ones path_resolution(7), rename(2), link(2) and rmdir(2) state. The same rules are checked against
// qemu-i386 running real guest programs in vfs-guest.test.ts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostFiles } from '../../src/emulator/hostfiles.js';
import { VfsFile } from '../../src/emulator/os/vfs-file.js';
import { keepFiles, KeepFilesError } from '../../src/emulator/os/vfs-keep.js';
import { Vfs, type Node } from '../../src/emulator/os/vfs.js';
import {
  EACCES,
  EEXIST,
  EISDIR,
  ELOOP,
  ENOENT,
  ENOTDIR,
  ENOTEMPTY,
  O_RDWR,
  S_IFREG,
} from '../../src/emulator/os/vfs-errno.js';

let root: string;
let allowed: string;
let outside: string;

function snapshotHost(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d).sort()) {
      const p = path.join(d, e);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out.push(`${p} -> ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${p}/ ${st.mode.toString(8)}`);
        walk(p);
      } else out.push(`${p} ${st.mode.toString(8)} ${fs.readFileSync(p).toString('hex')} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'probelab-vfs-')));
  allowed = path.join(root, 'allowed');
  outside = path.join(root, 'outside');
  fs.mkdirSync(path.join(allowed, 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(allowed, 'a.txt'), 'host a\n');
  fs.writeFileSync(path.join(allowed, 'sub', 'b.txt'), 'host b\n');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  fs.symlinkSync(outside, path.join(allowed, 'outlink'));
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let clock = 0;
function makeVfs(): Vfs {
  const v = new Vfs({
    files: new HostFiles([allowed], allowed),
    clockNs: () => (clock += 1000),
    epochSec: 1e9,
  });
  v.ensureDir(allowed);
  v.ensureDir('/tmp', 0o1777, true);
  return v;
}

const dec = (b: Uint8Array | number) => (typeof b === 'number' ? b : Buffer.from(b).toString());
function node(v: Vfs, p: string, follow = true): Node {
  const n = v.lookup(v.root, p, follow);
  if (typeof n === 'number') throw new Error(`lookup ${p}: ${n}`);
  return n;
}
function create(v: Vfs, p: string, text: string): Node {
  const par = v.lookupParent(v.root, p);
  if (typeof par === 'number') throw new Error(`parent of ${p}: ${par}`);
  const n = v.create(par.dir, par.name, S_IFREG | 0o644);
  if (typeof n === 'number') throw new Error(`create ${p}: ${n}`);
  new VfsFile(v, n, O_RDWR, p).write(null, new TextEncoder().encode(text));
  return n;
}
function parent(v: Vfs, p: string) {
  const r = v.lookupParent(v.root, p);
  if (typeof r === 'number') throw new Error(`parent of ${p}: ${r}`);
  return r;
}

describe('overlay file system', () => {
  it('reads host files and keeps every change in memory; the host is unchanged', () => {
    const before = snapshotHost(root);
    const v = makeVfs();
    expect(dec(new VfsFile(v, node(v, `${allowed}/a.txt`), 0, '').read(null, 100))).toBe('host a\n');
    // Overwrite a host file, create, mkdir, rename, unlink, symlink, chmod.
    const f = new VfsFile(v, node(v, `${allowed}/a.txt`), O_RDWR, '');
    expect(f.write(null, new TextEncoder().encode('guest'))).toBe(5);
    expect(dec(new VfsFile(v, node(v, `${allowed}/a.txt`), 0, '').read(null, 100))).toBe('guesta\n');
    create(v, `${allowed}/new.txt`, 'fresh');
    const p = parent(v, `${allowed}/dir`);
    expect(typeof v.mkdir(p.dir, p.name, 0o755)).toBe('object');
    const s = parent(v, `${allowed}/sub/b.txt`);
    const d = parent(v, `${allowed}/dir/b2.txt`);
    expect(v.rename(s.dir, s.name, d.dir, d.name, 0)).toBe(0);
    expect(v.lookup(v.root, `${allowed}/sub/b.txt`, true)).toBe(-ENOENT);
    expect(dec(new VfsFile(v, node(v, `${allowed}/dir/b2.txt`), 0, '').read(null, 100))).toBe('host b\n');
    const u = parent(v, `${allowed}/a.txt`);
    expect(v.remove(u.dir, u.name, false)).toBe(0);
    expect(v.lookup(v.root, `${allowed}/a.txt`, true)).toBe(-ENOENT);
    expect(v.list(node(v, allowed))).toEqual(['outlink', 'sub', 'new.txt', 'dir']);
    const l = parent(v, `${allowed}/lnk`);
    expect(typeof v.symlink(l.dir, l.name, 'dir/b2.txt')).toBe('object');
    expect(dec(new VfsFile(v, node(v, `${allowed}/lnk`), 0, '').read(null, 100))).toBe('host b\n');
    expect(v.chmod(node(v, `${allowed}/new.txt`), 0o600)).toBe(0);
    create(v, '/tmp/t.txt', 'tmp');
    expect(snapshotHost(root)).toEqual(before);
  });

  it('refuses to write outside the allowed directories, through .. and symlinks alike', () => {
    const before = snapshotHost(root);
    const v = makeVfs();
    // The host-side escape through the allowed directory's own symlink.
    const tryCreate = (p: string) => {
      const par = v.lookupParent(v.root, p);
      if (typeof par === 'number') return par;
      const n = v.create(par.dir, par.name, S_IFREG | 0o644);
      return typeof n === 'number' ? n : 'created';
    };
    expect(tryCreate(`${allowed}/outlink/new.txt`)).toBe(-EACCES);
    expect(tryCreate(`${allowed}/../outside/x`)).toBe(-EACCES);
    expect(tryCreate(`${allowed}/../y`)).toBe(-EACCES);
    // An overlay symlink pointing outside: following it for create is refused.
    const l = parent(v, `${allowed}/esc`);
    v.symlink(l.dir, l.name, outside);
    expect(tryCreate(`${allowed}/esc/x`)).toBe(-EACCES);
    expect(v.lookup(v.root, `${allowed}/esc/secret.txt`, true)).toBe(-EACCES);
    // Ancestors of the allowed directory can be walked through but not written.
    const anc = parent(v, `${root}/x`);
    expect(v.create(anc.dir, anc.name, S_IFREG | 0o644)).toBe(-EACCES);
    expect(v.lookup(v.root, `${outside}/secret.txt`, true)).toBe(-EACCES);
    expect(v.lookup(v.root, '/etc/passwd', true)).toBe(-EACCES);
    expect(snapshotHost(root)).toEqual(before);
  });

  it('follows Linux rules for links, directories and loops', () => {
    const v = makeVfs();
    const f = create(v, '/tmp/f', 'x');
    const h = parent(v, '/tmp/h');
    expect(v.hardlink(f, h.dir, h.name)).toBe(0);
    expect(f.nlink).toBe(2);
    expect(v.hardlink(f, h.dir, h.name)).toBe(-EEXIST);
    const sd = parent(v, '/tmp/d');
    v.mkdir(sd.dir, sd.name, 0o755);
    create(v, '/tmp/d/in', '');
    expect(v.remove(sd.dir, sd.name, true)).toBe(-ENOTEMPTY);
    expect(v.remove(sd.dir, sd.name, false)).toBe(-EISDIR);
    // '..' is taken from the directory reached through a symlink, not lexically.
    const ls = parent(v, '/tmp/ld');
    v.symlink(ls.dir, ls.name, '/tmp/d');
    expect(node(v, '/tmp/ld/../f')).toBe(f);
    expect(v.lookup(v.root, '/tmp/f/x', true)).toBe(-ENOTDIR);
    expect(v.lookup(v.root, '/tmp/f/', true)).toBe(-ENOTDIR);
    const lp = parent(v, '/tmp/loop');
    v.symlink(lp.dir, lp.name, 'loop');
    expect(v.lookup(v.root, '/tmp/loop', true)).toBe(-ELOOP);
    // A directory cannot be moved below itself; an empty directory may replace another.
    const inner = parent(v, '/tmp/d/in2');
    expect(v.rename(sd.dir, sd.name, inner.dir, inner.name, 0)).not.toBe(0);
    // Unlinked but open: the description keeps the data.
    const g = create(v, '/tmp/g', 'kept');
    const open = new VfsFile(v, g, 0, '/tmp/g');
    const gp = parent(v, '/tmp/g');
    expect(v.remove(gp.dir, gp.name, false)).toBe(0);
    expect(dec(open.read(null, 10))).toBe('kept');
  });

  it('is deterministic: the same operations give the same inodes and times', () => {
    const run = () => {
      clock = 0;
      const v = makeVfs();
      const a = create(v, '/tmp/one', '1');
      const b = create(v, `${allowed}/two`, '2');
      const c = node(v, `${allowed}/sub/b.txt`);
      return [a, b, c].map((n) => [n.ino, n.mtimeS, n.mtimeN, n.ctimeN]);
    };
    expect(run()).toEqual(run());
  });

  it('--keep-files copies exactly what the guest wrote, below DIR only', () => {
    const before = snapshotHost(root);
    const v = makeVfs();
    create(v, '/tmp/made.txt', 'made');
    const d = parent(v, '/tmp/sub');
    v.mkdir(d.dir, d.name, 0o750);
    create(v, '/tmp/sub/deep.txt', 'deep');
    new VfsFile(v, node(v, `${allowed}/a.txt`), O_RDWR, '').write(null, new TextEncoder().encode('HOST'));
    node(v, `${allowed}/sub/b.txt`); // only read: not kept
    const l = parent(v, '/tmp/ln');
    v.symlink(l.dir, l.name, '/etc/passwd');
    const out = path.join(root, 'kept');
    const r = keepFiles(v, out);
    expect(r).toEqual({ files: 3, dirs: 1, symlinks: 1, bytes: 4 + 4 + 7 });
    expect(fs.readFileSync(path.join(out, 'tmp/made.txt'), 'utf8')).toBe('made');
    expect(fs.readFileSync(path.join(out, 'tmp/sub/deep.txt'), 'utf8')).toBe('deep');
    expect(fs.readFileSync(path.join(out, allowed, 'a.txt'), 'utf8')).toBe('HOST a\n');
    expect(fs.existsSync(path.join(out, allowed, 'sub/b.txt'))).toBe(false);
    expect(fs.readlinkSync(path.join(out, 'tmp/ln'))).toBe('/etc/passwd');
    // Everything outside DIR is as it was.
    fs.rmSync(out, { recursive: true });
    expect(snapshotHost(root)).toEqual(before);
    // A symlink planted inside DIR is not written through.
    fs.mkdirSync(out);
    fs.symlinkSync(outside, path.join(out, 'tmp'));
    expect(() => keepFiles(v, out)).toThrow(KeepFilesError);
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
    fs.rmSync(out, { recursive: true });
  });

  it('#12 host symlinks are symlinks to the guest (lstat, readlink), followed inside, refused outside', () => {
    fs.symlinkSync('sub/b.txt', path.join(allowed, 'blink'));
    try {
      const v = makeVfs();
      const l = node(v, `${allowed}/blink`, false);
      expect(l.isLink()).toBe(true);
      expect(l.target).toBe('sub/b.txt');
      expect(l.size).toBe('sub/b.txt'.length);
      expect(dec(new VfsFile(v, node(v, `${allowed}/blink`), 0, '').read(null, 100))).toBe('host b\n');
      expect(node(v, `${allowed}/outlink`, false).target).toBe(outside);
      expect(v.lookup(v.root, `${allowed}/outlink/secret.txt`, true)).toBe(-EACCES);
    } finally {
      fs.unlinkSync(path.join(allowed, 'blink'));
    }
  });

  it('#12 the refused-path note names what the guest was refused, never /tmp or a walked-through step', () => {
    const refused: string[] = [];
    const v = new Vfs({
      files: new HostFiles([allowed], allowed),
      clockNs: () => 0,
      epochSec: 0,
      onRefused: (p) => refused.push(p),
    });
    v.ensureDir('/tmp', 0o1777, true);
    expect(v.lookup(v.root, '/tmp/nothing-here', true)).toBe(-ENOENT);
    expect(v.lookup(v.root, `${outside}/secret.txt`, true)).toBe(-EACCES);
    expect(v.lookup(v.root, `${allowed}/outlink/secret.txt`, true)).toBe(-EACCES);
    expect(v.lookup(v.root, `${allowed}/a.txt`, true)).not.toBeTypeOf('number');
    expect(refused).toEqual([`${outside}/secret.txt`, `${outside}/secret.txt`]);
  });

  it('#16 contents are read once per identity and only when needed; every answer is logged', () => {
    fs.linkSync(path.join(allowed, 'a.txt'), path.join(allowed, 'a-hard.txt'));
    try {
      const log: Array<{ key: Record<string, unknown>; bytes: number }> = [];
      const v = new Vfs({
        files: new HostFiles([allowed], allowed),
        clockNs: () => 0,
        epochSec: 0,
        log: (kind, key, data) => {
          expect(kind).toBe('file');
          log.push({ key: JSON.parse(key) as Record<string, unknown>, bytes: data.length });
        },
      });
      const a = node(v, `${allowed}/a.txt`);
      const h = node(v, `${allowed}/a-hard.txt`);
      // Looked up (stat) but not read.
      expect(a.pending && h.pending).toBe(true);
      expect(log.filter((r) => r.key.op === 'read')).toEqual([]);
      expect(v.content(a)).toBe(0);
      expect(v.content(h)).toBe(0);
      expect(h.data).toBe(a.data);
      const reads = log.filter((r) => r.key.op === 'read');
      expect(reads).toEqual([{ key: expect.objectContaining({ path: `${allowed}/a.txt` }), bytes: 7 }]);
      expect(log.filter((r) => r.key.op === 'lookup').map((r) => r.key.path)).toContain(
        `${allowed}/a-hard.txt`,
      );
    } finally {
      fs.unlinkSync(path.join(allowed, 'a-hard.txt'));
    }
  });
});
