pub mod auth;
pub mod collab;
pub mod health;
pub mod models;
pub mod science;
pub mod system;
