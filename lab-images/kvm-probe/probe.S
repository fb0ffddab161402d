/* kdlab KVM probe: a multiboot ELF that does what a Linux kernel does first
 * (protected mode -> PAE paging -> long mode), then prints a marker on COM1
 * and leaves through isa-debug-exit. A hypervisor that hangs real kernels
 * hangs here too, unlike a real-mode boot sector. */
.set MB_MAGIC, 0x1BADB002
.set MB_FLAGS, 0x0
.section .text
.code32
.globl _start
.align 4
mb_header:
  .long MB_MAGIC
  .long MB_FLAGS
  .long -(MB_MAGIC + MB_FLAGS)
_start:
  cli
  mov $stack_top, %esp
  /* PML4[0] -> PDPT, PDPT[0] -> PD, PD[0] = 2 MiB identity page */
  mov $pdpt, %eax
  or $3, %eax
  mov %eax, pml4
  mov $pd, %eax
  or $3, %eax
  mov %eax, pdpt
  movl $0x83, pd
  mov $pml4, %eax
  mov %eax, %cr3
  mov %cr4, %eax
  or $0x20, %eax          /* PAE */
  mov %eax, %cr4
  mov $0xC0000080, %ecx   /* EFER */
  rdmsr
  or $0x100, %eax         /* LME */
  wrmsr
  mov %cr0, %eax
  or $0x80000001, %eax    /* PG | PE */
  mov %eax, %cr0
  lgdt gdt_ptr
  ljmp $0x08, $long_mode
.code64
long_mode:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %ss
  movl $msg, %esi
  mov $0x3f8, %dx
1: lodsb
  test %al, %al
  jz 2f
  out %al, %dx
  jmp 1b
2: mov $0x501, %dx
  mov $0x31, %al
  out %al, %dx
3: hlt
  jmp 3b
.section .data
.align 16
gdt:
  .quad 0
  .quad 0x00AF9A000000FFFF  /* 64-bit code */
  .quad 0x00CF92000000FFFF  /* data */
gdt_ptr:
  .word gdt_ptr - gdt - 1
  .long gdt
msg: .asciz "KDLAB-KVM-PROBE-OK\n"
.section .bss
.align 4096
pml4: .skip 4096
pdpt: .skip 4096
pd: .skip 4096
.skip 4096
stack_top:
