//! Toxicity assay data: the reference assays with their endpoints, and measured activities.

use super::Conn;
use crate::DbError;
use cryo_core::toxicity::ASSAY_PROPERTY_PREFIX;
use serde::Serialize;
use uuid::Uuid;

// The endpoint an assay `a` informs: its most relevant mapped one, `other` when unmapped.
macro_rules! assay_endpoint {
    () => {
        "coalesce((SELECT e.name FROM toxicity_assay_endpoints x JOIN toxicity_endpoints e ON e.id = x.endpoint_id
                   WHERE x.assay_id = a.id ORDER BY x.relevance DESC, e.id LIMIT 1), 'other')"
    };
}

/// An assay and the endpoint it informs.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssayRow {
    pub id: Uuid,
    pub source: String,
    pub assay_key: String,
    pub name: String,
    /// Endpoint name (`cryo_core::toxicity::Endpoint`), `other` when unmapped.
    pub endpoint: String,
    pub relevance: f64,
}

/// Every assay with its endpoint (the most relevant one when several).
pub async fn assays(conn: &mut Conn) -> Result<Vec<AssayRow>, DbError> {
    Ok(sqlx::query_as(
        concat!(
            "SELECT a.id, s.name AS source, a.assay_key, a.name, ",
            assay_endpoint!(),
            " AS endpoint,
                coalesce((SELECT max(x.relevance) FROM toxicity_assay_endpoints x WHERE x.assay_id = a.id), 1) AS relevance
             FROM toxicity_assays a
             JOIN toxicity_sources s ON s.id = a.source_id
             ORDER BY s.name, a.assay_key"
        ),
    )
    .fetch_all(conn)
    .await?)
}

/// One measurement to store.
#[derive(Debug, Clone)]
pub struct NewActivity<'a> {
    pub molecule_id: Uuid,
    pub assay_id: Uuid,
    pub hit_call: Option<bool>,
    pub activity_type: Option<&'a str>,
    pub potency: Option<f64>,
    pub potency_unit: Option<&'a str>,
    pub reliability: f64,
    pub provenance: Option<&'a str>,
}

/// Insert or replace the caller's measurement of (molecule, assay); `owner` None stores a
/// reference measurement (service_role). Returns true when it was new.
pub async fn upsert_activity(
    conn: &mut Conn,
    owner: Option<Uuid>,
    a: &NewActivity<'_>,
) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO toxicity_activities (molecule_id, assay_id, hit_call, activity_type, potency, potency_unit,
                                          reliability, provenance, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT ON CONSTRAINT toxicity_activities_one_per_owner DO UPDATE
            SET hit_call = excluded.hit_call, activity_type = excluded.activity_type, potency = excluded.potency,
                potency_unit = excluded.potency_unit, reliability = excluded.reliability,
                provenance = excluded.provenance
         RETURNING xmax = 0",
    )
    .bind(a.molecule_id)
    .bind(a.assay_id)
    .bind(a.hit_call)
    .bind(a.activity_type)
    .bind(a.potency)
    .bind(a.potency_unit)
    .bind(a.reliability)
    .bind(a.provenance)
    .bind(owner)
    .fetch_one(conn)
    .await?)
}

/// A stored measurement as callers see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityRow {
    pub id: Uuid,
    pub molecule_id: Uuid,
    pub source: String,
    pub assay_key: String,
    pub endpoint: String,
    pub hit_call: Option<bool>,
    pub activity_type: Option<String>,
    pub potency: Option<f64>,
    pub potency_unit: Option<String>,
    pub reliability: f64,
    pub provenance: Option<String>,
    /// None for reference data.
    pub created_by: Option<Uuid>,
}

/// Every visible measurement of these molecules (scores read them all; listings cut after).
pub async fn activities(conn: &mut Conn, molecules: &[Uuid]) -> Result<Vec<ActivityRow>, DbError> {
    Ok(sqlx::query_as(concat!(
        "SELECT t.id, t.molecule_id, s.name AS source, a.assay_key, ",
        assay_endpoint!(),
        " AS endpoint,
                t.hit_call, t.activity_type, t.potency, t.potency_unit, t.reliability, t.provenance, t.created_by
         FROM toxicity_activities t
         JOIN toxicity_assays a ON a.id = t.assay_id
         JOIN toxicity_sources s ON s.id = a.source_id
         WHERE t.molecule_id = ANY($1)
         ORDER BY t.molecule_id, s.name, a.assay_key, t.created_by NULLS FIRST"
    ))
    .bind(molecules)
    .fetch_all(conn)
    .await?)
}

/// The visible molecule with this InChIKey: the caller's own first, then a reference one.
pub async fn molecule_by_inchikey(
    conn: &mut Conn,
    owner: Option<Uuid>,
    inchikey: &str,
) -> Result<Option<Uuid>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM molecules WHERE inchikey = $1
           AND ((created_by = $2 AND NOT is_reference) OR is_reference)
         ORDER BY is_reference, created_at LIMIT 1",
    )
    .bind(inchikey)
    .bind(owner)
    .fetch_optional(conn)
    .await?)
}

/// Give stored molecules that have none the identifiers computed now (molecules with stereo
/// registered before stereo InChI existed).
pub async fn set_missing_identifiers(
    conn: &mut Conn,
    id: Uuid,
    inchi: &str,
    inchikey: &str,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE molecules SET inchi = $2, inchikey = $3 WHERE id = $1 AND inchikey IS NULL",
    )
    .bind(id)
    .bind(inchi)
    .bind(inchikey)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Molecules with stereo marks in their SMILES and no InChIKey: (id, canonical SMILES).
pub async fn molecules_missing_identifiers(
    conn: &mut Conn,
    limit: i64,
) -> Result<Vec<(Uuid, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, canonical_smiles FROM molecules
         WHERE inchikey IS NULL AND canonical_smiles ~ '[@/\\\\]' ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A stored classifier prediction of an assay's hit call (property `Toxicity: <assay key>`).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictedActivity {
    pub prediction_id: Uuid,
    pub molecule_id: Uuid,
    pub assay_key: String,
    pub endpoint: String,
    /// The calibrated probability that the molecule is active in the assay.
    pub probability_active: f64,
    /// Where the molecule stood in the model's applicability domain.
    pub domain_flag: Option<String>,
}

/// The latest visible stored prediction of each assay for these molecules.
pub async fn predicted_activities(
    conn: &mut Conn,
    molecules: &[Uuid],
) -> Result<Vec<PredictedActivity>, DbError> {
    Ok(sqlx::query_as(concat!(
        "SELECT DISTINCT ON (p.molecule_id, a.assay_key)
                    p.id AS prediction_id, p.molecule_id, a.assay_key, ",
        assay_endpoint!(),
        " AS endpoint,
                    (p.class_probabilities ->> 'true')::float8 AS probability_active, p.domain_flag
             FROM predictions p
             JOIN property_types t ON t.id = p.property_type_id
             JOIN toxicity_assays a ON t.name = $2 || a.assay_key
             WHERE p.molecule_id = ANY($1) AND p.class_probabilities ? 'true'
             ORDER BY p.molecule_id, a.assay_key, p.created_at DESC, p.id"
    ))
    .bind(molecules)
    .bind(ASSAY_PROPERTY_PREFIX)
    .fetch_all(conn)
    .await?)
}
