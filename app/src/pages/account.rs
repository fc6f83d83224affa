use leptos::prelude::*;
use leptos_meta::Title;

use crate::{components::require_user::RequireUser, model::Role};

/// The signed-in user's account: who they are and how much room they have.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Your account — Haul"/>
        <RequireUser children=|user| {
            let role = match user.role {
                Role::Admin => "Administrator",
                Role::User => "Member",
            };
            view! {
                <h1>"Your account"</h1>
                <dl class="facts">
                    <dt>"Email"</dt>
                    <dd>{user.email.clone()}</dd>
                    <dt>"Role"</dt>
                    <dd>{role}</dd>
                    <dt>"Storage used"</dt>
                    <dd>{format!("{} of {}", human_bytes(user.used_bytes), human_bytes(user.quota_bytes))}</dd>
                </dl>
            }
        }/>
    }
}

/// 1536 → "1.5 KiB".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(100 << 30), "100.0 GiB");
    }
}
