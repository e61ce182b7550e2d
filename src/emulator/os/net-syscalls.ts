// The socket syscalls, both through socketcall(102) and the direct i386 numbers (359..373):
// socket, socketpair, bind, connect, listen, accept/accept4, getsockname/getpeername,
// send/recv/sendto/recvfrom/sendmsg/recvmsg (iovecs, addresses, SCM_RIGHTS), shutdown, setsockopt/
// getsockopt, over the in-machine sockets of net.ts. A socket is an open file description (read,
// write, poll, FIONREAD, fstat work on it); calls that would block wait on its queue and retry.
// Guarantees: no host socket is ever opened; bad guest pointers give EFAULT; EPIPE on a stream
// raises SIGPIPE unless MSG_NOSIGNAL, as Linux does.

import type { Machine, Task } from '../machine.js';
import type { Kernel } from '../syscalls.js';
import { FileDescription, O_NONBLOCK, O_RDWR, type IoContext, type StatInfo } from './fd.js';
import { AF_UNIX, encodeSockaddr, parseSockaddr, type SockAddr } from './net-addr.js';
import {
  MSG_CMSG_CLOEXEC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  NetStack,
  SOCK_DGRAM,
  Socket,
  type UnixNames,
} from './net.js';
import { sendSigpipe } from './signals-kernel.js';
import { WaitQueue } from './wait.js';
import {
  EADDRINUSE,
  EAGAIN,
  EBADF,
  ECONNREFUSED,
  EFAULT,
  EINVAL,
  EMSGSIZE,
  ENOTSOCK,
  EOPNOTSUPP,
  EPIPE,
  S_IFMT,
  S_IFSOCK,
} from './vfs-errno.js';
import type { FileSystem } from './vfs-syscalls.js';

const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SCM_RIGHTS = 1;
const SOL_SOCKET = 1;
const MSG_CTRUNC = 8;
const MSG_WAITFORONE = 0x10000;
/** UIO_MAXIOV: sendmmsg/recvmmsg handle at most this many messages per call. */
const MMSG_MAX = 1024;
/** sizeof(struct mmsghdr) on i386: a 28-byte msghdr, then msg_len. */
const MMSGHDR = 32;

/** A socket as an open file description. */
export class SocketFile extends FileDescription {
  readonly kind = 'socket';

  constructor(
    readonly sock: Socket,
    flags: number,
    private readonly machine: Machine,
  ) {
    super(O_RDWR | (flags & O_NONBLOCK));
    this.waiters = new WaitQueue(machine);
    const q = this.waiters;
    sock.changed = () => q.wakeAll();
    sock.discardRights = dropRights;
    this.path = `socket:[${sock.ino}]`;
  }

  override read(_ctx: IoContext, len: number): Uint8Array | number {
    const r = this.sock.recv(len, 0);
    if (typeof r === 'number') return r;
    if (r.rights) dropRights(r.rights);
    return r.data;
  }

  override write(ctx: IoContext, data: Uint8Array): number {
    const r = this.sock.send(data, null, NO_NAMES);
    if (r === -EPIPE && this.sock.stream) sendSigpipe(this.machine, ctx.task);
    return r;
  }

  override poll(): number {
    return this.sock.poll();
  }

  override available(): number {
    return this.sock.available();
  }

  stat(): StatInfo {
    return {
      mode: S_IFSOCK | 0o777,
      size: 0,
      ino: this.sock.ino,
      mtimeSec: 0,
      rdev: 0,
      blksize: 4096,
      nlink: 1,
    };
  }

  override release(): void {
    this.sock.close();
  }
}

/** For read/write on sockets: they never name an address. */
const NO_NAMES: UnixNames = { bind: () => -EINVAL, find: () => -ECONNREFUSED };

/** Descriptions in flight in SCM_RIGHTS messages hold a reference until received or dropped. */
function dropRights(rights: unknown[]): void {
  for (const d of rights as FileDescription[]) if (--d.refs === 0) d.release();
}

export class Net {
  readonly stack = new NetStack();

  constructor(
    readonly k: Kernel,
    readonly fsys: FileSystem,
  ) {}

  /** AF_UNIX path names in the overlay file system, walked from the caller's cwd. */
  names(t: Task): UnixNames {
    const fsys = this.fsys;
    const vfs = fsys.vfs;
    return {
      bind: (path, s) => {
        const par = vfs.lookupParent(fsys.cwd(t.process), path);
        if (typeof par === 'number') return par;
        const exists = vfs.child(par.dir, par.name, false);
        if (typeof exists !== 'number') return -EADDRINUSE;
        const n = vfs.create(par.dir, par.name, S_IFSOCK | (0o777 & ~t.process.umask));
        if (typeof n === 'number') return n === -17 ? -EADDRINUSE : n;
        n.socket = s;
        return 0;
      },
      find: (path) => {
        const n = vfs.lookup(fsys.cwd(t.process), path, true);
        if (typeof n === 'number') return n;
        if ((n.mode & S_IFMT) !== S_IFSOCK || !(n.socket instanceof Socket)) return -ECONNREFUSED;
        return n.socket;
      },
    };
  }

  private sockFile(t: Task, fd: number): SocketFile | number {
    const f = t.process.fds.get(fd);
    if (!f) return -EBADF;
    return f instanceof SocketFile ? f : -ENOTSOCK;
  }

  private install(t: Task, s: Socket, flags: number): number {
    const f = new SocketFile(s, flags & SOCK_NONBLOCK ? O_NONBLOCK : 0, this.k.m);
    const fd = t.process.fds.install(f, (flags & SOCK_CLOEXEC) !== 0);
    if (fd < 0) s.close();
    return fd;
  }

  private cred(t: Task) {
    return { pid: t.process.pid, uid: 1000, gid: 1000 };
  }

  private readAddr(addr: number, len: number, domain: number): SockAddr | number {
    if (len < 0 || len > 128) return -EINVAL;
    if (!this.k.userRange(addr, len, false)) return -EFAULT;
    return parseSockaddr(this.k.mem.readBytes(addr, len), domain);
  }

  /** Copies an address out: *lenPtr says the room, and receives the real length. */
  private writeAddr(addr: number, lenPtr: number, bytes: Uint8Array): number {
    if (addr === 0) return 0;
    const room = this.k.get32(lenPtr);
    if (room === null) return -EFAULT;
    if (room < 0) return -EINVAL;
    const n = Math.min(room, bytes.length);
    if (!this.k.userRange(addr, n, true)) return -EFAULT;
    this.k.mem.writeBytes(addr, bytes.subarray(0, n));
    return this.k.put32(lenPtr, bytes.length) ? 0 : -EFAULT;
  }

  /**
   * Runs `once`; if it would block (and may), waits on the socket's queue and retries. A timeout
   * set with SO_RCVTIMEO (receiving, accept) or SO_SNDTIMEO (sending, connect) ends the wait with
   * EAGAIN, on the virtual clock.
   */
  private blocking(
    t: Task,
    f: SocketFile,
    what: string,
    flags: number,
    once: () => number,
    deadline = -2,
  ): number {
    const r = once();
    if (r !== -EAGAIN || flags & MSG_DONTWAIT || f.flags & O_NONBLOCK || !f.waiters) return r;
    const m = this.k.m;
    if (deadline === -2) {
      const ns = f.sock.timeoutNs(what === 'send' || what === 'connect');
      deadline = ns > 0 ? m.now() + m.nsToCycles(ns) : -1;
    } else if (deadline >= 0 && m.now() >= deadline) return -EAGAIN;
    return m.blockRetry(
      t,
      `${what} on socket`,
      [f.waiters],
      () => this.blocking(t, f, what, flags, once, deadline),
      deadline,
    );
  }

  private sigpipe(t: Task, r: number, flags: number, f: SocketFile): number {
    if (r === -EPIPE && !(flags & MSG_NOSIGNAL) && f.sock.stream) sendSigpipe(this.k.m, t);
    return r;
  }

  socket(t: Task, domain: number, type: number, protocol: number): number {
    if (type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
    const s = this.stack.create(domain, type & 0xf, protocol, this.cred(t));
    if (typeof s === 'number') return s;
    return this.install(t, s, type);
  }

  socketpair(t: Task, domain: number, type: number, protocol: number, sv: number): number {
    if (domain !== AF_UNIX) return domain === 2 || domain === 10 ? -EOPNOTSUPP : -97;
    if (protocol !== 0) return -93;
    if (!this.k.userRange(sv, 8, true)) return -EFAULT;
    const p = this.stack.pair(type & 0xf, this.cred(t));
    if (typeof p === 'number') return p;
    const a = this.install(t, p[0], type);
    if (a < 0) {
      p[1].close();
      return a;
    }
    const b = this.install(t, p[1], type);
    if (b < 0) {
      t.process.fds.close(a);
      return b;
    }
    this.k.put32(sv, a);
    this.k.put32(sv + 4, b);
    return 0;
  }

  bind(t: Task, fd: number, addr: number, len: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    const a = this.readAddr(addr, len, f.sock.domain);
    if (typeof a === 'number') return a;
    return f.sock.bind(a, this.names(t));
  }

  connect(t: Task, fd: number, addr: number, len: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    const a = this.readAddr(addr, len, f.sock.domain);
    if (typeof a === 'number') return a;
    const names = this.names(t);
    return this.blocking(t, f, 'connect', 0, () => f.sock.connect(a, names, (f.flags & O_NONBLOCK) !== 0));
  }

  listen(t: Task, fd: number, backlog: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    return f.sock.listen(backlog);
  }

  accept(t: Task, fd: number, addr: number, lenPtr: number, flags: number): number {
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    if (addr && this.k.get32(lenPtr) === null) return -EFAULT;
    return this.blocking(t, f, 'accept', 0, () => {
      const s = f.sock.accept();
      if (typeof s === 'number') return s;
      const nfd = this.install(t, s, flags);
      if (nfd < 0) return nfd;
      const e = this.writeAddr(addr, lenPtr, s.peername() as Uint8Array);
      return e < 0 ? e : nfd;
    });
  }

  name(t: Task, fd: number, addr: number, lenPtr: number, peer: boolean): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    const b = peer ? f.sock.peername() : f.sock.sockname();
    if (typeof b === 'number') return b;
    return this.writeAddr(addr, lenPtr, b);
  }

  sendto(t: Task, fd: number, buf: number, len: number, flags: number, addr: number, alen: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    len = len >>> 0;
    if (!this.k.userRange(buf, len, false)) return -EFAULT;
    let to: SockAddr | null = null;
    if (addr) {
      const a = this.readAddr(addr, alen, f.sock.domain);
      if (typeof a === 'number') return a;
      to = a;
    }
    const data = this.k.mem.readBytes(buf, len);
    const names = this.names(t);
    const r = this.blocking(t, f, 'send', flags, () => f.sock.send(data, to, names));
    return this.sigpipe(t, r, flags, f);
  }

  recvfrom(
    t: Task,
    fd: number,
    buf: number,
    len: number,
    flags: number,
    addr: number,
    lenPtr: number,
  ): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    len = len >>> 0;
    if (len > 0 && !this.k.userRange(buf, len, true)) return -EFAULT;
    return this.blocking(t, f, 'recv', flags, () => {
      const r = f.sock.recv(len, flags);
      if (typeof r === 'number') return r;
      if (r.rights) dropRights(r.rights);
      this.k.mem.writeBytes(buf, r.data);
      if (addr && r.from) {
        const e = this.writeAddr(addr, lenPtr, encodeFrom(r.from, f.sock.domain));
        if (e < 0) return e;
      } else if (addr && lenPtr) this.k.put32(lenPtr, 0);
      return flags & MSG_TRUNC && f.sock.type === SOCK_DGRAM ? r.full : r.data.length;
    });
  }

  /** struct msghdr (28 bytes on i386): name, namelen, iov, iovlen, control, controllen, flags. */
  private readMsghdr(msg: number) {
    if (!this.k.userRange(msg, 28, false)) return null;
    const m = this.k.mem;
    return {
      name: m.read32(msg) >>> 0,
      namelen: m.read32(msg + 4),
      iov: m.read32(msg + 8) >>> 0,
      iovlen: m.read32(msg + 12) >>> 0,
      control: m.read32(msg + 16) >>> 0,
      controllen: m.read32(msg + 20) >>> 0,
    };
  }

  /** The iovec array, each buffer checked readable (or writable when `write`). */
  private iovecs(iov: number, n: number, write: boolean): Array<[number, number]> | number {
    if (n > 1024) return -EMSGSIZE;
    const out: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) {
      const base = this.k.get32(iov + 8 * i);
      const len = this.k.get32(iov + 8 * i + 4);
      if (base === null || len === null) return -EFAULT;
      if (len < 0) return -EINVAL;
      if (len && !this.k.userRange(base >>> 0, len, write)) return -EFAULT;
      out.push([base >>> 0, len]);
    }
    return out;
  }

  sendmsg(t: Task, fd: number, msg: number, flags: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    const h = this.readMsghdr(msg);
    if (!h) return -EFAULT;
    const iov = this.iovecs(h.iov, h.iovlen, false);
    if (typeof iov === 'number') return iov;
    const total = iov.reduce((n, [, len]) => n + len, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const [base, len] of iov) {
      data.set(this.k.mem.readBytes(base, len), at);
      at += len;
    }
    let to: SockAddr | null = null;
    if (h.name) {
      const a = this.readAddr(h.name, h.namelen, f.sock.domain);
      if (typeof a === 'number') return a;
      to = a;
    }
    const rights = this.readRights(t, h.control, h.controllen, f.sock.domain);
    if (typeof rights === 'number') return rights;
    const names = this.names(t);
    const r = this.blocking(t, f, 'send', flags, () => {
      if (rights) for (const d of rights) d.refs++;
      const n = f.sock.send(data, to, names, rights);
      if (n < 0 && rights) dropRights(rights);
      return n;
    });
    return this.sigpipe(t, r, flags, f);
  }

  /** SCM_RIGHTS descriptors in a control buffer (AF_UNIX only; others are ignored). */
  private readRights(
    t: Task,
    control: number,
    len: number,
    domain: number,
  ): FileDescription[] | null | number {
    if (!control || len < 12) return null;
    if (!this.k.userRange(control, len, false)) return -EFAULT;
    const m = this.k.mem;
    const out: FileDescription[] = [];
    let at = 0;
    while (at + 12 <= len) {
      const clen = m.read32(control + at) >>> 0;
      const level = m.read32(control + at + 4);
      const type = m.read32(control + at + 8);
      if (clen < 12 || at + clen > len) return -EINVAL;
      if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        if (domain !== AF_UNIX) return -EINVAL;
        for (let o = 12; o + 4 <= clen; o += 4) {
          const d = t.process.fds.get(m.read32(control + at + o));
          if (!d) return -EBADF;
          out.push(d);
        }
      }
      at += (clen + 3) & ~3;
    }
    return out.length ? out : null;
  }

  recvmsg(t: Task, fd: number, msg: number, flags: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    const h = this.readMsghdr(msg);
    if (!h) return -EFAULT;
    const iov = this.iovecs(h.iov, h.iovlen, true);
    if (typeof iov === 'number') return iov;
    const total = iov.reduce((n, [, len]) => n + len, 0);
    return this.blocking(t, f, 'recv', flags, () => {
      const r = f.sock.recv(total, flags);
      if (typeof r === 'number') return r;
      let at = 0;
      for (const [base, len] of iov) {
        const n = Math.min(len, r.data.length - at);
        if (n <= 0) break;
        this.k.mem.writeBytes(base, r.data.subarray(at, at + n));
        at += n;
      }
      const m = this.k.mem;
      if (h.name) {
        const b = r.from ? encodeFrom(r.from, f.sock.domain) : new Uint8Array(0);
        const n = Math.min(Math.max(0, h.namelen), b.length);
        if (n && this.k.userRange(h.name, n, true)) m.writeBytes(h.name, b.subarray(0, n));
        m.write32(msg + 4, b.length);
      }
      let mflags = r.truncated ? MSG_TRUNC : 0;
      let clen = 0;
      if (r.rights) {
        const fds: number[] = [];
        for (const d of r.rights as FileDescription[]) {
          const nfd = t.process.fds.install(d, (flags & MSG_CMSG_CLOEXEC) !== 0);
          if (nfd >= 0) fds.push(nfd);
        }
        dropRights(r.rights);
        const need = 12 + 4 * fds.length;
        if (h.control && h.controllen >= need && this.k.userRange(h.control, need, true)) {
          m.write32(h.control, need);
          m.write32(h.control + 4, SOL_SOCKET);
          m.write32(h.control + 8, SCM_RIGHTS);
          fds.forEach((x, i) => m.write32(h.control + 12 + 4 * i, x));
          clen = (need + 3) & ~3;
        } else {
          for (const x of fds) t.process.fds.close(x);
          mflags |= MSG_CTRUNC;
        }
      }
      m.write32(msg + 20, clen);
      m.write32(msg + 24, mflags);
      return flags & MSG_TRUNC && f.sock.type === SOCK_DGRAM ? r.full : r.data.length;
    });
  }

  /**
   * sendmmsg/recvmmsg: sendmsg/recvmsg on each mmsghdr from `start`, msg_len set for each; returns
   * how many were transferred, or the first one's error when none was. On a blocking socket each
   * message waits (with MSG_WAITFORONE, only the first), and the wait resumes at that message.
   * `deadline` (recvmmsg's timeout, in cycles) is checked only after a message is received, as
   * Linux does (recvmmsg(2) BUGS).
   */
  mmsg(
    t: Task,
    fd: number,
    vec: number,
    vlen: number,
    flags: number,
    send: boolean,
    start = 0,
    deadline = -1,
  ): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    vlen = Math.min(vlen >>> 0, MMSG_MAX);
    const m = this.k.m;
    let n = start;
    for (; n < vlen; n++) {
      const hdr = (vec + n * MMSGHDR) >>> 0;
      if (!this.k.userRange(hdr, MMSGHDR, true)) return n > 0 ? n : -EFAULT;
      const r = send
        ? this.sendmsg(t, fd, hdr, flags | MSG_DONTWAIT)
        : this.recvmsg(t, fd, hdr, (flags & ~MSG_WAITFORONE) | MSG_DONTWAIT);
      // A blocking socket waits for each message (MSG_WAITFORONE: for the first only, below).
      if (r === -EAGAIN && !(flags & MSG_DONTWAIT) && !(f.flags & O_NONBLOCK) && f.waiters)
        return m.blockRetry(t, `${send ? 'send' : 'recv'} on socket`, [f.waiters], () =>
          this.mmsg(t, fd, vec, vlen, flags, send, n, deadline),
        );
      if (r < 0) return n > 0 ? n : r;
      this.k.mem.write32(hdr + 28, r);
      if (!send && deadline >= 0 && m.now() >= deadline) return n + 1;
      if (!send && flags & MSG_WAITFORONE) flags |= MSG_DONTWAIT;
    }
    return n;
  }

  recvmmsgCall(
    t: Task,
    fd: number,
    vec: number,
    vlen: number,
    flags: number,
    ts: number,
    wide: boolean,
  ): number {
    const deadline = this.mmsgDeadline(ts, wide);
    if (deadline < -1) return deadline;
    return this.mmsg(t, fd, vec, vlen, flags, false, 0, deadline);
  }

  /** recvmmsg's timeout (a timespec, 64-bit fields for recvmmsg_time64) as a deadline, or -errno. */
  mmsgDeadline(ts: number, wide: boolean): number {
    if (ts === 0) return -1;
    const size = wide ? 16 : 8;
    if (!this.k.userRange(ts, size, false)) return -EFAULT;
    const mem = this.k.mem;
    const lo = mem.read32(ts) >>> 0;
    const sec = wide ? mem.read32(ts + 4) * 4294967296 + lo : mem.read32(ts);
    const nsec = mem.read32(ts + (wide ? 8 : 4));
    if (sec < 0 || nsec < 0 || nsec > 999999999) return -EINVAL;
    const m = this.k.m;
    return m.now() + m.nsToCycles(sec * 1e9 + nsec);
  }

  shutdown(t: Task, fd: number, how: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    return f.sock.shutdown(how);
  }

  setsockopt(t: Task, fd: number, level: number, name: number, val: number, len: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    if (len < 0 || len > 4096) return -EINVAL;
    if (!this.k.userRange(val, len, false)) return -EFAULT;
    return f.sock.setsockopt(level, name, this.k.mem.readBytes(val, len));
  }

  getsockopt(t: Task, fd: number, level: number, name: number, val: number, lenPtr: number): number {
    const f = this.sockFile(t, fd);
    if (typeof f === 'number') return f;
    const room = this.k.get32(lenPtr);
    if (room === null) return -EFAULT;
    if (room < 0) return -EINVAL;
    const b = f.sock.getsockopt(level, name);
    if (typeof b === 'number') return b;
    const n = Math.min(room, b.length);
    if (!this.k.userRange(val, n, true)) return -EFAULT;
    this.k.mem.writeBytes(val, b.subarray(0, n));
    return this.k.put32(lenPtr, n) ? 0 : -EFAULT;
  }

  /** socketcall(call, args): the arguments are an array of longs in guest memory. */
  socketcall(t: Task, call: number, args: number): number {
    const NARGS = [0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4, 5, 4];
    const n = NARGS[call];
    if (call < 1 || n === undefined) return -EINVAL;
    if (!this.k.userRange(args, 4 * n, false)) return -EFAULT;
    const a = [0, 1, 2, 3, 4, 5].map((i) => (i < n ? this.k.mem.read32(args + 4 * i) : 0)) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    switch (call) {
      case 1:
        return this.socket(t, a[0], a[1], a[2]);
      case 2:
        return this.bind(t, a[0], a[1], a[2]);
      case 3:
        return this.connect(t, a[0], a[1], a[2]);
      case 4:
        return this.listen(t, a[0], a[1]);
      case 5:
        return this.accept(t, a[0], a[1], a[2], 0);
      case 6:
        return this.name(t, a[0], a[1], a[2], false);
      case 7:
        return this.name(t, a[0], a[1], a[2], true);
      case 8:
        return this.socketpair(t, a[0], a[1], a[2], a[3]);
      case 9:
        return this.sendto(t, a[0], a[1], a[2], a[3], 0, 0);
      case 10:
        return this.recvfrom(t, a[0], a[1], a[2], a[3], 0, 0);
      case 11:
        return this.sendto(t, a[0], a[1], a[2], a[3], a[4], a[5]);
      case 12:
        return this.recvfrom(t, a[0], a[1], a[2], a[3], a[4], a[5]);
      case 13:
        return this.shutdown(t, a[0], a[1]);
      case 14:
        return this.setsockopt(t, a[0], a[1], a[2], a[3], a[4]);
      case 15:
        return this.getsockopt(t, a[0], a[1], a[2], a[3], a[4]);
      case 16:
        return this.sendmsg(t, a[0], a[1], a[2]);
      case 17:
        return this.recvmsg(t, a[0], a[1], a[2]);
      case 18:
        return this.accept(t, a[0], a[1], a[2], a[3]);
      case 19:
        return this.recvmmsgCall(t, a[0], a[1], a[2], a[3], a[4], false);
      case 20:
        return this.mmsg(t, a[0], a[1], a[2], a[3], true);
      default:
        return -EINVAL;
    }
  }
}

function encodeFrom(a: SockAddr, domain: number): Uint8Array {
  return encodeSockaddr(a, domain);
}

export function registerNet(k: Kernel, net: Net): void {
  const T = k.table;
  T.define('socketcall', (t, a, b) => net.socketcall(t, a, b));
  T.define('socket', (t, a, b, c) => net.socket(t, a, b, c));
  T.define('socketpair', (t, a, b, c, d) => net.socketpair(t, a, b, c, d));
  T.define('bind', (t, a, b, c) => net.bind(t, a, b, c));
  T.define('connect', (t, a, b, c) => net.connect(t, a, b, c));
  T.define('listen', (t, a, b) => net.listen(t, a, b));
  T.define('accept4', (t, a, b, c, d) => net.accept(t, a, b, c, d));
  T.define('getsockopt', (t, a, b, c, d, e) => net.getsockopt(t, a, b, c, d, e));
  T.define('setsockopt', (t, a, b, c, d, e) => net.setsockopt(t, a, b, c, d, e));
  T.define('getsockname', (t, a, b, c) => net.name(t, a, b, c, false));
  T.define('getpeername', (t, a, b, c) => net.name(t, a, b, c, true));
  T.define('sendto', (t, a, b, c, d, e, f) => net.sendto(t, a, b, c, d, e, f));
  T.define('sendmsg', (t, a, b, c) => net.sendmsg(t, a, b, c));
  T.define('recvfrom', (t, a, b, c, d, e, f) => net.recvfrom(t, a, b, c, d, e, f));
  T.define('recvmsg', (t, a, b, c) => net.recvmsg(t, a, b, c));
  T.define('shutdown', (t, a, b) => net.shutdown(t, a, b));
  T.define('sendmmsg', (t, a, b, c, d) => net.mmsg(t, a, b, c, d, true));
  T.define('recvmmsg', (t, a, b, c, d, e) => net.recvmmsgCall(t, a, b, c, d, e, false));
  T.define('recvmmsg_time64', (t, a, b, c, d, e) => net.recvmmsgCall(t, a, b, c, d, e, true));
}
