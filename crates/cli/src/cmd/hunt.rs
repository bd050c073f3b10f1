//! `harrier hunt`: every rule over event files, with the alerts Elastic Security
//! would raise.

use crate::alerts_out::{
    write_summary, AlertWriter, CsvWriter, JsonlWriter, KibanaJsonWriter, Report, RunFacts, Style,
    TableWriter,
};
use crate::kql_hunt::KqlHunt;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use harrier_engine::collect::Collector;
use harrier_engine::raw::RawFilter;
use harrier_engine::{parse_severity, parse_time, Engine, EngineOptions};
use harrier_event::Event;
use harrier_rules::exceptions::{load_exception_lists, ExceptionLists};
use harrier_rules::{load_rules, Rule, RuleProblem};
use harrier_sources::{
    read_paths_flat, FlatLine, FlatRead, FlatRecord, LineAt, LineFilter, ReadOptions,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Alerts grouped by rule, then a summary
    Table,
    /// One alert per line: rule, severity, ATT&CK, host, user, process, times
    Jsonl,
    /// The full Kibana alert documents (building blocks and sequence shells included)
    Json,
    /// One alert per row, same fields as jsonl
    Csv,
}

#[derive(clap::Args)]
pub struct Args {
    /// Event files or directories (EVTX, ECS JSON/NDJSON, CSV; gzip/zstd); `-` for stdin
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Rule files or directories (detection-rules TOML, Kibana NDJSON export); repeatable.
    /// Without it, Harrier's built-in rule pack is used
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Kibana exception-list exports (NDJSON) the rules refer to; repeatable
    #[arg(long = "exceptions", value_name = "PATH")]
    exceptions: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the alerts to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Leave out rules below this severity (low, medium, high, critical)
    #[arg(long, value_name = "SEVERITY")]
    min_severity: Option<String>,
    /// Run only this rule (rule_id or name); repeatable
    #[arg(long = "rule", value_name = "ID_OR_NAME")]
    rule: Vec<String>,
    /// Run only rules with this tag; repeatable
    #[arg(long = "tag", value_name = "TAG")]
    tag: Vec<String>,
    /// Do not run this rule (rule_id or name); repeatable
    #[arg(long = "exclude-rule", value_name = "ID_OR_NAME")]
    exclude_rule: Vec<String>,
    /// Only events at or after this time: ISO 8601, or date math such as now-9m
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Only events at or before this time: ISO 8601, or date math such as now
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// Order and filter events by this field in every rule (falling back to @timestamp)
    #[arg(long, value_name = "FIELD")]
    timestamp_override: Option<String>,
    /// Also run deprecated rules
    #[arg(long)]
    include_deprecated: bool,
    /// Parse every NDJSON line, also those in which no rule's literal value
    /// occurs (by default they are passed over unparsed, so malformed JSON
    /// among them is not reported), and give KQL rules every EVTX record,
    /// also those in none of whose strings their literals occur
    #[arg(long)]
    no_prefilter: bool,
    /// No progress, warnings or summary on standard error
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let started = Instant::now();
    let now = chrono::Utc::now();
    let min_severity = match &args.min_severity {
        Some(s) => Some(
            parse_severity(s)
                .with_context(|| format!("unknown severity {s:?} (low, medium, high, critical)"))?,
        ),
        None => None,
    };
    let from = args.from.as_deref().map(|t| parse_time(t, now)).transpose();
    let to = args.to.as_deref().map(|t| parse_time(t, now)).transpose();
    let (from, to) = match (from, to) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => bail!("{e}"),
    };

    // rules
    let (rules, problems) = load(&args.rules);
    let parsed = started.elapsed();
    if !args.quiet {
        for p in &problems {
            eprintln!("warning: {p}");
        }
    }
    let mut exceptions = ExceptionLists::default();
    if !args.exceptions.is_empty() {
        let (lists, probs) = load_exception_lists(&args.exceptions);
        if !args.quiet {
            for p in &probs {
                eprintln!("warning: {p}");
            }
        }
        exceptions = ExceptionLists::new(lists);
    }
    let options = EngineOptions {
        execution_time: now,
        from,
        to,
        timestamp_override: args.timestamp_override.clone(),
        min_severity,
        rules: args.rule.clone(),
        tags: args.tag.clone(),
        exclude_rules: args.exclude_rule.clone(),
        exceptions,
        skip_deprecated: !args.include_deprecated,
        ..EngineOptions::default()
    };
    let engine = Engine::new(rules, options);
    let stats = std::env::var_os("HARRIER_STATS").is_some();
    if stats {
        eprintln!(
            "stats: rules parsed: {:.2} s; compiled: {}",
            parsed.as_secs_f64(),
            memory(started)
        );
    }
    if !args.quiet {
        for e in engine.errors() {
            eprintln!(
                "warning: {}:{}:{}: rule {:?} does not compile, skipped: {}",
                e.file, e.line, e.column, e.name, e.message
            );
        }
    }
    // --- KQL rules (crate::kql_hunt): built here, fed each event read, run after EQL ---
    let (mut kql, mut kql_problems) = KqlHunt::new(engine.kql_rules());
    kql.set_window(from, to);
    // --- end KQL ---

    // events
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let bar = if progress {
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} reading events: {pos} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(Duration::from_millis(120));
        Some(b)
    } else {
        None
    };
    // Only events some rule can use are kept, so memory follows the matches,
    // not the input. NDJSON lines in which no rule's literal value occurs are
    // passed over unparsed (engine::raw), and the rest are parsed and matched
    // on every core.
    // KQL rules read Defender rows of the events whose text names one of
    // their literals (kql_hunt); their literals join the EQL rules'.
    let kql_active = !kql.is_empty();
    let values = match (engine.literal_values(), kql_active) {
        (Some(eql), false) => Some(eql),
        (Some(mut eql), true) => kql.literals().map(|k| {
            eql.extend(k.into_iter().map(|v| v.to_lowercase()));
            eql
        }),
        (None, _) => None,
    };
    let raw = if args.no_prefilter {
        RawFilter::new(None)
    } else {
        RawFilter::new(values)
    };
    // Every line is parsed when some rule has no literal condition (the
    // whole Elastic rule tree): such a hunt keeps many events' facts, and
    // returning reading's freed memory at once keeps the peak under 200 MiB
    // on 1.3 GB of NDJSON for about 0.6 s of system time. With literals,
    // most lines are skipped unparsed and the same purging would be a third
    // of the run's time.
    if raw.keeps_everything() {
        crate::release_freed_memory();
    }
    let filter = |line: &[u8]| raw.may_match(line);
    let seen = AtomicU64::new(0);
    // counts an event read, moving the progress bar now and then
    let tick = || {
        let n = seen.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &bar {
            if n & 1023 == 0 {
                b.set_position(n);
            }
        }
    };
    let keep = |e: Event, at: Option<LineAt<'_>>| {
        tick();
        // an event the engine keeps for alerts is kept as its line's place
        // when it has one, and read again only if it is in an alert
        let hits = engine.hits_at(&e, at);
        // the event itself travels on only for the KQL rules; the engine
        // keeps what it needs of it in `hits`
        (kql_active || !hits.is_empty()).then(|| (kql_active.then_some(e), hits))
    };
    // Plain NDJSON lines are read for the rules' fields only
    // (engine.fields()), straight into slots, unless KQL rules need whole
    // events; EVTX records' fields are read in place, and a record is made
    // into a whole event for the KQL rules only when one of its strings holds
    // one of their literals (kql_hunt)
    let keep_flat = |line: &FlatLine<'_>| {
        let hits = engine.hits_flat(line)?;
        tick();
        Some((!hits.is_empty()).then_some((None, hits)))
    };
    let kql_values = kql_active
        .then(|| kql.value_matcher())
        .flatten()
        .filter(|_| !args.no_prefilter);
    let keep_record = |record: &FlatRecord<'_>| {
        let hits = engine.hits_record(record)?;
        tick();
        let for_kql = kql_active
            && kql_values.as_ref().is_none_or(|m| {
                record
                    .doc
                    .rest()
                    .any_string(&mut |s| m.is_match(s.as_bytes()))
            });
        let e = for_kql.then(|| record.event());
        Some((e.is_some() || !hits.is_empty()).then_some((e, hits)))
    };
    let flat = FlatRead {
        fields: engine.fields(),
        map: (!kql_active).then_some(&keep_flat as _),
        record: Some(&keep_record),
    };
    let mut collector = Collector::new(&engine);
    let mut skip_lines = Vec::new();
    let summary = read_paths_flat(
        &args.paths,
        &ReadOptions::default(),
        (!raw.keeps_everything()).then_some(&filter as &LineFilter<'_>),
        Some(&flat),
        &keep,
        &mut |(e, hits)| {
            if let Some(e) = &e {
                kql.observe(e);
            }
            if !hits.is_empty() {
                collector.push(hits);
            }
        },
        &mut |s| skip_lines.push(format!("{}: {}", s.origin, s.reason)),
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if !args.quiet {
        for s in skip_lines.iter().take(20) {
            eprintln!("warning: skipped {s}");
        }
        if skip_lines.len() > 20 {
            eprintln!("warning: … and {} more skipped", skip_lines.len() - 20);
        }
    }

    // rules over events
    let bar = if progress {
        let b = ProgressBar::with_draw_target(
            Some(engine.rules().len() as u64),
            ProgressDrawTarget::stderr(),
        );
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} rules ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    if stats {
        let c = collector.stats();
        eprintln!(
            "stats: events read: {}; filters evaluated {}, facts {} ({} MB), key tuples {} ({} MB), key lists {}, documents {} ({} MB as JSON, {} MB held)",
            memory(started),
            engine.filters_evaluated(),
            c.facts,
            c.fact_bytes >> 20,
            c.tuples,
            c.tuple_bytes >> 20,
            c.key_lists,
            c.documents,
            c.document_bytes >> 20,
            c.held_bytes >> 20
        );
        for &(r, n) in &c.largest {
            eprintln!("stats:   {n} facts: {}", engine.rules()[r].rule.name);
        }
    }
    // joining facts into alerts frees more than it allocates
    crate::release_freed_memory();
    let out_run = collector.finish(&|n| {
        if let Some(b) = &bar {
            b.set_position(n as u64);
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if !args.quiet {
        for w in out_run.warnings.iter().take(20) {
            eprintln!("warning: {w}");
        }
        if out_run.warnings.len() > 20 {
            eprintln!("warning: … and {} more", out_run.warnings.len() - 20);
        }
    }
    // --- KQL rules ---
    let kql_rules = kql.len();
    let kql_run = kql.finish(now);
    kql_problems.extend(kql_run.problems);
    if !args.quiet {
        for p in &kql_problems {
            eprintln!("warning: {p}");
        }
    }
    // --- end KQL ---

    if stats {
        eprintln!("stats: rules run: {}", memory(started));
    }
    let report = Report {
        engine: &engine,
        detections: &out_run.detections,
        kql: &kql_run.detections,
        kql_rules,
    };
    let facts = RunFacts {
        files: summary.files,
        events_read: summary.events,
        passed_over: summary.passed_over,
        skipped: summary.skipped,
        failed_files: summary.failed_files,
        rule_problems: problems.len() + kql_problems.len(),
        elapsed: started.elapsed(),
        rules_at_max_signals: out_run
            .rules_at_max_signals
            .iter()
            .map(|&r| engine.rules()[r].rule.name.clone())
            .chain(kql_run.rules_at_max_signals)
            .collect(),
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let style = Style {
        color: to_terminal && !no_color,
    };
    let writer: Box<dyn AlertWriter> = match args.format {
        Format::Table => Box::new(TableWriter { style }),
        Format::Jsonl => Box::new(JsonlWriter),
        Format::Json => Box::new(KibanaJsonWriter),
        Format::Csv => Box::new(CsvWriter),
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    writer.write(&mut out, &report)?;
    if args.format == Format::Table && args.output.is_none() {
        write_summary(&mut out, &report, &facts, style)?;
        out.flush()?;
    } else {
        out.flush()?;
        drop(out);
        if !args.quiet {
            let err_color = std::io::stderr().is_terminal() && !no_color;
            let mut err = std::io::stderr().lock();
            write_summary(&mut err, &report, &facts, Style { color: err_color })?;
        }
    }
    if stats {
        eprintln!("stats: written: {}", memory(started));
    }
    Ok(ExitCode::SUCCESS)
}

/// The rules at `paths`, or the built-in pack when none are given.
pub fn load(paths: &[PathBuf]) -> (Vec<Rule>, Vec<RuleProblem>) {
    if paths.is_empty() {
        harrier_engine::builtin::rules()
    } else {
        load_rules(paths)
    }
}

/// Time since `started` and resident and peak memory of this process
/// (Linux), for `HARRIER_STATS`.
fn memory(started: std::time::Instant) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "?".to_string())
    };
    format!(
        "{:.2} s, rss {}, peak {}",
        started.elapsed().as_secs_f64(),
        field("VmRSS:"),
        field("VmHWM:")
    )
}
