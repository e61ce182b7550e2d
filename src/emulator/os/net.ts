// Sockets that never leave the machine: AF_UNIX stream and datagram sockets (socketpair, or bound to
// a path in the overlay file system or to an abstract name) and AF_INET/AF_INET6 stream (TCP) and
// datagram (UDP) sockets on loopback between guest tasks. Guarantees:
//  - no host socket is ever opened: a connect or send to an address that is not this machine
//    (127.0.0.0/8, ::1, the wildcard) fails with ENETUNREACH, a bind to one with EADDRNOTAVAIL;
//  - everything is deterministic: ephemeral ports are handed out from 32768 upwards in call order,
//    a connection is established when connect is called (the listener's accept queue holds it), and
//    data moves only when the guest sends it;
//  - calls never block by themselves: a call that would block returns -EAGAIN and the kernel waits
//    on the socket's wait queue (see `changed`) and retries, as for pipes; every state change that
//    can make another socket ready calls that socket's `changed`.

import {
  ANY6,
  AF_INET,
  AF_INET6,
  AF_UNIX,
  encodeSockaddr,
  isAny,
  isLocal,
  isV4Mapped,
  sameIp,
  type InetAddr,
  type SockAddr,
  type UnixAddr,
} from './net-addr.js';
import {
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAGAIN,
  ECONNREFUSED,
  ECONNRESET,
  EDESTADDRREQ,
  EINPROGRESS,
  EINVAL,
  EISCONN,
  EMSGSIZE,
  ENETUNREACH,
  ENOPROTOOPT,
  ENOTCONN,
  EOPNOTSUPP,
  EPIPE,
} from './vfs-errno.js';

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;

export const MSG_OOB = 1;
export const MSG_PEEK = 2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

const POLLIN = 0x1;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLRDNORM = 0x40;
const POLLWRNORM = 0x100;
const POLLRDHUP = 0x2000;

/** Bytes a socket may hold unread (Linux's default rmem is about this). */
const RCVBUF = 212992;
const SOMAXCONN = 4096;
const EPHEMERAL_LO = 32768;
const EPHEMERAL_HI = 60999;
const MAX_DGRAM = 65507;

export const SOL_SOCKET = 1;
const IPPROTO_IP = 0;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_IPV6 = 41;

/** A message (datagram) or a run of stream bytes, with its sender and any passed descriptors. */
interface Chunk {
  data: Uint8Array;
  off: number;
  from: SockAddr | null;
  /** SCM_RIGHTS payload (opaque to the socket layer): handed to the receiver with the bytes. */
  rights: unknown[] | null;
}

export interface RecvResult {
  data: Uint8Array;
  from: SockAddr | null;
  /** MSG_TRUNC in msg_flags: the datagram was longer than the buffer. */
  truncated: boolean;
  /** Full length of the datagram (for MSG_TRUNC in the flags argument). */
  full: number;
  rights: unknown[] | null;
}

/** How the syscall layer binds and finds AF_UNIX path names (in the overlay file system). */
export interface UnixNames {
  /** Creates the socket node at `path`; 0 or -errno (EADDRINUSE if the name exists). */
  bind(path: string, s: Socket): number;
  /** The socket bound at `path`, or -errno (ENOENT, ECONNREFUSED for a non-socket). */
  find(path: string): Socket | number;
}

export interface Cred {
  pid: number;
  uid: number;
  gid: number;
}

export class NetStack {
  private nextPort = EPHEMERAL_LO;
  /** Inet sockets holding a local port, per type (SOCK_STREAM / SOCK_DGRAM). */
  private readonly ports = new Map<number, Socket[]>();
  readonly abstractNames = new Map<string, Socket>();
  private nextIno = 0x20000;

  ino(): number {
    return this.nextIno++;
  }

  create(domain: number, type: number, protocol: number, cred: Cred): Socket | number {
    if (domain !== AF_UNIX && domain !== AF_INET && domain !== AF_INET6) return -97; // EAFNOSUPPORT
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM && !(type === SOCK_SEQPACKET && domain === AF_UNIX))
      return -94; // ESOCKTNOSUPPORT
    if (domain !== AF_UNIX) {
      const want = type === SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
      if (protocol !== 0 && protocol !== want) return -93; // EPROTONOSUPPORT
      protocol = want;
    } else if (protocol !== 0) return -93;
    return new Socket(this, domain, type, protocol, cred);
  }

  /** socketpair(AF_UNIX, type): two connected sockets. */
  pair(type: number, cred: Cred): [Socket, Socket] | number {
    const a = this.create(AF_UNIX, type, 0, cred);
    if (typeof a === 'number') return a;
    const b = new Socket(this, AF_UNIX, type, 0, cred);
    a.peer = b;
    b.peer = a;
    a.state = b.state = 'connected';
    a.local = b.local = a.remote = b.remote = { family: AF_UNIX, path: '', abstract: false };
    a.peerCred = b.peerCred = cred;
    return [a, b];
  }

  private table(type: number): Socket[] {
    const t = type === SOCK_DGRAM ? SOCK_DGRAM : SOCK_STREAM;
    let l = this.ports.get(t);
    if (!l) {
      l = [];
      this.ports.set(t, l);
    }
    return l;
  }

  /** Two bindings conflict on one port unless their addresses are distinct and specific. */
  private conflicts(s: Socket, ip: Uint8Array, port: number): boolean {
    for (const o of this.table(s.type)) {
      const l = o.local as InetAddr;
      if (o === s || l.port !== port) continue;
      if (!(isAny(l.ip) || isAny(ip) || sameIp(l.ip, ip))) continue;
      // Families only meet on the wildcard when the IPv6 socket is not v6-only.
      if (o.domain !== s.domain) {
        const six = o.domain === AF_INET6 ? o : s;
        if (six.v6only) continue;
      }
      if (o.reuseAddr && s.reuseAddr && o.state !== 'listening') continue;
      if (o.reusePort && s.reusePort) continue;
      return true;
    }
    return false;
  }

  bindInet(s: Socket, ip: Uint8Array, port: number): number {
    if (!isLocal(ip)) return -EADDRNOTAVAIL;
    if (port === 0) {
      const span = EPHEMERAL_HI - EPHEMERAL_LO + 1;
      let found = -1;
      for (let k = 0; k < span; k++) {
        const p = EPHEMERAL_LO + ((this.nextPort - EPHEMERAL_LO + k) % span);
        if (!this.conflicts(s, ip, p)) {
          found = p;
          break;
        }
      }
      if (found < 0) return -EADDRINUSE;
      this.nextPort = found + 1 > EPHEMERAL_HI ? EPHEMERAL_LO : found + 1;
      port = found;
    } else if (this.conflicts(s, ip, port)) return -EADDRINUSE;
    s.local = { family: s.domain as typeof AF_INET, ip, port };
    this.table(s.type).push(s);
    return 0;
  }

  unbind(s: Socket): void {
    if (s.domain === AF_UNIX) {
      const l = s.local as UnixAddr | null;
      if (l?.abstract && this.abstractNames.get(l.path) === s) this.abstractNames.delete(l.path);
      return;
    }
    const t = this.table(s.type);
    const i = t.indexOf(s);
    if (i >= 0) t.splice(i, 1);
  }

  /** The socket an inet packet or connection to `to` reaches: exact address first, then wildcard. */
  findInet(type: number, from: Socket, to: InetAddr, listening: boolean): Socket | null {
    let wild: Socket | null = null;
    for (const o of this.table(type)) {
      const l = o.local as InetAddr;
      if (l.port !== to.port || (listening && o.state !== 'listening')) continue;
      if (o.domain === AF_INET && from.domain === AF_INET6 && !isV4Mapped(to.ip)) continue;
      if (o.domain === AF_INET6 && o.v6only && isV4Mapped(to.ip)) continue;
      if (sameIp(l.ip, to.ip)) return o;
      if (isAny(l.ip) && !wild) wild = o;
    }
    return wild;
  }
}

export type SocketState = 'unbound' | 'bound' | 'listening' | 'connected' | 'closed';

export class Socket {
  state: SocketState = 'unbound';
  local: SockAddr | null = null;
  remote: SockAddr | null = null;
  peer: Socket | null = null;
  readonly ino: number;
  /** Unread data. */
  private rx: Chunk[] = [];
  private rxBytes = 0;
  /** This side will not read / write any more (shutdown or close). */
  rdShut = false;
  wrShut = false;
  /** The peer closed or shut its writing side: reads see end of file after the data. */
  peerWrShut = false;
  /** The peer is gone entirely: writes fail with EPIPE. */
  peerClosed = false;
  /** A stream that was reset (its listener closed before accepting it). */
  reset = false;
  backlog = 0;
  private acceptQ: Socket[] = [];
  /** Sockets whose connect waits for room in this listener's backlog. */
  private connectWaiters: Socket[] = [];
  /** Pending error for SO_ERROR. */
  error = 0;
  reuseAddr = false;
  reusePort = false;
  v6only = false;
  /** Options stored for getsockopt (level:name -> value bytes). */
  private readonly opts = new Map<string, Uint8Array>();
  peerCred: Cred | null = null;
  /** Called whenever this socket's readiness may have changed (the descriptor wakes its waiters). */
  changed: () => void = () => {};

  constructor(
    readonly net: NetStack,
    readonly domain: number,
    readonly type: number,
    readonly protocol: number,
    readonly cred: Cred,
  ) {
    this.ino = net.ino();
    if (domain === AF_INET6) this.v6only = false;
  }

  get stream(): boolean {
    return this.type !== SOCK_DGRAM;
  }

  /** Message boundaries are kept (datagram and seqpacket). */
  private get packets(): boolean {
    return this.type !== SOCK_STREAM;
  }

  // ---------------------------------------------------------------- naming

  bind(addr: SockAddr, names: UnixNames): number {
    if (
      this.local &&
      !(this.domain === AF_UNIX && (this.local as UnixAddr).path === '' && !(this.local as UnixAddr).abstract)
    )
      return -EINVAL;
    if (this.state === 'closed') return -EINVAL;
    if (addr.family === AF_UNIX) {
      if (addr.path === '' && !addr.abstract) return this.autobindUnix();
      if (addr.abstract) {
        if (this.net.abstractNames.has(addr.path)) return -EADDRINUSE;
        this.net.abstractNames.set(addr.path, this);
      } else {
        const r = names.bind(addr.path, this);
        if (r < 0) return r;
      }
      this.local = addr;
      if (this.state === 'unbound') this.state = 'bound';
      return 0;
    }
    const r = this.net.bindInet(this, addr.ip, addr.port);
    if (r === 0 && this.state === 'unbound') this.state = 'bound';
    return r;
  }

  /** Linux autobind for AF_UNIX: an abstract name of five hex digits. */
  private autobindUnix(): number {
    for (let k = 0; k < 0x100000; k++) {
      const name = k.toString(16).padStart(5, '0');
      if (!this.net.abstractNames.has(name)) {
        this.net.abstractNames.set(name, this);
        this.local = { family: AF_UNIX, path: name, abstract: true };
        if (this.state === 'unbound') this.state = 'bound';
        return 0;
      }
    }
    return -EADDRINUSE;
  }

  private autobindInet(): number {
    if (this.local) return 0;
    const r = this.net.bindInet(this, ANY6Local(this.domain), 0);
    if (r === 0 && this.state === 'unbound') this.state = 'bound';
    return r;
  }

  sockname(): Uint8Array {
    const a: SockAddr =
      this.local ??
      (this.domain === AF_UNIX
        ? { family: AF_UNIX, path: '', abstract: false }
        : { family: this.domain as typeof AF_INET, ip: ANY6Local(this.domain), port: 0 });
    return encodeSockaddr(a, this.domain);
  }

  peername(): Uint8Array | number {
    if (this.state !== 'connected' || !this.remote) return -ENOTCONN;
    return encodeSockaddr(this.remote, this.domain);
  }

  // ---------------------------------------------------------------- connections

  listen(backlog: number): number {
    if (!this.stream) return -EOPNOTSUPP;
    if (this.state === 'connected' || this.state === 'closed') return -EINVAL;
    if (this.domain === AF_UNIX) {
      if (!this.local) return -EINVAL;
    } else {
      const r = this.autobindInet();
      if (r) return r;
    }
    this.backlog = Math.max(1, Math.min(backlog < 0 ? SOMAXCONN : backlog, SOMAXCONN));
    this.state = 'listening';
    this.wakeConnectors();
    return 0;
  }

  /**
   * connect: `nonblock` for the EINPROGRESS answer a nonblocking TCP connect gives on Linux.
   * Returns 0, -EAGAIN (wait and retry: the listener's backlog is full) or -errno.
   */
  connect(addr: SockAddr, names: UnixNames, nonblock: boolean): number {
    if (this.state === 'listening') return -EINVAL;
    if (!this.stream) return this.connectDgram(addr, names);
    if (this.state === 'connected') return -EISCONN;
    let listener: Socket | number;
    if (addr.family === AF_UNIX) {
      listener = this.findUnix(addr, names);
    } else {
      if (!isLocal(addr.ip)) return -ENETUNREACH;
      if (addr.port === 0) return -ECONNREFUSED;
      const r = this.autobindInet();
      if (r) return r;
      listener =
        this.net.findInet(SOCK_STREAM, this, { ...addr, ip: connectIp(addr.ip, this.domain) }, true) ??
        -ECONNREFUSED;
    }
    if (typeof listener === 'number') return listener;
    if (listener.state !== 'listening' || listener.type !== this.type) return -ECONNREFUSED;
    if (listener.acceptQ.length >= listener.backlog) {
      if (!listener.connectWaiters.includes(this)) listener.connectWaiters.push(this);
      return -EAGAIN;
    }
    // The server side of the new connection waits in the listener's accept queue.
    const srv = new Socket(this.net, listener.domain, this.type, this.protocol, listener.cred);
    srv.state = 'connected';
    srv.peer = this;
    srv.peerCred = this.cred;
    this.peer = srv;
    this.peerCred = listener.cred;
    this.state = 'connected';
    if (this.domain === AF_UNIX) {
      srv.local = listener.local;
      srv.remote = this.local ?? { family: AF_UNIX, path: '', abstract: false };
      this.remote = listener.local;
    } else {
      const to = addr as InetAddr;
      const lip = (listener.local as InetAddr).ip;
      const dst = isAny(to.ip) ? loopbackIp(this.domain) : to.ip;
      srv.local = {
        family: listener.domain as typeof AF_INET,
        ip: isAny(lip) ? ipFor(dst, listener.domain) : lip,
        port: to.port,
      };
      const mine = this.local as InetAddr;
      if (isAny(mine.ip)) this.local = { ...mine, ip: ipFor(dst, this.domain) };
      srv.remote = { ...(this.local as InetAddr), ip: ipFor((this.local as InetAddr).ip, listener.domain) };
      this.remote = { family: this.domain as typeof AF_INET, ip: ipFor(dst, this.domain), port: to.port };
    }
    listener.acceptQ.push(srv);
    listener.changed();
    // Linux answers a nonblocking TCP connect with EINPROGRESS even on loopback; here the
    // connection is already established, so the socket is writable at once.
    if (nonblock && this.domain !== AF_UNIX) return -EINPROGRESS;
    return 0;
  }

  private findUnix(addr: UnixAddr, names: UnixNames): Socket | number {
    if (addr.abstract) return this.net.abstractNames.get(addr.path) ?? -ECONNREFUSED;
    if (addr.path === '') return -EINVAL;
    return names.find(addr.path);
  }

  private connectDgram(addr: SockAddr, names: UnixNames): number {
    if (addr.family === AF_UNIX) {
      const t = this.findUnix(addr, names);
      if (typeof t === 'number') return t;
      if (t.type !== this.type) return -ECONNREFUSED;
      this.peer = t;
      this.remote = t.local;
    } else {
      if (!isLocal(addr.ip)) return -ENETUNREACH;
      const r = this.autobindInet();
      if (r) return r;
      this.remote = { ...addr, ip: connectIp(addr.ip, this.domain) };
      const mine = this.local as InetAddr;
      if (isAny(mine.ip)) this.local = { ...mine, ip: ipFor(loopbackIp(AF_INET), this.domain) };
    }
    this.state = 'connected';
    return 0;
  }

  /** accept: the next established connection, or -EAGAIN (wait and retry). */
  accept(): Socket | number {
    if (this.state !== 'listening') return -EINVAL;
    const s = this.acceptQ.shift();
    if (!s) return -EAGAIN;
    this.wakeConnectors();
    return s;
  }

  private wakeConnectors(): void {
    const ws = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of ws) w.changed();
  }

  // ---------------------------------------------------------------- data

  /** Bytes of room in this socket's receive buffer. */
  private room(): number {
    return RCVBUF - this.rxBytes;
  }

  private deliver(c: Chunk): void {
    this.rx.push(c);
    this.rxBytes += c.data.length;
    this.changed();
  }

  /**
   * send/sendto/sendmsg. Returns bytes sent, -EAGAIN (no room: wait and retry), -EPIPE (the caller
   * raises SIGPIPE unless MSG_NOSIGNAL) or another -errno.
   */
  send(data: Uint8Array, to: SockAddr | null, names: UnixNames, rights: unknown[] | null = null): number {
    if (this.stream) {
      if (this.state === 'listening' || this.state === 'unbound' || this.state === 'bound')
        return this.domain !== AF_UNIX ? -EPIPE : -ENOTCONN; // TCP in CLOSE state: EPIPE
      if (this.reset) return -ECONNRESET;
      if (this.wrShut || this.peerClosed || !this.peer) return -EPIPE;
      const peer = this.peer;
      if (peer.rdShut && this.domain === AF_UNIX) return -EPIPE;
      if (this.packets && data.length > RCVBUF) return -EMSGSIZE;
      const room = peer.room();
      if (room <= 0 || (this.packets && room < data.length)) return -EAGAIN;
      const n = this.packets ? data.length : Math.min(room, data.length);
      peer.deliver({ data: data.slice(0, n), off: 0, from: null, rights });
      return n;
    }
    // Datagrams.
    let target: Socket | null;
    let dest: SockAddr | null = to;
    if (!dest) {
      if (this.state !== 'connected') return this.domain === AF_UNIX ? -ENOTCONN : -EDESTADDRREQ;
      dest = this.remote;
    }
    if (data.length > MAX_DGRAM && this.domain !== AF_UNIX) return -EMSGSIZE;
    if (dest!.family === AF_UNIX) {
      const t = this.peer && !to ? this.peer : this.findUnix(dest as UnixAddr, names);
      if (typeof t === 'number') return t;
      if (t.type !== this.type || t.state === 'closed') return -ECONNREFUSED;
      if (t.peer && t.peer !== this && t.state === 'connected') return -EPERM_;
      if (t.room() < data.length) {
        if (!t.dgramWriters.includes(this)) t.dgramWriters.push(this);
        return -EAGAIN;
      }
      target = t;
    } else {
      const d = dest as InetAddr;
      if (!isLocal(d.ip)) return -ENETUNREACH;
      const r = this.autobindInet();
      if (r) return r;
      target = this.net.findInet(SOCK_DGRAM, this, { ...d, ip: connectIp(d.ip, this.domain) }, false);
      // Nobody bound there, or no room: UDP drops the datagram (the send still succeeds).
      if (!target || target.room() < data.length || target.rdShut) return data.length;
    }
    let from: SockAddr | null = this.local;
    if (from && from.family !== AF_UNIX && isAny(from.ip))
      from = { ...from, ip: ipFor(loopbackIp(AF_INET), this.domain) };
    if (from && from.family !== AF_UNIX && target.domain !== this.domain)
      from = { ...from, ip: ipFor(from.ip, target.domain) };
    target.deliver({ data: data.slice(), off: 0, from, rights });
    return data.length;
  }

  /** recv: up to `len` bytes, or -EAGAIN (wait and retry), or -errno. A stream at end gives 0 bytes. */
  recv(len: number, flags: number): RecvResult | number {
    if (this.stream && this.state !== 'connected') return this.state === 'closed' ? -EINVAL_ : -ENOTCONN;
    if (this.reset && this.rxBytes === 0) return -ECONNRESET;
    if (this.rx.length === 0) {
      if (this.rdShut || (this.stream && (this.peerWrShut || this.peerClosed))) return empty();
      return -EAGAIN;
    }
    const peek = (flags & MSG_PEEK) !== 0;
    if (this.packets) {
      const c = this.rx[0]!;
      const full = c.data.length;
      const data = c.data.subarray(0, Math.min(len, full));
      if (!peek) {
        this.rx.shift();
        this.rxBytes -= full;
        this.roomFreed();
      }
      return { data, from: c.from, truncated: full > len, full, rights: peek ? null : c.rights };
    }
    if (
      flags & MSG_WAITALL &&
      !peek &&
      this.rxBytes < len &&
      !(this.peerWrShut || this.peerClosed || this.rdShut) &&
      this.rxBytes < RCVBUF
    )
      return -EAGAIN;
    // Stream: gather bytes across chunks, stopping before a chunk that carries descriptors.
    const out = new Uint8Array(Math.min(len, this.rxBytes));
    let got = 0;
    let rights: unknown[] | null = null;
    let i = 0;
    while (got < out.length && i < this.rx.length) {
      const c = this.rx[i]!;
      if (c.rights && got > 0) break;
      const n = Math.min(out.length - got, c.data.length - c.off);
      out.set(c.data.subarray(c.off, c.off + n), got);
      got += n;
      if (!peek) {
        if (c.rights) {
          rights = c.rights;
          c.rights = null;
        }
        c.off += n;
        if (c.off >= c.data.length) this.rx.shift();
        else break;
      } else i++;
    }
    if (!peek) {
      this.rxBytes -= got;
      this.roomFreed();
    }
    return { data: out.subarray(0, got), from: this.remote, truncated: false, full: got, rights };
  }

  private roomFreed(): void {
    // A writer to this socket may have been waiting for room.
    if (this.peer) this.peer.changed();
    for (const w of this.dgramWriters) w.changed();
    this.dgramWriters.length = 0;
  }

  /** AF_UNIX datagram senders blocked on this socket's full queue (woken when room is freed). */
  readonly dgramWriters: Socket[] = [];

  /** FIONREAD: bytes (stream) or the next datagram's size. */
  available(): number {
    if (this.packets) return this.rx[0]?.data.length ?? 0;
    return this.rxBytes;
  }

  shutdown(how: number): number {
    if (how < 0 || how > 2) return -EINVAL;
    if (this.stream && this.state !== 'connected') return -ENOTCONN;
    if (how === 0 || how === 2) this.rdShut = true;
    if (how === 1 || how === 2) {
      this.wrShut = true;
      if (this.peer) {
        this.peer.peerWrShut = true;
        this.peer.changed();
      }
    }
    this.changed();
    return 0;
  }

  /** The last descriptor was closed. */
  close(): void {
    if (this.state === 'closed') return;
    const wasListening = this.state === 'listening';
    this.state = 'closed';
    this.net.unbind(this);
    if (wasListening) {
      // Connections never accepted are reset; their clients see ECONNRESET / end of file.
      for (const s of this.acceptQ) s.close();
      this.acceptQ = [];
      this.wakeConnectors();
    }
    const p = this.peer;
    if (p && this.stream) {
      p.peerClosed = true;
      p.peerWrShut = true;
      if (this.rxBytes > 0 && this.domain !== AF_UNIX) p.reset = true;
      p.changed();
    }
    // Descriptors still in flight to this socket (SCM_RIGHTS) are dropped with it, as Linux does.
    for (const c of this.rx) if (c.rights) this.discardRights(c.rights);
    this.rx = [];
    this.rxBytes = 0;
    this.changed();
  }

  /** Releases descriptors passed in a message nobody will receive (set by the descriptor layer). */
  discardRights: (rights: unknown[]) => void = () => {};

  /** poll(2) bits now. */
  poll(): number {
    let m = 0;
    if (this.error) m |= POLLERR;
    if (this.state === 'listening') return this.acceptQ.length > 0 ? POLLIN | POLLRDNORM : 0;
    if (this.rx.length > 0) m |= POLLIN | POLLRDNORM;
    if (this.stream) {
      if (this.state !== 'connected') return m | POLLOUT | POLLWRNORM | POLLHUP;
      if (this.peerWrShut || this.peerClosed || this.rdShut) m |= POLLIN | POLLRDNORM | POLLRDHUP;
      if (
        (this.peerClosed && this.wrShut) ||
        (this.rdShut && this.wrShut) ||
        (this.peerClosed && this.domain === AF_UNIX)
      )
        m |= POLLHUP;
      if (this.reset) m |= POLLERR;
      if (!this.wrShut && !this.peerClosed && this.peer && this.peer.room() > 0) m |= POLLOUT | POLLWRNORM;
      else if (this.peerClosed || this.wrShut) m |= POLLOUT | POLLWRNORM;
      return m;
    }
    if (this.rdShut) m |= POLLIN | POLLRDNORM;
    const t = this.peer;
    if (!t || t.room() > 0) m |= POLLOUT | POLLWRNORM;
    return m;
  }

  // ---------------------------------------------------------------- options

  /** getsockopt: the option's bytes (already at most `len`), or -errno. */
  getsockopt(level: number, name: number): Uint8Array | number {
    const i32 = (v: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v, true);
      return b;
    };
    if (level === SOL_SOCKET) {
      switch (name) {
        case 3: // SO_TYPE
          return i32(this.type);
        case 4: {
          // SO_ERROR: reading clears it
          const e = this.error;
          this.error = 0;
          return i32(e);
        }
        case 2:
          return i32(this.reuseAddr ? 1 : 0);
        case 15:
          return i32(this.reusePort ? 1 : 0);
        case 30: // SO_ACCEPTCONN
          return i32(this.state === 'listening' ? 1 : 0);
        case 39: // SO_DOMAIN
          return i32(this.domain);
        case 38: // SO_PROTOCOL
          return i32(this.protocol);
        case 7: // SO_SNDBUF
        case 8: // SO_RCVBUF
          return this.opts.get(`${level}:${name}`) ?? i32(RCVBUF);
        case 17: {
          // SO_PEERCRED: struct ucred { pid, uid, gid }
          if (this.domain !== AF_UNIX) return -ENOPROTOOPT;
          const c = this.peerCred ?? { pid: 0, uid: -1, gid: -1 };
          const b = new Uint8Array(12);
          const v = new DataView(b.buffer);
          v.setInt32(0, c.pid, true);
          v.setInt32(4, c.uid, true);
          v.setInt32(8, c.gid, true);
          return b;
        }
      }
    }
    if (level === IPPROTO_IPV6 && name === 26) {
      if (this.domain !== AF_INET6) return -ENOPROTOOPT;
      return i32(this.v6only ? 1 : 0);
    }
    const stored = this.opts.get(`${level}:${name}`);
    if (stored) return stored;
    if (level === SOL_SOCKET) {
      // SO_KEEPALIVE, SO_BROADCAST, SO_OOBINLINE, SO_LINGER, SO_RCVTIMEO... default to zero.
      if (name === 13 || name === 20 || name === 21 || name === 66 || name === 67) return new Uint8Array(8);
      return i32(0);
    }
    if (level === IPPROTO_TCP && this.stream && this.domain !== AF_UNIX) {
      if (name === 2) return i32(536); // TCP_MAXSEG before connect
      return i32(0);
    }
    if (level === IPPROTO_IP || level === IPPROTO_IPV6) return i32(0);
    return -ENOPROTOOPT;
  }

  setsockopt(level: number, name: number, value: Uint8Array): number {
    const v =
      value.length >= 4 ? new DataView(value.buffer, value.byteOffset, 4).getInt32(0, true) : (value[0] ?? 0);
    if (level === SOL_SOCKET) {
      if (name === 2) this.reuseAddr = v !== 0;
      else if (name === 15) this.reusePort = v !== 0;
      else if (name === 3 || name === 4 || name === 30 || name === 39 || name === 38 || name === 17)
        return -ENOPROTOOPT;
    } else if (level === IPPROTO_IPV6 && name === 26) {
      if (this.domain !== AF_INET6) return -ENOPROTOOPT;
      if (this.local) return -EINVAL;
      this.v6only = v !== 0;
      return 0;
    } else if (level === IPPROTO_TCP) {
      if (!this.stream || this.domain === AF_UNIX) return -EOPNOTSUPP;
    } else if (level !== IPPROTO_IP && level !== IPPROTO_IPV6 && level !== IPPROTO_UDP) return -ENOPROTOOPT;
    this.opts.set(`${level}:${name}`, value.slice());
    return 0;
  }

  /** SO_RCVTIMEO / SO_SNDTIMEO as nanoseconds (0 = none). */
  timeoutNs(send: boolean): number {
    const b = this.opts.get(`${SOL_SOCKET}:${send ? 21 : 20}`);
    if (!b || b.length < 8) return 0;
    const v = new DataView(b.buffer, b.byteOffset, 8);
    return v.getInt32(0, true) * 1e9 + v.getInt32(4, true) * 1000;
  }
}

const EPERM_ = 1;
const EINVAL_ = EINVAL;

function empty(): RecvResult {
  return { data: new Uint8Array(0), from: null, truncated: false, full: 0, rights: null };
}

/** The wildcard address of a family, in the internal 16-byte form. */
function ANY6Local(domain: number): Uint8Array {
  return domain === AF_INET ? new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]) : ANY6;
}

function loopbackIp(domain: number): Uint8Array {
  return domain === AF_INET
    ? new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1])
    : new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
}

/** Where a connect to `ip` goes: the wildcard means this host's loopback. */
function connectIp(ip: Uint8Array, domain: number): Uint8Array {
  return isAny(ip) ? loopbackIp(domain) : ip;
}

/** `ip` as a socket of `domain` shows it (IPv4 peers of an IPv6 socket appear v4-mapped). */
function ipFor(ip: Uint8Array, domain: number): Uint8Array {
  if (domain === AF_INET6) return ip;
  return isV4Mapped(ip) ? ip : loopbackIp(AF_INET);
}
