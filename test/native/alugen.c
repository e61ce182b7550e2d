/*
 * ALU table generator. Run on the host, it prints a C program (to stdout) that executes integer
 * instructions through inline asm over edge and pseudo-random operands with several input EFLAGS, and
 * prints one line per case:  <name> <a> <b> <c> <flags-in> -> <r1> <r2> <flags-out>  (hex)
 * The printed output flags are masked: bits the Intel SDM leaves undefined for that instruction (and
 * operand values) are cleared before printing, so only architecturally defined behaviour is compared.
 *
 * The generated program is built twice from the same source:
 *   gcc -O1 -mno-red-zone (x86-64)  -> runs natively: the REAL CPU is the reference (8/16/32-bit
 *                                      operations behave identically in 64-bit mode)
 *   gcc -m32 -static -O1            -> runs in the emulator
 * and the two outputs must be identical. Instructions that exist only in 32-bit mode (daa das aaa aas
 * aam aad) are generated under #ifndef __x86_64__ and print a separate section, which the test
 * compares against qemu-i386 instead (the host cannot execute them).
 *
 * Usage: alugen [seed] > alu_cases.c ; then compile alu_cases.c with -I test/native (the generated file
 * includes this file with ALU_RUNNER defined to get the runner, which is the second half of this file).
 */
#ifndef ALU_RUNNER
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nfn;

/* Kinds of operand sets, interpreted by the generated runner. */
enum {
  K_BIN,    /* a op= b */
  K_UN,     /* a = op a */
  K_SHCL,   /* a op= cl (b = count 0..33) */
  K_SHI,    /* a op= imm (count baked in: c) */
  K_SHD,    /* shld/shrd a, b, cl (c = count) */
  K_SHDI,   /* shld/shrd a, b, imm */
  K_MUL1,   /* mul/imul b (accumulator a) */
  K_IMUL2,  /* imul b, a */
  K_IMUL3,  /* imul $imm, b, a */
  K_DIV,    /* div/idiv b (dividend c:a) */
  K_BT,     /* bt* b, a */
  K_BTI,    /* bt* $imm, a */
  K_BSX,    /* bsf/bsr b -> a */
  K_BSWAP,  /* bswap a */
  K_XADD,   /* xadd a, b */
  K_CMPXCHG,/* cmpxchg b, a with accumulator c */
  K_SETCC,  /* setcc a (flags in matter) */
  K_CMOV,   /* cmovcc b, a */
  K_BCD,    /* daa das aaa aas: al (and ah in c) */
  K_AAM,    /* aam/aad imm */
  K_MISC,   /* cwde cdq cbw cwd lahf sahf: eax = a, edx = b */
};

/* undefined-flag masks (printed flags are anded with ~mask) */
#define CF 0x1
#define PF 0x4
#define AF 0x10
#define ZF 0x40
#define SF 0x80
#define OF 0x800
#define ARITH (CF | PF | AF | ZF | SF | OF)

struct fn {
  char name[48];
  int kind, width, imm, mask, op; /* op: 0..7 sub-op for shift-mask rules */
};
static struct fn fns[4000];

static const char *sfx(int w) { return w == 8 ? "b" : w == 16 ? "w" : "l"; }
static const char *ctype(int w) { return w == 8 ? "uint8_t" : w == 16 ? "uint16_t" : "uint32_t"; }

/* Emit the function prologue: io fields into typed locals; flags in through push/popf. */
static void begin(const char *name, int kind, int width, int imm, int mask, int op) {
  struct fn *f = &fns[nfn];
  snprintf(f->name, sizeof f->name, "%s", name);
  f->kind = kind, f->width = width, f->imm = imm, f->mask = mask, f->op = op;
  printf("static void f%d(struct io *io) {\n", nfn);
  printf("  %s a = (%s)io->a, b = (%s)io->b, c = (%s)io->c; unsigned long fl = io->fin;\n", ctype(width),
         ctype(width), ctype(width), ctype(width));
  nfn++;
}
static void end(void) {
  printf("  io->r1 = a; io->r2 = b; io->c = c; io->fout = fl;\n}\n");
}
#define PRE "push %[fl]\\n\\tpopf\\n\\t"
#define POST "\\n\\tpushf\\n\\tpop %[fl]"

static void gen_bin(const char *op, int w, int mask) {
  char name[48];
  snprintf(name, sizeof name, "%s%s", op, sfx(w));
  begin(name, K_BIN, w, 0, mask, 0);
  printf("  __asm__ volatile(PRE \"%s%s %%[b], %%[a]\" POST : [a] \"+q\"(a), [fl] \"+r\"(fl) : [b] \"q\"(b) : \"cc\");\n",
         op, sfx(w));
  end();
}
static void gen_un(const char *op, int w, int mask) {
  char name[48];
  snprintf(name, sizeof name, "%s%s", op, sfx(w));
  begin(name, K_UN, w, 0, mask, 0);
  printf("  __asm__ volatile(PRE \"%s%s %%[a]\" POST : [a] \"+q\"(a), [fl] \"+r\"(fl) : : \"cc\");\n", op, sfx(w));
  end();
}
static const char *shops[] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
static void gen_shcl(int op, int w) {
  char name[48];
  snprintf(name, sizeof name, "%s%s_cl", shops[op], sfx(w));
  begin(name, K_SHCL, w, 0, 0, op);
  printf("  uint8_t cnt = (uint8_t)io->b;\n");
  printf("  __asm__ volatile(PRE \"%s%s %%%%cl, %%[a]\" POST : [a] \"+q\"(a), [fl] \"+r\"(fl) : \"c\"(cnt) : \"cc\");\n",
         shops[op], sfx(w));
  end();
}
static void gen_shi(int op, int w, int cnt) {
  char name[48];
  snprintf(name, sizeof name, "%s%s_%d", shops[op], sfx(w), cnt);
  begin(name, K_SHI, w, cnt, 0, op);
  printf("  __asm__ volatile(PRE \"%s%s $%d, %%[a]\" POST : [a] \"+q\"(a), [fl] \"+r\"(fl) : : \"cc\");\n", shops[op],
         sfx(w), cnt);
  end();
}
static void gen_shd(const char *op, int w, int cnt /* -1: cl */) {
  char name[48];
  if (cnt < 0) {
    snprintf(name, sizeof name, "%s%s_cl", op, sfx(w));
    begin(name, K_SHD, w, 0, 0, 0);
    printf("  uint8_t cnt = (uint8_t)io->c;\n");
    printf("  __asm__ volatile(PRE \"%s%s %%%%cl, %%[b], %%[a]\" POST : [a] \"+r\"(a), [fl] \"+r\"(fl) : [b] \"r\"(b), \"c\"(cnt) : \"cc\");\n",
           op, sfx(w));
  } else {
    snprintf(name, sizeof name, "%s%s_%d", op, sfx(w), cnt);
    begin(name, K_SHDI, w, cnt, 0, 0);
    printf("  __asm__ volatile(PRE \"%s%s $%d, %%[b], %%[a]\" POST : [a] \"+r\"(a), [fl] \"+r\"(fl) : [b] \"r\"(b) : \"cc\");\n",
           op, sfx(w), cnt);
  }
  end();
}
static void gen_mul1(const char *op, int w) {
  char name[48];
  snprintf(name, sizeof name, "%s%s", op, sfx(w));
  begin(name, K_MUL1, w, 0, SF | ZF | AF | PF, 0);
  if (w == 8) {
    printf("  uint16_t ax = a;\n");
    printf("  __asm__ volatile(PRE \"%sb %%[b]\" POST : \"+a\"(ax), [fl] \"+r\"(fl) : [b] \"q\"(b) : \"cc\");\n", op);
    printf("  a = (uint8_t)ax; b = (uint8_t)(ax >> 8);\n");
    printf("  io->r1 = ax; io->r2 = 0; io->fout = fl; return;\n}\n");
    return;
  }
  printf("  %s d = 0;\n", ctype(w));
  printf("  __asm__ volatile(PRE \"%s%s %%[b]\" POST : \"+a\"(a), \"=d\"(d), [fl] \"+r\"(fl) : [b] \"r\"(b) : \"cc\");\n",
         op, sfx(w));
  printf("  b = d;\n");
  end();
}
static void gen_imul2(int w) {
  char name[48];
  snprintf(name, sizeof name, "imul%s_rr", sfx(w));
  begin(name, K_IMUL2, w, 0, SF | ZF | AF | PF, 0);
  printf("  __asm__ volatile(PRE \"imul%s %%[b], %%[a]\" POST : [a] \"+r\"(a), [fl] \"+r\"(fl) : [b] \"r\"(b) : \"cc\");\n",
         sfx(w));
  end();
}
static void gen_imul3(int w, int imm) {
  char name[48];
  snprintf(name, sizeof name, "imul%s_i%d", sfx(w), imm);
  begin(name, K_IMUL3, w, imm, SF | ZF | AF | PF, 0);
  printf("  __asm__ volatile(PRE \"imul%s $%d, %%[b], %%[a]\" POST : [a] \"=r\"(a), [fl] \"+r\"(fl) : [b] \"r\"(b) : \"cc\");\n",
         sfx(w), imm);
  end();
}
static void gen_div(const char *op, int w) {
  char name[48];
  snprintf(name, sizeof name, "%s%s", op, sfx(w));
  begin(name, K_DIV, w, 0, ARITH, op[0] == 'i');
  if (w == 8) {
    printf("  uint16_t ax = (uint16_t)(c << 8 | a);\n");
    printf("  __asm__ volatile(PRE \"%sb %%[b]\" POST : \"+a\"(ax), [fl] \"+r\"(fl) : [b] \"q\"(b) : \"cc\");\n", op);
    printf("  io->r1 = ax; io->r2 = 0; io->fout = fl; return;\n}\n");
    return;
  }
  printf("  %s d = c;\n", ctype(w));
  printf("  __asm__ volatile(PRE \"%s%s %%[b]\" POST : \"+a\"(a), \"+d\"(d), [fl] \"+r\"(fl) : [b] \"r\"(b) : \"cc\");\n",
         op, sfx(w));
  printf("  b = d;\n");
  end();
}
static void gen_bt(const char *op, int w, int imm /* -1: reg */) {
  char name[48];
  if (imm < 0) {
    snprintf(name, sizeof name, "%s%s_r", op, sfx(w));
    begin(name, K_BT, w, 0, OF | SF | AF | PF, 0);
    printf("  __asm__ volatile(PRE \"%s%s %%[b], %%[a]\" POST : [a] \"+r\"(a), [fl] \"+r\"(fl) : [b] \"r\"(b) : \"cc\");\n",
           op, sfx(w));
  } else {
    snprintf(name, sizeof name, "%s%s_%d", op, sfx(w), imm);
    begin(name, K_BTI, w, imm, OF | SF | AF | PF, 0);
    printf("  __asm__ volatile(PRE \"%s%s $%d, %%[a]\" POST : [a] \"+r\"(a), [fl] \"+r\"(fl) : : \"cc\");\n", op, sfx(w),
           imm);
  }
  end();
}
static void gen_bsx(const char *op, int w) {
  char name[48];
  snprintf(name, sizeof name, "%s%s", op, sfx(w));
  begin(name, K_BSX, w, 0, CF | OF | SF | AF | PF, 0);
  printf("  __asm__ volatile(PRE \"%s%s %%[b], %%[a]\" POST : [a] \"+r\"(a), [fl] \"+r\"(fl) : [b] \"r\"(b) : \"cc\");\n", op,
         sfx(w));
  end();
}
static void gen_xadd(int w) {
  char name[48];
  snprintf(name, sizeof name, "xadd%s", sfx(w));
  begin(name, K_XADD, w, 0, 0, 0);
  printf("  __asm__ volatile(PRE \"xadd%s %%[b], %%[a]\" POST : [a] \"+q\"(a), [b] \"+q\"(b), [fl] \"+r\"(fl) : : \"cc\");\n",
         sfx(w));
  end();
}
static void gen_cmpxchg(int w) {
  char name[48];
  snprintf(name, sizeof name, "cmpxchg%s", sfx(w));
  begin(name, K_CMPXCHG, w, 0, 0, 0);
  printf("  __asm__ volatile(PRE \"cmpxchg%s %%[b], %%[a]\" POST : [a] \"+q\"(a), \"+a\"(c), [fl] \"+r\"(fl) : [b] \"q\"(b) : \"cc\");\n",
         sfx(w));
  end();
}
static const char *ccs[] = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"};
static void gen_setcc(int cc) {
  char name[48];
  snprintf(name, sizeof name, "set%s", ccs[cc]);
  begin(name, K_SETCC, 8, 0, 0, 0);
  printf("  __asm__ volatile(PRE \"set%s %%[a]\" POST : [a] \"+q\"(a), [fl] \"+r\"(fl) : : \"cc\");\n", ccs[cc]);
  end();
}
static void gen_cmov(int cc, int w) {
  char name[48];
  snprintf(name, sizeof name, "cmov%s%s", ccs[cc], sfx(w));
  begin(name, K_CMOV, w, 0, 0, 0);
  printf("  __asm__ volatile(PRE \"cmov%s%s %%[b], %%[a]\" POST : [a] \"+r\"(a), [fl] \"+r\"(fl) : [b] \"r\"(b) : \"cc\");\n",
         ccs[cc], sfx(w));
  end();
}
static void gen_misc(const char *insn, const char *name) {
  begin(name, K_MISC, 32, 0, 0, 0);
  printf("  __asm__ volatile(PRE \"%s\" POST : \"+a\"(a), \"+d\"(b), [fl] \"+r\"(fl) : : \"cc\");\n", insn);
  end();
}

int main(int argc, char **argv) {
  unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 12345u;
  printf("/* Generated by test/native/alugen.c: do not edit. */\n");
  printf("#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n");
  printf("#define PRE \"push %%[fl]\\n\\tpopf\\n\\t\"\n#define POST \"\\n\\tpushf\\n\\tpop %%[fl]\"\n");
  printf("struct io { uint32_t a, b, c; unsigned long fin; uint32_t r1, r2; unsigned long fout; };\n");

  static const char *binops[] = {"add", "adc", "sub", "sbb", "and", "or", "xor", "cmp", "test"};
  static const int binmask[] = {0, 0, 0, 0, AF, AF, AF, 0, AF};
  for (int w = 8; w <= 32; w *= 2)
    for (int i = 0; i < 9; i++) gen_bin(binops[i], w, binmask[i]);
  static const char *unops[] = {"inc", "dec", "neg", "not"};
  for (int w = 8; w <= 32; w *= 2)
    for (int i = 0; i < 4; i++) gen_un(unops[i], w, 0);
  for (int w = 8; w <= 32; w *= 2)
    for (int op = 0; op < 8; op++) {
      gen_shcl(op, w);
      for (int cnt = 0; cnt <= 33; cnt++) gen_shi(op, w, cnt);
    }
  for (int w = 16; w <= 32; w *= 2) {
    gen_shd("shld", w, -1);
    gen_shd("shrd", w, -1);
    for (int cnt = 0; cnt <= 33; cnt += 1) {
      gen_shd("shld", w, cnt);
      gen_shd("shrd", w, cnt);
    }
  }
  for (int w = 8; w <= 32; w *= 2) {
    gen_mul1("mul", w);
    gen_mul1("imul", w);
  }
  static const int imms[] = {0, 1, 3, -1, 127, -128, 1000, 0x12345, -70000};
  for (int w = 16; w <= 32; w *= 2) {
    gen_imul2(w);
    for (int i = 0; i < 9; i++) gen_imul3(w, w == 16 && (imms[i] > 32767 || imms[i] < -32768) ? imms[i] / 8 : imms[i]);
  }
  for (int w = 8; w <= 32; w *= 2) {
    gen_div("div", w);
    gen_div("idiv", w);
  }
  static const char *btops[] = {"bt", "bts", "btr", "btc"};
  for (int w = 16; w <= 32; w *= 2)
    for (int i = 0; i < 4; i++) {
      gen_bt(btops[i], w, -1);
      gen_bt(btops[i], w, 0);
      gen_bt(btops[i], w, 5);
      gen_bt(btops[i], w, w - 1);
      gen_bt(btops[i], w, w + 3); /* immediate is taken modulo the operand size */
    }
  for (int w = 16; w <= 32; w *= 2) {
    gen_bsx("bsf", w);
    gen_bsx("bsr", w);
  }
  begin("bswapl", K_BSWAP, 32, 0, 0, 0);
  printf("  __asm__ volatile(PRE \"bswap %%[a]\" POST : [a] \"+r\"(a), [fl] \"+r\"(fl) : : \"cc\");\n");
  end();
  for (int w = 8; w <= 32; w *= 2) {
    gen_xadd(w);
    gen_cmpxchg(w);
  }
  for (int cc = 0; cc < 16; cc++) {
    gen_setcc(cc);
    gen_cmov(cc, 16);
    gen_cmov(cc, 32);
  }
  gen_misc("cwtl", "cwde");
  gen_misc("cltd", "cdq");
  gen_misc("cbtw", "cbw");
  gen_misc("cwtd", "cwd");
  gen_misc("lahf", "lahf");
  gen_misc("sahf", "sahf");
  gen_misc("cmc", "cmc");
  gen_misc("clc", "clc");
  gen_misc("stc", "stc");
  int n64 = nfn;
  /* i386-only BCD instructions */
  printf("#ifndef __x86_64__\n");
  static const char *bcd[] = {"daa", "das", "aaa", "aas"};
  static const int bcdmask[] = {OF, OF, OF | SF | ZF | PF, OF | SF | ZF | PF};
  for (int i = 0; i < 4; i++) {
    begin(bcd[i], K_BCD, 32, 0, bcdmask[i], 0);
    printf("  __asm__ volatile(PRE \"%s\" POST : \"+a\"(a), [fl] \"+r\"(fl) : : \"cc\");\n", bcd[i]);
    end();
  }
  static const int aimm[] = {10, 16, 7};
  for (int i = 0; i < 3; i++) {
    char name[48];
    snprintf(name, sizeof name, "aam_%d", aimm[i]);
    begin(name, K_AAM, 32, aimm[i], OF | AF | CF, 0);
    printf("  __asm__ volatile(PRE \"aam $%d\" POST : \"+a\"(a), [fl] \"+r\"(fl) : : \"cc\");\n", aimm[i]);
    end();
    snprintf(name, sizeof name, "aad_%d", aimm[i]);
    begin(name, K_AAM, 32, aimm[i], OF | AF | CF, 0);
    printf("  __asm__ volatile(PRE \"aad $%d\" POST : \"+a\"(a), [fl] \"+r\"(fl) : : \"cc\");\n", aimm[i]);
    end();
  }
  printf("#endif\n");

  /* the function table */
  printf("struct fn { const char *name; void (*f)(struct io *); int kind, width, imm, mask, op; };\n");
  printf("static const struct fn fns[] = {\n");
  for (int i = 0; i < nfn; i++) {
    if (i == n64) printf("#ifndef __x86_64__\n");
    printf("  {\"%s\", f%d, %d, %d, %d, %d, %d},\n", fns[i].name, i, fns[i].kind, fns[i].width, fns[i].imm,
           fns[i].mask, fns[i].op);
  }
  printf("#endif\n};\n");
  printf("#define SEED %uu\n", seed);
  /* the runner is the second half of this very file */
  printf("#define ALU_RUNNER 1\n#include \"alugen.c\"\n");
  return 0;
}
#else /* ALU_RUNNER: included by the generated program, after the test functions and the table */
enum {
  K_BIN, K_UN, K_SHCL, K_SHI, K_SHD, K_SHDI, K_MUL1, K_IMUL2, K_IMUL3, K_DIV, K_BT, K_BTI, K_BSX, K_BSWAP,
  K_XADD, K_CMPXCHG, K_SETCC, K_CMOV, K_BCD, K_AAM, K_MISC
};
#define CF 0x1
#define PF 0x4
#define AF 0x10
#define ZF 0x40
#define SF 0x80
#define OF 0x800
#define ARITH (CF | PF | AF | ZF | SF | OF)

static uint32_t rs = SEED;
static uint32_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 17;
  rs ^= rs << 5;
  return rs;
}

static char obuf[1 << 16];
static size_t olen;
static char hexpair[512];
static void flush(void) {
  fwrite(obuf, 1, olen, stdout);
  olen = 0;
}
static void put_hex(uint32_t v) {
  char *p = obuf + olen;
  p[0] = ' ';
  memcpy(p + 1, hexpair + 2 * (v >> 24), 2);
  memcpy(p + 3, hexpair + 2 * ((v >> 16) & 255), 2);
  memcpy(p + 5, hexpair + 2 * ((v >> 8) & 255), 2);
  memcpy(p + 7, hexpair + 2 * (v & 255), 2);
  olen += 9;
}
static const uint32_t wmask[33] = {[8] = 0xff, [16] = 0xffff, [32] = 0xffffffff};
static unsigned long ncases;

static void run1(const struct fn *f, uint32_t a, uint32_t b, uint32_t c, uint32_t fin, int mask, int hide_r1) {
  struct io io;
  uint32_t m = wmask[f->width];
  io.a = a & m, io.b = b & m, io.c = c & m, io.fin = fin;
  io.r1 = io.r2 = 0;
  f->f(&io);
  if (olen > sizeof obuf - 200) flush();
  size_t n = strlen(f->name);
  memcpy(obuf + olen, f->name, n);
  olen += n;
  put_hex(io.a), put_hex(io.b), put_hex(c & m), put_hex(fin);
  memcpy(obuf + olen, " ->", 3);
  olen += 3;
  put_hex(hide_r1 ? 0 : io.r1), put_hex(io.r2), put_hex(io.c), put_hex((uint32_t)io.fout & 0x8d5 & ~(uint32_t)mask);
  obuf[olen++] = '\n';
  ncases++;
}

static int shift_mask(const struct fn *f, uint32_t count) {
  uint32_t c = count & 31;
  if (c == 0) return 0;
  if (f->op <= 3) return c == 1 ? 0 : OF; /* rol ror rcl rcr */
  int m = c == 1 ? AF : AF | OF;
  if (f->op != 7 && c >= (uint32_t)f->width) m |= CF; /* shl shr sal: CF undefined when count >= size */
  return m;
}
static int shd_mask(const struct fn *f, uint32_t count) {
  uint32_t c = count & 31;
  if (c == 0) return 0;
  if (c > (uint32_t)f->width) return ARITH;
  return c == 1 ? AF : AF | OF;
}

/* does div/idiv of (hi:lo) by d fault? */
static int div_faults(const struct fn *f, uint32_t lo, uint32_t hi, uint32_t d) {
  int w = f->width;
  uint32_t m = wmask[w];
  lo &= m, hi &= m, d &= m;
  if (d == 0) return 1;
  if (!f->op) return hi >= d;
  int64_t divisor = w == 8 ? (int8_t)d : w == 16 ? (int16_t)d : (int32_t)d;
  int64_t dividend;
  if (w == 32) {
    uint64_t u = (uint64_t)hi << 32 | lo;
    if (u == 0x8000000000000000ull) return 1; /* INT64_MIN / anything that fits is impossible except /-1, /1.. */
    dividend = (int64_t)u;
  } else if (w == 16)
    dividend = (int32_t)(hi << 16 | lo);
  else
    dividend = (int16_t)(hi << 8 | lo);
  int64_t q = dividend / divisor;
  int64_t lim = (int64_t)1 << (w - 1);
  return q < -lim || q >= lim;
}

static void edges(int w, uint32_t *out, int *n) {
  static const uint32_t e32[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678};
  static const uint32_t e16[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x1234};
  static const uint32_t e8[] = {0, 1, 2, 0x0f, 0x10, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x5a};
  const uint32_t *e = w == 32 ? e32 : w == 16 ? e16 : e8;
  int k = w == 32 ? 13 : 12;
  for (int i = 0; i < k; i++) out[i] = e[i];
  *n = k;
}

static const uint32_t fl2[] = {0x202, 0xad7}; /* CF=0 (all clear) and CF=1 (all arithmetic flags set) */

int main(void) {
  for (int i = 0; i < 256; i++) {
    hexpair[2 * i] = "0123456789abcdef"[i >> 4];
    hexpair[2 * i + 1] = "0123456789abcdef"[i & 15];
  }
  int nf = (int)(sizeof fns / sizeof fns[0]);
  for (int fi = 0; fi < nf; fi++) {
    const struct fn *f = &fns[fi];
    uint32_t e[16], vals[40];
    int ne, nv;
    edges(f->width, e, &ne);
    for (nv = 0; nv < ne; nv++) vals[nv] = e[nv];
    switch (f->kind) {
    case K_BIN: case K_MUL1: case K_IMUL2: case K_XADD:
      for (int k = 0; k < 2; k++)
        for (int i = 0; i < ne; i++)
          for (int j = 0; j < ne; j++) run1(f, e[i], e[j], 0, fl2[k], f->mask, 0);
      for (int r = 0; r < 100; r++) {
        uint32_t a = rnd() >> (rnd() % 32), b = rnd() >> (rnd() % 32);
        for (int k = 0; k < 2; k++) run1(f, a, b, 0, fl2[k], f->mask, 0);
      }
      break;
    case K_IMUL3:
      for (int k = 0; k < 2; k++)
        for (int j = 0; j < ne; j++) run1(f, 0, e[j], 0, fl2[k], f->mask, 0);
      for (int r = 0; r < 20; r++) run1(f, 0, rnd(), 0, fl2[r & 1], f->mask, 0);
      break;
    case K_UN: case K_BSWAP:
      for (int r = 0; r < 20; r++) vals[nv++] = rnd() >> (rnd() % 32);
      for (int k = 0; k < 2; k++)
        for (int i = 0; i < nv; i++) run1(f, vals[i], 0, 0, fl2[k], f->mask, 0);
      break;
    case K_SHCL:
      vals[nv++] = rnd(), vals[nv++] = rnd();
      for (uint32_t cnt = 0; cnt <= 35; cnt++) {
        uint32_t cv = cnt == 34 ? 69 : cnt == 35 ? 255 : cnt;
        for (int k = 0; k < 2; k++)
          for (int i = 0; i < 8; i++) run1(f, vals[(i * 5 + cnt) % nv], cv, 0, fl2[k], shift_mask(f, cv), 0);
      }
      break;
    case K_SHI:
      vals[nv++] = rnd(), vals[nv++] = rnd();
      for (int k = 0; k < 2; k++)
        for (int i = 0; i < nv; i++) run1(f, vals[i], 0, 0, fl2[k], shift_mask(f, (uint32_t)f->imm), 0);
      break;
    case K_SHD:
      for (uint32_t cnt = 0; cnt <= 33; cnt++)
        for (int k = 0; k < 2; k++)
          for (int i = 0; i < 6; i++) {
            uint32_t a = e[(i * 7 + cnt) % ne], b = i < 3 ? e[(i * 3 + cnt * 5) % ne] : rnd();
            int m = shd_mask(f, cnt);
            run1(f, a, b, cnt, fl2[k], m, m == ARITH);
          }
      break;
    case K_SHDI: {
      int m = shd_mask(f, (uint32_t)f->imm);
      for (int k = 0; k < 2; k++)
        for (int i = 0; i < 8; i++) run1(f, i < 4 ? e[(i * 5) % ne] : rnd(), i & 1 ? rnd() : e[(i * 3) % ne], 0, fl2[k], m, m == ARITH);
      break;
    }
    case K_DIV:
      for (int k = 0; k < 2; k++)
        for (int j = 0; j < ne; j++)
          for (int i = 0; i < ne; i++) {
            uint32_t d = e[j], lo = e[i];
            uint32_t his[4] = {0, 1, (f->width == 32 ? (int32_t)lo < 0 : f->width == 16 ? (int16_t)lo < 0 : (int8_t)lo < 0) ? 0xffffffff : 0, rnd() % (d ? d : 1)};
            for (int h = 0; h < 4; h++)
              if (!div_faults(f, lo, his[h], d)) run1(f, lo, d, his[h], fl2[k], ARITH, 0);
          }
      for (int r = 0; r < 200; r++) {
        uint32_t d = rnd() >> (rnd() % 32), lo = rnd(), hi = rnd() >> (rnd() % 32);
        if (!div_faults(f, lo, hi, d)) run1(f, lo, d, hi, fl2[r & 1], ARITH, 0);
      }
      break;
    case K_BT:
      for (int k = 0; k < 2; k++)
        for (int i = 0; i < ne; i++)
          for (uint32_t bit = 0; bit < 40; bit += 3) run1(f, e[i], bit, 0, fl2[k], f->mask, 0);
      break;
    case K_BTI:
      for (int r = 0; r < 4; r++) vals[nv++] = rnd();
      for (int k = 0; k < 2; k++)
        for (int i = 0; i < nv; i++) run1(f, vals[i], 0, 0, fl2[k], f->mask, 0);
      break;
    case K_BSX:
      for (int b = 0; b < 33; b++) {
        uint32_t v = b == 32 ? 0 : (1u << b) | (rnd() & ((1u << b) - 1)) ;
        if (f->width == 16) v &= 0xffff;
        for (int k = 0; k < 2; k++) run1(f, 0x5a5a5a5a, v, 0, fl2[k], f->mask, (v & wmask[f->width]) == 0);
      }
      for (int i = 0; i < ne; i++) run1(f, 0x5a5a5a5a, e[i], 0, 0x202, f->mask, e[i] == 0);
      break;
    case K_CMPXCHG:
      for (int k = 0; k < 2; k++)
        for (int i = 0; i < ne; i++)
          for (int j = 0; j < ne; j += 2) {
            run1(f, e[i], e[j], e[i], fl2[k], 0, 0);
            run1(f, e[i], e[j], e[j], fl2[k], 0, 0);
          }
      for (int r = 0; r < 100; r++) {
        uint32_t a = rnd(), b = rnd();
        run1(f, a, b, r & 1 ? a : rnd(), fl2[r & 1], 0, 0);
      }
      break;
    case K_SETCC: case K_CMOV: case K_MISC:
      for (int fl = 0; fl < 64; fl++) {
        uint32_t fin = 0x202 | (fl & 1 ? CF : 0) | (fl & 2 ? PF : 0) | (fl & 4 ? AF : 0) | (fl & 8 ? ZF : 0) |
                       (fl & 16 ? SF : 0) | (fl & 32 ? OF : 0);
        uint32_t a = fl & 1 ? 0x12345678 : 0x8000ff80, b = fl & 2 ? 0xffffffff : 0x00abcdef;
        if (f->kind == K_MISC) a = rnd() >> (fl % 32), b = rnd();
        run1(f, a, b, 0, fin, 0, 0);
      }
      break;
    case K_BCD:
      for (uint32_t al = 0; al < 256; al++) {
        static const uint32_t fins[] = {0x202, 0x203, 0x212, 0x213};
        for (int k = 0; k < 4; k++) run1(f, (rnd() & 0xffff0000) | ((al * 7) & 0xff00) | al, 0, 0, fins[k], f->mask, 0);
      }
      break;
    case K_AAM:
      for (uint32_t ax = 0; ax < 512; ax += 1) {
        uint32_t v = ax < 256 ? ax : rnd() & 0xffff;
        if (f->name[2] == 'm' && f->imm == 0) continue;
        run1(f, (rnd() & 0xffff0000) | v, 0, 0, ax & 1 ? 0xad7 : 0x202, f->mask, 0);
      }
      break;
    }
  }
  flush();
  printf("cases %lu\n", ncases);
  return 0;
}
#endif
