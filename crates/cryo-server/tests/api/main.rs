//! API tests: the real router, driven without a socket, against a real database.

mod health;
mod helpers;
