//! Any line from an external authenticator: reply parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = dmail_auth::external::Reply::parse(line);
    }
});
