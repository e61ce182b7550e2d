// HostFiles sandbox: read-only access inside allowed directories, nothing outside, whatever
// symlinks or '..' the guest tries; Linux errno numbers for failures.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EACCES,
  EFBIG,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  HostFiles,
  normaliseGuestPath,
} from '../src/emulator/hostfiles.js';

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

const errno = (r: ReturnType<HostFiles['open']>) => (r.kind === 'error' ? r.errno : `kind:${r.kind}`);

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
  it('reads files whole with mode, mtime and inode', () => {
    const hf = new HostFiles([allowed], root);
    const r = hf.open(path.join(allowed, 'data.txt'));
    expect(r.kind).toBe('file');
    if (r.kind !== 'file') return;
    expect(Buffer.from(r.data).toString()).toBe('inside data\n');
    const st = fs.statSync(path.join(allowed, 'data.txt'));
    expect(r.mode).toBe(st.mode);
    expect(r.ino).toBe(st.ino);
    expect(r.mtimeSec).toBe(Math.floor(st.mtimeMs / 1000));
    const bin = hf.open(path.join(allowed, 'sub', 'b.bin'));
    expect(bin.kind === 'file' && [...bin.data]).toEqual([0, 1, 2, 255]);
    const empty = hf.open(path.join(allowed, 'sub', 'a.txt'));
    expect(empty.kind === 'file' && empty.data.length).toBe(0);
  });

  it('lists directories sorted (byte order), including the allowed dir itself', () => {
    const hf = new HostFiles([allowed], root);
    const r = hf.open(path.join(allowed, 'sub'));
    expect(r.kind === 'dir' && r.entries).toEqual(['Z.txt', 'a.txt', 'b.bin', 'deeper']);
    const top = hf.open(allowed);
    expect(top.kind).toBe('dir');
    expect(top.kind === 'dir' && (top.mode & 0o170000) === 0o040000).toBe(true);
  });

  it('follows symlinks that stay inside', () => {
    const hf = new HostFiles([allowed], root);
    for (const name of ['alias', 'alias2']) {
      const r = hf.open(path.join(allowed, name));
      expect(r.kind === 'file' && Buffer.from(r.data).toString()).toBe('inside data\n');
    }
  });

  it('refuses symlinks that escape, with EACCES, whether or not the target exists', () => {
    const hf = new HostFiles([allowed], root);
    expect(errno(hf.open(path.join(allowed, 'leak')))).toBe(EACCES);
    expect(errno(hf.open(path.join(allowed, 'relleak')))).toBe(EACCES);
    expect(errno(hf.open(path.join(allowed, 'outdir')))).toBe(EACCES);
    expect(errno(hf.open(path.join(allowed, 'outdir', 'secret.txt')))).toBe(EACCES);
    expect(errno(hf.open(path.join(allowed, 'outdir', 'nonexistent')))).toBe(EACCES);
    expect(errno(hf.open(path.join(allowed, 'dangling-out')))).toBe(EACCES);
    // The walk may not even pass through an outside directory on its way back in.
    expect(errno(hf.open(path.join(allowed, 'roundtrip')))).toBe(EACCES);
  });

  it("refuses '..' escapes and directories that are not allowed", () => {
    const hf = new HostFiles([allowed], root);
    expect(errno(hf.open(`${allowed}/../outside/secret.txt`))).toBe(EACCES);
    expect(errno(hf.open(`${allowed}/sub/../../outside/secret.txt`))).toBe(EACCES);
    expect(errno(hf.open('../outside/secret.txt'))).toBe(EACCES); // relative to cwd = root
    expect(errno(hf.open(path.join(outside, 'secret.txt')))).toBe(EACCES);
    expect(errno(hf.open(path.join(outside, 'missing')))).toBe(EACCES);
    expect(errno(hf.open(outside))).toBe(EACCES);
    expect(errno(hf.open(root))).toBe(EACCES);
    expect(errno(hf.open('/etc/passwd'))).toBe(EACCES);
    expect(errno(hf.open('/'))).toBe(EACCES);
    // A sibling whose name merely starts with the allowed dir's name is not inside it.
    expect(errno(hf.open(`${allowed}-evil/x`))).toBe(EACCES);
    // '..' that stays inside is fine.
    expect(hf.open(`${allowed}/sub/../data.txt`).kind).toBe('file');
  });

  it('Linux errnos: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, and no FIFOs', () => {
    const hf = new HostFiles([allowed], root);
    expect(errno(hf.open(path.join(allowed, 'nope')))).toBe(ENOENT);
    expect(errno(hf.open(path.join(allowed, 'nope', 'deeper')))).toBe(ENOENT);
    expect(errno(hf.open(path.join(allowed, 'data.txt', 'x')))).toBe(ENOTDIR);
    expect(errno(hf.open(path.join(allowed, 'loop')))).toBe(40);
    expect(errno(hf.open(path.join(allowed, 'x'.repeat(5000))))).toBe(ENAMETOOLONG);
    expect(errno(hf.open(path.join(allowed, 'fifo')))).toBe(EACCES);
    expect(errno(hf.open(''))).toBe(ENOENT);
  });

  it('relative guest paths resolve against cwd; allowed dirs may be given relative or as symlinks', () => {
    const hf = new HostFiles(['allowed'], root);
    expect(hf.open('allowed/data.txt').kind).toBe('file');
    expect(hf.open('./allowed/sub/../data.txt').kind).toBe('file');
    const viaLink = new HostFiles([path.join(root, 'allowed-link')], root);
    expect(viaLink.open(path.join(root, 'allowed-link', 'data.txt')).kind).toBe('file');
    expect(viaLink.open(path.join(allowed, 'data.txt')).kind).toBe('file');
    expect(errno(viaLink.open(path.join(root, 'allowed-link', 'leak')))).toBe(EACCES);
  });

  it('grants nothing without allowed dirs, and nothing for a missing allowed dir', () => {
    expect(errno(new HostFiles([], root).open(path.join(allowed, 'data.txt')))).toBe(EACCES);
    const hf = new HostFiles([path.join(root, 'missing')], root);
    expect(hf.realDirs).toEqual([]);
    expect(errno(hf.open(path.join(root, 'missing', 'x')))).toBe(EACCES);
  });

  it('refuses files over the size limit and never modifies the host', () => {
    const hf = new HostFiles([allowed], root, { maxFileBytes: 4 });
    expect(errno(hf.open(path.join(allowed, 'data.txt')))).toBe(EFBIG);
    expect(hf.open(path.join(allowed, 'sub', 'b.bin')).kind).toBe('file');
    expect(fs.readFileSync(path.join(allowed, 'data.txt'), 'utf8')).toBe('inside data\n');
  });
});
