//! Reads KQL on standard input and prints it back through the parser and printer, or the
//! rendered parse error. `cargo run -p harrier-kql --example kqlfmt < query.kql`

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut src = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut src) {
        eprintln!("cannot read standard input: {e}");
        return ExitCode::FAILURE;
    }
    match harrier_kql::parse(&src) {
        Ok(script) => {
            println!("{script}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{}", harrier_kql::render_error(&src, &e));
            ExitCode::FAILURE
        }
    }
}
