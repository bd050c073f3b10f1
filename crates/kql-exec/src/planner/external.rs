//! `externaldata (schema) [uri, …] [with (format=…, ignoreFirstRecord=…)]` over local
//! files. Harrier never reaches the network: an `http(s)://` (or any other non-`file://`)
//! URI is an error saying so. A URI is a path, or `file://` followed by one. Formats, as
//! Kusto names them: `csv` (the default), `tsv`, `psv`, `scsv` and `sohsv` (fields by
//! position, RFC 4180 quoting), `txt` (each line one record, its text the first column),
//! `raw` (the whole file one record) and `json`/`multijson` (JSON objects, one per line,
//! spread over lines or in an array; fields by column name). `ignoreFirstRecord=true`
//! skips the first record of each file. Values convert to the declared column types;
//! absent or unconvertible values are null (empty for strings).

use super::{err, Planner, Res};
use crate::value::KType;
use crate::ResultTable;
use datafusion::logical_expr::LogicalPlan;
use harrier_kql::ast::{self, Span};
use serde_json::Value as Json;

/// The local path a URI names, or an error for URIs that need the network.
fn local_path(uri: &str) -> Result<String, String> {
    let t = uri.trim();
    if let Some(rest) = t.get(..7).filter(|p| p.eq_ignore_ascii_case("file://")) {
        let _ = rest;
        return Ok(t[7..].to_string());
    }
    if t.contains("://") {
        return Err(
            "`externaldata` from a URL is not supported: Harrier never reaches the network \
             (a local file path or file:// URI is read)"
                .into(),
        );
    }
    Ok(t.to_string())
}

/// The records of one file as rows of JSON cells in column order.
fn read_records(
    text: &str,
    format: &str,
    columns: &[(String, KType)],
) -> Result<Vec<Vec<Json>>, String> {
    let by_position = |fields: Vec<String>| -> Vec<Json> {
        let mut row: Vec<Json> = fields.into_iter().map(Json::String).collect();
        row.resize(columns.len(), Json::Null);
        row
    };
    match format {
        "csv" | "tsv" | "tsve" | "psv" | "scsv" | "sohsv" => {
            let delim = match format {
                "tsv" | "tsve" => b'\t',
                "psv" => b'|',
                "scsv" => b';',
                "sohsv" => 0x01,
                _ => b',',
            };
            let mut rd = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delim)
                .from_reader(text.as_bytes());
            let mut out = Vec::new();
            for rec in rd.records() {
                let rec = rec.map_err(|e| format!("not valid {format}: {e}"))?;
                out.push(by_position(rec.iter().map(str::to_string).collect()));
            }
            Ok(out)
        }
        "txt" => Ok(text
            .lines()
            .map(|l| by_position(vec![l.trim_end_matches('\r').to_string()]))
            .collect()),
        "raw" => Ok(vec![by_position(vec![text.to_string()])]),
        "json" | "multijson" => {
            let mut out = Vec::new();
            let mut push = |v: Json| {
                let row = columns
                    .iter()
                    .map(|(n, _)| v.get(n).cloned().unwrap_or(Json::Null))
                    .collect();
                out.push(row);
            };
            for v in serde_json::Deserializer::from_str(text).into_iter::<Json>() {
                match v.map_err(|e| format!("not valid JSON: {e}"))? {
                    Json::Array(items) => items.into_iter().for_each(&mut push),
                    v => push(v),
                }
            }
            Ok(out)
        }
        other => Err(format!(
            "`externaldata` format `{other}` is not supported (csv, tsv, psv, scsv, sohsv, \
             txt, raw, json, multijson are)"
        )),
    }
}

impl Planner<'_> {
    pub(super) fn externaldata(
        &mut self,
        columns: &[ast::ColumnDecl],
        uris: &[ast::Expr],
        with: &[ast::NamedValue],
        span: Span,
    ) -> Res<LogicalPlan> {
        let mut cols: Vec<(String, KType)> = Vec::new();
        for c in columns {
            let t = KType::from_name(&c.ty.name)
                .ok_or_else(|| err(c.ty.span, format!("unknown type `{}`", c.ty.name)))?;
            cols.push((c.name.name.clone(), t));
        }
        if cols.is_empty() {
            return Err(err(span, "externaldata needs columns"));
        }
        let mut paths = Vec::new();
        for u in uris {
            let text = self.const_value(u)?.to_kstring();
            paths.push((local_path(&text).map_err(|m| err(u.span, m))?, u.span));
        }
        let mut format = "csv".to_string();
        let mut skip_first = false;
        for p in with {
            let v = self.const_value(&p.value)?;
            match p.name.name.to_ascii_lowercase().as_str() {
                "format" => format = v.to_kstring().to_ascii_lowercase(),
                "ignorefirstrecord" => skip_first = v.as_bool().unwrap_or(false),
                _ => {}
            }
        }
        let mut rows = Vec::new();
        for (path, uspan) in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| err(uspan, format!("externaldata: cannot read `{path}`: {e}")))?;
            let records = read_records(&text, &format, &cols)
                .map_err(|m| err(uspan, format!("externaldata: `{path}`: {m}")))?;
            rows.extend(records.into_iter().skip(usize::from(skip_first)));
        }
        // cells convert to the declared types as input rows do
        let rows = rows
            .into_iter()
            .map(|r| {
                r.iter()
                    .zip(&cols)
                    .map(|(j, (_, t))| match (t, j) {
                        (KType::Dynamic, Json::String(s)) => {
                            serde_json::from_str(s).unwrap_or_else(|_| j.clone())
                        }
                        (t, j) => crate::output_json(*t, crate::input_value(*t, j)),
                    })
                    .collect()
            })
            .collect();
        self.table_plan(
            "externaldata",
            ResultTable {
                name: String::new(),
                columns: cols,
                rows,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(
            local_path("file:///tmp/x.csv"),
            Ok("/tmp/x.csv".to_string())
        );
        assert_eq!(
            local_path("FILE:///tmp/x.csv"),
            Ok("/tmp/x.csv".to_string())
        );
        assert_eq!(local_path("data/x.csv"), Ok("data/x.csv".to_string()));
        assert!(local_path("https://example.com/x.csv").is_err_and(|m| m.contains("network")));
        assert!(local_path("http://example.com/x.csv").is_err());
    }

    #[test]
    fn formats() {
        let cols = vec![
            ("a".to_string(), KType::String),
            ("b".to_string(), KType::Long),
        ];
        let csv = read_records("x,1\n\"y,z\",2\nw\n", "csv", &cols).unwrap_or_default();
        assert_eq!(csv.len(), 3);
        assert_eq!(csv[1], vec![Json::from("y,z"), Json::from("2")]);
        assert_eq!(csv[2], vec![Json::from("w"), Json::Null]);
        let json = read_records("{\"b\": 3, \"a\": \"p\"}\n{\"a\": \"q\"}", "json", &cols)
            .unwrap_or_default();
        assert_eq!(json[0], vec![Json::from("p"), Json::from(3)]);
        assert_eq!(json[1], vec![Json::from("q"), Json::Null]);
        let txt = read_records("l1\r\nl2\n", "txt", &cols).unwrap_or_default();
        assert_eq!(
            txt,
            vec![
                vec![Json::from("l1"), Json::Null],
                vec![Json::from("l2"), Json::Null]
            ]
        );
        assert!(read_records("", "parquet", &cols).is_err());
    }
}
