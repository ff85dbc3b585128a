//! Times as history shows them: UTC, to the second.

/// `2026-12-04 21:30:05Z` for unix seconds `secs`.
#[must_use]
pub fn format_unix(secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => secs.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_seconds() {
        assert_eq!(super::format_unix(0), "1970-01-01 00:00:00Z");
        assert_eq!(super::format_unix(1_796_419_805), "2026-12-04 21:30:05Z");
    }
}
