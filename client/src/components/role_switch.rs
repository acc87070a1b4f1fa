//! Who is acting: a person and a role. A stand-in until real accounts and
//! per-programme roles arrive; the server does not trust it.

use leptos::prelude::*;
use plait_shared::{Role, UserId};

use crate::contexts::workspace::{use_workspace, Actor};

/// The acting person and role.
#[component]
pub fn RoleSwitch() -> impl IntoView {
    let workspace = use_workspace();
    let set_role = move |ev: leptos::ev::Event| {
        if let Ok(role) = event_target_value(&ev).parse::<Role>() {
            workspace.actor.update(|a| a.role = role);
        }
    };
    let set_user = move |ev: leptos::ev::Event| {
        if let Ok(user) = UserId::new(event_target_value(&ev)) {
            workspace.actor.update(|a| a.user = user);
        }
    };
    view! {
        <div class="plait-role-switch">
            <div class="nhsuk-form-group">
                <label class="nhsuk-label" for="acting-as">"Acting as"</label>
                <input
                    class="nhsuk-input nhsuk-input--width-20"
                    id="acting-as"
                    type="text"
                    autocomplete="name"
                    prop:value=move || workspace.actor.get().user.to_string()
                    on:change=set_user
                />
            </div>
            <div class="nhsuk-form-group">
                <label class="nhsuk-label" for="acting-role">"Role"</label>
                <select class="nhsuk-select" id="acting-role" on:change=set_role>
                    {Role::ALL
                        .iter()
                        .map(|role| {
                            let key = role.key();
                            view! {
                                <option value=key selected=move || workspace.actor.get().role.key() == key>
                                    {role.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
        </div>
    }
}

impl Actor {
    /// "L. Brennan (Contributor)".
    pub fn describe(&self) -> String {
        format!("{} ({})", self.user, self.role.label())
    }
}
