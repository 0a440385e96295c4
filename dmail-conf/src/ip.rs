//! The canonical form of a client or local IP address (dmail-conventions §6), used wherever an
//! address is compared with the config or written into a file name.
//!
//! It must never resolve names or look at the network.

use std::net::IpAddr;

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) becomes the IPv4 address; everything else is
/// unchanged. Listening on `::` gives such addresses for IPv4 clients.
///
/// ```
/// use dmail_conf::canonical_ip;
/// let mapped: std::net::IpAddr = "::ffff:10.0.0.1".parse().unwrap();
/// assert_eq!(canonical_ip(mapped).to_string(), "10.0.0.1");
/// ```
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The canonical text of an address: IPv4 dotted, IPv6 as RFC 5952 (what `Display` gives).
/// Patterns in `user_ip_address` match against this text; a pattern may write `:` as `%3A`
/// (the file-name form), which is read as `:`.
///
/// ```
/// use dmail_conf::ip_text;
/// assert_eq!(ip_text("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
/// assert_eq!(ip_text("2001:db8::1".parse().unwrap()), "2001:db8::1");
/// ```
pub fn ip_text(ip: IpAddr) -> String {
    canonical_ip(ip).to_string()
}

/// The file-name form of an address (§6): the canonical text with every `:` written `%3A`, on
/// every platform.
///
/// ```
/// use dmail_conf::ip_file_name;
/// assert_eq!(ip_file_name("2001:db8::1".parse().unwrap()), "2001%3Adb8%3A%3A1");
/// ```
pub fn ip_file_name(ip: IpAddr) -> String {
    ip_text(ip).replace(':', "%3A")
}
