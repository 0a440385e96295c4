//! `dmail-auth` will decide who may log in to a DMail server: the `Authenticator` trait with
//! unix_user, vdomain_passwd and external implementations and the login policy around them.
//!
//! It holds no code yet. Login *resolution* (from what a user typed to a system name and domain)
//! already lives in `dmail_conf::Config::resolve_login`, which this crate will build on.
#![deny(unsafe_code)]
