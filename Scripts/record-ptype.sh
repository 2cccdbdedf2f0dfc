#!/usr/bin/env bash
# Records gdb's `ptype /o` of the kernel's central types from a DWARF vmlinux, the reference
# the BTF type tests compare `vmcore struct -o` with (Tests/Fixtures/*/reference/gdb-ptype.txt).
#
#   Scripts/record-ptype.sh VMLINUX OUTPUT [TYPE...]
#
# VMLINUX is the debug vmlinux of the exact kernel build the fixture is of (Debian's
# linux-image-*-dbg package). Each type's output follows a line "### TYPE"; a type the kernel
# does not have (inactive_task_frame is x86-only) is left out. Needs gdb.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 VMLINUX OUTPUT [TYPE...]" >&2; exit 2; }
vmlinux=$1 output=$2
shift 2
types=("$@")
if [[ ${#types[@]} -eq 0 ]]; then
    types=(task_struct mm_struct page list_head hlist_node new_utsname uts_namespace module
           mod_kallsyms elf64_sym rq cfs_rq sched_entity pt_regs inactive_task_frame thread_struct
           cpu_context printk_ringbuffer prb_desc printk_info vm_area_struct mem_section
           kmem_cache cred pid btf btf_module)
fi
command -v gdb >/dev/null || { echo "$0: gdb is not installed" >&2; exit 1; }
args=()
for t in "${types[@]}"; do args+=(-ex "echo ### $t\\n" -ex "ptype /o struct $t"); done
tmp=$(mktemp "$output.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# gdb -batch exits 1 when its last command failed (a type this kernel lacks): judge by output.
gdb -batch -nx "${args[@]}" "$vmlinux" >"$tmp" 2>&1 || true
grep -q '^/\* offset' "$tmp" || { echo "$0: gdb printed no layout:" >&2; head -5 "$tmp" >&2; exit 1; }
# Drop the types gdb does not know, and their headers.
awk '/^### /{h=$0; next} /^No struct type named/{h=""; next} {if (h!="") {print h; h=""} print}' "$tmp" >"$tmp.2"
mv "$tmp.2" "$output"
echo "$(grep -c '^### ' "$output") types -> $output"
