//! Molecules, their properties, mixtures, experiments, lab verifications and predictions.

use super::{Conn, Page};
use crate::DbError;
use cryo_core::ident::{DomainFlag, VerificationStatus};
use cryo_core::units::ConcentrationUnit;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// The stored cryoprotection score of the molecule aliased `m`.
macro_rules! score_of_m {
    () => {
        "(SELECT p.numeric_value FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
          WHERE p.molecule_id = m.id AND t.name = 'Cryoprotection Score' ORDER BY p.updated_at DESC LIMIT 1)"
    };
}

/// Everything computed about a structure before it is stored.
#[derive(Debug, Clone)]
pub struct NewMolecule {
    pub name: Option<String>,
    pub canonical_smiles: String,
    pub inchi: Option<String>,
    pub inchikey: Option<String>,
    pub formula: String,
    pub molecular_weight: f64,
    pub pubchem_cid: Option<i32>,
    pub data_source: Option<String>,
    pub project_id: Option<Uuid>,
    pub morgan_fp: Vec<u8>,
    pub murcko_scaffold: Option<String>,
    pub density_g_per_ml: Option<f64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Molecule))]
pub struct MoleculeRow {
    pub id: Uuid,
    pub name: Option<String>,
    pub canonical_smiles: String,
    pub inchi: Option<String>,
    pub inchikey: Option<String>,
    pub formula: Option<String>,
    pub molecular_weight: Option<f64>,
    pub pubchem_cid: Option<i32>,
    pub data_source: Option<String>,
    pub is_reference: bool,
    pub project_id: Option<Uuid>,
    pub murcko_scaffold: Option<String>,
    pub density_g_per_ml: Option<f64>,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The stored cryoprotection score, when computed.
    pub score: Option<f64>,
    /// Key stored descriptors (RDKit), for tables.
    pub logp: Option<f64>,
    /// Topological polar surface area, Å².
    pub tpsa: Option<f64>,
    pub h_bond_donors: Option<f64>,
    pub h_bond_acceptors: Option<f64>,
    /// Structural alerts over every family (stored at registration; null when not computed).
    pub alerts: Option<f64>,
    /// Quantitative estimate of drug-likeness (stored at registration).
    pub qed: Option<f64>,
}

// Scalar subqueries rather than a lateral join: with ORDER BY … LIMIT, PostgreSQL evaluates
// them only for the rows returned.
macro_rules! molecule_columns {
    () => {
        "m.id, m.name, m.canonical_smiles, m.inchi, m.inchikey, m.formula, m.molecular_weight,
        m.pubchem_cid, m.data_source, m.is_reference, m.project_id, m.murcko_scaffold, m.density_g_per_ml,
        m.created_by, m.created_at,
        (SELECT p.numeric_value FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
         WHERE p.molecule_id = m.id AND t.name = 'Cryoprotection Score' ORDER BY p.updated_at DESC LIMIT 1) AS score,
        (SELECT p.numeric_value FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
         WHERE p.molecule_id = m.id AND t.name = 'LogP' ORDER BY p.updated_at DESC LIMIT 1) AS logp,
        (SELECT p.numeric_value FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
         WHERE p.molecule_id = m.id AND t.name = 'TPSA' ORDER BY p.updated_at DESC LIMIT 1) AS tpsa,
        (SELECT p.numeric_value FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
         WHERE p.molecule_id = m.id AND t.name = 'H-Bond Donors' ORDER BY p.updated_at DESC LIMIT 1) AS h_bond_donors,
        (SELECT p.numeric_value FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
         WHERE p.molecule_id = m.id AND t.name = 'H-Bond Acceptors' ORDER BY p.updated_at DESC LIMIT 1) AS h_bond_acceptors,
        (SELECT sum(p.numeric_value) FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
         WHERE p.molecule_id = m.id AND t.name LIKE 'Alerts: %') AS alerts,
        (SELECT p.numeric_value FROM molecular_properties p JOIN property_types t ON t.id = p.property_type_id
         WHERE p.molecule_id = m.id AND t.name = 'QED' ORDER BY p.updated_at DESC LIMIT 1) AS qed"
    };
}
pub(crate) use molecule_columns;

macro_rules! molecule_select {
    () => {
        concat!("SELECT ", molecule_columns!(), " FROM molecules m")
    };
}

/// Insert molecules for `owner` (None: reference molecules) in two statements whatever their
/// number, reusing the row an existing structure of the same owner has: each answered with its
/// id and whether it was created, in input order. Repeats within the batch are one molecule,
/// created by its first occurrence.
pub async fn upsert_molecules(
    conn: &mut Conn,
    owner: Option<Uuid>,
    ms: &[&NewMolecule],
) -> Result<Vec<(Uuid, bool)>, DbError> {
    if ms.is_empty() {
        return Ok(Vec::new());
    }
    let col =
        |f: &dyn Fn(&NewMolecule) -> Option<String>| ms.iter().map(|m| f(m)).collect::<Vec<_>>();
    let inserted: Vec<(Uuid, String)> = sqlx::query_as(
        "INSERT INTO molecules (name, canonical_smiles, inchi, inchikey, formula, molecular_weight, pubchem_cid,
                                data_source, project_id, morgan_fp, murcko_scaffold, density_g_per_ml,
                                is_reference, created_by)
         SELECT v.name, v.canonical_smiles, v.inchi, v.inchikey, v.formula, v.molecular_weight, v.pubchem_cid,
                v.data_source, v.project_id, v.morgan_fp, v.murcko_scaffold, v.density_g_per_ml,
                $13 IS NULL, $13
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::int4[],
                     $8::text[], $9::uuid[], $10::bytea[], $11::text[], $12::float8[])
              WITH ORDINALITY AS v(name, canonical_smiles, inchi, inchikey, formula, molecular_weight,
                                   pubchem_cid, data_source, project_id, morgan_fp, murcko_scaffold,
                                   density_g_per_ml, n)
         ORDER BY v.n
         ON CONFLICT DO NOTHING
         RETURNING id, canonical_smiles",
    )
    .bind(col(&|m| m.name.clone()))
    .bind(ms.iter().map(|m| m.canonical_smiles.clone()).collect::<Vec<_>>())
    .bind(col(&|m| m.inchi.clone()))
    .bind(col(&|m| m.inchikey.clone()))
    .bind(ms.iter().map(|m| m.formula.clone()).collect::<Vec<_>>())
    .bind(ms.iter().map(|m| m.molecular_weight).collect::<Vec<_>>())
    .bind(ms.iter().map(|m| m.pubchem_cid).collect::<Vec<_>>())
    .bind(col(&|m| m.data_source.clone()))
    .bind(ms.iter().map(|m| m.project_id).collect::<Vec<_>>())
    .bind(ms.iter().map(|m| m.morgan_fp.clone()).collect::<Vec<_>>())
    .bind(col(&|m| m.murcko_scaffold.clone()))
    .bind(ms.iter().map(|m| m.density_g_per_ml).collect::<Vec<_>>())
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids: std::collections::HashMap<String, (Uuid, bool)> = inserted
        .into_iter()
        .map(|(id, smiles)| (smiles, (id, true)))
        .collect();
    let missing: Vec<String> = ms
        .iter()
        .filter(|m| !ids.contains_key(&m.canonical_smiles))
        .map(|m| m.canonical_smiles.clone())
        .collect();
    if !missing.is_empty() {
        let existing: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT id, canonical_smiles FROM molecules WHERE canonical_smiles = ANY ($1)
               AND ((created_by = $2 AND NOT is_reference) OR ($2 IS NULL AND is_reference))",
        )
        .bind(&missing)
        .bind(owner)
        .fetch_all(&mut *conn)
        .await?;
        for (id, smiles) in existing {
            ids.entry(smiles).or_insert((id, false));
        }
    }
    let mut seen = std::collections::HashSet::new();
    ms.iter()
        .map(|m| {
            let &(id, created) = ids.get(&m.canonical_smiles).ok_or_else(|| {
                DbError::Refused(format!(
                    "molecule {} was neither stored nor found",
                    m.canonical_smiles
                ))
            })?;
            // A repeat within the batch found the row its first occurrence created.
            Ok((id, created && seen.insert(id)))
        })
        .collect()
}

/// A property value to store, by property-type and calculation-method name.
#[derive(Debug, Clone)]
pub struct PropertyValue<'a> {
    pub property: &'a str,
    pub method: &'a str,
    pub method_version: &'a str,
    pub value: f64,
}

/// Store computed properties (replacing earlier values of the same property and method).
pub async fn store_properties(
    conn: &mut Conn,
    molecule: Uuid,
    values: &[PropertyValue<'_>],
) -> Result<(), DbError> {
    for v in values {
        sqlx::query(
            "INSERT INTO molecular_properties (molecule_id, property_type_id, calculation_method_id, numeric_value)
             SELECT $1, t.id, c.id, $5 FROM property_types t, calculation_methods c
             WHERE t.name = $2 AND c.name = $3 AND c.version = $4
             ON CONFLICT (molecule_id, property_type_id, calculation_method_id)
             DO UPDATE SET numeric_value = excluded.numeric_value",
        )
        .bind(molecule)
        .bind(v.property)
        .bind(v.method)
        .bind(v.method_version)
        .bind(v.value)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// [`store_properties`] for many molecules in one statement.
pub async fn store_properties_of_many(
    conn: &mut Conn,
    values: &[(Uuid, PropertyValue<'_>)],
) -> Result<(), DbError> {
    if values.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO molecular_properties (molecule_id, property_type_id, calculation_method_id, numeric_value)
         SELECT v.molecule, t.id, c.id, v.value
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[])
              AS v(molecule, property, method, version, value)
         JOIN property_types t ON t.name = v.property
         JOIN calculation_methods c ON c.name = v.method AND c.version = v.version
         ON CONFLICT (molecule_id, property_type_id, calculation_method_id)
         DO UPDATE SET numeric_value = excluded.numeric_value",
    )
    .bind(values.iter().map(|(m, _)| *m).collect::<Vec<_>>())
    .bind(values.iter().map(|(_, v)| v.property).collect::<Vec<_>>())
    .bind(values.iter().map(|(_, v)| v.method).collect::<Vec<_>>())
    .bind(values.iter().map(|(_, v)| v.method_version).collect::<Vec<_>>())
    .bind(values.iter().map(|(_, v)| v.value).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Make sure a calculation method (name, version) exists. Service role only.
pub async fn ensure_method(
    conn: &mut Conn,
    name: &str,
    version: &str,
    description: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO calculation_methods (name, version, description) VALUES ($1, $2, $3)
         ON CONFLICT (name, version) DO NOTHING",
    )
    .bind(name)
    .bind(version)
    .bind(description)
    .execute(conn)
    .await?;
    Ok(())
}

/// A property type, unless one of that name exists (service role: reference data).
pub async fn ensure_property_type(
    conn: &mut Conn,
    name: &str,
    description: &str,
    units: Option<&str>,
    data_type: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO property_types (name, description, units, data_type) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(description)
    .bind(units)
    .bind(data_type)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_molecule(conn: &mut Conn, id: Uuid) -> Result<Option<MoleculeRow>, DbError> {
    let sql = concat!(molecule_select!(), " WHERE m.id = $1");
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// Molecules visible to the caller, optionally filtered by a case-insensitive name fragment.
/// Visible molecules by name fragment (or exact SMILES), and with at most `max_alerts`
/// structural alerts when given (molecules whose alerts were never computed are left out then).
pub async fn list_molecules(
    conn: &mut Conn,
    name: Option<&str>,
    max_alerts: Option<i32>,
    page: Page,
) -> Result<Vec<MoleculeRow>, DbError> {
    let sql = concat!(molecule_select!(), " WHERE ($1::text IS NULL OR lower(m.name) LIKE '%' || lower($1) || '%' OR m.canonical_smiles = $1)
           AND ($4::int IS NULL OR (SELECT sum(p.numeric_value) FROM molecular_properties p
                                    JOIN property_types t ON t.id = p.property_type_id
                                    WHERE p.molecule_id = m.id AND t.name LIKE 'Alerts: %') <= $4)
         ORDER BY m.is_reference DESC, lower(m.name), m.id LIMIT $2 OFFSET $3");
    Ok(sqlx::query_as(sql)
        .bind(name)
        .bind(page.limit)
        .bind(page.offset)
        .bind(max_alerts)
        .fetch_all(conn)
        .await?)
}

/// How many visible molecules share a Bemis–Murcko scaffold, and the best stored score among
/// them (an empty scaffold: acyclic molecules).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScaffoldCount {
    pub scaffold: String,
    pub molecules: i64,
    /// The highest cryoprotection score among them, when any is scored.
    pub best_score: Option<f64>,
}

/// Scaffolds of the visible molecules, most frequent first (then best score, then scaffold).
pub async fn scaffold_counts(conn: &mut Conn, page: Page) -> Result<Vec<ScaffoldCount>, DbError> {
    Ok(sqlx::query_as(
        // A molecule without rings is stored with no scaffold: it counts as the empty one.
        "SELECT coalesce(m.murcko_scaffold, '') AS scaffold, count(*) AS molecules, max(s.score) AS best_score
         FROM molecules m
         LEFT JOIN LATERAL (
             SELECT p.numeric_value AS score FROM molecular_properties p
             JOIN property_types t ON t.id = p.property_type_id
             WHERE p.molecule_id = m.id AND t.name = 'Cryoprotection Score'
             ORDER BY p.updated_at DESC LIMIT 1) s ON true
         GROUP BY coalesce(m.murcko_scaffold, '')
         ORDER BY count(*) DESC, max(s.score) DESC NULLS LAST, coalesce(m.murcko_scaffold, '')
         LIMIT $1 OFFSET $2",
    )
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await?)
}

/// (id, fingerprint) of every visible molecule, for similarity search.
pub async fn fingerprints(conn: &mut Conn) -> Result<Vec<(Uuid, Vec<u8>)>, DbError> {
    Ok(
        sqlx::query_as("SELECT id, morgan_fp FROM molecules WHERE morgan_fp IS NOT NULL")
            .fetch_all(conn)
            .await?,
    )
}

/// (id, canonical SMILES) of every visible molecule, for substructure search.
pub async fn structures(conn: &mut Conn) -> Result<Vec<(Uuid, String)>, DbError> {
    Ok(
        sqlx::query_as("SELECT id, canonical_smiles FROM molecules ORDER BY id")
            .fetch_all(conn)
            .await?,
    )
}

pub async fn molecules_by_ids(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<MoleculeRow>, DbError> {
    let sql = concat!(molecule_select!(), " WHERE m.id = ANY($1)");
    Ok(sqlx::query_as(sql).bind(ids).fetch_all(conn).await?)
}

/// Rename a molecule and/or set its density (g/mL); `None` leaves a field as it is.
pub async fn update_molecule(
    conn: &mut Conn,
    id: Uuid,
    name: Option<&str>,
    density_g_per_ml: Option<f64>,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE molecules SET name = coalesce($2, name), density_g_per_ml = coalesce($3, density_g_per_ml)
         WHERE id = $1",
    )
        .bind(id)
        .bind(name)
        .bind(density_g_per_ml)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredProperty {
    pub property: String,
    pub units: Option<String>,
    pub method: String,
    pub method_version: String,
    pub numeric_value: Option<f64>,
    pub text_value: Option<String>,
    pub boolean_value: Option<bool>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub async fn molecule_properties(
    conn: &mut Conn,
    id: Uuid,
) -> Result<Vec<StoredProperty>, DbError> {
    Ok(sqlx::query_as(
        "SELECT t.name AS property, t.units, c.name AS method, c.version AS method_version,
                p.numeric_value, p.text_value, p.boolean_value, p.updated_at
         FROM molecular_properties p
         JOIN property_types t ON t.id = p.property_type_id
         JOIN calculation_methods c ON c.id = p.calculation_method_id
         WHERE p.molecule_id = $1 ORDER BY t.name, c.name",
    )
    .bind(id)
    .fetch_all(conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mixture {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub project_id: Option<Uuid>,
    pub created_by: Uuid,
    /// The number of the current composition (its history is [`mixture_versions`]).
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The columns of [`ComponentRow`] over a component `c` and its molecule `m`.
macro_rules! component_columns {
    () => {
        concat!(
            "c.molecule_id, m.name AS molecule_name, m.canonical_smiles, m.inchikey, m.molecular_weight,
             m.density_g_per_ml, c.concentration, c.concentration_unit::text, ",
            score_of_m!(),
            " AS score"
        )
    };
}

/// The columns of [`Mixture`], for every statement that reads one.
macro_rules! mixture_columns {
    () => {
        "id, name, description, project_id, created_by, version, created_at, updated_at"
    };
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Component))]
pub struct ComponentRow {
    pub molecule_id: Uuid,
    pub molecule_name: Option<String>,
    pub canonical_smiles: String,
    /// Standard InChIKey: what the reference constants of `cryo_core::solution` are keyed by.
    pub inchikey: Option<String>,
    pub molecular_weight: Option<f64>,
    pub density_g_per_ml: Option<f64>,
    pub concentration: f64,
    #[sqlx(try_from = "String")]
    pub concentration_unit: ConcentrationUnit,
    /// The component molecule's stored cryoprotection score.
    pub score: Option<f64>,
}

pub struct NewComponent {
    pub molecule_id: Uuid,
    pub concentration: f64,
    pub unit: ConcentrationUnit,
}

pub async fn create_mixture(
    conn: &mut Conn,
    owner: Uuid,
    name: &str,
    description: Option<&str>,
    project: Option<Uuid>,
    components: &[NewComponent],
) -> Result<Mixture, DbError> {
    let mixture: Mixture = sqlx::query_as(concat!(
        "INSERT INTO mixtures (name, description, project_id, created_by) VALUES ($1, $2, $3, $4)
         RETURNING ",
        mixture_columns!()
    ))
    .bind(name)
    .bind(description)
    .bind(project)
    .bind(owner)
    .fetch_one(&mut *conn)
    .await?;
    insert_current_components(conn, mixture.id, components).await?;
    insert_version(
        conn,
        owner,
        mixture.id,
        1,
        Some("composition at creation"),
        components,
    )
    .await?;
    Ok(mixture)
}

/// Every component in one statement, whatever their number.
async fn insert_current_components(
    conn: &mut Conn,
    mixture: Uuid,
    components: &[NewComponent],
) -> Result<(), DbError> {
    let (molecules, amounts, units) = component_arrays(components);
    // Components are read back in the order given: one statement stamps every row with the
    // same now(), so each gets a microsecond more than the one before.
    sqlx::query(
        "INSERT INTO mixture_components (mixture_id, molecule_id, concentration, concentration_unit, created_at)
         SELECT $1, c.molecule_id, c.concentration, c.unit, now() + c.n * interval '1 microsecond'
         FROM unnest($2::uuid[], $3::float8[], $4::text[]) WITH ORDINALITY AS c (molecule_id, concentration, unit, n)",
    )
    .bind(mixture)
    .bind(&molecules)
    .bind(&amounts)
    .bind(&units)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn component_arrays(components: &[NewComponent]) -> (Vec<Uuid>, Vec<f64>, Vec<&'static str>) {
    (
        components.iter().map(|c| c.molecule_id).collect(),
        components.iter().map(|c| c.concentration).collect(),
        components.iter().map(|c| c.unit.as_str()).collect(),
    )
}

/// Record `components` as version `version` of `mixture`, written by `author`.
async fn insert_version(
    conn: &mut Conn,
    author: Uuid,
    mixture: Uuid,
    version: i64,
    note: Option<&str>,
    components: &[NewComponent],
) -> Result<(), DbError> {
    let (molecules, amounts, units) = component_arrays(components);
    // Two statements: a policy's subquery does not see rows a CTE of its own statement inserts.
    let version_id: Uuid = sqlx::query_scalar(
        "INSERT INTO mixture_versions (mixture_id, version, note, created_by) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(mixture)
    .bind(version)
    .bind(note)
    .bind(author)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO mixture_version_components (version_id, molecule_id, concentration, concentration_unit, position)
         SELECT $1, c.molecule_id, c.concentration, c.unit::concentration_unit, c.n
         FROM unnest($2::uuid[], $3::float8[], $4::text[]) WITH ORDINALITY AS c (molecule_id, concentration, unit, n)",
    )
    .bind(version_id)
    .bind(&molecules)
    .bind(&amounts)
    .bind(&units)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Why a new composition was not saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompositionRefused {
    /// The caller cannot write the mixture (or cannot see it).
    NotWritable,
    /// Someone saved another composition since the one the caller edited.
    Stale { current: i64 },
}

/// Save `components` as the mixture's next version and make it current, if the caller may write
/// the mixture and (when `base` is given) its current version is still `base`. The mixture row
/// is locked first, so concurrent edits serialise and each gets its own number.
pub async fn save_composition(
    conn: &mut Conn,
    author: Uuid,
    mixture: Uuid,
    base: Option<i64>,
    note: Option<&str>,
    components: &[NewComponent],
) -> Result<Result<Mixture, CompositionRefused>, DbError> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT version FROM mixtures WHERE id = $1 FOR UPDATE")
            .bind(mixture)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(current) = current else {
        return Ok(Err(CompositionRefused::NotWritable));
    };
    if base.is_some_and(|b| b != current) {
        return Ok(Err(CompositionRefused::Stale { current }));
    }
    let next = current + 1;
    insert_version(conn, author, mixture, next, note, components).await?;
    sqlx::query("DELETE FROM mixture_components WHERE mixture_id = $1")
        .bind(mixture)
        .execute(&mut *conn)
        .await?;
    insert_current_components(conn, mixture, components).await?;
    let updated: Mixture = sqlx::query_as(concat!(
        "UPDATE mixtures SET version = $2 WHERE id = $1 RETURNING ",
        mixture_columns!()
    ))
    .bind(mixture)
    .bind(next)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Ok(updated))
}

/// One saved composition of a mixture.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MixtureVersion {
    pub id: Uuid,
    pub version: i64,
    pub note: Option<String>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Experiments recorded with this composition (that the caller can see).
    pub experiments: i64,
}

/// The mixture's saved compositions, newest first.
pub async fn mixture_versions(
    conn: &mut Conn,
    mixture: Uuid,
) -> Result<Vec<MixtureVersion>, DbError> {
    Ok(sqlx::query_as(
        "SELECT v.id, v.version, v.note, v.created_by, v.created_at,
                (SELECT count(*) FROM experiments e WHERE e.mixture_version_id = v.id) AS experiments
         FROM mixture_versions v WHERE v.mixture_id = $1 ORDER BY v.version DESC",
    )
    .bind(mixture)
    .fetch_all(conn)
    .await?)
}

/// The components of version `version` of a mixture, or none when there is no such version.
pub async fn version_components(
    conn: &mut Conn,
    mixture: Uuid,
    version: i64,
) -> Result<Vec<ComponentRow>, DbError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        component_columns!(),
        "
         FROM mixture_versions v
         JOIN mixture_version_components c ON c.version_id = v.id
         JOIN molecules m ON m.id = c.molecule_id
         WHERE v.mixture_id = $1 AND v.version = $2 ORDER BY c.position"
    ))
    .bind(mixture)
    .bind(version)
    .fetch_all(conn)
    .await?)
}

pub async fn get_mixture(conn: &mut Conn, id: Uuid) -> Result<Option<Mixture>, DbError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        mixture_columns!(),
        " FROM mixtures WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn list_mixtures(conn: &mut Conn, page: Page) -> Result<Vec<Mixture>, DbError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        mixture_columns!(),
        " FROM mixtures ORDER BY created_at DESC, id LIMIT $1 OFFSET $2"
    ))
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(conn)
    .await?)
}

/// What a mixture component needs to know of its molecule, for the molecules among `ids` the
/// caller can see (one query, before anything is written).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComponentMoleculeRow {
    pub id: Uuid,
    pub name: Option<String>,
    pub canonical_smiles: String,
    pub inchikey: Option<String>,
    pub molecular_weight: Option<f64>,
    pub density_g_per_ml: Option<f64>,
    /// The molecule's stored cryoprotection score.
    pub score: Option<f64>,
}

pub async fn component_molecules(
    conn: &mut Conn,
    ids: &[Uuid],
) -> Result<Vec<ComponentMoleculeRow>, DbError> {
    Ok(sqlx::query_as(concat!("SELECT m.id, m.name, m.canonical_smiles, m.inchikey, m.molecular_weight, m.density_g_per_ml,
                ", score_of_m!(), " AS score
         FROM molecules m WHERE m.id = ANY($1)"))
    .bind(ids)
    .fetch_all(conn)
    .await?)
}

/// The `limit` visible molecules with the highest stored cryoprotection score (unscored last).
pub async fn best_scored_molecules(
    conn: &mut Conn,
    limit: i64,
) -> Result<Vec<ComponentMoleculeRow>, DbError> {
    Ok(sqlx::query_as(concat!(
        "SELECT m.id, m.name, m.canonical_smiles, m.inchikey, m.molecular_weight, m.density_g_per_ml, ",
        score_of_m!(),
        " AS score FROM molecules m ORDER BY score DESC NULLS LAST, m.id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

pub async fn components(conn: &mut Conn, mixture: Uuid) -> Result<Vec<ComponentRow>, DbError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        component_columns!(),
        "
         FROM mixture_components c JOIN molecules m ON m.id = c.molecule_id
         WHERE c.mixture_id = $1 ORDER BY c.created_at, c.id"
    ))
    .bind(mixture)
    .fetch_all(conn)
    .await?)
}

pub async fn update_mixture(
    conn: &mut Conn,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<bool, DbError> {
    Ok(sqlx::query("UPDATE mixtures SET name = coalesce($2, name), description = coalesce($3, description) WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(description)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// Which molecule or mixture a measurement or prediction is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    Molecule(Uuid),
    Mixture(Uuid),
}

impl Subject {
    fn ids(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            Subject::Molecule(m) => (Some(m), None),
            Subject::Mixture(x) => (None, Some(x)),
        }
    }
}

/// A typed value; which column it lands in must match the property type (a trigger checks).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Boolean(bool),
    Text(String),
}

/// A measurable property (the vocabulary of experiments, predictions and models).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertyType {
    pub name: String,
    pub description: Option<String>,
    pub units: Option<String>,
    /// numeric, text or boolean.
    pub data_type: String,
}

/// One property type by name (`None` when unknown).
pub async fn property_type(conn: &mut Conn, name: &str) -> Result<Option<PropertyType>, DbError> {
    Ok(sqlx::query_as(
        "SELECT name, description, units, data_type FROM property_types WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

pub async fn list_property_types(conn: &mut Conn) -> Result<Vec<PropertyType>, DbError> {
    Ok(sqlx::query_as(
        "SELECT name, description, units, data_type FROM property_types ORDER BY name",
    )
    .fetch_all(conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Experiment {
    pub id: Uuid,
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub property: String,
    pub numeric_value: Option<f64>,
    pub text_value: Option<String>,
    pub boolean_value: Option<bool>,
    /// The property's unit, which `numeric_value` is in.
    pub unit: Option<String>,
    /// The value and unit as recorded, when they were in another unit.
    pub raw_value: Option<f64>,
    pub raw_unit: Option<String>,
    pub temperature_c: Option<f64>,
    pub conditions: serde_json::Value,
    #[serde(with = "crate::iso_date::option")]
    pub performed_on: Option<Date>,
    pub notes: Option<String>,
    pub protocol_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// For a mixture: the number of the composition the experiment used.
    pub mixture_version: Option<i64>,
}

pub struct NewExperiment<'a> {
    pub subject: Subject,
    pub property: &'a str,
    pub value: &'a Value,
    pub unit: Option<&'a str>,
    /// The value and unit as sent, when converted.
    pub raw: Option<(f64, &'a str)>,
    pub temperature_c: Option<f64>,
    pub conditions: serde_json::Value,
    pub performed_on: Option<Date>,
    pub notes: Option<&'a str>,
    pub protocol_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    /// The mixture composition used, by number; the current one when `None`.
    pub mixture_version: Option<i64>,
}

macro_rules! experiment_select {
    () => {
        "SELECT e.id, e.molecule_id, e.mixture_id, t.name AS property, e.numeric_value, e.text_value,
        e.boolean_value, e.unit, e.raw_value, e.raw_unit, e.temperature_c, e.conditions, e.performed_on, e.notes, e.protocol_id, e.project_id,
        e.created_by, e.created_at,
        (SELECT v.version FROM mixture_versions v WHERE v.id = e.mixture_version_id) AS mixture_version
    FROM experiments e JOIN property_types t ON t.id = e.property_type_id"
    };
}

fn split(value: &Value) -> (Option<f64>, Option<&str>, Option<bool>) {
    match value {
        Value::Number(n) => (Some(*n), None, None),
        Value::Text(s) => (None, Some(s.as_str()), None),
        Value::Boolean(b) => (None, None, Some(*b)),
    }
}

/// `Ok(None)` when the property name is unknown.
pub async fn create_experiment(
    conn: &mut Conn,
    owner: Uuid,
    e: NewExperiment<'_>,
) -> Result<Option<Experiment>, DbError> {
    let (molecule, mixture) = e.subject.ids();
    let (n, t, b) = split(e.value);
    let id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO experiments (molecule_id, mixture_id, property_type_id, numeric_value, text_value, boolean_value,
                                  unit, temperature_c, conditions, performed_on, notes, protocol_id, project_id, created_by,
                                  raw_value, raw_unit, mixture_version_id)
         SELECT $1, $2, t.id, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                (SELECT v.id FROM mixture_versions v WHERE v.mixture_id = $2 AND v.version = $17)
         FROM property_types t WHERE t.name = $3
         RETURNING id",
    )
    .bind(molecule)
    .bind(mixture)
    .bind(e.property)
    .bind(n)
    .bind(t)
    .bind(b)
    .bind(e.unit)
    .bind(e.temperature_c)
    .bind(e.conditions)
    .bind(e.performed_on)
    .bind(e.notes)
    .bind(e.protocol_id)
    .bind(e.project_id)
    .bind(owner)
    .bind(e.raw.map(|r| r.0))
    .bind(e.raw.map(|r| r.1))
    .bind(e.mixture_version)
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => get_experiment(conn, id).await,
        None => Ok(None),
    }
}

pub async fn get_experiment(conn: &mut Conn, id: Uuid) -> Result<Option<Experiment>, DbError> {
    let sql = concat!(experiment_select!(), " WHERE e.id = $1");
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// Visible experiments, narrowed to a molecule, a mixture and/or the protocol they followed.
pub async fn list_experiments(
    conn: &mut Conn,
    molecule: Option<Uuid>,
    mixture: Option<Uuid>,
    protocol: Option<Uuid>,
    page: Page,
) -> Result<Vec<Experiment>, DbError> {
    let sql = concat!(experiment_select!(), " WHERE ($1::uuid IS NULL OR e.molecule_id = $1) AND ($2::uuid IS NULL OR e.mixture_id = $2)
         AND ($5::uuid IS NULL OR e.protocol_id = $5)
         ORDER BY e.created_at DESC, e.id LIMIT $3 OFFSET $4");
    Ok(sqlx::query_as(sql)
        .bind(molecule)
        .bind(mixture)
        .bind(page.limit)
        .bind(page.offset)
        .bind(protocol)
        .fetch_all(conn)
        .await?)
}

/// One measurement usable as a training target, with the structure it was measured on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Measurement {
    pub experiment_id: Uuid,
    pub molecule_id: Option<Uuid>,
    /// The molecule's canonical SMILES (single-molecule experiments).
    pub canonical_smiles: Option<String>,
    pub mixture_id: Option<Uuid>,
    pub numeric_value: Option<f64>,
    pub text_value: Option<String>,
    pub boolean_value: Option<bool>,
    pub performed_on: Option<Date>,
    /// The unit the value is stored in, and the property type's unit (they differ only for
    /// rows that did not come through the API, which converts on entry).
    pub unit: Option<String>,
    pub property_unit: Option<String>,
    /// The latest decided lab verification (verified or rejected), if any.
    #[sqlx(try_from = "Nullable<VerificationStatus>")]
    pub verdict: Option<VerificationStatus>,
}

/// A nullable text column of names (a CHECK constraint allows exactly the enum's), read as
/// `Option<T>`.
pub struct Nullable<T>(Option<String>, std::marker::PhantomData<T>);

impl<'r, T> sqlx::Decode<'r, sqlx::Postgres> for Nullable<T> {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <Option<String> as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(Nullable(text, std::marker::PhantomData))
    }
}

impl<T> sqlx::Type<sqlx::Postgres> for Nullable<T> {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<T> TryFrom<Nullable<T>> for Option<T>
where
    T: std::str::FromStr<Err = cryo_core::ident::InvalidValue>,
{
    type Error = cryo_core::ident::InvalidValue;
    fn try_from(s: Nullable<T>) -> Result<Self, Self::Error> {
        s.0.map(|s| s.parse()).transpose()
    }
}

/// Every visible experiment of a property type (matched case-insensitively), oldest first, with
/// its unit, the property's unit and its latest lab verdict.
pub async fn measurements(conn: &mut Conn, property: &str) -> Result<Vec<Measurement>, DbError> {
    Ok(sqlx::query_as(
        "SELECT e.id AS experiment_id, e.molecule_id, m.canonical_smiles, e.mixture_id,
                e.numeric_value, e.text_value, e.boolean_value, e.performed_on,
                e.unit, t.units AS property_unit,
                (SELECT v.status FROM lab_verifications v
                 WHERE v.experiment_id = e.id AND v.status <> 'pending'
                 ORDER BY v.decided_at DESC NULLS LAST, v.created_at DESC, v.id LIMIT 1) AS verdict,
                e.created_at AS recorded_at
         FROM experiments e
         JOIN property_types t ON t.id = e.property_type_id
         LEFT JOIN molecules m ON m.id = e.molecule_id
         WHERE lower(t.name) = lower($1)
         UNION ALL
         -- An assay's hit calls (property `<prefix><assay key>`), from imported activities.
         SELECT a.id, a.molecule_id, m.canonical_smiles, NULL::uuid, NULL::float8, NULL::text, a.hit_call,
                NULL::date, NULL::text, NULL::text, NULL::text, a.created_at
         FROM toxicity_activities a
         JOIN toxicity_assays s ON s.id = a.assay_id
         JOIN molecules m ON m.id = a.molecule_id
         WHERE lower($2 || s.assay_key) = lower($1) AND a.hit_call IS NOT NULL
         ORDER BY performed_on NULLS LAST, recorded_at, experiment_id",
    )
    .bind(property)
    .bind(cryo_core::toxicity::ASSAY_PROPERTY_PREFIX)
    .fetch_all(conn)
    .await?)
}

/// How many experiments of a property type the caller can read.
pub async fn count_measurements(conn: &mut Conn, property: &str) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM experiments e JOIN property_types t ON t.id = e.property_type_id
                 WHERE lower(t.name) = lower($1))
              + (SELECT count(*) FROM toxicity_activities a JOIN toxicity_assays s ON s.id = a.assay_id
                 WHERE lower($2 || s.assay_key) = lower($1) AND a.hit_call IS NOT NULL)",
    )
    .bind(property)
    .bind(cryo_core::toxicity::ASSAY_PROPERTY_PREFIX)
    .fetch_one(conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    pub id: Uuid,
    pub experiment_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: VerificationStatus,
    pub requested_by: Uuid,
    pub verifier_id: Option<Uuid>,
    pub equipment_used: Option<String>,
    pub comments: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

macro_rules! verification_columns {
    () => {
        "id, experiment_id, status, requested_by, verifier_id, equipment_used, comments, decided_at, created_at"
    };
}

pub async fn request_verification(
    conn: &mut Conn,
    requester: Uuid,
    experiment: Uuid,
    verifier: Uuid,
    equipment: Option<&str>,
    comments: Option<&str>,
) -> Result<Verification, DbError> {
    let sql = concat!("INSERT INTO lab_verifications (experiment_id, requested_by, verifier_id, equipment_used, comments)
         VALUES ($1, $2, $3, $4, $5) RETURNING ", verification_columns!());
    Ok(sqlx::query_as(sql)
        .bind(experiment)
        .bind(requester)
        .bind(verifier)
        .bind(equipment)
        .bind(comments)
        .fetch_one(conn)
        .await?)
}

/// Whether the caller shares a team with `user` (the condition under which a named verifier
/// may read the measurement they are asked to verify).
pub async fn shares_team_with(conn: &mut Conn, user: Uuid) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar("SELECT app.shares_team_with($1)")
        .bind(user)
        .fetch_one(conn)
        .await?)
}

/// The named verifier decides; `Ok(None)` if the caller is not that verifier (or it is gone).
pub async fn decide_verification(
    conn: &mut Conn,
    id: Uuid,
    status: VerificationStatus,
    equipment: Option<&str>,
    comments: Option<&str>,
) -> Result<Option<Verification>, DbError> {
    let sql = concat!(
        "UPDATE lab_verifications SET status = $2, decided_at = now(),
                equipment_used = coalesce($3, equipment_used), comments = coalesce($4, comments)
         WHERE id = $1 RETURNING ",
        verification_columns!()
    );
    Ok(sqlx::query_as(sql)
        .bind(id)
        .bind(status.as_str())
        .bind(equipment)
        .bind(comments)
        .fetch_optional(conn)
        .await?)
}

/// Verifications where the caller is the verifier (the queue) or the requester.
pub async fn list_verifications(
    conn: &mut Conn,
    me: Uuid,
    status: Option<VerificationStatus>,
    page: Page,
) -> Result<Vec<Verification>, DbError> {
    let sql = concat!(
        "SELECT ",
        verification_columns!(),
        " FROM lab_verifications
         WHERE (verifier_id = $1 OR requested_by = $1) AND ($2::text IS NULL OR status = $2)
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"
    );
    Ok(sqlx::query_as(sql)
        .bind(me)
        .bind(status.map(VerificationStatus::as_str))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(conn)
        .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prediction {
    pub id: Uuid,
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub property: String,
    pub method: String,
    /// The predicted number; for a class prediction, the predicted class's probability.
    pub numeric_value: f64,
    /// A classifier's most probable class, the probability of each class, and the conformal
    /// prediction set at `prediction_set_level` (absent for a number's prediction).
    pub class_label: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub class_probabilities: Option<sqlx::types::Json<serde_json::Value>>,
    pub prediction_set: Option<Vec<String>>,
    pub prediction_set_level: Option<f64>,
    pub interval_lower: Option<f64>,
    pub interval_upper: Option<f64>,
    pub interval_level: Option<f64>,
    /// Where the input stood in the answering model's applicability domain (model predictions
    /// stored since domains existed).
    #[sqlx(try_from = "Nullable<DomainFlag>")]
    pub domain_flag: Option<DomainFlag>,
    pub nearest_similarity: Option<f64>,
    pub beyond_training_range: Option<bool>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub struct NewPrediction<'a> {
    pub subject: Subject,
    pub property: &'a str,
    pub method: &'a str,
    pub method_version: &'a str,
    pub value: PredictedValue,
    /// The model's domain verdict: flag and nearest training similarity.
    pub domain: Option<(DomainFlag, f64)>,
    pub beyond_training_range: Option<bool>,
    pub project_id: Option<Uuid>,
}

/// What was predicted: a number (with its interval: lower, upper, level) or a class.
pub enum PredictedValue {
    Number {
        value: f64,
        interval: Option<(f64, f64, f64)>,
    },
    Class {
        label: String,
        /// The label's probability (stored as the prediction's number).
        probability: f64,
        /// Class name → probability.
        probabilities: serde_json::Value,
        /// The conformal prediction set at `level`.
        set: Vec<String>,
        level: f64,
    },
}

macro_rules! prediction_select {
    () => {
        "SELECT p.id, p.molecule_id, p.mixture_id, t.name AS property, c.name AS method, p.numeric_value,
        p.class_label, p.class_probabilities, p.prediction_set, p.prediction_set_level, p.interval_lower, p.interval_upper, p.interval_level, p.domain_flag, p.nearest_similarity,
        p.beyond_training_range, p.created_by, p.created_at
    FROM predictions p JOIN property_types t ON t.id = p.property_type_id
    JOIN calculation_methods c ON c.id = p.calculation_method_id"
    };
}

/// `Ok(None)` when the property or method is unknown.
pub async fn store_prediction(
    conn: &mut Conn,
    owner: Uuid,
    p: NewPrediction<'_>,
) -> Result<Option<Prediction>, DbError> {
    let (molecule, mixture) = p.subject.ids();
    let (value, (lo, hi, level), class) = match p.value {
        PredictedValue::Number { value, interval } => (
            value,
            match interval {
                Some((l, h, v)) => (Some(l), Some(h), Some(v)),
                None => (None, None, None),
            },
            None,
        ),
        PredictedValue::Class {
            label,
            probability,
            probabilities,
            set,
            level,
        } => (
            probability,
            (None, None, None),
            Some((label, sqlx::types::Json(probabilities), set, level)),
        ),
    };
    let (label, probabilities, set, set_level) = match class {
        Some((l, p, s, v)) => (Some(l), Some(p), Some(s), Some(v)),
        None => (None, None, None, None),
    };
    let id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO predictions (molecule_id, mixture_id, property_type_id, calculation_method_id, numeric_value,
                                  interval_lower, interval_upper, interval_level, project_id, created_by,
                                  domain_flag, nearest_similarity, beyond_training_range,
                                  class_label, class_probabilities, prediction_set, prediction_set_level)
         SELECT $1, $2, t.id, c.id, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18
         FROM property_types t, calculation_methods c WHERE t.name = $3 AND c.name = $4 AND c.version = $5
         RETURNING id",
    )
    .bind(molecule)
    .bind(mixture)
    .bind(p.property)
    .bind(p.method)
    .bind(p.method_version)
    .bind(value)
    .bind(lo)
    .bind(hi)
    .bind(level)
    .bind(p.project_id)
    .bind(owner)
    .bind(p.domain.map(|d| d.0.as_str()))
    .bind(p.domain.map(|d| d.1))
    .bind(p.beyond_training_range)
    .bind(label)
    .bind(probabilities)
    .bind(set)
    .bind(set_level)
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => {
            let sql = concat!(prediction_select!(), " WHERE p.id = $1");
            Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
        }
        None => Ok(None),
    }
}

pub async fn list_predictions(
    conn: &mut Conn,
    subject: Subject,
    page: Page,
) -> Result<Vec<Prediction>, DbError> {
    let (molecule, mixture) = subject.ids();
    let sql = concat!(
        prediction_select!(),
        " WHERE p.molecule_id IS NOT DISTINCT FROM $1 AND p.mixture_id IS NOT DISTINCT FROM $2
         ORDER BY p.created_at DESC, p.id LIMIT $3 OFFSET $4"
    );
    Ok(sqlx::query_as(sql)
        .bind(molecule)
        .bind(mixture)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(conn)
        .await?)
}

/// The latest prediction and the latest numeric measurement of a property for one subject.
pub async fn latest_pair(
    conn: &mut Conn,
    subject: Subject,
    property: &str,
) -> Result<(Option<Prediction>, Option<Experiment>), DbError> {
    let (molecule, mixture) = subject.ids();
    let sql = concat!(
        prediction_select!(),
        " WHERE p.molecule_id IS NOT DISTINCT FROM $1 AND p.mixture_id IS NOT DISTINCT FROM $2
         AND t.name = $3 ORDER BY p.created_at DESC, p.id DESC LIMIT 1"
    );
    let prediction = sqlx::query_as(sql)
        .bind(molecule)
        .bind(mixture)
        .bind(property)
        .fetch_optional(&mut *conn)
        .await?;
    let sql = concat!(
        experiment_select!(),
        " WHERE e.molecule_id IS NOT DISTINCT FROM $1 AND e.mixture_id IS NOT DISTINCT FROM $2
         AND t.name = $3 AND e.numeric_value IS NOT NULL
         ORDER BY e.performed_on DESC NULLS LAST, e.created_at DESC, e.id DESC LIMIT 1"
    );
    let experiment = sqlx::query_as(sql)
        .bind(molecule)
        .bind(mixture)
        .bind(property)
        .fetch_optional(conn)
        .await?;
    Ok((prediction, experiment))
}
