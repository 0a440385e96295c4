//! imapdsvc's pool of `authent_number` external authenticator children (dmail-conventions §3a).
//!
//! This module only hands [`External`]s out and takes them back; it must never run more than
//! `authent_number` children, never wait for a free one longer than `authent_timeout`, and never
//! let a poisoned lock (a panicking session thread) take the pool down.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dmail_conf::Config;
use dmail_conf::values::CommandLine;

use super::External;
use crate::AuthError;

/// A fixed set of [`External`] authenticators shared by threads: [`Pool::checkout`] takes one
/// (waiting for one to be free), and dropping the [`Checkout`] puts it back. Children start at
/// their first use, as with a lone [`External`].
///
/// ```
/// use std::time::Duration;
/// use dmail_auth::Pool;
/// use dmail_conf::{values::{CommandLine, SettingValue}, Platform};
/// let cmd = CommandLine::parse_value("/bin/cat", Platform::Unix).unwrap();
/// let pool = Pool::new(cmd, Duration::from_secs(1), 2);
/// let a = pool.checkout().unwrap();
/// let b = pool.checkout().unwrap();
/// assert_eq!(pool.idle(), 0);
/// drop(a);
/// assert_eq!(pool.idle(), 1);
/// # drop(b);
/// ```
#[derive(Debug)]
pub struct Pool {
    idle: Mutex<Vec<External>>,
    returned: Condvar,
    wait: Duration,
}

/// One checked-out authenticator; use it as an [`External`] (it dereferences to one), and drop
/// it to check it back in.
#[derive(Debug)]
pub struct Checkout<'a> {
    pool: &'a Pool,
    external: Option<External>,
}

impl Pool {
    /// A pool of `number` authenticators running `command` (at least one, whatever `number`
    /// says). A checkout waits at most `timeout` for one to be free, and each answers within
    /// `timeout`.
    pub fn new(command: CommandLine, timeout: Duration, number: u32) -> Pool {
        let idle = (0..number.max(1))
            .map(|_| External::new(command.clone(), timeout))
            .collect();
        Pool {
            idle: Mutex::new(idle),
            returned: Condvar::new(),
            wait: timeout,
        }
    }

    /// The pool of `config`: [`Config::imapd_authenticator`], `authent_timeout` and
    /// `authent_number`. `Unavailable` when no authenticator is configured.
    ///
    /// ```
    /// use dmail_auth::Pool;
    /// use dmail_conf::{parse_str, Program, Platform};
    /// let c = parse_str("authent_process /bin/cat\nauthent_number 3\n", "c".into(),
    ///     Program::Imapd, Platform::Unix).config;
    /// assert_eq!(Pool::from_config(&c).unwrap().idle(), 3);
    /// ```
    pub fn from_config(config: &Config) -> Result<Pool, AuthError> {
        let external = External::from_config(config)?;
        Ok(Pool::new(
            external.command.clone(),
            external.timeout,
            config.authent_number,
        ))
    }

    /// Takes a free authenticator, waiting up to the timeout for one to be checked in;
    /// `Unavailable` if none is.
    pub fn checkout(&self) -> Result<Checkout<'_>, AuthError> {
        let deadline = Instant::now() + self.wait;
        let mut idle = self.lock();
        loop {
            if let Some(external) = idle.pop() {
                return Ok(Checkout {
                    pool: self,
                    external: Some(external),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AuthError::Unavailable(
                    "every external authenticator stayed busy for authent_timeout".to_owned(),
                ));
            }
            idle = self
                .returned
                .wait_timeout(idle, left)
                .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
        }
    }

    /// How many authenticators are checked in.
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    /// Ends the children of every checked-in authenticator ([`External::shutdown`]); later
    /// checkouts start new ones. Checked-out authenticators are not touched.
    pub fn shutdown(&self) {
        for external in self.lock().iter_mut() {
            external.shutdown();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<External>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Deref for Checkout<'_> {
    type Target = External;
    fn deref(&self) -> &External {
        // Only `Drop` takes the authenticator out.
        self.external.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Checkout<'_> {
    fn deref_mut(&mut self) -> &mut External {
        self.external.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(external) = self.external.take() {
            self.pool.lock().push(external);
            self.pool.returned.notify_one();
        }
    }
}
