//! Boundaries of areas set in bulk, from a GeoJSON file: all of them in one transaction, each
//! checked as a geometry and as an area inside the caller's scope.

use serde::Serialize;
use sqlx::Row;
use wangge_core::{Caller, Permission};

use crate::areas::check_geometry;
use crate::{Store, StoreError, StoreResult, audit, now_text};

/// A feature of a GeoJSON file: its index, the area code in its properties, its geometry.
pub type Feature = (usize, Option<String>, Option<String>);

/// A feature of the file that cannot be used.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeatureError {
    /// 0-based index of the feature in the collection.
    pub feature: usize,
    pub code: Option<String>,
    pub error: String,
    pub message: String,
}

/// An area's boundary and its open children's, for checking gaps and overlaps.
#[derive(Debug, Clone)]
pub struct Family {
    pub id: i64,
    pub code: String,
    pub boundary: Option<String>,
    pub children: Vec<(String, String)>,
}

impl Store {
    /// Sets the boundaries of the areas named by code, inside `within` (the caller's scope by
    /// default). With any error nothing is written; `dry_run` writes nothing either. Returns
    /// the ids of the areas set (or to be set) and the errors.
    pub async fn set_boundaries(
        &self,
        caller: &Caller,
        within: Option<i64>,
        features: &[Feature],
        dry_run: bool,
    ) -> StoreResult<(Vec<i64>, Vec<FeatureError>)> {
        audit::require(caller, Permission::ManageAreas)?;
        let range = self.range_within(caller.scope(), within).await?;
        let mut errors = Vec::new();
        let mut found = Vec::new();
        let err = |i: usize, code: &Option<String>, e: &str, m: String| FeatureError {
            feature: i,
            code: code.clone(),
            error: e.to_string(),
            message: m,
        };
        for (i, code, geometry) in features {
            let Some(c) = code else {
                errors.push(err(*i, code, "required", "the feature has no properties.code".into()));
                continue;
            };
            let Some(g) = geometry else {
                errors.push(err(*i, code, "required", "the feature has no geometry".into()));
                continue;
            };
            if let Err(StoreError::Invalid { code: e, message, .. }) = check_geometry(g) {
                errors.push(err(*i, code, e, message));
                continue;
            }
            let row = sqlx::query("SELECT id, path FROM areas WHERE code = $1 AND valid_to IS NULL")
                .bind(c)
                .fetch_optional(&self.pool)
                .await?;
            let area = match row {
                Some(r) => {
                    let path: String = r.try_get("path")?;
                    (path >= range.0 && path < range.1).then(|| r.try_get::<i64, _>("id")).transpose()?
                }
                None => None,
            };
            match area {
                Some(id) => found.push((id, g.clone())),
                None => errors.push(err(*i, code, "unknown_area", format!("there is no area {c} in your area"))),
            }
        }
        if !errors.is_empty() || dry_run {
            return Ok((found.into_iter().map(|(id, _)| id).collect(), errors));
        }
        let mut tx = self.write_tx().await?;
        let now = now_text();
        for (id, g) in &found {
            sqlx::query("UPDATE areas SET boundary = $1, updated_at = $2 WHERE id = $3")
                .bind(g)
                .bind(&now)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
            let path: String =
                sqlx::query_scalar("SELECT path FROM areas WHERE id = $1").bind(*id).fetch_one(&mut *tx).await?;
            audit::record(&mut tx, caller, "update", "area", Some(*id), &path, None, Some("boundary".into())).await?;
        }
        tx.commit().await?;
        Ok((found.into_iter().map(|(id, _)| id).collect(), errors))
    }

    /// The boundary of an area inside the scope and those of its open children.
    pub async fn boundary_family(&self, scope: &wangge_core::Scope, id: i64) -> StoreResult<Family> {
        let area = self.area(scope, id).await?;
        let boundary = self.area_boundary(scope, id).await?;
        let children = sqlx::query(
            "SELECT code, boundary FROM areas WHERE parent_id = $1 AND valid_to IS NULL AND boundary IS NOT NULL ORDER BY code",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("code")?, r.try_get("boundary")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        Ok(Family { id, code: area.code, boundary, children })
    }

    /// The parent of an area, if inside the scope.
    pub async fn parent_in_scope(&self, scope: &wangge_core::Scope, id: i64) -> StoreResult<Option<i64>> {
        let area = self.area(scope, id).await?;
        Ok(match area.parent_id {
            Some(p) if self.area(scope, p).await.is_ok() => Some(p),
            _ => None,
        })
    }
}
