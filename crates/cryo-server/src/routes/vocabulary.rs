//! The choices a client offers people, from the types that parse them.

use crate::state::AppState;
use axum::Json;
use cryo_app::vocabulary::{self, Vocabulary};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_vocabulary))
}

/// Concentration units, algorithms, feature sets, splits, searches, interval methods and
/// contexts, each as the name the API takes and a label; defaults first.
#[utoipa::path(get, path = "/api/v1/vocabulary", tag = "vocabulary",
    responses((status = 200, body = Vocabulary)))]
pub async fn get_vocabulary() -> Json<Vocabulary> {
    Json(vocabulary::vocabulary())
}
