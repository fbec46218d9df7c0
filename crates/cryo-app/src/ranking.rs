//! Ranked molecule lists (#20): the caller names an ordering, filters and a page size; the
//! database orders, filters, counts and pages (keyset), under row-level security. Everything
//! the caller sends is checked here before a statement runs, and named when refused.

use crate::{Actor, AppError, AppResult};
use cryo_core::ident::DomainFlag;
use cryo_db::repo::ranking::{
    self as repo, Cursor, Direction, MoleculeFilters, MoleculeSort, Range, RankQuery,
    RankedMolecule,
};
use cryo_db::repo::science::property_type;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Rows per page when the caller gives none, and at most.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;
/// The longest name fragment or SMILES a ranking filters by.
pub const MAX_TEXT: usize = 500;

/// The orderings by name (`property:<name>` orders by any stored numeric property).
pub const SORT_KEYS: &[(&str, &str)] = &[
    ("name", "name (A–Z)"),
    ("created_at", "registration time"),
    ("molecular_weight", "molecular weight"),
    ("score", "Cryoprotection Score"),
    ("logp", "LogP"),
    ("tpsa", "TPSA"),
    ("qed", "QED"),
    ("h_bond_donors", "H-Bond Donors"),
    ("h_bond_acceptors", "H-Bond Acceptors"),
    ("predicted", "the newest prediction of `predicted`"),
    ("interval_width", "its prediction interval's width"),
];

/// What the caller asked for, as sent (the HTTP query string).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct RankRequest {
    /// name, created_at, molecular_weight, score, logp, tpsa, qed, h_bond_donors,
    /// h_bond_acceptors, predicted, interval_width, or `property:<property type>`. Default name.
    pub sort: Option<String>,
    /// asc or desc (default: asc for name, desc otherwise). Rows lacking the value come last.
    pub order: Option<String>,
    /// `next_cursor` of the previous page (same sort and order).
    pub cursor: Option<String>,
    /// Rows per page, 1–500 (default 50).
    pub limit: Option<i64>,
    /// Name fragment (case-insensitive) or an exact canonical SMILES.
    pub q: Option<String>,
    pub project_id: Option<Uuid>,
    /// Molecules in the projects of this team.
    pub team_id: Option<Uuid>,
    /// `me`, or a user id.
    pub owner: Option<String>,
    /// Only reference molecules (true) or only research ones (false).
    pub reference: Option<bool>,
    pub min_molecular_weight: Option<f64>,
    pub max_molecular_weight: Option<f64>,
    pub min_logp: Option<f64>,
    pub max_logp: Option<f64>,
    pub min_tpsa: Option<f64>,
    pub max_tpsa: Option<f64>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub min_qed: Option<f64>,
    pub max_qed: Option<f64>,
    /// At most this many structural alerts (0: alert-free).
    pub max_alerts: Option<i32>,
    /// A property type: each row carries its newest prediction of it, which the next four
    /// filter on and `sort=predicted|interval_width` order by.
    pub predicted: Option<String>,
    pub min_predicted: Option<f64>,
    pub max_predicted: Option<f64>,
    pub max_interval_width: Option<f64>,
    /// in, edge or out of the predicting model's applicability domain.
    pub domain: Option<String>,
}

/// A page of a ranking.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankedMolecules {
    pub items: Vec<RankedMolecule>,
    /// How many molecules the whole ranking holds (every page).
    pub total: i64,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
    pub sort: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub order: Direction,
}

/// The cursor as the caller holds it: where the page ended and under which ordering, so a
/// cursor is never applied to another ordering.
#[derive(Serialize, Deserialize)]
struct Token {
    sort: String,
    order: Direction,
    at: Cursor,
}

fn encode(token: &Token) -> String {
    encode_cursor(token)
}

/// A cursor as the caller carries it: opaque text (hex of its JSON).
pub(crate) fn encode_cursor<T: Serialize>(token: &T) -> String {
    hex::encode(serde_json::to_vec(token).expect("a cursor serialises"))
}

/// A cursor [`encode_cursor`] gave out; anything else is refused, naming `cursor`.
pub(crate) fn decode_cursor<T: serde::de::DeserializeOwned>(text: &str) -> AppResult<T> {
    let bad = || AppError::validation("cursor", "is not a cursor this server gave out");
    let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

fn decode(text: &str, sort: &str, order: Direction) -> AppResult<Cursor> {
    let token: Token = decode_cursor(text)?;
    if token.sort != sort || token.order != order {
        return Err(AppError::validation(
            "cursor",
            format!(
                "belongs to the ordering sort={} order={}; start again without a cursor",
                token.sort,
                direction_name(token.order)
            ),
        ));
    }
    Ok(token.at)
}

pub(crate) fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Asc => "asc",
        Direction::Desc => "desc",
    }
}

/// The ordering a sort key names (property names are checked against the database later).
fn sort_of(key: &str) -> AppResult<MoleculeSort> {
    let property = |name: &str| Ok(MoleculeSort::Property(name.to_string()));
    match key {
        "name" => Ok(MoleculeSort::Name),
        "created_at" => Ok(MoleculeSort::CreatedAt),
        "molecular_weight" => Ok(MoleculeSort::MolecularWeight),
        "score" => property("Cryoprotection Score"),
        "logp" => property("LogP"),
        "tpsa" => property("TPSA"),
        "qed" => property("QED"),
        "h_bond_donors" => property("H-Bond Donors"),
        "h_bond_acceptors" => property("H-Bond Acceptors"),
        "predicted" => Ok(MoleculeSort::Predicted),
        "interval_width" => Ok(MoleculeSort::IntervalWidth),
        other => match other.strip_prefix("property:").map(str::trim) {
            Some(name) if !name.is_empty() => property(name),
            _ => Err(AppError::validation(
                "sort",
                format!(
                    "unknown ordering `{other}`; one of {}, or property:<property type>",
                    SORT_KEYS
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        },
    }
}

/// A range from its two ends, each finite, min ≤ max.
pub(crate) fn range(name: &str, min: Option<f64>, max: Option<f64>) -> AppResult<Range> {
    for (end, v) in [("min", min), ("max", max)] {
        if v.is_some_and(|v| !v.is_finite()) {
            return Err(AppError::validation(
                format!("{end}_{name}"),
                "must be a finite number",
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        return Err(AppError::validation(
            format!("min_{name}"),
            format!("{lo} is above max_{name} {hi}"),
        ));
    }
    Ok(Range { min, max })
}

/// A request, checked: what the repository runs.
struct Ranking<'r> {
    sort_key: &'r str,
    sort: MoleculeSort,
    order: Direction,
    after: Option<Cursor>,
    limit: i64,
    filters: MoleculeFilters<'r>,
}

impl Ranking<'_> {
    fn query(&self) -> RankQuery<'_> {
        RankQuery {
            sort: &self.sort,
            dir: self.order,
            filters: &self.filters,
            after: self.after.as_ref(),
            limit: self.limit,
        }
    }
}

/// `order` as asc or desc (`default` when absent).
pub(crate) fn order_of(order: Option<&str>, default: Direction) -> AppResult<Direction> {
    match order.map(str::trim) {
        None | Some("") => Ok(default),
        Some("asc") => Ok(Direction::Asc),
        Some("desc") => Ok(Direction::Desc),
        Some(other) => Err(AppError::validation(
            "order",
            format!("`{other}` is neither asc nor desc"),
        )),
    }
}

/// Rows per page: 1–[`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub(crate) fn limit_of(limit: Option<i64>) -> AppResult<i64> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::validation(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}

/// Check a request against everything but the database's vocabulary.
fn parse<'r>(actor: &Actor<'_>, r: &'r RankRequest) -> AppResult<Ranking<'r>> {
    let sort_key = r.sort.as_deref().map(str::trim).unwrap_or("name");
    let sort = sort_of(sort_key)?;
    let default = if sort == MoleculeSort::Name {
        Direction::Asc
    } else {
        Direction::Desc
    };
    let order = order_of(r.order.as_deref(), default)?;
    let limit = limit_of(r.limit)?;
    let after = match r.cursor.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(decode(c, sort_key, order)?),
        None => None,
    };
    let text = r.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if text.is_some_and(|q| q.chars().count() > MAX_TEXT) {
        return Err(AppError::validation(
            "q",
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    let owner = match r.owner.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(actor.me()?),
        Some(id) => Some(
            id.parse::<Uuid>()
                .map_err(|_| AppError::validation("owner", "must be `me` or a user id"))?,
        ),
    };
    if r.max_alerts.is_some_and(|n| n < 0) {
        return Err(AppError::validation("max_alerts", "must be 0 or more"));
    }
    if r.max_interval_width
        .is_some_and(|w| !(w.is_finite() && w >= 0.0))
    {
        return Err(AppError::validation(
            "max_interval_width",
            "must be a number, 0 or more",
        ));
    }
    let domain = match r.domain.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(
            d.parse::<DomainFlag>()
                .map_err(|e| AppError::validation("domain", e.reason))?,
        ),
    };
    let predicted = r
        .predicted
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if predicted.is_none() {
        // What needs a predicted property, named in the order a form lists them.
        let needs = [
            (
                "sort",
                matches!(sort, MoleculeSort::Predicted | MoleculeSort::IntervalWidth),
            ),
            ("min_predicted", r.min_predicted.is_some()),
            ("max_predicted", r.max_predicted.is_some()),
            ("max_interval_width", r.max_interval_width.is_some()),
            ("domain", domain.is_some()),
        ];
        if let Some((field, _)) = needs.into_iter().find(|(_, needed)| *needed) {
            return Err(AppError::validation(
                field,
                "needs `predicted`: the property whose predictions to rank or filter by",
            ));
        }
    }
    let filters = MoleculeFilters {
        text,
        project: r.project_id,
        team: r.team_id,
        owner,
        reference: r.reference,
        molecular_weight: range(
            "molecular_weight",
            r.min_molecular_weight,
            r.max_molecular_weight,
        )?,
        logp: range("logp", r.min_logp, r.max_logp)?,
        tpsa: range("tpsa", r.min_tpsa, r.max_tpsa)?,
        score: range("score", r.min_score, r.max_score)?,
        qed: range("qed", r.min_qed, r.max_qed)?,
        max_alerts: r.max_alerts,
        predicted,
        predicted_value: range("predicted", r.min_predicted, r.max_predicted)?,
        max_interval_width: r.max_interval_width,
        domain,
    };
    Ok(Ranking {
        sort_key,
        sort,
        order,
        after,
        limit,
        filters,
    })
}

/// Property type names are reference data: an unknown one is the caller's typo.
async fn check_properties(tx: &mut cryo_db::repo::Conn, q: &Ranking<'_>) -> AppResult<()> {
    let sorted_by = match &q.sort {
        MoleculeSort::Property(name) => Some(name.as_str()),
        _ => None,
    };
    for (field, name) in [("sort", sorted_by), ("predicted", q.filters.predicted)] {
        let Some(name) = name else { continue };
        match property_type(tx, name).await? {
            Some(t) if t.data_type == "numeric" => {}
            Some(_) => {
                return Err(AppError::validation(
                    field,
                    format!("`{name}` is not a numeric property"),
                ));
            }
            None => {
                return Err(AppError::validation(
                    field,
                    format!("no property type is called `{name}`"),
                ));
            }
        }
    }
    Ok(())
}

/// One page of the molecules the caller can read, ranked and filtered as asked.
pub async fn rank_molecules(actor: &Actor<'_>, r: &RankRequest) -> AppResult<RankedMolecules> {
    let q = parse(actor, r)?;
    let page = actor
        .run(async |tx| {
            check_properties(tx, &q).await?;
            AppResult::Ok(repo::rank_molecules(tx, &q.query()).await?)
        })
        .await?;
    let (sort_key, order) = (q.sort_key, q.order);
    Ok(RankedMolecules {
        items: page.items,
        total: page.total,
        next_cursor: page.next.map(|at| {
            encode(&Token {
                sort: sort_key.to_string(),
                order,
                at,
            })
        }),
        sort: sort_key.to_string(),
        order,
    })
}

/// How PostgreSQL runs [`rank_molecules`] for this request (`EXPLAIN ANALYZE` of the page, then
/// of the count), for `cryoprotect molecules rank --explain` and the benchmarks.
pub async fn explain_molecule_ranking(
    actor: &Actor<'_>,
    r: &RankRequest,
) -> AppResult<Vec<String>> {
    let q = parse(actor, r)?;
    actor
        .run(async |tx| {
            check_properties(tx, &q).await?;
            Ok(repo::explain_rank_molecules(tx, &q.query()).await?)
        })
        .await
}

/// The most molecules one export writes: beyond, the caller narrows the filters.
pub const MAX_EXPORT: i64 = 100_000;

/// The ranking the request names, every page of it, as a file in `format` (SDF: each
/// molecule's structure with the columns as tags). The request's `limit` and `cursor` are
/// ignored: an export is the whole ranking, or a 422 when it holds more than [`MAX_EXPORT`].
pub async fn export_molecules(
    actor: &Actor<'_>,
    r: &RankRequest,
    format: crate::export::ExportFormat,
) -> AppResult<Vec<u8>> {
    use crate::export::{Cell, Table};
    let whole = RankRequest {
        limit: Some(MAX_LIMIT),
        cursor: None,
        ..r.clone()
    };
    let mut q = parse(actor, &whole)?;
    let predicted = q.filters.predicted.is_some();
    let mut table = Table {
        columns: [
            "id",
            "name",
            "smiles",
            "formula",
            "molecular_weight",
            "logp",
            "tpsa",
            "h_bond_donors",
            "h_bond_acceptors",
            "score",
            "qed",
            "alerts",
            "reference",
        ]
        .map(String::from)
        .into(),
        rows: Vec::new(),
    };
    if predicted {
        table.columns.extend(
            [
                "predicted",
                "interval_lower",
                "interval_upper",
                "domain_flag",
            ]
            .map(String::from),
        );
    }
    let mut smiles = Vec::new();
    loop {
        let page = actor
            .run(async |tx| {
                check_properties(tx, &q).await?;
                AppResult::Ok(repo::rank_molecules(tx, &q.query()).await?)
            })
            .await?;
        if page.total > MAX_EXPORT {
            return Err(AppError::validation(
                "export",
                format!(
                    "{} molecules match; at most {MAX_EXPORT} are exported at once: narrow the filters",
                    page.total
                ),
            ));
        }
        for item in page.items {
            let m = &item.molecule;
            let mut row = vec![
                Cell::Text(m.id.to_string()),
                m.name.as_deref().into(),
                Cell::Text(m.canonical_smiles.clone()),
                m.formula.as_deref().into(),
                m.molecular_weight.into(),
                m.logp.into(),
                m.tpsa.into(),
                m.h_bond_donors.into(),
                m.h_bond_acceptors.into(),
                m.score.into(),
                m.qed.into(),
                m.alerts.into(),
                Cell::Text(m.is_reference.to_string()),
            ];
            if predicted {
                let p = item.prediction.as_ref();
                row.extend([
                    p.map(|p| p.value).into(),
                    p.and_then(|p| p.interval_lower).into(),
                    p.and_then(|p| p.interval_upper).into(),
                    p.and_then(|p| p.domain_flag).map(DomainFlag::as_str).into(),
                ]);
            }
            smiles.push(m.canonical_smiles.clone());
            table.rows.push(row);
        }
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    write_table(actor, &table, format, smiles).await
}

/// An export's table as `format`; for SDF, each row's structure from its canonical SMILES, on
/// the compute pool under its deadline (one that no longer parses, a newer toolkit's, is written
/// as an empty structure, tags intact).
pub(crate) async fn write_table(
    actor: &Actor<'_>,
    table: &crate::export::Table,
    format: crate::export::ExportFormat,
    smiles: Vec<String>,
) -> AppResult<Vec<u8>> {
    use crate::export::{self, ExportFormat};
    if format != ExportFormat::Sdf {
        return export::write(table, format);
    }
    let blocks = actor
        .compute(move |deadline| {
            smiles
                .iter()
                .map(|s| {
                    deadline.check()?;
                    Ok(cryo_chem::Molecule::from_smiles(s)
                        .and_then(|m| m.mol_block())
                        .ok())
                })
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(export::sdf(table, &blocks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_parse_and_unknown_ones_are_named() {
        assert_eq!(sort_of("name").unwrap(), MoleculeSort::Name);
        assert_eq!(
            sort_of("score").unwrap(),
            MoleculeSort::Property("Cryoprotection Score".into())
        );
        assert_eq!(
            sort_of("property:Glass Transition Temperature").unwrap(),
            MoleculeSort::Property("Glass Transition Temperature".into())
        );
        for bad in ["nme", "property:", "property:  ", ""] {
            match sort_of(bad) {
                Err(AppError::Validation { field, .. }) => assert_eq!(field, "sort"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_cursor_round_trips_and_refuses_another_ordering() {
        let at = Cursor {
            value: repo::CursorValue::Number(3.5),
            id: Uuid::nil(),
        };
        let text = encode(&Token {
            sort: "score".into(),
            order: Direction::Desc,
            at: at.clone(),
        });
        assert_eq!(decode(&text, "score", Direction::Desc).unwrap(), at);
        for (sort, order) in [("score", Direction::Asc), ("logp", Direction::Desc)] {
            assert!(matches!(
                decode(&text, sort, order),
                Err(AppError::Validation { ref field, .. }) if field == "cursor"
            ));
        }
        assert!(decode("zz", "score", Direction::Desc).is_err());
        assert!(decode(&hex::encode(b"{}"), "score", Direction::Desc).is_err());
    }

    #[test]
    fn ranges_are_finite_and_ordered() {
        assert!(range("logp", Some(1.0), Some(2.0)).is_ok());
        assert!(matches!(range("logp", Some(3.0), Some(2.0)),
            Err(AppError::Validation { ref field, .. }) if field == "min_logp"));
        assert!(matches!(range("tpsa", None, Some(f64::NAN)),
            Err(AppError::Validation { ref field, .. }) if field == "max_tpsa"));
    }
}
