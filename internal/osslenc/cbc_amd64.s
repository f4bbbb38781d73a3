//go:build amd64 && !purego

#include "textflag.h"

// func hasAESNI() bool
TEXT ·hasAESNI(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	SHRL $25, CX
	ANDL $1, CX
	MOVB CX, ret+0(FP)
	RET

// func encryptCBC(nr int, xk *byte, iv *[16]byte, dst, src *byte, n int)
//
// CBC encryption is a chain: each block waits for the previous one, so the
// loop keeps every round key in a register and does nothing else. xk is
// 16-byte aligned (PXOR with a memory operand requires it); n is a positive
// multiple of 16.
TEXT ·encryptCBC(SB), NOSPLIT, $0-48
	MOVQ nr+0(FP), CX
	MOVQ xk+8(FP), AX
	MOVQ iv+16(FP), BX
	MOVQ dst+24(FP), DI
	MOVQ src+32(FP), SI
	MOVQ n+40(FP), DX
	MOVOU (BX), X0
	MOVOU 16(AX), X2
	MOVOU 32(AX), X3
	MOVOU 48(AX), X4
	MOVOU 64(AX), X5
	MOVOU 80(AX), X6
	MOVOU 96(AX), X7
	MOVOU 112(AX), X8
	MOVOU 128(AX), X9
	MOVOU 144(AX), X10
	MOVOU 160(AX), X11
	CMPQ CX, $12
	JB   enc128
	MOVOU 176(AX), X12
	MOVOU 192(AX), X13
	JE   enc192
	MOVOU 208(AX), X14
	MOVOU 224(AX), X15

enc256:
	MOVOU (SI), X1
	PXOR  (AX), X1
	PXOR  X1, X0
	AESENC X2, X0
	AESENC X3, X0
	AESENC X4, X0
	AESENC X5, X0
	AESENC X6, X0
	AESENC X7, X0
	AESENC X8, X0
	AESENC X9, X0
	AESENC X10, X0
	AESENC X11, X0
	AESENC X12, X0
	AESENC X13, X0
	AESENC X14, X0
	AESENCLAST X15, X0
	MOVOU X0, (DI)
	ADDQ  $16, SI
	ADDQ  $16, DI
	SUBQ  $16, DX
	JNZ   enc256
	JMP   encdone

enc192:
	MOVOU (SI), X1
	PXOR  (AX), X1
	PXOR  X1, X0
	AESENC X2, X0
	AESENC X3, X0
	AESENC X4, X0
	AESENC X5, X0
	AESENC X6, X0
	AESENC X7, X0
	AESENC X8, X0
	AESENC X9, X0
	AESENC X10, X0
	AESENC X11, X0
	AESENC X12, X0
	AESENCLAST X13, X0
	MOVOU X0, (DI)
	ADDQ  $16, SI
	ADDQ  $16, DI
	SUBQ  $16, DX
	JNZ   enc192
	JMP   encdone

enc128:
	MOVOU (SI), X1
	PXOR  (AX), X1
	PXOR  X1, X0
	AESENC X2, X0
	AESENC X3, X0
	AESENC X4, X0
	AESENC X5, X0
	AESENC X6, X0
	AESENC X7, X0
	AESENC X8, X0
	AESENC X9, X0
	AESENC X10, X0
	AESENCLAST X11, X0
	MOVOU X0, (DI)
	ADDQ  $16, SI
	ADDQ  $16, DI
	SUBQ  $16, DX
	JNZ   enc128

encdone:
	MOVOU X0, (BX)
	RET

// func decryptCBC(nr int, xk *byte, iv *[16]byte, dst, src *byte, n int)
//
// CBC decryption has no chain, so eight blocks go through the rounds side by
// side. All XORs with the previous ciphertext happen before any store, and
// the last ciphertext block is kept in X8, so dst may equal src. xk holds the
// decryption round keys (equivalent inverse cipher); n is a positive
// multiple of 16.
TEXT ·decryptCBC(SB), NOSPLIT, $0-48
	MOVQ nr+0(FP), CX
	MOVQ xk+8(FP), AX
	MOVQ iv+16(FP), BX
	MOVQ dst+24(FP), DI
	MOVQ src+32(FP), SI
	MOVQ n+40(FP), DX
	MOVOU (BX), X8

dec8:
	CMPQ DX, $128
	JB   dec1
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVOU 64(SI), X4
	MOVOU 80(SI), X5
	MOVOU 96(SI), X6
	MOVOU 112(SI), X7
	MOVOU (AX), X15
	PXOR X15, X0
	PXOR X15, X1
	PXOR X15, X2
	PXOR X15, X3
	PXOR X15, X4
	PXOR X15, X5
	PXOR X15, X6
	PXOR X15, X7
	LEAQ 16(AX), R8
	MOVQ CX, R9
	DECQ R9

dec8round:
	MOVOU (R8), X15
	AESDEC X15, X0
	AESDEC X15, X1
	AESDEC X15, X2
	AESDEC X15, X3
	AESDEC X15, X4
	AESDEC X15, X5
	AESDEC X15, X6
	AESDEC X15, X7
	ADDQ $16, R8
	DECQ R9
	JNZ  dec8round
	MOVOU (R8), X15
	AESDECLAST X15, X0
	AESDECLAST X15, X1
	AESDECLAST X15, X2
	AESDECLAST X15, X3
	AESDECLAST X15, X4
	AESDECLAST X15, X5
	AESDECLAST X15, X6
	AESDECLAST X15, X7
	PXOR  X8, X0
	MOVOU 0(SI), X9
	PXOR  X9, X1
	MOVOU 16(SI), X10
	PXOR  X10, X2
	MOVOU 32(SI), X11
	PXOR  X11, X3
	MOVOU 48(SI), X12
	PXOR  X12, X4
	MOVOU 64(SI), X13
	PXOR  X13, X5
	MOVOU 80(SI), X14
	PXOR  X14, X6
	MOVOU 96(SI), X9
	PXOR  X9, X7
	MOVOU 112(SI), X8
	MOVOU X0, 0(DI)
	MOVOU X1, 16(DI)
	MOVOU X2, 32(DI)
	MOVOU X3, 48(DI)
	MOVOU X4, 64(DI)
	MOVOU X5, 80(DI)
	MOVOU X6, 96(DI)
	MOVOU X7, 112(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $128, DX
	JMP  dec8

dec1:
	TESTQ DX, DX
	JZ    decdone
	MOVOU (SI), X0
	MOVOU X0, X9
	MOVOU (AX), X15
	PXOR  X15, X0
	LEAQ  16(AX), R8
	MOVQ  CX, R9
	DECQ  R9

dec1round:
	MOVOU (R8), X15
	AESDEC X15, X0
	ADDQ $16, R8
	DECQ R9
	JNZ  dec1round
	MOVOU (R8), X15
	AESDECLAST X15, X0
	PXOR  X8, X0
	MOVOU X9, X8
	MOVOU X0, (DI)
	ADDQ  $16, SI
	ADDQ  $16, DI
	SUBQ  $16, DX
	JMP   dec1

decdone:
	MOVOU X8, (BX)
	RET
