//! Login resolution, dmail-conventions §3 steps 1–4: from what a user typed (and the address they
//! connected to) to a local part, a domain and a system name.
//!
//! Shared by dmail-auth (who is this?) and dmail-store (where is their mail?), so that the two can
//! never disagree. It must never touch files, the password database or the network.

use std::net::IpAddr;

use crate::Config;
use crate::ip::canonical_ip;
use crate::values::{Vdomain, VdomainKey};

/// The domain a login belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginDomain {
    /// The main domain (`host_domain`), or no domain typed and none selected by address.
    Main,
    /// A virtual domain: the `vdomain` line (a copy) and its index among `vdomain` lines.
    Virtual {
        /// Position among the config's `vdomain` entries.
        index: usize,
        /// The entry.
        vdomain: Vdomain,
    },
}

/// A login after steps 1–4.
///
/// ```
/// use dmail_conf::{parse_str, Program, Platform};
/// let l = parse_str("vdomain cc @computers.com computers.com /var/spool/vd/cc\nhost_domain example.com\n",
///     "c".into(), Program::Imapd, Platform::Unix).config;
/// let r = l.resolve_login(b"sales@Computers.com", None).unwrap();
/// assert_eq!(r.local, "sales");
/// assert_eq!(r.system_name, "cc_sales");
/// assert_eq!(r.domain_name(&l), Some("computers.com"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedLogin {
    /// The local part, after `imapd_strip_domain` and `lowercase_username`.
    pub local: String,
    /// Main or virtual domain.
    pub domain: LoginDomain,
    /// The name the user is known by to the system, `valid_users` and the authenticator:
    /// `local` for the main domain, `PREFIX` + `vdomain_separator` + `local` for a virtual one.
    pub system_name: String,
}

impl ResolvedLogin {
    /// The domain's name: the vdomain's DOMAIN, else the first `host_domain`, else `None`.
    pub fn domain_name<'a>(&'a self, config: &'a Config) -> Option<&'a str> {
        match &self.domain {
            LoginDomain::Virtual { vdomain, .. } => Some(vdomain.domain.as_str()),
            LoginDomain::Main => config.host_domain.first().map(|d| d.as_str()),
        }
    }

    /// The virtual domain, if any.
    pub fn vdomain(&self) -> Option<&Vdomain> {
        match &self.domain {
            LoginDomain::Virtual { vdomain, .. } => Some(vdomain),
            LoginDomain::Main => None,
        }
    }
}

/// Why a login cannot be resolved. Logged, never shown to a client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// The login is not valid UTF-8.
    #[error("the login is not valid UTF-8")]
    NotUtf8,
    /// Nothing before the `@` (or nothing at all).
    #[error("the login has an empty local part")]
    EmptyLocalPart,
    /// `bob@`.
    #[error("the login has an empty domain after @")]
    EmptyDomain,
    /// A domain that is neither a host_domain nor a virtual domain.
    #[error("the domain {0:?} is neither a host_domain nor a vdomain")]
    UnknownDomain(String),
}

impl Config {
    /// Resolves a login typed by a client connected to `local_ip` (dmail-conventions §3 steps
    /// 1–4).
    ///
    /// ```
    /// use dmail_conf::{parse_str, Program, Platform, LoginError};
    /// let c = parse_str("imapd_strip_domain @mail.example.com\nlowercase_username true\n",
    ///     "c".into(), Program::Imapd, Platform::Unix).config;
    /// assert_eq!(c.resolve_login(b"Bob@MAIL.example.com", None).unwrap().system_name, "bob");
    /// assert_eq!(c.resolve_login(b"bob@", None), Err(LoginError::EmptyDomain));
    /// ```
    pub fn resolve_login(
        &self,
        login: &[u8],
        local_ip: Option<IpAddr>,
    ) -> Result<ResolvedLogin, LoginError> {
        let login = std::str::from_utf8(login).map_err(|_| LoginError::NotUtf8)?;
        let login = strip_suffix_ascii_ci(login, self.imapd_strip_domain.as_deref());
        let (local, domain) = match login.rsplit_once('@') {
            Some((local, typed)) => {
                if typed.is_empty() {
                    return Err(LoginError::EmptyDomain);
                }
                (local, self.domain_by_name(typed)?)
            }
            None => (login, self.domain_by_address(local_ip)),
        };
        if local.is_empty() {
            return Err(LoginError::EmptyLocalPart);
        }
        let local = if self.lowercase_username {
            local.to_ascii_lowercase()
        } else {
            local.to_owned()
        };
        let system_name = match &domain {
            LoginDomain::Main => local.clone(),
            LoginDomain::Virtual { vdomain, .. } => {
                format!("{}{}{}", vdomain.prefix, self.vdomain_separator, local)
            }
        };
        Ok(ResolvedLogin {
            local,
            domain,
            system_name,
        })
    }

    /// Step 2 with a typed domain: host_domain first, then the first `@SUFFIX` vdomain naming it.
    fn domain_by_name(&self, typed: &str) -> Result<LoginDomain, LoginError> {
        if self.host_domain.iter().any(|d| d.matches(typed)) {
            return Ok(LoginDomain::Main);
        }
        self.vdomain
            .iter()
            .position(|v| v.selected_by(typed))
            .map(|index| LoginDomain::Virtual {
                index,
                vdomain: self.vdomain[index].clone(),
            })
            .ok_or_else(|| LoginError::UnknownDomain(typed.to_owned()))
    }

    /// Step 2 without a typed domain: the first IP vdomain for the local address, else main.
    fn domain_by_address(&self, local_ip: Option<IpAddr>) -> LoginDomain {
        let Some(ip) = local_ip.map(canonical_ip) else {
            return LoginDomain::Main;
        };
        self.vdomain
            .iter()
            .position(|v| v.key == VdomainKey::Address(ip))
            .map_or(LoginDomain::Main, |index| LoginDomain::Virtual {
                index,
                vdomain: self.vdomain[index].clone(),
            })
    }
}

/// Removes `suffix` from the end of `login`, ASCII case-insensitively (step 1).
fn strip_suffix_ascii_ci<'a>(login: &'a str, suffix: Option<&str>) -> &'a str {
    let Some(suffix) = suffix.filter(|s| !s.is_empty()) else {
        return login;
    };
    let Some(cut) = login.len().checked_sub(suffix.len()) else {
        return login;
    };
    match login.get(cut..) {
        Some(tail) if tail.eq_ignore_ascii_case(suffix) => &login[..cut],
        _ => login,
    }
}
