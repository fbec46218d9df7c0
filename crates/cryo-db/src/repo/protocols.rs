//! CPA loading and removal protocols, kept per mixture: their steps, the problem they were
//! designed for and what the server's re-simulation of them gave.

use super::{Conn, Page};
use crate::DbError;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProtocolRow {
    pub id: Uuid,
    pub mixture_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub sample_type: String,
    /// stepwise, fewest_steps, toxicity_optimal, shortest_time or manual; none for protocols
    /// saved before designs were.
    pub designer: Option<String>,
    /// The steps: medium, duration_min, start_temperature_k (cryo-physics' `Step`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub steps: serde_json::Value,
    /// The design problem (cell, direction, target, temperature_k, limits, …).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub problem: Option<serde_json::Value>,
    /// The toxicity model the cost is computed with.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub toxicity: Option<serde_json::Value>,
    pub total_time_min: Option<f64>,
    pub toxicity_cost: Option<f64>,
    pub min_relative_volume: Option<f64>,
    pub max_relative_volume: Option<f64>,
    /// Whether the steps kept the cell within the limits and reached the endpoint.
    pub within_limits: Option<bool>,
    /// Total permeating CPA when loaded, osmol/L.
    pub target_concentration: Option<f64>,
    pub starting_temperature_c: Option<f64>,
    pub project_id: Option<Uuid>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub struct NewProtocol<'a> {
    pub mixture_id: Uuid,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub sample_type: &'a str,
    pub designer: &'a str,
    pub steps: serde_json::Value,
    pub problem: serde_json::Value,
    pub toxicity: serde_json::Value,
    pub total_time_min: f64,
    pub toxicity_cost: f64,
    pub min_relative_volume: f64,
    pub max_relative_volume: f64,
    pub within_limits: bool,
    pub target_concentration: f64,
    pub temperature_c: f64,
    pub project_id: Option<Uuid>,
}

macro_rules! protocol_columns {
    () => {
        "id, mixture_id, name, description, sample_type, designer, steps, problem, toxicity,
            total_time_min, toxicity_cost, min_relative_volume, max_relative_volume, within_limits,
            target_concentration, starting_temperature_c, project_id, created_by, created_at"
    };
}

pub async fn create_protocol(
    conn: &mut Conn,
    owner: Uuid,
    p: NewProtocol<'_>,
) -> Result<ProtocolRow, DbError> {
    let sql = concat!(
        "INSERT INTO protocols (mixture_id, name, description, sample_type, designer, steps, problem,
            toxicity, total_time_min, toxicity_cost, min_relative_volume, max_relative_volume,
            within_limits, target_concentration, starting_temperature_c, target_temperature_c,
            project_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17)
         RETURNING ",
        protocol_columns!()
    );
    Ok(sqlx::query_as(sql)
        .bind(p.mixture_id)
        .bind(p.name)
        .bind(p.description)
        .bind(p.sample_type)
        .bind(p.designer)
        .bind(p.steps)
        .bind(p.problem)
        .bind(p.toxicity)
        .bind(p.total_time_min)
        .bind(p.toxicity_cost)
        .bind(p.min_relative_volume)
        .bind(p.max_relative_volume)
        .bind(p.within_limits)
        .bind(p.target_concentration)
        .bind(p.temperature_c)
        .bind(p.project_id)
        .bind(owner)
        .fetch_one(conn)
        .await?)
}

pub async fn get_protocol(conn: &mut Conn, id: Uuid) -> Result<Option<ProtocolRow>, DbError> {
    let sql = concat!(
        "SELECT ",
        protocol_columns!(),
        " FROM protocols WHERE id = $1"
    );
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// Visible protocols, of one mixture when given, newest first.
pub async fn list_protocols(
    conn: &mut Conn,
    mixture: Option<Uuid>,
    page: Page,
) -> Result<Vec<ProtocolRow>, DbError> {
    let sql = concat!(
        "SELECT ",
        protocol_columns!(),
        " FROM protocols WHERE ($1::uuid IS NULL OR mixture_id = $1)
         ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    );
    Ok(sqlx::query_as(sql)
        .bind(mixture)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(conn)
        .await?)
}
