//! `convoy plan FILE`: what a release would change, read-only. Exits "changes" when something
//! would change (for CI), "invalid" for an invalid manifest or pre-flight problems (every one
//! listed).

use std::path::PathBuf;

use clap::ValueEnum;
use release_core::decide::manifest::arn::Home;
use release_core::decide::preflight::Reach;

use crate::aws::{Aws, AwsArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::plan_view::plan_view;
use crate::plan_view::render::{markdown, text};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (`deployment.yaml`), or `-` for stdin.
    file: PathBuf,
    /// `text` for people, `json` for machines, `markdown` for a pull-request comment.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also write the plan as Markdown to this file, from the same reads (the pipeline's render
    /// step prints JSON for its summary and keeps the Markdown for approvers).
    #[arg(long, value_name = "FILE")]
    markdown_out: Option<PathBuf>,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Markdown,
}

pub async fn run(args: &Args) -> Result<Exit, CliError> {
    let (_, release) = crate::io::read_release(&args.file, "manifest invalid")?;
    let aws = Aws::connect(&args.aws).await?;
    // The CLI knows its region, not its account: a cluster or service ARN of another region is
    // refused as plan-release refuses it. Roles are the functions' to pass, not checked here.
    let reach = Reach {
        home: Home {
            region: aws.ecs.config().region().map(|r| r.as_ref().to_owned()),
            account: None,
        },
        passable_roles: None,
    };
    let view = plan_view(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &aws.scheduler,
        release,
        &reach,
    )
    .await?;
    if let Some(path) = &args.markdown_out {
        std::fs::write(path, markdown(&view)).map_err(|error| CliError::Unwritable {
            name: path.display().to_string(),
            error,
        })?;
    }
    let output = match args.format {
        Format::Text => text(&view, crate::output::stdout_color()),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&view).expect("a plan view serializes")
        ),
        Format::Markdown => markdown(&view),
    };
    crate::io::print(&output);
    Ok(if view.changed > 0 {
        Exit::Changes
    } else {
        Exit::Ok
    })
}
