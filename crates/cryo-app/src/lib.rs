//! The use cases of CryoProtect, between HTTP (`cryo-server`, the CLI) and SQL (`cryo-db`).
//! Functions here take typed inputs and a connection opened as someone, return [`AppError`], and
//! know nothing of axum or HTTP status codes; CPU-bound chemistry and ML run on [`compute`].

pub mod alerts;
pub mod app;
pub mod backup_schedule;
pub mod composition;
pub mod compute;
pub mod domain;
pub mod error;
pub mod evaluate;
pub mod experiments;
pub mod export;
pub mod health;
pub mod health_view;
pub mod jobs;
pub mod mixture_compare;
pub mod mixture_optimise;
pub mod mixture_physics;
pub mod mixture_recommend;
pub mod mixtures;
pub mod model_view;
pub mod models;
pub mod molecules;
pub mod predict;
pub mod projects;
pub mod protocols;
pub mod ranking;
pub mod registry;
pub mod rows;
pub mod screening;
pub mod search;
pub mod system;
pub mod teams;
pub mod toxicity;
pub mod training;
pub mod vocabulary;

pub use app::{Actor, App};
pub use error::{AppError, AppResult};

/// The message a panic carried (`panic!` with a literal or a formatted string).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
