//! Calendar dates as ISO 8601 strings (`2026-11-29`) in JSON. `time`'s default serde form is a
//! `[year, ordinal]` tuple, which no API client expects.

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

pub use iso_date::{deserialize, serialize};

pub mod option {
    pub use super::iso_date::option::{deserialize, serialize};
}
