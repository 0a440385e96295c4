//! Calendar arithmetic for mailbox dates: civil date-times to and from seconds since 1970, the
//! names of days and months, and the system's local UTC offset.
//!
//! Pure arithmetic except [`local_offset_minutes`], which reads the system time zone; nothing
//! here parses or formats a whole header line.

/// Abbreviated month names, January first.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Abbreviated day names, Sunday first.
pub const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// A broken-down date and time (no zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// The year, e.g. 1998.
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
    /// 0–60.
    pub second: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // `mp` is 0..=11 and the day 1..=31 by construction, so the narrowing is exact.
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
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

impl Civil {
    /// Seconds since 1970 of this date-time read as UTC.
    ///
    /// ```
    /// use dmail_store::civil::Civil;
    /// let c = Civil { year: 1998, month: 12, day: 26, hour: 9, minute: 37, second: 48 };
    /// assert_eq!(c.to_unix(), 914_665_068);
    /// ```
    pub fn to_unix(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The UTC date-time of seconds since 1970.
    ///
    /// ```
    /// use dmail_store::civil::Civil;
    /// assert_eq!(Civil::from_unix(914_665_068).hour, 9);
    /// ```
    pub fn from_unix(unix: i64) -> Civil {
        let days = unix.div_euclid(86_400);
        let secs = unix.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let secs = u32::try_from(secs).unwrap_or(0);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }

    /// The day of the week, 0 = Sunday.
    pub fn weekday(self) -> usize {
        let days = days_from_civil(self.year, self.month, self.day);
        // 1970-01-01 was a Thursday (4).
        usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0)
    }
}

/// The system time zone's offset from UTC at `unix`, in minutes east; 0 when the zone cannot be
/// read.
///
/// ```
/// let m = dmail_store::civil::local_offset_minutes(0);
/// assert!((-16 * 60..=16 * 60).contains(&i32::from(m)));
/// ```
pub fn local_offset_minutes(unix: i64) -> i16 {
    let Ok(ts) = jiff::Timestamp::from_second(unix) else {
        return 0;
    };
    let offset = jiff::tz::TimeZone::system().to_offset(ts);
    i16::try_from(offset.seconds() / 60).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Civil;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn unix_round_trips(unix in -5_000_000_000i64..5_000_000_000) {
            prop_assert_eq!(Civil::from_unix(unix).to_unix(), unix);
        }
    }

    #[test]
    fn known_weekdays() {
        // 2000-03-08 was a Wednesday; 1970-01-01 a Thursday.
        assert_eq!(Civil::from_unix(952_473_600).weekday(), 3);
        assert_eq!(Civil::from_unix(0).weekday(), 4);
    }
}
