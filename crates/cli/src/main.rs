//! The `harrier` command. Argument parsing lives here; each subcommand is a
//! module under `cmd/`.

mod alerts_out;
mod cmd;
mod input;
mod kql_hunt;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// Reading events allocates and frees many small strings and maps on several
// threads; mimalloc's per-thread free lists cost a fraction of glibc's arenas.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "harrier",
    version,
    about = "Threat detection over Windows endpoint telemetry with Elastic EQL and Kusto KQL rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an ad-hoc EQL query over event files, with Elasticsearch's semantics
    Query(cmd::query::Args),
    /// Run detection rules over event files and report the alerts Elastic Security would raise
    Hunt(cmd::hunt::Args),
    /// Print events as Harrier reads and normalises them
    Events(cmd::events::Args),
    /// Validate, list and show detection rules
    #[command(subcommand)]
    Rules(cmd::rules::Command),
    /// Run a Kusto (KQL) query over event files mapped onto Defender tables
    Kql(cmd::kql::Args),
}

fn main() -> ExitCode {
    no_huge_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Query(args) => cmd::query::run(args),
        Command::Hunt(args) => cmd::hunt::run(args),
        Command::Events(args) => cmd::events::run(args),
        Command::Rules(c) => cmd::rules::run(c),
        Command::Kql(args) => cmd::kql::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Returns freed memory to the system, now and from now on as soon as it is
/// freed (mimalloc's purge delay, 10 ms by default, set to 0). Costs a
/// system call per freed run of pages, so a hunt asks for it only where
/// memory, not time, is what is short (see `cmd::hunt`).
pub(crate) fn release_freed_memory() {
    // mimalloc's `mi_option_purge_delay` (the same position in its v2 and v3 option lists)
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option and collecting take no pointers; both are
    // documented as callable at any time from any thread.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_collect(true);
    }
}

/// Transparent huge pages off for this process. mimalloc asks for them on
/// its arenas, and the kernel then zeroes 2 MB for every first touch: with
/// a large rule set that was a fifth of start-up and a third of a hunt's
/// system time, for more resident memory.
#[cfg(target_os = "linux")]
fn no_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes no pointers; it only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn no_huge_pages() {}
