//! Elasticsearch index patterns as rules write them in `index`.
//!
//! - `*` matches any run of characters (including none); everything else is literal
//!   and case-sensitive, as index names are.
//! - A pattern starting with `-` excludes what it matches from what the others include.
//! - A cross-cluster prefix (`cluster:logs-*`) is ignored: offline, every event is local.
//! - A rule with no include pattern (for instance one using a data view) sees every
//!   index, and so does an event whose index is empty (input that names no data stream).

/// The compiled `index` list of one rule.
#[derive(Clone, Debug, Default)]
pub struct IndexFilter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl IndexFilter {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> IndexFilter {
        let mut f = IndexFilter::default();
        for p in patterns {
            // A single entry may itself be a comma-separated list.
            for part in p.as_ref().split(',') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let (neg, body) = match part.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, part),
                };
                let body = match body.rsplit_once(':') {
                    Some((_, local)) => local,
                    None => body,
                };
                if neg {
                    f.exclude.push(body.to_owned());
                } else {
                    f.include.push(body.to_owned());
                }
            }
        }
        f
    }

    /// Whether an event of data stream / index `index` is searched by the rule.
    pub fn matches(&self, index: &str) -> bool {
        if index.is_empty() {
            return true;
        }
        let included = self.include.is_empty() || self.include.iter().any(|p| glob(p, index));
        included && !self.exclude.iter().any(|p| glob(p, index))
    }
}

/// `*`-only glob matching, iterative with backtracking to the last star.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob(
            "logs-windows.sysmon_operational-*",
            "logs-windows.sysmon_operational-default"
        ));
        assert!(glob("winlogbeat-*", "winlogbeat-8.12.0-2024.01.01"));
        assert!(!glob(
            "winlogbeat-*",
            "logs-windows.sysmon_operational-default"
        ));
        assert!(glob(
            "logs-endpoint.events.*",
            "logs-endpoint.events.process-default"
        ));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("logs-*-*", "logs-a-b"));
    }

    #[test]
    fn filters() {
        let f = IndexFilter::new(&["logs-*", "-logs-endpoint.alerts-*", "remote:winlogbeat-*"]);
        assert!(f.matches("logs-windows.sysmon_operational-default"));
        assert!(!f.matches("logs-endpoint.alerts-default"));
        assert!(f.matches("winlogbeat-2024"));
        assert!(!f.matches("filebeat-2024"));
        assert!(
            f.matches(""),
            "an event without an index matches every rule"
        );
        assert!(IndexFilter::new::<&str>(&[]).matches("anything"));
    }
}
