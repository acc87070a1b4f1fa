//! Exports: a plan as a table (in the import's own layout, so an exported
//! plan imports again), and the board report's tables, as CSV or XLSX.

use plait_shared::metrics::{labelled, named};
use plait_shared::report::BoardReport;
use plait_shared::{ActionView, Date, PlanView, ProgrammeView};

/// A titled table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its title (the XLSX sheet name; a heading row in CSV).
    pub title: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn date(d: Option<Date>) -> String {
    d.map(Date::iso).unwrap_or_default()
}

/// A plan's actions, one row each, in the import layout plus what Plait
/// derives (current due date, colour, days overdue, latest update).
pub fn plan_table(programme: &ProgrammeView, plan: &PlanView, today: Date) -> Table {
    let headers = strings(&[
        "Ref",
        "Type",
        "Regulation",
        "Key question",
        "Core service",
        "Location",
        "CQC requirement",
        "Trust action",
        "Workstream",
        "Phase",
        "Executive lead",
        "Owner",
        "Due date",
        "Original due date",
        "Status",
        "Confidence",
        "Assurance",
        "Colour",
        "Days overdue",
        "Latest update",
    ]);
    let mut actions: Vec<&ActionView> = plan.actions.values().collect();
    actions.sort_by(|a, b| a.reference.cmp(&b.reference));
    let rows = actions
        .into_iter()
        .map(|action| {
            let finding = action
                .finding_ids
                .first()
                .and_then(|id| plan.findings.get(id));
            let workstream = action
                .workstream_id
                .as_ref()
                .and_then(|id| programme.workstreams.get(id))
                .map(|w| w.name.clone())
                .unwrap_or_default();
            let phase = action
                .phase_id
                .as_ref()
                .and_then(|id| programme.phases.get(id))
                .map(|p| p.name.clone())
                .unwrap_or_default();
            vec![
                action.reference.clone(),
                finding
                    .and_then(|f| f.kind)
                    .map(|k| k.label().to_owned())
                    .unwrap_or_default(),
                finding
                    .map(|f| {
                        f.regulations
                            .iter()
                            .map(|r| r.key())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
                finding
                    .and_then(|f| f.key_question)
                    .map(|k| k.label().to_owned())
                    .unwrap_or_default(),
                finding
                    .map(|f| f.core_service.clone())
                    .unwrap_or_else(|| plan.info.core_service.clone()),
                finding.map(|f| f.location.clone()).unwrap_or_default(),
                finding.map(|f| f.text.clone()).unwrap_or_default(),
                action.title.clone(),
                workstream,
                phase,
                action.exec_lead.clone(),
                action
                    .owner
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                date(action.due_current),
                date(action.due_original),
                action.status().label().to_owned(),
                action
                    .confidence
                    .map(|c| c.label().to_owned())
                    .unwrap_or_default(),
                action
                    .assurance
                    .map(|a| a.label().to_owned())
                    .unwrap_or_default(),
                programme
                    .colours
                    .colour_of(action, today)
                    .label()
                    .to_owned(),
                match action.days_overdue(today) {
                    0 => String::new(),
                    days => days.to_string(),
                },
                action
                    .updates
                    .last()
                    .map(|u| u.text.clone())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    Table {
        title: if plan.info.title.is_empty() {
            "Plan".to_owned()
        } else {
            plan.info.title.clone()
        },
        headers,
        rows,
    }
}

/// The board report as tables: the counts by status and colour for every
/// grouping, the exceptions, the requests, the closures, the decisions and
/// the trend.
pub fn report_tables(report: &BoardReport) -> Vec<Table> {
    let metrics = &report.metrics;
    let statuses: Vec<_> = metrics.all.by_status.keys().copied().collect();
    let colours: Vec<_> = metrics.all.by_colour.keys().copied().collect();
    let mut count_headers = vec!["Group".to_owned(), "Total".to_owned()];
    count_headers.extend(statuses.iter().map(|s| s.label().to_owned()));
    count_headers.extend(colours.iter().map(|c| c.label().to_owned()));
    count_headers.push("Overdue".to_owned());
    let counts_row = |name: &str, counts: &plait_shared::Counts| {
        let mut row = vec![name.to_owned(), counts.total.to_string()];
        row.extend(
            statuses
                .iter()
                .map(|s| counts.by_status.get(s).copied().unwrap_or(0).to_string()),
        );
        row.extend(
            colours
                .iter()
                .map(|c| counts.by_colour.get(c).copied().unwrap_or(0).to_string()),
        );
        row.push(counts.overdue.to_string());
        row
    };
    let grouped = |title: &str, groups: Vec<(&str, &plait_shared::Counts)>| Table {
        title: title.to_owned(),
        headers: count_headers.clone(),
        rows: groups
            .into_iter()
            .map(|(name, c)| counts_row(name, c))
            .collect(),
    };
    let mut tables = vec![
        Table {
            title: "Summary".to_owned(),
            headers: count_headers.clone(),
            rows: vec![counts_row("All actions", &metrics.all)],
        },
        grouped("Must and Should", labelled(&metrics.by_kind)),
        grouped("By workstream", named(&metrics.by_workstream)),
        grouped("By key question", labelled(&metrics.by_key_question)),
        grouped("By core service", named(&metrics.by_core_service)),
        grouped("By location", named(&metrics.by_location)),
    ];
    tables.push(Table {
        title: "Assurance given".to_owned(),
        headers: strings(&[
            "Assurance level",
            "Actions (evidence accepted, closed or embedded)",
        ]),
        rows: metrics
            .assurance
            .iter()
            .map(|(level, n)| vec![level.label().to_owned(), n.to_string()])
            .collect(),
    });
    tables.push(Table {
        title: "Overdue".to_owned(),
        headers: strings(&[
            "Ref",
            "Action",
            "Owner",
            "Executive lead",
            "Status",
            "Due",
            "Days overdue",
            "Latest update",
        ]),
        rows: metrics
            .overdue
            .iter()
            .map(|o| {
                vec![
                    o.reference.clone(),
                    o.title.clone(),
                    o.owner
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    o.exec_lead.clone(),
                    o.status.label().to_owned(),
                    o.due.iso(),
                    o.days_overdue.to_string(),
                    o.latest_update.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    });
    tables.push(Table {
        title: "Extension requests".to_owned(),
        headers: strings(&[
            "Ref",
            "Action",
            "Owner",
            "Original due",
            "New due asked",
            "Reason",
            "Answer",
        ]),
        rows: report
            .extension_requests
            .iter()
            .map(|r| {
                vec![
                    r.reference.clone(),
                    r.title.clone(),
                    r.owner
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    date(r.due_original),
                    r.new_due.iso(),
                    r.reason.clone(),
                    r.answer
                        .map_or("Pending".to_owned(), |a| a.label().to_owned()),
                ]
            })
            .collect(),
    });
    tables.push(Table {
        title: "Proposed closures".to_owned(),
        headers: strings(&["Ref", "Action", "Owner", "Status", "Evidence items"]),
        rows: report
            .proposed_closures
            .iter()
            .map(|p| {
                vec![
                    p.reference.clone(),
                    p.title.clone(),
                    p.owner
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    p.status.label().to_owned(),
                    p.evidence.to_string(),
                ]
            })
            .collect(),
    });
    tables.push(Table {
        title: "Decisions".to_owned(),
        headers: strings(&["Ref", "Forum", "Meeting", "Outcome", "Minute", "Note"]),
        rows: report
            .decisions
            .iter()
            .map(|d| {
                vec![
                    d.reference.clone(),
                    d.decision.forum.clone(),
                    d.decision.meeting_date.iso(),
                    d.decision.outcome.label().to_owned(),
                    d.decision.minute_ref.clone(),
                    d.decision.note.clone(),
                ]
            })
            .collect(),
    });
    let mut trend_headers = vec!["Month".to_owned()];
    trend_headers.extend(statuses.iter().map(|s| s.label().to_owned()));
    tables.push(Table {
        title: "Trend".to_owned(),
        headers: trend_headers,
        rows: report
            .trend
            .iter()
            .map(|point| {
                let mut row = vec![point.month.clone()];
                row.extend(
                    statuses
                        .iter()
                        .map(|s| point.by_status.get(s).copied().unwrap_or(0).to_string()),
                );
                row
            })
            .collect(),
    });
    tables
}

/// Tables as CSV: one table, or several each under its title and separated
/// by a blank line.
///
/// # Errors
/// When writing fails.
pub fn to_csv(tables: &[Table]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let titled = tables.len() > 1;
    for (i, table) in tables.iter().enumerate() {
        if titled {
            if i > 0 {
                writer.write_record(None::<&[u8]>)?;
            }
            writer.write_record([&table.title])?;
        }
        writer.write_record(&table.headers)?;
        for row in &table.rows {
            writer.write_record(row)?;
        }
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// Tables as an XLSX workbook, a sheet each, headers bold and frozen.
///
/// # Errors
/// When the workbook cannot be written.
pub fn to_xlsx(tables: &[Table]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for table in tables {
        let sheet = book.add_worksheet();
        // Sheet names: at most 31 characters, none of []:*?/\.
        let name: String = table
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet.set_name(if name.is_empty() { "Sheet" } else { &name })?;
        for (c, header) in table.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, header, &bold)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match cell.parse::<f64>() {
                    Ok(n) if !cell.is_empty() && !cell.starts_with('0') || cell == "0" => {
                        sheet.write_number(r, c, n)?;
                    }
                    _ => {
                        sheet.write_string(r, c, cell)?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
    }
    book.save_to_buffer()
}
