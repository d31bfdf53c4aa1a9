//! `convoy locks` and `convoy unlock ITEM --force`: the release locks in the records bucket — which
//! release holds which service or rule — and removing one by hand (after an operator decided its
//! release is gone for good; a lock whose execution ended is taken over by the next release anyway).

use release_core::contract::PlanItemKind;
use release_core::steps::lock::{force_unlock, list};

use crate::aws::{Aws, AwsArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::{plural, table, Tone};

/// The bucket the locks are in: the stack's release-records bucket.
#[derive(Debug, clap::Args)]
pub struct BucketArgs {
    /// The release-records bucket (the stack output `ReleaseRecordsBucketName`).
    #[arg(long, env = "CONVOY_RECORDS_BUCKET", value_name = "NAME")]
    pub bucket: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: BucketArgs,
}

#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// `service:CLUSTER/SERVICE` or `rule:BUS/RULE` (as `convoy locks` prints it).
    pub item: String,
    /// Required: removing a lock lets another release change the item while its holder may still run.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub target: BucketArgs,
}

pub async fn list_locks(args: &ListArgs) -> Result<Exit, CliError> {
    let aws = Aws::connect(&args.target.aws).await?;
    let held = list(aws.records.objects(), &args.target.bucket).await?;
    if held.is_empty() {
        crate::io::print("no release locks held\n");
        return Ok(Exit::Ok);
    }
    let rows: Vec<Vec<(String, Tone)>> = held
        .iter()
        .map(|h| {
            vec![
                (h.lock.item.clone(), Tone::Plain),
                (h.lock.release_id.clone(), Tone::Plain),
                (h.lock.execution_arn.clone(), Tone::Plain),
            ]
        })
        .collect();
    let mut out = table(&["ITEM", "RELEASE", "EXECUTION"], &rows, false);
    out.push_str(&format!("{}\n", plural(held.len(), "lock")));
    crate::io::print(&out);
    Ok(Exit::Ok)
}

/// `service:prod/web` → (Service, `prod/web`).
fn parse_item(item: &str) -> Result<(PlanItemKind, &str), CliError> {
    let parsed = match item.split_once(':') {
        Some(("service", id)) if id.contains('/') => Some((PlanItemKind::Service, id)),
        Some(("rule", id)) if id.contains('/') => Some((PlanItemKind::Rule, id)),
        Some(("schedule", id)) if id.contains('/') => Some((PlanItemKind::Schedule, id)),
        _ => None,
    };
    parsed.ok_or_else(|| {
        CliError::Usage(format!(
            "`{item}`: name a lock as `service:CLUSTER/SERVICE`, `rule:BUS/RULE` or \
             `schedule:GROUP/NAME`"
        ))
    })
}

pub async fn unlock(args: &UnlockArgs) -> Result<Exit, CliError> {
    let (kind, id) = parse_item(&args.item)?;
    if !args.force {
        return Err(CliError::Usage(format!(
            "unlock {}: add --force to remove a lock another release may still rely on",
            args.item
        )));
    }
    let aws = Aws::connect(&args.target.aws).await?;
    match force_unlock(aws.records.objects(), &args.target.bucket, kind, id).await? {
        Some(lock) => crate::io::print(&format!(
            "removed the lock on {} held by release {} (execution {})\n",
            args.item, lock.release_id, lock.execution_arn
        )),
        None => crate::io::print(&format!("{} was not locked\n", args.item)),
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_named_as_listed() {
        assert_eq!(
            parse_item("service:prod/web").unwrap(),
            (PlanItemKind::Service, "prod/web")
        );
        assert_eq!(
            parse_item("rule:default/nightly").unwrap(),
            (PlanItemKind::Rule, "default/nightly")
        );
        assert_eq!(
            parse_item("schedule:reports/nightly").unwrap(),
            (PlanItemKind::Schedule, "reports/nightly")
        );
        for bad in [
            "prod/web",
            "service:web",
            "task:a/b",
            "schedule:nightly",
            "",
        ] {
            assert!(parse_item(bad).is_err(), "{bad}");
        }
    }
}
