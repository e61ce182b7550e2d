# The interpreter's feedback primer (src/emulator/cpu-primer.ts holds these bytes; test/cpu-primer
# checks they are what this file assembles to, with `as --32`). It runs once per process on a scratch
# CPU early in the process, so that V8 has seen every path of the interpreter's loop before it optimises
# the loop: a path it has not seen is compiled as a deoptimisation, and taking it later throws the
# whole optimised loop away (see cpu-primer.ts). So: every form of the loop, register and memory
# operands, 8/16/32-bit sizes, the low and high byte registers, every ALU operation, every condition
# after every kind of flag producer, unaligned and page-crossing accesses, string instructions with
# and without rep (the bulk path too), and the common x87 instructions.
# Layout (cpu-primer.ts): loaded at CODE, data pages at DATA (five: the third never written, the
# fourth written once, the fifth watched),
# the stack below STACK_TOP. Position independent: label addresses come from call/pop.
# Ends with int $0x80 (the primer's host stops there). It must never fault.

.set DATA, 0xbff00000
.code32
start:
	mov	$DATA, %ebx
	mov	$3, %ecx
	mov	$0x1234, %edx
	mov	$0x80000001, %eax
	mov	$DATA+0x100, %esi
	mov	$DATA+0x200, %edi
	mov	%esp, %ebp

# ---- moves, register and memory operands
	mov	%ecx, 4(%ebx)
	mov	4(%ebx), %ecx
	lea	4(%ebx,%ecx,4), %edx
	lea	(%bx,%si), %edx
	mov	%gs:8(%ebx), %edx
	mov	%fs:8(%ebx), %edx
	mov	%cl, 3(%ebx)
	mov	%ch, 3(%ebx)
	mov	3(%ebx), %dl
	mov	3(%ebx), %dh
	movl	$5, 8(%ebx)
	movb	$5, 3(%ebx)
	movzbl	3(%ebx), %edx
	movzwl	2(%ebx), %edx
	movsbl	3(%ebx), %edx
	movswl	2(%ebx), %edx
	movzbl	%dl, %eax
	movzbl	%dh, %eax
	movzwl	%dx, %eax
	movsbl	%dl, %eax
	movsbl	%dh, %eax
	movswl	%dx, %eax
	mov	%ecx, %edx
	{load} mov %ecx, %edx
	mov	%cl, %dh
	mov	%ch, %dl
	{load} mov %cl, %dh
	{load} mov %ch, %dl
	.byte	0xc7, 0xc2, 5, 0, 0, 0		# mov $5, %edx as c7 /0
	.byte	0xc6, 0xc2, 5			# mov $5, %dl as c6 /0
	mov	$0x12, %dl
	mov	$0x1234, %dx
	mov	%cx, %dx
	mov	%dx, 2(%ebx)
	mov	2(%ebx), %dx
	movw	$7, 2(%ebx)
	mov	DATA+0x10, %eax			# moffs forms
	mov	%eax, DATA+0x10
	mov	DATA+0x10, %al
	mov	%al, DATA+0x10
	push	%edx
	pop	%edx
	push	%esp
	pop	%esp
	push	$0x12345
	push	$5
	pushl	4(%ebx)
	popl	4(%ebx)
	pop	%edx
	pop	%edx
	pushw	%dx
	popw	%dx
	inc	%edx
	dec	%edx
	inc	%dx
	dec	%dx
	cltd
	cwtd
	cwtl
	cbtw
	xchg	%ecx, %edx
	xchg	%ecx, 4(%ebx)
	xchg	%eax, %edx
	xchg	%cl, %dh
	bswap	%edx
	nop
	cld
	clc
	stc
	cmc
	lahf
	sahf
	pushf
	popf
	pushw	$5
	popfw
	xlat

# ---- unaligned and page-crossing accesses (third page: never written, reads the zero frame)
	mov	5(%ebx), %edx
	mov	%edx, 5(%ebx)
	mov	DATA+0xffe, %edx
	mov	%edx, DATA+0xffe
	mov	DATA+0xfff, %dx
	mov	%dx, DATA+0xfff
	mov	DATA+0xffd, %dx
	mov	%dx, DATA+0xffd
	mov	DATA+0x2000, %edx
	mov	DATA+0x2001, %edx
	movzwl	DATA+0x2001, %edx
	movzbl	DATA+0x2001, %edx

# ---- the slow paths of the accesses the loop does itself: unaligned, a page still shared
# copy-on-write (the fourth), a watched page (the fifth, watched by cpu.ts), an unaligned stack
	mov	%ecx, 1(%ebx)
	mov	1(%ebx), %ecx
	add	%ecx, 1(%ebx)
	addl	$5, 1(%ebx)
	cmpl	$5, 1(%ebx)
	add	1(%ebx), %ecx
	test	%ecx, 1(%ebx)
	movl	$5, 1(%ebx)
	addl	$5, DATA+0x3000
	mov	DATA+0x4000, %edx
	movzbl	DATA+0x4001, %edx
	add	DATA+0x4000, %edx
	sub	$1, %esp
	push	%edx
	pop	%edx
	call	1f
	jmp	2f
1:	ret
2:	add	$1, %esp

# ---- ALU: every operation, every operand form and size
.irp op, add, or, adc, sbb, and, sub, xor, cmp
	stc
	\op	%ecx, 4(%ebx)
	\op	8(%ebx), %edx
	\op\()l	$0x12345, 12(%ebx)
	\op\()l	$5, 12(%ebx)
	\op\()b	$7, 16(%ebx)
	\op	%ecx, %edx
	{load} \op %ecx, %edx
	\op	$0x12345, %edx
	\op	$5, %edx
	\op	$7, %dl
	\op	$7, %dh
	\op	$7, %al
	\op	$0x12345, %eax
	\op	%cl, 20(%ebx)
	\op	20(%ebx), %dl
	\op	%cl, %dh
	{load} \op %ch, %dl
	\op	%cx, 2(%ebx)
	\op	$0x1234, %ax
.endr
	test	%ecx, 4(%ebx)
	test	%ecx, %edx
	test	%cl, %dh
	test	%cl, 4(%ebx)
	test	$1, %al
	test	$0x100, %eax
	test	$0x100, %ax
	test	$5, %edx
	testl	$5, 4(%ebx)
	testb	$5, 4(%ebx)
	test	%cx, %dx
	not	%edx
	notl	4(%ebx)
	notb	%dh
	notw	2(%ebx)
	neg	%edx
	negl	4(%ebx)
	negb	%dl
	negw	%dx

# ---- each of the eight predicates after each kind of flag producer (the even condition codes;
# an odd one only inverts the result), then setcc and cmov in both operand forms
.macro conds
.irp cc, o, b, e, be, s, p, l, le
	j\cc	1f
1:
.endr
.endm
	mov	$0x7fffffff, %edx
	add	%ecx, %edx
	conds
	sub	%ecx, %edx
	conds
	and	%ecx, %edx
	conds
	inc	%edx
	conds
	dec	%edx
	conds
	shl	$1, %edx
	conds
	pushf
	popf
	conds
	jno	1f
1:	jae	1f
1:	setne	%dl
	setg	3(%ebx)
	cmovl	%ecx, %edx
	cmovbe	4(%ebx), %edx
	cmp	%ecx, %ecx
	cmove	%ecx, %edx
	cmove	4(%ebx), %edx
	sete	%dl

# ---- shifts and rotates: immediate, 1 and CL counts, 8/16/32 bits, register and memory
	mov	$3, %ecx
.irp op, rol, ror, rcl, rcr, shl, shr, sar
	\op	$3, %edx
	\op	%edx
	\op	%cl, %edx
	\op\()b	$3, %dh
	\op\()b	%dl
	\op\()b	%cl, %dl
	\op\()b	$9, %dl
	\op\()l	$3, 4(%ebx)
	\op\()l	4(%ebx)
	\op\()b	%cl, 3(%ebx)
	\op\()w	$3, %dx
	\op\()w	$17, %dx
	\op\()w	%cl, 2(%ebx)
	\op	$0, %edx
	\op	$31, %edx
.endr
	.byte	0xc1, 0xf2, 3			# sal $3, %edx as c1 /6
	shld	$3, %ecx, %edx
	shrd	$3, %ecx, %edx
	shld	%cl, %ecx, 4(%ebx)
	shrd	%cl, %ecx, 4(%ebx)
	shld	$3, %cx, %dx
	shrd	$3, %cx, %dx

# ---- bit tests, exchange-and-add, compare-and-exchange
.irp op, bt, bts, btr, btc
	\op	%ecx, %edx
	\op	%ecx, 4(%ebx)
	\op\()l	$3, %edx
	\op\()l	$3, 4(%ebx)
	\op	%cx, %dx
.endr
	bsf	%edx, %eax
	bsr	%edx, %eax
	xadd	%ecx, %edx
	xadd	%ecx, 4(%ebx)
	cmpxchg	%ecx, %edx
	cmpxchg	%ecx, 4(%ebx)
	cmpxchg	%cl, %dl
	lock incl 4(%ebx)

# ---- multiply and divide, every size, signed and unsigned, both 64-bit dividend paths
	imul	$5, %ecx, %edx
	imul	$0x12345, %ecx, %edx
	imul	%ecx, %edx
	imul	4(%ebx), %edx
	imul	$5, 4(%ebx), %edx
	imul	$0x7fffffff, %ecx, %edx
	imul	%cx, %dx
	imul	$5, %cx, %dx
	mov	$7, %ecx
	movl	$7, 4(%ebx)
.irp op, mul, imul
	mov	$100, %eax
	\op	%ecx
	mov	$-100, %eax
	\op\()l	4(%ebx)
	mov	$100, %eax
	\op	%cl
	\op\()b	4(%ebx)
	\op	%cx
	\op\()w	4(%ebx)
	mov	$0x7fffffff, %eax
	\op	%ecx
.endr
.irp op, div, idiv
	xor	%edx, %edx
	mov	$100, %eax
	\op	%ecx
	xor	%edx, %edx
	mov	$100, %eax
	\op\()l	4(%ebx)
	mov	$1, %edx
	xor	%eax, %eax
	\op	%ecx
	mov	$100, %eax
	\op	%cl
	mov	$100, %eax
	\op\()b	4(%ebx)
	xor	%edx, %edx
	mov	$100, %eax
	\op	%cx
	xor	%edx, %edx
	\op\()w	4(%ebx)
.endr
	mov	$-100, %eax
	cltd
	idiv	%ecx
	mov	$-2, %edx
	mov	$-100, %eax
	idivl	4(%ebx)

# ---- inc/dec/call/jmp/push through fe and ff
	incl	4(%ebx)
	decl	4(%ebx)
	incb	3(%ebx)
	decb	3(%ebx)
	incb	%dl
	decb	%dh
	incw	2(%ebx)
	.byte	0xff, 0xc2			# inc %edx as ff /0
	.byte	0xff, 0xca			# dec %edx as ff /1
	call	1f
1:	pop	%eax				# %eax = address of the last label 1
	lea	2f-1b(%eax), %edx
	call	*%edx
2:	pop	%ecx
	lea	3f-1b(%eax), %edx
	mov	%edx, 4(%ebx)
	call	*4(%ebx)
3:	pop	%ecx
	lea	4f-1b(%eax), %edx
	jmp	*%edx
4:	lea	5f-1b(%eax), %edx
	mov	%edx, 4(%ebx)
	jmp	*4(%ebx)
5:	.byte	0xff, 0xf2			# push %edx as ff /6
	pushl	4(%ebx)
	pop	%edx
	pop	%edx

# ---- calls, returns, jumps, frames
	call	1f
	jmp	2f
1:	ret
2:	push	%edx
	call	3f
	jmp	4f
3:	ret	$4
4:	jmp	5f
5:	{disp32} jmp 6f
6:	push	%ebp
	mov	%esp, %ebp
	sub	$8, %esp
	leave
	enter	$8, $0
	leave
	enter	$8, $2
	leave
	pusha
	popa
	pushw	%ds
	popw	%ds
	push	%ds
	pop	%es
	mov	%ds, %edx
	mov	%edx, %es
	jecxz	7f
7:	mov	$2, %ecx
8:	loop	8b
	mov	$2, %ecx
9:	loopne	9b
	cpuid
	mov	$DATA, %ebx

# ---- string instructions: single, rep (bulk and element loops), backwards, segment override
	mov	$DATA+0x100, %esi
	mov	$DATA+0x200, %edi
	movsb
	movsl
	movsw
	stosb
	stosl
	stosw
	lodsb
	lodsl
	lodsw
	cmpsb
	cmpsl
	scasb
	scasl
	lods	%fs:(%esi), %al
	mov	$8, %ecx
	rep movsb
	mov	$8, %ecx
	rep movsl
	mov	$8, %ecx
	rep movsw
	mov	$8, %ecx
	rep stosb
	mov	$8, %ecx
	rep stosl
	mov	$DATA+0x100, %esi
	mov	$DATA+0x100, %edi
	mov	$8, %ecx
	repe cmpsb
	mov	$8, %ecx
	repne scasb
	mov	$8, %ecx
	repe cmpsl
	mov	$8, %ecx
	repne scasl
	mov	$DATA+0x100, %esi
	mov	$DATA+0x104, %edi
	mov	$8, %ecx
	rep movsb
	mov	$DATA+0xff8, %edi
	mov	$16, %ecx
	rep stosl
	mov	$DATA+0x300, %esi
	mov	$DATA+0x400, %edi
	std
	movsb
	mov	$2, %ecx
	rep movsl
	cld
	xor	%ecx, %ecx
	rep stosb

# ---- x87: loads and stores of every memory format, arithmetic, compares, control
	fninit
	movl	$3, 4(%ebx)
	fildl	4(%ebx)
	fstpl	8(%ebx)
	fldl	8(%ebx)
	fistpl	4(%ebx)
	fildl	4(%ebx)
	fists	4(%ebx)
	fistps	4(%ebx)
	fldl	8(%ebx)
	fistpll	16(%ebx)
	fildll	16(%ebx)
	fldl	4(%ebx)			# m64 operands not 8-aligned: the word path
	faddl	4(%ebx)
	fstpl	4(%ebx)
	fstpl	12(%ebx)
	filds	4(%ebx)
	fsts	12(%ebx)
	flds	12(%ebx)
	fstpt	32(%ebx)
	fldt	32(%ebx)
	fld1
	fldz
	fldpi
	fldl2e
	fld	%st(1)
	fxch	%st(2)
	fadd	%st(1), %st
	fadd	%st, %st(1)
	faddp	%st, %st(1)
	fsub	%st(1), %st
	fsubr	%st(1), %st
	fsubp	%st, %st(1)
	fsubrp	%st, %st(1)
	fmul	%st(1), %st
	fmulp	%st, %st(1)
	fld1
	fdiv	%st(1), %st
	fdivr	%st(1), %st
	fdivp	%st, %st(1)
	fld1
	fdivrp	%st, %st(1)
	faddl	8(%ebx)
	fsubl	8(%ebx)
	fsubrl	8(%ebx)
	fmull	8(%ebx)
	fdivl	8(%ebx)
	fdivrl	8(%ebx)
	fadds	12(%ebx)
	fmuls	12(%ebx)
	fiaddl	4(%ebx)
	fimull	4(%ebx)
	fcoml	8(%ebx)
	fcoms	12(%ebx)
	fcom	%st(1)
	fucom	%st(1)
	fcomi	%st(1), %st
	fucomi	%st(1), %st
	fnstsw	%ax
	fnstsw	4(%ebx)
	fnstcw	4(%ebx)
	fldcw	4(%ebx)
	ftst
	fxam
	fchs
	fabs
	fsqrt
	frndint
	fld	%st(0)
	fcomp	%st(1)
	fld	%st(0)
	fucompp
	fld1
	fcomip	%st(1), %st
	fld1
	fucomip	%st(1), %st
	fcmovb	%st(1), %st
	fcmovne	%st(1), %st
	fstp	%st(1)
	fst	%st(1)
	fstl	8(%ebx)
	fstpl	8(%ebx)
	ffree	%st(7)
	fwait
	fnclex
	fninit

	int	$0x80
