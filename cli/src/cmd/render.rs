//! `convoy render FILE`: the exact JSON input of the release state machine. A release above 32 KiB
//! starts by reference: with `--bucket`, it is written to the release-records bucket and the
//! reference is printed (what the pipeline's render step does); `--full` prints the release itself.

use std::path::PathBuf;

use crate::aws::{Aws, AwsArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::start_input::Rendered;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (`deployment.yaml`), or `-` for stdin.
    file: PathBuf,
    /// The release-records bucket (the stack output `ReleaseRecordsBucketName`): a release above
    /// 32 KiB is written there, under `inputs/<release id>/<sha256>.json`, and the printed input
    /// names it. Unused for a smaller release.
    #[arg(long, value_name = "NAME", conflicts_with = "full")]
    bucket: Option<String>,
    /// Print the whole release whatever its size (to read it; above 32 KiB it is not what an
    /// execution is started with).
    #[arg(long)]
    full: bool,
    #[command(flatten)]
    commit: crate::io::CommitArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: &Args) -> Result<Exit, CliError> {
    let (file, release) = crate::io::read_release(&args.file, "not rendered")?;
    let release = args.commit.stamp(release);
    let rendered = Rendered::of(&release);
    let input = match args.bucket.as_deref().filter(|b| !b.is_empty()) {
        _ if args.full || !rendered.by_reference() => rendered.json,
        None => {
            return Err(rendered.needs_bucket(&file, "--full prints the whole release to read it"))
        }
        Some(bucket) => {
            let aws = Aws::connect(&args.aws).await?;
            rendered.execution_input(&aws, bucket).await?
        }
    };
    crate::io::print(&format!("{input}\n"));
    Ok(Exit::Ok)
}
