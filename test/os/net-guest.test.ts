// Sockets inside the machine against the real Linux kernel, two guests written for these tests:
//  - sockets.c: AF_UNIX socketpairs, a stream server on a path with an echo client, datagrams on a
//    path, SCM_RIGHTS; TCP over 127.0.0.1 and ::1 with a threaded echo server, half-close, EPIPE,
//    EISCONN, ECONNREFUSED, nonblocking accept; UDP with sender addresses, truncation and connect;
//    SIGPIPE ignored, handled, suppressed, and finally fatal. It prints no port numbers (the host
//    kernel picks different ones).
//  - prefork.c: a pre-forking TCP server (3 worker processes sharing the listening socket) and 2
//    client processes; it prints only totals, so which worker served what may differ.
//  - evloop.c: an epoll event loop serving forked TCP clients over nonblocking sockets, then poll()
//    readiness bits on a socketpair (empty, data, peer closed) and select() on a UDP socket.
//  - mmsg.c (#12 leftovers): sendmmsg/recvmmsg on UDP and AF_UNIX datagrams, directly and through
//    socketcall, with MSG_WAITFORONE, truncation, EAGAIN, EFAULT and a blocking receive.
// Each runs on qemu-i386 (real host sockets, in a fresh empty directory) and in the emulator (no
// host socket at all) with identical stdout and exit status, and is recorded on 1 and 4 CPUs with
// and without chaos and replayed in verify mode.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, REPO_ROOT } from '../helpers/gcc.js';
import { requireTools } from '../helpers/native.js';
import { cleanup, emulated, recordAndVerify, reference } from './vfs-harness.js';

let sockets = '';
let prefork = '';
let evloop = '';
let mmsg = '';

beforeAll(() => {
  requireTools();
  const src = (name: string) =>
    fs.readFileSync(path.join(REPO_ROOT, 'test', 'os', 'net-guests', name), 'utf8');
  sockets = buildGuest(src('sockets.c'), ['-m32', '-static', '-O1'], 'net-sockets', { libs: ['-lpthread'] });
  prefork = buildGuest(src('prefork.c'), ['-m32', '-static', '-O1'], 'net-prefork');
  evloop = buildGuest(src('evloop.c'), ['-m32', '-static', '-O1'], 'net-evloop');
  mmsg = buildGuest(src('mmsg.c'), ['-m32', '-static', '-O1'], 'net-mmsg', { libs: ['-lpthread'] });
}, 300_000);

afterAll(cleanup);

describe('sockets: guest programs on qemu-i386 vs the emulator', () => {
  it('sockets.c: AF_UNIX, TCP over IPv4 and IPv6, UDP', () => {
    const ref = reference(sockets, ['sockets']);
    expect(ref.status, ref.stderr).toBe('signal 13'); // it ends by writing to a closed socket
    expect(ref.stdout).toContain('client got 300000 bytes back, identical');
    expect(emulated(sockets, ['sockets'])).toEqual(ref);
    expect(emulated(sockets, ['sockets'], undefined, 1)).toEqual(ref);
  });

  it('sockets.c replays identically on 1 and 4 CPUs, with and without chaos', () => {
    const ref = reference(sockets, ['sockets']);
    recordAndVerify(
      sockets,
      ['sockets'],
      ['r:accept __libc_accept', 'p:send __libc_send', 'r:recv __libc_recv'],
      ref.stdout,
    );
  });

  it('prefork.c: a pre-forking TCP server (3 workers sharing the listener) and 2 client processes', () => {
    const ref = reference(prefork, ['prefork']);
    expect(ref.status, ref.stderr).toBe('exit 0');
    expect(ref.stdout).toContain('3 workers exited, 20 requests served in total');
    expect(emulated(prefork, ['prefork'])).toEqual(ref);
    expect(emulated(prefork, ['prefork'], undefined, 4)).toEqual(ref);
  });

  it('prefork.c replays identically on 1 and 4 CPUs, with and without chaos', () => {
    const ref = reference(prefork, ['prefork']);
    recordAndVerify(prefork, ['prefork'], ['r:accept __libc_accept', 'r:connect __libc_connect'], ref.stdout);
  });

  it('evloop.c: an epoll TCP event loop, poll and select readiness of sockets', () => {
    const ref = reference(evloop, ['evloop']);
    expect(ref.status, ref.stderr).toBe('exit 0');
    expect(ref.stdout).toContain('clients got 15/15 echoes right');
    expect(emulated(evloop, ['evloop'])).toEqual(ref);
    recordAndVerify(evloop, ['evloop'], ['r:accept4 accept4', 'r:epoll_wait epoll_wait'], ref.stdout);
  });

  it('#12 mmsg.c: sendmmsg and recvmmsg, directly and through socketcall', () => {
    const ref = reference(mmsg, ['mmsg']);
    expect(ref.status, ref.stderr).toBe('exit 0');
    expect(ref.stdout).toContain('unix blocking 2 [one len 3] [two! len 4]');
    expect(emulated(mmsg, ['mmsg'])).toEqual(ref);
    recordAndVerify(mmsg, ['mmsg'], ['r:sendmmsg sendmmsg', 'r:recvmmsg recvmmsg'], ref.stdout);
  });
});
