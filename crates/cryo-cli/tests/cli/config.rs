use crate::cryoprotect;

#[test]
fn config_check_passes_on_defaults_and_redacts_secrets() {
    let out = cryoprotect()
        .env(
            "DATABASE_URL",
            "postgres://lab:hunter2-password@db.example/cryo",
        )
        .args(["config", "check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("database.url"));
    assert!(text.contains("redacted"));
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn config_check_fails_on_unsafe_production_settings() {
    let out = cryoprotect()
        .env("CRYOPROTECT_ENV", "production")
        .env("CRYOPROTECT_JWT_SECRET", "too-short")
        .args(["config", "check", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("auth.jwt_secret")
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("too-short"));
}

#[test]
fn config_check_names_the_key_of_a_malformed_value() {
    let out = cryoprotect()
        .env("CRYOPROTECT_PORT", "not-a-port")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.port"));
}
