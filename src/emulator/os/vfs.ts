// The guest's file system: the allowed host directories, read-only, under a writable in-memory
// overlay that belongs to the machine. Guarantees:
//  - the host is only ever read through the FileSource, and every answer is reported to `log` (the
//    machine's input hook: the recorder stores it, replay serves it back), so what the guest sees
//    and does is a function of the logged inputs alone. Each host path is looked up at most once
//    per run; contents are read only when needed (an open for reading, exec, a write into it;
//    never for stat, access, readlink or O_PATH), and once per file identity (st_dev, st_ino,
//    size, mtime ns): every node and descriptor of that identity shares one immutable snapshot,
//    so its bytes are held and logged once however often or under however many names it is opened;
//  - host symlinks are shown to the guest as symlinks and followed here, in the guest's namespace,
//    one component at a time, so the host never follows a link for the guest;
//  - every change (create, write, unlink, rename, link, symlink, chmod, utimes, truncate, mkdir,
//    rmdir) happens in nodes in memory; nothing is ever written to the host here;
//  - inode numbers come from one counter and timestamps from the virtual clock, so the overlay is
//    deterministic and replay regenerates it exactly;
//  - a path walk follows Linux namei rules: component by component, '..' from the directory
//    reached (not lexically), symlinks followed at most 40 times, search permission on every
//    directory, ENOTDIR/ENOENT/ELOOP/ENAMETOOLONG as Linux reports them.
// Host directories the guest may not list (the ancestors of an allowed directory) are
// "pass-through": their children are asked of the host by name, and they become visible (as
// read-only directories) only once a walk through them reached something the host allows.

import type { FileSource, HostEntry } from '../types.js';
import { FILE_INPUT, listKey, lookupKey, readKey } from './vfs-inputs.js';
import {
  EACCES,
  EBUSY,
  EEXIST,
  EINVAL,
  EISDIR,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOSPC,
  ENOTDIR,
  ENOTEMPTY,
  EPERM,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from './vfs-errno.js';

/** Guest user and group: every node is owned by them (the guest is never root). */
export const GUEST_UID = 1000;
export const GUEST_GID = 1000;
/** st_dev of the overlay and of the pseudo file systems. */
export const DEV_DISK = 0x801;
export const DEV_PROC = 0x4;
const PATH_MAX = 4096;
const NAME_MAX = 255;
const MAXSYMLINKS = 40;
const EMPTY = new Uint8Array(0);

/** Reads and writes of a character device (/dev/null, /dev/zero, /dev/urandom...). */
export interface DeviceOps {
  /** 0, or -errno to refuse the open. */
  open?(): number;
  /** Up to n bytes (an empty array is end of file), or -errno. */
  read(n: number): Uint8Array | number;
  /** Consumes the bytes; returns how many, or -errno. */
  write(data: Uint8Array): number;
}

/** A directory whose entries are generated (/proc): looked up by name, never written. */
export interface DynamicDir {
  list(): string[];
  lookup(name: string): Node | null;
}

export type NodeState = 'ok' | 'lazy' | 'error';

export class Node {
  mode: number;
  nlink = 1;
  uid = GUEST_UID;
  gid = GUEST_GID;
  rdev = 0;
  dev = DEV_DISK;
  atimeS = 0;
  atimeN = 0;
  mtimeS = 0;
  mtimeN = 0;
  ctimeS = 0;
  ctimeN = 0;
  /** Regular file contents: data[0..size) (data may be larger: spare capacity). */
  data: Uint8Array = EMPTY;
  size = 0;
  /** Symlink target. */
  target = '';
  /** Directory entries in listing order (null for non-directories). */
  children: Map<string, Node> | null = null;
  /** The directory this one is an entry of ('..'); the root is its own parent. */
  parent: Node;
  /** Name in the parent directory (directories only: they have one name). */
  name: string;
  /** Host path this node's contents come from (null: the node was made in the machine). */
  hostPath: string | null = null;
  /** Identity of the host file behind a regular file node (the key of its shared snapshot). */
  hostId: string | null = null;
  /** A host file whose contents are not read yet (`size` is the host's; `data` is empty). */
  pending = false;
  /** 'lazy': a host entry not yet read; 'error': the host refused it (errno). */
  state: NodeState = 'ok';
  errno = 0;
  /** A host directory the guest may not list: children are asked of the host by name. */
  passthrough = false;
  /** A pass-through directory seen on the way to something allowed (so it may be stat'ed). */
  confirmed = false;
  /** Contents or name were changed by the guest (for --keep-files). */
  dirty = false;
  /** The directory's mode was set by the machine (/tmp), not taken from the host. */
  fixedMode = false;
  /** `data` is the overlay's own buffer (counted against its capacity), not a host snapshot. */
  owned = false;
  dev_ops: DeviceOps | null = null;
  dynamic: DynamicDir | null = null;
  /** A bound AF_UNIX socket (opaque to the file system). */
  socket: unknown = null;
  /** A FIFO's pipe while any end of it is open (fifo.ts; opaque to the file system). */
  fifo: unknown = null;
  /** Generated contents (/proc files): computed at open. */
  generate: (() => Uint8Array) | null = null;

  constructor(
    readonly ino: number,
    mode: number,
    parent: Node | null,
    name: string,
  ) {
    this.mode = mode;
    this.parent = parent ?? this;
    this.name = name;
  }

  get type(): number {
    return this.mode & S_IFMT;
  }
  isDir(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
  isReg(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
}

export interface VfsOptions {
  files: FileSource;
  /** Guest nanoseconds since boot (the virtual clock). */
  clockNs: () => number;
  /** Guest wall-clock second at boot. */
  epochSec: number;
  /** Bytes of file data the overlay may hold (ENOSPC beyond). Default 1 GiB. */
  capacity?: number;
  /** Receives every FileSource answer as an input record (kind 'file'; vfs-inputs.ts keys). */
  log?: (kind: string, key: string, data: Uint8Array) => void;
  /** A host path the guest was refused (EACCES shown to it), for the end-of-run note. */
  onRefused?: (path: string) => void;
}

export type Lookup = Node | number;

export interface ParentLookup {
  dir: Node;
  /** Last component ('' when the path was '/' ; '.' or '..' are passed through for the caller). */
  name: string;
  /** The path ended in '/' (the last component must be a directory). */
  slash: boolean;
}

/** Permission bits asked for. */
export const MAY_READ = 4;
export const MAY_WRITE = 2;
export const MAY_EXEC = 1;

export class Vfs {
  readonly root: Node;
  private nextIno = 2;
  private readonly files: FileSource;
  private readonly clockNs: () => number;
  private readonly epochSec: number;
  /** Bytes of file capacity held (for ENOSPC). */
  private used = 0;
  private readonly capacity: number;
  private readonly log: (kind: string, key: string, data: Uint8Array) => void;
  private readonly onRefused: (path: string) => void;
  /** Host file contents by identity: one immutable snapshot shared by every node of it. */
  private readonly snapshots = new Map<string, Uint8Array>();

  constructor(opts: VfsOptions) {
    this.files = opts.files;
    this.log = opts.log ?? (() => {});
    this.onRefused = opts.onRefused ?? (() => {});
    this.clockNs = opts.clockNs;
    this.epochSec = opts.epochSec;
    this.capacity = opts.capacity ?? 1 << 30;
    this.root = this.newNode(S_IFDIR | 0o555, null, '');
    this.root.children = new Map();
    this.root.hostPath = '/';
    this.root.state = 'lazy';
    this.root.confirmed = true;
    this.root.fixedMode = true;
    this.stampAll(this.root);
  }

  // ------------------------------------------------------------------ nodes

  newNode(mode: number, parent: Node | null, name: string): Node {
    const n = new Node(this.nextIno++, mode, parent, name);
    if ((mode & S_IFMT) === S_IFDIR) {
      n.children = new Map();
      n.nlink = 2;
    }
    return n;
  }

  /** Current virtual wall-clock time as [sec, nsec]. */
  now(): [number, number] {
    const ns = this.clockNs();
    const sec = Math.floor(ns / 1e9);
    return [this.epochSec + sec, Math.floor(ns - sec * 1e9)];
  }

  stampAll(n: Node): void {
    const [s, ns] = this.now();
    n.atimeS = n.mtimeS = n.ctimeS = s;
    n.atimeN = n.mtimeN = n.ctimeN = ns;
  }

  /** mtime and ctime = now (contents changed). */
  touchModify(n: Node): void {
    const [s, ns] = this.now();
    n.mtimeS = n.ctimeS = s;
    n.mtimeN = n.ctimeN = ns;
  }

  /** ctime = now (metadata changed). */
  touchChange(n: Node): void {
    const [s, ns] = this.now();
    n.ctimeS = s;
    n.ctimeN = ns;
  }

  /** Makes a directory in the machine (not backed by the host), replacing nothing. */
  mkdirInternal(parent: Node, name: string, mode: number): Node {
    const d = this.newNode(S_IFDIR | mode, parent, name);
    this.stampAll(d);
    this.link(parent, name, d);
    return d;
  }

  /**
   * Ensures an absolute path of directories exists (/tmp, /dev, /proc...). Missing ones are made
   * in the machine with `mode`, merged with the host directory of that name when the host lets
   * the guest list it (then the host's mode applies unless `fixedMode`; never if `!hostMerge`:
   * /dev, /proc and /sys are the machine's alone).
   */
  ensureDir(path: string, mode = 0o555, fixedMode = false, hostMerge = true): Node {
    let cur = this.root;
    for (const c of path.split('/')) {
      if (c === '') continue;
      // No host access here (the machine calls this while it is being built, before inputs are
      // logged): a host directory of the same name is merged in lazily, when first listed.
      const found = cur.children!.get(c);
      let next: Node;
      if (found && found.isDir()) next = found;
      else {
        if (found) this.unlinkEntry(cur, c);
        next = this.mkdirInternal(cur, c, mode);
        if (cur.hostPath !== null && hostMerge) {
          // Merged with the host directory of that name if the host lets the guest list it.
          next.hostPath = joinHost(cur.hostPath, c);
          next.state = 'lazy';
        }
      }
      if (fixedMode) {
        next.mode = S_IFDIR | mode;
        next.fixedMode = true;
      }
      next.confirmed = true;
      cur = next;
    }
    return cur;
  }

  /** Adds a directory entry (no checks). */
  link(dir: Node, name: string, n: Node): void {
    dir.children!.set(name, n);
    if (n.isDir()) {
      n.parent = dir;
      n.name = name;
      dir.nlink++;
    }
  }

  private unlinkEntry(dir: Node, name: string): void {
    const n = dir.children!.get(name);
    if (!n) return;
    dir.children!.delete(name);
    if (n.isDir()) dir.nlink--;
  }

  // ------------------------------------------------------------------ host contents

  private hostLookup(path: string): HostEntry {
    const r = this.files.lookup(path);
    this.report(() => lookupKey(path, r), EMPTY);
    return r;
  }

  /** Reports the answer just received: as the log had it when replaying one, else as `key` says. */
  private report(key: () => string, data: Uint8Array): void {
    const rec = this.files.consumed ? this.files.consumed() : undefined;
    if (rec === undefined) this.log(FILE_INPUT, key(), data);
    else if (rec) this.log(FILE_INPUT, rec.key, rec.data);
  }

  /** Loads a host directory's listing into its children (once). */
  private loadListing(d: Node): void {
    if (d.state !== 'lazy' || d.hostPath === null) return;
    if (d.passthrough) return;
    d.state = 'ok';
    if (d.hostId === null && !d.fixedMode) {
      // A directory made by ensureDir takes the host's mode and times when the host has it.
      const e = this.hostLookup(d.hostPath);
      if (e.kind === 'dir') {
        d.mode = S_IFDIR | (e.mode & 0o7777);
        d.hostId = e.id;
        this.hostTimes(d, e.mtimeSec, e.mtimeNsec);
      }
    }
    const r = this.files.list(d.hostPath);
    this.report(() => listKey(d.hostPath!, r), EMPTY);
    if (typeof r === 'number') {
      // Not listable (an ancestor of an allowed directory, or refused): ask by name.
      d.passthrough = true;
      return;
    }
    for (const name of r) if (!d.children!.has(name)) this.addLazy(d, name);
  }

  private addLazy(d: Node, name: string): Node {
    const n = new Node(this.nextIno++, 0, d, name);
    n.hostPath = joinHost(d.hostPath!, name);
    n.state = 'lazy';
    d.children!.set(name, n);
    return n;
  }

  private hostTimes(n: Node, mtimeSec: number, mtimeNsec: number): void {
    n.atimeS = n.mtimeS = n.ctimeS = mtimeSec;
    n.atimeN = n.mtimeN = n.ctimeN = mtimeNsec;
  }

  /** Looks a lazy host entry up: it becomes a file (contents pending), a directory, a symlink or an error node. */
  private resolveLazy(n: Node): void {
    if (n.state !== 'lazy' || n.isDir()) return;
    const r = this.hostLookup(n.hostPath!);
    if (r.kind === 'error') {
      n.state = 'error';
      n.errno = r.errno;
      return;
    }
    n.state = 'ok';
    n.hostId = r.id;
    this.hostTimes(n, r.mtimeSec, r.mtimeNsec);
    if (r.kind === 'file') {
      n.mode = S_IFREG | (r.mode & 0o7777);
      n.size = r.size;
      n.pending = true;
    } else if (r.kind === 'link') {
      n.mode = S_IFLNK | 0o777;
      n.target = r.target;
      n.size = Buffer.byteLength(r.target);
    } else {
      n.mode = S_IFDIR | (r.mode & 0o7777);
      n.children = new Map();
      n.nlink = 2;
      n.state = 'lazy'; // the listing is read when first needed
    }
  }

  /**
   * Makes a host file's contents present (0) or says why they cannot be (-errno): the snapshot of
   * its identity when one was read already, else one read of the host (logged with the bytes).
   */
  content(n: Node): number {
    if (!n.pending) return 0;
    let data = this.snapshots.get(n.hostId!);
    if (!data) {
      const r = this.files.read(n.hostPath!);
      this.report(() => readKey(n.hostPath!, r), typeof r === 'number' ? EMPTY : r.data);
      if (typeof r === 'number') return -r;
      data = r.data;
      this.snapshots.set(n.hostId!, data);
      // Changed between the lookup and the read: later lookups will see the new identity.
      if (r.id !== n.hostId) this.snapshots.set(r.id, data);
    }
    n.pending = false;
    n.data = data;
    n.size = data.length;
    return 0;
  }

  /**
   * The entry `name` of directory `d` (which must be searchable by the caller), or -errno.
   * `more`: components follow, so a host directory that refuses listing may still be walked
   * through (it is on the way to an allowed one).
   */
  child(d: Node, name: string, more: boolean): Lookup {
    if (d.dynamic) return d.dynamic.lookup(name) ?? -ENOENT;
    this.loadListing(d);
    let n = d.children!.get(name);
    if (!n && d.passthrough && d.hostPath !== null) n = this.addLazy(d, name);
    if (!n) return -ENOENT;
    if (n.state === 'lazy' && !n.isDir()) this.resolveLazy(n);
    if (n.state === 'error') {
      if (n.errno === EACCES && more) {
        // Possibly an ancestor of an allowed directory: walk through it as pass-through.
        n.mode = S_IFDIR | 0o555;
        n.children = new Map();
        n.nlink = 2;
        n.passthrough = true;
        n.state = 'ok';
        return n;
      }
      const e = n.errno;
      // A refused name in a pass-through directory is not kept (it was never listed).
      if (d.passthrough && !n.confirmed) d.children!.delete(name);
      // /tmp and the like belong to the machine: what the host refuses there does not exist.
      if (d.fixedMode && e === EACCES) return -ENOENT;
      if (e === EACCES) this.onRefused(n.hostPath!);
      return -e;
    }
    if (n.passthrough && !n.confirmed && !more) {
      this.onRefused(n.hostPath!);
      return -EACCES;
    }
    return n;
  }

  /** Names of a directory in listing order (host entries first, then ones made in the machine). */
  list(d: Node): string[] {
    if (d.dynamic) return d.dynamic.list();
    this.loadListing(d);
    const out: string[] = [];
    for (const [name, n] of d.children!) if (!(n.passthrough && !n.confirmed)) out.push(name);
    return out;
  }

  /** Lets a lazy entry be resolved when its type is needed (stat of a listed name). */
  resolve(n: Node): void {
    if (n.state === 'lazy') {
      if (n.isDir()) this.loadListing(n);
      else this.resolveLazy(n);
    }
  }

  // ------------------------------------------------------------------ path walk

  /**
   * Walks `path` from `start` (or the root for absolute paths). `follow`: follow a symlink in
   * the last component. Returns the node or -errno.
   */
  lookup(start: Node, path: string, follow: boolean): Lookup {
    const p = this.lookupParent(start, path);
    if (typeof p === 'number') return p;
    return this.finish(p, follow);
  }

  /** The last step of a walk: resolves `p.name` in `p.dir`, following a final symlink if asked. */
  finish(p: ParentLookup, follow: boolean, depth = 0): Lookup {
    let { dir, name } = p;
    if (name === '' || name === '.') return dir;
    if (name === '..') return dir.parent;
    const n = this.child(dir, name, false);
    if (typeof n === 'number') return n;
    if (n.isLink() && (follow || p.slash)) {
      if (depth + 1 > MAXSYMLINKS) return -ELOOP;
      const q = this.lookupParent(dir, n.target, depth + 1);
      if (typeof q === 'number') return q;
      dir = q.dir;
      name = q.name;
      return this.finish({ dir, name, slash: q.slash || p.slash }, true, depth + 1);
    }
    if (p.slash && !n.isDir()) return -ENOTDIR;
    this.confirmWalk(n.isDir() ? n : dir);
    return n;
  }

  /** A walk reached `n`: the pass-through directories above it are now known to lead somewhere. */
  private confirmWalk(n: Node): void {
    let c: Node = n;
    while (!c.confirmed && c !== this.root) {
      if (c.passthrough) c.confirmed = true;
      c = c.parent;
    }
  }

  /**
   * Walks all but the last component of `path`, following symlinks on the way. Returns the
   * directory holding the last component, its name and whether the path ended with '/'.
   */
  lookupParent(start: Node, path: string, depth = 0): ParentLookup | number {
    if (path === '') return -ENOENT;
    if (path.length >= PATH_MAX && Buffer.byteLength(path) >= PATH_MAX) return -ENAMETOOLONG;
    let cur = path.startsWith('/') ? this.root : start;
    const parts = path.split('/').filter((c) => c !== '');
    const slash = path.endsWith('/') && parts.length > 0;
    if (parts.length === 0) return { dir: this.root, name: '', slash: false };
    // Components still to walk (symlink targets are spliced in front).
    const queue = parts;
    let links = depth;
    while (queue.length > 1) {
      const c = queue.shift()!;
      if (!cur.isDir()) return -ENOTDIR;
      if (!this.may(cur, MAY_EXEC)) return -EACCES;
      if (c === '.') continue;
      if (c === '..') {
        cur = cur.parent;
        continue;
      }
      if (Buffer.byteLength(c) > NAME_MAX) return -ENAMETOOLONG;
      const n = this.child(cur, c, true);
      if (typeof n === 'number') return n;
      if (n.isLink()) {
        if (++links > MAXSYMLINKS) return -ELOOP;
        if (n.target.startsWith('/')) cur = this.root;
        queue.unshift(...n.target.split('/').filter((t) => t !== ''));
        continue;
      }
      if (!n.isDir()) return -ENOTDIR;
      cur = n;
    }
    if (!cur.isDir()) return -ENOTDIR;
    if (!this.may(cur, MAY_EXEC)) return -EACCES;
    const name = queue[0]!;
    if (Buffer.byteLength(name) > NAME_MAX) return -ENAMETOOLONG;
    return { dir: cur, name, slash };
  }

  /** Owner permission check (the guest owns every file and is not root). */
  may(n: Node, want: number): boolean {
    return ((n.mode >> 6) & want) === want;
  }

  /** Absolute guest path of a directory (for getcwd and /proc). */
  pathOf(d: Node): string {
    const parts: string[] = [];
    let c = d;
    while (c !== this.root) {
      parts.push(c.name);
      c = c.parent;
    }
    return '/' + parts.reverse().join('/');
  }

  /** True when `d` is still reachable from the root (a removed cwd is not). */
  attached(d: Node): boolean {
    let c = d;
    while (c !== this.root) {
      if (c.parent.children?.get(c.name) !== c) return false;
      c = c.parent;
    }
    return true;
  }

  // ------------------------------------------------------------------ changes

  private checkCreate(dir: Node): number {
    if (dir.dynamic) return -EACCES;
    this.loadListing(dir); // a host directory's own mode decides
    if (!this.may(dir, MAY_WRITE | MAY_EXEC)) return -EACCES;
    if (dir.nlink === 0) return -ENOENT;
    return 0;
  }

  private existing(dir: Node, name: string): Node | null {
    const n = this.child(dir, name, false);
    return typeof n === 'number' ? null : n;
  }

  /** Creates a regular file (or socket/fifo node) `name` in `dir`. */
  create(dir: Node, name: string, mode: number): Lookup {
    if (name === '' || name === '.' || name === '..') return -EEXIST;
    const e = this.checkCreate(dir);
    if (e) return e;
    if (this.existing(dir, name)) return -EEXIST;
    const n = this.newNode(mode, dir, name);
    this.stampAll(n);
    n.dirty = true;
    this.link(dir, name, n);
    this.touchModify(dir);
    return n;
  }

  mkdir(dir: Node, name: string, mode: number): Lookup {
    if (name === '' || name === '.' || name === '..') return -EEXIST;
    const e = this.checkCreate(dir);
    if (e) return e;
    if (this.existing(dir, name)) return -EEXIST;
    const d = this.mkdirInternal(dir, name, mode & 0o7777);
    d.dirty = true;
    this.touchModify(dir);
    return d;
  }

  symlink(dir: Node, name: string, target: string): Lookup {
    if (target === '') return -ENOENT;
    if (Buffer.byteLength(target) >= PATH_MAX) return -ENAMETOOLONG;
    const n = this.create(dir, name, S_IFLNK | 0o777);
    if (typeof n === 'number') return n;
    n.target = target;
    n.size = Buffer.byteLength(target);
    return n;
  }

  hardlink(target: Node, dir: Node, name: string): number {
    if (target.isDir()) return -EPERM;
    if (name === '' || name === '.' || name === '..') return -EEXIST;
    const e = this.checkCreate(dir);
    if (e) return e;
    if (this.existing(dir, name)) return -EEXIST;
    if (target.nlink === 0) return -ENOENT;
    dir.children!.set(name, target);
    target.nlink++;
    target.dirty = true;
    this.touchChange(target);
    this.touchModify(dir);
    return 0;
  }

  /** unlink (dirOnly=false) or rmdir (dirOnly=true). */
  remove(dir: Node, name: string, rmdir: boolean): number {
    if (name === '.' || name === '') return rmdir ? -EINVAL : -EISDIR;
    if (name === '..') return rmdir ? -ENOTEMPTY : -EISDIR;
    const n = this.child(dir, name, false);
    if (typeof n === 'number') return n;
    const e = this.checkCreate(dir);
    if (e) return e;
    if (rmdir) {
      if (!n.isDir()) return -ENOTDIR;
      if (n === this.root || n.dynamic) return -EBUSY;
      if (this.list(n).length > 0) return -ENOTEMPTY;
      n.nlink = 0;
    } else {
      if (n.isDir()) return -EISDIR;
      n.nlink--;
      this.touchChange(n);
    }
    this.unlinkEntry(dir, name);
    this.touchModify(dir);
    this.release(n);
    return 0;
  }

  /** Frees a file's data when its last name is gone (open descriptions keep their own reference). */
  private release(n: Node): void {
    if (n.nlink === 0 && n.owned && this.openCount(n) === 0) {
      this.used -= n.data.length;
      n.data = EMPTY;
      n.owned = false;
    }
  }

  /** Open descriptions per node, so unlinked-but-open files keep their data. */
  private readonly opens = new Map<Node, number>();
  openCount(n: Node): number {
    return this.opens.get(n) ?? 0;
  }
  retain(n: Node): void {
    this.opens.set(n, this.openCount(n) + 1);
  }
  unretain(n: Node): void {
    const c = this.openCount(n) - 1;
    if (c <= 0) this.opens.delete(n);
    else this.opens.set(n, c);
    this.release(n);
  }

  /** rename/renameat2: flags RENAME_NOREPLACE=1, RENAME_EXCHANGE=2. */
  rename(odir: Node, oname: string, ndir: Node, nname: string, flags: number): number {
    if (flags & ~3 || (flags & 3) === 3) return -EINVAL;
    for (const nm of [oname, nname]) if (nm === '' || nm === '.' || nm === '..') return -EBUSY;
    const src = this.child(odir, oname, false);
    if (typeof src === 'number') return src;
    let e = this.checkCreate(odir);
    if (!e) e = this.checkCreate(ndir);
    if (e) return e;
    const dst = this.existing(ndir, nname);
    if (flags & 2 && !dst) return -ENOENT;
    if (flags & 1 && dst) return -EEXIST;
    if (dst === src) return 0;
    // A directory cannot move below itself.
    if (src.isDir())
      for (let c = ndir; ; c = c.parent) {
        if (c === src) return -EINVAL;
        if (c === this.root) break;
      }
    if (dst && flags & 2) {
      if (dst.isDir())
        for (let c = odir; ; c = c.parent) {
          if (c === dst) return -EINVAL;
          if (c === this.root) break;
        }
      this.unlinkEntry(odir, oname);
      this.unlinkEntry(ndir, nname);
      this.link(odir, oname, dst);
      this.link(ndir, nname, src);
      this.markMoved(dst);
    } else {
      if (dst) {
        if (src.isDir()) {
          if (!dst.isDir()) return -ENOTDIR;
          if (this.list(dst).length > 0) return -ENOTEMPTY;
          dst.nlink = 0;
        } else {
          if (dst.isDir()) return -EISDIR;
          dst.nlink--;
        }
        this.unlinkEntry(ndir, nname);
        this.release(dst);
      }
      this.unlinkEntry(odir, oname);
      this.link(ndir, nname, src);
    }
    this.markMoved(src);
    this.touchChange(src);
    this.touchModify(odir);
    this.touchModify(ndir);
    return 0;
  }

  /** A renamed node (and what was read below it) now lives under a new name: keep it. */
  private markMoved(n: Node): void {
    n.dirty = true;
    if (n.children) for (const c of n.children.values()) if (c.state === 'ok') this.markMoved(c);
  }

  // ------------------------------------------------------------------ file contents

  /**
   * Makes the node's buffer its own (host snapshots are shared, never written) and at least
   * `size` bytes long; ENOSPC past the overlay's capacity.
   */
  private reserve(n: Node, size: number): number {
    const e = this.content(n);
    if (e) return e;
    n.dirty = true;
    if (n.owned && size <= n.data.length) return 0;
    const old = n.owned ? n.data.length : 0;
    let cap = Math.max(size, 64);
    if (n.owned) cap = Math.max(cap, Math.min(old * 2, size + (64 << 20)));
    if (this.used - old + cap > this.capacity) {
      cap = size;
      if (this.used - old + cap > this.capacity) return -ENOSPC;
    }
    const d = new Uint8Array(cap);
    d.set(n.data.subarray(0, Math.min(n.size, cap)));
    this.used += cap - old;
    n.data = d;
    n.owned = true;
    return 0;
  }

  /** Writes `src` at `pos`, growing the file (a gap reads as zeros). Returns bytes or -errno. */
  writeAt(n: Node, pos: number, src: Uint8Array): number {
    const end = pos + src.length;
    if (end > 0x7fffffff * 2) return -ENOSPC;
    const e = this.reserve(n, Math.max(end, n.size));
    if (e) return e;
    n.data.set(src, pos);
    if (end > n.size) n.size = end;
    this.touchModify(n);
    return src.length;
  }

  /** Bytes [pos, pos+len) of a file (shorter at end of file), or -errno (contents unreadable). */
  readAt(n: Node, pos: number, len: number): Uint8Array | number {
    const e = this.content(n);
    if (e) return e;
    if (pos >= n.size) return EMPTY;
    return n.data.subarray(pos, Math.min(n.size, pos + len));
  }

  truncate(n: Node, size: number): number {
    if (n.isDir()) return -EISDIR;
    if (!n.isReg()) return -EINVAL;
    if (size < 0) return -EINVAL;
    if (size === 0 && n.pending) {
      // Emptied before it was read: the host's bytes are never needed.
      n.pending = false;
      n.data = EMPTY;
      n.size = 0;
      n.dirty = true;
    } else if (size > n.size) {
      const e = this.reserve(n, size);
      if (e) return e;
      n.data.fill(0, n.size, size);
    } else {
      const e = this.reserve(n, n.size);
      if (e) return e;
      n.data.fill(0, size, n.size);
    }
    n.size = size;
    this.touchModify(n);
    return 0;
  }

  chmod(n: Node, mode: number): number {
    if (n.dynamic || n.passthrough || n.dev === DEV_PROC) return -EPERM;
    n.mode = (n.mode & S_IFMT) | (mode & 0o7777);
    n.dirty = true;
    this.touchChange(n);
    return 0;
  }

  /** utimensat: each time is [sec, nsec] or 'now' or 'omit'. */
  utimes(
    n: Node,
    atime: [number, number] | 'now' | 'omit',
    mtime: [number, number] | 'now' | 'omit',
  ): number {
    if (n.dynamic || n.passthrough || n.dev === DEV_PROC) return -EPERM;
    const [s, ns] = this.now();
    if (atime !== 'omit') [n.atimeS, n.atimeN] = atime === 'now' ? [s, ns] : atime;
    if (mtime !== 'omit') [n.mtimeS, n.mtimeN] = mtime === 'now' ? [s, ns] : mtime;
    n.ctimeS = s;
    n.ctimeN = ns;
    n.dirty = true;
    return 0;
  }

  /**
   * The bytes --keep-files writes for `n`: a host file the guest renamed but never read is read
   * here without being logged (the guest never sees these bytes, and replay keeps nothing).
   */
  keptBytes(n: Node): Uint8Array | null {
    if (!n.pending) return n.data.subarray(0, n.size);
    const r = this.snapshots.get(n.hostId!) ?? this.files.read(n.hostPath!);
    return typeof r === 'number' ? null : r instanceof Uint8Array ? r : r.data;
  }

  /** Every node the guest wrote, created or renamed, with one of its current paths. */
  written(): Array<{ path: string; node: Node }> {
    const out: Array<{ path: string; node: Node }> = [];
    const seen = new Set<Node>();
    const walk = (d: Node, path: string) => {
      for (const [name, n] of d.children!) {
        if (n.state === 'error' || (n.state === 'lazy' && !n.isDir())) continue;
        if (n.dev !== DEV_DISK || n.dynamic || n.dev_ops) continue;
        const p = path === '/' ? `/${name}` : `${path}/${name}`;
        if (n.dirty && !seen.has(n) && (n.isReg() || n.isDir() || n.isLink())) {
          seen.add(n);
          out.push({ path: p, node: n });
        }
        if (n.isDir() && n.children) walk(n, p);
      }
    };
    walk(this.root, '/');
    return out;
  }
}

function joinHost(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
