//! SASL mechanisms as sans-I/O state machines for the protocol layer (IMAP `AUTHENTICATE`):
//! [`Exchange`] runs PLAIN (RFC 4616), LOGIN (the `Username:`/`Password:` exchange) and
//! CRAM-MD5 (RFC 2195) over base64 lines and ends in [`Credentials`]; [`cram_md5_verify`] and
//! the APOP helpers ([`apop_digest`], RFC 1939) check digests against a known secret.
//!
//! Which mechanisms are offered: [`offered`]. CRAM-MD5 and APOP need the plaintext (or a
//! plaintext-equivalent) secret on the server. No source has one today: unix_user and
//! vdomain_passwd hold one-way crypt(3) hashes, and the external protocol (dmail-conventions §3a)
//! has no request that returns a secret. So CRAM-MD5 is implemented and tested but never
//! offered. This module never reads sockets, never logs, and never keeps a password past the
//! [`Credentials`] it hands over.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::Password;
use crate::hash::constant_time_eq;

/// A SASL mechanism this crate implements.
///
/// ```
/// use dmail_auth::sasl::Mechanism;
/// assert_eq!(Mechanism::from_name("plain"), Some(Mechanism::Plain));
/// assert_eq!(Mechanism::CramMd5.name(), "CRAM-MD5");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616.
    Plain,
    /// The de-facto LOGIN mechanism (draft-murchison-sasl-login).
    Login,
    /// RFC 2195.
    CramMd5,
}

impl Mechanism {
    /// The mechanism named (ASCII case-insensitively) by a client.
    ///
    /// ```
    /// assert!(dmail_auth::sasl::Mechanism::from_name("GSSAPI").is_none());
    /// ```
    pub fn from_name(name: &str) -> Option<Mechanism> {
        [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5]
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The registered name, as written in `AUTH=` capabilities.
    ///
    /// ```
    /// assert_eq!(dmail_auth::sasl::Mechanism::Login.name(), "LOGIN");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
        }
    }
}

/// Whether a source can give the server a plaintext-equivalent secret (what CRAM-MD5 and APOP
/// need). \[decided\] Always false today: see the module documentation.
///
/// ```
/// use dmail_conf::values::AuthentMethod;
/// assert!(!dmail_auth::sasl::has_plaintext_secret(AuthentMethod::External));
/// ```
pub fn has_plaintext_secret(_method: dmail_conf::values::AuthentMethod) -> bool {
    false
}

/// The mechanisms to advertise for a config: PLAIN and LOGIN, plus CRAM-MD5 only where
/// [`has_plaintext_secret`] says a secret exists (never, today). Whether they may be used
/// before TLS (`imapd_login_disabled`) is the protocol layer's business.
///
/// ```
/// use dmail_auth::sasl::{offered, Mechanism};
/// use dmail_conf::{Config, Platform};
/// assert_eq!(offered(&Config::defaults(Platform::Unix)), vec![Mechanism::Plain, Mechanism::Login]);
/// ```
pub fn offered(config: &dmail_conf::Config) -> Vec<Mechanism> {
    let mut m = vec![Mechanism::Plain, Mechanism::Login];
    if has_plaintext_secret(config.authent_method) {
        m.push(Mechanism::CramMd5);
    }
    m
}

/// What an exchange ends with.
///
/// ```
/// use dmail_auth::sasl::{Credentials, Exchange, Mechanism, Step};
/// let (_, step) = Exchange::start(Mechanism::Plain, Some(b"AGJvYgBwdw=="), None).unwrap();
/// let Step::Done(Credentials::Password { authcid, .. }) = step else { panic!() };
/// assert_eq!(authcid, b"bob");
/// ```
#[derive(Debug)]
pub enum Credentials {
    /// A user name and password (PLAIN, LOGIN): check them with the login policy.
    Password {
        /// The authentication identity, as sent (a login to resolve).
        authcid: Vec<u8>,
        /// The password.
        password: Password,
    },
    /// A CRAM-MD5 response: check `digest` with [`cram_md5_verify`] against the user's secret.
    CramMd5 {
        /// The user name, as sent.
        username: Vec<u8>,
        /// The challenge the server sent (unencoded).
        challenge: Vec<u8>,
        /// The client's HMAC-MD5 digest.
        digest: [u8; 16],
    },
}

/// One step of an exchange.
///
/// ```
/// use dmail_auth::sasl::{Exchange, Mechanism, Step};
/// let (_, step) = Exchange::start(Mechanism::Plain, None, None).unwrap();
/// assert!(matches!(step, Step::Challenge(ref c) if c.is_empty()));
/// ```
#[derive(Debug)]
pub enum Step {
    /// Send `+ ` followed by this base64 text, and feed the client's next line to
    /// [`Exchange::step`].
    Challenge(String),
    /// The exchange is complete.
    Done(Credentials),
}

/// Why an exchange failed. The protocol layer answers `BAD` (malformed) or `NO`.
///
/// ```
/// use dmail_auth::sasl::{Exchange, Mechanism, SaslError};
/// // "alice\0bob\0pw": bob may not act as alice.
/// let e = Exchange::start(Mechanism::Plain, Some(b"YWxpY2UAYm9iAHB3"), None).unwrap_err();
/// assert_eq!(e, SaslError::AuthzidMismatch);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The client sent `*`.
    #[error("the client cancelled the exchange")]
    Cancelled,
    /// A line that is not base64.
    #[error("the response is not valid base64")]
    Base64,
    /// Decoded, but not what the mechanism expects.
    #[error("malformed {0} response")]
    Malformed(&'static str),
    /// PLAIN: an authorization identity other than the authentication identity (no proxy
    /// logins).
    #[error("authorization identity differs from the authentication identity")]
    AuthzidMismatch,
    /// A line arrived after the exchange was over.
    #[error("the exchange is already complete")]
    Finished,
}

#[derive(Debug)]
enum State {
    PlainWaiting,
    LoginUser,
    LoginPassword { user: Vec<u8> },
    CramWaiting { challenge: Vec<u8> },
    Finished,
}

/// A server-side SASL exchange. Start it with [`Exchange::start`], then feed each client line to
/// [`Exchange::step`] until [`Step::Done`].
///
/// ```
/// use dmail_auth::sasl::{Exchange, Mechanism, Step, Credentials};
/// // LOGIN: "Username:" then "Password:".
/// let (mut ex, first) = Exchange::start(Mechanism::Login, None, None).unwrap();
/// assert!(matches!(first, Step::Challenge(ref c) if c == "VXNlcm5hbWU6"));
/// assert!(matches!(ex.step(b"Ym9i").unwrap(), Step::Challenge(ref c) if c == "UGFzc3dvcmQ6"));
/// match ex.step(b"c2VjcmV0").unwrap() {
///     Step::Done(Credentials::Password { authcid, password }) => {
///         assert_eq!(authcid, b"bob");
///         assert_eq!(password.expose(), b"secret");
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct Exchange {
    state: State,
}

/// `Username:` and `Password:`, the LOGIN mechanism's prompts.
const LOGIN_USER_PROMPT: &[u8] = b"Username:";
const LOGIN_PASSWORD_PROMPT: &[u8] = b"Password:";

impl Exchange {
    /// Starts `mechanism`. `initial` is a SASL-IR initial response (base64; `=` means empty).
    /// `cram_challenge` is the CRAM-MD5 challenge to send (`<random.time@host>`, RFC 2195); it
    /// is required for CRAM-MD5 and ignored otherwise.
    ///
    /// ```
    /// use dmail_auth::sasl::{Exchange, Mechanism, Step};
    /// // PLAIN with an initial response: done at once.
    /// let (_, step) = Exchange::start(Mechanism::Plain, Some(b"AGJvYgBzZWNyZXQ="), None).unwrap();
    /// assert!(matches!(step, Step::Done(_)));
    /// ```
    pub fn start(
        mechanism: Mechanism,
        initial: Option<&[u8]>,
        cram_challenge: Option<&[u8]>,
    ) -> Result<(Exchange, Step), SaslError> {
        let (state, challenge) = match mechanism {
            Mechanism::Plain => (State::PlainWaiting, Vec::new()),
            Mechanism::Login => (State::LoginUser, LOGIN_USER_PROMPT.to_vec()),
            Mechanism::CramMd5 => {
                let challenge = cram_challenge
                    .filter(|c| !c.is_empty())
                    .ok_or(SaslError::Malformed("CRAM-MD5 challenge"))?
                    .to_vec();
                if initial.is_some() {
                    // RFC 2195: the server speaks first; an initial response is a protocol error.
                    return Err(SaslError::Malformed("CRAM-MD5"));
                }
                let encoded = STANDARD.encode(&challenge);
                return Ok((
                    Exchange {
                        state: State::CramWaiting { challenge },
                    },
                    Step::Challenge(encoded),
                ));
            }
        };
        let mut exchange = Exchange { state };
        match initial {
            Some(line) => {
                let step = exchange.step(line)?;
                Ok((exchange, step))
            }
            None => Ok((exchange, Step::Challenge(STANDARD.encode(challenge)))),
        }
    }

    /// Feeds one client line (base64, without CRLF; `*` cancels).
    ///
    /// ```
    /// use dmail_auth::sasl::{Exchange, Mechanism, SaslError};
    /// let (mut ex, _) = Exchange::start(Mechanism::Plain, None, None).unwrap();
    /// assert_eq!(ex.step(b"*").unwrap_err(), SaslError::Cancelled);
    /// ```
    pub fn step(&mut self, line: &[u8]) -> Result<Step, SaslError> {
        let state = std::mem::replace(&mut self.state, State::Finished);
        if matches!(state, State::Finished) {
            return Err(SaslError::Finished);
        }
        if line == b"*" {
            return Err(SaslError::Cancelled);
        }
        let data = decode(line)?;
        match state {
            State::PlainWaiting => parse_plain(&data).map(Step::Done),
            State::LoginUser => {
                if data.is_empty() || data.contains(&0) {
                    return Err(SaslError::Malformed("LOGIN"));
                }
                self.state = State::LoginPassword {
                    user: data.to_vec(),
                };
                Ok(Step::Challenge(STANDARD.encode(LOGIN_PASSWORD_PROMPT)))
            }
            State::LoginPassword { user } => {
                if data.contains(&0) {
                    return Err(SaslError::Malformed("LOGIN"));
                }
                Ok(Step::Done(Credentials::Password {
                    authcid: user,
                    password: Password::new(data.to_vec()),
                }))
            }
            State::CramWaiting { challenge } => {
                let (username, digest) = parse_cram(&data)?;
                Ok(Step::Done(Credentials::CramMd5 {
                    username,
                    challenge,
                    digest,
                }))
            }
            State::Finished => Err(SaslError::Finished),
        }
    }
}

/// Decodes a client line: standard base64 with padding; `=` (SASL-IR's empty response) and an
/// empty line are empty.
fn decode(line: &[u8]) -> Result<Zeroizing<Vec<u8>>, SaslError> {
    if line.is_empty() || line == b"=" {
        return Ok(Zeroizing::new(Vec::new()));
    }
    STANDARD
        .decode(line)
        .map(Zeroizing::new)
        .map_err(|_| SaslError::Base64)
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`, authcid and passwd non-empty; an authzid must
/// equal the authcid. \[decided\] No proxy authorization: DMail has no notion of one user acting
/// as another.
fn parse_plain(data: &[u8]) -> Result<Credentials, SaslError> {
    let mut parts = data.splitn(3, |&b| b == 0);
    let (Some(authzid), Some(authcid), Some(passwd)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed("PLAIN"));
    };
    if authcid.is_empty() || passwd.is_empty() || passwd.contains(&0) {
        return Err(SaslError::Malformed("PLAIN"));
    }
    if !authzid.is_empty() && authzid != authcid {
        return Err(SaslError::AuthzidMismatch);
    }
    Ok(Credentials::Password {
        authcid: authcid.to_vec(),
        password: Password::new(passwd.to_vec()),
    })
}

/// RFC 2195: `username SP digest`, the digest 32 hex digits (either case accepted).
fn parse_cram(data: &[u8]) -> Result<(Vec<u8>, [u8; 16]), SaslError> {
    let at = data
        .iter()
        .rposition(|&b| b == b' ')
        .ok_or(SaslError::Malformed("CRAM-MD5"))?;
    let (user, hex) = (&data[..at], &data[at + 1..]);
    if user.is_empty() || hex.len() != 32 {
        return Err(SaslError::Malformed("CRAM-MD5"));
    }
    let mut digest = [0u8; 16];
    for (out, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        let hi = hex_value(pair[0]).ok_or(SaslError::Malformed("CRAM-MD5"))?;
        let lo = hex_value(pair[1]).ok_or(SaslError::Malformed("CRAM-MD5"))?;
        *out = hi << 4 | lo;
    }
    Ok((user.to_vec(), digest))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// HMAC-MD5 (RFC 2104) over the `md5` crate: `md5((K ^ opad) || md5((K ^ ipad) || text))`, keys
/// longer than 64 bytes hashed first.
///
/// ```
/// // RFC 2104 test case 2.
/// let mac = dmail_auth::sasl::hmac_md5(b"Jefe", b"what do ya want for nothing?");
/// assert_eq!(mac[..4], [0x75, 0x0c, 0x78, 0x3e]);
/// ```
pub fn hmac_md5(key: &[u8], text: &[u8]) -> [u8; 16] {
    const BLOCK: usize = 64;
    let mut k = Zeroizing::new([0u8; BLOCK]);
    if key.len() > BLOCK {
        k[..16].copy_from_slice(&md5::compute(key).0);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = Zeroizing::new([0x36u8; BLOCK]);
    let mut opad = Zeroizing::new([0x5cu8; BLOCK]);
    for i in 0..BLOCK {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let mut inner = md5::Context::new();
    inner.consume(&ipad[..]);
    inner.consume(text);
    let inner = inner.finalize();
    let mut outer = md5::Context::new();
    outer.consume(&opad[..]);
    outer.consume(inner.0);
    outer.finalize().0
}

/// The CRAM-MD5 digest a client holding `secret` sends for `challenge` (RFC 2195).
///
/// ```
/// let d = dmail_auth::sasl::cram_md5_digest(b"tanstaaftanstaaf", b"<1896.697170952@postoffice.reston.mci.net>");
/// assert_eq!(d[0], 0xb9);
/// ```
pub fn cram_md5_digest(secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    hmac_md5(secret, challenge)
}

/// Whether `digest` is right for `secret` and `challenge`, compared in constant time.
///
/// ```
/// use dmail_auth::sasl::{cram_md5_digest, cram_md5_verify};
/// let d = cram_md5_digest(b"k", b"<1@h>");
/// assert!(cram_md5_verify(b"k", b"<1@h>", &d));
/// assert!(!cram_md5_verify(b"K", b"<1@h>", &d));
/// ```
pub fn cram_md5_verify(secret: &[u8], challenge: &[u8], digest: &[u8; 16]) -> bool {
    constant_time_eq(&cram_md5_digest(secret, challenge), digest)
}

/// The APOP digest (RFC 1939 §7): lower-case hex of `md5(timestamp || secret)`, where
/// `timestamp` is the whole `<...>` string from the POP3 greeting. For DPOP implementations.
///
/// ```
/// assert_eq!(
///     dmail_auth::sasl::apop_digest(b"<1896.697170952@dbc.mtview.ca.us>", b"tanstaaf"),
///     "c4c9334bac560ecc979e58001b3e22fb"
/// );
/// ```
pub fn apop_digest(timestamp: &[u8], secret: &[u8]) -> String {
    let mut ctx = md5::Context::new();
    ctx.consume(timestamp);
    ctx.consume(secret);
    to_hex(&ctx.finalize().0)
}

/// Whether an APOP digest (hex, either case) is right, compared in constant time.
///
/// ```
/// use dmail_auth::sasl::apop_verify;
/// let ts = b"<1896.697170952@dbc.mtview.ca.us>";
/// assert!(apop_verify(ts, b"tanstaaf", "C4C9334BAC560ECC979E58001B3E22FB"));
/// assert!(!apop_verify(ts, b"tanstaaF", "c4c9334bac560ecc979e58001b3e22fb"));
/// ```
pub fn apop_verify(timestamp: &[u8], secret: &[u8], digest_hex: &str) -> bool {
    constant_time_eq(
        apop_digest(timestamp, secret).as_bytes(),
        digest_hex.to_ascii_lowercase().as_bytes(),
    )
}
