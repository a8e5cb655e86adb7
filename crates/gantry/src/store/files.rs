//! Uploaded G-code files as the store knows them; the bytes live in `<data dir>/files`.

use serde::Serialize;

use super::{now, Store, StoreError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct FileRow {
    pub id: i64,
    pub name: String,
    pub size: i64,
    pub uploaded_at: String,
    /// The slicer metadata as JSON text (see `gcode::Metadata`), thumbnail excluded.
    #[serde(skip)]
    pub metadata: Option<String>,
}

impl Store {
    /// Records a file that was just moved into place, replacing a record of the same name.
    /// The metadata moves into the returned row rather than coming back from SQLite: for a
    /// file with many layers it is megabytes of JSON.
    pub async fn put_file(
        &self,
        name: &str,
        size: u64,
        metadata: Option<String>,
    ) -> Result<FileRow, StoreError> {
        let mut row = sqlx::query_as::<_, FileRow>(
            "INSERT INTO files (name, size, uploaded_at, metadata) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET size = excluded.size, uploaded_at = excluded.uploaded_at,
                                              metadata = excluded.metadata
             RETURNING id, name, size, uploaded_at, NULL AS metadata",
        )
        .bind(name)
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(now())
        .bind(metadata.as_deref())
        .fetch_one(self.pool())
        .await?;
        row.metadata = metadata;
        Ok(row)
    }

    pub async fn files(&self) -> Result<Vec<FileRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, FileRow>("SELECT * FROM files ORDER BY uploaded_at DESC, id DESC")
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn file(&self, id: i64) -> Result<Option<FileRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, FileRow>("SELECT * FROM files WHERE id = ?1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn file_by_name(&self, name: &str) -> Result<Option<FileRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, FileRow>("SELECT * FROM files WHERE name = ?1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn rename_file(&self, id: i64, name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE files SET name = ?2 WHERE id = ?1")
            .bind(id)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn delete_file(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM files WHERE id = ?1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
