//! Colours (BRAG) shown with their names, so colour is never the only cue,
//! and tables of counts by group, for the overview and the board report.

use leptos::prelude::*;
use plait_shared::{Colour, Counts};

use crate::markup::{markup, scroll_region, Markup};

fn colour_class(colour: Colour) -> &'static str {
    match colour {
        Colour::Red => "plait-brag plait-brag--red",
        Colour::Amber => "plait-brag plait-brag--amber",
        Colour::Green => "plait-brag plait-brag--green",
        Colour::Blue => "plait-brag plait-brag--blue",
        Colour::BlueEmbedded => "plait-brag plait-brag--blue-embedded",
        Colour::Grey => "plait-brag plait-brag--grey",
    }
}

/// A colour's swatch with its name, so colour is never the only cue.
#[component]
pub fn Brag(colour: Colour) -> impl IntoView {
    view! { <span class=colour_class(colour)>{colour.label()}</span> }
}

const COLOURS: [Colour; 6] = [
    Colour::Red,
    Colour::Amber,
    Colour::Green,
    Colour::Blue,
    Colour::BlueEmbedded,
    Colour::Grey,
];

/// A colour's swatch with its name, as markup.
pub fn brag_markup(colour: Colour) -> Markup {
    markup!(
        "<span class=\"{}\">{}</span>",
        colour_class(colour),
        colour.label()
    )
}

/// A table of counts by group (workstream, key question…), as markup.
pub fn group_table_markup(caption: &str, heading: &str, groups: &[(&str, &Counts)]) -> Markup {
    let number = |n: usize| markup!("<td class=\"nhsuk-table__cell plait-num\">{}</td>", n);
    let mut html = markup!(
        "<table class=\"nhsuk-table\"><caption class=\"nhsuk-table__caption\">{}</caption>\
         <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">\
         <th scope=\"col\" class=\"nhsuk-table__header\">{}</th>\
         <th scope=\"col\" class=\"nhsuk-table__header plait-num\">Actions</th>",
        caption,
        heading
    );
    for colour in COLOURS {
        html += markup!(
            "<th scope=\"col\" class=\"nhsuk-table__header plait-num\">{}</th>",
            colour.label()
        );
    }
    html += markup!(
        "<th scope=\"col\" class=\"nhsuk-table__header plait-num\">Overdue</th></tr></thead>\
         <tbody class=\"nhsuk-table__body\">"
    );
    for (name, counts) in groups.iter().copied() {
        html += markup!(
            "<tr class=\"nhsuk-table__row\"><th scope=\"row\" class=\"nhsuk-table__cell\">{}</th>",
            name
        );
        html += number(counts.total);
        for colour in COLOURS {
            html += number(counts.by_colour.get(&colour).copied().unwrap_or(0));
        }
        html += number(counts.overdue);
        html += markup!("</tr>");
    }
    scroll_region(caption, markup!("{}</tbody></table>", html))
}
