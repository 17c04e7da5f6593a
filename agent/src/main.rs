use clap::Parser;
use karya_agent::cli::{Cli, Command};

fn main() {
    // glibc raises its mmap threshold after the first large buffer is freed, and from then on
    // keeps such buffers (a password check's 19 MiB) in each thread's heap: a burst of
    // sign-ins on many threads would keep hundreds of MiB. A fixed threshold keeps every
    // buffer of 256 KiB and more in its own mapping, returned to the system when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run) {
        karya_shared::signal::quiet_on_closed_pipe();
    }
    // The service logs what it does; a command prints its result and a one-line reason on
    // failure, so it logs only errors unless KARYA_LOG says otherwise.
    let default_filter = if matches!(cli.command, Command::Run) {
        "warn,karya_agent=info"
    } else {
        "error"
    };
    karya_shared::logging::init(default_filter);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    if let Err(e) = runtime.block_on(karya_agent::cli::run(cli)) {
        eprintln!("karya-agent: {e}");
        std::process::exit(e.exit_code());
    }
}
