use super::{Db, Tx, on_db, on_tx};

/// An organization and its settings.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Org {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

/// What the organization switcher needs.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgLink {
    pub slug: String,
    pub name: String,
}

/// Inserts an organization under a slug made from its name, made unique with a suffix.
pub async fn insert(tx: &mut Tx, name: &str, now: i64) -> sqlx::Result<Org> {
    let base = match slug::slugify(name) {
        s if s.is_empty() => "org".to_string(),
        s => s
            .chars()
            .take(48)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string(),
    };
    let taken: Vec<String> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT slug FROM organizations WHERE slug = $1 OR slug LIKE $2",
    )
    .bind(&base)
    .bind(format!("{base}-%"))
    .fetch_all(&mut *conn)
    .await)?;
    let slug = (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|candidate| !taken.contains(candidate))
        .expect("an unbounded range always has a free suffix");
    let id = on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO organizations (name, slug, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(&slug)
    .bind(now)
    .fetch_one(&mut *conn)
    .await)?;
    Ok(Org {
        id,
        name: name.to_string(),
        slug,
    })
}

pub async fn find_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<Org>> {
    on_db!(db, pool => sqlx::query_as("SELECT id, name, slug FROM organizations WHERE slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await)
}

/// The organizations in which a user is an active member, by name.
pub async fn list_for_user(db: &Db, user_id: i64) -> sqlx::Result<Vec<OrgLink>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT o.slug, o.name FROM memberships m JOIN organizations o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND m.status = 'active' ORDER BY o.name, o.id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await)
}
