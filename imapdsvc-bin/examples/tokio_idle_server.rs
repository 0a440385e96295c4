//! The driver experiment's other side: the same session and backend as imapdsvc's in-process
//! mode, driven by tokio tasks instead of threads, so that `idle_bench` can compare the memory
//! and CPU of idle connections (ARCHITECTURE.md records the figures).
//!
//! Experiment only: a current-thread runtime (the session is not `Send`: its quota source is a
//! plain `Box<dyn QuotaSource>`), store calls run on the runtime thread, no limits, no signals,
//! no log. It must never be shipped or used as a server.
//!
//! `tokio_idle_server CONF ADDR:PORT`

use std::sync::Arc;
use std::time::Instant;

use dmail_conf::Platform;
use imapd_bin::backend::ServerBackend;
use imapd_proto::session::{Session, Wait};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(conf), Some(addr)) = (args.next(), args.next()) else {
        eprintln!("usage: tokio_idle_server CONF ADDR:PORT");
        std::process::exit(2);
    };
    let (config, _) = imapd_bin::setup::load_config(conf.as_str().into(), Platform::current())
        .map_err(std::io::Error::other)?;
    let pool = Arc::new(dmail_auth::Pool::from_config(&config).map_err(std::io::Error::other)?);
    let config = Arc::new(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        loop {
            let (stream, peer) = listener.accept().await?;
            let backend = ServerBackend::new(Arc::clone(&config), None, Some(peer.ip()), None)
                .with_pool(Arc::clone(&pool));
            let options = imapd_bin::setup::options(&config, false);
            tokio::task::spawn_local(serve(
                stream,
                Session::new(backend, options, Instant::now()),
            ));
        }
    })
}

async fn serve(mut stream: TcpStream, mut session: Session<ServerBackend>) {
    let mut out = Vec::new();
    let mut wait = session.run(Instant::now(), &mut out);
    loop {
        let Ok(next) = wait else { return };
        if stream.write_all(&out).await.is_err() {
            return;
        }
        out = Vec::new();
        wait = match next {
            Wait::Read { deadline } => {
                let deadline = tokio::time::Instant::from_std(deadline);
                match tokio::time::timeout_at(deadline, stream.readable()).await {
                    Err(_) => session.timeout(Instant::now(), &mut out),
                    Ok(Err(_)) => return,
                    Ok(Ok(())) => {
                        // The buffer exists only while reading, not while the task waits.
                        let mut buf = vec![0u8; 8192];
                        match stream.try_read(&mut buf) {
                            Ok(0) => return,
                            Ok(n) => {
                                session.push(&buf[..n]);
                                session.run(Instant::now(), &mut out)
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(next),
                            Err(_) => return,
                        }
                    }
                }
            }
            Wait::Pause { until } => {
                tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
                session.run(Instant::now(), &mut out)
            }
            Wait::StartTls | Wait::Close => return,
        };
    }
}
