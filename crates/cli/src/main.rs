//! The `harrier` command. Argument parsing lives here; each subcommand is a
//! module under `cmd/`.

mod cmd;
mod input;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Query(args) => cmd::query::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
