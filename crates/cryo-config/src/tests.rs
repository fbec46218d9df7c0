use super::*;
use std::collections::HashMap;
use std::io::Write;

fn opts(env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        config_file: None,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
        use_default_file: false,
    }
}

#[test]
fn defaults_parse_into_development_settings() {
    let (s, _) = load(&opts(&[])).unwrap();
    assert_eq!(s.environment, Environment::Development);
    assert_eq!(s.server.port, 8080);
    assert!(s.database.url.is_none());
    assert!(s.auth.jwt_secret_is_ephemeral);
    assert_eq!(s.auth.jwt_secret.expose().len(), 64);
}

#[test]
fn precedence_is_default_then_file_then_env_then_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[server]\nport = 9000\nhost = \"0.0.0.0\"\n[auth]\njwt_secret = \"from-file-aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n").unwrap();
    let secret = dir.path().join("jwt");
    std::fs::File::create(&secret)
        .unwrap()
        .write_all(b"from-secret-file-0123456789abcdef0123\n")
        .unwrap();

    let mut o = opts(&[("CRYOPROTECT_PORT", "9100")]);
    o.config_file = Some(file.clone());
    let (s, r) = load(&o).unwrap();
    assert_eq!(s.server.port, 9100, "env beats file");
    assert_eq!(s.server.host.to_string(), "0.0.0.0", "file beats default");
    assert_eq!(r.get("server.host").unwrap().1, Source::File(file.clone()));
    assert_eq!(
        s.auth.jwt_secret.expose(),
        "from-file-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    );

    o.env.insert(
        "CRYOPROTECT_JWT_SECRET".into(),
        "from-env-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
    );
    o.env.insert(
        "CRYOPROTECT_JWT_SECRET_FILE".into(),
        secret.display().to_string(),
    );
    let (s, r) = load(&o).unwrap();
    assert_eq!(
        s.auth.jwt_secret.expose(),
        "from-secret-file-0123456789abcdef0123",
        "secret file beats env, trailing newline stripped"
    );
    assert_eq!(
        r.get("auth.jwt_secret").unwrap().1,
        Source::SecretFile(secret)
    );
}

#[test]
fn secrets_dir_matches_the_env_name_in_either_case() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("database_url"), "postgres://u:pw@db/x").unwrap();
    let o = opts(&[("CRYOPROTECT_SECRETS_DIR", dir.path().to_str().unwrap())]);
    let (s, _) = load(&o).unwrap();
    assert_eq!(s.database.url.unwrap().expose(), "postgres://u:pw@db/x");
}

#[test]
fn a_named_secret_file_that_is_missing_is_an_error() {
    let o = opts(&[("DATABASE_URL_FILE", "/nonexistent/secret")]);
    let err = load(&o).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::ReadSecret {
                key: "database.url",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn invalid_values_name_the_key_and_the_source() {
    let err = load(&opts(&[("CRYOPROTECT_PORT", "eighty")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.port"), "{err}");
    assert!(err.contains("env CRYOPROTECT_PORT"), "{err}");
}

#[test]
fn unknown_file_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[server]\nprot = 1\n").unwrap();
    let mut o = opts(&[]);
    o.config_file = Some(file);
    let err = load(&o).unwrap_err().to_string();
    assert!(err.contains("server.prot"), "{err}");
}

#[test]
fn production_refuses_missing_short_or_placeholder_secrets_and_debug_logging() {
    let cases = [
        (vec![], "must be set"),
        (
            vec![("CRYOPROTECT_JWT_SECRET", "short")],
            "at least 32 bytes",
        ),
        (
            vec![(
                "CRYOPROTECT_JWT_SECRET",
                "change-me-change-me-change-me-change-me",
            )],
            "placeholder",
        ),
        (
            vec![
                (
                    "CRYOPROTECT_JWT_SECRET",
                    "9f8a7c6b5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a",
                ),
                ("CRYOPROTECT_LOG", "debug"),
            ],
            "debug or trace",
        ),
    ];
    for (extra, expected) in cases {
        let mut env = vec![("CRYOPROTECT_ENV", "production")];
        env.extend(extra);
        let err = load(&opts(&env)).unwrap_err().to_string();
        assert!(err.contains(expected), "expected `{expected}` in {err}");
    }
    let ok = load(&opts(&[
        ("CRYOPROTECT_ENV", "production"),
        (
            "CRYOPROTECT_JWT_SECRET",
            "9f8a7c6b5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a",
        ),
    ]));
    assert!(ok.is_ok());
}

#[test]
fn redacted_rows_never_show_secret_values() {
    let (_, r) = load(&opts(&[
        ("DATABASE_URL", "postgres://user:hunter2@host/db"),
        (
            "CRYOPROTECT_JWT_SECRET",
            "super-private-value-0123456789abcdef",
        ),
    ]))
    .unwrap();
    let text = format!("{:?}", r.redacted_rows());
    assert!(!text.contains("hunter2"));
    assert!(!text.contains("super-private"));
    assert!(text.contains("redacted"));
}

#[test]
fn secret_debug_output_is_redacted() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s:?}"), "Secret(**redacted**)");
}

#[test]
fn env_example_in_repo_matches_the_key_list() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example");
    let committed = std::fs::read_to_string(path).expect(".env.example exists at the repo root");
    assert_eq!(
        committed,
        env_example(),
        ".env.example is stale: run `cargo run -p cryo-cli -- config example > .env.example`"
    );
}

#[test]
fn production_refuses_permissive_cors_and_every_shipped_profile_loads() {
    let secret = (
        "CRYOPROTECT_JWT_SECRET",
        "3f9a1c7e5b2d8f40a6c1e9b7d3f5a2c8e0b4d6f8a1c3e5b7",
    );
    let open = load(&opts(&[
        ("CRYOPROTECT_ENV", "production"),
        secret,
        ("CRYOPROTECT_CORS_ORIGINS", "https://lab.example, *"),
    ]));
    let err = open.unwrap_err().to_string();
    assert!(err.contains("cors_origins"), "{err}");
    let (s, _) = load(&opts(&[
        ("CRYOPROTECT_ENV", "production"),
        secret,
        ("CRYOPROTECT_CORS_ORIGINS", "https://lab.example"),
    ]))
    .unwrap();
    assert_eq!(s.server.cors_origins, ["https://lab.example"]);

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    for profile in ["development", "test", "staging", "production"] {
        let file = dir.join(format!("{profile}.toml"));
        let mut o = opts(&[secret]);
        o.config_file = Some(file.clone());
        let (s, _) = load(&o).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(s.environment.to_string(), profile, "{}", file.display());
    }
}
