/// What a FreeBSD kernel file's symbols tell about a dump of that kernel: how to translate
/// kernel virtual addresses in a full (ELF) dump, and where the message buffer is.
///
/// A full dump is an ELF core of physical memory with no notes (`sys/kern/kern_dump.c`), so
/// unlike a minidump it carries no page-table root; libkvm finds it through the kernel's
/// symbols (freebsd.md §5), and so do we:
/// - amd64 (`lib/libkvm/kvm_amd64.c`): `KPML4phys` holds the physical address of the kernel's
///   PML4; it is read at physical `KPML4phys − kernbase`, since the kernel runs at
///   `KERNBASE + physical`. Then a 4-level walk.
/// - i386 (`lib/libkvm/kvm_i386.c`): with PAE, `IdlePDPT` holds the PDPT's physical address;
///   without, `IdlePTD` holds the page directory's. Both are read at `symbol − kernbase`.
/// - arm64 and riscv: libkvm reads only minidumps of these, and so do we.
public struct FreeBSDKernel: Sendable {
    public let symbols: ELFSymbolTable

    public init(symbols: ELFSymbolTable) { self.symbols = symbols }

    public static func open(_ path: String) throws(VMCoreError) -> FreeBSDKernel {
        FreeBSDKernel(symbols: try ELFSymbolTable.open(path))
    }

    func required(_ name: String, for purpose: String) throws(VMCoreError) -> UInt64 {
        guard let v = symbols.address(name) else {
            throw VMCoreError(.notInDump, file: symbols.file, "the kernel file has no symbol \(name)",
                              "\(purpose) needs it; is this the kernel that crashed?")
        }
        return v
    }

    /// The kernel address space of a full dump (`memory`, an ELF core of physical memory).
    public func addressSpace(memory: any PhysicalMemory, architecture: Architecture, file: String) throws(VMCoreError) -> KernelAddressSpace {
        guard architecture == symbols.architecture else {
            throw VMCoreError(.usage, file: symbols.file, "the kernel file is for \(symbols.architecture.rawValue), the dump for \(architecture.rawValue)")
        }
        switch architecture {
        case .x86_64:
            let kernbase = try required("kernbase", for: "amd64 address translation")
            let pml4Symbol = try required("KPML4phys", for: "amd64 address translation")
            let pml4 = try readWord(memory, physical: pml4Symbol &- kernbase, bytes: 8, what: "KPML4phys", file: file)
            return KernelAddressSpace(memory: memory, form: X86_64Paging(names: .freebsd), root: pml4 & 0x000f_ffff_ffff_f000, file: file,
                                      rootSource: "the kernel file's KPML4phys symbol")
        case .i386:
            let kernbase = try required("kernbase", for: "i386 address translation")
            if let pdpt = symbols.address("IdlePDPT") {
                let root = try readWord(memory, physical: pdpt &- kernbase, bytes: 4, what: "IdlePDPT", file: file)
                return KernelAddressSpace(memory: memory, form: I386Paging(pae: true), root: root, file: file, rootSource: "the kernel file's IdlePDPT symbol")
            }
            let ptdSymbol = try required("IdlePTD", for: "i386 address translation (IdlePDPT is absent, so the kernel does not use PAE)")
            let ptd = try readWord(memory, physical: ptdSymbol &- kernbase, bytes: 4, what: "IdlePTD", file: file)
            return KernelAddressSpace(memory: memory, form: I386Paging(pae: false), root: ptd & 0xffff_f000, file: file, rootSource: "the kernel file's IdlePTD symbol")
        default:
            throw VMCoreError(.unsupported, file: file, "full dumps of FreeBSD/\(architecture.rawValue) are not read",
                              "FreeBSD writes minidumps on this architecture by default, and its libkvm reads only those")
        }
    }

    func readWord(_ memory: any PhysicalMemory, physical: UInt64, bytes: Int, what: String, file: String) throws(VMCoreError) -> UInt64 {
        let b: [UInt8]
        do {
            b = try memory.read(physical: physical, count: bytes)
        } catch {
            throw VMCoreError(.notInDump, file: file, "\(what) (physical \(hex(physical))) is not in the dump", error.message)
        }
        return try ByteReader(b, file: file, base: physical, order: .little).uint(0, width: bytes, what)
    }

    /// The message buffer through `msgbufp`: the pointer to the kernel's `struct msgbuf`
    /// (`sys/sys/msgbuf.h`: `msg_ptr`, `msg_magic`, `msg_size`, `msg_wseq`, …), then the ring.
    public func messageBuffer(_ space: KernelAddressSpace, pointerSize: Int) throws(VMCoreError) -> FreeBSDMessageBuffer {
        let msgbufp = try required("msgbufp", for: "the message buffer")
        // What follows is read from the dump, so its errors name the dump, not the kernel file.
        let file = space.file
        let pointer = try ByteReader(try space.read(virtual: msgbufp, count: pointerSize), file: file, base: msgbufp, order: .little)
            .uint(0, width: pointerSize, "msgbufp")
        let header = ByteReader(try space.read(virtual: pointer, count: pointerSize + 16), file: file, base: pointer, order: .little)
        let ring = try header.uint(0, width: pointerSize, "msg_ptr")
        let magic = try header.u32(pointerSize, "msg_magic"), size = try header.u32(pointerSize + 4, "msg_size")
        let wseq = try header.u32(pointerSize + 8, "msg_wseq")
        guard magic == FreeBSDMessageBuffer.magic else {
            throw VMCoreError(.corrupt, file: file, "msgbufp does not point at a struct msgbuf",
                              "msg_magic at \(hex(pointer &+ UInt64(pointerSize))) is \(hex(magic)), expected \(hex(FreeBSDMessageBuffer.magic))")
        }
        guard size > 0, size <= 64 << 20 else {
            throw VMCoreError(.corrupt, file: file, "the message buffer's size \(size) is not plausible", "struct msgbuf at \(hex(pointer))")
        }
        return FreeBSDMessageBuffer(ring: try space.read(virtual: ring, count: Int(size)), writeSequence: wseq)
    }
}
