//! Prints the evtx crate's JSON rendering of every record of one file (a debugging aid).
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: evtx_json FILE");
        std::process::exit(2);
    };
    let mut parser = match evtx::EvtxParser::from_path(&path) {
        Ok(p) => p.with_configuration(evtx::ParserSettings::new().indent(false)),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    for r in parser.records_json() {
        match r {
            Ok(r) => println!("{}", r.data),
            Err(e) => eprintln!("error: {e}"),
        }
    }
}
