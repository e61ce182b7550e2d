// The in-machine socket layer on its own (no guest): connection set-up, data, end of file and the
// errors socket(7), tcp(7), udp(7) and unix(7) specify. The guest-level behaviour is compared with
// qemu-i386 running real programs in net-guest.test.ts; this file pins the cases a differential run
// cannot show deterministically (ephemeral port order, unreachable addresses).

import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  encodeSockaddr,
  parseSockaddr,
  v4,
  type SockAddr,
} from '../../src/emulator/os/net-addr.js';
import {
  NetStack,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  Socket,
  type UnixNames,
} from '../../src/emulator/os/net.js';
import {
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAGAIN,
  ECONNREFUSED,
  EINPROGRESS,
  ENETUNREACH,
  ENOTCONN,
  EPIPE,
} from '../../src/emulator/os/vfs-errno.js';

const cred = { pid: 1000, uid: 1000, gid: 1000 };
const names: UnixNames = {
  bind: () => -1,
  find: () => -2,
};
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (r: ReturnType<Socket['recv']>) => (typeof r === 'number' ? r : Buffer.from(r.data).toString());
function sock(net: NetStack, domain: number, type: number): Socket {
  const s = net.create(domain, type, 0, cred);
  if (typeof s === 'number') throw new Error(`socket: ${s}`);
  return s;
}
const in4 = (a: number, b: number, c: number, d: number, port: number): SockAddr => ({
  family: AF_INET,
  ip: v4(a, b, c, d),
  port,
});

describe('in-machine sockets', () => {
  it('TCP: ephemeral ports in order, connect, accept, data both ways, end of file, EPIPE', () => {
    const net = new NetStack();
    const srv = sock(net, AF_INET, SOCK_STREAM);
    expect(srv.bind(in4(127, 0, 0, 1, 0), names)).toBe(0);
    expect(srv.listen(2)).toBe(0);
    const port = (parseSockaddr(srv.sockname(), AF_INET) as { port: number }).port;
    expect(port).toBe(32768);
    const cli = sock(net, AF_INET, SOCK_STREAM);
    expect(srv.accept()).toBe(-EAGAIN);
    expect(cli.connect(in4(127, 0, 0, 1, port), names, false)).toBe(0);
    // The client's implicit bind took the next ephemeral port.
    expect((parseSockaddr(cli.sockname(), AF_INET) as { port: number }).port).toBe(32769);
    const conn = srv.accept();
    if (typeof conn === 'number') throw new Error('accept');
    expect(parseSockaddr(conn.peername() as Uint8Array, AF_INET)).toEqual(
      parseSockaddr(cli.sockname(), AF_INET),
    );
    expect(cli.send(bytes('ping'), null, names)).toBe(4);
    expect(text(conn.recv(100, 0))).toBe('ping');
    expect(conn.recv(100, 0)).toBe(-EAGAIN);
    expect(conn.send(bytes('pong'), null, names)).toBe(4);
    cli.shutdown(1);
    expect(text(conn.recv(100, 0))).toBe(''); // end of file after the client's shutdown
    expect(text(cli.recv(100, 0))).toBe('pong');
    conn.close();
    expect(text(cli.recv(100, 0))).toBe('');
    expect(cli.send(bytes('x'), null, names)).toBe(-EPIPE);
  });

  it('TCP: refused, in use, unreachable, backlog, nonblocking connect', () => {
    const net = new NetStack();
    const a = sock(net, AF_INET, SOCK_STREAM);
    expect(a.connect(in4(127, 0, 0, 1, 9), names, false)).toBe(-ECONNREFUSED);
    expect(a.connect(in4(10, 1, 2, 3, 80), names, false)).toBe(-ENETUNREACH);
    expect(sock(net, AF_INET, SOCK_STREAM).bind(in4(192, 168, 0, 1, 0), names)).toBe(-EADDRNOTAVAIL);
    const l = sock(net, AF_INET, SOCK_STREAM);
    expect(l.bind(in4(0, 0, 0, 0, 5000), names)).toBe(0);
    const l2 = sock(net, AF_INET, SOCK_STREAM);
    expect(l2.bind(in4(127, 0, 0, 1, 5000), names)).toBe(-EADDRINUSE);
    // IPv6 wildcard on the same port conflicts unless IPV6_V6ONLY.
    const six = sock(net, AF_INET6, SOCK_STREAM);
    expect(six.bind({ family: AF_INET6, ip: new Uint8Array(16), port: 5000 }, names)).toBe(-EADDRINUSE);
    l.listen(1);
    const c1 = sock(net, AF_INET, SOCK_STREAM);
    const c2 = sock(net, AF_INET, SOCK_STREAM);
    expect(c1.connect(in4(127, 0, 0, 1, 5000), names, true)).toBe(-EINPROGRESS);
    expect(c2.connect(in4(127, 0, 0, 1, 5000), names, false)).toBe(-EAGAIN); // backlog full: wait
    let woke = 0;
    c2.changed = () => woke++;
    expect(typeof l.accept()).toBe('object');
    expect(woke).toBe(1);
    expect(c2.connect(in4(127, 0, 0, 1, 5000), names, false)).toBe(0);
  });

  it('UDP: sendto/recvfrom with the sender address, drops to nowhere, message boundaries', () => {
    const net = new NetStack();
    const r = sock(net, AF_INET, SOCK_DGRAM);
    expect(r.bind(in4(127, 0, 0, 1, 7000), names)).toBe(0);
    const s = sock(net, AF_INET, SOCK_DGRAM);
    expect(s.send(bytes('one'), in4(127, 0, 0, 1, 7000), names)).toBe(3);
    expect(s.send(bytes('two!'), in4(127, 0, 0, 1, 7000), names)).toBe(4);
    expect(s.send(bytes('lost'), in4(127, 0, 0, 1, 7001), names)).toBe(4);
    expect(s.send(bytes('far'), in4(8, 8, 8, 8, 53), names)).toBe(-ENETUNREACH);
    const m = r.recv(2, 0);
    if (typeof m === 'number') throw new Error('recv');
    expect(Buffer.from(m.data).toString()).toBe('on');
    expect(m.truncated).toBe(true);
    // The sender was bound implicitly to the wildcard; the receiver sees it as 127.0.0.1.
    const port = (parseSockaddr(s.sockname(), AF_INET) as { port: number }).port;
    expect(encodeSockaddr(m.from!, AF_INET)).toEqual(encodeSockaddr(in4(127, 0, 0, 1, port), AF_INET));
    expect(text(r.recv(100, 0))).toBe('two!');
    expect(r.recv(100, 0)).toBe(-EAGAIN);
  });

  it('AF_UNIX: socketpair streams and abstract names; unconnected stream sends fail', () => {
    const net = new NetStack();
    const p = net.pair(SOCK_STREAM, cred);
    if (typeof p === 'number') throw new Error('pair');
    const [a, b] = p;
    expect(a.send(bytes('hello'), null, names)).toBe(5);
    expect(text(b.recv(3, 0))).toBe('hel');
    expect(text(b.recv(3, 0))).toBe('lo');
    const l = sock(net, AF_UNIX, SOCK_STREAM);
    expect(l.bind({ family: AF_UNIX, path: 'probe', abstract: true }, names)).toBe(0);
    l.listen(5);
    const c = sock(net, AF_UNIX, SOCK_STREAM);
    expect(c.send(bytes('x'), null, names)).toBe(-ENOTCONN);
    expect(c.connect({ family: AF_UNIX, path: 'probe', abstract: true }, names, true)).toBe(0);
    expect(typeof l.accept()).toBe('object');
  });

  it('AF_UNIX seqpacket pairs keep message boundaries and truncate like datagrams', () => {
    const net = new NetStack();
    const p = net.pair(SOCK_SEQPACKET, cred);
    if (typeof p === 'number') throw new Error('pair');
    const [a, b] = p;
    expect(a.send(bytes('first'), null, names)).toBe(5);
    expect(a.send(bytes('second'), null, names)).toBe(6);
    const r = b.recv(3, 0);
    if (typeof r === 'number') throw new Error('recv');
    expect([Buffer.from(r.data).toString(), r.truncated]).toEqual(['fir', true]);
    expect(text(b.recv(100, 0))).toBe('second');
    a.close();
    expect(text(b.recv(100, 0))).toBe('');
  });
});
