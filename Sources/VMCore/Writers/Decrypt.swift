extension EncryptedDump {
    /// Decrypts `encrypted` with `keyFile` and the RSA key in `privateKeyFile` into `output`
    /// (which must not exist unless `replace`). With `decompress`, a gzip or zstd payload is
    /// decompressed too. Nothing is left at `output` on failure.
    public static func decrypt(encrypted: String, keyFile: String, privateKeyFile: String, output: String,
                               decompress: Bool = false, replace: Bool = false) throws(VMCoreError) -> Result {
        let plain = try open(encrypted: encrypted, keyFile: keyFile, privateKeyFile: privateKeyFile)
        guard plain.size > 0 else {
            throw VMCoreError(.truncated, file: encrypted, offset: 0, "the encrypted dump is empty")
        }
        let prefix = try plain.bytes(at: 0, count: Int(min(64, plain.size)), what: "decrypted header")
        guard let kind = payloadKind(prefix) else {
            let shown = prefix.prefix(8).map { String($0, radix: 16).leftPadded(2) }.joined(separator: " ")
            throw VMCoreError(.decryption, file: encrypted, offset: 0, "the decrypted data is not a kernel dump",
                              "it starts \(shown); the key file or the cipher does not belong to this dump")
        }
        let (directory, name) = FileSystem.split(output)
        guard replace || !FileSystem.exists(output) else {
            throw VMCoreError(.io, file: output, "already exists", hint: .replace)
        }
        let file = try AtomicFile(directory: directory, name: name)
        var written: UInt64 = 0
        var didDecompress = false
        if decompress, let format = StreamDecoder.Format.detect(prefix) {
            written = try DecompressedCache.decompress(plain, format: format, into: file)
            didDecompress = true
        } else {
            // One pass, one cipher stream, as decryptcore reads the file.
            if plain.cipher == .aes256CBC && plain.size % 16 != 0 {
                throw VMCoreError(.decryption, file: encrypted, offset: plain.size / 16 * 16, "AES-256-CBC data must come in 16-byte blocks",
                                  "the file's \(plain.size) bytes are not a multiple of 16; it is truncated")
            }
            let cipher = try DumpCipher(cipher: plain.cipher, key: plain.key, iv: plain.iv, direction: .decrypt, file: encrypted)
            let chunk = 1 << 20
            var buffer = [UInt8](repeating: 0, count: chunk)
            var flushedTo: UInt64 = 0
            while written < plain.size {
                let n = Int(min(UInt64(chunk), plain.size - written))
                try plain.base.read(into: &buffer, bufferOffset: 0, at: written, count: n)
                let out = try cipher.process(buffer, 0..<n)
                try DecompressedCache.writeSkippingZeroBlocks(out, count: n, at: written, to: file)
                written += UInt64(n)
                if written - flushedTo >= 16 << 20 {
                    file.startWriteback(offset: flushedTo, count: written - flushedTo)
                    flushedTo = written
                }
            }
        }
        try file.commit(length: written)
        return Result(cipher: plain.cipher, payload: kind, bytesRead: plain.size, bytesWritten: written, decompressed: didDecompress)
    }
}
