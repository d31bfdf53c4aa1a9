//! Terminal output shared by the commands: formats, whether to colour, aligned tables, warnings.

use std::io::IsTerminal;

use clap::ValueEnum;

/// `--format` of the commands that report on an execution: `text` for people, `json` for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// ANSI colour only on a terminal, and never with `NO_COLOR` set (https://no-color.org).
pub fn color_for(terminal: bool, no_color: Option<&str>) -> bool {
    terminal && no_color.is_none_or(str::is_empty)
}

/// Whether stdout gets colour.
pub fn stdout_color() -> bool {
    color_for(
        std::io::stdout().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    )
}

/// Whether live progress can be drawn (stderr is a terminal).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether stderr (progress) gets colour.
pub fn stderr_color() -> bool {
    color_for(
        stderr_is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    )
}

/// Colours a word green (good), red (bad) or yellow (in between), or leaves it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Busy,
    Plain,
}

pub fn paint(text: &str, tone: Tone, color: bool) -> String {
    let code = match tone {
        Tone::Good => "32",
        Tone::Bad => "31",
        Tone::Busy => "33",
        Tone::Plain => return text.to_owned(),
    };
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Columns padded to the widest cell; trailing spaces trimmed. A cell is (text, tone); widths
/// count characters of the plain text, so colour does not shift columns.
pub fn table(header: &[&str], rows: &[Vec<(String, Tone)>], color: bool) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, (cell, _)) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<(String, Tone)>| {
        let mut out = String::new();
        for (i, (cell, tone)) in cells.into_iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            out.push_str(&paint(&cell, tone, color));
            out.push_str(&" ".repeat(pad));
        }
        format!("{}\n", out.trim_end())
    };
    let mut text = line(
        header
            .iter()
            .map(|h| (h.to_string(), Tone::Plain))
            .collect(),
    );
    for row in rows {
        text.push_str(&line(row.clone()));
    }
    text
}

/// A warning that costs the command nothing but detail (a record or history event that cannot be
/// read): said on stderr, naming what could not be read.
pub fn warn(message: &str) {
    eprintln!("convoy: warning: {message}");
}

pub fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let cases = [
            (true, None, true),
            (true, Some(""), true),
            (true, Some("1"), false),
            (false, None, false),
            (false, Some("1"), false),
        ];
        for (terminal, no_color, want) in cases {
            assert_eq!(
                color_for(terminal, no_color),
                want,
                "{terminal} {no_color:?}"
            );
        }
    }

    #[test]
    fn tables_align_on_plain_width_even_when_coloured() {
        let rows = vec![
            vec![
                ("a".to_string(), Tone::Good),
                ("x".to_string(), Tone::Plain),
            ],
            vec![
                ("long".to_string(), Tone::Bad),
                ("".to_string(), Tone::Plain),
            ],
        ];
        assert_eq!(
            table(&["ID", "V"], &rows, false),
            "ID    V\na     x\nlong\n"
        );
        let coloured = table(&["ID", "V"], &rows, true);
        assert!(coloured.contains("\x1b[32ma\x1b[0m     x"), "{coloured:?}");
    }
}
