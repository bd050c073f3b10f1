//! Differential test against the reference Python implementation (PyPI `eql`).
//!
//! Every EQL query of Elastic's detection-rules corpus runs over random ECS
//! events generated from the literals it mentions (and near-misses of them)
//! by `tests/differential/reference.py`, which also computes what `eql`
//! matches after translating the generic EQL dialect to Elasticsearch's (see
//! `tests/differential/README.md`). Harrier must match the same events, and
//! for sequences return the same sequences.
//!
//! Run by `scripts/test.sh`; by hand:
//! `cargo test --release -p harrier-eql --test differential -- --ignored --nocapture`.
//! Skips, saying so, when `../shared` is absent or `eql` cannot be installed.

use harrier_eql::exec::{self, Limits, OrderFields, Output};
use harrier_eql::expr::{CExpr, FieldAccess};
use harrier_eql::plan::{Plan, PlanKind};
use harrier_eql::schema::{DataType, Schema};
use harrier_eql::{parse, Analyzer, Settings};
use harrier_event::{Event, Locator, Origin};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

const SEED: u64 = 20_240_506;
const EVENTS_PER_QUERY: usize = 120;
const EQL_VERSION: &str = "1.0.1";
/// Queries compared (not excluded) at the default seed and size; every one
/// must agree. Exclusions are listed, with reasons, in the README.
const COMPARED: usize = 1074;

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.is_dir().then_some(p)
}

fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rule_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// A Python that can `import eql` at the pinned version, with the
/// `PYTHONPATH` it needs: the system one, or a private install under the
/// target directory.
fn python_with_eql() -> Result<(String, Option<PathBuf>), String> {
    let check =
        format!("import eql, sys; sys.exit(0 if eql.__version__ == '{EQL_VERSION}' else 1)");
    let ok = |pp: Option<&Path>| {
        let mut c = Command::new("python3");
        c.args(["-c", &check])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = pp {
            c.env("PYTHONPATH", p);
        }
        c.status().is_ok_and(|s| s.success())
    };
    if ok(None) {
        return Ok(("python3".into(), None));
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-eql");
    if ok(Some(&dir)) {
        return Ok(("python3".into(), Some(dir)));
    }
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(&dir)
        .arg(format!("eql=={EQL_VERSION}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() && ok(Some(&dir)) => Ok(("python3".into(), Some(dir))),
        Ok(_) => Err(format!(
            "`pip install eql=={EQL_VERSION}` failed (offline?)"
        )),
        Err(e) => Err(format!("python3 not runnable: {e}")),
    }
}

fn plan_fields(plan: &Plan) -> Vec<&FieldAccess> {
    let mut exprs: Vec<&CExpr> = Vec::new();
    match &plan.kind {
        PlanKind::Event(c) => exprs.push(c),
        PlanKind::Sequence { stages, until, .. } => {
            for s in stages.iter().chain(until.iter()) {
                exprs.push(&s.filter);
                exprs.extend(s.keys.iter().map(|k| &k.expr));
            }
        }
        PlanKind::Sample { stages } => {
            for s in stages {
                exprs.push(&s.filter);
                exprs.extend(s.keys.iter().map(|k| &k.expr));
            }
        }
    }
    let mut out = Vec::new();
    for c in exprs {
        c.fields(&mut out);
    }
    out
}

/// The type an ECS index maps a field to: what Harrier's ECS list says, and
/// `keyword` (ECS's default) for the rest.
fn ecs_type(ty: DataType) -> &'static str {
    match ty {
        DataType::Unknown | DataType::Object => "keyword",
        other => other.name(),
    }
}

struct Case {
    file: String,
    query: String,
    plan: Plan,
    types: BTreeMap<String, &'static str>,
}

fn prepare(file: &str, query: &str) -> Option<Case> {
    let ast = parse(query).ok()?;
    let ecs = Schema::ecs();
    let lenient = Analyzer::new(&ecs, Settings::default()).plan(&ast).ok()?;
    let mut types = BTreeMap::new();
    for f in plan_fields(&lenient) {
        types.insert(f.name.clone(), ecs_type(f.ty));
    }
    types.insert("@timestamp".into(), "date");
    types.insert("event.category".into(), "keyword");
    // the same mapping for both sides, as one Elasticsearch index has it
    let props: Map<String, Value> = types
        .iter()
        .map(|(k, t)| (k.clone(), json!({ "type": t })))
        .collect();
    let mut schema = Schema::default();
    schema
        .add_mapping(&json!({ "properties": props }).to_string())
        .ok()?;
    let plan = Analyzer::new(&schema, Settings::default())
        .plan(&ast)
        .ok()?;
    Some(Case {
        file: file.into(),
        query: query.into(),
        plan,
        types,
    })
}

fn to_events(docs: &[Value]) -> Vec<Event> {
    docs.iter()
        .enumerate()
        .map(|(i, d)| Event {
            source: d.as_object().cloned().unwrap_or_default(),
            index: Arc::from("logs-differential"),
            id: None,
            origin: Origin {
                file: Arc::from("differential"),
                locator: Locator::Element(i as u64),
            },
        })
        .collect()
}

fn harrier_result(case: &Case, events: &[Event]) -> Value {
    let order = OrderFields::by_date("@timestamp");
    let limits = Limits {
        size: None,
        max_samples_per_key: 1,
    };
    match exec::run(&case.plan, &order, events, &limits) {
        Output::Events(mut v) => {
            v.sort_unstable();
            json!(v)
        }
        Output::Sequences(ms) => {
            let mut seqs: Vec<Vec<usize>> = ms
                .iter()
                .map(|m| m.events.iter().flatten().copied().collect())
                .collect();
            seqs.sort();
            json!(seqs)
        }
    }
}

fn sorted_reference(r: &Value) -> Option<Value> {
    if let Some(m) = r.get("matches").and_then(Value::as_array) {
        let mut v: Vec<u64> = m.iter().filter_map(Value::as_u64).collect();
        v.sort_unstable();
        return Some(json!(v));
    }
    let seqs = r.get("sequences")?.as_array()?;
    let mut v: Vec<Vec<u64>> = seqs
        .iter()
        .map(|s| {
            s.as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default()
        })
        .collect();
    v.sort();
    Some(json!(v))
}

#[test]
#[ignore = "run by scripts/test.sh (needs ../shared and Python `eql`): cargo test --release -p harrier-eql --test differential -- --ignored --nocapture"]
fn elastic_rules_agree_with_the_python_reference() {
    let Some(shared) = shared() else {
        println!("differential EQL test: SKIPPED, ../shared not found");
        return;
    };
    let (python, pythonpath) = match python_with_eql() {
        Ok(p) => p,
        Err(why) => {
            println!("differential EQL test: SKIPPED, {why}");
            return;
        }
    };
    let mut files = Vec::new();
    rule_files(&shared.join("corpora/elastic-detection-rules"), &mut files);
    let mut cases = Vec::new();
    let mut unplanned = 0;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let Ok(doc) = text.parse::<toml::Table>() else {
            continue;
        };
        let Some(rule) = doc.get("rule").and_then(|r| r.as_table()) else {
            continue;
        };
        if rule.get("language").and_then(|l| l.as_str()) != Some("eql") {
            continue;
        }
        let Some(query) = rule.get("query").and_then(|q| q.as_str()) else {
            continue;
        };
        let name = f.strip_prefix(&shared).unwrap_or(f).display().to_string();
        match prepare(&name, query) {
            Some(c) => cases.push(c),
            None => unplanned += 1,
        }
    }
    assert_eq!(
        unplanned, 0,
        "corpus queries Harrier cannot plan (see tests/corpus.rs)"
    );

    // other seeds and sizes, for exploring by hand
    let seed = std::env::var("HARRIER_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let per_query = std::env::var("HARRIER_DIFF_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(EVENTS_PER_QUERY);
    let request = json!({
        "seed": seed,
        "events_per_query": per_query,
        "queries": cases.iter().enumerate().map(|(i, c)| json!({
            "id": i, "query": c.query, "types": c.types,
        })).collect::<Vec<_>>(),
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/reference.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(pp) = &pythonpath {
        cmd.env("PYTHONPATH", pp);
    }
    let mut child = cmd.spawn().expect("python3 runs");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(request.to_string().as_bytes())
        .expect("request written");
    let out = child.wait_with_output().expect("reference finishes");
    assert!(out.status.success(), "reference.py failed");
    let reply: Value = serde_json::from_slice(&out.stdout).expect("reference.py prints JSON");
    let results = reply["results"].as_array().expect("results");
    assert_eq!(results.len(), cases.len());

    let (mut compared, mut events_total, mut agreed, mut sequences) = (0, 0, 0, 0);
    // how much the agreement says: queries where the reference matched something
    let (mut nonempty, mut matched) = (0, 0);
    let mut excluded: BTreeMap<String, usize> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for (case, r) in cases.iter().zip(results) {
        if r["status"] != "compared" {
            let reason = r["reason"].as_str().unwrap_or("?").to_string();
            *excluded.entry(reason).or_default() += 1;
            continue;
        }
        let docs = r["events"].as_array().cloned().unwrap_or_default();
        let events = to_events(&docs);
        compared += 1;
        events_total += events.len();
        if r.get("sequences").is_some() {
            sequences += 1;
        }
        let ours = harrier_result(case, &events);
        let theirs = sorted_reference(r).expect("reference result");
        let n = theirs.as_array().map_or(0, Vec::len);
        nonempty += usize::from(n > 0);
        matched += n;
        if ours == theirs {
            agreed += 1;
        } else {
            disagreements.push((case, ours, theirs, docs));
        }
    }
    println!(
        "differential EQL test (eql {}, seed {seed}): {} queries, {compared} compared ({sequences} sequences) over {events_total} events, {agreed} agree, {} disagree",
        reply["eql_version"].as_str().unwrap_or("?"),
        cases.len(),
        disagreements.len()
    );
    println!("  the reference matched something for {nonempty} queries ({matched} events or sequences in all)");
    for (reason, n) in &excluded {
        println!("  excluded {n:4}: {reason}");
    }
    for (case, ours, theirs, docs) in disagreements.iter().take(5) {
        println!(
            "\n--- {}\n{}\nharrier:   {ours}\nreference: {theirs}",
            case.file, case.query
        );
        let (a, b) = (ours.as_array(), theirs.as_array());
        if let (Some(a), Some(b)) = (a, b) {
            for x in a
                .iter()
                .filter(|x| !b.contains(x))
                .chain(b.iter().filter(|x| !a.contains(x)))
                .take(3)
            {
                if let Some(i) = x.as_u64() {
                    if let Some(d) = docs.get(i as usize) {
                        println!("  event {i}: {d}");
                    }
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} queries disagree with the Python reference",
        disagreements.len()
    );
    if seed == SEED && per_query == EVENTS_PER_QUERY {
        assert_eq!(
            compared, COMPARED,
            "queries compared with the Python reference (update COMPARED and the README when exclusions change)"
        );
    }
}
