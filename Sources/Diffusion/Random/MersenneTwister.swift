/// The 32-bit Mersenne Twister (MT19937) seeded as PyTorch's CPU generator seeds it: the low 32 bits of the seed
/// go through the reference `init_genrand` recurrence, and the first draw twists the whole state.
///
/// The stream equals `std::mt19937` and numpy's legacy `RandomState` for the same 32-bit seed.
struct MersenneTwister {
    /// Words of state.
    static let stateSize = 624
    private static let shift = 397
    private static let matrixA: UInt32 = 0x9908_B0DF
    private static let upperMask: UInt32 = 0x8000_0000
    private static let lowerMask: UInt32 = 0x7FFF_FFFF

    // (624) the state words
    private var state: [UInt32]
    /// Index of the next word to temper; `stateSize` means "twist before the next draw".
    private var index: Int

    /// A twister seeded with the low 32 bits of `seed` (as torch's `mt19937(seed)` does).
    init(seed: UInt64) {
        var words = [UInt32](repeating: 0, count: Self.stateSize)
        words[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<Self.stateSize {
            let previous = words[i - 1]
            words[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
        state = words
        index = Self.stateSize
    }

    /// The next 32 random bits.
    mutating func next() -> UInt32 {
        if index >= Self.stateSize { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// Regenerates all 624 words (the reference `next_state`).
    private mutating func twist() {
        let n = Self.stateSize, m = Self.shift
        state.withUnsafeMutableBufferPointer { s in
            for i in 0..<n {
                let y = (s[i] & Self.upperMask) | (s[(i + 1) % n] & Self.lowerMask)
                s[i] = s[(i + m) % n] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : Self.matrixA)
            }
        }
        index = 0
    }
}
