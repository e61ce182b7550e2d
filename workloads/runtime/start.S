/*
 * start.S - process entry, the system call gate and the thread trampoline of
 * the probelab guest runtime (i386, AT&T syntax).
 */

	.text

/*
 * _start: the kernel (or the probelab emulator) enters here with
 *   (%esp) = argc, 4(%esp) = argv[0], ..., NULL, envp..., NULL, auxv...
 * We hand a pointer to that block to rt_start_c (rt.c), which calls main and
 * then exit_group.  %ebp = 0 marks the outermost frame for stack walkers.
 */
	.globl	_start
	.type	_start, @function
_start:
	xorl	%ebp, %ebp
	movl	%esp, %eax
	andl	$-16, %esp		/* the i386 ABI wants 16-byte alignment at calls */
	subl	$12, %esp
	pushl	%eax
	call	rt_start_c
	hlt				/* not reached */
	.size	_start, . - _start

/*
 * long rt_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
 *
 * Linux i386 convention: eax = number, ebx ecx edx esi edi ebp = arguments,
 * `int $0x80`, result in eax.  (No vsyscall/sysenter: the emulator gives no
 * AT_SYSINFO, and int $0x80 works everywhere.)
 */
	.globl	rt_syscall
	.type	rt_syscall, @function
rt_syscall:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	20(%esp), %eax		/* nr */
	movl	24(%esp), %ebx		/* a1 */
	movl	28(%esp), %ecx		/* a2 */
	movl	32(%esp), %edx		/* a3 */
	movl	36(%esp), %esi		/* a4 */
	movl	40(%esp), %edi		/* a5 */
	movl	44(%esp), %ebp		/* a6 */
	int	$0x80
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret
	.size	rt_syscall, . - rt_syscall

/*
 * int rt_clone(int flags, void *child_sp, volatile int *ptid, volatile int *ctid)
 *
 * i386 clone(2) argument order: ebx = flags, ecx = new stack, edx = parent
 * tid pointer, esi = tls (unused: no CLONE_SETTLS), edi = child tid pointer.
 *
 * The caller (thread_create in rt.c) has written two words at child_sp:
 *   0(child_sp) = fn, 4(child_sp) = arg.
 * In the child, clone returns 0 with %esp = child_sp: pop fn, leaving arg on
 * top of the stack as fn's only argument, call fn(arg), then exit(2) this
 * thread with fn's result.  The child never returns from rt_clone, since
 * its stack has nothing of the parent's frame.
 */
	.globl	rt_clone
	.type	rt_clone, @function
rt_clone:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	20(%esp), %ebx		/* flags */
	movl	24(%esp), %ecx		/* child stack */
	movl	28(%esp), %edx		/* ptid */
	xorl	%esi, %esi		/* tls: none */
	movl	32(%esp), %edi		/* ctid */
	movl	$120, %eax		/* SYS_clone */
	int	$0x80
	testl	%eax, %eax
	jz	1f
	popl	%edi			/* parent: eax = child tid or -errno */
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret
1:	xorl	%ebp, %ebp		/* child: outermost frame */
	popl	%eax			/* fn; now (%esp) = arg, 16-byte aligned */
	call	*%eax
	movl	%eax, %ebx		/* exit(fn(arg)): this thread only */
	movl	$1, %eax		/* SYS_exit */
	int	$0x80
	hlt				/* not reached */
	.size	rt_clone, . - rt_clone

/*
 * void jprobe_return(void)
 *
 * The last call of a jprobe's guest handler.  A bare int3, outside any probe
 * address: the probe engine's break handler recognizes it, restores the
 * registers and the stack it saved when the jprobe fired, and resumes the
 * probed function (kprobes.md, K7).  Natively this raises SIGTRAP.
 */
	.globl	jprobe_return
	.type	jprobe_return, @function
jprobe_return:
	int3
	.globl	jprobe_return_end
jprobe_return_end:
	ret
	.size	jprobe_return, . - jprobe_return

	.section .note.GNU-stack, "", @progbits
