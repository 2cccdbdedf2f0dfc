extension UstarArchive {
    /// A member written out by `extract`.
    public struct Extracted: Sendable, Equatable {
        public var name: String
        public var path: String
        public var size: UInt64
    }

    /// The name `member` is written under: its own, if that is a plain file name. A name with
    /// a "/" (a path, absolute or not), ".", "..", or a control character is refused, so an
    /// archive cannot write outside the directory it is extracted into.
    public func extractionName(_ member: UstarHeader) throws(VMCoreError) -> String {
        let name = member.name
        let plain = !name.isEmpty && name != "." && name != ".." && !name.contains("/")
            && !name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
        guard plain else {
            throw VMCoreError(.corrupt, file: source.name, offset: member.offset, "refusing to extract tar member \(quoted(name))",
                              "a member is written only under a plain file name: no \"/\", not \".\" or \"..\", no control characters")
        }
        return name
    }

    /// Writes every regular-file member into `directory` (created if missing), each under a
    /// temporary name first and renamed when complete, with mode 0600 and the member's
    /// modification time. Every name is checked before anything is written. Other members
    /// (directories, links, …) are passed to `skipped` and not written.
    public func extract(to directory: String, skipped: (UstarHeader) -> Void = { _ in }) throws(VMCoreError) -> [Extracted] {
        var plan: [(UstarHeader, String)] = []
        for member in members {
            guard member.isRegularFile else { skipped(member); continue }
            plan.append((member, try extractionName(member)))
        }
        try FileSystem.makeDirectories(directory, permissions: 0o755)
        var done: [Extracted] = []
        let piece = 1 << 20
        for (member, name) in plan {
            let file = try AtomicFile(directory: directory, name: name)
            var at: UInt64 = 0
            while at < member.size {
                let bytes = try read(member, at: at, count: Int(min(UInt64(piece), member.size - at)))
                try file.write(bytes, 0..<bytes.count, at: at)
                at += UInt64(bytes.count)
            }
            try file.commit(length: member.size, modificationTime: Int64(clamping: member.modificationTime))
            done.append(Extracted(name: name, path: file.path, size: member.size))
        }
        return done
    }
}

/// `name` in double quotes, with control characters shown as `\u{…}` escapes.
func quoted(_ name: String) -> String {
    var out = "\""
    for s in name.unicodeScalars {
        if s.value < 0x20 || s.value == 0x7f { out += "\\u{\(String(s.value, radix: 16))}" } else { out.unicodeScalars.append(s) }
    }
    return out + "\""
}
