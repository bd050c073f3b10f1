//! Sysmon (`Microsoft-Windows-Sysmon/Operational`) events to ECS, following
//! Elastic's Sysmon ingest pipeline (Winlogbeat's sysmon module, the same
//! lineage as the Windows integration's `sysmon_operational` data stream).
//!
//! Where the pipeline moves an `event_data` field into ECS, we copy it and keep
//! the raw field in `winlog.event_data` too (rules written against the raw
//! names keep working); the pipeline's empty-value removal is applied.

use crate::cmdline::split_command_line;
use crate::community_id::community_id;
use crate::doc::{Doc, Id, ROOT};
use crate::winlog::{iso_millis, normalize_guid, System};
use serde_json::{json, Map, Value};
use std::net::IpAddr;

/// The task name Windows renders for a Sysmon event id (`winlog.task`, and
/// `event.action` in Elastic's output).
pub(crate) fn task_name(code: u64) -> Option<&'static str> {
    Some(match code {
        1 => "Process Create (rule: ProcessCreate)",
        2 => "File creation time changed (rule: FileCreateTime)",
        3 => "Network connection detected (rule: NetworkConnect)",
        4 => "Sysmon service state changed",
        5 => "Process terminated (rule: ProcessTerminate)",
        6 => "Driver loaded (rule: DriverLoad)",
        7 => "Image loaded (rule: ImageLoad)",
        8 => "CreateRemoteThread detected (rule: CreateRemoteThread)",
        9 => "RawAccessRead detected (rule: RawAccessRead)",
        10 => "Process accessed (rule: ProcessAccess)",
        11 => "File created (rule: FileCreate)",
        12 => "Registry object added or deleted (rule: RegistryEvent)",
        13 => "Registry value set (rule: RegistryEvent)",
        14 => "Registry object renamed (rule: RegistryEvent)",
        15 => "File stream created (rule: FileCreateStreamHash)",
        16 => "Sysmon config state changed",
        17 => "Pipe Created (rule: PipeEvent)",
        18 => "Pipe Connected (rule: PipeEvent)",
        19 => "WmiEventFilter activity detected (rule: WmiEvent)",
        20 => "WmiEventConsumer activity detected (rule: WmiEvent)",
        21 => "WmiEventConsumerToFilter activity detected (rule: WmiEvent)",
        22 => "Dns query (rule: DnsQuery)",
        23 => "File Delete archived (rule: FileDelete)",
        24 => "Clipboard changed (rule: ClipboardChange)",
        25 => "Process Tampering (rule: ProcessTampering)",
        26 => "File Delete logged (rule: FileDeleteDetected)",
        27 => "File Block Executable (rule: FileBlockExecutable)",
        28 => "File Block Shredding (rule: FileBlockShredding)",
        29 => "File Executable Detected (rule: FileExecutableDetected)",
        255 => "Error report",
        _ => return None,
    })
}

/// `event.category` and `event.type` per event id.
fn categorization(code: u64) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match code {
        1 => (&["process"], &["start"]),
        2 => (&["file"], &["change"]),
        3 => (&["network"], &["start", "connection", "protocol"]),
        4 => (&["process"], &["change"]),
        5 => (&["process"], &["end"]),
        6 => (&["driver"], &["start"]),
        7 => (&["process"], &["change"]),
        8 => (&["process"], &["change"]),
        9 => (&["process"], &["access"]),
        10 => (&["process"], &["access"]),
        11 => (&["file"], &["creation"]),
        12..=14 => (&["configuration", "registry"], &["change"]),
        15 => (&["file"], &["access"]),
        16 => (&["configuration"], &["change"]),
        17 => (&["file"], &["creation"]),
        18 => (&["file"], &["access"]),
        19 => (&["process"], &["info"]),
        20 => (&["process"], &["change"]),
        21 => (&["process"], &["access"]),
        22 => (&["network"], &["connection", "protocol", "info"]),
        23 => (&["file"], &["deletion"]),
        24 => (&[], &["change"]),
        25 => (&["process"], &["change"]),
        26 => (&["file"], &["deletion"]),
        27 => (&["file"], &["creation"]),
        28 => (&["file"], &["deletion"]),
        29 => (&["file"], &["creation"]),
        255 => (&["process"], &[]),
        _ => return None,
    })
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::String((*s).into())).collect())
}

/// The `event_data` names the mapping reads: `K::Image` is `"Image"`.
macro_rules! known_fields {
    ($($name:ident),* $(,)?) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy)]
        enum K { $($name),* }
        const KNOWN: usize = [$(K::$name),*].len();
        fn known(name: &str) -> Option<K> {
            match name {
                $(stringify!($name) => Some(K::$name),)*
                _ => None,
            }
        }
    };
}

known_fields!(
    UtcTime,
    ID,
    RuleName,
    Type,
    Hashes,
    Hash,
    ProcessGuid,
    ProcessId,
    Image,
    SourceProcessGuid,
    SourceProcessGUID,
    SourceProcessId,
    SourceThreadId,
    SourceImage,
    Destination,
    CommandLine,
    CurrentDirectory,
    ParentProcessGuid,
    ParentProcessId,
    ParentImage,
    ParentCommandLine,
    OriginalFileName,
    Company,
    Description,
    FileVersion,
    Product,
    TargetFilename,
    Device,
    ImageLoaded,
    PipeName,
    Signature,
    SignatureStatus,
    Signed,
    Protocol,
    DestinationPortName,
    SourcePortName,
    SourceIp,
    DestinationIp,
    SourcePort,
    DestinationPort,
    SourceHostname,
    DestinationHostname,
    QueryName,
    Initiated,
    SourceIsIpv6,
    QueryResults,
    User,
    QueryStatus,
    Archived,
    IsExecutable,
    TargetObject,
    Details,
);

/// `related.*`: lists of distinct values, keys in the order first used.
#[derive(Default)]
struct Related(Vec<(&'static str, Vec<Value>)>);

impl Related {
    fn push_unique(&mut self, key: &'static str, v: &str) {
        let items = match self.0.iter().position(|(k, _)| *k == key) {
            Some(i) => &mut self.0[i].1,
            None => {
                self.0.push((key, Vec::new()));
                let last = self.0.len() - 1;
                &mut self.0[last].1
            }
        };
        if !items.iter().any(|x| x.as_str() == Some(v)) {
            items.push(Value::String(v.to_string()));
        }
    }

    fn into_value(self) -> Option<Value> {
        if self.0.is_empty() {
            return None;
        }
        let mut map = Map::with_capacity(self.0.len());
        for (k, items) in self.0 {
            map.insert(k.to_string(), Value::Array(items));
        }
        Some(Value::Object(map))
    }
}

/// Adds the Sysmon ECS fields to `d` and to its `event` object `ev`, reading
/// `event_data` (already string-valued). Empty values are removed from it first.
pub(crate) fn map(d: &mut Doc, ev: Id, event_data: &mut Vec<(String, Value)>, sys: &System) {
    event_data.retain(|(_, v)| match v {
        Value::String(s) => {
            !(s.is_empty() || s == "-" || s == "{00000000-0000-0000-0000-000000000000}")
        }
        Value::Null => false,
        _ => true,
    });
    // Where each name we read sits (names are distinct).
    let mut at = [usize::MAX; KNOWN];
    for (i, (k, _)) in event_data.iter().enumerate() {
        if let Some(k) = known(k) {
            at[k as usize] = i;
        }
    }
    let data: &[(String, Value)] = event_data;
    let ed = |k: K| -> Option<&str> { data.get(at[k as usize]).and_then(|(_, v)| v.as_str()) };
    let code = sys.event_id.unwrap_or(0);

    if let Some(t) = ed(K::UtcTime) {
        let ts = iso_millis(t);
        if ts != t {
            d.set(ROOT, "@timestamp", Value::String(ts));
        }
    }
    d.set(ev, "module", Value::String("sysmon".into()));
    if let Some((category, types)) = categorization(code) {
        if !category.is_empty() {
            d.set(ev, "category", strings(category));
        }
        if !types.is_empty() {
            d.set(ev, "type", strings(types));
        }
        if matches!(code, 27 | 255) {
            d.set(ev, "outcome", Value::String("failure".into()));
        }
    }
    if let Some(task) = task_name(code) {
        d.set(ev, "action", Value::String(task.into()));
    }
    if code == 255 {
        if let Some(id) = ed(K::ID) {
            d.put("error.code", Value::String(id.into()));
        }
    }
    if let Some(r) = ed(K::RuleName) {
        d.put("rule.name", Value::String(r.into()));
    }
    if code == 25 {
        if let Some(t) = ed(K::Type) {
            d.set(ROOT, "message", Value::String(t.into()));
        }
    }

    let mut related = Related::default();

    // Hashes: "SHA1=..,MD5=..,IMPHASH=..", lower-cased, all-zero ones dropped.
    let mut hashes: Vec<(String, String)> = Vec::new();
    if let Some(h) = ed(K::Hashes).or_else(|| ed(K::Hash)) {
        for part in h.split(',') {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let v = v.trim().to_ascii_lowercase();
            if v.bytes().all(|b| b == b'0') {
                continue;
            }
            related.push_unique("hash", &v);
            hashes.push((k.trim().to_ascii_lowercase(), v));
        }
    }
    let hash_target = match code {
        1 | 23 | 24 | 25 | 26 => Some("process"),
        6 | 7 | 15 | 29 => Some("file"),
        _ => None,
    };
    if let Some(target) = hash_target {
        for (k, v) in hashes {
            let t = d.object(ROOT, target);
            if k == "imphash" {
                d.put_at(t, "pe.imphash", Value::String(v));
            } else {
                let h = d.object(t, "hash");
                d.put_owned(h, &k, Value::String(v));
            }
        }
    }

    // Process fields.
    let guid = |s: &str| Value::String(brace_guid(s));
    let long = |s: &str| s.trim().parse::<i64>().ok().map(Value::from);
    if let Some(g) = ed(K::ProcessGuid) {
        d.put("process.entity_id", guid(g));
    }
    if let Some(p) = ed(K::ProcessId).and_then(long) {
        d.put("process.pid", p);
    }
    if let Some(i) = ed(K::Image) {
        d.put("process.executable", Value::String(i.into()));
    }
    if let Some(g) = ed(K::SourceProcessGuid).or_else(|| ed(K::SourceProcessGUID)) {
        d.put("process.entity_id", guid(g));
    }
    if let Some(p) = ed(K::SourceProcessId).and_then(long) {
        d.put("process.pid", p);
    }
    if let Some(p) = ed(K::SourceThreadId).and_then(long) {
        d.put("process.thread.id", p);
    }
    if let Some(i) = ed(K::SourceImage) {
        d.put("process.executable", Value::String(i.into()));
    }
    if let Some(i) = ed(K::Destination) {
        d.put("process.executable", Value::String(i.into()));
    }
    if let Some(c) = ed(K::CommandLine) {
        d.put("process.command_line", Value::String(c.into()));
    }
    if let Some(c) = ed(K::CurrentDirectory) {
        d.put("process.working_directory", Value::String(c.into()));
    }
    if let Some(g) = ed(K::ParentProcessGuid) {
        d.put("process.parent.entity_id", guid(g));
    }
    if let Some(p) = ed(K::ParentProcessId).and_then(long) {
        d.put("process.parent.pid", p);
    }
    if let Some(i) = ed(K::ParentImage) {
        d.put("process.parent.executable", Value::String(i.into()));
    }
    if let Some(c) = ed(K::ParentCommandLine) {
        d.put("process.parent.command_line", Value::String(c.into()));
    }
    const PE: [K; 5] = [
        K::OriginalFileName,
        K::Company,
        K::Description,
        K::FileVersion,
        K::Product,
    ];
    if code != 7 {
        for (field, target) in PE.into_iter().zip([
            "process.pe.original_file_name",
            "process.pe.company",
            "process.pe.description",
            "process.pe.file_version",
            "process.pe.product",
        ]) {
            if let Some(v) = ed(field) {
                d.put(target, Value::String(v.into()));
            }
        }
    }
    for (cmd, args, count) in [
        (K::CommandLine, "process.args", "process.args_count"),
        (
            K::ParentCommandLine,
            "process.parent.args",
            "process.parent.args_count",
        ),
    ] {
        if let Some(c) = ed(cmd) {
            let a = split_command_line(c);
            let n = a.len();
            d.put(
                args,
                Value::Array(a.into_iter().map(Value::String).collect()),
            );
            d.put(count, Value::from(n));
        }
    }
    for (exe, name) in [
        ("process.executable", "process.name"),
        ("process.parent.executable", "process.parent.name"),
    ] {
        let n = d
            .get_str(exe)
            .and_then(|p| p.rfind('\\').map(|i| p[i + 1..].to_string()));
        if let Some(n) = n.filter(|n| !n.is_empty()) {
            if !d.has(name) {
                d.put(name, Value::String(n));
            }
        }
    }

    // File fields.
    for f in [K::TargetFilename, K::Device, K::ImageLoaded] {
        if let Some(p) = ed(f) {
            d.put("file.path", Value::String(p.into()));
        }
    }
    if let Some(p) = ed(K::PipeName) {
        d.put("file.name", Value::String(p.into()));
    }
    if let Some(s) = ed(K::Signature) {
        d.put("file.code_signature.subject_name", Value::String(s.into()));
    }
    if let Some(s) = ed(K::SignatureStatus) {
        d.put("file.code_signature.status", Value::String(s.into()));
        if s == "Valid" {
            d.put("file.code_signature.valid", Value::Bool(true));
        }
    }
    if ed(K::Signed) == Some("true") {
        d.put("file.code_signature.signed", Value::Bool(true));
    }
    if code == 7 {
        for (field, target) in PE.into_iter().zip([
            "file.pe.original_file_name",
            "file.pe.company",
            "file.pe.description",
            "file.pe.file_version",
            "file.pe.product",
        ]) {
            if let Some(v) = ed(field) {
                d.put(target, Value::String(v.into()));
            }
        }
    }
    if let Some(path) = d.get_str("file.path").map(str::to_string) {
        if path.len() > 1 {
            if let Some(i) = path.rfind('\\') {
                let name = &path[i + 1..];
                d.put("file.name", Value::String(name.into()));
                d.put("file.directory", Value::String(path[..i].into()));
                // ECS: the extension of the file name (not of a dotted directory).
                if let Some(j) = name.rfind('.') {
                    d.put("file.extension", Value::String(name[j + 1..].into()));
                }
            }
        }
    }

    // Network, source and destination.
    if let Some(p) = ed(K::Protocol) {
        d.put("network.transport", Value::String(p.into()));
    }
    if code == 22 {
        d.put("network.protocol", Value::String("dns".into()));
    } else {
        for f in [K::DestinationPortName, K::SourcePortName] {
            if let Some(p) = ed(f) {
                d.put("network.protocol", Value::String(p.into()));
            }
        }
    }
    let ip = |s: &str| s.trim().parse::<IpAddr>().ok();
    let src_ip = ed(K::SourceIp).and_then(ip);
    let dst_ip = ed(K::DestinationIp).and_then(ip);
    let src_port = ed(K::SourcePort).and_then(|s| s.trim().parse::<u16>().ok());
    let dst_port = ed(K::DestinationPort).and_then(|s| s.trim().parse::<u16>().ok());
    if let (Some(_), Some(s)) = (src_ip, ed(K::SourceIp)) {
        d.put("source.ip", Value::String(s.trim().into()));
    }
    if let Some(h) = ed(K::SourceHostname) {
        d.put("source.domain", Value::String(h.into()));
    }
    if let Some(p) = src_port {
        d.put("source.port", Value::from(p));
    }
    if let (Some(_), Some(s)) = (dst_ip, ed(K::DestinationIp)) {
        d.put("destination.ip", Value::String(s.trim().into()));
    }
    if let Some(h) = ed(K::DestinationHostname) {
        d.put("destination.domain", Value::String(h.into()));
    }
    if let Some(p) = dst_port {
        d.put("destination.port", Value::from(p));
    }
    if let Some(q) = ed(K::QueryName) {
        d.put("dns.question.name", Value::String(q.into()));
    }
    match ed(K::Initiated) {
        Some("true") => d.put("network.direction", Value::String("egress".into())),
        Some("false") => d.put("network.direction", Value::String("ingress".into())),
        _ => {}
    }
    match ed(K::SourceIsIpv6) {
        Some("true") => d.put("network.type", Value::String("ipv6".into())),
        Some("false") => d.put("network.type", Value::String("ipv4".into())),
        _ => {}
    }
    if let Some(results) = ed(K::QueryResults) {
        dns_answers(d, &mut related, results);
    }
    if let Some(q) = ed(K::QueryName) {
        related.push_unique("hosts", q);
    }
    if let (Some(s), Some(sp), Some(dip), Some(dp), Some(t)) =
        (src_ip, src_port, dst_ip, dst_port, ed(K::Protocol))
    {
        if let Some(id) = community_id(s, sp, dip, dp, t) {
            d.put("network.community_id", Value::String(id));
        }
    }

    // User fields.
    if let Some(sid) = &sys.user_id {
        d.put("user.id", Value::String(sid.clone()));
    }
    if let Some(u) = ed(K::User) {
        let mut parts = u.split('\\');
        if let (Some(domain), Some(name), None) = (parts.next(), parts.next(), parts.next()) {
            if !domain.is_empty() {
                d.put("user.domain", Value::String(domain.into()));
            }
            if !name.is_empty() {
                d.put("user.name", Value::String(name.into()));
            }
        }
    }

    // Sysmon-specific fields.
    if let Some(s) = ed(K::QueryStatus) {
        let status = dns_status(s).map_or_else(|| s.to_string(), str::to_string);
        d.put("sysmon.dns.status", Value::String(status));
    }
    for (f, target) in [
        (K::Archived, "sysmon.file.archived"),
        (K::IsExecutable, "sysmon.file.is_executable"),
    ] {
        let v = ed(f);
        if v.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            d.put(target, Value::Bool(true));
        } else if v.is_some_and(|v| v.eq_ignore_ascii_case("false")) {
            d.put(target, Value::Bool(false));
        }
    }

    // Related fields.
    if let Some(n) = d.get_str("user.name") {
        related.push_unique("user", n);
    }
    for f in ["source.ip", "destination.ip"] {
        if let Some(ip) = d.get_str(f) {
            related.push_unique("ip", ip);
        }
    }

    // Registry fields.
    if matches!(code, 12..=14) {
        if let Some(path) = ed(K::TargetObject) {
            let registry = registry_fields(path, ed(K::Details));
            d.set(ROOT, "registry", Value::Object(registry));
        }
    }
    // As `Map::remove` (a swap remove) and `Map::insert` did.
    if let Some(i) = event_data
        .iter()
        .position(|(k, _)| k == "TargetProcessGuid")
    {
        let (_, v) = event_data.swap_remove(i);
        match event_data
            .iter_mut()
            .find(|(k, _)| k == "TargetProcessGUID")
        {
            Some(slot) => slot.1 = v,
            None => event_data.push(("TargetProcessGUID".into(), v)),
        }
    }

    if let Some(related) = related.into_value() {
        d.set(ROOT, "related", related);
    }
}

/// A Sysmon GUID as Windows renders it: upper-case, in braces.
fn brace_guid(s: &str) -> String {
    let t = s.trim();
    if t.starts_with('{') {
        normalize_guid(t)
    } else {
        normalize_guid(&format!("{{{t}}}"))
    }
}

fn dns_answers(d: &mut Doc, related: &mut Related, results: &str) {
    let mut answers = Vec::new();
    let mut ips = Vec::new();
    for answer in results.split(';') {
        if answer.is_empty() {
            continue;
        }
        if answer.starts_with("type:") {
            let parts: Vec<&str> = answer.split_whitespace().collect();
            let rtype = parts
                .get(1)
                .and_then(|t| t.parse::<u16>().ok())
                .and_then(dns_type)
                .map(|t| Value::String(t.into()))
                .unwrap_or(Value::Null);
            if parts.len() == 3 {
                answers.push(json!({ "type": rtype, "data": parts[2] }));
                related.push_unique("hosts", parts[2]);
            } else {
                answers.push(json!({ "type": rtype }));
            }
        } else {
            let ip = unmap_v4(answer);
            if ip.parse::<IpAddr>().is_ok() {
                ips.push(ip);
            }
        }
    }
    for ip in &ips {
        let t = if ip.contains(':') { "AAAA" } else { "A" };
        answers.push(json!({ "type": t, "data": ip }));
    }
    if !answers.is_empty() {
        d.put("dns.answers", Value::Array(answers));
    }
    if !ips.is_empty() {
        for ip in &ips {
            related.push_unique("ip", ip);
        }
        d.put(
            "dns.resolved_ip",
            Value::Array(ips.into_iter().map(Value::String).collect()),
        );
    }
}

/// `::ffff:1.2.3.4` (optionally `[::ffff:1.2.3.4]:port`) → `1.2.3.4`.
fn unmap_v4(s: &str) -> String {
    let t = s.strip_prefix('[').unwrap_or(s);
    if let Some(rest) = t.strip_prefix("::ffff:") {
        let v4 = rest.split(']').next().unwrap_or(rest);
        if v4.parse::<std::net::Ipv4Addr>().is_ok() {
            return v4.to_string();
        }
    }
    s.to_string()
}

fn dns_type(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        24 => "SIG",
        25 => "KEY",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        65281 => "WINS",
        65282 => "WINSR",
        _ => return None,
    })
}

fn dns_status(code: &str) -> Option<&'static str> {
    Some(match code.trim() {
        "0" => "SUCCESS",
        "5" => "ERROR_ACCESS_DENIED",
        "8" => "ERROR_NOT_ENOUGH_MEMORY",
        "13" => "ERROR_INVALID_DATA",
        "14" => "ERROR_OUTOFMEMORY",
        "123" => "ERROR_INVALID_NAME",
        "1214" => "ERROR_INVALID_NETNAME",
        "1223" => "ERROR_CANCELLED",
        "1460" => "ERROR_TIMEOUT",
        "4312" => "ERROR_OBJECT_NOT_FOUND",
        "9001" => "DNS_ERROR_RCODE_FORMAT_ERROR",
        "9002" => "DNS_ERROR_RCODE_SERVER_FAILURE",
        "9003" => "DNS_ERROR_RCODE_NAME_ERROR",
        "9004" => "DNS_ERROR_RCODE_NOT_IMPLEMENTED",
        "9005" => "DNS_ERROR_RCODE_REFUSED",
        "9501" => "DNS_INFO_NO_RECORDS",
        "9502" => "DNS_ERROR_BAD_PACKET",
        "9503" => "DNS_ERROR_NO_PACKET",
        "9504" => "DNS_ERROR_RCODE",
        "9505" => "DNS_ERROR_UNSECURE_PACKET",
        "9506" => "DNS_REQUEST_PENDING",
        "9560" => "DNS_ERROR_INVALID_NAME_CHAR",
        "9701" => "DNS_ERROR_RECORD_DOES_NOT_EXIST",
        "9851" => "DNS_ERROR_NO_TCPIP",
        "9852" => "DNS_ERROR_NO_DNS_SERVERS",
        "10054" => "WSAECONNRESET",
        "10055" => "WSAENOBUFS",
        "10060" => "WSAETIMEDOUT",
        _ => return None,
    })
}

fn registry_fields(path: &str, details: Option<&str>) -> Map<String, Value> {
    let mut reg = Map::new();
    reg.insert("path".into(), Value::String(path.into()));
    // Like Java's String.split: trailing empty tokens are dropped.
    let mut tokens: Vec<&str> = path.split('\\').collect();
    while tokens.len() > 1 && tokens.last() == Some(&"") {
        tokens.pop();
    }
    let hive = match tokens.first().copied().unwrap_or("") {
        "HKEY_CLASSES_ROOT" | "HKCR" => Some("HKCR"),
        "HKEY_CURRENT_CONFIG" | "HKCC" => Some("HKCC"),
        "HKEY_CURRENT_USER" | "HKCU" => Some("HKCU"),
        "HKEY_DYN_DATA" | "HKDD" => Some("HKDD"),
        "HKEY_LOCAL_MACHINE" | "HKLM" => Some("HKLM"),
        "HKEY_PERFORMANCE_DATA" | "HKPD" => Some("HKPD"),
        "HKEY_USERS" | "HKU" => Some("HKU"),
        _ => None,
    };
    if let Some(h) = hive {
        reg.insert("hive".into(), Value::String(h.into()));
        if tokens.len() > 1 {
            reg.insert("key".into(), Value::String(tokens[1..].join("\\")));
        }
    }
    if let Some(last) = tokens.last() {
        reg.insert("value".into(), Value::String((*last).into()));
    }
    if let Some(data) = details.filter(|d| !d.is_empty()) {
        let (strings, kind) = registry_data(data);
        reg.insert("data".into(), json!({ "strings": [strings], "type": kind }));
    }
    reg
}

/// Sysmon's `Details` text to (`registry.data.strings[0]`, `registry.data.type`).
fn registry_data(data: &str) -> (String, &'static str) {
    let hex =
        |s: &str| u64::from_str_radix(s.trim_start_matches("0x").trim_start_matches("0X"), 16).ok();
    let lower = data.to_ascii_lowercase();
    if let Some(inner) = lower
        .strip_prefix("qword (")
        .and_then(|r| r.strip_suffix(')'))
    {
        if let Some((hi, lo)) = inner.split_once('-') {
            if let (Some(hi), Some(lo)) = (hex(hi), hex(lo)) {
                // Elastic's pipeline combines the halves as (high << 8) + low.
                return (((hi << 8).wrapping_add(lo)).to_string(), "SZ_QWORD");
            }
        }
    }
    if let Some(inner) = lower
        .strip_prefix("dword (")
        .and_then(|r| r.strip_suffix(')'))
    {
        if let Some(v) = hex(inner) {
            return (v.to_string(), "SZ_DWORD");
        }
    }
    if data == "Binary Data" {
        return (data.to_string(), "REG_BINARY");
    }
    (data.to_string(), "REG_SZ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_paths_and_data() {
        let r = registry_fields(
            r"HKLM\System\CurrentControlSet\Services\x\Start",
            Some("DWORD (0x00000002)"),
        );
        assert_eq!(r["hive"], "HKLM");
        assert_eq!(r["key"], r"System\CurrentControlSet\Services\x\Start");
        assert_eq!(r["value"], "Start");
        assert_eq!(r["data"], json!({"strings": ["2"], "type": "SZ_DWORD"}));
        let r = registry_fields(r"HKU\S-1\Software", Some("C:\\x.exe"));
        assert_eq!(r["data"]["type"], "REG_SZ");
    }

    #[test]
    fn dns_results() {
        let mut d = Doc::with_capacity(8);
        let mut related = Related::default();
        dns_answers(
            &mut d,
            &mut related,
            "type:  5 www-msn-com.a-0003.a-msedge.net;type:  5 a-0003.a-msedge.net;::ffff:204.79.197.203;",
        );
        let doc = d.into_map();
        assert_eq!(
            doc["dns"]["answers"],
            json!([
                {"type": "CNAME", "data": "www-msn-com.a-0003.a-msedge.net"},
                {"type": "CNAME", "data": "a-0003.a-msedge.net"},
                {"type": "A", "data": "204.79.197.203"}
            ])
        );
        assert_eq!(doc["dns"]["resolved_ip"], json!(["204.79.197.203"]));
    }
}
