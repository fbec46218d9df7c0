//! What a migration statement will lock: a static reading of the SQL (no database needed), used
//! by `db migrate --dry-run`. The lock levels follow PostgreSQL's documentation ("Explicit
//! Locking", and each command's reference page).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementLock {
    /// The statement, whitespace collapsed.
    pub sql: String,
    /// The table lock taken, or a note for statements that take none.
    pub lock: &'static str,
    /// The relation locked, when the statement names one.
    pub table: Option<String>,
    /// What the lock blocks, for people deciding when to run it.
    pub blocks: &'static str,
}

/// Splits SQL into statements at top-level semicolons, respecting quotes, dollar quoting and
/// comments; comment-only pieces are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == '\'' || c == '"' {
            current.push(c);
            i += 1;
            while i < chars.len() {
                current.push(chars[i]);
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        current.push(c);
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if c == '$' {
            // $tag$ ... $tag$ (tag may be empty)
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if j < chars.len() && chars[j] == '$' {
                let tag: String = chars[i..=j].iter().collect();
                current.push_str(&tag);
                let rest: String = chars[j + 1..].iter().collect();
                if let Some(end) = rest.find(&tag) {
                    current.push_str(&rest[..end + tag.len()]);
                    i = j + 1 + rest[..end + tag.len()].chars().count();
                } else {
                    current.push_str(&rest);
                    i = chars.len();
                }
                continue;
            }
        }
        if c == ';' {
            push_statement(&mut out, &current);
            current.clear();
        } else {
            current.push(c);
        }
        i += 1;
    }
    push_statement(&mut out, &current);
    out
}

fn push_statement(out: &mut Vec<String>, s: &str) {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if !collapsed.is_empty() {
        out.push(collapsed);
    }
}

const ACCESS_EXCLUSIVE: (&str, &str) = ("ACCESS EXCLUSIVE", "all reads and writes of the table");

/// The lock one statement takes.
pub fn classify(statement: &str) -> StatementLock {
    let upper = statement.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let starts = |prefix: &[&str]| words.len() >= prefix.len() && words[..prefix.len()] == *prefix;
    let after = |keyword: &str| -> Option<String> {
        let pos = words.iter().position(|w| *w == keyword)?;
        words[pos + 1..]
            .iter()
            .find(|w| {
                !matches!(
                    **w,
                    "ONLY" | "IF" | "EXISTS" | "NOT" | "CONCURRENTLY" | "TABLE"
                )
            })
            .map(|w| {
                w.trim_matches(|c| c == '(' || c == ';')
                    .to_ascii_lowercase()
            })
    };
    let (lock, blocks, table): (&'static str, &'static str, Option<String>) =
        if starts(&["CREATE", "TABLE"]) {
            ("none on existing tables", "nothing (a new table)", None)
        } else if (starts(&["CREATE", "INDEX"]) || starts(&["CREATE", "UNIQUE", "INDEX"]))
            && upper.contains(" CONCURRENTLY ")
        {
            (
                "SHARE UPDATE EXCLUSIVE",
                "schema changes and vacuum only; reads and writes continue",
                after("ON"),
            )
        } else if starts(&["CREATE", "INDEX"]) || starts(&["CREATE", "UNIQUE", "INDEX"]) {
            (
                "SHARE",
                "writes (INSERT/UPDATE/DELETE) until the index is built",
                after("ON"),
            )
        } else if starts(&["DROP", "INDEX"]) && upper.contains(" CONCURRENTLY ") {
            ("SHARE UPDATE EXCLUSIVE", "schema changes only", None)
        } else if starts(&["ALTER", "TABLE"]) && upper.contains(" VALIDATE CONSTRAINT ") {
            (
                "SHARE UPDATE EXCLUSIVE",
                "schema changes only; reads and writes continue during the scan",
                after("TABLE"),
            )
        } else if starts(&["ALTER", "TABLE"]) && upper.contains(" FOREIGN KEY ") {
            (
                "SHARE ROW EXCLUSIVE (both tables)",
                if upper.contains(" NOT VALID") {
                    "writes, briefly"
                } else {
                    "writes, for a full scan of the table"
                },
                after("TABLE"),
            )
        } else if starts(&["ALTER", "TABLE"])
            || starts(&["DROP", "TABLE"])
            || starts(&["TRUNCATE"])
            || starts(&["DROP", "INDEX"])
            || starts(&["DROP", "TRIGGER"])
        {
            (
                ACCESS_EXCLUSIVE.0,
                ACCESS_EXCLUSIVE.1,
                after("TABLE")
                    .or_else(|| after("ON"))
                    .or_else(|| after("TRUNCATE")),
            )
        } else if starts(&["CREATE", "TRIGGER"]) || starts(&["CREATE", "OR", "REPLACE", "TRIGGER"])
        {
            ("SHARE ROW EXCLUSIVE", "writes, briefly", after("ON"))
        } else if starts(&["CREATE", "POLICY"])
            || starts(&["ALTER", "POLICY"])
            || starts(&["DROP", "POLICY"])
        {
            (
                ACCESS_EXCLUSIVE.0,
                "all reads and writes of the table, briefly",
                after("ON"),
            )
        } else if starts(&["INSERT"])
            || starts(&["UPDATE"])
            || starts(&["DELETE"])
            || starts(&["WITH"])
        {
            (
                "ROW EXCLUSIVE",
                "nothing but conflicting schema changes; rows written are locked",
                after("INTO")
                    .or_else(|| after("UPDATE"))
                    .or_else(|| after("FROM")),
            )
        } else if starts(&["DO"]) {
            (
                "depends on the block",
                "read the block: it runs statements of its own",
                None,
            )
        } else {
            ("none (catalog only)", "nothing", None)
        };
    StatementLock {
        sql: statement.to_string(),
        lock,
        table,
        blocks,
    }
}

/// Every statement of a migration with its lock.
pub fn analyse(sql: &str) -> Vec<StatementLock> {
    split_statements(sql).iter().map(|s| classify(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_around_quotes_dollar_bodies_and_comments() {
        let sql = "-- a; comment\nCREATE TABLE t (a text DEFAULT 'x;y');\n/* b; */ CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\nDO $body$ BEGIN PERFORM 1; END $body$;";
        let s = split_statements(sql);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[0].contains("'x;y'"));
        assert!(s[1].ends_with("$$ SELECT 1; $$"));
        assert!(s[2].starts_with("DO $body$"));
    }

    #[test]
    fn knows_the_usual_locks() {
        let lock = |s: &str| classify(s).lock;
        assert_eq!(lock("CREATE INDEX i ON molecules (name)"), "SHARE");
        assert_eq!(
            classify("CREATE INDEX i ON molecules (name)")
                .table
                .as_deref(),
            Some("molecules")
        );
        assert_eq!(
            lock("CREATE INDEX CONCURRENTLY i ON molecules (name)"),
            "SHARE UPDATE EXCLUSIVE"
        );
        assert_eq!(
            lock("ALTER TABLE ONLY molecules ADD COLUMN x int"),
            "ACCESS EXCLUSIVE"
        );
        assert_eq!(
            classify("ALTER TABLE ONLY molecules ADD COLUMN x int")
                .table
                .as_deref(),
            Some("molecules")
        );
        assert_eq!(
            lock("ALTER TABLE m VALIDATE CONSTRAINT c"),
            "SHARE UPDATE EXCLUSIVE"
        );
        assert_eq!(
            lock("ALTER TABLE m ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES p (id) NOT VALID"),
            "SHARE ROW EXCLUSIVE (both tables)"
        );
        assert_eq!(
            lock("CREATE TRIGGER t AFTER DELETE ON molecules FOR EACH ROW EXECUTE FUNCTION f()"),
            "SHARE ROW EXCLUSIVE"
        );
        assert_eq!(
            lock("GRANT SELECT ON molecules TO x"),
            "none (catalog only)"
        );
        assert_eq!(lock("CREATE TABLE n (id int)"), "none on existing tables");
    }
}
