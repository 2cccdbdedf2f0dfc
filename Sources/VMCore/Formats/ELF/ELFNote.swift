/// One ELF note: an `Elf32_Nhdr`/`Elf64_Nhdr` (`{u32 namesz, descsz, type}`, the same on both
/// classes) followed by the name and the descriptor, each padded to 4 bytes, as the kernel's
/// `append_elf_note()` and QEMU's `ELF_NOTE_SIZE` write them on ELF64 too.
public struct ELFNote: Sendable, Equatable {
    public var name: String
    public var type: UInt32
    public var descriptor: [UInt8]
    /// The absolute file offset of the descriptor.
    public var descriptorOffset: UInt64

    public init(name: String, type: UInt32, descriptor: [UInt8], descriptorOffset: UInt64 = 0) {
        self.name = name
        self.type = type
        self.descriptor = descriptor
        self.descriptorOffset = descriptorOffset
    }

    /// Every note in `r`. A note header of all zeros ends the list (the padding that kdump's
    /// per-CPU note buffers leave); a header whose sizes run past the end is corrupt.
    public static func parseAll(_ r: ByteReader) throws(VMCoreError) -> [ELFNote] {
        var notes: [ELFNote] = []
        var o = 0
        while o + 12 <= r.count {
            let nameSize = Int(try r.u32(o, "note n_namesz"))
            let descSize = Int(try r.u32(o + 4, "note n_descsz"))
            let type = try r.u32(o + 8, "note n_type")
            if nameSize == 0 && descSize == 0 && type == 0 { break }
            let nameStart = o + 12
            let descStart = nameStart + ((nameSize + 3) & ~3)
            guard nameSize <= r.count, descSize <= r.count, descStart <= r.count, descSize <= r.count - descStart else {
                throw VMCoreError(.corrupt, file: r.file, offset: r.fileOffset(o), "corrupt ELF note header",
                                  "name size \(nameSize) and descriptor size \(descSize) run past the note area's end (\(r.count - o) bytes left)")
            }
            let name = try r.cString(nameStart, nameSize, "note name")
            let desc = Array(try r.slice(descStart, descSize, "note descriptor"))
            notes.append(ELFNote(name: name, type: type, descriptor: desc, descriptorOffset: r.fileOffset(descStart)))
            o = descStart + ((descSize + 3) & ~3)
        }
        return notes
    }
}
