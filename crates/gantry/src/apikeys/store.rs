//! The `api_keys` table.

use super::KeyInfo;
use crate::store::{now, Store, StoreError};

pub(super) async fn all(store: &Store) -> Result<Vec<(KeyInfo, String)>, StoreError> {
    let rows: Vec<(i64, String, i64, String, String)> = sqlx::query_as(
        "SELECT id, name, printer_id, created_at, key_hash FROM api_keys ORDER BY id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, printer_id, created_at, hash)| {
            (
                KeyInfo {
                    id,
                    name,
                    printer_id,
                    created_at,
                },
                hash,
            )
        })
        .collect())
}

pub(super) async fn insert(
    store: &Store,
    name: &str,
    hash: &str,
    printer_id: i64,
) -> Result<KeyInfo, StoreError> {
    Ok(sqlx::query_as::<_, KeyInfo>(
        "INSERT INTO api_keys (name, key_hash, printer_id, created_at) VALUES (?1, ?2, ?3, ?4)
         RETURNING id, name, printer_id, created_at",
    )
    .bind(name)
    .bind(hash)
    .bind(printer_id)
    .bind(now())
    .fetch_one(store.pool())
    .await?)
}

pub(super) async fn delete(store: &Store, id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM api_keys WHERE id = ?1")
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}
