//! Units of measured values and their exact conversions, so an experiment recorded in °F or
//! kJ/mol is stored in its property's unit (and the value as sent is kept beside it). Only
//! conversions within one dimension exist: "parsecs" for a glass transition is an error.
//!
//! Every factor is exact by definition: 0 °C = 273.15 K and a degree Fahrenheit is 5/9 K with
//! 32 °F = 0 °C (BIPM, The International System of Units, 9th ed., 2019, §2.3.1 and table 8);
//! the thermochemical calorie is 4.184 J (NIST SP 811, 2008, B.8); 1 Å = 10⁻¹⁰ m.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Temperature,
    MolarEnergy,
    Fraction,
    MolarMass,
    Area,
    Count,
    Score,
    LogMolarity,
}

/// A unit: its dimension, and `base = value · scale + offset` in that dimension's base unit.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Unit {
    dimension: Dimension,
    scale: f64,
    offset: f64,
}

const fn unit(dimension: Dimension, scale: f64, offset: f64) -> Unit {
    Unit {
        dimension,
        scale,
        offset,
    }
}

/// Spellings accepted for each unit (compared after trimming, case-sensitively for SI symbols).
const UNITS: &[(&[&str], Unit)] = &[
    (
        &["°C", "C", "degC", "celsius", "Celsius"],
        unit(Dimension::Temperature, 1.0, 273.15),
    ),
    (
        &["K", "kelvin", "Kelvin"],
        unit(Dimension::Temperature, 1.0, 0.0),
    ),
    (
        &["°F", "F", "degF", "fahrenheit", "Fahrenheit"],
        unit(Dimension::Temperature, 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0),
    ),
    (&["kcal/mol"], unit(Dimension::MolarEnergy, 4184.0, 0.0)),
    (&["kJ/mol"], unit(Dimension::MolarEnergy, 1000.0, 0.0)),
    (&["J/mol"], unit(Dimension::MolarEnergy, 1.0, 0.0)),
    (&["fraction"], unit(Dimension::Fraction, 1.0, 0.0)),
    (&["%", "percent"], unit(Dimension::Fraction, 0.01, 0.0)),
    (&["g/mol", "Da"], unit(Dimension::MolarMass, 1.0, 0.0)),
    (&["kg/mol", "kDa"], unit(Dimension::MolarMass, 1000.0, 0.0)),
    (&["Å²", "A^2", "Å^2"], unit(Dimension::Area, 1.0, 0.0)),
    (&["nm²", "nm^2"], unit(Dimension::Area, 100.0, 0.0)),
    (&["count"], unit(Dimension::Count, 1.0, 0.0)),
    (&["score"], unit(Dimension::Score, 1.0, 0.0)),
    (
        &["log mol/L", "logS", "log M"],
        unit(Dimension::LogMolarity, 1.0, 0.0),
    ),
];

fn lookup(name: &str) -> Option<(&'static str, Unit)> {
    let name = name.trim();
    UNITS
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(names, u)| (names[0], *u))
}

/// Why a value cannot be expressed in the property's unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitMismatch {
    Unknown {
        unit: String,
    },
    Incompatible {
        from: String,
        to: String,
    },
    /// The property is unitless (a logP, a text assessment) and a unit was given.
    Unitless {
        unit: String,
    },
}

impl fmt::Display for UnitMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitMismatch::Unknown { unit } => write!(f, "unknown unit {unit:?}"),
            UnitMismatch::Incompatible { from, to } => {
                write!(
                    f,
                    "{from} cannot be converted to this property's unit, {to}"
                )
            }
            UnitMismatch::Unitless { unit } => {
                write!(f, "this property has no unit; {unit:?} was given")
            }
        }
    }
}

impl std::error::Error for UnitMismatch {}

/// `value` in `from` expressed in `to` (the property's unit; `None`: unitless). A missing `from`
/// means the value is already in `to`.
pub fn convert(value: f64, from: Option<&str>, to: Option<&str>) -> Result<f64, UnitMismatch> {
    let from = from.map(str::trim).filter(|f| !f.is_empty());
    match (from, to) {
        (None, _) => Ok(value),
        (Some(f), None) => Err(UnitMismatch::Unitless { unit: f.into() }),
        (Some(f), Some(t)) if f == t.trim() => Ok(value),
        (Some(f), Some(t)) => {
            let (_, a) = lookup(f).ok_or_else(|| UnitMismatch::Unknown { unit: f.into() })?;
            let (_, b) = lookup(t).ok_or_else(|| UnitMismatch::Incompatible {
                from: f.into(),
                to: t.into(),
            })?;
            if a.dimension != b.dimension {
                return Err(UnitMismatch::Incompatible {
                    from: f.into(),
                    to: t.into(),
                });
            }
            Ok((value * a.scale + a.offset - b.offset) / b.scale)
        }
    }
}

/// The lowest temperature there is, in °C (0 K).
pub const ABSOLUTE_ZERO_C: f64 = -273.15;

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn conversions_match_their_definitions() {
        // Water freezes at 32 °F = 0 °C = 273.15 K and boils at 212 °F = 100 °C.
        assert!(close(convert(32.0, Some("°F"), Some("°C")).unwrap(), 0.0));
        assert!(close(
            convert(212.0, Some("°F"), Some("°C")).unwrap(),
            100.0
        ));
        assert!(close(
            convert(-40.0, Some("°F"), Some("°C")).unwrap(),
            -40.0
        ));
        assert!(close(
            convert(180.0, Some("K"), Some("°C")).unwrap(),
            -93.15
        ));
        assert!(close(
            convert(-4.184, Some("kJ/mol"), Some("kcal/mol")).unwrap(),
            -1.0
        ));
        assert!(close(
            convert(0.85, Some("fraction"), Some("%")).unwrap(),
            85.0
        ));
        assert!(close(convert(5.0, Some("°C"), Some("°C")).unwrap(), 5.0));
        assert_eq!(convert(7.0, None, Some("°C")), Ok(7.0));
        assert!(close(
            convert(1.5, Some("kDa"), Some("g/mol")).unwrap(),
            1500.0
        ));
    }

    #[test]
    fn impossible_conversions_say_why() {
        let e = convert(1.0, Some("parsecs"), Some("°C")).unwrap_err();
        assert!(e.to_string().contains("unknown unit"), "{e}");
        let e = convert(1.0, Some("kcal/mol"), Some("°C")).unwrap_err();
        assert!(e.to_string().contains("°C"), "{e}");
        let e = convert(1.0, Some("K"), None).unwrap_err();
        assert!(matches!(e, UnitMismatch::Unitless { .. }), "{e}");
    }
}
