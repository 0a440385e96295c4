//! Any bytes as a mailbox name: validation and modified UTF-7 decoding never panic; a decoded
//! name encodes back to the same bytes.
#![no_main]

use dmail_store::names::{MailboxName, decode_modified_utf7, encode_modified_utf7};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = MailboxName::parse(data);
    if let Ok(text) = decode_modified_utf7(data) {
        assert_eq!(encode_modified_utf7(&text).as_bytes(), data);
    }
});
