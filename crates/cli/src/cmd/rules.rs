//! `harrier rules`: validate, list and show detection rules.

use crate::cmd::hunt::load;
use anyhow::{bail, Result};
use harrier_eql::schema::Schema;
use harrier_rules::transform::resolve_guide;
use harrier_rules::{Rule, RuleSetSummary};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Parse and analyze every EQL rule and plan every KQL rule; exit 1 when any rule is broken
    Validate {
        /// Rule files or directories
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List rules (the built-in pack without PATH)
    List {
        /// Rule files or directories
        paths: Vec<PathBuf>,
    },
    /// Run rule unit tests: TOML files of cases (events in, expected alerts out)
    Test {
        /// Test files
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show one rule: metadata, ATT&CK mapping and investigation guide
    Show {
        /// rule_id or name
        id: String,
        /// Rule files or directories (the built-in pack without PATH)
        paths: Vec<PathBuf>,
    },
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Validate { paths } => validate(&paths),
        Command::List { paths } => list(&paths),
        Command::Show { id, paths } => show(&id, &paths),
        Command::Test { files } => crate::cmd::rules_test::run(&files),
    }
}

/// The query line holding the error, numbered as in the file, with carets under the span.
fn snippet(query: &str, span: harrier_eql::Span, file_line: u32) -> String {
    let start = (span.start as usize).min(query.len());
    let start = (0..=start)
        .rev()
        .find(|&i| query.is_char_boundary(i))
        .unwrap_or(0);
    let line_start = query[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = query[start..].find('\n').map_or(query.len(), |i| start + i);
    let end = (span.end as usize).clamp(start, line_end);
    let end = (start..=end)
        .rev()
        .find(|&i| query.is_char_boundary(i))
        .unwrap_or(start);
    let col = query[line_start..start].chars().count();
    let width = query[start..end].chars().count().max(1);
    let gutter = if file_line > 0 {
        file_line.to_string()
    } else {
        String::new()
    };
    let pad = " ".repeat(gutter.len());
    format!(
        "{pad} |\n{gutter} | {}\n{pad} | {}{}\n",
        &query[line_start..line_end],
        " ".repeat(col),
        "^".repeat(width)
    )
}

fn validate(paths: &[PathBuf]) -> Result<ExitCode> {
    let (rules, problems) = load(paths);
    let schema = Schema::ecs();
    let mut broken = 0usize;
    for p in &problems {
        println!("{p}");
    }
    let mut valid = 0usize;
    let (mut kql_valid, mut kql_broken) = (0usize, 0usize);
    for r in rules.iter().filter(|r| r.is_kql()) {
        let query = r.query.as_deref().unwrap_or_default();
        match crate::kql_hunt::check_query(query) {
            Ok(()) => kql_valid += 1,
            Err((span, message)) => {
                kql_broken += 1;
                let (line, col) = r.query_position(span.start).unwrap_or((0, 0));
                println!(
                    "{}:{}:{}: error: rule {:?} ({}): {}",
                    r.origin.file, line, col, r.name, r.rule_id, message
                );
                let span = harrier_eql::Span {
                    start: u32::try_from(span.start).unwrap_or(u32::MAX),
                    end: u32::try_from(span.end).unwrap_or(u32::MAX),
                };
                print!("{}", snippet(query, span, line));
            }
        }
    }
    for r in rules.iter().filter(|r| r.is_eql()) {
        match harrier_engine::compile_query(r, &schema) {
            Ok(_) => valid += 1,
            Err(e) => {
                broken += 1;
                let (line, col) = r.query_position(e.span.start as usize).unwrap_or((0, 0));
                println!(
                    "{}:{}:{}: error: rule {:?} ({}): {}",
                    r.origin.file, line, col, r.name, r.rule_id, e.message
                );
                print!(
                    "{}",
                    snippet(r.query.as_deref().unwrap_or_default(), e.span, line)
                );
            }
        }
    }
    let s = RuleSetSummary::of(&rules);
    let unsupported: Vec<String> = s
        .unsupported_by_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    let kql = if kql_valid + kql_broken > 0 {
        format!(", {kql_valid} KQL valid, {kql_broken} KQL broken")
    } else {
        String::new()
    };
    println!(
        "{} rules: {} EQL valid, {} EQL broken{kql}, {} unsupported{}; {} load problems",
        s.total,
        valid,
        broken,
        s.unsupported,
        if unsupported.is_empty() {
            String::new()
        } else {
            format!(" ({})", unsupported.join(", "))
        },
        problems.len()
    );
    Ok(if broken > 0 || kql_broken > 0 || !problems.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn list(paths: &[PathBuf]) -> Result<ExitCode> {
    let (rules, problems) = load(paths);
    for p in &problems {
        eprintln!("warning: {p}");
    }
    println!(
        "{:<36}  {:<8}  {:>4}  {:<10}  NAME",
        "RULE ID", "SEVERITY", "RISK", "TYPE"
    );
    for r in &rules {
        let kind = if r.is_supported() {
            r.rule_type.to_string()
        } else {
            format!("{}*", r.rule_type)
        };
        println!(
            "{:<36}  {:<8}  {:>4}  {:<10}  {}",
            r.rule_id,
            r.severity.as_str(),
            r.risk_score,
            kind,
            r.name
        );
    }
    let s = RuleSetSummary::of(&rules);
    println!(
        "\n{s}{}",
        if s.unsupported > 0 {
            " (* = not run)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn find<'a>(rules: &'a [Rule], id: &str) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.rule_id.eq_ignore_ascii_case(id))
        .or_else(|| rules.iter().find(|r| r.name.eq_ignore_ascii_case(id)))
}

fn show(id: &str, paths: &[PathBuf]) -> Result<ExitCode> {
    let (rules, problems) = load(paths);
    for p in &problems {
        eprintln!("warning: {p}");
    }
    let Some(r) = find(&rules, id) else {
        bail!("no rule with id or name {id:?}");
    };
    println!("{}", r.name);
    println!("{}", "=".repeat(r.name.chars().count()));
    println!("rule_id      {}", r.rule_id);
    println!(
        "type         {}{}",
        r.rule_type,
        r.language
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default()
    );
    println!("severity     {} (risk score {})", r.severity, r.risk_score);
    println!("indices      {}", r.index.join(", "));
    println!(
        "schedule     every {} from {} to {}, max_signals {}",
        r.interval, r.from, r.to, r.max_signals
    );
    if let Some(t) = &r.timestamp_override {
        println!("timestamp    {t}");
    }
    if !r.tags.is_empty() {
        println!("tags         {}", r.tags.join(", "));
    }
    println!("version      {}", r.version);
    if !r.author.is_empty() {
        println!("author       {}", r.author.join(", "));
    }
    println!("file         {}", r.origin.file);
    println!("\n{}", r.description.trim());
    if !r.threat.is_empty() {
        println!("\nMITRE ATT&CK");
        for t in &r.threat {
            println!("  {} {}", t.tactic.id, t.tactic.name);
            for tech in &t.technique {
                println!("    {} {}", tech.id, tech.name);
                for s in &tech.subtechnique {
                    println!("      {} {}", s.id, s.name);
                }
            }
        }
    }
    if let Some(q) = &r.query {
        println!("\nQuery\n");
        for l in q.trim().lines() {
            println!("    {l}");
        }
    }
    if let Some(note) = &r.note {
        let (guide, _) = resolve_guide(note, r.transform.as_ref(), None);
        println!("\nInvestigation guide\n");
        println!("{}", guide.trim());
    }
    if !r.references.is_empty() {
        println!("\nReferences");
        for x in &r.references {
            println!("  {x}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
