//! `server user promote|demote EMAIL`: role changes from the command line, against the same
//! database the server uses (the embedded one included).

use anyhow::bail;
use app::{backend::users, model::Role};

use crate::{
    local_stack::LocalStack,
    settings::{Settings, UserAction},
    startup::connect_database,
};

pub async fn run(settings: &Settings, action: UserAction) -> anyhow::Result<()> {
    let mut stack = LocalStack::default();
    let db = connect_database(settings, &mut stack).await?;
    app::backend::db::migrate(&db).await?;
    let (email, role) = match &action {
        UserAction::Promote { email } => (email, Role::Admin),
        UserAction::Demote { email } => (email, Role::User),
    };
    let email = app::validate::email(email).map_err(anyhow::Error::msg)?;
    let found = users::set_role(&db, &email, role).await;
    db.close().await;
    tokio::task::spawn_blocking(move || stack.stop()).await?;
    if !found? {
        bail!("no account with email {email}");
    }
    println!("{email} is now {}", role.as_str());
    Ok(())
}
