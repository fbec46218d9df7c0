//! `sqlx::migrate!` embeds the migrations at compile time; without this, a migration added to
//! the folder is not seen until something else makes cargo rebuild the crate.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
