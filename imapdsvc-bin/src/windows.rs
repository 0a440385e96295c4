//! imapdsvc as a Windows service (the service control manager starts it; DWatch may run it in
//! the foreground instead). Thin glue over the windows-service crate: report Running, run the
//! service loop, report Stopped when it returns; a Stop request ends the process.
//!
//! Untested: imapdsvc cannot be built for Windows yet (dmail-store and imapd-bin use Unix-only
//! calls; only dmail-conf and dmail-auth build for it). This module must never hold service logic of its own; every
//! decision stays in portable code.

use std::ffi::OsString;
use std::sync::OnceLock;
use std::time::Duration;

use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::{define_windows_service, service_dispatcher};

use imapdsvc_bin::cli::Cli;

const NAME: &str = "imapdsvc";

static CLI: OnceLock<Vec<OsString>> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// Runs as a service when the service control manager started this process; false when it
/// did not (a console run), and the caller runs the service loop itself.
pub(crate) fn run_as_service(_cli: &Cli) -> bool {
    let _ = CLI.set(std::env::args_os().collect());
    service_dispatcher::start(NAME, ffi_service_main).is_ok()
}

fn service_main(_args: Vec<OsString>) {
    let handler = |control| match control {
        // No graceful path yet: the service loop's stop comes from Unix signals, which do not
        // exist here, so a Stop ends the process (sessions are cut, not told BYE).
        ServiceControl::Stop => std::process::exit(0),
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(status) = service_control_handler::register(NAME, handler) else {
        return;
    };
    let report = |state, accept| ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: accept,
        exit_code: ServiceExitCode::Win32(0),
        checkpoint: 0,
        wait_hint: Duration::from_secs(10),
        process_id: None,
    };
    let _ = status.set_service_status(report(ServiceState::Running, ServiceControlAccept::STOP));
    let args = CLI.get().cloned().unwrap_or_default();
    if let Ok(cli) = <Cli as clap::Parser>::try_parse_from(args) {
        crate::service::run(&cli);
    }
    let _ = status.set_service_status(report(ServiceState::Stopped, ServiceControlAccept::empty()));
}
