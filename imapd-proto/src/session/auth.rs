//! LOGIN and AUTHENTICATE (PLAIN, LOGIN, with SASL-IR): from what the client sent to the
//! backend's verdict, with the failed-login delay and limit.
//!
//! Must never: let a password or SASL line reach the log or a response, tell the client why a
//! login failed, or accept a login while `LOGINDISABLED` is advertised.

use std::io::{self, Write};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dmail_auth::Password;
use dmail_auth::sasl::{Credentials, Exchange, Mechanism, SaslError, Step};
use imap_codec::imap_types::auth::AuthenticateData;
use imap_codec::imap_types::secret::Secret;

use super::{Flow, Held, SaslState, Session, Wait};
use crate::backend::{Backend, LogLevel, LoginFailureKind};
use crate::framer::Mode;
use crate::response::{self, Cond};

impl<B: Backend> Session<B> {
    /// Checks a login with the backend and answers (or holds the answer for the delay).
    pub(super) fn login(
        &mut self,
        tag: &str,
        login: &[u8],
        password: Password,
        now: Instant,
        out: &mut dyn Write,
        what: &str,
    ) -> io::Result<Flow> {
        if self.refused_before_tls(tag, out)? {
            return Ok(Flow::Continue);
        }
        match self.backend.login(login, password) {
            Ok(account) => self.logged_in(out, tag, account, what),
            Err(failure) => {
                let shown = String::from_utf8_lossy(login).into_owned();
                self.log(
                    LogLevel::Info,
                    &format!("{what} failed for {shown:?} ({:?})", failure.kind),
                );
                let mut bytes = Vec::new();
                let (code, text, fatal) = match failure.kind {
                    LoginFailureKind::Rejected => (
                        Some("AUTHENTICATIONFAILED"),
                        format!("{what} failed"),
                        false,
                    ),
                    LoginFailureKind::Unavailable => (
                        Some("UNAVAILABLE"),
                        "Authentication is unavailable, try again later".to_owned(),
                        false,
                    ),
                    LoginFailureKind::Unserviceable => (
                        Some("UNAVAILABLE"),
                        "Your mail cannot be served now; ask your administrator".to_owned(),
                        false,
                    ),
                    LoginFailureKind::Limit => (
                        Some("LIMIT"),
                        "Too many sessions for this user".to_owned(),
                        false,
                    ),
                    LoginFailureKind::Fatal => (None, String::new(), true),
                };
                if fatal {
                    response::bye(&mut bytes, "Internal error starting your session")?;
                } else {
                    response::status(&mut bytes, Some(tag), Cond::No, code, &text)?;
                    if failure.close {
                        response::bye(&mut bytes, "Too many failed logins")?;
                    }
                }
                let close = fatal || failure.close;
                if failure.delay.is_zero() {
                    out.write_all(&bytes)?;
                    if close {
                        self.closing = true;
                        return Ok(Flow::Return(Wait::Close));
                    }
                    return Ok(Flow::Continue);
                }
                let until = now + failure.delay;
                self.held = Some(Held {
                    bytes,
                    until,
                    close,
                });
                Ok(Flow::Return(Wait::Pause { until }))
            }
        }
    }

    /// Answers `NO [PRIVACYREQUIRED]` and returns true while logins wait for TLS
    /// (`imapd_login_disabled`, `LOGINDISABLED` advertised).
    fn refused_before_tls(&self, tag: &str, out: &mut dyn Write) -> io::Result<bool> {
        if !self.logins_disabled() {
            return Ok(false);
        }
        response::status(
            out,
            Some(tag),
            Cond::No,
            Some("PRIVACYREQUIRED"),
            "Logins are disabled until STARTTLS",
        )?;
        Ok(true)
    }

    /// `AUTHENTICATE mechanism [initial-response]`.
    pub(super) fn authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial: Option<Secret<std::borrow::Cow<'static, [u8]>>>,
        now: Instant,
        out: &mut dyn Write,
    ) -> io::Result<Flow> {
        if self.refused_before_tls(tag, out)? {
            return Ok(Flow::Continue);
        }
        let Some(mech) =
            Mechanism::from_name(mechanism).filter(|m| self.options.mechanisms.contains(m))
        else {
            response::status(
                out,
                Some(tag),
                Cond::No,
                Some("CANNOT"),
                "Unsupported authentication mechanism",
            )?;
            return Ok(Flow::Continue);
        };
        // imap-codec hands over the initial response decoded; the exchange reads base64 lines.
        let initial = initial.map(|ir| {
            let bytes = ir.declassify();
            if bytes.is_empty() {
                Password::new(b"=".to_vec())
            } else {
                Password::new(STANDARD.encode(bytes.as_ref()).into_bytes())
            }
        });
        let started = Exchange::start(mech, initial.as_ref().map(|p| p.expose()), None);
        match started {
            Ok((exchange, step)) => self.sasl_step(tag, exchange, step, now, out),
            Err(e) => self.sasl_failed(tag, &e, out),
        }
    }

    /// A continuation line of an AUTHENTICATE exchange.
    pub(super) fn authenticate_data(
        &mut self,
        data: AuthenticateData<'static>,
        now: Instant,
        out: &mut dyn Write,
    ) -> io::Result<Flow> {
        let Some(SaslState { tag, mut exchange }) = self.sasl.take() else {
            self.framer.set_mode(Mode::Command);
            return self.bad(out, None, "No authentication in progress");
        };
        self.framer.set_mode(Mode::Command);
        let line = match data {
            AuthenticateData::Continue(bytes) => {
                Password::new(STANDARD.encode(bytes.declassify().as_ref()).into_bytes())
            }
            AuthenticateData::Cancel => Password::new(b"*".to_vec()),
        };
        match exchange.step(line.expose()) {
            Ok(step) => self.sasl_step(&tag, exchange, step, now, out),
            Err(e) => self.sasl_failed(&tag, &e, out),
        }
    }

    fn sasl_step(
        &mut self,
        tag: &str,
        exchange: Exchange,
        step: Step,
        now: Instant,
        out: &mut dyn Write,
    ) -> io::Result<Flow> {
        match step {
            Step::Challenge(text) => {
                out.write_all(b"+ ")?;
                out.write_all(text.as_bytes())?;
                out.write_all(b"\r\n")?;
                self.sasl = Some(SaslState {
                    tag: tag.to_owned(),
                    exchange,
                });
                self.framer.set_mode(Mode::AuthenticateData);
                Ok(Flow::Continue)
            }
            Step::Done(Credentials::Password { authcid, password }) => {
                self.login(tag, &authcid, password, now, out, "AUTHENTICATE")
            }
            Step::Done(Credentials::CramMd5 { .. }) => {
                // Never offered (no source holds a plaintext-equivalent secret).
                response::status(out, Some(tag), Cond::No, None, "AUTHENTICATE failed")?;
                Ok(Flow::Continue)
            }
        }
    }

    fn sasl_failed(
        &mut self,
        tag: &str,
        error: &SaslError,
        out: &mut dyn Write,
    ) -> io::Result<Flow> {
        self.framer.set_mode(Mode::Command);
        match error {
            SaslError::Cancelled => {
                response::status(out, Some(tag), Cond::Bad, None, "AUTHENTICATE cancelled")?;
                Ok(Flow::Continue)
            }
            SaslError::AuthzidMismatch => {
                response::status(
                    out,
                    Some(tag),
                    Cond::No,
                    Some("AUTHORIZATIONFAILED"),
                    "AUTHENTICATE failed",
                )?;
                Ok(Flow::Continue)
            }
            other => {
                let text = format!("AUTHENTICATE: {other}");
                self.bad(out, Some(tag), &text)
            }
        }
    }
}
