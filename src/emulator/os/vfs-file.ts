// An open file description on a file-system node: a regular file (its offset, O_APPEND), a
// directory (getdents over a snapshot of the merged listing taken at open and at rewind), a
// character device (/dev/null, /dev/zero, /dev/urandom) or a generated /proc file (contents
// snapshotted at open, like seq_file output read in one go). Guarantees: reads and writes go to the
// overlay node only; an unlinked file stays readable and writable through descriptions still open
// on it; offsets never go negative (EINVAL) and reads past the end return 0 bytes.

import {
  EBADF,
  EINVAL,
  EISDIR,
  ENOTDIR,
  ENOTTY,
  ENXIO,
  EOVERFLOW,
  O_ACCMODE,
  O_APPEND,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
} from './vfs-errno.js';
import { FileDescription, type IoContext, type StatInfo as FdStat } from './fd.js';
import { direntType, encodeDirents, statOfNode, type Dirent, type StatInfo } from './vfs-stat.js';
import type { Node, Vfs } from './vfs.js';

const EMPTY = new Uint8Array(0);
/** Largest file offset (MAX_LFS_FILESIZE on 32-bit is larger, but JS numbers stay exact here). */
const MAX_OFF = 2 ** 52;

export class VfsFile extends FileDescription {
  readonly kind: string;
  pos = 0;
  /** Generated contents (/proc files), fixed at open. */
  private snapshot: Uint8Array | null = null;
  /** Directory entries, fixed at open and at rewind. */
  private entries: Dirent[] | null = null;
  private closed = false;

  constructor(
    readonly vfs: Vfs,
    readonly node: Node,
    flags: number,
    path: string,
  ) {
    super(flags);
    this.path = path;
    this.kind = node.isDir() ? 'dir' : node.dev_ops ? 'chr' : 'file';
    vfs.retain(node);
    if (node.generate) this.snapshot = node.generate();
  }

  override get readable(): boolean {
    return (this.flags & O_PATH) === 0 && (this.flags & O_ACCMODE) !== O_WRONLY;
  }

  override get writable(): boolean {
    return (this.flags & O_PATH) === 0 && (this.flags & O_ACCMODE) !== O_RDONLY;
  }

  private size(): number {
    return this.snapshot ? this.snapshot.length : this.node.size;
  }

  override read(_ctx: IoContext | null, len: number): Uint8Array | number {
    if (this.node.isDir()) return -EISDIR;
    const r = this.pread(len, this.pos);
    if (typeof r !== 'number') this.pos += r.length;
    return r;
  }

  pread(len: number, pos: number): Uint8Array | number {
    if (!this.readable) return -EBADF;
    const n = this.node;
    if (n.isDir()) return -EISDIR;
    if (n.dev_ops) return n.dev_ops.read(len);
    if (pos < 0) return -EINVAL;
    if (this.snapshot) return pos >= this.snapshot.length ? EMPTY : this.snapshot.subarray(pos, pos + len);
    const out = this.vfs.readAt(n, pos, len);
    if (typeof out !== 'number' && out.length > 0) {
      const [s, ns] = this.vfs.now();
      n.atimeS = s;
      n.atimeN = ns;
    }
    return out;
  }

  override write(_ctx: IoContext | null, data: Uint8Array): number {
    if (!this.writable) return -EBADF;
    if (this.node.dev_ops) return this.node.dev_ops.write(data);
    if (this.flags & O_APPEND) this.pos = this.node.size;
    const r = this.pwrite(data, this.pos);
    if (r > 0) this.pos += r;
    return r;
  }

  pwrite(data: Uint8Array, pos: number): number {
    if (!this.writable) return -EBADF;
    const n = this.node;
    if (n.dev_ops) return n.dev_ops.write(data);
    if (this.snapshot) return -EINVAL;
    if (n.isDir()) return -EISDIR;
    if (pos < 0) return -EINVAL;
    if (data.length === 0) return 0;
    return this.vfs.writeAt(n, pos, data);
  }

  override lseek(off: number, whence: number): number {
    const n = this.node;
    if (n.dev_ops) return 0;
    let pos: number;
    if (whence === 0) pos = off;
    else if (whence === 1) pos = this.pos + off;
    else if (whence === 2) pos = this.size() + off;
    else if ((whence === 3 || whence === 4) && n.isReg()) {
      // SEEK_DATA / SEEK_HOLE: the overlay has no holes.
      if (off < 0 || off >= this.size()) return -ENXIO;
      pos = whence === 3 ? off : this.size();
    } else return -EINVAL;
    if (pos < 0 || pos > MAX_OFF) return pos < 0 ? -EINVAL : -EOVERFLOW;
    this.pos = pos;
    if (n.isDir() && pos === 0) this.entries = null;
    return pos;
  }

  /** The full stat (times with nanoseconds, st_dev, uid/gid) the stat syscalls write. */
  fullStat(): StatInfo {
    this.vfs.resolve(this.node);
    return statOfNode(this.node);
  }

  /** The descriptor layer's summary stat. */
  stat(): FdStat {
    const s = this.fullStat();
    return {
      mode: s.mode,
      size: s.size,
      ino: s.ino,
      mtimeSec: s.mtimeS,
      rdev: s.rdev,
      blksize: s.blksize,
      nlink: s.nlink,
    };
  }

  /** FIONREAD: bytes from the offset to the end of a regular file. */
  override available(): number {
    if (this.node.dev_ops) return 0;
    if (this.node.isDir()) return -ENOTTY;
    return Math.max(0, this.size() - this.pos);
  }

  /** Regular files and devices are always ready. */
  override poll(): number {
    return 0x145; // POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM
  }

  /** The bytes an mmap of this file copies (a private snapshot; shared writable maps are refused). */
  mapData(): Uint8Array | null {
    if (!this.node.isReg() && !this.snapshot) return null;
    if (!this.snapshot && this.vfs.content(this.node) < 0) return null;
    return this.snapshot ?? this.node.data.subarray(0, this.node.size);
  }

  /** Directory entries ('.', '..', then the merged listing). */
  private dirents(): Dirent[] {
    if (this.entries) return this.entries;
    const d = this.node;
    const out: Dirent[] = [
      { ino: d.ino, type: 4, name: '.' },
      { ino: d.parent.ino, type: 4, name: '..' },
    ];
    for (const name of this.vfs.list(d)) {
      const c = d.dynamic ? d.dynamic.lookup(name) : d.children!.get(name);
      if (c) out.push({ ino: c.ino, type: direntType(c), name });
    }
    this.entries = out;
    return out;
  }

  /** getdents64 (wide=true) or getdents: records that fit in `max` bytes, or -errno. */
  getdents(max: number, wide: boolean): Uint8Array | number {
    if (!this.node.isDir()) return -ENOTDIR;
    if (this.flags & O_PATH) return -EBADF;
    const all = this.dirents();
    if (this.pos >= all.length) return EMPTY;
    const r = encodeDirents(all, this.pos, max, wide);
    if (r.count === 0) return -EINVAL; // the buffer cannot hold even one record
    this.pos += r.count;
    return r.bytes;
  }

  override release(): void {
    if (this.closed) return;
    this.closed = true;
    this.vfs.unretain(this.node);
  }
}
