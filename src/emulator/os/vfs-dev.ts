// /dev inside the machine: null, zero, full, random/urandom (bytes from the caller's random source,
// which the machine ties to its seeded PRNG and reports as a logged input, as getrandom does), tty
// (ENXIO: the guest has no controlling terminal), and /dev/shm as a writable directory. Nothing
// here touches the host's /dev.

import { ENOSPC, ENXIO, S_IFCHR } from './vfs-errno.js';
import type { DeviceOps, Node, Vfs } from './vfs.js';

const EMPTY = new Uint8Array(0);

/** Linux's makedev for the small numbers used here. */
function mkdev(major: number, minor: number): number {
  return (major << 8) | minor;
}

export function installDev(vfs: Vfs, random: (n: number) => Uint8Array): void {
  const dev = vfs.ensureDir('/dev', 0o755, true, false);
  const add = (name: string, major: number, minor: number, ops: DeviceOps, mode = 0o666): Node => {
    const n = vfs.newNode(S_IFCHR | mode, dev, name);
    n.rdev = mkdev(major, minor);
    n.dev_ops = ops;
    vfs.stampAll(n);
    vfs.link(dev, name, n);
    return n;
  };
  add('null', 1, 3, { read: () => EMPTY, write: (d) => d.length });
  add('zero', 1, 5, { read: (k) => new Uint8Array(Math.min(k, 1 << 20)), write: (d) => d.length });
  add('full', 1, 7, { read: (k) => new Uint8Array(Math.min(k, 1 << 20)), write: () => -ENOSPC });
  const rnd: DeviceOps = { read: (k) => random(Math.min(k, 1 << 20)), write: (d) => d.length };
  add('random', 1, 8, rnd);
  add('urandom', 1, 9, rnd);
  add('tty', 5, 0, { open: () => -ENXIO, read: () => -ENXIO, write: () => -ENXIO });
  vfs.ensureDir('/dev/shm', 0o1777, true, false);
}
