// Socket addresses as the guest passes them (struct sockaddr_un, sockaddr_in, sockaddr_in6) parsed
// into one internal form and encoded back. Inet addresses are kept as 16 bytes (IPv4 as
// v4-mapped IPv6, ::ffff:a.b.c.d), so one port table serves both families as Linux's does.
// Guarantees: a malformed or short address is EINVAL, a family the socket does not have is
// EAFNOSUPPORT, never an exception; nothing here names a host interface.

import { EAFNOSUPPORT, EINVAL } from './vfs-errno.js';

export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

export interface UnixAddr {
  family: typeof AF_UNIX;
  /** Path (or abstract name, without its leading NUL); '' = unnamed. */
  path: string;
  abstract: boolean;
}

export interface InetAddr {
  family: typeof AF_INET | typeof AF_INET6;
  /** 16 bytes; IPv4 is ::ffff:a.b.c.d. */
  ip: Uint8Array;
  port: number;
}

export type SockAddr = UnixAddr | InetAddr;

const V4_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

export function v4(a: number, b: number, c: number, d: number): Uint8Array {
  return new Uint8Array([...V4_PREFIX, a, b, c, d]);
}

export const ANY6 = new Uint8Array(16);

export function isV4Mapped(ip: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) if (ip[i] !== V4_PREFIX[i]) return false;
  return true;
}

/** 0.0.0.0, :: (and ::ffff:0.0.0.0). */
export function isAny(ip: Uint8Array): boolean {
  if (isV4Mapped(ip)) return ip[12] === 0 && ip[13] === 0 && ip[14] === 0 && ip[15] === 0;
  return ip.every((b) => b === 0);
}

/** An address on this machine: 127.0.0.0/8, ::1, or the wildcard (which connect treats as local). */
export function isLocal(ip: Uint8Array): boolean {
  if (isAny(ip)) return true;
  if (isV4Mapped(ip)) return ip[12] === 127;
  for (let i = 0; i < 15; i++) if (ip[i] !== 0) return false;
  return ip[15] === 1;
}

export function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Parses `len` bytes of a sockaddr for a socket of `domain`. */
export function parseSockaddr(b: Uint8Array, domain: number): SockAddr | number {
  if (b.length < 2) return -EINVAL;
  const family = b[0]! | (b[1]! << 8);
  if (domain === AF_UNIX) {
    if (family !== AF_UNIX) return -EINVAL;
    if (b.length === 2) return { family: AF_UNIX, path: '', abstract: false };
    if (b.length > 110) return -EINVAL;
    if (b[2] === 0) {
      return { family: AF_UNIX, path: Buffer.from(b.subarray(3)).toString('latin1'), abstract: true };
    }
    let end = 2;
    while (end < b.length && b[end] !== 0) end++;
    return { family: AF_UNIX, path: Buffer.from(b.subarray(2, end)).toString('utf8'), abstract: false };
  }
  const port = (b[2]! << 8) | b[3]!;
  if (family === AF_INET) {
    if (b.length < 16) return -EINVAL;
    // An AF_INET6 socket may not use an AF_INET address (Linux: EAFNOSUPPORT/EINVAL).
    if (domain !== AF_INET) return -EAFNOSUPPORT;
    return { family: AF_INET, ip: v4(b[4]!, b[5]!, b[6]!, b[7]!), port };
  }
  if (family === AF_INET6) {
    if (domain !== AF_INET6) return -EAFNOSUPPORT;
    if (b.length < 24) return -EINVAL;
    return { family: AF_INET6, ip: new Uint8Array(b.subarray(8, 24)), port };
  }
  if (family === AF_UNSPEC) return -EAFNOSUPPORT;
  return -EAFNOSUPPORT;
}

/** Encodes an address as the socket's family shows it (getsockname, accept, recvfrom). */
export function encodeSockaddr(a: SockAddr, domain: number): Uint8Array {
  if (a.family === AF_UNIX) {
    if (a.path === '' && !a.abstract) return new Uint8Array([AF_UNIX, 0]);
    const name = a.abstract ? Buffer.from(a.path, 'latin1') : Buffer.from(a.path, 'utf8');
    const out = new Uint8Array(2 + (a.abstract ? 1 : 0) + name.length + (a.abstract ? 0 : 1));
    out[0] = AF_UNIX;
    out.set(name, a.abstract ? 3 : 2);
    return out;
  }
  if (domain === AF_INET) {
    const out = new Uint8Array(16);
    out[0] = AF_INET;
    out[2] = a.port >> 8;
    out[3] = a.port & 0xff;
    out.set(a.ip.subarray(12, 16), 4);
    return out;
  }
  const out = new Uint8Array(28);
  out[0] = AF_INET6;
  out[2] = a.port >> 8;
  out[3] = a.port & 0xff;
  out.set(a.ip, 8);
  return out;
}
