//! One module per resource, each with its `router()`; `crate::api` merges them.

pub mod auth;
pub mod experiments;
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod mixtures;
pub mod models;
pub mod molecules;
pub mod predict;
pub mod projects;
pub mod protocols;
pub mod screening;
pub mod system;
pub mod teams;
pub mod toxicity;
pub mod vocabulary;

use cryo_db::repo::Page;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
pub struct Paging {
    /// Rows per page (1–500, default 100).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Paging {
    pub fn page(&self) -> Page {
        Page::new(self.limit, self.offset)
    }
}
