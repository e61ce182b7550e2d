/*
 * insns.c - hand-written probe targets for resume_execution (kprobes.md K9, K11, K13; checks 1-4).
 *
 * Every target is a tiny assembly function with a global label (l_*) on the instruction a test probes.
 * main(argc, argv) runs the case named by argv[1] ("all" runs every case that does not kill the
 * process) and prints "name=value" lines, so a run with probes can be compared with a run without
 * probes and with qemu-i386.
 */
#include "prt.h"

u32 t_pushf(void), t_pushfw(void), t_callrel(void), t_callind(void), t_callmem(void), t_callpfx(void),
    t_callpfx2(void), t_ret(void), t_ret8_wrap(void), t_jmp8(void), t_jmp32(void), t_jcc(int),
    t_jcc32(int), t_jccpfx(int), t_jmpind(void), t_jmptab(int), t_o16(void), t_loop(void), t_popf(void),
    t_tf(void), t_tfpushf(void), t_cli(void), t_fault(u32 *), t_div(u32), t_int3(void), t_ra_call(void), t_sys(const char *, int),
    t_callfault(u32 *), t_jmpfault(u32 *);
u32 ret8_esp_delta;
u32 fault_good = 0x5a5a;
u32 callee_ptr;

__asm__(".text\n"
        /* callee_ra: returns the return address it was called with */
        ".globl callee_ra\n.type callee_ra,@function\ncallee_ra:\n"
        "  movl (%esp), %eax\n"
        "  ret\n"
        ".size callee_ra,.-callee_ra\n"

        /* pushf (check 1) */
        ".globl t_pushf\n.type t_pushf,@function\nt_pushf:\n"
        ".globl l_pushf\nl_pushf:\n"
        "  pushfl\n"
        "  popl %eax\n"
        "  ret\n"
        ".size t_pushf,.-t_pushf\n"

        /* 66 9c: pushfw (operand-size prefix in front of pushf) */
        ".globl t_pushfw\n.type t_pushfw,@function\nt_pushfw:\n"
        "  xorl %eax, %eax\n"
        ".globl l_pushfw\nl_pushfw:\n"
        "  pushfw\n"
        "  popw %ax\n"
        "  ret\n"
        ".size t_pushfw,.-t_pushfw\n"

        /* call rel32 (check 2) */
        ".globl t_callrel\n.type t_callrel,@function\nt_callrel:\n"
        ".globl l_callrel\nl_callrel:\n"
        "  call callee_ra\n"
        ".globl l_callrel_after\nl_callrel_after:\n"
        "  ret\n"
        ".size t_callrel,.-t_callrel\n"

        /* call *%eax (check 2) */
        ".globl t_callind\n.type t_callind,@function\nt_callind:\n"
        "  movl $callee_ra, %eax\n"
        ".globl l_callind\nl_callind:\n"
        "  call *%eax\n"
        "  ret\n"
        ".size t_callind,.-t_callind\n"

        /* call *mem (FF 15 disp32) */
        ".globl t_callmem\n.type t_callmem,@function\nt_callmem:\n"
        "  movl $callee_ra, callee_ptr\n"
        ".globl l_callmem\nl_callmem:\n"
        "  call *callee_ptr\n"
        "  ret\n"
        ".size t_callmem,.-t_callmem\n"

        /* 3e e8 rel32: segment prefix in front of call rel32 (6 bytes) */
        ".globl t_callpfx\n.type t_callpfx,@function\nt_callpfx:\n"
        ".globl l_callpfx\nl_callpfx:\n"
        "  .byte 0x3e\n"
        "  call callee_ra\n"
        "  ret\n"
        ".size t_callpfx,.-t_callpfx\n"

        /* 2e ff d0: segment prefix in front of call *%eax (3 bytes) */
        ".globl t_callpfx2\n.type t_callpfx2,@function\nt_callpfx2:\n"
        "  movl $callee_ra, %eax\n"
        ".globl l_callpfx2\nl_callpfx2:\n"
        "  .byte 0x2e, 0xff, 0xd0\n"
        "  ret\n"
        ".size t_callpfx2,.-t_callpfx2\n"

        /* ret (check 3) */
        ".globl t_ret\n.type t_ret,@function\nt_ret:\n"
        "  movl $0x1234, %eax\n"
        ".globl l_ret\nl_ret:\n"
        "  ret\n"
        ".size t_ret,.-t_ret\n"

        /* ret $8 (check 3): callee pops its two arguments */
        ".globl t_ret8\n.type t_ret8,@function\nt_ret8:\n"
        "  movl 4(%esp), %eax\n"
        "  addl 8(%esp), %eax\n"
        ".globl l_ret8\nl_ret8:\n"
        "  ret $8\n"
        ".size t_ret8,.-t_ret8\n"
        ".globl t_ret8_wrap\n.type t_ret8_wrap,@function\nt_ret8_wrap:\n"
        "  pushl %ebx\n"
        "  movl %esp, %ebx\n"
        "  pushl $5\n"
        "  pushl $7\n"
        "  call t_ret8\n"
        "  subl %esp, %ebx\n"
        "  movl %ebx, ret8_esp_delta\n"
        "  popl %ebx\n"
        "  ret\n"
        ".size t_ret8_wrap,.-t_ret8_wrap\n"

        /* jmp rel8 (check 3) */
        ".globl t_jmp8\n.type t_jmp8,@function\nt_jmp8:\n"
        "  movl $1, %eax\n"
        ".globl l_jmp8\nl_jmp8:\n"
        "  jmp 1f\n"
        "  movl $2, %eax\n"
        "1: ret\n"
        ".size t_jmp8,.-t_jmp8\n"

        /* jmp rel32 (check 3), hand-encoded so the assembler cannot relax it */
        ".globl t_jmp32\n.type t_jmp32,@function\nt_jmp32:\n"
        "  movl $1, %eax\n"
        ".globl l_jmp32\nl_jmp32:\n"
        "  .byte 0xe9\n"
        "  .long 1f - 2f\n"
        "2: movl $2, %eax\n"
        "1: ret\n"
        ".size t_jmp32,.-t_jmp32\n"

        /* jcc rel8 (check 3): x == 0 -> 1, else 11 */
        ".globl t_jcc\n.type t_jcc,@function\nt_jcc:\n"
        "  movl 4(%esp), %ecx\n"
        "  xorl %eax, %eax\n"
        "  testl %ecx, %ecx\n"
        ".globl l_jcc\nl_jcc:\n"
        "  jz 1f\n"
        "  movl $10, %eax\n"
        "1: addl $1, %eax\n"
        "  ret\n"
        ".size t_jcc,.-t_jcc\n"

        /* jcc rel32 (0f 85): x != 0 -> 21, else 2 */
        ".globl t_jcc32\n.type t_jcc32,@function\nt_jcc32:\n"
        "  movl 4(%esp), %ecx\n"
        "  movl $1, %eax\n"
        "  testl %ecx, %ecx\n"
        ".globl l_jcc32\nl_jcc32:\n"
        "  .byte 0x0f, 0x85\n"
        "  .long 1f - 2f\n"
        "2: addl $1, %eax\n"
        "  ret\n"
        "1: addl $20, %eax\n"
        "  ret\n"
        ".size t_jcc32,.-t_jcc32\n"

        /* 2e 74 / 3e 75: branch-hint (segment) prefixes in front of jcc rel8 */
        ".globl t_jccpfx\n.type t_jccpfx,@function\nt_jccpfx:\n"
        "  movl 4(%esp), %ecx\n"
        "  xorl %eax, %eax\n"
        "  testl %ecx, %ecx\n"
        ".globl l_jccpfx\nl_jccpfx:\n"
        "  .byte 0x2e, 0x74, 1f - 2f\n"
        "2: orl $0x100, %eax\n"
        "1: cmpl $1, %ecx\n"
        ".globl l_jccpfx2\nl_jccpfx2:\n"
        "  .byte 0x3e, 0x75, 3f - 4f\n"
        "4: orl $0x10, %eax\n"
        "3: orl $1, %eax\n"
        "  ret\n"
        ".size t_jccpfx,.-t_jccpfx\n"

        /* jmp *%eax (check 3) */
        ".globl t_jmpind\n.type t_jmpind,@function\nt_jmpind:\n"
        "  movl $1f, %eax\n"
        ".globl l_jmpind\nl_jmpind:\n"
        "  jmp *%eax\n"
        "  ud2\n"
        "1: movl $42, %eax\n"
        "  ret\n"
        ".size t_jmpind,.-t_jmpind\n"

        /* jmp *table(,%ecx,4) */
        ".globl t_jmptab\n.type t_jmptab,@function\nt_jmptab:\n"
        "  movl 4(%esp), %ecx\n"
        "  andl $1, %ecx\n"
        ".globl l_jmptab\nl_jmptab:\n"
        "  jmp *jmptab_tab(,%ecx,4)\n"
        "  ud2\n"
        "5: movl $50, %eax\n"
        "  ret\n"
        "6: movl $60, %eax\n"
        "  ret\n"
        ".size t_jmptab,.-t_jmptab\n"
        ".section .rodata\n.align 4\njmptab_tab: .long 5b, 6b\n.text\n"

        /* 66 05 imm16: operand-size prefix changes the length (4 bytes, not 6) */
        ".globl t_o16\n.type t_o16,@function\nt_o16:\n"
        "  movl $0x10000, %eax\n"
        ".globl l_o16\nl_o16:\n"
        "  addw $0x1234, %ax\n"
        ".globl l_o16b\nl_o16b:\n"
        "  movw $0x77, %cx\n"
        "  ret\n"
        ".size t_o16,.-t_o16\n"

        /* loop rel8 */
        ".globl t_loop\n.type t_loop,@function\nt_loop:\n"
        "  movl $5, %ecx\n"
        "  xorl %eax, %eax\n"
        "1: addl $3, %eax\n"
        ".globl l_loop\nl_loop:\n"
        "  loop 1b\n"
        "  ret\n"
        ".size t_loop,.-t_loop\n"

        /* popf (an IF modifier for K9), then the flags the guest sees afterwards */
        ".globl t_popf\n.type t_popf,@function\nt_popf:\n"
        "  pushfl\n"
        ".globl l_popf\nl_popf:\n"
        "  popfl\n"
        "  pushfl\n"
        "  popl %eax\n"
        "  ret\n"
        ".size t_popf,.-t_popf\n"

        /* the guest sets TF itself, then runs the probed instruction: SIGTRAP after it */
        ".globl t_tf\n.type t_tf,@function\nt_tf:\n"
        "  pushfl\n"
        "  orl $0x100, (%esp)\n"
        "  popfl\n"
        ".globl l_tf\nl_tf:\n"
        "  movl $7, %eax\n"
        ".globl l_tf_after\nl_tf_after:\n"
        "  nop\n"
        "  ret\n"
        ".size t_tf,.-t_tf\n"

        /* TF set by the guest, then pushf: the pushed word must show TF and IF */
        ".globl t_tfpushf\n.type t_tfpushf,@function\nt_tfpushf:\n"
        "  pushfl\n"
        "  orl $0x100, (%esp)\n"
        "  popfl\n"
        ".globl l_tfpushf\nl_tfpushf:\n"
        "  pushfl\n"
        "  popl %eax\n"
        "  ret\n"
        ".size t_tfpushf,.-t_tfpushf\n"

        /* cli at CPL 3: #GP -> SIGSEGV */
        ".globl t_cli\n.type t_cli,@function\nt_cli:\n"
        ".globl l_cli\nl_cli:\n"
        "  cli\n"
        "  ret\n"
        ".size t_cli,.-t_cli\n"

        /* a load that faults when given a bad pointer (K13) */
        ".globl t_fault\n.type t_fault,@function\nt_fault:\n"
        "  movl 4(%esp), %ecx\n"
        ".globl l_fault\nl_fault:\n"
        "  movl (%ecx), %eax\n"
        "  ret\n"
        ".size t_fault,.-t_fault\n"

        /* indirect call / jump through a pointer read from memory that faults (operand fetch) */
        ".globl t_callfault\n.type t_callfault,@function\nt_callfault:\n"
        "  movl 4(%esp), %ecx\n"
        ".globl l_callfault\nl_callfault:\n"
        "  call *(%ecx)\n"
        "  ret\n"
        ".size t_callfault,.-t_callfault\n"
        ".globl t_jmpfault\n.type t_jmpfault,@function\nt_jmpfault:\n"
        "  movl 4(%esp), %ecx\n"
        ".globl l_jmpfault\nl_jmpfault:\n"
        "  jmp *(%ecx)\n"
        ".size t_jmpfault,.-t_jmpfault\n"

        /* a division that faults (#DE) for a zero divisor */
        ".globl t_div\n.type t_div,@function\nt_div:\n"
        "  movl 4(%esp), %ecx\n"
        "  movl $100, %eax\n"
        "  xorl %edx, %edx\n"
        ".globl l_div\nl_div:\n"
        "  divl %ecx\n"
        "  ret\n"
        ".size t_div,.-t_div\n"

        /* the guest's own int3 (K8, K9) */
        ".globl t_int3\n.type t_int3,@function\nt_int3:\n"
        "  movl $1, %eax\n"
        ".globl l_int3\nl_int3:\n"
        "  int3\n"
        ".globl l_int3_after\nl_int3_after:\n"
        "  ret\n"
        ".size t_int3,.-t_int3\n"

        /* a system call: write(1, buf, len) through int $0x80 */
        ".globl t_sys\n.type t_sys,@function\nt_sys:\n"
        "  pushl %ebx\n"
        "  movl $4, %eax\n"
        "  movl $1, %ebx\n"
        "  movl 8(%esp), %ecx\n"
        "  movl 12(%esp), %edx\n"
        ".globl l_sys\nl_sys:\n"
        "  int $0x80\n"
        ".globl l_sys_after\nl_sys_after:\n"
        "  popl %ebx\n"
        "  ret\n"
        ".size t_sys,.-t_sys\n"

        /* a caller whose return address is known: l_ra_after (K20) */
        ".globl t_ra_call\n.type t_ra_call,@function\nt_ra_call:\n"
        "  call t_ra\n"
        ".globl l_ra_after\nl_ra_after:\n"
        "  ret\n"
        ".size t_ra_call,.-t_ra_call\n");

/* K20: reads its own return address */
NOINLINE u32 t_ra(void) { return (u32)__builtin_return_address(0); }

static int run(const char *c) {
  int all = prt_streq(c, "all");
  if (all || prt_streq(c, "pushf")) say_hex("pushf", t_pushf() & 0x700);
  if (all || prt_streq(c, "pushfw")) say_hex("pushfw", t_pushfw() & 0xffff0700);
  if (all || prt_streq(c, "callrel")) say_hex("callrel", t_callrel());
  if (all || prt_streq(c, "callind")) say_hex("callind", t_callind());
  if (all || prt_streq(c, "callmem")) say_hex("callmem", t_callmem());
  if (all || prt_streq(c, "callpfx")) say_hex("callpfx", t_callpfx());
  if (all || prt_streq(c, "callpfx2")) say_hex("callpfx2", t_callpfx2());
  if (all || prt_streq(c, "ret")) say_hex("ret", t_ret());
  if (all || prt_streq(c, "ret8")) {
    say_dec("ret8", (int)t_ret8_wrap());
    say_dec("ret8_esp_delta", (int)ret8_esp_delta);
  }
  if (all || prt_streq(c, "jmp8")) say_dec("jmp8", (int)t_jmp8());
  if (all || prt_streq(c, "jmp32")) say_dec("jmp32", (int)t_jmp32());
  if (all || prt_streq(c, "jcc")) {
    say_dec("jcc0", (int)t_jcc(0));
    say_dec("jcc1", (int)t_jcc(1));
  }
  if (all || prt_streq(c, "jcc32")) {
    say_dec("jcc32_0", (int)t_jcc32(0));
    say_dec("jcc32_1", (int)t_jcc32(1));
  }
  if (all || prt_streq(c, "jccpfx")) {
    say_hex("jccpfx0", t_jccpfx(0));
    say_hex("jccpfx1", t_jccpfx(1));
    say_hex("jccpfx2", t_jccpfx(2));
  }
  if (all || prt_streq(c, "jmpind")) say_dec("jmpind", (int)t_jmpind());
  if (all || prt_streq(c, "jmptab")) {
    say_dec("jmptab0", (int)t_jmptab(0));
    say_dec("jmptab1", (int)t_jmptab(1));
  }
  if (all || prt_streq(c, "o16")) say_hex("o16", t_o16());
  if (all || prt_streq(c, "loop")) say_dec("loop", (int)t_loop());
  if (all || prt_streq(c, "popf")) say_hex("popf", t_popf() & 0x700);
  if (all || prt_streq(c, "ra")) say_hex("ra", t_ra_call());
  if (all || prt_streq(c, "sys")) say_dec("sys", (int)t_sys("hello\n", 6));
  if (prt_streq(c, "fault")) say_hex("fault", t_fault(0));
  if (prt_streq(c, "faultok")) say_hex("faultok", t_fault(&fault_good));
  if (prt_streq(c, "div")) say_dec("div", (int)t_div(0));
  if (prt_streq(c, "callfault")) say_hex("callfault", t_callfault(0));
  if (prt_streq(c, "jmpfault")) say_hex("jmpfault", t_jmpfault(0));
  if (prt_streq(c, "tf")) say_dec("tf", (int)t_tf());
  if (prt_streq(c, "tfpushf")) say_hex("tfpushf", t_tfpushf());
  if (prt_streq(c, "cli")) say_dec("cli", (int)t_cli());
  if (prt_streq(c, "int3")) say_dec("int3", (int)t_int3());
  say("done");
  return 0;
}

int main(int argc, char **argv) { return run(argc > 1 ? argv[1] : "all"); }
