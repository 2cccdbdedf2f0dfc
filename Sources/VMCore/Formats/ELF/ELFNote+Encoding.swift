extension ELFNote {
    /// `notes` as the kernel's `append_elf_note()` writes them: `namesz`, `descsz`, `type`,
    /// the name with its NUL, and the descriptor, each padded to 4 bytes.
    public static func encoded(_ notes: [ELFNote], order: ByteOrder) -> [UInt8] {
        var w = ByteWriter(order: order)
        for note in notes {
            let name = Array(note.name.utf8) + [0]
            let o = w.bytes.count
            w.u32(UInt32(name.count), at: o)
            w.u32(UInt32(note.descriptor.count), at: o + 4)
            w.u32(note.type, at: o + 8)
            w.raw(name, at: o + 12)
            w.pad(toMultipleOf: 4)
            w.append(note.descriptor)
            w.pad(toMultipleOf: 4)
        }
        return w.bytes
    }
}
