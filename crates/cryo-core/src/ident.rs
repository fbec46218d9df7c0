//! Validated identity and collaboration values: parsed once where they enter, trusted after.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidValue {
    InvalidValue {
        field,
        reason: reason.into(),
    }
}

/// One of two alternatives a caller may give (a SMILES or a MOL block, a molecule or a mixture).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOf<A, B> {
    First(A),
    Second(B),
}

/// Exactly one of `first` and `second` given, or an error naming `names.0` as the field.
pub fn exactly_one<A, B>(
    first: Option<A>,
    second: Option<B>,
    names: (&'static str, &'static str),
) -> Result<OneOf<A, B>, InvalidValue> {
    match (first, second) {
        (Some(a), None) => Ok(OneOf::First(a)),
        (None, Some(b)) => Ok(OneOf::Second(b)),
        _ => Err(invalid(
            names.0,
            format!("give exactly one of `{}` or `{}`", names.0, names.1),
        )),
    }
}

/// An e-mail address: trimmed, one `@`, something on both sides, at most 320 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, InvalidValue> {
        let s = s.trim();
        let (local, domain) = s
            .split_once('@')
            .ok_or_else(|| invalid("email", "must contain @"))?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || s.len() > 320
            || s.chars().any(char::is_whitespace)
        {
            return Err(invalid("email", "is not an e-mail address"));
        }
        Ok(Email(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password: 10 to 1024 characters. Length beats composition rules (NIST SP 800-63B).
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;

    pub fn parse(s: &str) -> Result<Password, InvalidValue> {
        let n = s.chars().count();
        if n < Self::MIN_CHARS {
            return Err(invalid(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > 1024 {
            return Err(invalid("password", "must be at most 1024 characters"));
        }
        Ok(Password(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}

/// A human-visible name (team, project, person): trimmed, 1 to `max` characters.
pub fn parse_name(field: &'static str, s: &str, max: usize) -> Result<String, InvalidValue> {
    let t = s.trim();
    if t.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    Ok(t.to_string())
}

/// [`parse_name`] for a name the caller may leave out (a patch that keeps the old name).
pub fn parse_optional_name(
    field: &'static str,
    s: Option<&str>,
    max: usize,
) -> Result<Option<String>, InvalidValue> {
    s.map(|s| parse_name(field, s, max)).transpose()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    Admin,
    Editor,
    Viewer,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Admin => "admin",
            TeamRole::Editor => "editor",
            TeamRole::Viewer => "viewer",
        }
    }
}

/// Where a model version stands. At most one version of a model is in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ModelStage {
    None,
    Staging,
    Production,
    Archived,
}

impl ModelStage {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStage::None => "none",
            ModelStage::Staging => "staging",
            ModelStage::Production => "production",
            ModelStage::Archived => "archived",
        }
    }
}

impl std::fmt::Display for ModelStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// As the database stores it (a CHECK constraint allows exactly these four).
impl TryFrom<String> for ModelStage {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        [
            ModelStage::None,
            ModelStage::Staging,
            ModelStage::Production,
            ModelStage::Archived,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| format!("unknown model stage {s:?}"))
    }
}

/// What values a property type holds, and so what its models are: numbers (regression), yes/no
/// (binary classification) or one of several labels (categorical classification). Stored as
/// the property type's `data_type`: `numeric`, `boolean`, `text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PropertyKind {
    Numeric,
    Binary,
    Categorical,
}

impl PropertyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyKind::Numeric => "numeric",
            PropertyKind::Binary => "binary",
            PropertyKind::Categorical => "categorical",
        }
    }

    /// Whether its models classify rather than regress.
    pub fn classifies(self) -> bool {
        self != PropertyKind::Numeric
    }
}

impl std::fmt::Display for PropertyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// From the property type's `data_type` (a CHECK constraint allows exactly these three).
impl TryFrom<String> for PropertyKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "numeric" => Ok(PropertyKind::Numeric),
            "boolean" => Ok(PropertyKind::Binary),
            "text" => Ok(PropertyKind::Categorical),
            other => Err(format!("unknown property data type {other:?}")),
        }
    }
}

/// Where a lab verification of a measurement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    Pending,
    Verified,
    Rejected,
}

impl VerificationStatus {
    pub const ALL: [VerificationStatus; 3] = [Self::Pending, Self::Verified, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
        }
    }
}

impl std::str::FromStr for VerificationStatus {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| invalid("status", "pending, verified or rejected"))
    }
}

/// As the database stores it (a CHECK constraint allows exactly these three).
impl TryFrom<String> for VerificationStatus {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        s.parse()
    }
}

/// Where a molecule stands in a model's applicability domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DomainFlag {
    /// As similar to the training set as molecules whose intervals covered at the nominal rate.
    In,
    /// Less similar than that: held-out coverage fell there; read the interval with care.
    Edge,
    /// Less similar than almost every validated molecule: the model was not checked there.
    Out,
}

impl DomainFlag {
    pub const ALL: [DomainFlag; 3] = [Self::In, Self::Edge, Self::Out];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Edge => "edge",
            Self::Out => "out",
        }
    }
}

impl std::str::FromStr for DomainFlag {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| invalid("domain_flag", "in, edge or out"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SharePermission {
    Read,
    Write,
}

impl SharePermission {
    pub fn as_str(self) -> &'static str {
        match self {
            SharePermission::Read => "read",
            SharePermission::Write => "write",
        }
    }
}

/// What a polymorphic reference (share, comment, notification) may point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Project,
    Molecule,
    Mixture,
    Experiment,
    Protocol,
    Prediction,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Project => "project",
            ResourceKind::Molecule => "molecule",
            ResourceKind::Mixture => "mixture",
            ResourceKind::Experiment => "experiment",
            ResourceKind::Protocol => "protocol",
            ResourceKind::Prediction => "prediction",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" a@b.org ").unwrap().as_str(), "a@b.org");
        for bad in ["", "ab.org", "@b.org", "a@", "a b@c.org", "a@b@c"] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn passwords_need_length_and_never_print() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn exactly_one_names_the_first_field_when_both_or_neither_are_given() {
        let names = ("smiles", "molblock");
        assert_eq!(
            exactly_one(Some(1), None::<&str>, names).unwrap(),
            OneOf::First(1)
        );
        assert_eq!(
            exactly_one(None::<i32>, Some("b"), names).unwrap(),
            OneOf::Second("b")
        );
        for e in [
            exactly_one(Some(1), Some("b"), names).unwrap_err(),
            exactly_one(None::<i32>, None::<&str>, names).unwrap_err(),
        ] {
            assert_eq!(e.field, "smiles");
            assert!(e.reason.contains("`molblock`"), "{}", e.reason);
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("name", "  Lab  ", 10).unwrap(), "Lab");
        assert!(parse_name("name", "   ", 10).is_err());
        assert!(parse_name("name", "abcdefghijk", 10).is_err());
    }
}
