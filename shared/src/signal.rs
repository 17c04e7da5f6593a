//! Stopping a service: the one place that knows how each platform asks a process to stop.

/// Completes when the process is asked to stop: SIGTERM (systemd stopping the service) or
/// SIGINT (Ctrl-C) on Unix; Ctrl-C, Ctrl-Break or the service manager's close on Windows.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows::{ctrl_break, ctrl_close};
        match (ctrl_break(), ctrl_close()) {
            (Ok(mut brk), Ok(mut close)) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = brk.recv() => {}
                    _ = close.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// For a one-shot command: a closed standard output (`karya-agent product list | head`)
/// ends the process quietly, as it ends `ls` or `grep`, instead of a panic ("failed printing
/// to stdout: Broken pipe"). Rust ignores SIGPIPE so that a write to a closed socket is an
/// error, not death: a service, which writes to sockets, must not call this.
pub fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal, before any thread starts; nothing
    // else in the process installs a handler for it.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
