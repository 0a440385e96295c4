//! Connection counts at accept: in total (`imapd_max_connections`) and per client address
//! (`imapd_max_connections_per_ip`).
//!
//! This module only counts; a connection holds a [`Slot`] for as long as it is served and the
//! count drops when the slot does. It must never block (the accept loop calls it) and never
//! let a poisoned lock stop later accepts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// The counts, shared by the accept loop and the connections' slots.
#[derive(Clone, Debug, Default)]
pub(crate) struct Counts {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
}

/// Which limit refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Total,
    PerIp,
}

impl Counts {
    /// Counts a connection from `ip`, unless that would pass `max_total` or `max_per_ip`.
    pub(crate) fn enter(
        &self,
        ip: IpAddr,
        max_total: u32,
        max_per_ip: u32,
    ) -> Result<Slot, Refusal> {
        let mut inner = self.lock();
        if inner.total >= max_total {
            return Err(Refusal::Total);
        }
        let n = inner.per_ip.entry(ip).or_insert(0);
        if *n >= max_per_ip {
            if *n == 0 {
                inner.per_ip.remove(&ip);
            }
            return Err(Refusal::PerIp);
        }
        *n += 1;
        inner.total += 1;
        Ok(Slot {
            counts: self.clone(),
            ip,
        })
    }

    /// Connections served now.
    pub(crate) fn total(&self) -> u32 {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One counted connection.
#[derive(Debug)]
pub(crate) struct Slot {
    counts: Counts,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.counts.lock();
        inner.total = inner.total.saturating_sub(1);
        if let Some(n) = inner.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Counts, Refusal};

    #[test]
    fn total_and_per_ip_limits_and_release() {
        let c = Counts::default();
        let a: std::net::IpAddr = "192.0.2.1".parse().expect("ip");
        let b: std::net::IpAddr = "192.0.2.2".parse().expect("ip");
        let s1 = c.enter(a, 3, 2).expect("first");
        let _s2 = c.enter(a, 3, 2).expect("second");
        assert_eq!(c.enter(a, 3, 2).err(), Some(Refusal::PerIp));
        let _s3 = c.enter(b, 3, 2).expect("other ip");
        assert_eq!(c.enter(b, 3, 2).err(), Some(Refusal::Total));
        drop(s1);
        assert_eq!(c.total(), 2);
        assert!(c.enter(a, 3, 2).is_ok());
    }
}
