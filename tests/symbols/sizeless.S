/*
 * tests/symbols/sizeless.S — symbols without a size for the symbolizer's
 * ELF-symbol fallback (tests/symbols/test_sizeless.c): labels (STT_NOTYPE)
 * like ld.so's _start, a function without .size, a label inside a sized
 * function, a label aliasing a function, and an unsized last symbol that
 * only the end of .text bounds.  No CFI, no DWARF: only .symtab names it.
 */
        .text
        .globl  sized_first
        .type   sized_first, @function
sized_first:
        nop; nop; nop; nop; nop; nop; nop; ret
        .size   sized_first, .-sized_first

local_start:                    /* local label, like ld.so's _start */
        nop; nop; nop; nop; nop; nop; nop; ret
        .globl  global_label
global_label:                   /* global label */
        nop; nop; nop; nop; nop; nop; nop; ret

        .globl  func_nosize
        .type   func_nosize, @function
func_nosize:                    /* a function without .size */
        nop; nop; nop; nop; nop; nop; nop; ret

        .globl  sized_outer
        .type   sized_outer, @function
sized_outer:
        nop; nop; nop; nop
        .globl  inner_label     /* a jump target inside sized_outer */
inner_label:
        nop; nop; nop; ret
        .size   sized_outer, .-sized_outer

        .globl  aliased_fn
        .type   aliased_fn, @function
        .globl  alias_label     /* a label at aliased_fn's address */
aliased_fn:
alias_label:
        nop; nop; nop; ret
        .size   aliased_fn, .-aliased_fn

        .globl  last_label      /* the last symbol of .text */
last_label:
        nop; nop; nop; nop; nop; nop; nop; ret
        /* code after .text that no symbol covers: last_label must stop at
         * the end of .text, not run on into it */
        .section .nosymcode, "ax", @progbits
        nop; nop; nop; nop; nop; nop; nop; ret
        .section .note.GNU-stack,"",@progbits
