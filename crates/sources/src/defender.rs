//! Defender advanced-hunting rows: the six device tables Harrier serves to
//! KQL rules, their typed columns, and the mapping of normalised events onto
//! them.
//!
//! [`to_defender`] accepts three kinds of [`Event`]:
//!
//! - rows that already are Defender rows (CSV and JSON exports, the
//!   advanced-hunting API's `Schema`/`Results` JSON, Sentinel exports with
//!   `Type`/`TimeGenerated`, the Event Hub streaming format): they keep their
//!   table and columns; values are coerced to the column's Kusto type;
//! - Sysmon events mapped to ECS (see [`crate::sysmon`]), mapped per event id
//!   following Harrier's Sysmon → Defender table (Microsoft publishes none);
//! - other ECS documents (Elastic Defend and the like), mapped by
//!   `event.category` / `event.type` / `event.action`.
//!
//! Value conventions of the rows: datetimes are ISO-8601 UTC strings with
//! seven fractional digits, `long`/`int` columns are JSON numbers, `bool`
//! columns JSON booleans, `dynamic` columns JSON values, and a column with no
//! value is absent (the consumer fills Kusto's typed nulls).
//!
//! Choices where Defender's own behaviour is not documented:
//!
//! - `DeviceName` and the account domain/name columns are lower-cased, as
//!   Defender reports them.
//! - Sysmon network events: `Initiated=true` is `ConnectionSuccess` with the
//!   source as the local end; `Initiated=false` is `InboundConnectionAccepted`
//!   with the source as the remote end, unless the source's host name is the
//!   device itself (Sysmon is not consistent about which end it calls the
//!   source for inbound connections), in which case the destination is remote.
//! - `RemoteIPType` / `LocalIPType`: see [`ip_address_type`].
//! - `AdditionalFields` is typed `dynamic` (Sentinel); Defender's JSON-text
//!   form is parsed when it holds an object or array.

use harrier_event::{lookup_first, Event, FieldPath};
use serde_json::{json, Map, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The Defender device tables Harrier maps events onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefenderTable {
    DeviceProcessEvents,
    DeviceNetworkEvents,
    DeviceFileEvents,
    DeviceRegistryEvents,
    DeviceImageLoadEvents,
    DeviceEvents,
}

impl DefenderTable {
    /// The table's name as KQL queries spell it.
    pub fn name(self) -> &'static str {
        match self {
            DefenderTable::DeviceProcessEvents => "DeviceProcessEvents",
            DefenderTable::DeviceNetworkEvents => "DeviceNetworkEvents",
            DefenderTable::DeviceFileEvents => "DeviceFileEvents",
            DefenderTable::DeviceRegistryEvents => "DeviceRegistryEvents",
            DefenderTable::DeviceImageLoadEvents => "DeviceImageLoadEvents",
            DefenderTable::DeviceEvents => "DeviceEvents",
        }
    }

    /// Every table, in a fixed order.
    pub fn all() -> [DefenderTable; 6] {
        [
            DefenderTable::DeviceProcessEvents,
            DefenderTable::DeviceNetworkEvents,
            DefenderTable::DeviceFileEvents,
            DefenderTable::DeviceRegistryEvents,
            DefenderTable::DeviceImageLoadEvents,
            DefenderTable::DeviceEvents,
        ]
    }

    /// The table with this exact name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().into_iter().find(|t| t.name() == name)
    }
}

/// Kusto scalar types of Defender columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KustoType {
    String,
    Long,
    Int,
    Real,
    Bool,
    DateTime,
    TimeSpan,
    Dynamic,
    Guid,
}

/// Column names and Kusto types of a table, in Microsoft's documented order,
/// with Sentinel's extra columns (TimeGenerated, TenantId, Type) at the end.
pub fn columns(table: DefenderTable) -> &'static [(&'static str, KustoType)] {
    match table {
        DefenderTable::DeviceProcessEvents => DEVICE_PROCESS_EVENTS,
        DefenderTable::DeviceNetworkEvents => DEVICE_NETWORK_EVENTS,
        DefenderTable::DeviceFileEvents => DEVICE_FILE_EVENTS,
        DefenderTable::DeviceRegistryEvents => DEVICE_REGISTRY_EVENTS,
        DefenderTable::DeviceImageLoadEvents => DEVICE_IMAGE_LOAD_EVENTS,
        DefenderTable::DeviceEvents => DEVICE_EVENTS,
    }
}

/// The Kusto type of one column of a table.
pub fn column_type(table: DefenderTable, column: &str) -> Option<KustoType> {
    columns(table)
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, t)| *t)
}

/// One row of a Defender table.
#[derive(Clone, Debug, PartialEq)]
pub struct DefenderRow {
    pub table: DefenderTable,
    pub row: Map<String, Value>,
}

use KustoType as K;

const DEVICE_PROCESS_EVENTS: &[(&str, KustoType)] = &[
    ("Timestamp", K::DateTime),
    ("DeviceId", K::String),
    ("DeviceName", K::String),
    ("ActionType", K::String),
    ("FileName", K::String),
    ("FolderPath", K::String),
    ("SHA1", K::String),
    ("SHA256", K::String),
    ("MD5", K::String),
    ("FileSize", K::Long),
    ("ProcessVersionInfoCompanyName", K::String),
    ("ProcessVersionInfoProductName", K::String),
    ("ProcessVersionInfoProductVersion", K::String),
    ("ProcessVersionInfoInternalFileName", K::String),
    ("ProcessVersionInfoOriginalFileName", K::String),
    ("ProcessVersionInfoFileDescription", K::String),
    ("ProcessId", K::Long),
    ("ProcessCommandLine", K::String),
    ("ProcessIntegrityLevel", K::String),
    ("ProcessTokenElevation", K::String),
    ("ProcessCreationTime", K::DateTime),
    ("AccountDomain", K::String),
    ("AccountName", K::String),
    ("AccountSid", K::String),
    ("AccountUpn", K::String),
    ("AccountObjectId", K::String),
    ("LogonId", K::Long),
    ("InitiatingProcessAccountDomain", K::String),
    ("InitiatingProcessAccountName", K::String),
    ("InitiatingProcessAccountSid", K::String),
    ("InitiatingProcessAccountUpn", K::String),
    ("InitiatingProcessAccountObjectId", K::String),
    ("InitiatingProcessLogonId", K::Long),
    ("InitiatingProcessIntegrityLevel", K::String),
    ("InitiatingProcessTokenElevation", K::String),
    ("InitiatingProcessSHA1", K::String),
    ("InitiatingProcessSHA256", K::String),
    ("InitiatingProcessMD5", K::String),
    ("InitiatingProcessFileName", K::String),
    ("InitiatingProcessFileSize", K::Long),
    ("InitiatingProcessVersionInfoCompanyName", K::String),
    ("InitiatingProcessVersionInfoProductName", K::String),
    ("InitiatingProcessVersionInfoProductVersion", K::String),
    ("InitiatingProcessVersionInfoInternalFileName", K::String),
    ("InitiatingProcessVersionInfoOriginalFileName", K::String),
    ("InitiatingProcessVersionInfoFileDescription", K::String),
    ("InitiatingProcessId", K::Long),
    ("InitiatingProcessCommandLine", K::String),
    ("InitiatingProcessCreationTime", K::DateTime),
    ("InitiatingProcessFolderPath", K::String),
    ("InitiatingProcessParentId", K::Long),
    ("InitiatingProcessParentFileName", K::String),
    ("InitiatingProcessParentCreationTime", K::DateTime),
    ("InitiatingProcessSignerType", K::String),
    ("InitiatingProcessSignatureStatus", K::String),
    ("ReportId", K::Long),
    ("AppGuardContainerId", K::String),
    ("AdditionalFields", K::Dynamic),
    // RDP session block. Sysmon and ECS events do not say whether a process ran in a
    // remote desktop session, so rows mapped from them leave these columns absent: the
    // strings read as "", the bools and session ids as null (not `false`, which would
    // claim a local session); Defender exports carry them through.
    ("InitiatingProcessSessionId", K::Long),
    ("IsInitiatingProcessRemoteSession", K::Bool),
    ("InitiatingProcessRemoteSessionDeviceName", K::String),
    ("InitiatingProcessRemoteSessionIP", K::String),
    ("CreatedProcessSessionId", K::Long),
    ("IsProcessRemoteSession", K::Bool),
    ("ProcessRemoteSessionDeviceName", K::String),
    ("ProcessRemoteSessionIP", K::String),
    ("TimeGenerated", K::DateTime),
    ("TenantId", K::String),
    ("Type", K::String),
];

const DEVICE_NETWORK_EVENTS: &[(&str, KustoType)] = &[
    ("Timestamp", K::DateTime),
    ("DeviceId", K::String),
    ("DeviceName", K::String),
    ("ActionType", K::String),
    ("RemoteIP", K::String),
    ("RemotePort", K::Int),
    ("RemoteUrl", K::String),
    ("LocalIP", K::String),
    ("LocalPort", K::Int),
    ("Protocol", K::String),
    ("LocalIPType", K::String),
    ("RemoteIPType", K::String),
    ("InitiatingProcessSHA1", K::String),
    ("InitiatingProcessSHA256", K::String),
    ("InitiatingProcessMD5", K::String),
    ("InitiatingProcessFileName", K::String),
    ("InitiatingProcessFileSize", K::Long),
    ("InitiatingProcessVersionInfoCompanyName", K::String),
    ("InitiatingProcessVersionInfoProductName", K::String),
    ("InitiatingProcessVersionInfoProductVersion", K::String),
    ("InitiatingProcessVersionInfoInternalFileName", K::String),
    ("InitiatingProcessVersionInfoOriginalFileName", K::String),
    ("InitiatingProcessVersionInfoFileDescription", K::String),
    ("InitiatingProcessId", K::Long),
    ("InitiatingProcessCommandLine", K::String),
    ("InitiatingProcessCreationTime", K::DateTime),
    ("InitiatingProcessFolderPath", K::String),
    ("InitiatingProcessParentFileName", K::String),
    ("InitiatingProcessParentId", K::Long),
    ("InitiatingProcessParentCreationTime", K::DateTime),
    ("InitiatingProcessAccountDomain", K::String),
    ("InitiatingProcessAccountName", K::String),
    ("InitiatingProcessAccountSid", K::String),
    ("InitiatingProcessAccountUpn", K::String),
    ("InitiatingProcessAccountObjectId", K::String),
    ("InitiatingProcessIntegrityLevel", K::String),
    ("InitiatingProcessTokenElevation", K::String),
    ("ReportId", K::Long),
    ("AppGuardContainerId", K::String),
    ("AdditionalFields", K::Dynamic),
    ("InitiatingProcessSessionId", K::Long),
    ("IsInitiatingProcessRemoteSession", K::Bool),
    ("InitiatingProcessRemoteSessionDeviceName", K::String),
    ("InitiatingProcessRemoteSessionIP", K::String),
    ("TimeGenerated", K::DateTime),
    ("TenantId", K::String),
    ("Type", K::String),
];

const DEVICE_FILE_EVENTS: &[(&str, KustoType)] = &[
    ("Timestamp", K::DateTime),
    ("DeviceId", K::String),
    ("DeviceName", K::String),
    ("ActionType", K::String),
    ("FileName", K::String),
    ("FolderPath", K::String),
    ("SHA1", K::String),
    ("SHA256", K::String),
    ("MD5", K::String),
    ("FileOriginUrl", K::String),
    ("FileOriginReferrerUrl", K::String),
    ("FileOriginIP", K::String),
    ("PreviousFolderPath", K::String),
    ("PreviousFileName", K::String),
    ("FileSize", K::Long),
    ("InitiatingProcessAccountDomain", K::String),
    ("InitiatingProcessAccountName", K::String),
    ("InitiatingProcessAccountSid", K::String),
    ("InitiatingProcessAccountUpn", K::String),
    ("InitiatingProcessAccountObjectId", K::String),
    ("InitiatingProcessMD5", K::String),
    ("InitiatingProcessSHA1", K::String),
    ("InitiatingProcessSHA256", K::String),
    ("InitiatingProcessFolderPath", K::String),
    ("InitiatingProcessFileName", K::String),
    ("InitiatingProcessFileSize", K::Long),
    ("InitiatingProcessVersionInfoCompanyName", K::String),
    ("InitiatingProcessVersionInfoProductName", K::String),
    ("InitiatingProcessVersionInfoProductVersion", K::String),
    ("InitiatingProcessVersionInfoInternalFileName", K::String),
    ("InitiatingProcessVersionInfoOriginalFileName", K::String),
    ("InitiatingProcessVersionInfoFileDescription", K::String),
    ("InitiatingProcessId", K::Long),
    ("InitiatingProcessCommandLine", K::String),
    ("InitiatingProcessCreationTime", K::DateTime),
    ("InitiatingProcessIntegrityLevel", K::String),
    ("InitiatingProcessTokenElevation", K::String),
    ("InitiatingProcessParentId", K::Long),
    ("InitiatingProcessParentFileName", K::String),
    ("InitiatingProcessParentCreationTime", K::DateTime),
    ("RequestProtocol", K::String),
    ("RequestSourceIP", K::String),
    ("RequestSourcePort", K::Int),
    ("RequestAccountName", K::String),
    ("RequestAccountDomain", K::String),
    ("RequestAccountSid", K::String),
    ("ShareName", K::String),
    ("SensitivityLabel", K::String),
    ("SensitivitySubLabel", K::String),
    ("IsAzureInfoProtectionApplied", K::Bool),
    ("ReportId", K::Long),
    ("AppGuardContainerId", K::String),
    ("AdditionalFields", K::Dynamic),
    ("InitiatingProcessSessionId", K::Long),
    ("IsInitiatingProcessRemoteSession", K::Bool),
    ("InitiatingProcessRemoteSessionDeviceName", K::String),
    ("InitiatingProcessRemoteSessionIP", K::String),
    ("TimeGenerated", K::DateTime),
    ("TenantId", K::String),
    ("Type", K::String),
];

const DEVICE_REGISTRY_EVENTS: &[(&str, KustoType)] = &[
    ("Timestamp", K::DateTime),
    ("DeviceId", K::String),
    ("DeviceName", K::String),
    ("ActionType", K::String),
    ("RegistryKey", K::String),
    ("RegistryValueType", K::String),
    ("RegistryValueName", K::String),
    ("RegistryValueData", K::String),
    ("PreviousRegistryKey", K::String),
    ("PreviousRegistryValueName", K::String),
    ("PreviousRegistryValueData", K::String),
    ("InitiatingProcessAccountDomain", K::String),
    ("InitiatingProcessAccountName", K::String),
    ("InitiatingProcessAccountSid", K::String),
    ("InitiatingProcessAccountUpn", K::String),
    ("InitiatingProcessAccountObjectId", K::String),
    ("InitiatingProcessSHA1", K::String),
    ("InitiatingProcessSHA256", K::String),
    ("InitiatingProcessMD5", K::String),
    ("InitiatingProcessFileName", K::String),
    ("InitiatingProcessFileSize", K::Long),
    ("InitiatingProcessVersionInfoCompanyName", K::String),
    ("InitiatingProcessVersionInfoProductName", K::String),
    ("InitiatingProcessVersionInfoProductVersion", K::String),
    ("InitiatingProcessVersionInfoInternalFileName", K::String),
    ("InitiatingProcessVersionInfoOriginalFileName", K::String),
    ("InitiatingProcessVersionInfoFileDescription", K::String),
    ("InitiatingProcessId", K::Long),
    ("InitiatingProcessCommandLine", K::String),
    ("InitiatingProcessCreationTime", K::DateTime),
    ("InitiatingProcessFolderPath", K::String),
    ("InitiatingProcessParentId", K::Long),
    ("InitiatingProcessParentFileName", K::String),
    ("InitiatingProcessParentCreationTime", K::DateTime),
    ("InitiatingProcessIntegrityLevel", K::String),
    ("InitiatingProcessTokenElevation", K::String),
    ("ReportId", K::Long),
    ("AppGuardContainerId", K::String),
    ("InitiatingProcessSessionId", K::Long),
    ("IsInitiatingProcessRemoteSession", K::Bool),
    ("InitiatingProcessRemoteSessionDeviceName", K::String),
    ("InitiatingProcessRemoteSessionIP", K::String),
    ("TimeGenerated", K::DateTime),
    ("TenantId", K::String),
    ("Type", K::String),
];

const DEVICE_IMAGE_LOAD_EVENTS: &[(&str, KustoType)] = &[
    ("Timestamp", K::DateTime),
    ("DeviceId", K::String),
    ("DeviceName", K::String),
    ("ActionType", K::String),
    ("FileName", K::String),
    ("FolderPath", K::String),
    ("SHA1", K::String),
    ("SHA256", K::String),
    ("MD5", K::String),
    ("FileSize", K::Long),
    ("InitiatingProcessAccountDomain", K::String),
    ("InitiatingProcessAccountName", K::String),
    ("InitiatingProcessAccountSid", K::String),
    ("InitiatingProcessAccountUpn", K::String),
    ("InitiatingProcessAccountObjectId", K::String),
    ("InitiatingProcessIntegrityLevel", K::String),
    ("InitiatingProcessTokenElevation", K::String),
    ("InitiatingProcessSHA1", K::String),
    ("InitiatingProcessSHA256", K::String),
    ("InitiatingProcessMD5", K::String),
    ("InitiatingProcessFileName", K::String),
    ("InitiatingProcessFileSize", K::Long),
    ("InitiatingProcessVersionInfoCompanyName", K::String),
    ("InitiatingProcessVersionInfoProductName", K::String),
    ("InitiatingProcessVersionInfoProductVersion", K::String),
    ("InitiatingProcessVersionInfoInternalFileName", K::String),
    ("InitiatingProcessVersionInfoOriginalFileName", K::String),
    ("InitiatingProcessVersionInfoFileDescription", K::String),
    ("InitiatingProcessId", K::Long),
    ("InitiatingProcessCommandLine", K::String),
    ("InitiatingProcessCreationTime", K::DateTime),
    ("InitiatingProcessFolderPath", K::String),
    ("InitiatingProcessParentId", K::Long),
    ("InitiatingProcessParentFileName", K::String),
    ("InitiatingProcessParentCreationTime", K::DateTime),
    ("ReportId", K::Long),
    ("AppGuardContainerId", K::String),
    // RDP session block; absent in rows mapped from Sysmon/ECS, which cannot know it
    // (see DEVICE_PROCESS_EVENTS)
    ("InitiatingProcessSessionId", K::Long),
    ("IsInitiatingProcessRemoteSession", K::Bool),
    ("InitiatingProcessRemoteSessionDeviceName", K::String),
    ("InitiatingProcessRemoteSessionIP", K::String),
    ("TimeGenerated", K::DateTime),
    ("TenantId", K::String),
    ("Type", K::String),
];

const DEVICE_EVENTS: &[(&str, KustoType)] = &[
    ("Timestamp", K::DateTime),
    ("DeviceId", K::String),
    ("DeviceName", K::String),
    ("ActionType", K::String),
    ("FileName", K::String),
    ("FolderPath", K::String),
    ("SHA1", K::String),
    ("SHA256", K::String),
    ("MD5", K::String),
    ("FileSize", K::Long),
    ("AccountDomain", K::String),
    ("AccountName", K::String),
    ("AccountSid", K::String),
    ("RemoteUrl", K::String),
    ("RemoteDeviceName", K::String),
    ("ProcessId", K::Long),
    ("ProcessCommandLine", K::String),
    ("ProcessCreationTime", K::DateTime),
    ("ProcessTokenElevation", K::String),
    ("LogonId", K::Long),
    ("RegistryKey", K::String),
    ("RegistryValueName", K::String),
    ("RegistryValueData", K::String),
    ("RemoteIP", K::String),
    ("RemotePort", K::Int),
    ("LocalIP", K::String),
    ("LocalPort", K::Int),
    ("FileOriginUrl", K::String),
    ("FileOriginIP", K::String),
    ("InitiatingProcessSHA1", K::String),
    ("InitiatingProcessSHA256", K::String),
    ("InitiatingProcessMD5", K::String),
    ("InitiatingProcessFileName", K::String),
    ("InitiatingProcessFileSize", K::Long),
    ("InitiatingProcessFolderPath", K::String),
    ("InitiatingProcessId", K::Long),
    ("InitiatingProcessCommandLine", K::String),
    ("InitiatingProcessCreationTime", K::DateTime),
    ("InitiatingProcessAccountDomain", K::String),
    ("InitiatingProcessAccountName", K::String),
    ("InitiatingProcessAccountSid", K::String),
    ("InitiatingProcessAccountUpn", K::String),
    ("InitiatingProcessAccountObjectId", K::String),
    ("InitiatingProcessVersionInfoCompanyName", K::String),
    ("InitiatingProcessVersionInfoProductName", K::String),
    ("InitiatingProcessVersionInfoProductVersion", K::String),
    ("InitiatingProcessVersionInfoInternalFileName", K::String),
    ("InitiatingProcessVersionInfoOriginalFileName", K::String),
    ("InitiatingProcessVersionInfoFileDescription", K::String),
    ("InitiatingProcessParentId", K::Long),
    ("InitiatingProcessParentFileName", K::String),
    ("InitiatingProcessParentCreationTime", K::DateTime),
    ("InitiatingProcessLogonId", K::Long),
    ("ReportId", K::Long),
    ("AppGuardContainerId", K::String),
    ("AdditionalFields", K::Dynamic),
    ("InitiatingProcessSessionId", K::Long),
    ("IsInitiatingProcessRemoteSession", K::Bool),
    ("InitiatingProcessRemoteSessionDeviceName", K::String),
    ("InitiatingProcessRemoteSessionIP", K::String),
    ("CreatedProcessSessionId", K::Long),
    ("IsProcessRemoteSession", K::Bool),
    ("ProcessRemoteSessionDeviceName", K::String),
    ("ProcessRemoteSessionIP", K::String),
    ("TimeGenerated", K::DateTime),
    ("TenantId", K::String),
    ("Type", K::String),
];

/// Maps one normalised event (ECS from Sysmon/Elastic Defend, or a Defender
/// export row) onto its Defender table. Datetimes as ISO-8601 UTC strings with
/// 7 fractional digits ("2019-06-15T07:13:42.5770000Z"), Long/Int as JSON
/// numbers, Bool as JSON bools, Dynamic as JSON values, missing columns absent
/// (the consumer fills typed nulls / empty strings as Kusto does).
/// `None` for events with no Defender equivalent (Sysmon process termination,
/// logon events, rows of other Defender tables, ...).
pub fn to_defender(event: &Event) -> Option<DefenderRow> {
    if let Some(table) = DefenderTable::from_name(&event.index) {
        return Some(pass_through(table, &event.source));
    }
    if looks_like_defender_row(&event.source) {
        let table = infer_table(&event.source)?;
        return Some(pass_through(table, &event.source));
    }
    from_ecs(&event.source)
}

/// A [`crate::QuickParse`] for NDJSON files of flat Defender rows, for a caller
/// that reads only the named `columns` of the rows [`to_defender`] makes. Each
/// line is parsed keeping those columns and the fields that decide its table
/// (and its shape, as the JSON reader sees it); a line that turns out not to
/// be a flat Defender row (an ECS document, an Elasticsearch hit, a batch of
/// records or results, ...) is parsed whole. For the named columns,
/// `to_defender` gives the same values either way.
pub fn defender_quick_parse<'a>(columns: impl IntoIterator<Item = &'a str>) -> crate::QuickParse {
    let mut fields = harrier_event::projection::FieldTree::new();
    for c in columns
        .into_iter()
        .chain(DECIDING_FIELDS.iter().copied())
        .chain(OTHER_SHAPES.iter().copied())
    {
        fields.insert(c);
    }
    crate::QuickParse::new(fields, is_flat_defender_row)
}

/// The fields [`to_defender`] and the JSON reader look at to choose a row's
/// table, besides its columns.
const DECIDING_FIELDS: &[&str] = &[
    "@timestamp",
    "ActionType",
    "DeviceId",
    "DeviceName",
    "Timestamp",
    "TimeGenerated",
    "Type",
    "RemoteIP",
    "LogonType",
    "data_stream",
];

/// Keys that make the JSON reader treat a document as something other than
/// one event (or derive its event differently).
const OTHER_SHAPES: &[&str] = &[
    "records", "Results", "results", "Schema", "schema", "tables", "_source", "Event", "category",
];

/// A document (possibly with only some of its fields kept) that is one flat
/// Defender row as it stands.
fn is_flat_defender_row(doc: &Map<String, Value>) -> bool {
    !OTHER_SHAPES.iter().any(|k| doc.contains_key(*k)) && looks_like_defender_row(doc)
}

/// A flat document with Defender's columns rather than ECS fields.
fn looks_like_defender_row(doc: &Map<String, Value>) -> bool {
    !doc.contains_key("@timestamp")
        && doc.get("ActionType").is_some_and(Value::is_string)
        && ["DeviceName", "DeviceId", "Timestamp", "TimeGenerated"]
            .iter()
            .any(|k| doc.contains_key(*k))
}

/// The table of a Defender row read without one (portal CSV, API results).
fn infer_table(doc: &Map<String, Value>) -> Option<DefenderTable> {
    if let Some(t) = doc.get("Type").and_then(Value::as_str) {
        if let Some(table) = DefenderTable::from_name(t) {
            return Some(table);
        }
        if t.starts_with("Device") {
            // A Sentinel row of another Defender table (DeviceLogonEvents, DeviceInfo, ...).
            return None;
        }
    }
    let action = doc.get("ActionType").and_then(Value::as_str)?;
    Some(match action {
        "ProcessCreated" => DefenderTable::DeviceProcessEvents,
        "FileCreated" | "FileModified" | "FileDeleted" | "FileRenamed" => {
            DefenderTable::DeviceFileEvents
        }
        "ImageLoaded" => DefenderTable::DeviceImageLoadEvents,
        a if a.starts_with("Registry") => DefenderTable::DeviceRegistryEvents,
        a if a.starts_with("Connection")
            || a.starts_with("Inbound")
            || a.starts_with("Listening")
            || (a.ends_with("Inspected") && doc.contains_key("RemoteIP")) =>
        {
            DefenderTable::DeviceNetworkEvents
        }
        a if a.starts_with("Logon") || doc.contains_key("LogonType") => return None,
        _ => DefenderTable::DeviceEvents,
    })
}

/// A Defender row kept as it is, with values coerced to the column types and
/// `Timestamp`/`TimeGenerated`/`Type` filled from each other.
fn pass_through(table: DefenderTable, doc: &Map<String, Value>) -> DefenderRow {
    let mut row = Map::new();
    for (k, v) in doc {
        let v = match column_type(table, k) {
            Some(t) => coerce(t, v),
            None if v.is_null() => None,
            None => Some(v.clone()),
        };
        if let Some(v) = v {
            row.insert(k.clone(), v);
        }
    }
    if !row.contains_key("TimeGenerated") {
        if let Some(t) = row.get("Timestamp").cloned() {
            row.insert("TimeGenerated".into(), t);
        }
    } else if !row.contains_key("Timestamp") {
        if let Some(t) = row.get("TimeGenerated").cloned() {
            row.insert("Timestamp".into(), t);
        }
    }
    if !row.contains_key("Type") {
        row.insert("Type".into(), Value::String(table.name().into()));
    }
    DefenderRow { table, row }
}

/// `v` as a value of Kusto type `t`; `None` where Kusto would have a null.
fn coerce(t: KustoType, v: &Value) -> Option<Value> {
    match (t, v) {
        (_, Value::Null) => None,
        (K::Long | K::Int, Value::Number(n)) => {
            if n.is_i64() || n.is_u64() {
                Some(v.clone())
            } else {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.fract() == 0.0)
                    .map(|f| Value::from(f as i64))
            }
        }
        (K::Long | K::Int, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (K::Real, Value::Number(_)) => Some(v.clone()),
        (K::Real, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        (K::Bool, Value::Bool(_)) => Some(v.clone()),
        (K::Bool, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        (K::Bool, Value::Number(n)) => n.as_i64().map(|i| Value::Bool(i != 0)),
        (K::DateTime, Value::String(s)) => kusto_datetime(s).map(Value::String),
        (K::DateTime, Value::Number(n)) => n
            .as_i64()
            .and_then(|ms| datetime_from_parts(ms.div_euclid(1000), ms.rem_euclid(1000) * 10_000))
            .map(Value::String),
        (K::Dynamic, Value::String(s)) => {
            let t = s.trim_start();
            if t.starts_with('{') || t.starts_with('[') {
                Some(serde_json::from_str(s).unwrap_or_else(|_| v.clone()))
            } else {
                Some(v.clone())
            }
        }
        (K::String | K::Guid | K::TimeSpan, Value::String(_)) => Some(v.clone()),
        (K::String | K::Guid | K::TimeSpan, Value::Number(_) | Value::Bool(_)) => {
            Some(Value::String(v.to_string()))
        }
        (K::String | K::Guid | K::TimeSpan, Value::Array(_) | Value::Object(_)) => {
            Some(Value::String(v.to_string()))
        }
        (K::Dynamic, _) => Some(v.clone()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Datetimes

/// An ISO-8601 / RFC 3339 datetime (`T` or space, optional fraction, optional
/// `Z` or offset; no zone means UTC) as Kusto prints it: UTC with 7 fractional
/// digits. `None` when `s` is not such a datetime.
pub fn kusto_datetime(s: &str) -> Option<String> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut ticks = 0i64; // 100 ns units
    if let Some(r) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let frac = &r[..digits];
        for (i, c) in frac.bytes().take(7).enumerate() {
            ticks += i64::from(c - b'0') * 10i64.pow(6 - i as u32);
        }
        rest = &r[digits..];
    }
    let offset_secs = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let o = rest[1..].replace(':', "");
            if o.len() != 4 || !o.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = o[..2].parse().ok()?;
            let om: i64 = o[2..].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_secs;
    datetime_from_parts(secs, ticks)
}

/// Seconds since the Unix epoch plus 100 ns ticks, printed as Kusto prints a datetime.
fn datetime_from_parts(secs: i64, ticks: i64) -> Option<String> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ticks:07}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

// ---------------------------------------------------------------------------
// IP address types

/// Defender's `RemoteIPType` / `LocalIPType` of an address.
///
/// Microsoft documents the values "Public, Private, Reserved, Loopback,
/// Teredo, FourToSixMapping, and Broadcast" as examples; `LinkLocal` and
/// `Multicast` are added for the address ranges those names describe. Ranges:
///
/// - Loopback: 127.0.0.0/8, ::1
/// - Private: 10/8, 172.16/12, 192.168/16 (RFC 1918), fc00::/7 (unique local),
///   fec0::/10 (deprecated site-local)
/// - LinkLocal: 169.254/16, fe80::/10
/// - Multicast: 224/4, ff00::/8
/// - Broadcast: 255.255.255.255 (a subnet's broadcast address cannot be told
///   from the address alone)
/// - FourToSixMapping: IPv4-mapped IPv6, ::ffff:0:0/96
/// - Teredo: 2001::/32
/// - Reserved: the other IANA special-purpose blocks: 0/8, 100.64/10 (shared
///   address space), 192.0.0/24, the documentation nets 192.0.2/24,
///   198.51.100/24, 203.0.113/24 and 2001:db8::/32, the benchmarking net
///   198.18/15, 240/4, the unspecified address ::, and 100::/64 (discard)
/// - Public: everything else
pub fn ip_address_type(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(v4) => ipv4_type(v4),
        IpAddr::V6(v6) => ipv6_type(v6),
    }
}

fn ipv4_type(ip: Ipv4Addr) -> &'static str {
    let o = ip.octets();
    let n = u32::from(ip);
    let within = |net: u32, bits: u32| n >> (32 - bits) == net >> (32 - bits);
    if o[0] == 127 {
        "Loopback"
    } else if o[0] == 10 || within(0xAC10_0000, 12) || within(0xC0A8_0000, 16) {
        "Private"
    } else if within(0xA9FE_0000, 16) {
        "LinkLocal"
    } else if n == u32::MAX {
        "Broadcast"
    } else if within(0xE000_0000, 4) {
        "Multicast"
    } else if o[0] == 0
        || within(0x6440_0000, 10)
        || within(0xC000_0000, 24)
        || within(0xC000_0200, 24)
        || within(0xC612_0000, 15)
        || within(0xC633_6400, 24)
        || within(0xCB00_7100, 24)
        || within(0xF000_0000, 4)
    {
        "Reserved"
    } else {
        "Public"
    }
}

fn ipv6_type(ip: Ipv6Addr) -> &'static str {
    let s = ip.segments();
    if ip == Ipv6Addr::LOCALHOST {
        "Loopback"
    } else if ip.is_unspecified() {
        "Reserved"
    } else if s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        "FourToSixMapping"
    } else if s[0] == 0x2001 && s[1] == 0 {
        "Teredo"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "LinkLocal"
    } else if s[0] & 0xff00 == 0xff00 {
        "Multicast"
    } else if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
        "Private"
    } else if (s[0] == 0x2001 && s[1] == 0x0db8) || s[..4] == [0x0100, 0, 0, 0] {
        "Reserved"
    } else {
        "Public"
    }
}

// ---------------------------------------------------------------------------
// ECS to Defender

/// Read access to an ECS document (nested objects and dotted keys alike).
struct Doc<'a>(&'a Map<String, Value>);

impl<'a> Doc<'a> {
    fn get(&self, path: &str) -> Option<&'a Value> {
        lookup_first(self.0, &FieldPath::new(path)).filter(|v| !v.is_null())
    }

    /// A non-empty string (the first of an array).
    fn str(&self, path: &str) -> Option<&'a str> {
        match self.get(path)? {
            Value::String(s) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        }
    }

    /// A string or number as text.
    fn text(&self, path: &str) -> Option<String> {
        match self.get(path)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// An integer, from a number or a decimal (or `0x` hex) string.
    fn long(&self, path: &str) -> Option<i64> {
        match self.get(path)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => parse_long(s),
            _ => None,
        }
    }

    /// All strings at `path` (arrays flattened).
    fn strs(&self, path: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        harrier_event::lookup(self.0, &FieldPath::new(path), &mut out);
        out.into_iter().filter_map(Value::as_str).collect()
    }

    /// Sysmon's raw event data field.
    fn ed(&self, key: &str) -> Option<&'a str> {
        self.0
            .get("winlog")
            .and_then(|w| w.get("event_data"))
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| self.str(&format!("winlog.event_data.{key}")))
    }
}

fn parse_long(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok().map(|u| u as i64)
    } else {
        t.parse().ok()
    }
}

/// The part of a Windows path after the last backslash (or slash).
fn base_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// A row under construction.
struct Row(Map<String, Value>);

impl Row {
    fn put_str(&mut self, col: &str, v: Option<&str>) {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            self.0.insert(col.into(), Value::String(v.into()));
        }
    }
    fn put_string(&mut self, col: &str, v: Option<String>) {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            self.0.insert(col.into(), Value::String(v));
        }
    }
    fn put_long(&mut self, col: &str, v: Option<i64>) {
        if let Some(v) = v {
            self.0.insert(col.into(), Value::from(v));
        }
    }
    fn put(&mut self, col: &str, v: Value) {
        self.0.insert(col.into(), v);
    }
    fn has(&self, col: &str) -> bool {
        self.0.contains_key(col)
    }
}

/// What an ECS event is, in Defender's terms.
enum Kind {
    Process,
    Network { inbound: bool, action: &'static str },
    File(&'static str),
    Registry,
    ImageLoad,
    Misc(&'static str),
}

fn from_ecs(source: &Map<String, Value>) -> Option<DefenderRow> {
    let d = Doc(source);
    let sysmon = d.str("event.module") == Some("sysmon")
        || d.str("winlog.channel")
            .is_some_and(|c| c.eq_ignore_ascii_case(crate::winlog::SYSMON_CHANNEL));
    let kind = if sysmon {
        sysmon_kind(&d)?
    } else {
        ecs_kind(&d)?
    };
    let table = match kind {
        Kind::Process => DefenderTable::DeviceProcessEvents,
        Kind::Network { .. } => DefenderTable::DeviceNetworkEvents,
        Kind::File(_) => DefenderTable::DeviceFileEvents,
        Kind::Registry => DefenderTable::DeviceRegistryEvents,
        Kind::ImageLoad => DefenderTable::DeviceImageLoadEvents,
        Kind::Misc(_) => DefenderTable::DeviceEvents,
    };
    let mut row = Row(Map::new());
    let ts = d.get("@timestamp").and_then(|v| coerce(K::DateTime, v));
    if let Some(t) = &ts {
        row.put("Timestamp", t.clone());
    }
    row.put_str("DeviceId", d.str("host.id"));
    row.put_string(
        "DeviceName",
        d.str("host.name")
            .or_else(|| d.str("host.hostname"))
            .or_else(|| d.str("winlog.computer_name"))
            .map(str::to_lowercase),
    );
    match &kind {
        Kind::Process => {
            row.put_str("ActionType", Some("ProcessCreated"));
            process_created(&d, &mut row, sysmon, ts.as_ref());
        }
        Kind::Network { inbound, action } => {
            row.put_str("ActionType", Some(action));
            network(&d, &mut row, *inbound);
            initiating(&d, &mut row, sysmon);
        }
        Kind::File(action) => {
            row.put_str("ActionType", Some(action));
            file_columns(&d, &mut row, sysmon);
            initiating(&d, &mut row, sysmon);
        }
        Kind::Registry => {
            registry(&d, &mut row, sysmon);
            initiating(&d, &mut row, sysmon);
        }
        Kind::ImageLoad => {
            row.put_str("ActionType", Some("ImageLoaded"));
            file_columns(&d, &mut row, sysmon);
            initiating(&d, &mut row, sysmon);
        }
        Kind::Misc(action) => {
            row.put_str("ActionType", Some(action));
            misc(&d, &mut row, action);
            initiating(&d, &mut row, sysmon);
        }
    }
    row.put_long(
        "ReportId",
        d.long("winlog.record_id")
            .or_else(|| d.long("event.sequence")),
    );
    if let Some(t) = ts {
        row.put("TimeGenerated", t);
    }
    row.put("Type", Value::String(table.name().into()));
    Some(DefenderRow { table, row: row.0 })
}

fn sysmon_kind(d: &Doc) -> Option<Kind> {
    let code = d.long("event.code").or_else(|| d.long("winlog.event_id"))?;
    Some(match code {
        1 => Kind::Process,
        3 => {
            let inbound = is_inbound(d);
            Kind::Network {
                inbound,
                action: if inbound {
                    "InboundConnectionAccepted"
                } else {
                    "ConnectionSuccess"
                },
            }
        }
        6 => Kind::Misc("DriverLoad"),
        7 => Kind::ImageLoad,
        8 => Kind::Misc("CreateRemoteThreadApiCall"),
        10 => Kind::Misc("OpenProcessApiCall"),
        11 => Kind::File("FileCreated"),
        12..=14 => Kind::Registry,
        17 | 18 => Kind::Misc("NamedPipeEvent"),
        22 => Kind::Misc("DnsQueryResponse"),
        23 | 26 => Kind::File("FileDeleted"),
        _ => return None,
    })
}

fn has_value(d: &Doc, path: &str, wanted: &[&str]) -> bool {
    d.strs(path)
        .iter()
        .any(|v| wanted.iter().any(|w| v.eq_ignore_ascii_case(w)))
}

fn is_inbound(d: &Doc) -> bool {
    has_value(d, "network.direction", &["ingress", "inbound", "incoming"])
}

/// Elastic Defend and other ECS sources, by categorisation.
fn ecs_kind(d: &Doc) -> Option<Kind> {
    let action = d.str("event.action").unwrap_or("").to_ascii_lowercase();
    let cat = |c: &str| has_value(d, "event.category", &[c]);
    let typ = |t: &str| has_value(d, "event.type", &[t]);
    if cat("process") && typ("start") {
        return Some(Kind::Process);
    }
    if cat("library") || (cat("process") && action == "load") || d.get("dll.path").is_some() {
        return Some(Kind::ImageLoad);
    }
    if cat("network") {
        if d.str("dns.question.name").is_some() && d.get("destination.ip").is_none() {
            return (action == "lookup_result" || typ("info") || action.is_empty())
                .then_some(Kind::Misc("DnsQueryResponse"));
        }
        if action.contains("disconnect") || typ("end") {
            return None;
        }
        d.get("destination.ip").or_else(|| d.get("source.ip"))?;
        let inbound = is_inbound(d) || action == "connection_accepted";
        return Some(Kind::Network {
            inbound,
            action: if inbound {
                "InboundConnectionAccepted"
            } else {
                "ConnectionSuccess"
            },
        });
    }
    if cat("registry") {
        return Some(Kind::Registry);
    }
    if cat("file") {
        return Some(Kind::File(if typ("deletion") {
            "FileDeleted"
        } else if action == "rename" || d.get("file.Ext.original.path").is_some() {
            "FileRenamed"
        } else if typ("creation") {
            "FileCreated"
        } else {
            "FileModified"
        }));
    }
    None
}

/// Account columns from `user.*`. Sysmon's `user.id` is the Sysmon service's
/// SID, not the process owner's, so it is only used for other sources.
fn account(d: &Doc, row: &mut Row, prefix: &str, sysmon: bool) {
    row.put_string(
        &format!("{prefix}Domain"),
        d.str("user.domain").map(str::to_lowercase),
    );
    let name = d.str("user.name");
    row.put_string(&format!("{prefix}Name"), name.map(str::to_lowercase));
    if !sysmon {
        row.put_str(&format!("{prefix}Sid"), d.str("user.id"));
    }
    let upn = d
        .str("user.email")
        .or_else(|| name.filter(|n| n.contains('@')));
    row.put_str(&format!("{prefix}Upn"), upn);
}

/// `InitiatingProcess*` from the acting process (`process.*`).
fn initiating(d: &Doc, row: &mut Row, sysmon: bool) {
    let exe = d.str("process.executable");
    row.put_str(
        "InitiatingProcessFileName",
        d.str("process.name").or_else(|| exe.map(base_name)),
    );
    row.put_str("InitiatingProcessFolderPath", exe);
    row.put_str(
        "InitiatingProcessCommandLine",
        d.str("process.command_line"),
    );
    row.put_long("InitiatingProcessId", d.long("process.pid"));
    if let Some(t) = d.get("process.start").and_then(|v| coerce(K::DateTime, v)) {
        row.put("InitiatingProcessCreationTime", t);
    }
    row.put_long("InitiatingProcessParentId", d.long("process.parent.pid"));
    row.put_str(
        "InitiatingProcessParentFileName",
        d.str("process.parent.name")
            .or_else(|| d.str("process.parent.executable").map(base_name)),
    );
    if let Some(t) = d
        .get("process.parent.start")
        .and_then(|v| coerce(K::DateTime, v))
    {
        row.put("InitiatingProcessParentCreationTime", t);
    }
    for (col, f) in [
        ("InitiatingProcessSHA1", "process.hash.sha1"),
        ("InitiatingProcessSHA256", "process.hash.sha256"),
        ("InitiatingProcessMD5", "process.hash.md5"),
    ] {
        row.put_str(col, d.str(f));
    }
    version_info(d, row, "process.pe", "InitiatingProcessVersionInfo");
    account(d, row, "InitiatingProcessAccount", sysmon);
}

fn version_info(d: &Doc, row: &mut Row, pe: &str, prefix: &str) {
    for (suffix, f) in [
        ("CompanyName", "company"),
        ("ProductName", "product"),
        ("OriginalFileName", "original_file_name"),
        ("FileDescription", "description"),
    ] {
        row.put_str(&format!("{prefix}{suffix}"), d.str(&format!("{pe}.{f}")));
    }
}

/// DeviceProcessEvents: the created process, and its parent as the initiator.
fn process_created(d: &Doc, row: &mut Row, sysmon: bool, ts: Option<&Value>) {
    let exe = d.str("process.executable");
    row.put_str(
        "FileName",
        d.str("process.name").or_else(|| exe.map(base_name)),
    );
    row.put_str("FolderPath", exe);
    for (col, f) in [
        ("SHA1", "process.hash.sha1"),
        ("SHA256", "process.hash.sha256"),
        ("MD5", "process.hash.md5"),
    ] {
        row.put_str(col, d.str(f));
    }
    version_info(d, row, "process.pe", "ProcessVersionInfo");
    row.put_long("ProcessId", d.long("process.pid"));
    row.put_str("ProcessCommandLine", d.str("process.command_line"));
    row.put_str(
        "ProcessIntegrityLevel",
        d.ed("IntegrityLevel")
            .or_else(|| d.str("process.Ext.token.integrity_level_name")),
    );
    match d.get("process.start").and_then(|v| coerce(K::DateTime, v)) {
        Some(t) => row.put("ProcessCreationTime", t),
        None => {
            if let Some(t) = ts {
                row.put("ProcessCreationTime", t.clone());
            }
        }
    }
    account(d, row, "Account", sysmon);
    row.put_long("LogonId", d.ed("LogonId").and_then(parse_long));
    let pexe = d.str("process.parent.executable");
    row.put_str(
        "InitiatingProcessFileName",
        d.str("process.parent.name").or_else(|| pexe.map(base_name)),
    );
    row.put_str("InitiatingProcessFolderPath", pexe);
    row.put_str(
        "InitiatingProcessCommandLine",
        d.str("process.parent.command_line"),
    );
    row.put_long("InitiatingProcessId", d.long("process.parent.pid"));
    if let Some(t) = d
        .get("process.parent.start")
        .and_then(|v| coerce(K::DateTime, v))
    {
        row.put("InitiatingProcessCreationTime", t);
    }
}

/// One end of a connection.
struct End<'a> {
    ip: Option<&'a str>,
    port: Option<i64>,
    domain: Option<&'a str>,
}

fn end<'a>(d: &Doc<'a>, side: &str) -> End<'a> {
    End {
        ip: d.str(&format!("{side}.ip")),
        port: d.long(&format!("{side}.port")),
        domain: d.str(&format!("{side}.domain")),
    }
}

/// Whether an end is the device itself, by host name or host IP.
fn is_device(d: &Doc, e: &End) -> bool {
    let label = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
    let hosts: Vec<String> = ["host.name", "host.hostname", "winlog.computer_name"]
        .iter()
        .filter_map(|f| d.str(f))
        .map(label)
        .collect();
    let by_name = e
        .domain
        .is_some_and(|dom| hosts.iter().any(|h| !h.is_empty() && *h == label(dom)));
    let by_ip = e.ip.is_some_and(|ip| d.strs("host.ip").contains(&ip));
    by_name || by_ip
}

fn network(d: &Doc, row: &mut Row, inbound: bool) {
    let src = end(d, "source");
    let dst = end(d, "destination");
    // Inbound: the source is the remote end, unless it is evidently the device.
    let source_is_local = is_device(d, &src) && !is_device(d, &dst);
    let (local, remote) = if inbound && !source_is_local {
        (dst, src)
    } else {
        (src, dst)
    };
    let ip = |s: Option<&str>| s.and_then(|s| s.trim().parse::<IpAddr>().ok());
    let (rip, lip) = (ip(remote.ip), ip(local.ip));
    row.put_string(
        "RemoteIP",
        rip.map(|a| a.to_string())
            .or_else(|| remote.ip.map(str::to_string)),
    );
    row.put_long("RemotePort", remote.port);
    let url = remote.domain.or_else(|| {
        if inbound {
            None
        } else {
            d.str("url.full")
                .or_else(|| d.str("url.domain"))
                .or_else(|| d.str("dns.question.name"))
        }
    });
    row.put_str("RemoteUrl", url);
    row.put_string(
        "LocalIP",
        lip.map(|a| a.to_string())
            .or_else(|| local.ip.map(str::to_string)),
    );
    row.put_long("LocalPort", local.port);
    row.put_string("Protocol", d.str("network.transport").map(protocol_name));
    row.put_str("LocalIPType", lip.map(ip_address_type));
    row.put_str("RemoteIPType", rip.map(ip_address_type));
}

/// `tcp` → `Tcp`, as Defender spells protocols.
fn protocol_name(p: &str) -> String {
    let lower = p.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Sysmon's `Hashes` text: `SHA1=..,MD5=..,SHA256=..,IMPHASH=..`.
fn sysmon_hash(d: &Doc, algo: &str) -> Option<String> {
    let h = d.ed("Hashes").or_else(|| d.ed("Hash"))?;
    h.split(',').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        let v = v.trim();
        (k.trim().eq_ignore_ascii_case(algo) && !v.bytes().all(|b| b == b'0'))
            .then(|| v.to_ascii_lowercase())
    })
}

/// FileName, FolderPath (the full path, as Defender has it), hashes and size
/// of the file acted on (`file.*`, or `dll.*` for Elastic Defend loads).
fn file_columns(d: &Doc, row: &mut Row, sysmon: bool) {
    let base = if d.get("file.path").is_none() && d.get("dll.path").is_some() {
        "dll"
    } else {
        "file"
    };
    let path = d.str(&format!("{base}.path"));
    row.put_str(
        "FileName",
        d.str(&format!("{base}.name"))
            .or_else(|| path.map(base_name)),
    );
    row.put_str("FolderPath", path);
    for (col, algo) in [("SHA1", "sha1"), ("SHA256", "sha256"), ("MD5", "md5")] {
        let v = d.text(&format!("{base}.hash.{algo}")).or_else(|| {
            if sysmon {
                sysmon_hash(d, algo)
            } else {
                None
            }
        });
        row.put_string(col, v);
    }
    row.put_long("FileSize", d.long(&format!("{base}.size")));
    if let Some(prev) = d.str("file.Ext.original.path") {
        let name = base_name(prev);
        let folder = prev.len().checked_sub(name.len() + 1).map(|n| &prev[..n]);
        row.put_str("PreviousFileName", Some(name));
        row.put_str("PreviousFolderPath", folder);
    }
}

/// `HKLM\...` (Sysmon) and `\REGISTRY\MACHINE\...` to Defender's `HKEY_LOCAL_MACHINE\...`.
pub fn registry_key(path: &str) -> String {
    let (root, rest) = match path.split_once('\\') {
        Some((r, rest)) => (r, Some(rest)),
        None => (path, None),
    };
    let (root, rest) = if root.is_empty() {
        // \REGISTRY\MACHINE\..., \REGISTRY\USER\...
        let mut parts = rest.unwrap_or("").splitn(3, '\\');
        let (reg, hive, tail) = (parts.next(), parts.next(), parts.next());
        match (reg.map(str::to_ascii_uppercase).as_deref(), hive) {
            (Some("REGISTRY"), Some(h)) => {
                let full = match h.to_ascii_uppercase().as_str() {
                    "MACHINE" => "HKEY_LOCAL_MACHINE",
                    "USER" => "HKEY_USERS",
                    _ => return path.to_string(),
                };
                (full.to_string(), tail)
            }
            _ => return path.to_string(),
        }
    } else {
        let full = match root.to_ascii_uppercase().as_str() {
            "HKLM" => "HKEY_LOCAL_MACHINE",
            "HKU" => "HKEY_USERS",
            "HKCU" => "HKEY_CURRENT_USER",
            "HKCR" => "HKEY_CLASSES_ROOT",
            "HKCC" => "HKEY_CURRENT_CONFIG",
            _ => root,
        };
        (full.to_string(), rest)
    };
    match rest {
        Some(r) if !r.is_empty() => format!("{root}\\{r}"),
        _ => root,
    }
}

/// Key and value name of a value path (the last component is the value).
fn split_value_path(path: &str) -> (String, Option<&str>) {
    match path.rsplit_once('\\') {
        Some((key, value)) => (registry_key(key), Some(value)),
        None => (registry_key(path), None),
    }
}

/// Sysmon's `Details` as Defender's (RegistryValueType, RegistryValueData).
fn registry_value(details: &str) -> (&'static str, Option<String>) {
    let lower = details.to_ascii_lowercase();
    let hex = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok();
    if let Some(inner) = lower
        .strip_prefix("dword (")
        .and_then(|r| r.strip_suffix(')'))
    {
        if let Some(v) = hex(inner) {
            return ("Dword", Some(v.to_string()));
        }
    }
    if let Some(inner) = lower
        .strip_prefix("qword (")
        .and_then(|r| r.strip_suffix(')'))
    {
        if let Some((hi, lo)) = inner.split_once('-') {
            if let (Some(hi), Some(lo)) = (hex(hi), hex(lo)) {
                return ("Qword", Some(((hi << 32) | (lo & 0xffff_ffff)).to_string()));
            }
        }
    }
    if details == "Binary Data" {
        return ("Binary", None);
    }
    ("String", Some(details.to_string()))
}

fn registry(d: &Doc, row: &mut Row, sysmon: bool) {
    if sysmon {
        let target = d.ed("TargetObject").unwrap_or("");
        let code = d.long("event.code").unwrap_or(0);
        let event_type = d.ed("EventType").unwrap_or(match code {
            12 => "CreateKey",
            13 => "SetValue",
            _ => "RenameKey",
        });
        let action = match event_type {
            "CreateKey" => "RegistryKeyCreated",
            "DeleteKey" => "RegistryKeyDeleted",
            "DeleteValue" => "RegistryValueDeleted",
            "RenameKey" => "RegistryKeyRenamed",
            _ => "RegistryValueSet",
        };
        row.put_str("ActionType", Some(action));
        match action {
            "RegistryValueSet" | "RegistryValueDeleted" => {
                let (key, value) = split_value_path(target);
                row.put_string("RegistryKey", Some(key));
                row.put_str("RegistryValueName", value);
                if let Some(details) = d.ed("Details") {
                    let (kind, data) = registry_value(details);
                    row.put_str("RegistryValueType", Some(kind));
                    row.put_string("RegistryValueData", data);
                }
            }
            "RegistryKeyRenamed" => {
                row.put_string("PreviousRegistryKey", Some(registry_key(target)));
                row.put_string("RegistryKey", d.ed("NewName").map(registry_key));
            }
            _ => row.put_string(
                "RegistryKey",
                (!target.is_empty()).then(|| registry_key(target)),
            ),
        }
        return;
    }
    let value = d.str("registry.value");
    let deleted = has_value(d, "event.type", &["deletion"]);
    let action = match (deleted, value.is_some()) {
        (true, true) => "RegistryValueDeleted",
        (true, false) => "RegistryKeyDeleted",
        (false, true) => "RegistryValueSet",
        (false, false) => "RegistryKeyCreated",
    };
    row.put_str("ActionType", Some(action));
    let path = d.str("registry.path");
    let key = match (path, value) {
        (Some(p), Some(v)) => Some(
            p.strip_suffix(v)
                .map(|k| k.trim_end_matches('\\'))
                .unwrap_or(p),
        ),
        (p, _) => p,
    };
    row.put_string(
        "RegistryKey",
        key.or_else(|| d.str("registry.key")).map(registry_key),
    );
    row.put_str("RegistryValueName", value);
    row.put_str(
        "RegistryValueData",
        d.strs("registry.data.strings").first().copied(),
    );
    row.put_str("RegistryValueType", d.str("registry.data.type"));
}

/// DeviceEvents columns for the Sysmon events that land there.
fn misc(d: &Doc, row: &mut Row, action: &str) {
    let mut extra = Map::new();
    match action {
        "CreateRemoteThreadApiCall" | "OpenProcessApiCall" => {
            let target = d.ed("TargetImage");
            row.put_str("FileName", target.map(base_name));
            row.put_str("FolderPath", target);
            row.put_long("ProcessId", d.ed("TargetProcessId").and_then(parse_long));
            if let Some(a) = d.ed("GrantedAccess").and_then(parse_long) {
                extra.insert("DesiredAccess".into(), Value::from(a));
            }
            for k in ["StartAddress", "StartModule", "StartFunction"] {
                if let Some(v) = d.ed(k) {
                    extra.insert(k.into(), Value::String(v.into()));
                }
            }
        }
        "NamedPipeEvent" => {
            if let Some(p) = d.ed("PipeName").or_else(|| d.str("file.name")) {
                extra.insert("PipeName".into(), Value::String(p.into()));
            }
            let created = d.long("event.code") == Some(17);
            extra.insert(
                "FileOperation".into(),
                Value::String(
                    if created {
                        "File created"
                    } else {
                        "File opened"
                    }
                    .into(),
                ),
            );
            extra.insert(
                "NamedPipeEnd".into(),
                Value::String(if created { "Server" } else { "Client" }.into()),
            );
        }
        "DnsQueryResponse" => {
            if let Some(q) = d.str("dns.question.name") {
                extra.insert("DnsQueryString".into(), Value::String(q.into()));
            }
            let answers: Vec<Value> = match d.get("dns.answers") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|a| {
                        json!({
                            "DnsRecordType": a.get("type").cloned().unwrap_or(Value::Null),
                            "Data": a.get("data").cloned().unwrap_or(Value::Null),
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if !answers.is_empty() {
                extra.insert("DnsQueryResult".into(), Value::Array(answers));
            }
        }
        "DriverLoad" => {
            let path = d.str("file.path");
            row.put_str(
                "FileName",
                d.str("file.name").or_else(|| path.map(base_name)),
            );
            row.put_str("FolderPath", path);
            for (col, algo) in [("SHA1", "sha1"), ("SHA256", "sha256"), ("MD5", "md5")] {
                row.put_string(
                    col,
                    d.text(&format!("file.hash.{algo}"))
                        .or_else(|| sysmon_hash(d, algo)),
                );
            }
        }
        _ => {}
    }
    if !extra.is_empty() && !row.has("AdditionalFields") {
        row.put("AdditionalFields", Value::Object(extra));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_event::{Locator, Origin};
    use std::sync::Arc;

    /// A Sysmon record as the `evtx` crate renders it, mapped to ECS.
    fn sysmon(code: u64, data: Value) -> Event {
        let record = json!({"Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": code,
                "EventRecordID": 4128,
                "TimeCreated": {"#attributes": {"SystemTime": "2019-05-22T06:58:39.123456Z"}},
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "IEWIN7",
                "Security": {"#attributes": {"UserID": "S-1-5-18"}}
            },
            "EventData": data
        }});
        let mapped = crate::winlog::map_record(&record, "t.evtx", None).expect("mapped");
        Event {
            source: mapped.doc,
            index: Arc::from(mapped.index),
            id: None,
            origin: Origin {
                file: Arc::from("t.evtx"),
                locator: Locator::Record(4128),
            },
        }
    }

    fn row(e: &Event) -> DefenderRow {
        to_defender(e).expect("a Defender row")
    }

    #[test]
    fn names_and_columns() {
        for t in DefenderTable::all() {
            assert_eq!(DefenderTable::from_name(t.name()), Some(t));
            let cols = columns(t);
            assert_eq!(cols[0], ("Timestamp", KustoType::DateTime));
            assert_eq!(cols[2].0, "DeviceName");
            let n = cols.len();
            assert_eq!(cols[n - 3], ("TimeGenerated", KustoType::DateTime));
            assert_eq!(cols[n - 1], ("Type", KustoType::String));
            let mut names: Vec<_> = cols.iter().map(|c| c.0).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{}", t.name());
        }
        assert_eq!(DefenderTable::from_name("DeviceLogonEvents"), None);
        assert_eq!(
            column_type(DefenderTable::DeviceNetworkEvents, "RemotePort"),
            Some(KustoType::Int)
        );
    }

    #[test]
    fn rdp_session_columns() {
        use DefenderTable as T;
        let block = [
            ("InitiatingProcessSessionId", KustoType::Long),
            ("IsInitiatingProcessRemoteSession", KustoType::Bool),
            (
                "InitiatingProcessRemoteSessionDeviceName",
                KustoType::String,
            ),
            ("InitiatingProcessRemoteSessionIP", KustoType::String),
        ];
        for t in [
            T::DeviceProcessEvents,
            T::DeviceImageLoadEvents,
            T::DeviceNetworkEvents,
            T::DeviceFileEvents,
            T::DeviceRegistryEvents,
            T::DeviceEvents,
        ] {
            for (c, k) in block {
                assert_eq!(column_type(t, c), Some(k), "{}.{c}", t.name());
            }
        }
        for (c, k) in [
            ("CreatedProcessSessionId", KustoType::Long),
            ("IsProcessRemoteSession", KustoType::Bool),
            ("ProcessRemoteSessionDeviceName", KustoType::String),
            ("ProcessRemoteSessionIP", KustoType::String),
        ] {
            assert_eq!(column_type(T::DeviceProcessEvents, c), Some(k), "{c}");
            assert_eq!(column_type(T::DeviceImageLoadEvents, c), None, "{c}");
        }
    }

    #[test]
    fn process_created() {
        let e = sysmon(
            1,
            json!({
                "UtcTime": "2019-05-22 15:32:57.123",
                "ProcessGuid": "{365ABB72-1A29-5CE4-0000-001079F92101}",
                "ProcessId": "3356",
                "Image": "C:\\Windows\\System32\\mshta.exe",
                "CommandLine": "mshta https://hotelesms.com/talsk.txt",
                "User": "IEWIN7\\IEUser",
                "LogonId": "0x4c8fd",
                "IntegrityLevel": "Medium",
                "Hashes": "SHA1=AAAA,MD5=BBBB,SHA256=CCCC",
                "OriginalFileName": "MSHTA.EXE",
                "ParentProcessId": "2860",
                "ParentImage": "C:\\Windows\\System32\\rundll32.exe",
                "ParentCommandLine": "rundll32 javascript:x"
            }),
        );
        let r = row(&e);
        assert_eq!(r.table, DefenderTable::DeviceProcessEvents);
        let want = json!({
            "Timestamp": "2019-05-22T15:32:57.1230000Z",
            "DeviceName": "iewin7",
            "ActionType": "ProcessCreated",
            "FileName": "mshta.exe",
            "FolderPath": "C:\\Windows\\System32\\mshta.exe",
            "SHA1": "aaaa",
            "SHA256": "cccc",
            "MD5": "bbbb",
            "ProcessVersionInfoOriginalFileName": "MSHTA.EXE",
            "ProcessId": 3356,
            "ProcessCommandLine": "mshta https://hotelesms.com/talsk.txt",
            "ProcessIntegrityLevel": "Medium",
            "ProcessCreationTime": "2019-05-22T15:32:57.1230000Z",
            "AccountDomain": "iewin7",
            "AccountName": "ieuser",
            "LogonId": 313597,
            "InitiatingProcessFileName": "rundll32.exe",
            "InitiatingProcessFolderPath": "C:\\Windows\\System32\\rundll32.exe",
            "InitiatingProcessCommandLine": "rundll32 javascript:x",
            "InitiatingProcessId": 2860,
            "ReportId": 4128,
            "TimeGenerated": "2019-05-22T15:32:57.1230000Z",
            "Type": "DeviceProcessEvents"
        });
        assert_eq!(Value::Object(r.row), want);
    }

    #[test]
    fn network_outbound_and_inbound() {
        let out = sysmon(
            3,
            json!({
                "UtcTime": "2019-05-22 06:58:39.503",
                "ProcessId": "3356",
                "Image": "C:\\Windows\\System32\\mshta.exe",
                "User": "IEWIN7\\IEUser",
                "Protocol": "tcp",
                "Initiated": "true",
                "SourceIsIpv6": "false",
                "SourceIp": "10.0.2.15",
                "SourceHostname": "IEWIN7..home",
                "SourcePort": "49703",
                "DestinationIp": "108.179.232.58",
                "DestinationHostname": "gator4243.hostgator.com",
                "DestinationPort": "443"
            }),
        );
        let r = row(&out);
        assert_eq!(r.table, DefenderTable::DeviceNetworkEvents);
        for (k, v) in [
            ("ActionType", json!("ConnectionSuccess")),
            ("RemoteIP", json!("108.179.232.58")),
            ("RemotePort", json!(443)),
            ("RemoteUrl", json!("gator4243.hostgator.com")),
            ("RemoteIPType", json!("Public")),
            ("LocalIP", json!("10.0.2.15")),
            ("LocalPort", json!(49703)),
            ("LocalIPType", json!("Private")),
            ("Protocol", json!("Tcp")),
            ("InitiatingProcessFileName", json!("mshta.exe")),
            ("InitiatingProcessId", json!(3356)),
            ("InitiatingProcessAccountName", json!("ieuser")),
            ("InitiatingProcessAccountDomain", json!("iewin7")),
            ("ReportId", json!(4128)),
        ] {
            assert_eq!(r.row.get(k), Some(&v), "{k}");
        }
        assert!(!r.row.contains_key("InitiatingProcessAccountSid"));

        // Inbound with the remote end as the source (the usual case).
        let inbound = sysmon(
            3,
            json!({
                "Image": "C:\\Windows\\System32\\svchost.exe",
                "Protocol": "udp", "Initiated": "false",
                "SourceIp": "10.0.2.255", "SourcePort": "137",
                "DestinationIp": "10.0.2.15", "DestinationHostname": "iewin7.corp", "DestinationPort": "137"
            }),
        );
        let r = row(&inbound);
        assert_eq!(r.row["ActionType"], json!("InboundConnectionAccepted"));
        assert_eq!(r.row["RemoteIP"], json!("10.0.2.255"));
        assert_eq!(r.row["LocalIP"], json!("10.0.2.15"));
        assert_eq!(r.row["Protocol"], json!("Udp"));
        assert!(!r.row.contains_key("RemoteUrl"));

        // Inbound where Sysmon calls the local end the source (LethalHTA).
        let lethal = sysmon(
            3,
            json!({
                "Image": "C:\\Windows\\System32\\mshta.exe",
                "Protocol": "tcp", "Initiated": "false",
                "SourceIp": "10.0.2.16", "SourceHostname": "IEWIN7", "SourcePort": "49168",
                "DestinationIp": "10.0.2.17", "DestinationPort": "55683"
            }),
        );
        let r = row(&lethal);
        assert_eq!(r.row["RemoteIP"], json!("10.0.2.17"));
        assert_eq!(r.row["RemotePort"], json!(55683));
        assert_eq!(r.row["LocalPort"], json!(49168));
    }

    #[test]
    fn file_events() {
        let e = sysmon(
            11,
            json!({
                "Image": "C:\\Windows\\System32\\mshta.exe", "ProcessId": "3356",
                "TargetFilename": "C:\\Users\\IEUser\\AppData\\Local\\Temp\\x.hta"
            }),
        );
        let r = row(&e);
        assert_eq!(r.table, DefenderTable::DeviceFileEvents);
        assert_eq!(r.row["ActionType"], json!("FileCreated"));
        assert_eq!(r.row["FileName"], json!("x.hta"));
        assert_eq!(
            r.row["FolderPath"],
            json!("C:\\Users\\IEUser\\AppData\\Local\\Temp\\x.hta")
        );
        assert_eq!(r.row["InitiatingProcessFileName"], json!("mshta.exe"));
        let del = sysmon(
            23,
            json!({"Image": "C:\\a.exe", "TargetFilename": "C:\\b.txt", "Hashes": "SHA1=ABC,MD5=0000"}),
        );
        let r = row(&del);
        assert_eq!(r.row["ActionType"], json!("FileDeleted"));
        assert_eq!(r.row["SHA1"], json!("abc"));
        assert!(!r.row.contains_key("MD5"));
    }

    #[test]
    fn registry_events() {
        let set = sysmon(
            13,
            json!({
                "EventType": "SetValue",
                "Image": "C:\\Windows\\regedit.exe",
                "TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\x\\Start",
                "Details": "DWORD (0x00000002)"
            }),
        );
        let r = row(&set);
        assert_eq!(r.table, DefenderTable::DeviceRegistryEvents);
        assert_eq!(r.row["ActionType"], json!("RegistryValueSet"));
        assert_eq!(
            r.row["RegistryKey"],
            json!("HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\x")
        );
        assert_eq!(r.row["RegistryValueName"], json!("Start"));
        assert_eq!(r.row["RegistryValueType"], json!("Dword"));
        assert_eq!(r.row["RegistryValueData"], json!("2"));
        let create = sysmon(
            12,
            json!({"EventType": "CreateKey", "Image": "C:\\a.exe", "TargetObject": "HKU\\S-1-5-21\\Software\\k"}),
        );
        let r = row(&create);
        assert_eq!(r.row["ActionType"], json!("RegistryKeyCreated"));
        assert_eq!(
            r.row["RegistryKey"],
            json!("HKEY_USERS\\S-1-5-21\\Software\\k")
        );
        assert!(!r.row.contains_key("RegistryValueName"));
        let del = sysmon(
            12,
            json!({"EventType": "DeleteValue", "Image": "C:\\a.exe", "TargetObject": "HKLM\\k\\v"}),
        );
        assert_eq!(row(&del).row["ActionType"], json!("RegistryValueDeleted"));
        assert_eq!(
            registry_key("\\REGISTRY\\MACHINE\\SOFTWARE\\x"),
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\x"
        );
    }

    #[test]
    fn image_loads() {
        let e = sysmon(
            7,
            json!({
                "Image": "C:\\Windows\\System32\\mshta.exe", "ProcessId": "3356",
                "ImageLoaded": "C:\\Windows\\System32\\scrobj.dll",
                "Hashes": "SHA1=DEF,SHA256=123", "Company": "Microsoft Corporation"
            }),
        );
        let r = row(&e);
        assert_eq!(r.table, DefenderTable::DeviceImageLoadEvents);
        assert_eq!(r.row["ActionType"], json!("ImageLoaded"));
        assert_eq!(r.row["FileName"], json!("scrobj.dll"));
        assert_eq!(r.row["SHA1"], json!("def"));
        assert_eq!(r.row["SHA256"], json!("123"));
        assert_eq!(r.row["InitiatingProcessFileName"], json!("mshta.exe"));
        // The DLL's version info is not the initiating process's.
        assert!(!r
            .row
            .contains_key("InitiatingProcessVersionInfoCompanyName"));
    }

    #[test]
    fn device_events() {
        let access = sysmon(
            10,
            json!({
                "SourceImage": "C:\\tools\\mimikatz.exe", "SourceProcessId": "10",
                "TargetImage": "C:\\Windows\\system32\\lsass.exe", "TargetProcessId": "600",
                "GrantedAccess": "0x1010"
            }),
        );
        let r = row(&access);
        assert_eq!(r.table, DefenderTable::DeviceEvents);
        assert_eq!(r.row["ActionType"], json!("OpenProcessApiCall"));
        assert_eq!(r.row["FileName"], json!("lsass.exe"));
        assert_eq!(r.row["ProcessId"], json!(600));
        assert_eq!(r.row["InitiatingProcessFileName"], json!("mimikatz.exe"));
        assert_eq!(r.row["AdditionalFields"], json!({"DesiredAccess": 4112}));
        let pipe = sysmon(17, json!({"Image": "C:\\a.exe", "PipeName": "\\evil"}));
        let r = row(&pipe);
        assert_eq!(r.row["ActionType"], json!("NamedPipeEvent"));
        assert_eq!(r.row["AdditionalFields"]["PipeName"], json!("\\evil"));
        // Process termination has no Defender counterpart.
        assert!(to_defender(&sysmon(5, json!({"Image": "C:\\a.exe"}))).is_none());
    }

    #[test]
    fn remote_ip_types() {
        let t = |s: &str| ip_address_type(s.parse().expect("ip"));
        for (ip, want) in [
            ("8.8.8.8", "Public"),
            ("108.179.232.58", "Public"),
            ("10.0.2.17", "Private"),
            ("172.16.0.1", "Private"),
            ("172.31.255.255", "Private"),
            ("172.32.0.1", "Public"),
            ("192.168.1.1", "Private"),
            ("127.0.0.1", "Loopback"),
            ("169.254.180.25", "LinkLocal"),
            ("224.0.0.251", "Multicast"),
            ("239.255.255.250", "Multicast"),
            ("255.255.255.255", "Broadcast"),
            ("0.0.0.0", "Reserved"),
            ("100.64.0.1", "Reserved"),
            ("192.0.2.1", "Reserved"),
            ("198.18.0.1", "Reserved"),
            ("240.0.0.1", "Reserved"),
            ("::1", "Loopback"),
            ("::", "Reserved"),
            ("::ffff:10.0.0.1", "FourToSixMapping"),
            ("2001:0:4136:e378::1", "Teredo"),
            ("fe80::e488:b85c:5262:ff86", "LinkLocal"),
            ("ff02::1:3", "Multicast"),
            ("fd00::1", "Private"),
            ("2001:db8::1", "Reserved"),
            ("2a02:cf40::", "Public"),
        ] {
            assert_eq!(t(ip), want, "{ip}");
        }
    }

    #[test]
    fn datetimes() {
        for (input, want) in [
            (
                "2019-06-15T07:13:42.577Z",
                Some("2019-06-15T07:13:42.5770000Z"),
            ),
            (
                "2019-06-15 07:13:42.577",
                Some("2019-06-15T07:13:42.5770000Z"),
            ),
            ("2019-06-15T07:13:42Z", Some("2019-06-15T07:13:42.0000000Z")),
            (
                "2022-11-07T17:45:56.305792912Z",
                Some("2022-11-07T17:45:56.3057929Z"),
            ),
            (
                "2019-06-15T09:13:42.5+02:00",
                Some("2019-06-15T07:13:42.5000000Z"),
            ),
            (
                "2019-12-31T23:30:00-01:00",
                Some("2020-01-01T00:30:00.0000000Z"),
            ),
            ("2019-02-30T00:00:00Z", None),
            ("not a date", None),
            ("2019-06-15T07:13:42.Z", None),
        ] {
            assert_eq!(kusto_datetime(input).as_deref(), want, "{input}");
        }
        assert_eq!(
            coerce(KustoType::DateTime, &json!(1_560_582_822_577i64)),
            Some(json!("2019-06-15T07:13:42.5770000Z"))
        );
    }

    #[test]
    fn pass_through_coerces_types() {
        let e = Event {
            source: match json!({
                "Timestamp": "2022-11-07T17:07:42.0259186Z", "DeviceName": "m", "ActionType": "ConnectionSuccess",
                "RemotePort": "443", "LocalPort": null, "AdditionalFields": "{\"a\":1}",
                "IsInitiatingProcessRemoteSession": "false", "ReportId": 7, "MachineGroup": "G"
            }) {
                Value::Object(o) => o,
                _ => Map::new(),
            },
            index: Arc::from("DeviceNetworkEvents"),
            id: None,
            origin: Origin {
                file: Arc::from("x"),
                locator: Locator::Line(1),
            },
        };
        let r = row(&e);
        assert_eq!(r.row["RemotePort"], json!(443));
        assert!(!r.row.contains_key("LocalPort"));
        assert_eq!(r.row["AdditionalFields"], json!({"a": 1}));
        assert_eq!(r.row["IsInitiatingProcessRemoteSession"], json!(false));
        assert_eq!(r.row["MachineGroup"], json!("G"));
        assert_eq!(r.row["TimeGenerated"], r.row["Timestamp"]);
        assert_eq!(r.row["Type"], json!("DeviceNetworkEvents"));
    }
}
