//! Crash points for fault-injection tests: a test program names a step, and the process aborts
//! (as if killed) when the engine reaches it.
//!
//! Nothing in the product sets a crash point, and none is read from the environment, so a
//! set-uid program cannot be made to crash through this. It must never be used for anything but
//! tests.

use std::sync::Mutex;

static ARMED: Mutex<Option<(String, u32)>> = Mutex::new(None);

/// Arms a crash point: the `nth` time (1-based) the engine reaches step `name`, the process
/// aborts. For fault-injection test programs only.
#[doc(hidden)]
pub fn arm(name: &str, nth: u32) {
    if let Ok(mut a) = ARMED.lock() {
        *a = Some((name.to_owned(), nth));
    }
}

/// Marks a step; aborts the process if a test armed it.
pub(crate) fn hit(name: &str) {
    let Ok(mut armed) = ARMED.lock() else { return };
    let Some((want, n)) = armed.as_mut() else {
        return;
    };
    if want == name {
        if *n <= 1 {
            std::process::abort();
        }
        *n -= 1;
    }
}
