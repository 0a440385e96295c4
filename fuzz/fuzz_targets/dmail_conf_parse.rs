//! dmail.conf text of any bytes: reading never panics, and for every program; whatever was read
//! resolves logins without panicking.
#![no_main]

use dmail_conf::{Platform, Program, parse_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for program in [Program::Imapd, Program::Dpop] {
        for platform in [Platform::Unix, Platform::Nt] {
            let loaded = parse_bytes(data, camino::Utf8Path::new("dmail.conf"), program, platform);
            let _ = loaded.config.resolve_login(b"bob@example.com", None);
            let _ = loaded.config.render();
        }
    }
});
