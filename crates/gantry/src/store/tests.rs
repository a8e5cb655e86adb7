use super::*;

fn printer<'a>(identity: &'a str, port: &'a str) -> NewPrinter<'a> {
    NewPrinter {
        identity,
        default_name: "Printer",
        port,
        baud: Some(115_200),
        profile: None,
    }
}

#[tokio::test]
async fn a_new_file_is_created_in_wal_mode_with_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gantry.db");
    let store = Store::open(&path).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let app: i64 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    for table in ["printers", "settings", "audit_log"] {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1")
                .bind(table)
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(n, 1, "{table}");
    }
    store.close().await;
    assert!(path.exists());
}

#[tokio::test]
async fn printers_keep_their_identity_and_name_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gantry.db");
    let store = Store::open(&path).await.unwrap();
    let first = store
        .upsert_printer(&printer("port:/dev/ttyUSB0", "/dev/ttyUSB0"))
        .await
        .unwrap();
    assert!(store
        .rename_printer(first.id, "Workshop MK3")
        .await
        .unwrap());
    store
        .record_firmware(first.id, Some("Marlin 2.1"), Some("abc"), Some("MK3"))
        .await
        .unwrap();
    store.close().await;

    let store = Store::open(&path).await.unwrap();
    let again = store
        .upsert_printer(&printer("port:/dev/ttyUSB0", "/dev/ttyUSB1"))
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.name, "Workshop MK3");
    assert_eq!(again.port, "/dev/ttyUSB1");
    assert_eq!(again.firmware_uuid.as_deref(), Some("abc"));
    let other = store
        .upsert_printer(&printer("port:/dev/ttyUSB2", "/dev/ttyUSB2"))
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(store.printers().await.unwrap().len(), 2);
    assert!(!store.rename_printer(999, "nobody").await.unwrap());
}

#[tokio::test]
async fn settings_round_trip_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("gantry.db")).await.unwrap();
    assert_eq!(
        store.setting::<bool>("external_access").await.unwrap(),
        None
    );
    store.set_setting("external_access", &true).await.unwrap();
    store.set_setting("external_access", &false).await.unwrap();
    assert_eq!(
        store.setting::<bool>("external_access").await.unwrap(),
        Some(false)
    );
    store.set_setting("names", &vec!["a", "b"]).await.unwrap();
    assert_eq!(
        store.setting::<Vec<String>>("names").await.unwrap(),
        Some(vec!["a".into(), "b".into()])
    );
}

#[tokio::test]
async fn audit_entries_come_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("gantry.db")).await.unwrap();
    store
        .audit("daemon.started", None, None, Some("port 8008"))
        .await
        .unwrap();
    store
        .audit("login.failed", Some("192.0.2.7"), Some("alice"), None)
        .await
        .unwrap();
    let entries = store.audit_entries(10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].event, "login.failed");
    assert_eq!(entries[0].address.as_deref(), Some("192.0.2.7"));
    assert_eq!(entries[1].event, "daemon.started");
}

#[tokio::test]
async fn a_garbage_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gantry.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("will not overwrite"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[tokio::test]
async fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gantry.db");
    {
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE recipes (id INTEGER PRIMARY KEY, title TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO recipes (title) VALUES ('soup')")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let err = Store::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    let options = SqliteConnectOptions::new().filename(&path);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    let title: String = sqlx::query_scalar("SELECT title FROM recipes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(title, "soup");
}
