//! SASL exchanges (RFC 4616 PLAIN, LOGIN, RFC 2195 CRAM-MD5) and the APOP digest (RFC 1939).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use dmail_auth::sasl::{
    Credentials, Exchange, Mechanism, SaslError, Step, apop_digest, apop_verify, cram_md5_digest,
    cram_md5_verify, hmac_md5, offered,
};
use dmail_conf::values::AuthentMethod;
use dmail_conf::{Config, Platform};
use test_case::test_case;

fn password_creds(step: Step) -> (Vec<u8>, Vec<u8>) {
    match step {
        Step::Done(Credentials::Password { authcid, password }) => {
            (authcid, password.expose().to_vec())
        }
        other => panic!("expected credentials, got {other:?}"),
    }
}

fn challenge(step: &Step) -> &str {
    match step {
        Step::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

// RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
#[test_case(b"AGJvYgBzZWNyZXQ=", Ok((&b"bob"[..], &b"secret"[..])) ; "no authzid")]
#[test_case(b"Ym9iAGJvYgBzZWNyZXQ=", Ok((&b"bob"[..], &b"secret"[..])) ; "authzid equal to authcid")]
#[test_case(b"YWxpY2UAYm9iAHNlY3JldA==", Err(SaslError::AuthzidMismatch) ; "authzid differs")]
#[test_case(b"AGJvYgBwYXNzIHdpdGggc3BhY2Vz", Ok((&b"bob"[..], &b"pass with spaces"[..])) ; "spaces in password")]
#[test_case(b"AGJvYgA=", Err(SaslError::Malformed("PLAIN")) ; "empty password")]
#[test_case(b"AABzZWNyZXQ=", Err(SaslError::Malformed("PLAIN")) ; "empty authcid")]
#[test_case(b"Ym9ic2VjcmV0", Err(SaslError::Malformed("PLAIN")) ; "no NULs")]
#[test_case(b"AGJvYgBzZWMAcmV0", Err(SaslError::Malformed("PLAIN")) ; "NUL in password")]
#[test_case(b"AGJvYgBzZWNyZXQ", Err(SaslError::Base64) ; "missing padding")]
#[test_case(b"AGJvYgBz ZWNyZXQ=", Err(SaslError::Base64) ; "space inside base64")]
#[test_case(b"!!!!", Err(SaslError::Base64) ; "not base64")]
#[test_case(b"=", Err(SaslError::Malformed("PLAIN")) ; "empty response")]
fn plain(line: &[u8], expected: Result<(&[u8], &[u8]), SaslError>) {
    // As the client's answer to an empty challenge...
    let (mut ex, first) = Exchange::start(Mechanism::Plain, None, None).unwrap();
    assert_eq!(challenge(&first), "");
    let got = ex.step(line).map(password_creds);
    let want = expected.clone().map(|(u, p)| (u.to_vec(), p.to_vec()));
    assert_eq!(got, want);
    // ...and as a SASL-IR initial response.
    let got = Exchange::start(Mechanism::Plain, Some(line), None).map(|(_, s)| password_creds(s));
    assert_eq!(got, want);
}

#[test]
fn login_exchange() {
    let (mut ex, first) = Exchange::start(Mechanism::Login, None, None).unwrap();
    assert_eq!(challenge(&first), "VXNlcm5hbWU6"); // "Username:"
    let second = ex.step(b"Ym9iQGV4YW1wbGUuY29t").unwrap(); // "bob@example.com"
    assert_eq!(challenge(&second), "UGFzc3dvcmQ6"); // "Password:"
    let (user, pw) = password_creds(ex.step(b"cyBlIGMgcmUgdA==").unwrap()); // "s e c re t"
    assert_eq!(
        (user.as_slice(), pw.as_slice()),
        (&b"bob@example.com"[..], &b"s e c re t"[..])
    );
    assert_eq!(ex.step(b"eA==").unwrap_err(), SaslError::Finished);
}

#[test]
fn login_with_initial_response_skips_the_username_prompt() {
    let (mut ex, first) = Exchange::start(Mechanism::Login, Some(b"Ym9i"), None).unwrap();
    assert_eq!(challenge(&first), "UGFzc3dvcmQ6");
    let (user, pw) = password_creds(ex.step(b"cHc=").unwrap());
    assert_eq!((user.as_slice(), pw.as_slice()), (&b"bob"[..], &b"pw"[..]));
}

#[test_case(&[&b"*"[..]], SaslError::Cancelled ; "cancel at username")]
#[test_case(&[&b"Ym9i"[..], &b"*"[..]], SaslError::Cancelled ; "cancel at password")]
#[test_case(&[&b"Ym9i!"[..]], SaslError::Base64 ; "bad base64 username")]
#[test_case(&[&b"Ym9i"[..], &b"c2Vj=cmV0"[..]], SaslError::Base64 ; "bad base64 password")]
#[test_case(&[&b""[..]], SaslError::Malformed("LOGIN") ; "empty username")]
#[test_case(&[&b"Ym8AYg=="[..]], SaslError::Malformed("LOGIN") ; "NUL in username")]
fn login_failures(lines: &[&[u8]], expected: SaslError) {
    let (mut ex, _) = Exchange::start(Mechanism::Login, None, None).unwrap();
    let (last, before) = lines.split_last().unwrap();
    for line in before {
        assert!(matches!(ex.step(line).unwrap(), Step::Challenge(_)));
    }
    assert_eq!(ex.step(last).unwrap_err(), expected);
    // A failed exchange is over.
    assert_eq!(ex.step(b"Ym9i").unwrap_err(), SaslError::Finished);
}

// RFC 2195 §2, the example exchange.
const RFC2195_CHALLENGE: &[u8] = b"<1896.697170952@postoffice.reston.mci.net>";

#[test]
fn cram_md5_rfc2195_vector() {
    let (mut ex, first) =
        Exchange::start(Mechanism::CramMd5, None, Some(RFC2195_CHALLENGE)).unwrap();
    assert_eq!(
        challenge(&first),
        "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
    );
    match ex
        .step(b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw")
        .unwrap()
    {
        Step::Done(Credentials::CramMd5 {
            username,
            challenge,
            digest,
        }) => {
            assert_eq!(username, b"tim");
            assert_eq!(challenge, RFC2195_CHALLENGE);
            assert!(cram_md5_verify(b"tanstaaftanstaaf", &challenge, &digest));
            assert!(!cram_md5_verify(b"tanstaaftanstaaF", &challenge, &digest));
            assert!(!cram_md5_verify(
                b"tanstaaftanstaaf",
                b"<1897.697170952@postoffice.reston.mci.net>",
                &digest
            ));
        }
        other => panic!("{other:?}"),
    }
    let d = cram_md5_digest(b"tanstaaftanstaaf", RFC2195_CHALLENGE);
    assert_eq!(hex(&d), "b913a602c7eda7a495b4e6e7334d3890");
}

#[test_case(b"dGlt", SaslError::Malformed("CRAM-MD5") ; "no digest")]
#[test_case(b"dGltIGI5MTM=", SaslError::Malformed("CRAM-MD5") ; "short digest")]
#[test_case(b"dGltIGc5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", SaslError::Malformed("CRAM-MD5") ; "non-hex digest")]
#[test_case(b"IGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", SaslError::Malformed("CRAM-MD5") ; "empty user")]
#[test_case(b"%%%", SaslError::Base64 ; "bad base64")]
fn cram_md5_malformed(line: &[u8], expected: SaslError) {
    let (mut ex, _) = Exchange::start(Mechanism::CramMd5, None, Some(RFC2195_CHALLENGE)).unwrap();
    assert_eq!(ex.step(line).unwrap_err(), expected);
}

#[test]
fn cram_md5_needs_a_challenge_and_no_initial_response() {
    assert!(Exchange::start(Mechanism::CramMd5, None, None).is_err());
    assert!(Exchange::start(Mechanism::CramMd5, Some(b"dGlt"), Some(RFC2195_CHALLENGE)).is_err());
}

#[test]
fn uppercase_cram_digest_accepted() {
    let (mut ex, _) = Exchange::start(Mechanism::CramMd5, None, Some(RFC2195_CHALLENGE)).unwrap();
    // "tim B913A602C7EDA7A495B4E6E7334D3890"
    let line = b"dGltIEI5MTNBNjAyQzdFREE3QTQ5NUI0RTZFNzMzNEQzODkw";
    match ex.step(line).unwrap() {
        Step::Done(Credentials::CramMd5 { digest, .. }) => {
            assert!(cram_md5_verify(
                b"tanstaaftanstaaf",
                RFC2195_CHALLENGE,
                &digest
            ));
        }
        other => panic!("{other:?}"),
    }
}

// RFC 2104 appendix / RFC 2202 §2 HMAC-MD5 test cases 1–3 and 6 (key longer than a block).
#[test_case(&[0x0b; 16], b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d" ; "case 1")]
#[test_case(b"Jefe", b"what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738" ; "case 2")]
#[test_case(&[0xaa; 16], &[0xdd; 50], "56be34521d144c88dbb8c733f0e8b3f6" ; "case 3")]
#[test_case(&[0xaa; 80], b"Test Using Larger Than Block-Size Key - Hash Key First", "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd" ; "case 6")]
fn hmac_md5_vectors(key: &[u8], data: &[u8], expected: &str) {
    assert_eq!(hex(&hmac_md5(key, data)), expected);
}

// RFC 1939 §7: APOP mrose c4c9334bac560ecc979e58001b3e22fb.
#[test]
fn apop_rfc1939_vector() {
    let ts = b"<1896.697170952@dbc.mtview.ca.us>";
    assert_eq!(
        apop_digest(ts, b"tanstaaf"),
        "c4c9334bac560ecc979e58001b3e22fb"
    );
    assert!(apop_verify(
        ts,
        b"tanstaaf",
        "c4c9334bac560ecc979e58001b3e22fb"
    ));
    assert!(!apop_verify(
        ts,
        b"tanstaaf",
        "c4c9334bac560ecc979e58001b3e22fc"
    ));
    assert!(!apop_verify(
        ts,
        b"tanstaaf",
        "c4c9334bac560ecc979e58001b3e22f"
    ));
}

#[test_case("PLAIN", Some(Mechanism::Plain))]
#[test_case("login", Some(Mechanism::Login))]
#[test_case("Cram-Md5", Some(Mechanism::CramMd5))]
#[test_case("DIGEST-MD5", None)]
fn mechanism_names(name: &str, expected: Option<Mechanism>) {
    assert_eq!(Mechanism::from_name(name), expected);
}

#[test_case(AuthentMethod::UnixUser ; "unix_user")]
#[test_case(AuthentMethod::External ; "external")]
#[test_case(AuthentMethod::NtUser ; "nt_user")]
fn cram_md5_is_never_offered(method: AuthentMethod) {
    let mut c = Config::defaults(Platform::Unix);
    c.authent_method = method;
    assert_eq!(offered(&c), [Mechanism::Plain, Mechanism::Login]);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
