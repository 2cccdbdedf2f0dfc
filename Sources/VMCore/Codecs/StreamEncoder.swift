import Dispatch

/// Compresses a stream piece by piece into gzip (one RFC 1952 member, what `gzip` and
/// savecore's `-z` write) or zstd (one frame with a content checksum, compressed by zstd's own
/// worker threads), through buffers the caller owns: memory stays the same whatever the size
/// of the stream.
///
/// A zstd library built without worker threads (a static libzstd) cannot spread one frame over
/// several cores; then, asked for threads, the encoder cuts the stream into 4 MiB jobs and
/// compresses `threads` of them at a time, each into a frame of its own, written in order.
/// Concatenated frames are one zstd stream to every decoder (`zstd -d`, this library's).
public final class StreamEncoder {
    public let format: StreamDecoder.Format
    private let gzip: ZlibStream?
    private let zstd: ZstdCompressor?
    private var output = [UInt8](repeating: 0, count: 1 << 20)
    /// For frame-parallel zstd: per thread, a compressor, the job being filled, its frame.
    private let slots: [FrameSlot]
    static let jobSize = 4 << 20

    /// `level`: zlib 1–9 (gzip) or zstd's levels; `threads`: zstd worker threads (0: none).
    /// `independentFrames` compresses zstd jobs into frames of their own on `threads` threads
    /// even when the library has worker threads (what it does anyway when the library has none).
    public init?(format: StreamDecoder.Format, level: Int32, threads: Int32 = 0, independentFrames: Bool = false) {
        self.format = format
        switch format {
        case .gzip:
            // windowBits 15 + 16: a gzip wrapper.
            guard let stream = ZlibStream(deflateLevel: level, windowBits: 15 + 16) else { return nil }
            gzip = stream
            zstd = nil
            slots = []
        case .zstd:
            guard let context = ZstdCompressor(level: level, threads: threads) else { return nil }
            gzip = nil
            zstd = context
            var slots: [FrameSlot] = []
            if threads > 1 && (!context.hasWorkers || independentFrames) {
                for _ in 0..<threads {
                    guard let w = ZstdCompressor(level: level, threads: 0) else { return nil }
                    slots.append(FrameSlot(worker: w))
                }
            }
            self.slots = slots
        }
    }

    /// Compresses `input[range]`; `finish` ends the stream. Each piece of compressed output is
    /// handed to `sink` as it is produced (the array is reused: copy what you keep).
    public func encode(_ input: [UInt8], _ range: Range<Int>, finish: Bool,
                       sink: ([UInt8], Int) throws(VMCoreError) -> Void) throws(VMCoreError) {
        if !slots.isEmpty { return try encodeFrames(input, range, finish: finish, sink: sink) }
        var consumed = 0
        var done = false
        while !done {
            let (c, produced, finished, failure) = step(input[range.lowerBound + consumed..<range.upperBound], finish: finish)
            if let failure { throw VMCoreError(.io, file: "", "\(format.rawValue) compression failed", failure) }
            consumed += c
            if produced > 0 { try sink(output, produced) }
            // Without finishing, stop once the input is consumed and the buffer was not filled.
            done = finish ? finished : (consumed == range.count && produced < output.count)
        }
    }

    private func step(_ input: ArraySlice<UInt8>, finish: Bool) -> (Int, Int, Bool, String?) {
        if let gzip {
            let step = gzip.process(input, into: &output, 0..<output.count, finish: finish)
            switch step.status {
            case .progress: return (step.consumed, step.produced, false, nil)
            case .streamEnd: return (step.consumed, step.produced, true, nil)
            default: return (step.consumed, step.produced, false, "zlib error \(step.status.code)")
            }
        }
        let step = zstd!.compressStream(input, into: &output, finish: finish)
        if let error = step.error { return (step.consumed, step.produced, false, error) }
        return (step.consumed, step.produced, finish && step.remaining == 0, nil)
    }

    /// Fills the jobs in turn; when all are full (or at the end), compresses them at once,
    /// one frame each, and hands the frames to `sink` in order.
    private func encodeFrames(_ input: [UInt8], _ range: Range<Int>, finish: Bool,
                              sink: ([UInt8], Int) throws(VMCoreError) -> Void) throws(VMCoreError) {
        var at = range.lowerBound
        while at < range.upperBound {
            guard let slot = slots.first(where: { $0.job.count < Self.jobSize }) else {
                try flushFrames(sink)
                continue
            }
            let n = min(Self.jobSize - slot.job.count, range.upperBound - at)
            slot.job += input[at..<at + n]
            at += n
            if slots.allSatisfy({ $0.job.count == Self.jobSize }) { try flushFrames(sink) }
        }
        if finish { try flushFrames(sink) }
    }

    private func flushFrames(_ sink: ([UInt8], Int) throws(VMCoreError) -> Void) throws(VMCoreError) {
        let count = slots.firstIndex(where: { $0.job.isEmpty }) ?? slots.count
        guard count > 0 else { return }
        let slots = self.slots
        DispatchQueue.concurrentPerform(iterations: count) { i in slots[i].compress() }
        for slot in slots.prefix(count) {
            switch slot.result {
            case .success(let n): try sink(slot.frame, n)
            case .failure(let f): throw VMCoreError(.io, file: "", "zstd compression failed", f.reason)
            case nil: throw VMCoreError(.io, file: "", "zstd compression failed", "a job was not compressed")
            }
            slot.job.removeAll(keepingCapacity: true)
            slot.result = nil
        }
    }
}

/// One thread's share of frame-parallel compression: its compressor, the job it fills, and the
/// frame it compresses the job into. During a round each slot is touched by one thread only;
/// the encoder reads it after the round.
private final class FrameSlot: @unchecked Sendable {
    let worker: ZstdCompressor
    var job: [UInt8] = []
    var frame: [UInt8] = []
    var result: Result<Int, ZstdFailure>?

    init(worker: ZstdCompressor) {
        self.worker = worker
        job.reserveCapacity(StreamEncoder.jobSize)
    }

    func compress() {
        result = worker.compressFrame(job[...], into: &frame)
    }
}
