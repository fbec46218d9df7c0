//! Server-side ranking (#20): orderings, filters, keyset paging and counts, as two users.

use crate::helpers::{Client, User, assert_refused, register, seeded};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

const ALICE: &[&str] = &[
    "OCCO",
    "OCC(O)CO",
    "CC(O)CO",
    "OCCCO",
    "CCO",
    "CCCO",
    "CCCCO",
    "OCCOCCO",
    "NC(=O)CO",
    "OC1CCCCC1",
    "c1ccccc1O",
    "CS(=O)CC",
];
const BOB: &[&str] = &[
    "CCCCCCO",
    "OCCCCO",
    "CC(C)(C)CO",
    "OC(CO)(CO)CO",
    "c1ccncc1",
];

async fn register_all(app: &axum::Router, user: &User, smiles: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, s) in smiles.iter().enumerate() {
        let r = app
            .post(
                user,
                "/api/v1/molecules",
                json!({ "smiles": s, "name": format!("cand {i:02} {s}") }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.json()["molecule"]["id"].as_str().unwrap().to_string());
    }
    ids
}

/// Every page of a ranking, `per_page` rows at a time, and the total each page reported.
async fn all_pages(
    app: &axum::Router,
    user: &User,
    query: &str,
    per_page: usize,
) -> (Vec<Value>, i64) {
    let (mut rows, mut cursor, mut total) = (Vec::new(), None::<String>, None);
    for _ in 0..100 {
        let uri = format!(
            "/api/v1/molecules/ranked?{query}&limit={per_page}{}",
            cursor
                .as_ref()
                .map(|c| format!("&cursor={c}"))
                .unwrap_or_default()
        );
        let r = app.get(user, &uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
        let v = r.json();
        let page = v["items"].as_array().unwrap();
        assert!(page.len() <= per_page);
        let t = v["total"].as_i64().unwrap();
        assert_eq!(*total.get_or_insert(t), t, "the total holds on every page");
        rows.extend(page.iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(page.len(), per_page, "only the last page is short");
                cursor = Some(c.to_string());
            }
            None => return (rows, t),
        }
    }
    panic!("{query}: more than 100 pages");
}

/// Which rows of the whole list a filter should keep.
type Keep = Box<dyn Fn(&Value) -> bool>;

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Rows in order of `key` (`desc`: largest first), rows lacking it last: what a ranking must give.
fn assert_ordered(rows: &[Value], key: &dyn Fn(&Value) -> Option<f64>, desc: bool, what: &str) {
    let values: Vec<Option<f64>> = rows.iter().map(key).collect();
    let first_missing = values
        .iter()
        .position(Option::is_none)
        .unwrap_or(values.len());
    assert!(
        values[first_missing..].iter().all(Option::is_none),
        "{what}: missing values last"
    );
    for pair in values[..first_missing].windows(2) {
        let (a, b) = (pair[0].unwrap(), pair[1].unwrap());
        assert!(if desc { a >= b } else { a <= b }, "{what}: {a} then {b}");
    }
}

#[tokio::test]
async fn rankings_order_filter_and_page_on_the_server_and_never_cross_tenants() {
    let (db, app) = seeded().await;
    let (alice, bob) = (register(&app, "alice").await, register(&app, "bob").await);
    let alice_ids = register_all(&app, &alice, ALICE).await;
    let bob_ids: HashSet<String> = register_all(&app, &bob, BOB).await.into_iter().collect();
    let reference = 17;

    // Every ordering, paged 4 at a time, gives the rows one 500-row page gives, in its order:
    // each row once, the total on every page equal to the rows there are.
    for (query, key, desc) in [
        ("sort=score", "score", true),
        ("sort=score&order=asc", "score", false),
        ("sort=logp", "logp", true),
        ("sort=tpsa&order=asc", "tpsa", false),
        ("sort=qed", "qed", true),
        ("sort=molecular_weight&order=asc", "molecular_weight", false),
        ("sort=molecular_weight&order=desc", "molecular_weight", true),
        ("sort=property:H-Bond%20Donors", "h_bond_donors", true),
        ("sort=name", "", false),
        ("sort=name&order=desc", "", true),
        ("sort=created_at", "", true),
    ] {
        for (user, own, theirs) in [
            (&alice, ALICE.len(), &bob_ids),
            (&bob, BOB.len(), &HashSet::new()),
        ] {
            let (paged, total) = all_pages(&app, user, query, 4).await;
            let (whole, _) = all_pages(&app, user, query, 500).await;
            assert_eq!(
                ids(&paged),
                ids(&whole),
                "{query}: pages join into the whole ranking"
            );
            assert_eq!(total as usize, reference + own, "{query}");
            assert_eq!(paged.len(), reference + own, "{query}");
            let unique: HashSet<String> = ids(&paged).into_iter().collect();
            assert_eq!(unique.len(), paged.len(), "{query}: each row once");
            assert!(
                unique.is_disjoint(theirs),
                "{query}: alice never sees bob's rows"
            );
            if !key.is_empty() {
                assert_ordered(&paged, &|r: &Value| r[key].as_f64(), desc, query);
            }
        }
    }
    // Name order follows the database's collation; as the list ranks it, reversed is reversed
    // (the reference molecules and alice's all have names, so no row is in the tail).
    let (up, _) = all_pages(&app, &alice, "sort=name", 500).await;
    let (down, _) = all_pages(&app, &alice, "sort=name&order=desc", 500).await;
    assert_eq!(ids(&up).into_iter().rev().collect::<Vec<_>>(), ids(&down));
    let (newest, _) = all_pages(&app, &alice, "sort=created_at&owner=me", 500).await;
    assert_eq!(ids(&newest)[0], *alice_ids.last().unwrap(), "newest first");

    // Filters: what the whole list holds, filtered here, is what the server returns.
    let (everything, _) = all_pages(&app, &alice, "sort=name", 500).await;
    let expect = |keep: &dyn Fn(&Value) -> bool| -> HashSet<String> {
        everything
            .iter()
            .filter(|r| keep(r))
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let cases: [(&str, Keep); 7] = [
        ("owner=me", Box::new(|r: &Value| r["is_reference"] == false)),
        (
            "reference=true",
            Box::new(|r: &Value| r["is_reference"] == true),
        ),
        (
            "min_molecular_weight=60&max_molecular_weight=100",
            Box::new(|r: &Value| {
                r["molecular_weight"]
                    .as_f64()
                    .is_some_and(|w| (60.0..=100.0).contains(&w))
            }),
        ),
        (
            "min_logp=0",
            Box::new(|r: &Value| r["logp"].as_f64().is_some_and(|v| v >= 0.0)),
        ),
        (
            "max_tpsa=40.5",
            Box::new(|r: &Value| r["tpsa"].as_f64().is_some_and(|v| v <= 40.5)),
        ),
        (
            "min_score=60&max_qed=0.5",
            Box::new(|r: &Value| {
                r["score"].as_f64().is_some_and(|v| v >= 60.0)
                    && r["qed"].as_f64().is_some_and(|v| v <= 0.5)
            }),
        ),
        (
            "q=CAND%2001",
            Box::new(|r: &Value| {
                r["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().contains("cand 01"))
            }),
        ),
    ];
    for (filter, keep) in cases {
        let (rows, total) = all_pages(&app, &alice, &format!("sort=score&{filter}"), 3).await;
        let want = expect(&*keep);
        assert!(!want.is_empty(), "{filter}: the case selects something");
        assert_eq!(
            ids(&rows).into_iter().collect::<HashSet<_>>(),
            want,
            "{filter}"
        );
        assert_eq!(total as usize, want.len(), "{filter}");
    }

    // Predictions: each row carries the newest prediction of the asked property; rows are
    // ranked and filtered by it, its interval width and its domain flag. Stored as a model
    // stores them (the models tests cover how they are made).
    let mut service = cryo_testkit::service_tx(&db.pool).await;
    for (i, id) in alice_ids.iter().enumerate().take(8) {
        let (value, half) = (-100.0 + 5.0 * i as f64, 1.0 + (7 - i) as f64);
        let flag = ["in", "edge", "out"][i % 3];
        for (v, age) in [(value - 50.0, "2 hours"), (value, "1 hour")] {
            sqlx::query(
                "INSERT INTO predictions (molecule_id, property_type_id, calculation_method_id, numeric_value,
                     interval_lower, interval_upper, interval_level, created_by, domain_flag, created_at)
                 SELECT $1::uuid, t.id, c.id, $2, $2 - $3, $2 + $3, 0.9, $4::uuid, $5, now() - $6::interval
                 FROM property_types t, calculation_methods c
                 WHERE t.name = 'Glass Transition Temperature' ORDER BY c.name LIMIT 1",
            )
            .bind(uuid::Uuid::parse_str(id).unwrap())
            .bind(v)
            .bind(half)
            .bind(uuid::Uuid::parse_str(&alice.id).unwrap())
            .bind(flag)
            .bind(age)
            .execute(&mut *service)
            .await
            .unwrap();
        }
    }
    service.commit().await.unwrap();
    let tg = "predicted=Glass%20Transition%20Temperature";
    let (by_prediction, total) = all_pages(&app, &alice, &format!("sort=predicted&{tg}"), 3).await;
    assert_eq!(
        total as usize,
        reference + ALICE.len(),
        "rows without a prediction stay, last"
    );
    assert_eq!(
        by_prediction[0]["id"],
        alice_ids[7].as_str(),
        "the newest prediction ranks, not the older"
    );
    assert_eq!(by_prediction[0]["prediction"]["value"], -65.0);
    assert_ordered(
        &by_prediction,
        &|r: &Value| r["prediction"]["value"].as_f64(),
        true,
        "predicted",
    );
    assert!(by_prediction[8..].iter().all(|r| r["prediction"].is_null()));
    let (narrow, _) = all_pages(
        &app,
        &alice,
        &format!("sort=interval_width&order=asc&{tg}"),
        2,
    )
    .await;
    assert_eq!(
        narrow[0]["id"],
        alice_ids[7].as_str(),
        "narrowest interval first"
    );
    assert_ordered(
        &narrow,
        &|r: &Value| {
            Some(
                r["prediction"]["interval_upper"].as_f64()?
                    - r["prediction"]["interval_lower"].as_f64()?,
            )
        },
        false,
        "interval width",
    );
    let (filtered, total) = all_pages(
        &app,
        &alice,
        &format!("sort=predicted&{tg}&min_predicted=-90&max_interval_width=10&domain=in"),
        2,
    )
    .await;
    let kept: Vec<usize> = (0..8)
        .filter(|i| {
            i % 3 == 0 && -100.0 + 5.0 * *i as f64 >= -90.0 && 2.0 * (1.0 + (7 - i) as f64) <= 10.0
        })
        .collect();
    assert_eq!(
        ids(&filtered),
        kept.iter()
            .rev()
            .map(|i| alice_ids[*i].clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(total as usize, kept.len());
    // Bob sees none of alice's predictions, so every row of his is in the tail.
    let (his, _) = all_pages(&app, &bob, &format!("sort=predicted&{tg}"), 5).await;
    assert!(his.iter().all(|r| r["prediction"].is_null()));
    assert!(ids(&his).iter().all(|id| !alice_ids.contains(id)));
}

#[tokio::test]
async fn ranking_requests_are_checked_before_anything_runs() {
    let (_db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    let first = app
        .get(&alice, "/api/v1/molecules/ranked?sort=score&limit=2")
        .await
        .json();
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    for (query, field) in [
        ("sort=weight", "sort"),
        ("sort=property:No%20Such%20Thing", "sort"),
        ("sort=property:Vitrified", "sort"),
        ("order=up", "order"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("min_logp=3&max_logp=1", "min_logp"),
        ("max_tpsa=NaN", "max_tpsa"),
        ("max_alerts=-1", "max_alerts"),
        ("owner=someone", "owner"),
        ("domain=in", "domain"),
        ("sort=predicted", "sort"),
        ("min_predicted=1", "min_predicted"),
        ("predicted=Nothing", "predicted"),
        (
            "predicted=Glass%20Transition%20Temperature&domain=inside",
            "domain",
        ),
        ("cursor=zz", "cursor"),
        (&*format!("sort=logp&cursor={cursor}"), "cursor"),
        (&*format!("sort=score&order=asc&cursor={cursor}"), "cursor"),
    ] {
        let r = app
            .get(&alice, &format!("/api/v1/molecules/ranked?{query}"))
            .await;
        assert_refused(&r, field, &query);
    }
    let long = "x".repeat(501);
    let r = app
        .get(&alice, &format!("/api/v1/molecules/ranked?q={long}"))
        .await;
    assert_eq!(r.json()["error"]["details"]["field"], "q", "{}", r.text);
    // Rankings are for signed-in users (anonymous callers list the reference set).
    let anon = app
        .get(crate::helpers::Anon, "/api/v1/molecules/ranked?sort=score")
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{}", anon.text);
    let fresh = app
        .get(&alice, "/api/v1/molecules/ranked?sort=score")
        .await
        .json();
    assert_eq!(fresh["total"], 17, "a new user ranks the reference set");
}

#[tokio::test]
async fn a_ranking_exports_whole_in_every_format_and_the_files_read_back() {
    let (_db, app) = seeded().await;
    let (alice, bob) = (register(&app, "alice").await, register(&app, "bob").await);
    register_all(&app, &alice, ALICE).await;
    register_all(&app, &bob, BOB).await;
    // The export is the whole ranking, in its order, whatever the page size asked.
    let (ranked, _) = all_pages(&app, &alice, "sort=score&owner=me", 500).await;
    let want = ids(&ranked);
    let export = |format: &'static str| {
        let app = app.clone();
        let token = alice.token.clone();
        async move {
            let r = crate::helpers::call(
                &app,
                "GET",
                &format!(
                    "/api/v1/molecules/ranked/export?format={format}&sort=score&owner=me&limit=2"
                ),
                Some(&token),
                None,
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{format}: {}", r.text);
            assert!(
                r.headers["content-disposition"]
                    .to_str()
                    .unwrap()
                    .ends_with(&format!("molecules.{format}\"")),
                "{format}"
            );
            r
        }
    };
    for (format, delimiter) in [("csv", b','), ("tsv", b'\t')] {
        let r = export(format).await;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(r.bytes.as_slice());
        let header = reader.headers().unwrap().clone();
        let score = header.iter().position(|h| h == "score").unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(
            rows.iter().map(|r| r[0].to_string()).collect::<Vec<_>>(),
            want,
            "{format}"
        );
        assert_eq!(
            rows[0][score].parse::<f64>().unwrap(),
            ranked[0]["score"].as_f64().unwrap()
        );
    }
    let json: Value = serde_json::from_slice(&export("json").await.bytes).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        want
    );
    assert_eq!(rows[0]["score"], ranked[0]["score"], "numbers stay numbers");
    // XLSX: a zip whose sheet has the header and one row per molecule, ids in order.
    let xlsx = export("xlsx").await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx.bytes)).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    assert_eq!(sheet.matches("<row ").count(), want.len() + 1);
    let positions: Vec<usize> = want
        .iter()
        .map(|id| sheet.find(id.as_str()).expect("every id"))
        .collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "in ranked order");
    // SDF: each record's structure parses to the molecule's SMILES; the columns are its tags.
    let sdf = export("sdf").await;
    let records: Vec<_> = cryo_chem::sdf::SdfReader::new(sdf.bytes.as_slice()).collect();
    assert_eq!(records.len(), want.len());
    for (record, row) in records.iter().zip(&ranked) {
        assert_eq!(record.fields["id"], row["id"].as_str().unwrap());
        let m = record.molecule.as_ref().expect("a structure");
        assert_eq!(
            m.canonical_smiles(),
            row["canonical_smiles"].as_str().unwrap()
        );
        assert_eq!(
            record.fields["score"].parse::<f64>().unwrap(),
            row["score"].as_f64().unwrap()
        );
    }
    // Bob's export holds none of alice's molecules; a bad format is named.
    let his = crate::helpers::call(
        &app,
        "GET",
        "/api/v1/molecules/ranked/export?format=csv&owner=me",
        Some(&bob.token),
        None,
    )
    .await;
    assert_eq!(his.text.lines().count(), BOB.len() + 1);
    assert!(want.iter().all(|id| !his.text.contains(id.as_str())));
    let bad = crate::helpers::call(
        &app,
        "GET",
        "/api/v1/molecules/ranked/export?format=pdf",
        Some(&bob.token),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["details"]["field"], "format");
}
