/*
 * Lockstep reference tracer: a QEMU TCG plugin for qemu-i386 (QEMU 7.2 plugin API, version 1).
 *
 * Why a QEMU plugin and not ptrace on the real CPU: the machines this project runs on (developers and
 * CI) are PVM guests whose kernel has IA-32 emulation switched off (dmesg: "IA-32 emulation off: the
 * host runs 64-bit user code only"; execve of an i386 ELF returns ENOEXEC, and far-jumping to a 32-bit
 * code segment, GDT or LDT, faults). So no i386 instruction can execute natively here, and the reference
 * for i386 lockstep is qemu-i386. (Plain ALU semantics ARE checked against the real CPU: see alugen.c.)
 *
 * Built at test time:  gcc -O2 -shared -fPIC -o tracer.so tracer.c
 * Run:  qemu-i386 -one-insn-per-tb|-singlestep -cpu pentium2 \
 *           -plugin tracer.so,fd=3,cpuid=TABLE[,max=N][,xmm=1] PROGRAM ARGS
 *
 * qemu exports its internal symbols (it is linked with --export-dynamic), and this plugin uses three:
 * `current_cpu` (TLS CPUState*), `cpu_cc_compute_all` (materialises qemu's lazy flags) and `guest_base`
 * (guest address -> host address). The offset of CPUX86State inside the CPU object is found at the first
 * instruction by scanning for {eip == entry point, eflags == 0x202} and then re-checked at EVERY
 * instruction (env->eip must equal the instruction's address: true when each TB holds one instruction),
 * so a layout surprise aborts loudly instead of producing a wrong trace.
 *
 * Stream (little-endian u32 words, written to fd N):
 *   INIT    [1, esp, len, bytes(len, padded to 4)]   the initial stack [esp, top) after auxv patching
 *   INSN    [2, eip, eax, ecx, edx, ebx, esp, ebp, esi, edi, eflags]  state BEFORE the instruction at
 *           eip (= state after the previous one); the first INSN is the state at the entry point.
 *           With xmm=1 followed by [mxcsr, xmm0..xmm7 as 4 words each, low word first]. Where MXCSR and
 *           the XMM registers live in CPUX86State is found at the first instruction: the first 0x1F80
 *           word after the GPRs followed, at the next 16-byte boundary, by 8 zeroed 64-byte ZMMReg slots
 *           (QEMU 7.2: `uint32_t mxcsr; ZMMReg xmm_regs[8] QEMU_ALIGNED(16)`; a fresh process has MXCSR
 *           0x1F80 and zeroed registers). A wrong guess shows as an XMM mismatch, not a silent pass.
 *           QEMU keeps MXCSR's exception flags in its softfloat status until STMXCSR/FXSAVE, so only
 *           MXCSR's control bits are meaningful here.
 *   SYSCALL [3, nr, ret, nwrites, {addr, len, bytes(len, padded)}*nwrites]  after the kernel (qemu) ran
 *           the int $0x80; the writes are the guest memory the syscall wrote (read, fstat64, statx, ...),
 *           and for a successful file-backed mmap2 the mapped bytes
 *   EXIT    [4, nr, status]   exit / exit_group about to run
 *   END     [5, count]        max instructions reached (the plugin then ends qemu)
 *   CPUIDMISS [6, leaf, subleaf]  CPUID leaf not in the table: qemu's own values were kept
 *
 * Imposed values (so the reference follows the emulator's machine model):
 *   CPUID: after the instruction, EAX..EDX are set from the table (generated at test time from the
 *          emulator's cpuidValues) for the leaf/subleaf in EAX/ECX before it.
 *   RDTSC: after the instruction, EDX:EAX = number of instructions retired before the RDTSC.
 *   auxv:  AT_SYSINFO (32) and AT_SYSINFO_EHDR (33) entries become AT_IGNORE (1) before the first
 *          instruction (qemu 7.2 has no i386 vDSO, so normally there are none).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the subset of <qemu/qemu-plugin.h> (API version 1, QEMU 7.2) used here ---- */
typedef uint64_t qemu_plugin_id_t;
typedef struct {
  const char *target_name;
  struct {
    int min;
    int cur;
  } version;
  bool system_emulation;
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_syscall_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num,
                                              uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
                                              uint64_t a6, uint64_t a7, uint64_t a8);
typedef void (*qemu_plugin_vcpu_syscall_ret_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_idx, int64_t num,
                                                  int64_t ret);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_cb_t cb);
void qemu_plugin_register_vcpu_syscall_ret_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_ret_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* ---- qemu internals (exported by the qemu-i386 executable) ---- */
extern __thread void *current_cpu;
extern uint32_t cpu_cc_compute_all(void *env, int op);
extern uintptr_t guest_base;

/* CPUX86State prefix for a 32-bit target (target_ulong = uint32_t), QEMU 7.2 target/i386/cpu.h. */
struct env32 {
  uint32_t regs[8]; /* EAX ECX EDX EBX ESP EBP ESI EDI */
  uint32_t eip;
  uint32_t eflags; /* without the arithmetic flags and DF, which live in cc_* and df */
  uint32_t cc_dst, cc_src, cc_src2;
  uint32_t cc_op;
  int32_t df; /* +1 or -1 */
};

enum { K_PLAIN = 0, K_CPUID = 1, K_RDTSC = 2 };
struct insn_info {
  uint32_t pc;
  uint32_t kind;
};

#define OUT_CAP (1u << 20)
static unsigned char *out_buf;
static size_t out_len;
static int out_fd = -1;
static long env_off = -1;
static uint64_t count;   /* instructions whose INSN record was written */
static uint64_t max_insns = UINT64_MAX;
static int pending_kind; /* CPUID/RDTSC whose result must be imposed at the next instruction */
static uint32_t pending_leaf, pending_sub;
static uint64_t pending_tsc;
static bool started;
static uint32_t sys_args[6];
static int want_xmm;
static long mxcsr_off = -1, xmm_off = -1; /* from env */

struct cpuid_ent {
  uint32_t leaf, sub, r[4];
};
static struct cpuid_ent *cpuid_tab;
static size_t cpuid_n;

static void die(const char *msg) {
  fprintf(stderr, "tracer: %s\n", msg);
  _exit(97);
}

static void flush_out(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t w = write(out_fd, out_buf + done, out_len - done);
    if (w <= 0) _exit(98); /* reader went away */
    done += (size_t)w;
  }
  out_len = 0;
}

static void put_bytes(const void *p, size_t n) {
  if (out_len + n > OUT_CAP) flush_out();
  if (n > OUT_CAP) {
    /* very large blob: write through */
    size_t done = 0;
    while (done < n) {
      ssize_t w = write(out_fd, (const char *)p + done, n - done);
      if (w <= 0) _exit(98);
      done += (size_t)w;
    }
    return;
  }
  memcpy(out_buf + out_len, p, n);
  out_len += n;
}

static void put32(uint32_t v) { put_bytes(&v, 4); }

static void put_blob(uint32_t addr, uint32_t len) {
  static const unsigned char zero[4];
  put32(addr);
  put32(len);
  put_bytes((const void *)(guest_base + addr), len);
  if (len & 3) put_bytes(zero, 4 - (len & 3));
}

static struct env32 *env_of(void) { return (struct env32 *)((char *)current_cpu + env_off); }

static uint32_t flags_of(struct env32 *e) {
  return e->eflags | cpu_cc_compute_all(e, (int)e->cc_op) | ((uint32_t)e->df & 0x400);
}

static uint32_t g32(uint32_t addr) {
  uint32_t v;
  memcpy(&v, (const void *)(guest_base + addr), 4);
  return v;
}

static void first_insn(uint32_t pc) {
  char *cpu = current_cpu;
  for (long o = 0; o < 262144; o += 4) {
    struct env32 *e = (struct env32 *)(cpu + o);
    if (e->eip == pc && e->eflags == 0x202 && e->regs[4] != 0 && (e->regs[4] & 3) == 0) {
      env_off = o;
      break;
    }
  }
  if (env_off < 0) die("cannot locate CPUX86State");
  struct env32 *e = env_of();
  if (want_xmm) {
    char *base = (char *)e;
    for (long o = (long)sizeof(struct env32); o < 65536 && xmm_off < 0; o += 4) {
      uint32_t v;
      memcpy(&v, base + o, 4);
      if (v != 0x1f80) continue;
      uintptr_t x = ((uintptr_t)(base + o + 4) + 15) & ~(uintptr_t)15;
      int zero = 1;
      for (long k = 0; k < 8 * 64 && zero; k++)
        if (((char *)x)[k]) zero = 0;
      if (zero) {
        mxcsr_off = o;
        xmm_off = (long)(x - (uintptr_t)base);
      }
    }
    if (xmm_off < 0) die("cannot locate MXCSR and the XMM registers");
  }
  uint32_t sp = e->regs[4];
  /* argc, argv..., 0, envp..., 0, auxv pairs */
  uint32_t p = sp, top = 0;
  uint32_t argc = g32(p);
  p += 4;
  for (uint32_t i = 0; i < argc; i++, p += 4) {
    uint32_t s = g32(p);
    uint32_t end = s + (uint32_t)strlen((const char *)(guest_base + s)) + 1;
    if (end > top) top = end;
  }
  p += 4;
  for (;; p += 4) {
    uint32_t s = g32(p);
    if (!s) break;
    uint32_t end = s + (uint32_t)strlen((const char *)(guest_base + s)) + 1;
    if (end > top) top = end;
  }
  p += 4;
  for (;; p += 8) {
    uint32_t type = g32(p), val = g32(p + 4);
    if (type == 0) break;
    if (type == 32 || type == 33) {
      uint32_t ign = 1;
      memcpy((void *)(guest_base + p), &ign, 4);
    }
    if (type == 31 || type == 15) { /* AT_EXECFN, AT_PLATFORM */
      uint32_t end = val + (uint32_t)strlen((const char *)(guest_base + val)) + 1;
      if (end > top) top = end;
    }
  }
  top = (top + 4095u) & ~4095u;
  put32(1);
  put32(sp);
  put32(top - sp);
  put_bytes((const void *)(guest_base + sp), top - sp);
  /* (top - sp) is a multiple of 4: sp is 4-aligned, top page-aligned */
}

static const struct cpuid_ent *cpuid_find(uint32_t leaf, uint32_t sub) {
  for (size_t i = 0; i < cpuid_n; i++)
    if (cpuid_tab[i].leaf == leaf && cpuid_tab[i].sub == sub) return &cpuid_tab[i];
  for (size_t i = 0; i < cpuid_n; i++)
    if (cpuid_tab[i].leaf == leaf && cpuid_tab[i].sub == 0xffffffffu) return &cpuid_tab[i];
  return NULL;
}

static void on_insn(unsigned int vcpu, void *ud) {
  (void)vcpu;
  const struct insn_info *ii = ud;
  if (!started) {
    started = true;
    first_insn(ii->pc);
  }
  struct env32 *e = env_of();
  if (e->eip != ii->pc) {
    fprintf(stderr, "tracer: env->eip %08x != insn %08x after %llu insns\n", e->eip, ii->pc,
            (unsigned long long)count);
    die("CPU state not in sync (is -one-insn-per-tb/-singlestep on?)");
  }
  if (pending_kind == K_CPUID) {
    const struct cpuid_ent *c = cpuid_find(pending_leaf, pending_sub);
    if (c) {
      e->regs[0] = c->r[0];
      e->regs[3] = c->r[1];
      e->regs[1] = c->r[2];
      e->regs[2] = c->r[3];
    } else {
      put32(6);
      put32(pending_leaf);
      put32(pending_sub);
    }
  } else if (pending_kind == K_RDTSC) {
    e->regs[0] = (uint32_t)pending_tsc;
    e->regs[2] = (uint32_t)(pending_tsc >> 32);
  }
  pending_kind = K_PLAIN;
  if (count >= max_insns) {
    put32(5);
    put32((uint32_t)count);
    flush_out();
    _exit(0);
  }
  uint32_t rec[11];
  rec[0] = 2;
  rec[1] = ii->pc;
  memcpy(&rec[2], e->regs, 32);
  rec[10] = flags_of(e);
  put_bytes(rec, sizeof rec);
  if (want_xmm) {
    uint32_t x[33];
    memcpy(&x[0], (char *)e + mxcsr_off, 4);
    for (int r = 0; r < 8; r++) memcpy(&x[1 + 4 * r], (char *)e + xmm_off + 64 * r, 16);
    put_bytes(x, sizeof x);
  }
  if (ii->kind == K_CPUID) {
    pending_kind = K_CPUID;
    pending_leaf = e->regs[0];
    pending_sub = e->regs[1];
  } else if (ii->kind == K_RDTSC) {
    pending_kind = K_RDTSC;
    pending_tsc = count;
  }
  count++;
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    const unsigned char *b = qemu_plugin_insn_data(insn);
    size_t len = qemu_plugin_insn_size(insn);
    struct insn_info *ii = malloc(sizeof *ii); /* lives as long as the TB may run: never freed */
    ii->pc = (uint32_t)qemu_plugin_insn_vaddr(insn);
    ii->kind = K_PLAIN;
    if (len >= 2 && b[len - 2] == 0x0f && b[len - 1] == 0xa2) ii->kind = K_CPUID;
    if (len >= 2 && b[len - 2] == 0x0f && b[len - 1] == 0x31) ii->kind = K_RDTSC;
    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_RW_REGS, ii);
  }
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
  (void)id, (void)vcpu, (void)a7, (void)a8;
  sys_args[0] = (uint32_t)a1;
  sys_args[1] = (uint32_t)a2;
  sys_args[2] = (uint32_t)a3;
  sys_args[3] = (uint32_t)a4;
  sys_args[4] = (uint32_t)a5;
  sys_args[5] = (uint32_t)a6;
  if (num == 1 || num == 252) {
    put32(4);
    put32((uint32_t)num);
    put32((uint32_t)a1);
    flush_out();
  }
}

/* Guest memory written by syscall `nr` that returned `ret`: appended as blobs. */
struct wr {
  uint32_t addr, len;
};

static size_t syscall_writes(uint32_t nr, int32_t ret, struct wr *w) {
  const uint32_t *a = sys_args;
  size_t n = 0;
#define W(ad, ln)                                \
  do {                                           \
    if ((ad) != 0 && (ln) > 0) {                 \
      w[n].addr = (ad);                          \
      w[n].len = (ln);                           \
      n++;                                       \
    }                                            \
  } while (0)
  if (ret < 0 && ret > -4096) return 0;
  switch (nr) {
  case 3:   /* read */
  case 180: /* pread64 */
    W(a[1], (uint32_t)ret);
    break;
  case 145: /* readv */
  case 333: /* preadv */
  {
    uint32_t left = (uint32_t)ret;
    for (uint32_t i = 0; i < a[2] && left > 0 && n < 60; i++) {
      uint32_t base = g32(a[1] + 8 * i), len = g32(a[1] + 8 * i + 4);
      uint32_t take = len < left ? len : left;
      W(base, take);
      left -= take;
    }
    break;
  }
  case 106: /* stat */
  case 107: /* lstat */
  case 108: /* fstat */
    W(a[1], 64);
    break;
  case 195: /* stat64 */
  case 196: /* lstat64 */
  case 197: /* fstat64 */
    W(a[1], 96);
    break;
  case 300: /* fstatat64 */
    W(a[2], 96);
    break;
  case 383: /* statx */
    W(a[4], 256);
    break;
  case 122: /* uname */
    W(a[0], 390);
    break;
  case 265: /* clock_gettime */
  case 266: /* clock_getres */
    W(a[1], 8);
    break;
  case 403: /* clock_gettime64 */
  case 406: /* clock_getres_time64 */
    W(a[1], 16);
    break;
  case 78: /* gettimeofday */
    W(a[0], 8);
    W(a[1], 8);
    break;
  case 13: /* time */
    W(a[0], 4);
    break;
  case 43: /* times */
    W(a[0], 16);
    break;
  case 355: /* getrandom */
    W(a[0], (uint32_t)ret);
    break;
  case 85: /* readlink */
    W(a[1], (uint32_t)ret);
    break;
  case 305: /* readlinkat */
    W(a[2], (uint32_t)ret);
    break;
  case 183: /* getcwd */
    W(a[0], (uint32_t)ret);
    break;
  case 141: /* getdents */
  case 220: /* getdents64 */
    W(a[1], (uint32_t)ret);
    break;
  case 54: /* ioctl */
    if (a[1] == 0x5401) W(a[2], 36);      /* TCGETS */
    else if (a[1] == 0x5413) W(a[2], 8);  /* TIOCGWINSZ */
    else if (a[1] == 0x541b) W(a[2], 4);  /* FIONREAD */
    break;
  case 116: /* sysinfo */
    W(a[0], 64);
    break;
  case 76:  /* getrlimit */
  case 191: /* ugetrlimit */
    W(a[1], 8);
    break;
  case 340: /* prlimit64 */
    W(a[3], 16);
    break;
  case 174: /* rt_sigaction */
    W(a[2], 20);
    break;
  case 67: /* sigaction */
    W(a[2], 16);
    break;
  case 175: /* rt_sigprocmask */
    W(a[2], a[3] <= 128 ? a[3] : 128);
    break;
  case 126: /* sigprocmask */
    W(a[2], 4);
    break;
  case 243: /* set_thread_area */
    W(a[0], 16);
    break;
  case 140: /* _llseek */
    W(a[3], 8);
    break;
  case 42:  /* pipe */
  case 331: /* pipe2 */
    W(a[0], 8);
    break;
  case 162: /* nanosleep */
    W(a[1], 8);
    break;
  case 192: /* mmap2 */
    if ((int32_t)a[4] != -1 && !(a[3] & 0x20)) W((uint32_t)ret, a[1]); /* file-backed: its bytes */
    break;
  default:
    break;
  }
#undef W
  return n;
}

static void on_syscall_ret(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, int64_t ret) {
  (void)id, (void)vcpu;
  struct wr w[64];
  size_t n = syscall_writes((uint32_t)num, (int32_t)ret, w);
  put32(3);
  put32((uint32_t)num);
  put32((uint32_t)ret);
  put32((uint32_t)n);
  for (size_t i = 0; i < n; i++) put_blob(w[i].addr, w[i].len);
}

static void on_exit_cb(qemu_plugin_id_t id, void *u) {
  (void)id, (void)u;
  if (out_fd >= 0) flush_out();
}

static void load_cpuid(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die("cannot open cpuid table");
  size_t cap = 64;
  cpuid_tab = malloc(cap * sizeof *cpuid_tab);
  struct cpuid_ent c;
  while (fscanf(f, "%x %x %x %x %x %x", &c.leaf, &c.sub, &c.r[0], &c.r[1], &c.r[2], &c.r[3]) == 6) {
    if (cpuid_n == cap) cpuid_tab = realloc(cpuid_tab, (cap *= 2) * sizeof *cpuid_tab);
    cpuid_tab[cpuid_n++] = c;
  }
  fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
  if (strcmp(info->target_name, "i386") != 0) die("only qemu-i386 is supported");
  int fd = -1;
  for (int i = 0; i < argc; i++) {
    if (!strncmp(argv[i], "fd=", 3)) fd = atoi(argv[i] + 3);
    else if (!strncmp(argv[i], "cpuid=", 6)) load_cpuid(argv[i] + 6);
    else if (!strncmp(argv[i], "max=", 4)) max_insns = strtoull(argv[i] + 4, NULL, 10);
    else if (!strcmp(argv[i], "xmm=1")) want_xmm = 1;
    else die("unknown argument (fd=N, cpuid=PATH, max=N, xmm=1)");
  }
  if (fd < 0) die("fd=N is required");
  /* Move the stream off the low descriptors so the guest's open() gets the numbers it would get. */
  out_fd = dup2(fd, 1000);
  if (out_fd < 0) die("dup2");
  if (fd != out_fd) close(fd);
  out_buf = malloc(OUT_CAP);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
  qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
  qemu_plugin_register_vcpu_syscall_ret_cb(id, on_syscall_ret);
  qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
  return 0;
}
