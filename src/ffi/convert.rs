//! Every conversion of a raw pointer the broker passes: NULL-checked, in one file.

use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::NonNull;

use super::sys::mosquitto_opt;
use crate::options::Options;

/// The bytes of a NUL-terminated C string, or `None` for NULL.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn cstr<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-NULL and NUL-terminated per the caller's contract.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes())
    }
}

/// `bytes` as text if they are UTF-8. ASCII (nearly every name and topic) is recognised a word
/// at a time ([`crate::bytes::ascii`]); anything else is `std::str::from_utf8`'s to decide.
pub fn text(bytes: &[u8]) -> Option<&str> {
    if crate::bytes::ascii(bytes) {
        // SAFETY: every byte is below 0x80, and ASCII is UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// A NUL-terminated name of the broker's (a client's username or id), measured only when it is
/// used: an ACL check compares it with its session's names ([`crate::bytes::same`]), or, when
/// the broker reports every disconnect (plugin API v5), finds it where it matched before
/// ([`crate::session::SeenAt`]).
///
/// `REPORTED`: the string's address may stand for its bytes (see [`CName::reported`]). A type
/// parameter rather than a field, so that the name stays one pointer wide.
#[derive(Clone, Copy)]
pub struct CName<'a, const REPORTED: bool = false> {
    p: NonNull<c_char>,
    life: PhantomData<&'a [u8]>,
}

impl<'a> CName<'a> {
    /// The name at `p`, or `None` for NULL.
    ///
    /// # Safety
    /// As for [`cstr`].
    pub unsafe fn new(p: *const c_char) -> Option<CName<'a>> {
        NonNull::new(p as *mut c_char).map(|p| CName {
            p,
            life: PhantomData,
        })
    }

    /// The same name, of a client whose disconnect the broker reports (plugin API v5): its
    /// address stands for its bytes while the client's session exists.
    pub fn reported(self) -> CName<'a, true> {
        CName {
            p: self.p,
            life: PhantomData,
        }
    }
}

impl<'a, const REPORTED: bool> crate::session::BrokerName<'a> for CName<'a, REPORTED> {
    fn is(self, text: &[u8]) -> bool {
        // Measured (glibc's strlen reads a word at a time, never past the string's page), then
        // compared a word at a time: cheaper than a byte-by-byte walk for any but the shortest
        // names, and the same cost for a 36-byte UUID as for an 8-byte id.
        crate::bytes::same(self.bytes(), text)
    }

    fn bytes(self) -> &'a [u8] {
        // SAFETY: non-NULL and NUL-terminated, living for 'a (the constructor's contract).
        unsafe { CStr::from_ptr(self.p.as_ptr()) }.to_bytes()
    }

    fn addr(self) -> usize {
        if REPORTED {
            self.p.as_ptr() as usize
        } else {
            0
        }
    }
}

/// The bytes of a C string, `None` for NULL or empty (the broker passes a zero-length MQTT
/// password as NULL; an empty one means the same).
///
/// # Safety
/// As for [`cstr`].
pub unsafe fn nonempty<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: forwarded contract.
    unsafe { cstr(p) }.filter(|b| !b.is_empty())
}

/// The broker's option array as [`Options`]; entries with a NULL key or value are skipped.
///
/// # Safety
/// `opts` must be NULL or point to `count` valid `mosquitto_opt` entries.
pub unsafe fn options(opts: *const mosquitto_opt, count: c_int) -> Options {
    let mut pairs = Vec::new();
    if !opts.is_null() && count > 0 {
        // SAFETY: the broker passes an array of `count` entries.
        let slice = unsafe { std::slice::from_raw_parts(opts, count as usize) };
        for o in slice {
            // SAFETY: keys and values are NUL-terminated strings owned by the broker.
            let (k, v) = unsafe { (cstr(o.key), cstr(o.value)) };
            if let (Some(k), Some(v)) = (k, v) {
                pairs.push((
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                ));
            }
        }
    }
    Options::new(pairs)
}

/// The `count` integers at `p`; empty for NULL or a count below 1.
///
/// # Safety
/// `p` must be NULL or point to `count` integers that outlive `'a`.
pub unsafe fn ints<'a>(p: *const c_int, count: c_int) -> &'a [c_int] {
    if p.is_null() || count <= 0 {
        &[]
    } else {
        // SAFETY: per the caller's contract.
        unsafe { std::slice::from_raw_parts(p, count as usize) }
    }
}

/// The event structure behind a callback's `event_data`, or `None` for NULL.
///
/// # Safety
/// `p` must be NULL or point to a valid `T` for the duration of `'a` (the callback).
pub unsafe fn event<'a, T>(p: *mut c_void) -> Option<&'a T> {
    // SAFETY: per the caller's contract.
    unsafe { p.cast::<T>().as_ref() }
}

/// The event structure behind a callback's `event_data`, writable (the tick's `next_*`).
///
/// # Safety
/// As for [`event`], and nothing else may access it during `'a`.
pub unsafe fn event_mut<'a, T>(p: *mut c_void) -> Option<&'a mut T> {
    // SAFETY: per the caller's contract.
    unsafe { p.cast::<T>().as_mut() }
}

/// Stores `value` where the broker asked for its `userdata`; false (nothing stored) for NULL.
///
/// # Safety
/// `out` must be NULL or valid for a write of one pointer.
pub unsafe fn store_userdata(out: *mut *mut c_void, value: *mut c_void) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: non-NULL and writable per the caller's contract.
    unsafe { *out = value };
    true
}

/// The function at `p` (from `dlsym`), or `None` for NULL.
///
/// # Safety
/// `F` must be a function pointer type matching the symbol's C signature exactly.
pub unsafe fn function<F: Copy>(p: *mut c_void) -> Option<F> {
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    if p.is_null() {
        None
    } else {
        // SAFETY: same size (checked), and the caller vouches for the signature.
        Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
    }
}

/// Moves `value` to the heap and returns the pointer for the broker's `userdata`.
pub fn into_userdata<T>(value: T) -> *mut c_void {
    Box::into_raw(Box::new(value)).cast()
}

/// Borrows the value behind a `userdata` pointer made by [`into_userdata`].
///
/// # Safety
/// `p` must be NULL or come from `into_userdata::<T>` and not have been freed.
pub unsafe fn userdata<'a, T>(p: *mut c_void) -> Option<&'a T> {
    // SAFETY: per the caller's contract.
    unsafe { p.cast::<T>().as_ref() }
}

/// Frees a value made by [`into_userdata`]. NULL is ignored.
///
/// # Safety
/// `p` must be NULL or come from `into_userdata::<T>`, and is not used afterwards.
pub unsafe fn free_userdata<T>(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: per the caller's contract, `p` is a leaked Box<T>.
        drop(unsafe { Box::from_raw(p.cast::<T>()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn names_compare_in_place_like_their_bytes() {
        use crate::session::BrokerName;
        let texts: [&[u8]; 8] = [
            b"", b"a", b"al", b"alice", b"alicf", b"alice2", b"+/#", b"\xff",
        ];
        for name in texts {
            let c = CString::new(name).unwrap();
            // SAFETY: a valid C string, alive for the test.
            let n = unsafe { CName::new(c.as_ptr()) }.unwrap();
            assert_eq!(n.bytes(), name);
            for text in texts {
                assert_eq!(n.is(text), name == text, "{name:?} vs {text:?}");
            }
            // A text with a NUL never equals a C string (and is not read past the end).
            let mut with_nul = name.to_vec();
            with_nul.extend_from_slice(b"\0x");
            assert!(!n.is(&with_nul));
        }
        // SAFETY: NULL.
        assert!(unsafe { CName::new(std::ptr::null()) }.is_none());
    }

    #[test]
    fn text_is_utf8_exactly() {
        for ok in [
            "",
            "a",
            "bench/pub0/data",
            "caf\u{e9}/x",
            "\u{1f600}",
            "0123456789abcdefg",
        ] {
            assert_eq!(text(ok.as_bytes()), Some(ok));
        }
        for bad in [
            &b"\xff"[..],
            b"abcdefgh\xc3",
            b"\xc3(",
            b"0123456789\xed\xa0\x80",
        ] {
            assert_eq!(text(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn null_and_empty_strings() {
        // SAFETY: NULL and valid C strings.
        unsafe {
            assert_eq!(cstr(std::ptr::null()), None);
            let s = CString::new("").unwrap();
            assert_eq!(cstr(s.as_ptr()), Some(&b""[..]));
            assert_eq!(nonempty(s.as_ptr()), None);
            let s = CString::new(vec![0xff, b'a']).unwrap();
            assert_eq!(nonempty(s.as_ptr()), Some(&[0xff, b'a'][..]));
        }
    }

    #[test]
    fn options_skip_null_entries() {
        let k = CString::new("backends").unwrap();
        let v = CString::new("files").unwrap();
        let mut opts = [
            mosquitto_opt {
                key: k.as_ptr() as *mut _,
                value: v.as_ptr() as *mut _,
            },
            mosquitto_opt {
                key: std::ptr::null_mut(),
                value: v.as_ptr() as *mut _,
            },
        ];
        // SAFETY: a valid array of two entries.
        let o = unsafe { options(opts.as_mut_ptr(), 2) };
        assert_eq!(format!("{o:?}"), "[\"backends\"]");
        // SAFETY: NULL array.
        let o = unsafe { options(std::ptr::null(), 5) };
        assert_eq!(format!("{o:?}"), "[]");
    }
}
