//! Posture history: each evaluation of a cluster (or of a set of manifests) recorded in
//! a database, so a report can say what appeared, what was fixed and when, per check,
//! namespace and cluster.
//!
//! Only changes are stored, which keeps the database small however often a cluster is
//! scanned: the findings open now (`open_findings`), and per evaluation the findings
//! that appeared and those that were fixed (`changes`), with the evaluation's counts by
//! severity (`evaluations`). A finding is known by its fingerprint (check, file, object,
//! field), so the same problem seen again is not new.
//!
//! SQLite (a file) is the default; a `postgres://` URL writes to PostgreSQL instead, so
//! the scanners of many clusters can share one fleet database. The SQL is the same for
//! both but for the table definitions.

mod db;
mod time_text;

use std::collections::{BTreeMap, HashMap};

use palisade_model::{ScanResult, Severity};

use db::{Db, Value};
pub use time_text::format_unix;

/// What can go wrong with the history database.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history database {0}: {1}")]
    Sqlite(String, #[source] rusqlite::Error),
    #[error("history database {0}: {1}")]
    Postgres(String, #[source] postgres::Error),
    #[error("history database {0}: {1}")]
    Invalid(String, String),
}

/// One finding as history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The finding's fingerprint (32 hex digits).
    pub fingerprint: String,
    pub check: String,
    pub severity: Severity,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    /// `Kind namespace/name`.
    pub object: String,
    pub message: String,
}

impl Row {
    /// The rows of a scan's findings (not the suppressed ones: those were accepted).
    #[must_use]
    pub fn of(result: &ScanResult) -> Vec<Row> {
        result
            .findings
            .iter()
            .map(|f| Row {
                fingerprint: f.fingerprint.to_string(),
                check: f.check.id.to_owned(),
                severity: f.severity,
                namespace: f.object.namespace.clone().unwrap_or_default(),
                object: f.object.to_string(),
                message: f.message.text().into_owned(),
            })
            .collect()
    }
}

/// Whether a finding appeared or was fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Appeared,
    Fixed,
}

impl ChangeKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Appeared => "appeared",
            ChangeKind::Fixed => "fixed",
        }
    }
}

/// One finding that appeared or was fixed at an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub evaluation: i64,
    pub cluster: String,
    /// Unix seconds.
    pub at: i64,
    pub kind: ChangeKind,
    pub row: Row,
}

/// One recorded evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub id: i64,
    pub cluster: String,
    /// Unix seconds.
    pub at: i64,
    /// Open findings after it, in all and by severity (critical first).
    pub findings: i64,
    pub by_severity: [i64; 5],
    pub appeared: i64,
    pub fixed: i64,
}

/// Which changes to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub cluster: Option<String>,
    pub check: Option<String>,
    pub namespace: Option<String>,
    /// Unix seconds: only changes at or after it.
    pub since: Option<i64>,
}

/// Per check and namespace: how many findings appeared and were fixed, how many are
/// open, and when the last change of each kind was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    pub appeared: i64,
    pub fixed: i64,
    pub open: i64,
    pub last_appeared: Option<i64>,
    pub last_fixed: Option<i64>,
}

/// A cluster's latest state, for comparing a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterState {
    pub latest: Evaluation,
    /// Open findings by check.
    pub by_check: BTreeMap<String, i64>,
}

/// A history database.
pub struct History {
    db: Db,
}

/// Rows per multi-row INSERT: few round trips to a remote server, well under SQLite's
/// limit of variables per statement.
const BATCH: usize = 500;

impl History {
    /// Opens (creating when needed) the database at `url`: `postgres://…` or
    /// `postgresql://…` for PostgreSQL, else a SQLite file path (`sqlite:` prefix
    /// optional).
    ///
    /// # Errors
    /// The database cannot be opened or its tables made.
    pub fn open(url: &str) -> Result<History, HistoryError> {
        let mut db = Db::open(url)?;
        db.migrate()?;
        Ok(History { db })
    }

    /// Records an evaluation of `cluster` at `at` (unix seconds) that found `rows`:
    /// compares them with the findings open since the last one, and stores what
    /// appeared and what was fixed.
    ///
    /// # Errors
    /// The database refused a statement; nothing of the evaluation is kept.
    pub fn record(
        &mut self,
        cluster: &str,
        at: i64,
        rows: &[Row],
    ) -> Result<Evaluation, HistoryError> {
        self.db.begin()?;
        match self.record_in_transaction(cluster, at, rows) {
            Ok(e) => {
                self.db.commit()?;
                Ok(e)
            }
            Err(e) => {
                // The transaction's error is the one to report.
                let _ = self.db.rollback();
                Err(e)
            }
        }
    }

    fn record_in_transaction(
        &mut self,
        cluster: &str,
        at: i64,
        rows: &[Row],
    ) -> Result<Evaluation, HistoryError> {
        let open = self.db.query(
            "SELECT fingerprint, check_id, severity, namespace, object, message
             FROM open_findings WHERE cluster = $1",
            &[Value::from(cluster)],
        )?;
        let mut was_open: HashMap<String, Row> = HashMap::with_capacity(open.len());
        for r in open {
            let row = row_of(&r, 0);
            was_open.insert(row.fingerprint.clone(), row);
        }
        // A fingerprint twice in one scan (two messages on one field) is one finding.
        let mut now: HashMap<&str, &Row> = HashMap::with_capacity(rows.len());
        for r in rows {
            now.entry(r.fingerprint.as_str()).or_insert(r);
        }
        let mut appeared: Vec<&Row> = now
            .values()
            .copied()
            .filter(|r| !was_open.contains_key(&r.fingerprint))
            .collect();
        appeared.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        let mut fixed: Vec<&Row> = was_open
            .values()
            .filter(|r| !now.contains_key(r.fingerprint.as_str()))
            .collect();
        fixed.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));

        let mut by_severity = [0i64; 5];
        for r in now.values() {
            by_severity[severity_index(r.severity)] += 1;
        }
        let id = self.db.insert_evaluation(&[
            Value::from(cluster),
            Value::Int(at),
            count(now.len()),
            Value::Int(by_severity[0]),
            Value::Int(by_severity[1]),
            Value::Int(by_severity[2]),
            Value::Int(by_severity[3]),
            Value::Int(by_severity[4]),
            count(appeared.len()),
            count(fixed.len()),
        ])?;

        for chunk in appeared.chunks(BATCH) {
            let mut values = Vec::with_capacity(chunk.len() * 8);
            for r in chunk {
                values.push(Value::from(cluster));
                push_row(&mut values, r);
                values.push(Value::Int(at));
            }
            self.db.insert_many(
                "INSERT INTO open_findings (cluster, fingerprint, check_id, severity, namespace, \
                 object, message, since) VALUES ",
                8,
                &values,
            )?;
        }
        for chunk in fixed.chunks(BATCH) {
            let mut values = Vec::with_capacity(chunk.len() * 2);
            for r in chunk {
                values.push(Value::from(cluster));
                values.push(Value::from(r.fingerprint.as_str()));
            }
            self.db.delete_many(&values)?;
        }
        for (kind, list) in [
            (ChangeKind::Appeared, &appeared),
            (ChangeKind::Fixed, &fixed),
        ] {
            for chunk in list.chunks(BATCH) {
                let mut values = Vec::with_capacity(chunk.len() * 10);
                for r in chunk {
                    values.push(Value::Int(id));
                    values.push(Value::from(cluster));
                    values.push(Value::Int(at));
                    values.push(Value::from(kind.as_str()));
                    push_row(&mut values, r);
                }
                self.db.insert_many(
                    "INSERT INTO changes (evaluation, cluster, at, kind, fingerprint, check_id, \
                     severity, namespace, object, message) VALUES ",
                    10,
                    &values,
                )?;
            }
        }
        Ok(Evaluation {
            id,
            cluster: cluster.to_owned(),
            at,
            findings: by_severity.iter().sum(),
            by_severity,
            appeared: i64::try_from(appeared.len()).unwrap_or(i64::MAX),
            fixed: i64::try_from(fixed.len()).unwrap_or(i64::MAX),
        })
    }

    /// The evaluations of `cluster` (all clusters when `None`), oldest first, at most
    /// the last `limit`.
    ///
    /// # Errors
    /// The query failed.
    pub fn evaluations(
        &mut self,
        cluster: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Evaluation>, HistoryError> {
        let limit = Value::Int(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = match cluster {
            Some(c) => self.db.query(
                &format!("{EVALUATION_COLUMNS} WHERE cluster = $1 ORDER BY id DESC LIMIT $2"),
                &[Value::from(c), limit],
            )?,
            None => self.db.query(
                &format!("{EVALUATION_COLUMNS} ORDER BY id DESC LIMIT $1"),
                &[limit],
            )?,
        };
        let mut list: Vec<Evaluation> = rows.iter().map(|r| evaluation_of(r)).collect();
        list.reverse();
        Ok(list)
    }

    /// The changes `filter` selects, oldest first.
    ///
    /// # Errors
    /// The query failed.
    pub fn changes(&mut self, filter: &Filter) -> Result<Vec<Change>, HistoryError> {
        let (clause, params) = where_clause(filter);
        let rows = self.db.query(
            &format!(
                "SELECT evaluation, cluster, at, kind, fingerprint, check_id, severity, \
                 namespace, object, message FROM changes{clause} ORDER BY evaluation, kind, \
                 check_id, namespace, object, fingerprint"
            ),
            &params,
        )?;
        Ok(rows
            .iter()
            .map(|r| Change {
                evaluation: r[0].int(),
                cluster: r[1].text().to_owned(),
                at: r[2].int(),
                kind: if r[3].text() == "fixed" {
                    ChangeKind::Fixed
                } else {
                    ChangeKind::Appeared
                },
                row: row_of(r, 4),
            })
            .collect())
    }

    /// Per (check, namespace): what appeared and was fixed under `filter`, and what is
    /// open now.
    ///
    /// # Errors
    /// A query failed.
    pub fn drift(
        &mut self,
        filter: &Filter,
    ) -> Result<BTreeMap<(String, String), Drift>, HistoryError> {
        let mut drift: BTreeMap<(String, String), Drift> = BTreeMap::new();
        let (clause, params) = where_clause(filter);
        for r in self.db.query(
            &format!(
                "SELECT check_id, namespace, kind, COUNT(*), MAX(at) FROM changes{clause} \
                 GROUP BY check_id, namespace, kind"
            ),
            &params,
        )? {
            let d = drift
                .entry((r[0].text().to_owned(), r[1].text().to_owned()))
                .or_default();
            if r[2].text() == "fixed" {
                d.fixed = r[3].int();
                d.last_fixed = Some(r[4].int());
            } else {
                d.appeared = r[3].int();
                d.last_appeared = Some(r[4].int());
            }
        }
        let open_filter = Filter {
            since: None,
            ..filter.clone()
        };
        let (clause, params) = where_clause(&open_filter);
        for r in self.db.query(
            &format!(
                "SELECT check_id, namespace, COUNT(*) FROM open_findings{clause} \
                 GROUP BY check_id, namespace"
            ),
            &params,
        )? {
            drift
                .entry((r[0].text().to_owned(), r[1].text().to_owned()))
                .or_default()
                .open = r[2].int();
        }
        Ok(drift)
    }

    /// Every cluster's latest evaluation and its open findings by check.
    ///
    /// # Errors
    /// A query failed.
    pub fn fleet(&mut self) -> Result<Vec<ClusterState>, HistoryError> {
        let latest = self.db.query(
            &format!(
                "{EVALUATION_COLUMNS} WHERE id IN (SELECT MAX(id) FROM evaluations GROUP BY \
                 cluster) ORDER BY cluster"
            ),
            &[],
        )?;
        let mut states: Vec<ClusterState> = latest
            .iter()
            .map(|r| ClusterState {
                latest: evaluation_of(r),
                by_check: BTreeMap::new(),
            })
            .collect();
        for r in self.db.query(
            "SELECT cluster, check_id, COUNT(*) FROM open_findings GROUP BY cluster, check_id",
            &[],
        )? {
            if let Some(s) = states.iter_mut().find(|s| s.latest.cluster == r[0].text()) {
                s.by_check.insert(r[1].text().to_owned(), r[2].int());
            }
        }
        Ok(states)
    }
}

const EVALUATION_COLUMNS: &str = "SELECT id, cluster, at, findings, critical, high, medium, \
                                  low, info, appeared, fixed FROM evaluations";

fn evaluation_of(r: &[Value]) -> Evaluation {
    Evaluation {
        id: r[0].int(),
        cluster: r[1].text().to_owned(),
        at: r[2].int(),
        findings: r[3].int(),
        by_severity: [r[4].int(), r[5].int(), r[6].int(), r[7].int(), r[8].int()],
        appeared: r[9].int(),
        fixed: r[10].int(),
    }
}

/// The `Row` in columns `from..from + 6` (fingerprint, check, severity, namespace,
/// object, message).
fn row_of(r: &[Value], from: usize) -> Row {
    Row {
        fingerprint: r[from].text().to_owned(),
        check: r[from + 1].text().to_owned(),
        severity: Severity::parse(r[from + 2].text()).unwrap_or(Severity::Info),
        namespace: r[from + 3].text().to_owned(),
        object: r[from + 4].text().to_owned(),
        message: r[from + 5].text().to_owned(),
    }
}

fn push_row(values: &mut Vec<Value>, r: &Row) {
    values.push(Value::from(r.fingerprint.as_str()));
    values.push(Value::from(r.check.as_str()));
    values.push(Value::from(r.severity.as_str()));
    values.push(Value::from(r.namespace.as_str()));
    values.push(Value::from(r.object.as_str()));
    values.push(Value::from(r.message.as_str()));
}

fn count(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn severity_index(s: Severity) -> usize {
    // Counts are kept in `Severity::ALL`'s order, critical first.
    Severity::ALL.iter().position(|x| *x == s).unwrap_or(4)
}

/// ` WHERE …` for `filter`'s conditions (numbered `$1`… in order), and their values.
fn where_clause(filter: &Filter) -> (String, Vec<Value>) {
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    let mut add = |column: &str, op: &str, value: Value| {
        params.push(value);
        conditions.push(format!("{column} {op} ${}", params.len()));
    };
    if let Some(c) = &filter.cluster {
        add("cluster", "=", Value::from(c.as_str()));
    }
    if let Some(c) = &filter.check {
        add("check_id", "=", Value::from(c.as_str()));
    }
    if let Some(n) = &filter.namespace {
        add("namespace", "=", Value::from(n.as_str()));
    }
    if let Some(s) = filter.since {
        add("at", ">=", Value::Int(s));
    }
    if conditions.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", conditions.join(" AND ")), params)
    }
}

#[cfg(test)]
mod tests;
