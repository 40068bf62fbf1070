//! Metering: what each request consumed (read from the upstream's `usage`, see [`usage`]), what
//! it cost ([`prices`]), the calendar month it counts against, the budget reserved before it
//! runs ([`budget`], from an [`estimate`]), and the writer that records settled usage
//! ([`settler`], with the [`leases`] of reservations in flight). The proxy's settle phase
//! ([`crate::proxy::settle`]) puts these together for each request.

pub mod budget;
pub mod estimate;
pub mod leases;
pub mod prices;
pub mod settler;
pub mod usage;

/// The UTC calendar month (`YYYY-MM`) a Unix time falls in; budgets reset when it changes.
pub fn month_of(unix_seconds: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

/// Unix time of the start of the UTC month `unix_seconds` falls in.
pub fn month_start(unix_seconds: i64) -> i64 {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.date()
        .replace_day(1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(unix_seconds)
}

/// Unix time of the start of the next UTC month (when a budget resets).
pub fn next_month_start(unix_seconds: i64) -> i64 {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (year, month) = match t.month() {
        time::Month::December => (t.year() + 1, time::Month::January),
        m => (t.year(), m.next()),
    };
    time::Date::from_calendar_date(year, month, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(unix_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(month_of(0), "1970-01");
        // 2026-11-30T23:59:59Z and one second later.
        assert_eq!(month_of(1_796_083_199), "2026-11");
        assert_eq!(month_of(1_796_083_200), "2026-12");
        assert_eq!(next_month_start(1_796_083_199), 1_796_083_200);
        assert_eq!(month_start(1_796_083_200 + 86_400 * 3), 1_796_083_200);
        // December rolls into January of the next year.
        assert_eq!(month_of(next_month_start(1_796_083_200)), "2027-01");
    }
}
