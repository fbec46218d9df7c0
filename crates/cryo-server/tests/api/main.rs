//! API tests: the real router, driven without a socket, against a real database, served through
//! the API's powerless login role exactly as `serve` does.

mod alerts;
mod auth;
mod edge;
mod health;
mod helpers;
mod hostile;
mod limits;
mod metrics;
mod mixtures;
mod models;
mod outage;
mod protocols;
mod ranking;
mod science;
mod screening;
mod system;
mod tenancy;
mod toxicity;
mod web;
