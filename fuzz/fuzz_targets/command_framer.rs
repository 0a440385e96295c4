//! Any bytes from a client: the command framer never panics and never holds more than its limits.
#![no_main]

use imapd_proto::framer::{Framer, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut f = Framer::new(Limits::BEFORE_LOGIN);
    for chunk in data.chunks(7) {
        f.push(chunk);
        while f.next().is_some() {}
    }
});
