// A minimal /proc and /sys generated from the machine's state: /proc/self (a symlink to the
// calling process's pid), /proc/<pid>/{exe,cwd,fd/N,maps,status,cmdline,comm,stat}, /proc/cpuinfo
// with the configured CPUs, /proc/meminfo, /proc/stat, /proc/uptime, and
// /sys/devices/system/cpu/{online,possible,present,cpuN}. Guarantees: contents depend only on
// machine state (never the host's /proc); a node keeps its inode number for the whole run; files are
// generated when opened (so a read sees one consistent snapshot) and cannot be written.

import { DEV_PROC, type DynamicDir, type Node, type Vfs } from './vfs.js';
import { S_IFDIR, S_IFLNK, S_IFREG } from './vfs-errno.js';

/** What /proc shows of one process. */
export interface ProcView {
  pid: number;
  ppid: number;
  /** Threads of the group (their tids). */
  tids: number[];
  comm: string;
  /** Guest path of the executable. */
  exe: string;
  cwd: string;
  argv: string[];
  state: string;
  umask: number;
  /** Open descriptors and what /proc/PID/fd/N links to (a path, "pipe:[N]", "socket:[N]"...). */
  fds(): Array<{ fd: number; target: string }>;
  /** Mappings: [start, end, prot bits (1 r, 2 w, 4 x), name]. */
  maps(): Array<[number, number, number, string]>;
  /** Virtual memory in use, bytes. */
  vmBytes(): number;
}

export interface ProcSource {
  /** The process making the current system call. */
  current(): ProcView | null;
  byPid(pid: number): ProcView | null;
  pids(): number[];
  cpus: number;
  /** Guest memory size in bytes for meminfo. */
  memBytes: number;
  mhz: number;
  /** Virtual nanoseconds since boot. */
  uptimeNs(): number;
}

const text = (s: string) => new TextEncoder().encode(s);

export class ProcFs {
  private readonly nodes = new Map<string, Node>();

  constructor(
    private readonly vfs: Vfs,
    private readonly src: ProcSource,
  ) {}

  install(): void {
    const proc = this.vfs.ensureDir('/proc', 0o555, true, false);
    proc.dev = DEV_PROC;
    this.nodes.set('/proc', proc);
    proc.dynamic = this.dir('/proc', () => this.rootEntries());
    this.installSys();
  }

  /** One node per generated path, made once (stable inode numbers). */
  private node(key: string, mode: number, parent: Node, name: string, init: (n: Node) => void): Node {
    let n = this.nodes.get(key);
    if (!n) {
      n = this.vfs.newNode(mode, parent, name);
      n.dev = DEV_PROC;
      n.uid = 1000;
      const [s, ns] = this.vfs.now();
      n.atimeS = n.mtimeS = n.ctimeS = s;
      n.atimeN = n.mtimeN = n.ctimeN = ns;
      this.nodes.set(key, n);
    }
    init(n);
    return n;
  }

  private file(key: string, parent: Node, name: string, gen: () => string): Node {
    return this.node(key, S_IFREG | 0o444, parent, name, (n) => {
      n.generate = () => text(gen());
    });
  }

  private link(key: string, parent: Node, name: string, target: () => string | null): Node | null {
    const t = target();
    if (t === null) return null;
    return this.node(key, S_IFLNK | 0o777, parent, name, (n) => {
      n.target = t;
      n.size = Buffer.byteLength(t);
    });
  }

  /** A generated directory: `entries` maps names to node makers. */
  private dir(key: string, entries: () => Map<string, (parent: Node) => Node | null>): DynamicDir {
    return {
      list: () => [...entries().keys()],
      lookup: (name: string): Node | null => {
        const make = entries().get(name);
        return make ? make(this.nodes.get(key) ?? this.vfs.root) : null;
      },
    };
  }

  private subdir(
    key: string,
    parent: Node,
    name: string,
    entries: () => Map<string, (p: Node) => Node | null>,
  ): Node {
    return this.node(key, S_IFDIR | 0o555, parent, name, (n) => {
      n.dynamic ??= this.dir(key, entries);
    });
  }

  private rootEntries(): Map<string, (p: Node) => Node | null> {
    const m = new Map<string, (p: Node) => Node | null>();
    const src = this.src;
    m.set('self', (p) =>
      this.link('/proc/self', p, 'self', () => (src.current() ? String(src.current()!.pid) : null)),
    );
    m.set('thread-self', (p) =>
      this.link('/proc/thread-self', p, 'thread-self', () => {
        const c = src.current();
        return c ? `${c.pid}/task/${c.pid}` : null;
      }),
    );
    for (const pid of src.pids()) m.set(String(pid), (p) => this.pidDir(pid, p));
    m.set('cpuinfo', (p) => this.file('/proc/cpuinfo', p, 'cpuinfo', () => this.cpuinfo()));
    m.set('meminfo', (p) => this.file('/proc/meminfo', p, 'meminfo', () => this.meminfo()));
    m.set('stat', (p) => this.file('/proc/stat', p, 'stat', () => this.stat()));
    m.set('uptime', (p) =>
      this.file('/proc/uptime', p, 'uptime', () => {
        const s = (src.uptimeNs() / 1e9).toFixed(2);
        return `${s} ${s}\n`;
      }),
    );
    return m;
  }

  private pidDir(pid: number, parent: Node): Node | null {
    if (!this.src.byPid(pid)) return null;
    const key = `/proc/${pid}`;
    const view = () => this.src.byPid(pid);
    return this.subdir(key, parent, String(pid), () => {
      const m = new Map<string, (p: Node) => Node | null>();
      m.set('exe', (p) => this.link(`${key}/exe`, p, 'exe', () => view()?.exe ?? null));
      m.set('cwd', (p) => this.link(`${key}/cwd`, p, 'cwd', () => view()?.cwd ?? null));
      m.set('fd', (p) =>
        this.subdir(`${key}/fd`, p, 'fd', () => {
          const fm = new Map<string, (q: Node) => Node | null>();
          for (const { fd, target } of view()?.fds() ?? [])
            fm.set(String(fd), (q) => {
              const n = this.link(`${key}/fd/${fd}`, q, String(fd), () => target);
              if (n) n.mode = S_IFLNK | 0o700;
              return n;
            });
          return fm;
        }),
      );
      m.set('maps', (p) => this.file(`${key}/maps`, p, 'maps', () => this.maps(view())));
      m.set('status', (p) => this.file(`${key}/status`, p, 'status', () => this.status(view())));
      m.set('cmdline', (p) =>
        this.file(`${key}/cmdline`, p, 'cmdline', () => (view()?.argv ?? []).map((a) => `${a}\0`).join('')),
      );
      m.set('comm', (p) => this.file(`${key}/comm`, p, 'comm', () => `${view()?.comm ?? ''}\n`));
      m.set('stat', (p) => this.file(`${key}/stat`, p, 'stat', () => this.pidStat(view())));
      return m;
    });
  }

  private cpuinfo(): string {
    let out = '';
    for (let i = 0; i < this.src.cpus; i++)
      out +=
        `processor\t: ${i}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 3\n` +
        `model name\t: probelab virtual i686\nstepping\t: 0\ncpu MHz\t\t: ${this.src.mhz.toFixed(3)}\n` +
        `physical id\t: 0\nsiblings\t: ${this.src.cpus}\ncore id\t\t: ${i}\ncpu cores\t: ${this.src.cpus}\n` +
        `fpu\t\t: yes\nflags\t\t: fpu tsc cx8 cmov\n\n`;
    return out;
  }

  private meminfo(): string {
    const kb = Math.floor(this.src.memBytes / 1024);
    const row = (k: string, v: number) => `${(k + ':').padEnd(16)}${String(v).padStart(8)} kB\n`;
    return (
      row('MemTotal', kb) +
      row('MemFree', kb >> 1) +
      row('MemAvailable', kb >> 1) +
      row('SwapTotal', 0) +
      row('SwapFree', 0)
    );
  }

  private stat(): string {
    let out = `cpu  0 0 0 0 0 0 0 0 0 0\n`;
    for (let i = 0; i < this.src.cpus; i++) out += `cpu${i} 0 0 0 0 0 0 0 0 0 0\n`;
    return out + `btime 0\nprocesses ${this.src.pids().length}\n`;
  }

  private maps(v: ProcView | null): string {
    if (!v) return '';
    const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
    return v
      .maps()
      .map(
        ([s, e, prot, name]) =>
          `${hex(s)}-${hex(e)} ${prot & 1 ? 'r' : '-'}${prot & 2 ? 'w' : '-'}${prot & 4 ? 'x' : '-'}p 00000000 00:00 0` +
          (name ? `${' '.repeat(10)}${name}` : '') +
          '\n',
      )
      .join('');
  }

  private status(v: ProcView | null): string {
    if (!v) return '';
    const kb = Math.floor(v.vmBytes() / 1024);
    return (
      `Name:\t${v.comm}\nUmask:\t${v.umask.toString(8).padStart(4, '0')}\nState:\t${v.state}\n` +
      `Tgid:\t${v.pid}\nPid:\t${v.pid}\nPPid:\t${v.ppid}\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n` +
      `VmSize:\t${String(kb).padStart(8)} kB\nVmRSS:\t${String(kb).padStart(8)} kB\nThreads:\t${v.tids.length}\n` +
      `Cpus_allowed_list:\t0-${this.src.cpus - 1}\n`
    );
  }

  private pidStat(v: ProcView | null): string {
    if (!v) return '';
    return `${v.pid} (${v.comm}) ${v.state[0] ?? 'R'} ${v.ppid} ${v.pid} ${v.pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 ${v.tids.length} 0 0 ${v.vmBytes()} 0\n`;
  }

  private installSys(): void {
    const cpu = this.vfs.ensureDir('/sys/devices/system/cpu', 0o555, true, false);
    const last = this.src.cpus - 1;
    const range = last === 0 ? '0\n' : `0-${last}\n`;
    for (const name of ['online', 'possible', 'present']) {
      const n = this.vfs.newNode(S_IFREG | 0o444, cpu, name);
      n.dev = DEV_PROC;
      n.generate = () => text(range);
      this.vfs.stampAll(n);
      this.vfs.link(cpu, name, n);
    }
    for (let i = 0; i <= last; i++) this.vfs.mkdirInternal(cpu, `cpu${i}`, 0o555);
  }
}
