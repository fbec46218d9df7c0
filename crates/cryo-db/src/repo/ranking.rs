//! Ranked, filtered molecule lists with keyset (cursor) paging and a total count (#20).
//!
//! Each ordering is one static statement that walks an index in the order it returns rows
//! (`20261207000009_ranking_indexes`) and stops at the page: the molecules that have the sort
//! value, in its order, then those that lack it, by id. A page's last row is the cursor of the
//! next, so paging deep costs what the first page costs and a row inserted meanwhile neither
//! repeats nor hides a row. Row-level security applies to every table read, so a ranking never
//! shows (or counts) a row the caller cannot read.

use super::Conn;
use super::science::{MoleculeRow, Nullable, molecule_columns};
use crate::DbError;
use cryo_core::ident::DomainFlag;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a molecule list is ordered by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoleculeSort {
    Name,
    CreatedAt,
    MolecularWeight,
    /// The newest stored numeric value of this property type (a descriptor, the score, QED…).
    Property(String),
    /// The newest prediction of the filters' predicted property.
    Predicted,
    /// Its prediction interval's width.
    IntervalWidth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Asc,
    Desc,
}

/// An inclusive range; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Range {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Which molecules a ranking holds. Every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct MoleculeFilters<'a> {
    /// A case-insensitive name fragment, or an exact canonical SMILES.
    pub text: Option<&'a str>,
    pub project: Option<Uuid>,
    /// Molecules in any project of this team.
    pub team: Option<Uuid>,
    pub owner: Option<Uuid>,
    pub reference: Option<bool>,
    pub molecular_weight: Range,
    pub logp: Range,
    pub tpsa: Range,
    pub score: Range,
    pub qed: Range,
    /// At most this many structural alerts (molecules whose alerts were never computed are
    /// left out then).
    pub max_alerts: Option<i32>,
    /// The property whose newest prediction each row carries (and the next three filter on).
    pub predicted: Option<&'a str>,
    pub predicted_value: Range,
    pub max_interval_width: Option<f64>,
    pub domain: Option<DomainFlag>,
}

/// Where the previous page ended: its last row's sort value (none: the rows lacking it) and id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub value: CursorValue,
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CursorValue {
    Number(f64),
    Text(String),
    /// The row lacked the sort value (the tail, ordered by id).
    Missing,
}

/// One ranked molecule, with the newest prediction of the asked property when one was asked.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankedMolecule {
    #[serde(flatten)]
    pub molecule: MoleculeRow,
    pub prediction: Option<RankedPrediction>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankedPrediction {
    pub value: f64,
    pub interval_lower: Option<f64>,
    pub interval_upper: Option<f64>,
    pub domain_flag: Option<DomainFlag>,
}

/// What to rank: the ordering, its direction, the filters, where the page starts (after the
/// cursor; none: the first page) and how many rows it holds.
#[derive(Debug, Clone, Copy)]
pub struct RankQuery<'a> {
    pub sort: &'a MoleculeSort,
    pub dir: Direction,
    pub filters: &'a MoleculeFilters<'a>,
    pub after: Option<&'a Cursor>,
    pub limit: i64,
}

/// A page of a ranking: its rows, how many rows the whole ranking holds, and where the next
/// page starts (none on the last page).
#[derive(Debug, Clone)]
pub struct RankedPage<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub next: Option<Cursor>,
}

#[derive(sqlx::FromRow)]
struct RankedRow {
    #[sqlx(flatten)]
    molecule: MoleculeRow,
    predicted_value: Option<f64>,
    predicted_lower: Option<f64>,
    predicted_upper: Option<f64>,
    #[sqlx(try_from = "Nullable<DomainFlag>")]
    predicted_domain: Option<DomainFlag>,
    sort_number: Option<f64>,
    sort_text: Option<String>,
    in_tail: bool,
}

impl RankedRow {
    fn cursor(&self) -> Cursor {
        let value = match (self.in_tail, self.sort_number, &self.sort_text) {
            (true, _, _) => CursorValue::Missing,
            (false, Some(n), _) => CursorValue::Number(n),
            (false, None, Some(t)) => CursorValue::Text(t.clone()),
            (false, None, None) => CursorValue::Missing,
        };
        Cursor {
            value,
            id: self.molecule.id,
        }
    }

    fn ranked(self) -> RankedMolecule {
        RankedMolecule {
            prediction: self.predicted_value.map(|value| RankedPrediction {
                value,
                interval_lower: self.predicted_lower,
                interval_upper: self.predicted_upper,
                domain_flag: self.predicted_domain,
            }),
            molecule: self.molecule,
        }
    }
}

/// `pr`: the newest prediction of property $22 for molecule `m` (nothing when $22 is null).
macro_rules! newest_prediction_join {
    () => {
        " LEFT JOIN LATERAL (
            SELECT x.numeric_value, x.interval_lower, x.interval_upper, x.domain_flag FROM predictions x
            WHERE $22::text IS NOT NULL AND x.molecule_id = m.id
              AND x.property_type_id = (SELECT t.id FROM property_types t WHERE t.name = $22)
            ORDER BY x.created_at DESC, x.id DESC LIMIT 1) pr ON true "
    };
}

/// Whether the newest value of a named property of molecule `m` lies in [`$min`, `$max`]
/// (either end open; both open: no filter). A semi-join over the property's index, not a
/// lookup per molecule: a range keeps what the index range holds.
macro_rules! in_range {
    ($name:literal, $min:literal, $max:literal) => {
        concat!(
            "((", $min, "::float8 IS NULL AND ", $max, "::float8 IS NULL) OR m.id IN (
                SELECT r.molecule_id FROM molecular_properties r
                WHERE r.property_type_id = (SELECT t.id FROM property_types t WHERE t.name = '", $name, "')
                  AND r.numeric_value >= coalesce(", $min, "::float8, '-Infinity')
                  AND r.numeric_value <= coalesce(", $max, "::float8, 'Infinity')
                  AND NOT EXISTS (SELECT 1 FROM molecular_properties n
                                  WHERE n.molecule_id = r.molecule_id AND n.property_type_id = r.property_type_id
                                    AND n.numeric_value IS NOT NULL AND (n.updated_at, n.id) > (r.updated_at, r.id))))"
        )
    };
}

/// [`in_range`] as a lookup per molecule: what a page wants, reading rows in ranked order
/// until it is full (the semi-join would first gather every match).
macro_rules! each_in_range {
    ($name:literal, $min:literal, $max:literal) => {
        concat!(
            "((", $min, "::float8 IS NULL AND ", $max, "::float8 IS NULL) OR
              (SELECT p.numeric_value FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
               WHERE p.molecule_id = m.id AND t.name = '", $name, "' AND p.numeric_value IS NOT NULL
               ORDER BY p.updated_at DESC, p.id DESC LIMIT 1)
              BETWEEN coalesce(", $min, "::float8, '-Infinity') AND coalesce(", $max, "::float8, 'Infinity'))"
        )
    };
}

/// The filters ($6–$26) on molecule `m` and its prediction `pr`; `range` is how a property's
/// range is tested ([`each_in_range`] for pages, [`in_range`] for counts).
macro_rules! filters {
    ($range:ident) => {
        concat!(
            " ($6::text IS NULL OR lower(m.name) LIKE '%' || lower($6) || '%' OR m.canonical_smiles = $6)
              AND ($7::uuid IS NULL OR m.project_id = $7)
              AND ($8::uuid IS NULL OR m.project_id IN (SELECT pj.id FROM projects pj WHERE pj.team_id = $8))
              AND ($9::uuid IS NULL OR m.created_by = $9)
              AND ($10::bool IS NULL OR m.is_reference = $10)
              AND ($11::float8 IS NULL OR m.molecular_weight >= $11)
              AND ($12::float8 IS NULL OR m.molecular_weight <= $12)
              AND ", $range!("LogP", "$13", "$14"), "
              AND ", $range!("TPSA", "$15", "$16"), "
              AND ", $range!("Cryoprotection Score", "$17", "$18"), "
              AND ", $range!("QED", "$19", "$20"), "
              AND ($21::int IS NULL OR m.id IN (
                  SELECT p.molecule_id FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
                  WHERE t.name LIKE 'Alerts: %' GROUP BY p.molecule_id HAVING sum(p.numeric_value) <= $21))
              AND ($23::float8 IS NULL OR pr.numeric_value >= $23)
              AND ($24::float8 IS NULL OR pr.numeric_value <= $24)
              AND ($25::float8 IS NULL OR pr.interval_upper - pr.interval_lower <= $25)
              AND ($26::text IS NULL OR pr.domain_flag = $26) "
        )
    };
}

/// A ranked page: the rows with the sort value `value` (rows come from `from`, the molecule's id
/// is `id`), in `dir` order after the cursor ($2 number or $3 text, $4 id, $5 "in the tail"),
/// then the rows where `missing` holds, by id. $1 is the page size; the value is shown as
/// `sort_number` or `sort_text` (the other is null). The two branches are appended in order
/// and the tail is read only when the first leaves the page short (see [`plan_settings`]).
macro_rules! ranked {
    ($prefix:literal, ($($join:tt)*), from: ($($from:tt)*), id: $id:literal, value: $value:literal, number: $number:literal,
     text: $text:literal, cursor: $cursor:literal, dir: $dir:literal,
     cmp: $cmp:literal, missing: ($($missing:tt)*)) => {
        concat!(
            $prefix, "SELECT * FROM ((SELECT ", molecule_columns!(),
            ", pr.numeric_value AS predicted_value, pr.interval_lower AS predicted_lower,
               pr.interval_upper AS predicted_upper, pr.domain_flag AS predicted_domain, ",
            $number, " AS sort_number, ", $text, " AS sort_text, false AS in_tail
             FROM ", $($from)*, $($join)*,
            " WHERE ", $value, " IS NOT NULL AND ", filters!(each_in_range),
            " AND ($4::uuid IS NULL OR (NOT $5 AND (", $value, ", ", $id, ") ", $cmp, " (", $cursor, ", $4)))
             ORDER BY ", $value, " ", $dir, ", ", $id, " ", $dir, " LIMIT $1)
            UNION ALL
            (SELECT ", molecule_columns!(),
            ", pr.numeric_value, pr.interval_lower, pr.interval_upper, pr.domain_flag, NULL, NULL, true
             FROM molecules m", $($join)*,
            " WHERE ", $($missing)*, " AND ", filters!(each_in_range),
            " AND ($4::uuid IS NULL OR NOT $5 OR m.id > $4)
             ORDER BY m.id LIMIT $1)) ranked LIMIT $1"
        )
    };
}

/// The statement ranking molecules by a column of `molecules`.
macro_rules! by_column {
    ($prefix:literal, ($($join:tt)*), $value:literal, number: $number:literal, text: $text:literal,
     $cursor:literal, $dir:literal, $cmp:literal) => {
        ranked!($prefix, ($($join)*), from: ("molecules m"), id: "m.id", value: $value, number: $number, text: $text,
                cursor: $cursor, dir: $dir, cmp: $cmp, missing: ($value, " IS NULL"))
    };
}
macro_rules! by_name {
    ($prefix:literal, ($($join:tt)*), $dir:literal, $cmp:literal) => {
        by_column!($prefix, ($($join)*), "lower(m.name)", number: "NULL::float8", text: "lower(m.name)", "$3::text", $dir, $cmp)
    };
}
// Shown as seconds since the epoch (microseconds survive the float8 round trip at this scale).
macro_rules! by_created {
    ($prefix:literal, ($($join:tt)*), $dir:literal, $cmp:literal) => {
        by_column!($prefix, ($($join)*), "m.created_at", number: "extract(epoch FROM m.created_at)::float8", text: "NULL::text",
                   "to_timestamp($2::float8)", $dir, $cmp)
    };
}
macro_rules! by_weight {
    ($prefix:literal, ($($join:tt)*), $dir:literal, $cmp:literal) => {
        by_column!($prefix, ($($join)*), "m.molecular_weight", number: "m.molecular_weight", text: "NULL::text",
                   "$2::float8", $dir, $cmp)
    };
}

/// The newest numeric value of property $27 (`d`), joined to its molecule.
macro_rules! property_rows {
    () => {
        "molecular_properties d JOIN molecules m ON m.id = d.molecule_id AND d.numeric_value IS NOT NULL
         AND d.property_type_id = (SELECT t.id FROM property_types t WHERE t.name = $27)
         AND NOT EXISTS (SELECT 1 FROM molecular_properties n
                         WHERE n.molecule_id = d.molecule_id AND n.property_type_id = d.property_type_id
                           AND n.numeric_value IS NOT NULL AND (n.updated_at, n.id) > (d.updated_at, d.id))"
    };
}

macro_rules! by_property {
    ($prefix:literal, ($($join:tt)*), $dir:literal, $cmp:literal) => {
        ranked!($prefix, ($($join)*), from: (property_rows!()), id: "d.molecule_id", value: "d.numeric_value",
                number: "d.numeric_value", text: "NULL::text", cursor: "$2::float8", dir: $dir, cmp: $cmp,
                missing: ("NOT EXISTS (SELECT 1 FROM molecular_properties n
                    WHERE n.molecule_id = m.id AND n.numeric_value IS NOT NULL
                      AND n.property_type_id = (SELECT t.id FROM property_types t WHERE t.name = $27))"))
    };
}

/// The newest prediction of property $22 (`d`), joined to its molecule.
macro_rules! prediction_rows {
    () => {
        "predictions d JOIN molecules m ON m.id = d.molecule_id
         AND d.property_type_id = (SELECT t.id FROM property_types t WHERE t.name = $22)
         AND NOT EXISTS (SELECT 1 FROM predictions n
                         WHERE n.molecule_id = d.molecule_id AND n.property_type_id = d.property_type_id
                           AND (n.created_at, n.id) > (d.created_at, d.id))"
    };
}

macro_rules! by_prediction {
    ($prefix:literal, ($($join:tt)*), $value:literal, $missing:literal, $dir:literal, $cmp:literal) => {
        ranked!($prefix, ($($join)*), from: (prediction_rows!()), id: "d.molecule_id", value: $value, number: $value,
                text: "NULL::text", cursor: "$2::float8", dir: $dir, cmp: $cmp,
                missing: ($missing))
    };
}

/// `pr` when no predicted property is asked: constants the planner folds, so the prediction
/// filters and columns cost nothing (a lateral join that finds nothing still runs per row).
macro_rules! no_prediction {
    () => {
        " CROSS JOIN (SELECT NULL::float8 AS numeric_value, NULL::float8 AS interval_lower,
                             NULL::float8 AS interval_upper, NULL::text AS domain_flag) pr "
    };
}

macro_rules! count {
    ($prefix:literal, ($($join:tt)*)) => {
        concat!($prefix, "SELECT count(*) FROM molecules m", $($join)*, " WHERE ", filters!(in_range))
    };
}

/// The orderings by a molecule's column or stored property, with `pr` joined as given.
macro_rules! by_value {
    ($prefix:literal, ($($join:tt)*), $sort:expr, $dir:expr) => {
        match ($sort, $dir) {
            (S::Name, Asc) => by_name!($prefix, ($($join)*), "ASC", ">"),
            (S::Name, Desc) => by_name!($prefix, ($($join)*), "DESC", "<"),
            (S::CreatedAt, Asc) => by_created!($prefix, ($($join)*), "ASC", ">"),
            (S::CreatedAt, Desc) => by_created!($prefix, ($($join)*), "DESC", "<"),
            (S::MolecularWeight, Asc) => by_weight!($prefix, ($($join)*), "ASC", ">"),
            (S::MolecularWeight, Desc) => by_weight!($prefix, ($($join)*), "DESC", "<"),
            (S::Property(_), Asc) => by_property!($prefix, ($($join)*), "ASC", ">"),
            (S::Property(_), Desc) => by_property!($prefix, ($($join)*), "DESC", "<"),
            (S::Predicted | S::IntervalWidth, _) => unreachable!("ranked by prediction above"),
        }
    };
}

/// The ranking statement and the count for an ordering, prefixed (with `EXPLAIN …` or nothing),
/// with the newest prediction joined when `predicted` (always, to rank by it).
macro_rules! statements {
    ($prefix:literal, $sort:expr, $dir:expr, $predicted:expr) => {{
        use Direction::{Asc, Desc};
        use MoleculeSort as S;
        let rank = match ($sort, $dir) {
            (S::Predicted, Asc) => by_prediction!(
                $prefix,
                (newest_prediction_join!()),
                "d.numeric_value",
                "pr.numeric_value IS NULL",
                "ASC",
                ">"
            ),
            (S::Predicted, Desc) => by_prediction!(
                $prefix,
                (newest_prediction_join!()),
                "d.numeric_value",
                "pr.numeric_value IS NULL",
                "DESC",
                "<"
            ),
            (S::IntervalWidth, Asc) => by_prediction!(
                $prefix,
                (newest_prediction_join!()),
                "(d.interval_upper - d.interval_lower)",
                "pr.interval_lower IS NULL",
                "ASC",
                ">"
            ),
            (S::IntervalWidth, Desc) => by_prediction!(
                $prefix,
                (newest_prediction_join!()),
                "(d.interval_upper - d.interval_lower)",
                "pr.interval_lower IS NULL",
                "DESC",
                "<"
            ),
            _ if $predicted => by_value!($prefix, (newest_prediction_join!()), $sort, $dir),
            _ => by_value!($prefix, (no_prediction!()), $sort, $dir),
        };
        let count = if $predicted {
            count!($prefix, (newest_prediction_join!()))
        } else {
            count!($prefix, (no_prediction!()))
        };
        (rank, count)
    }};
}

fn statements(
    sort: &MoleculeSort,
    dir: Direction,
    predicted: bool,
) -> (&'static str, &'static str) {
    statements!("", sort, dir, predicted)
}

fn explained(sort: &MoleculeSort, dir: Direction, predicted: bool) -> (&'static str, &'static str) {
    statements!(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ",
        sort,
        dir,
        predicted
    )
}

/// Bind the parameters every ranking statement (and the count) numbers alike.
fn bind_all<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    sort: &'q MoleculeSort,
    f: &MoleculeFilters<'q>,
    after: Option<&'q Cursor>,
    limit: i64,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    let (number, text, tail) = match after.map(|c| &c.value) {
        Some(CursorValue::Number(n)) => (Some(*n), None, false),
        Some(CursorValue::Text(t)) => (None, Some(t.as_str()), false),
        Some(CursorValue::Missing) => (None, None, true),
        None => (None, None, false),
    };
    let property = match sort {
        MoleculeSort::Property(name) => Some(name.as_str()),
        _ => None,
    };
    q.bind(limit)
        .bind(number)
        .bind(text)
        .bind(after.map(|c| c.id))
        .bind(tail)
        .bind(f.text)
        .bind(f.project)
        .bind(f.team)
        .bind(f.owner)
        .bind(f.reference)
        .bind(f.molecular_weight.min)
        .bind(f.molecular_weight.max)
        .bind(f.logp.min)
        .bind(f.logp.max)
        .bind(f.tpsa.min)
        .bind(f.tpsa.max)
        .bind(f.score.min)
        .bind(f.score.max)
        .bind(f.qed.min)
        .bind(f.qed.max)
        .bind(f.max_alerts)
        .bind(f.predicted)
        .bind(f.predicted_value.min)
        .bind(f.predicted_value.max)
        .bind(f.max_interval_width)
        .bind(f.domain.map(DomainFlag::as_str))
        .bind(property)
}

/// One page of the molecules the caller can read that pass `filters`, ordered by `sort` in
/// `dir` (rows lacking the value last, by id), starting after `after`; with the total count.
pub async fn rank_molecules(
    conn: &mut Conn,
    q: &RankQuery<'_>,
) -> Result<RankedPage<RankedMolecule>, DbError> {
    let RankQuery {
        sort,
        dir,
        filters,
        after,
        limit,
    } = *q;
    plan_settings(conn).await?;
    let (rank, count) = statements(sort, dir, filters.predicted.is_some());
    let rows: Vec<RankedRow> = bind_all(sqlx::query_as(rank), sort, filters, after, limit + 1)
        .fetch_all(&mut *conn)
        .await?;
    let (total,): (i64,) = bind_all(sqlx::query_as(count), sort, filters, None, limit)
        .fetch_one(&mut *conn)
        .await?;
    let more = rows.len() as i64 > limit;
    let mut rows = rows;
    rows.truncate(limit.max(0) as usize);
    let next = if more {
        rows.last().map(RankedRow::cursor)
    } else {
        None
    };
    Ok(RankedPage {
        items: rows.into_iter().map(RankedRow::ranked).collect(),
        total,
        next,
    })
}

/// The filters are `$n IS NULL OR …`: planned for the values at hand, the unused ones fold away
/// and the rest can use indexes; a generic plan would keep every branch. And without parallel
/// workers an Append reads its branches one after the other, so a page's order is the ranked
/// branch's, then the tail's, and the tail is not read at all when the page is full. No JIT:
/// the tail's estimate (every molecule) crosses `jit_above_cost`, and compiling it took 4–5 s
/// at 100k molecules for a page that reads 51 rows in 10 ms.
async fn plan_settings(conn: &mut Conn) -> Result<(), DbError> {
    sqlx::query(
        "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
                set_config('max_parallel_workers_per_gather', '0', true),
                set_config('jit', 'off', true)",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What PostgreSQL does for [`rank_molecules`] with these arguments: the plan of the page's
/// statement, run (`EXPLAIN ANALYZE`), then the count's.
pub async fn explain_rank_molecules(
    conn: &mut Conn,
    q: &RankQuery<'_>,
) -> Result<Vec<String>, DbError> {
    let RankQuery {
        sort,
        dir,
        filters,
        after,
        limit,
    } = *q;
    plan_settings(conn).await?;
    let (rank, count) = explained(sort, dir, filters.predicted.is_some());
    let mut lines: Vec<String> = bind_all(sqlx::query_as(rank), sort, filters, after, limit + 1)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(line,): (String,)| line)
        .collect();
    lines.push(String::new());
    lines.extend(
        bind_all(sqlx::query_as(count), sort, filters, None, limit)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(line,): (String,)| line),
    );
    Ok(lines)
}
