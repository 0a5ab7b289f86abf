//! Word-at-a-time byte work for the ACL check's hot path, where the strings are short (names,
//! topic levels) and a call to `memcmp` costs more than the comparison itself.

/// The eight bytes of `s` from `at` as one word (`s` must have them).
pub fn word(s: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Returns true if and only if `ok` holds for every word of a string of `n` bytes (at least 8),
/// given as the offset of its first byte: every eight bytes, the last word overlapping the one
/// before it so that no byte is left over.
#[inline]
pub fn words(n: usize, mut ok: impl FnMut(usize) -> bool) -> bool {
    let mut i = 0;
    while i + 8 < n {
        if !ok(i) {
            return false;
        }
        i += 8;
    }
    ok(n - 8)
}

/// The four bytes of `s` from `at` as one word (`s` must have them).
pub fn word4(s: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_le_bytes(w)
}

/// Returns true if and only if `a == b`. A word at a time, the last word overlapping the one
/// before it, so a string of 4 to 16 bytes takes two comparisons.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if n < 8 {
        return word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4);
    }
    words(n, |i| word(a, i) == word(b, i))
}

/// Returns true if and only if every byte of `s` is ASCII (below 0x80): then `s` is UTF-8. A
/// word at a time, the last word overlapping the one before.
pub fn ascii(s: &[u8]) -> bool {
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let n = s.len();
    if n < 8 {
        return s.iter().all(|b| *b < 0x80);
    }
    words(n, |i| word(s, i) & HIGHS == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_finds_a_high_byte_anywhere() {
        for n in 0..40 {
            let a = vec![b'a'; n];
            assert!(ascii(&a), "{n}");
            for at in 0..n {
                for high in [0x80, 0xc3, 0xff] {
                    let mut b = a.clone();
                    b[at] = high;
                    assert!(!ascii(&b), "{n} {at} {high}");
                }
                let mut b = a.clone();
                b[at] = 0x7f;
                assert!(ascii(&b), "{n} {at}");
            }
        }
    }

    #[test]
    fn every_byte_is_compared() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same(&a, &b), "{n} {at}");
            }
            if n > 0 {
                assert!(!same(&a, &a[..n - 1]), "{n}");
                assert!(!same(&a[1..], &a[..n - 1]) || a[1..] == a[..n - 1], "{n}");
            }
        }
    }
}
