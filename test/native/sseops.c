/*
 * SSE/SSE2 instruction oracle: applies one instruction to operands read from stdin and writes the
 * result, so the same source gives the real CPU's answers (built -m64 and run natively: SSE/SSE2
 * instructions compute the same in 64-bit mode) and the emulator's (built -m32, run in probelab) or
 * qemu-i386's. test/sse.test.ts generates the operands with fast-check and compares the outputs.
 *
 * stdin: records of 40 bytes {u32 op, u32 mxcsr, u8 a[16], u8 b[16]}: xmm0 = a, xmm1 = b, MXCSR = mxcsr,
 *        EAX = 0 (so ZF/PF are 1 and the other arithmetic flags 0), then the instruction.
 * stdout: per record 28 bytes {u8 xmm0[16], u32 eax, u32 eflags & 0x8d5, u32 mxcsr}.
 * `sseops list` prints the instruction names, one a line, in op order.
 * The *_m forms take b from 16-byte-aligned memory instead of xmm1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OPS(X) \
  X(addps, "addps %%xmm1,%%xmm0") \
  X(addss, "addss %%xmm1,%%xmm0") \
  X(addpd, "addpd %%xmm1,%%xmm0") \
  X(addsd, "addsd %%xmm1,%%xmm0") \
  X(subps, "subps %%xmm1,%%xmm0") \
  X(subss, "subss %%xmm1,%%xmm0") \
  X(subpd, "subpd %%xmm1,%%xmm0") \
  X(subsd, "subsd %%xmm1,%%xmm0") \
  X(mulps, "mulps %%xmm1,%%xmm0") \
  X(mulss, "mulss %%xmm1,%%xmm0") \
  X(mulpd, "mulpd %%xmm1,%%xmm0") \
  X(mulsd, "mulsd %%xmm1,%%xmm0") \
  X(divps, "divps %%xmm1,%%xmm0") \
  X(divss, "divss %%xmm1,%%xmm0") \
  X(divpd, "divpd %%xmm1,%%xmm0") \
  X(divsd, "divsd %%xmm1,%%xmm0") \
  X(minps, "minps %%xmm1,%%xmm0") \
  X(minss, "minss %%xmm1,%%xmm0") \
  X(minpd, "minpd %%xmm1,%%xmm0") \
  X(minsd, "minsd %%xmm1,%%xmm0") \
  X(maxps, "maxps %%xmm1,%%xmm0") \
  X(maxss, "maxss %%xmm1,%%xmm0") \
  X(maxpd, "maxpd %%xmm1,%%xmm0") \
  X(maxsd, "maxsd %%xmm1,%%xmm0") \
  X(sqrtps, "sqrtps %%xmm1,%%xmm0") \
  X(sqrtss, "sqrtss %%xmm1,%%xmm0") \
  X(sqrtpd, "sqrtpd %%xmm1,%%xmm0") \
  X(sqrtsd, "sqrtsd %%xmm1,%%xmm0") \
  X(cmpeqps, "cmpps $0,%%xmm1,%%xmm0") \
  X(cmpltps, "cmpps $1,%%xmm1,%%xmm0") \
  X(cmpleps, "cmpps $2,%%xmm1,%%xmm0") \
  X(cmpunordps, "cmpps $3,%%xmm1,%%xmm0") \
  X(cmpneqps, "cmpps $4,%%xmm1,%%xmm0") \
  X(cmpnltps, "cmpps $5,%%xmm1,%%xmm0") \
  X(cmpnleps, "cmpps $6,%%xmm1,%%xmm0") \
  X(cmpordps, "cmpps $7,%%xmm1,%%xmm0") \
  X(cmpeqss, "cmpss $0,%%xmm1,%%xmm0") \
  X(cmpltss, "cmpss $1,%%xmm1,%%xmm0") \
  X(cmpless, "cmpss $2,%%xmm1,%%xmm0") \
  X(cmpunordss, "cmpss $3,%%xmm1,%%xmm0") \
  X(cmpneqss, "cmpss $4,%%xmm1,%%xmm0") \
  X(cmpnltss, "cmpss $5,%%xmm1,%%xmm0") \
  X(cmpnless, "cmpss $6,%%xmm1,%%xmm0") \
  X(cmpordss, "cmpss $7,%%xmm1,%%xmm0") \
  X(cmpeqpd, "cmppd $0,%%xmm1,%%xmm0") \
  X(cmpltpd, "cmppd $1,%%xmm1,%%xmm0") \
  X(cmplepd, "cmppd $2,%%xmm1,%%xmm0") \
  X(cmpunordpd, "cmppd $3,%%xmm1,%%xmm0") \
  X(cmpneqpd, "cmppd $4,%%xmm1,%%xmm0") \
  X(cmpnltpd, "cmppd $5,%%xmm1,%%xmm0") \
  X(cmpnlepd, "cmppd $6,%%xmm1,%%xmm0") \
  X(cmpordpd, "cmppd $7,%%xmm1,%%xmm0") \
  X(cmpeqsd, "cmpsd $0,%%xmm1,%%xmm0") \
  X(cmpltsd, "cmpsd $1,%%xmm1,%%xmm0") \
  X(cmplesd, "cmpsd $2,%%xmm1,%%xmm0") \
  X(cmpunordsd, "cmpsd $3,%%xmm1,%%xmm0") \
  X(cmpneqsd, "cmpsd $4,%%xmm1,%%xmm0") \
  X(cmpnltsd, "cmpsd $5,%%xmm1,%%xmm0") \
  X(cmpnlesd, "cmpsd $6,%%xmm1,%%xmm0") \
  X(cmpordsd, "cmpsd $7,%%xmm1,%%xmm0") \
  X(comiss, "comiss %%xmm1,%%xmm0") \
  X(ucomiss, "ucomiss %%xmm1,%%xmm0") \
  X(comisd, "comisd %%xmm1,%%xmm0") \
  X(ucomisd, "ucomisd %%xmm1,%%xmm0") \
  X(cvtsi2ss, "movd %%xmm1,%%eax\n cvtsi2ss %%eax,%%xmm0") \
  X(cvtsi2sd, "movd %%xmm1,%%eax\n cvtsi2sd %%eax,%%xmm0") \
  X(cvtss2si, "cvtss2si %%xmm1,%%eax") \
  X(cvttss2si, "cvttss2si %%xmm1,%%eax") \
  X(cvtsd2si, "cvtsd2si %%xmm1,%%eax") \
  X(cvttsd2si, "cvttsd2si %%xmm1,%%eax") \
  X(cvtps2pd, "cvtps2pd %%xmm1,%%xmm0") \
  X(cvtpd2ps, "cvtpd2ps %%xmm1,%%xmm0") \
  X(cvtss2sd, "cvtss2sd %%xmm1,%%xmm0") \
  X(cvtsd2ss, "cvtsd2ss %%xmm1,%%xmm0") \
  X(cvtdq2ps, "cvtdq2ps %%xmm1,%%xmm0") \
  X(cvtps2dq, "cvtps2dq %%xmm1,%%xmm0") \
  X(cvttps2dq, "cvttps2dq %%xmm1,%%xmm0") \
  X(cvttpd2dq, "cvttpd2dq %%xmm1,%%xmm0") \
  X(cvtdq2pd, "cvtdq2pd %%xmm1,%%xmm0") \
  X(cvtpd2dq, "cvtpd2dq %%xmm1,%%xmm0") \
  X(andps, "andps %%xmm1,%%xmm0") \
  X(andnps, "andnps %%xmm1,%%xmm0") \
  X(orps, "orps %%xmm1,%%xmm0") \
  X(xorps, "xorps %%xmm1,%%xmm0") \
  X(andpd, "andpd %%xmm1,%%xmm0") \
  X(andnpd, "andnpd %%xmm1,%%xmm0") \
  X(orpd, "orpd %%xmm1,%%xmm0") \
  X(xorpd, "xorpd %%xmm1,%%xmm0") \
  X(unpcklps, "unpcklps %%xmm1,%%xmm0") \
  X(unpckhps, "unpckhps %%xmm1,%%xmm0") \
  X(unpcklpd, "unpcklpd %%xmm1,%%xmm0") \
  X(unpckhpd, "unpckhpd %%xmm1,%%xmm0") \
  X(punpcklbw, "punpcklbw %%xmm1,%%xmm0") \
  X(punpcklwd, "punpcklwd %%xmm1,%%xmm0") \
  X(punpckldq, "punpckldq %%xmm1,%%xmm0") \
  X(punpcklqdq, "punpcklqdq %%xmm1,%%xmm0") \
  X(punpckhbw, "punpckhbw %%xmm1,%%xmm0") \
  X(punpckhwd, "punpckhwd %%xmm1,%%xmm0") \
  X(punpckhdq, "punpckhdq %%xmm1,%%xmm0") \
  X(punpckhqdq, "punpckhqdq %%xmm1,%%xmm0") \
  X(packsswb, "packsswb %%xmm1,%%xmm0") \
  X(packuswb, "packuswb %%xmm1,%%xmm0") \
  X(packssdw, "packssdw %%xmm1,%%xmm0") \
  X(pcmpgtb, "pcmpgtb %%xmm1,%%xmm0") \
  X(pcmpgtw, "pcmpgtw %%xmm1,%%xmm0") \
  X(pcmpgtd, "pcmpgtd %%xmm1,%%xmm0") \
  X(pcmpeqb, "pcmpeqb %%xmm1,%%xmm0") \
  X(pcmpeqw, "pcmpeqw %%xmm1,%%xmm0") \
  X(pcmpeqd, "pcmpeqd %%xmm1,%%xmm0") \
  X(paddb, "paddb %%xmm1,%%xmm0") \
  X(paddw, "paddw %%xmm1,%%xmm0") \
  X(paddd, "paddd %%xmm1,%%xmm0") \
  X(paddq, "paddq %%xmm1,%%xmm0") \
  X(psubb, "psubb %%xmm1,%%xmm0") \
  X(psubw, "psubw %%xmm1,%%xmm0") \
  X(psubd, "psubd %%xmm1,%%xmm0") \
  X(psubq, "psubq %%xmm1,%%xmm0") \
  X(paddsb, "paddsb %%xmm1,%%xmm0") \
  X(paddsw, "paddsw %%xmm1,%%xmm0") \
  X(paddusb, "paddusb %%xmm1,%%xmm0") \
  X(paddusw, "paddusw %%xmm1,%%xmm0") \
  X(psubsb, "psubsb %%xmm1,%%xmm0") \
  X(psubsw, "psubsw %%xmm1,%%xmm0") \
  X(psubusb, "psubusb %%xmm1,%%xmm0") \
  X(psubusw, "psubusw %%xmm1,%%xmm0") \
  X(pmullw, "pmullw %%xmm1,%%xmm0") \
  X(pmulhw, "pmulhw %%xmm1,%%xmm0") \
  X(pmulhuw, "pmulhuw %%xmm1,%%xmm0") \
  X(pmuludq, "pmuludq %%xmm1,%%xmm0") \
  X(pmaddwd, "pmaddwd %%xmm1,%%xmm0") \
  X(psadbw, "psadbw %%xmm1,%%xmm0") \
  X(pminub, "pminub %%xmm1,%%xmm0") \
  X(pmaxub, "pmaxub %%xmm1,%%xmm0") \
  X(pminsw, "pminsw %%xmm1,%%xmm0") \
  X(pmaxsw, "pmaxsw %%xmm1,%%xmm0") \
  X(pavgb, "pavgb %%xmm1,%%xmm0") \
  X(pavgw, "pavgw %%xmm1,%%xmm0") \
  X(pand, "pand %%xmm1,%%xmm0") \
  X(pandn, "pandn %%xmm1,%%xmm0") \
  X(por, "por %%xmm1,%%xmm0") \
  X(pxor, "pxor %%xmm1,%%xmm0") \
  X(psrlw, "psrlw %%xmm1,%%xmm0") \
  X(psrld, "psrld %%xmm1,%%xmm0") \
  X(psrlq, "psrlq %%xmm1,%%xmm0") \
  X(psraw, "psraw %%xmm1,%%xmm0") \
  X(psrad, "psrad %%xmm1,%%xmm0") \
  X(psllw, "psllw %%xmm1,%%xmm0") \
  X(pslld, "pslld %%xmm1,%%xmm0") \
  X(psllq, "psllq %%xmm1,%%xmm0") \
  X(movhlps, "movhlps %%xmm1,%%xmm0") \
  X(movlhps, "movlhps %%xmm1,%%xmm0") \
  X(movss, "movss %%xmm1,%%xmm0") \
  X(movsd, "movsd %%xmm1,%%xmm0") \
  X(movq, "movq %%xmm1,%%xmm0") \
  X(psrlw_0, "psrlw $0,%%xmm0") \
  X(psrlw_1, "psrlw $1,%%xmm0") \
  X(psrlw_7, "psrlw $7,%%xmm0") \
  X(psrlw_15, "psrlw $15,%%xmm0") \
  X(psrlw_16, "psrlw $16,%%xmm0") \
  X(psraw_0, "psraw $0,%%xmm0") \
  X(psraw_1, "psraw $1,%%xmm0") \
  X(psraw_7, "psraw $7,%%xmm0") \
  X(psraw_15, "psraw $15,%%xmm0") \
  X(psraw_16, "psraw $16,%%xmm0") \
  X(psllw_0, "psllw $0,%%xmm0") \
  X(psllw_1, "psllw $1,%%xmm0") \
  X(psllw_7, "psllw $7,%%xmm0") \
  X(psllw_15, "psllw $15,%%xmm0") \
  X(psllw_16, "psllw $16,%%xmm0") \
  X(psrld_0, "psrld $0,%%xmm0") \
  X(psrld_3, "psrld $3,%%xmm0") \
  X(psrld_31, "psrld $31,%%xmm0") \
  X(psrld_32, "psrld $32,%%xmm0") \
  X(psrad_0, "psrad $0,%%xmm0") \
  X(psrad_3, "psrad $3,%%xmm0") \
  X(psrad_31, "psrad $31,%%xmm0") \
  X(psrad_32, "psrad $32,%%xmm0") \
  X(pslld_0, "pslld $0,%%xmm0") \
  X(pslld_3, "pslld $3,%%xmm0") \
  X(pslld_31, "pslld $31,%%xmm0") \
  X(pslld_32, "pslld $32,%%xmm0") \
  X(psrlq_0, "psrlq $0,%%xmm0") \
  X(psrlq_5, "psrlq $5,%%xmm0") \
  X(psrlq_32, "psrlq $32,%%xmm0") \
  X(psrlq_33, "psrlq $33,%%xmm0") \
  X(psrlq_63, "psrlq $63,%%xmm0") \
  X(psrlq_64, "psrlq $64,%%xmm0") \
  X(psllq_0, "psllq $0,%%xmm0") \
  X(psllq_5, "psllq $5,%%xmm0") \
  X(psllq_32, "psllq $32,%%xmm0") \
  X(psllq_33, "psllq $33,%%xmm0") \
  X(psllq_63, "psllq $63,%%xmm0") \
  X(psllq_64, "psllq $64,%%xmm0") \
  X(psrldq_0, "psrldq $0,%%xmm0") \
  X(psrldq_1, "psrldq $1,%%xmm0") \
  X(psrldq_7, "psrldq $7,%%xmm0") \
  X(psrldq_15, "psrldq $15,%%xmm0") \
  X(psrldq_16, "psrldq $16,%%xmm0") \
  X(pslldq_0, "pslldq $0,%%xmm0") \
  X(pslldq_1, "pslldq $1,%%xmm0") \
  X(pslldq_7, "pslldq $7,%%xmm0") \
  X(pslldq_15, "pslldq $15,%%xmm0") \
  X(pslldq_16, "pslldq $16,%%xmm0") \
  X(pshufd_1b, "pshufd $27,%%xmm1,%%xmm0") \
  X(pshufd_e4, "pshufd $228,%%xmm1,%%xmm0") \
  X(pshufd_4e, "pshufd $78,%%xmm1,%%xmm0") \
  X(pshufd_0, "pshufd $0,%%xmm1,%%xmm0") \
  X(pshufd_ff, "pshufd $255,%%xmm1,%%xmm0") \
  X(pshufd_93, "pshufd $147,%%xmm1,%%xmm0") \
  X(pshufhw_1b, "pshufhw $27,%%xmm1,%%xmm0") \
  X(pshufhw_e4, "pshufhw $228,%%xmm1,%%xmm0") \
  X(pshufhw_4e, "pshufhw $78,%%xmm1,%%xmm0") \
  X(pshufhw_0, "pshufhw $0,%%xmm1,%%xmm0") \
  X(pshufhw_ff, "pshufhw $255,%%xmm1,%%xmm0") \
  X(pshufhw_93, "pshufhw $147,%%xmm1,%%xmm0") \
  X(pshuflw_1b, "pshuflw $27,%%xmm1,%%xmm0") \
  X(pshuflw_e4, "pshuflw $228,%%xmm1,%%xmm0") \
  X(pshuflw_4e, "pshuflw $78,%%xmm1,%%xmm0") \
  X(pshuflw_0, "pshuflw $0,%%xmm1,%%xmm0") \
  X(pshuflw_ff, "pshuflw $255,%%xmm1,%%xmm0") \
  X(pshuflw_93, "pshuflw $147,%%xmm1,%%xmm0") \
  X(shufps_1b, "shufps $27,%%xmm1,%%xmm0") \
  X(shufps_e4, "shufps $228,%%xmm1,%%xmm0") \
  X(shufps_4e, "shufps $78,%%xmm1,%%xmm0") \
  X(shufps_0, "shufps $0,%%xmm1,%%xmm0") \
  X(shufps_ff, "shufps $255,%%xmm1,%%xmm0") \
  X(shufps_93, "shufps $147,%%xmm1,%%xmm0") \
  X(shufpd_0, "shufpd $0,%%xmm1,%%xmm0") \
  X(shufpd_1, "shufpd $1,%%xmm1,%%xmm0") \
  X(shufpd_2, "shufpd $2,%%xmm1,%%xmm0") \
  X(shufpd_3, "shufpd $3,%%xmm1,%%xmm0") \
  X(pmovmskb, "pmovmskb %%xmm1,%%eax") \
  X(movmskps, "movmskps %%xmm1,%%eax") \
  X(movmskpd, "movmskpd %%xmm1,%%eax") \
  X(pextrw_0, "pextrw $0,%%xmm1,%%eax") \
  X(pextrw_3, "pextrw $3,%%xmm1,%%eax") \
  X(pextrw_7, "pextrw $7,%%xmm1,%%eax") \
  X(pinsrw_0, "movd %%xmm1,%%eax\n pinsrw $0,%%eax,%%xmm0") \
  X(pinsrw_5, "movd %%xmm1,%%eax\n pinsrw $5,%%eax,%%xmm0") \
  X(pinsrw_7, "movd %%xmm1,%%eax\n pinsrw $7,%%eax,%%xmm0") \
  X(movd_to, "movd %%xmm1,%%eax") \
  X(movd_from, "movd %%xmm1,%%eax\n movd %%eax,%%xmm0") \
  X(movq_st, "movq %%xmm1,%%xmm0") \
  X(movaps, "movaps %%xmm1,%%xmm0") \
  X(movapd, "movapd %%xmm1,%%xmm0") \
  X(movdqa, "movdqa %%xmm1,%%xmm0") \
  X(movdqu, "movdqu %%xmm1,%%xmm0") \
  X(movups, "movups %%xmm1,%%xmm0") \
  X(addps_m, "addps %5,%%xmm0") \
  X(addsd_m, "addsd %5,%%xmm0") \
  X(mulss_m, "mulss %5,%%xmm0") \
  X(divpd_m, "divpd %5,%%xmm0") \
  X(cmpltpd_m, "cmppd $1,%5,%%xmm0") \
  X(minsd_m, "minsd %5,%%xmm0") \
  X(maxps_m, "maxps %5,%%xmm0") \
  X(ucomisd_m, "ucomisd %5,%%xmm0") \
  X(comiss_m, "comiss %5,%%xmm0") \
  X(cvtss2sd_m, "cvtss2sd %5,%%xmm0") \
  X(cvtsd2ss_m, "cvtsd2ss %5,%%xmm0") \
  X(cvtps2pd_m, "cvtps2pd %5,%%xmm0") \
  X(cvtdq2pd_m, "cvtdq2pd %5,%%xmm0") \
  X(paddw_m, "paddw %5,%%xmm0") \
  X(pshufd_m, "pshufd $0x1b,%5,%%xmm0") \
  X(cvttsd2si_m, "cvttsd2si %5,%%eax") \
  X(cvtsi2sd_m, "cvtsi2sdl %5,%%xmm0") \
  X(cvtsi2ss_m, "cvtsi2ssl %5,%%xmm0") \
  X(movss_m, "movss %5,%%xmm0") \
  X(movsd_m, "movsd %5,%%xmm0") \
  X(movq_m, "movq %5,%%xmm0") \
  X(movlps_m, "movlps %5,%%xmm0") \
  X(movhps_m, "movhps %5,%%xmm0") \
  X(movlpd_m, "movlpd %5,%%xmm0") \
  X(movhpd_m, "movhpd %5,%%xmm0") \
  X(punpcklbw_m, "punpcklbw %5,%%xmm0") \
  X(psrlq_m, "psrlq %5,%%xmm0") \

enum {
#define X(name, text) OP_##name,
  OPS(X)
#undef X
  OP_COUNT
};

static const char *const names[] = {
#define X(name, text) #name,
    OPS(X)
#undef X
};

static uint8_t A[16] __attribute__((aligned(16)));
static uint8_t B[16] __attribute__((aligned(16)));
static uint8_t inbuf[1 << 22];
static uint8_t outbuf[1 << 22];

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "list")) {
    for (int i = 0; i < OP_COUNT; i++) printf("%s\n", names[i]);
    return 0;
  }
  size_t n = 0;
  for (;;) {
    ssize_t r = read(0, inbuf + n, sizeof inbuf - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  size_t o = 0;
  for (size_t i = 0; i + 40 <= n && o + 28 <= sizeof outbuf; i += 40) {
    uint32_t op, mx;
    memcpy(&op, inbuf + i, 4);
    memcpy(&mx, inbuf + i + 4, 4);
    memcpy(A, inbuf + i + 8, 16);
    memcpy(B, inbuf + i + 24, 16);
    uint8_t x[16];
    unsigned long fl = 0;
    uint32_t eax = 0;
    switch (op) {
#define X(name, text)                                                                                   \
  case OP_##name:                                                                                       \
    __asm__ volatile("movdqu %4,%%xmm0\n\tmovdqu %5,%%xmm1\n\tldmxcsr %1\n\txor %%eax,%%eax\n\t" text \
                     "\n\tpushf\n\tpop %2\n\tstmxcsr %1\n\tmovdqu %%xmm0,%0"                            \
                     : "=m"(x), "+m"(mx), "=&r"(fl), "=&a"(eax)                                           \
                     : "m"(A), "m"(B)                                                                   \
                     : "xmm0", "xmm1", "cc");                                                           \
    break;
      OPS(X)
#undef X
    default:
      memset(x, 0xee, 16);
    }
    uint32_t f = (uint32_t)fl & 0x8d5;
    memcpy(outbuf + o, x, 16);
    memcpy(outbuf + o + 16, &eax, 4);
    memcpy(outbuf + o + 20, &f, 4);
    memcpy(outbuf + o + 24, &mx, 4);
    o += 28;
  }
  for (size_t k = 0; k < o;) {
    ssize_t w = write(1, outbuf + k, o - k);
    if (w <= 0) return 1;
    k += (size_t)w;
  }
  return 0;
}
