//! `server user promote|demote|disable|enable EMAIL`: account changes from the command line,
//! against the same database the server uses (the embedded one included). They follow the
//! admin dashboard's rules (never zero admins) and are recorded in the audit log.

use anyhow::bail;
use app::{
    backend::{
        audit::Actor,
        users::{self, Change},
    },
    model::{Email, Role},
};

use crate::{
    local_stack::LocalStack,
    settings::{Settings, UserAction},
    startup::connect_database,
};

pub async fn run(settings: &Settings, action: UserAction) -> anyhow::Result<()> {
    let mut stack = LocalStack::default();
    let db = connect_database(settings, &mut stack).await?;
    app::backend::db::migrate(&db).await?;
    let (email, change, done) = match &action {
        UserAction::Promote { email } => (email, Change::Role(Role::Admin), "is now admin"),
        UserAction::Demote { email } => (email, Change::Role(Role::User), "is now user"),
        UserAction::Disable { email } => (email, Change::Disabled(true), "is disabled"),
        UserAction::Enable { email } => (email, Change::Disabled(false), "is enabled"),
    };
    let email = app::validate::email(email).map_err(anyhow::Error::msg)?;
    let outcome = apply(&db, &email, change).await;
    db.close().await;
    tokio::task::spawn_blocking(move || stack.stop()).await?;
    outcome?;
    println!("{email} {done}");
    Ok(())
}

async fn apply(db: &sqlx::PgPool, email: &Email, change: Change) -> anyhow::Result<()> {
    let Some(user) = users::find_by_email(db, email).await? else {
        bail!("no account with email {email}");
    };
    match users::change(db, user.id, change, &Actor::system()).await {
        Ok(_) => Ok(()),
        Err(app::backend::Error::Invalid(problems)) => {
            let message: Vec<_> = problems.into_iter().map(|p| p.message).collect();
            bail!("{}", message.join(" "))
        }
        Err(error) => Err(error.into()),
    }
}
