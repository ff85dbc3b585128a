//! The two databases behind one small interface: statements are written once, with
//! `$1`-numbered parameters, text and integer values only.

use std::fmt::Write as _;
use std::time::Duration;

use crate::HistoryError;

/// A parameter or a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Text(String),
    Null,
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}

impl Value {
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            Value::Text(_) | Value::Null => 0,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Value::Text(s) => s,
            Value::Int(_) | Value::Null => "",
        }
    }
}

pub enum Db {
    Sqlite {
        name: String,
        conn: rusqlite::Connection,
    },
    Postgres {
        name: String,
        client: Box<postgres::Client>,
    },
}

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS open_findings (
    cluster TEXT NOT NULL, fingerprint TEXT NOT NULL, check_id TEXT NOT NULL,
    severity TEXT NOT NULL, namespace TEXT NOT NULL, object TEXT NOT NULL,
    message TEXT NOT NULL, since BIGINT NOT NULL,
    PRIMARY KEY (cluster, fingerprint));
CREATE TABLE IF NOT EXISTS changes (
    evaluation BIGINT NOT NULL, cluster TEXT NOT NULL, at BIGINT NOT NULL, kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL, check_id TEXT NOT NULL, severity TEXT NOT NULL,
    namespace TEXT NOT NULL, object TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_by_cluster ON changes (cluster, evaluation);
CREATE INDEX IF NOT EXISTS changes_by_check ON changes (check_id, namespace);
";

/// The evaluations table; only its id column differs between the two.
const EVALUATIONS: &str = "CREATE TABLE IF NOT EXISTS evaluations (
    id {ID}, cluster TEXT NOT NULL, at BIGINT NOT NULL, findings BIGINT NOT NULL,
    critical BIGINT NOT NULL, high BIGINT NOT NULL, medium BIGINT NOT NULL,
    low BIGINT NOT NULL, info BIGINT NOT NULL, appeared BIGINT NOT NULL,
    fixed BIGINT NOT NULL);";

/// How long a statement may wait for another writer's lock or a slow server.
const TIMEOUT: Duration = Duration::from_secs(30);

impl Db {
    pub fn open(url: &str) -> Result<Db, HistoryError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Db::open_postgres(url);
        }
        let path = url.strip_prefix("sqlite:").unwrap_or(url);
        let conn =
            rusqlite::Connection::open(path).map_err(|e| HistoryError::Sqlite(path.into(), e))?;
        conn.busy_timeout(TIMEOUT)
            .and_then(|()| conn.pragma_update(None, "journal_mode", "WAL"))
            .map_err(|e| HistoryError::Sqlite(path.into(), e))?;
        Ok(Db::Sqlite {
            name: path.to_owned(),
            conn,
        })
    }

    /// PostgreSQL: TLS (rustls, the server's certificate checked against
    /// `sslrootcert=CA.pem` and its name) whenever `sslmode` asks for it or the server is
    /// not on this machine; plain only to loopback or a Unix socket.
    fn open_postgres(url: &str) -> Result<Db, HistoryError> {
        let name = redact(url);
        let invalid = |why: &str| HistoryError::Invalid(name.clone(), why.to_owned());
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut root_file = None;
        let mut tls_asked = false;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslrootcert" => root_file = Some(percent_decoded(value)),
                // The client knows disable, prefer and require; it always checks the
                // certificate's chain and name, as libpq's verify-full does.
                "sslmode" => {
                    tls_asked = matches!(value, "require" | "verify-ca" | "verify-full");
                    if !tls_asked && value != "disable" && value != "prefer" {
                        return Err(invalid(&format!("sslmode={value} is not known")));
                    }
                }
                _ => kept.push(pair),
            }
        }
        let clean = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: postgres::Config = clean
            .parse()
            .map_err(|e| HistoryError::Postgres(name.clone(), e))?;
        config.connect_timeout(TIMEOUT);
        let local = config.get_hosts().iter().all(|h| match h {
            postgres::config::Host::Tcp(host) => {
                matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1")
            }
            postgres::config::Host::Unix(_) => true,
        });
        let client = if tls_asked || root_file.is_some() || !local {
            // Credentials cross the network only encrypted.
            let Some(file) = root_file else {
                return Err(invalid(
                    "a server on another machine is reached over TLS only: add \
                     sslmode=require&sslrootcert=CA.pem (the CA that signed the server's \
                     certificate)",
                ));
            };
            let tls = tls_connector(&file).map_err(|e| invalid(&e))?;
            config.ssl_mode(postgres::config::SslMode::Require);
            config.connect(tls)
        } else {
            config.connect(postgres::NoTls)
        }
        .map_err(|e| HistoryError::Postgres(name.clone(), e))?;
        Ok(Db::Postgres {
            name,
            client: Box::new(client),
        })
    }

    fn batch(&mut self, sql: &str) -> Result<(), HistoryError> {
        match self {
            Db::Sqlite { name, conn } => conn
                .execute_batch(sql)
                .map_err(|e| HistoryError::Sqlite(name.clone(), e)),
            Db::Postgres { name, client } => client
                .batch_execute(sql)
                .map_err(|e| HistoryError::Postgres(name.clone(), e)),
        }
    }

    pub fn migrate(&mut self) -> Result<(), HistoryError> {
        let id = match self {
            Db::Sqlite { .. } => "INTEGER PRIMARY KEY",
            Db::Postgres { .. } => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        };
        let sql = format!("{}{TABLES}", EVALUATIONS.replace("{ID}", id));
        self.batch(&sql)
    }

    pub fn begin(&mut self) -> Result<(), HistoryError> {
        match self {
            // IMMEDIATE: take the write lock now, so two writers queue rather than fail
            // when the second upgrades its read.
            Db::Sqlite { .. } => self.batch("BEGIN IMMEDIATE"),
            Db::Postgres { .. } => self.batch("BEGIN"),
        }
    }

    pub fn commit(&mut self) -> Result<(), HistoryError> {
        self.batch("COMMIT")
    }

    pub fn rollback(&mut self) -> Result<(), HistoryError> {
        self.batch("ROLLBACK")
    }

    /// Runs `sql` and returns every row.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, HistoryError> {
        match self {
            Db::Sqlite { name, conn } => {
                let err = |e| HistoryError::Sqlite(name.clone(), e);
                let mut stmt = conn.prepare_cached(&sqlite_sql(sql)).map_err(err)?;
                let columns = stmt.column_count();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params.iter().map(sqlite_value)))
                    .map_err(err)?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(err)? {
                    let mut values = Vec::with_capacity(columns);
                    for i in 0..columns {
                        values.push(match row.get_ref(i).map_err(err)? {
                            rusqlite::types::ValueRef::Integer(n) => Value::Int(n),
                            rusqlite::types::ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            _ => Value::Null,
                        });
                    }
                    out.push(values);
                }
                Ok(out)
            }
            Db::Postgres { name, client } => {
                let err = |e| HistoryError::Postgres(name.clone(), e);
                let rows = client.query(sql, &pg_params(params)).map_err(err)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut values = Vec::with_capacity(row.len());
                    for (i, column) in row.columns().iter().enumerate() {
                        values.push(if *column.type_() == postgres::types::Type::TEXT {
                            row.try_get::<_, Option<String>>(i)
                                .map_err(err)?
                                .map_or(Value::Null, Value::Text)
                        } else {
                            // BIGINT columns and COUNT(*); MAX() of BIGINT.
                            row.try_get::<_, Option<i64>>(i)
                                .map_err(err)?
                                .map_or(Value::Null, Value::Int)
                        });
                    }
                    out.push(values);
                }
                Ok(out)
            }
        }
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<(), HistoryError> {
        match self {
            Db::Sqlite { name, conn } => conn
                .prepare_cached(&sqlite_sql(sql))
                .and_then(|mut s| {
                    s.execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))
                })
                .map(drop)
                .map_err(|e| HistoryError::Sqlite(name.clone(), e)),
            Db::Postgres { name, client } => client
                .execute(sql, &pg_params(params))
                .map(drop)
                .map_err(|e| HistoryError::Postgres(name.clone(), e)),
        }
    }

    /// Inserts an evaluation row and returns its id.
    pub fn insert_evaluation(&mut self, values: &[Value]) -> Result<i64, HistoryError> {
        let rows = self.query(
            "INSERT INTO evaluations (cluster, at, findings, critical, high, medium, low, info, \
             appeared, fixed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            values,
        )?;
        Ok(rows.first().and_then(|r| r.first()).map_or(0, Value::int))
    }

    /// `insert` followed by one `($1, …)` group per `width` values.
    pub fn insert_many(
        &mut self,
        insert: &str,
        width: usize,
        values: &[Value],
    ) -> Result<(), HistoryError> {
        if values.is_empty() {
            return Ok(());
        }
        let mut sql = String::from(insert);
        for (row, _) in values.chunks(width).enumerate() {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for col in 0..width {
                let sep = if col == 0 { "" } else { ", " };
                let _ = write!(sql, "{sep}${}", row * width + col + 1);
            }
            sql.push(')');
        }
        self.execute(&sql, values)
    }

    /// Deletes the open findings named by (cluster, fingerprint) pairs.
    pub fn delete_many(&mut self, pairs: &[Value]) -> Result<(), HistoryError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let mut sql = String::from("DELETE FROM open_findings WHERE ");
        for i in 0..pairs.len() / 2 {
            let or = if i == 0 { "" } else { " OR " };
            let _ = write!(
                sql,
                "{or}(cluster = ${} AND fingerprint = ${})",
                2 * i + 1,
                2 * i + 2
            );
        }
        self.execute(&sql, pairs)
    }
}

/// rustls trusting the CA certificates in the PEM file `path`, and nothing else.
fn tls_connector(path: &str) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {path}: no certificate in it"));
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A URL query value with `%XX` escapes decoded (a path may hold spaces).
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| char::from(b).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `$1` parameters as SQLite's numbered `?1`, so binding by position is exact.
fn sqlite_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
        Value::Null => rusqlite::types::Value::Null,
    }
}

fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|v| -> &(dyn postgres::types::ToSql + Sync) {
            match v {
                Value::Int(i) => i,
                Value::Text(s) => s,
                Value::Null => &None::<i64>,
            }
        })
        .collect()
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("postgres://u:s3cret@localhost/db"),
            "postgres://u:***@localhost/db"
        );
        assert_eq!(redact("postgres://localhost/db"), "postgres://localhost/db");
    }

    #[test]
    fn dollar_parameters_become_numbered_question_marks() {
        assert_eq!(
            sqlite_sql("a = $1 AND b = $12 AND c = '$'"),
            "a = ?1 AND b = ?12 AND c = '$'"
        );
    }

    #[test]
    fn a_remote_server_without_encryption_is_refused() {
        let Err(e) = Db::open("postgres://u:pw@db.example.com/palisade") else {
            panic!("a remote plain connection was accepted");
        };
        let text = e.to_string();
        assert!(text.contains("over TLS only"), "{text}");
        assert!(!text.contains("pw@"), "{text}");
        // Asking for TLS without saying whom to trust is refused too.
        let Err(e) = Db::open("postgres://u@localhost/db?sslmode=require") else {
            panic!("TLS without a CA was accepted");
        };
        assert!(e.to_string().contains("sslrootcert"), "{e}");
        let Err(e) = Db::open("postgres://u@localhost/db?sslmode=verify-sideways") else {
            panic!("an unknown sslmode was accepted");
        };
        assert!(e.to_string().contains("not known"), "{e}");
    }

    #[test]
    fn escaped_paths_are_decoded() {
        assert_eq!(percent_decoded("/tmp/my%20ca.pem"), "/tmp/my ca.pem");
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(percent_decoded("%zz"), "%zz");
        assert_eq!(
            percent_decoded("%é1"),
            "%é1",
            "no slicing inside a character"
        );
    }
}
