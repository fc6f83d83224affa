//! /admin/users: every account, searchable by email, a page at a time; quota, role, disable
//! and delete (with its progress, step by step).

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use super::when;
use crate::{
    api::admin::{admin_delete_user, admin_users, AdminSetDisabled, AdminSetQuota, AdminSetRole},
    components::{
        error_view::error_view,
        list::{pager, FilterForm, ListUrl},
        loaded::loaded,
        table::{
            Column::{Hidden, Shown},
            ListTable,
        },
    },
    error::AppError,
    format::bytes,
    model::{admin::AdminUser, Role, UserId},
};

#[derive(Clone, Copy)]
struct Actions {
    quota: ServerAction<AdminSetQuota>,
    role: ServerAction<AdminSetRole>,
    disabled: ServerAction<AdminSetDisabled>,
    /// Bumped when a deletion ends, to reload the list.
    deleted: RwSignal<u32>,
    /// What the last deletion did.
    notice: RwSignal<Option<String>>,
    /// The account whose row last asked for a quota, role or disabled change.
    row: RwSignal<Option<UserId>>,
    /// What that change did, said next to its controls: the account, the words, and whether
    /// it failed.
    note: RwSignal<Option<(UserId, String, bool)>>,
}

/// Says next to the row what `value` (an action's answer) did: `done` in words, or the error.
fn say_done(
    actions: Actions,
    value: impl Get<Value = Option<Result<AdminUser, AppError>>> + Send + Sync + 'static,
    done: fn(&AdminUser) -> String,
) {
    Effect::new(move || {
        let note = match value.get() {
            Some(Ok(user)) => Some((user.id, done(&user), false)),
            Some(Err(error)) => actions.row.get_untracked().map(|row| {
                let text = error.field("quota").unwrap_or_else(|| error.to_string());
                (row, text, true)
            }),
            None => None,
        };
        if note.is_some() {
            actions.note.set(note);
        }
    });
}

pub fn users_page() -> impl IntoView {
    let url = ListUrl::new("/admin/users", &["email"]);
    let actions = Actions {
        quota: ServerAction::new(),
        role: ServerAction::new(),
        disabled: ServerAction::new(),
        deleted: RwSignal::new(0),
        notice: RwSignal::new(None),
        row: RwSignal::new(None),
        note: RwSignal::new(None),
    };
    say_done(actions, actions.quota.value(), |user| {
        format!("Quota set to {}.", bytes(user.quota_bytes))
    });
    say_done(actions, actions.role.value(), |user| {
        format!("Role is now {}.", user.role.as_str())
    });
    say_done(actions, actions.disabled.value(), |user| {
        if user.disabled {
            "Disabled: signed out."
        } else {
            "Enabled."
        }
        .to_owned()
    });
    let reload = move || {
        (
            actions.quota.version().get(),
            actions.role.version().get(),
            actions.disabled.version().get(),
            actions.deleted.get(),
        )
    };
    let page = url.resource(
        move || url.param("email"),
        reload,
        |email, cursor| admin_users(Some(email), cursor),
    );
    view! {
        <Title text="Users — Admin — Haul"/>
        <h1>"Users"</h1>
        <FilterForm url label="Filter users">
            <label>
                "Email contains " <input type="search" name="email" prop:value=move || url.param("email")/>
            </label>
        </FilterForm>
        {move || actions.notice.get().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        {loaded(page, move |page| view! {
            <ListTable
                items=page.users
                columns=&[Shown("Email"), Shown("Role"), Shown("Files"),
                    Shown("Used / reserved / quota"), Shown("Created"),
                    Shown("Last sign-in"), Shown("Disabled"), Hidden("Actions")]
                row=move |user: AdminUser| view! { <UserRow user actions/> }
                class="admin-table"
                label="Users"
                empty="No accounts match."
            />
            {pager(url, page.next_cursor, "First page", "Next page")}
        })}
    }
}

#[component]
fn UserRow(user: AdminUser, actions: Actions) -> impl IntoView {
    let email = user.email.clone();
    let usage = format!(
        "{} / {} / {}",
        bytes(user.used_bytes),
        bytes(user.reserved_bytes),
        bytes(user.quota_bytes)
    );
    let disabled = if user.deleting {
        "Being deleted"
    } else if user.disabled {
        "Yes"
    } else {
        "No"
    };
    view! {
        <tr aria-label=email.clone()>
            <td class="email" title=email.clone()>{email.clone()}</td>
            <td data-label="Role">{user.role.as_str()}</td>
            <td data-label="Files">{user.complete_files}</td>
            <td data-label="Used / reserved / quota">{usage}</td>
            <td class="secondary when" data-label="Created">{when(&user.created_at)}</td>
            <td class="secondary when" data-label="Last sign-in">
                {user.last_sign_in_at.as_deref().map(when)}
            </td>
            <td data-label="Disabled">{disabled}</td>
            <td class="user-actions">
                {user_actions(user, actions)}
            </td>
        </tr>
    }
}

fn user_actions(user: AdminUser, actions: Actions) -> impl IntoView {
    let AdminUser {
        id,
        email,
        role,
        disabled,
        ..
    } = user;
    let (other_role, role_label) = match role {
        Role::Admin => (Role::User, "Demote"),
        Role::User => (Role::Admin, "Promote"),
    };
    let disable_label = if disabled { "Enable" } else { "Disable" };
    let quota = RwSignal::new(String::new());
    let on_quota = {
        let email = email.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            let quota = quota.get_untracked();
            if confirm(&format!("Set the quota of {email} to {quota}?")) {
                actions.row.set(Some(id));
                actions.quota.dispatch(AdminSetQuota { user_id: id, quota });
            }
        }
    };
    let on_disabled = {
        let email = email.clone();
        move |_| {
            let question = format!("Disable {email}? They are signed out at once.");
            if disabled || confirm(&question) {
                actions.row.set(Some(id));
                actions.disabled.dispatch(AdminSetDisabled {
                    user_id: id,
                    disabled: !disabled,
                });
            }
        }
    };
    view! {
        <form class="inline-form" aria-label=format!("Quota of {email}") on:submit=on_quota>
            <input
                name="quota"
                size="8"
                aria-label=format!("New quota for {email}")
                placeholder="500GB"
                on:input=move |event| quota.set(event_target_value(&event))
            />
            <button type="submit" class="link">"Set quota"</button>
        </form>
        <button
            type="button"
            class="link"
            aria-label=format!("{role_label} {email}")
            on:click=move |_| {
                actions.row.set(Some(id));
                actions.role.dispatch(AdminSetRole { user_id: id, role: other_role });
            }
        >
            {role_label}
        </button>
        <button
            type="button"
            class="link"
            aria-label=format!("{disable_label} {email}")
            on:click=on_disabled
        >
            {disable_label}
        </button>
        {delete_user(id, email, actions)}
        {row_note(id, actions)}
    }
}

/// What the last change asked in this row did, or why it failed, next to its controls.
fn row_note(id: UserId, actions: Actions) -> impl IntoView {
    move || {
        let (_, text, failed) = actions.note.get().filter(|(row, ..)| *row == id)?;
        Some(if failed {
            view! { <span class="field-error" role="alert">{text}</span> }.into_any()
        } else {
            view! { <span class="row-done" role="status">{text}</span> }.into_any()
        })
    }
}

/// Deletes the account and its files, a step at a time, showing how far it got.
fn delete_user(id: UserId, email: String, actions: Actions) -> impl IntoView {
    let progress = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<AppError>);
    let on_click = {
        let email = email.clone();
        move |_| {
            let question = format!(
                "Delete {email} and all their files? Their bytes are removed from the storage. \
                 This cannot be undone."
            );
            if !confirm(&question) {
                return;
            }
            let email = email.clone();
            spawn_local(async move {
                failed.set(None);
                let mut removed = 0;
                loop {
                    match admin_delete_user(id).await {
                        Ok(step) => {
                            removed += step.removed_files;
                            progress.set(Some(format!(
                                "Deleting… {removed} files removed, {} left.",
                                step.files_left
                            )));
                            if step.done {
                                actions
                                    .notice
                                    .set(Some(format!("Deleted {email} and {removed} files.")));
                                break;
                            }
                        }
                        Err(error) => {
                            failed.set(Some(error));
                            break;
                        }
                    }
                }
                actions.deleted.update(|n| *n += 1);
            });
        }
    };
    view! {
        <button type="button" class="link danger" aria-label=format!("Delete {email}") on:click=on_click>
            "Delete"
        </button>
        {move || progress.get().map(|text| view! { <span role="status">{text}</span> })}
        {move || failed.get().map(error_view)}
    }
}

/// Asks `question` in the browser's confirmation box; true when the admin says yes.
fn confirm(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}
