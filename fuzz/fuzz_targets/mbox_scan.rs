//! Any bytes as an mbox file: the scanner never panics, whole or fed in two chunks, and both ways
//! give the same messages.
#![no_main]

use dmail_store::mbox::scan::{Scanner, scan_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = scan_bytes(data, 0, |_| 0);
    let cut = data.len() / 3;
    let mut s = Scanner::new(0, |_| 0);
    s.feed(&data[..cut]);
    s.feed(&data[cut..]);
    let split = s.finish();
    assert_eq!(whole, split);
});
