//! Login cost: the policy around an in-memory authenticator (target ≤ 5 µs), and crypt(3)
//! verification of a yescrypt and a `$6$` hash (Debian's defaults: yescrypt `j9T`, sha512
//! 5000 rounds).
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{Criterion, criterion_group, criterion_main};
use dmail_auth::{AuthError, Authenticated, Authenticator, Password, Source, hash, policy};
use dmail_conf::{Config, Platform, Program, ResolvedLogin, parse_str};

struct Fake;

impl Authenticator for Fake {
    fn authenticate(
        &mut self,
        _: &Config,
        login: &ResolvedLogin,
        password: &Password,
        _: Option<IpAddr>,
    ) -> Result<Authenticated, AuthError> {
        if password.expose() != b"secret" {
            return Err(AuthError::Rejected("wrong password".into()));
        }
        Ok(Authenticated {
            system_name: login.system_name.clone(),
            source: Source::External,
            uid: None,
            gid: None,
            home: None,
            drop_file: None,
            quota_kbytes: None,
        })
    }
}

/// `hunter2`, hashed by `mkpasswd -m yescrypt` and `mkpasswd -m sha512crypt`.
const YESCRYPT: &str = "$y$j9T$csbwYxG0v4JHJ9S/a13Qa.$weawZQxyJH7SWZB7Q5zcfsy4yCzrleyGb4cQWKQXP83";
const SHA512: &str = "$6$5LZHh1uQqqpg321G$APGoNYhDkGlGBTh1FMMaWgIZdd5LuKV.aq8ab1Z0jcj2TDeQV6Ms6OLCp3uOvCKNKAKNdhXvuHIQTXdf5YiCH0";

fn bench(c: &mut Criterion) {
    let text = "host_domain example.com\nimapd_strip_domain @mail.example.com\nlowercase_username true\n\
        lowercase_password true\nvdomain cc @computers.com computers.com /vd/cc\n\
        vdomain dd 192.0.2.80 dd.example /vd/dd\n\
        valid_users alice, bob, carol\nvalid_users cc_*, dd_*\n\
        user_ip_address 10.*, 172.16.*\nuser_ip_address 192.0.2.*, 2001:db8::*\n";
    let config = parse_str(text, "dmail.conf".into(), Program::Imapd, Platform::Unix).config;
    let password = Password::new(b"Secret".to_vec());
    let client: Option<IpAddr> = Some("::ffff:192.0.2.44".parse().unwrap_or(IpAddr::from([0; 4])));
    c.bench_function("policy::login (fake authenticator, vdomain user)", |b| {
        b.iter(|| {
            let r = policy::login(
                &config,
                &mut Fake,
                black_box(b"Sales@Computers.com"),
                &password,
                client,
                None,
            );
            assert!(r.is_ok());
        })
    });

    let mut slow = c.benchmark_group("crypt");
    slow.sample_size(10);
    let pw = Password::new(b"hunter2".to_vec());
    slow.bench_function("verify yescrypt $y$j9T", |b| {
        b.iter(|| assert!(hash::verify(&pw, black_box(YESCRYPT))))
    });
    slow.bench_function("verify sha512crypt $6$", |b| {
        b.iter(|| assert!(hash::verify(&pw, black_box(SHA512))))
    });
    slow.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
