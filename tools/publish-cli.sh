#!/usr/bin/env bash
# `make publish-cli [BUCKET=name]`: uploads the static convoy CLI that `make package` built (build/convoy/convoy)
# for the pipeline's render step, and prints the parameter overrides that pin it.
#
#   tools/publish-cli.sh [BUCKET]
#
# The key holds the version and the sha256 (convoy/<version>/<sha256>/convoy), so a published binary is never
# overwritten by another. BUCKET defaults to SAM's managed bucket (the aws-sam-cli-managed-default stack that
# `sam deploy --resolve-s3` creates), which exists before the convoy stack does. Needs the AWS CLI and
# credentials that may write there; AWS_ENDPOINT_URL is honoured like everywhere in the AWS CLI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
binary=build/convoy/convoy
[ -f "$binary" ] && [ -f "$binary.sha256" ] || { echo "publish-cli: no $binary: run make package first" >&2; exit 2; }
(cd build/convoy && sha256sum --quiet -c convoy.sha256) || { echo "publish-cli: $binary is not the binary make package checksummed: run make package again" >&2; exit 1; }
sha=$(cut -d' ' -f1 "$binary.sha256")
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)

bucket=${1:-${BUCKET:-}}
if [ -z "$bucket" ]; then
  bucket=$(aws cloudformation describe-stacks --stack-name aws-sam-cli-managed-default \
    --query "Stacks[0].Outputs[?OutputKey=='SourceBucket'].OutputValue" --output text) || bucket=
  [ -n "$bucket" ] && [ "$bucket" != None ] || {
    echo "publish-cli: no SAM managed bucket (stack aws-sam-cli-managed-default): pass BUCKET=<name>" >&2
    exit 2
  }
fi
key="convoy/$version/$sha/convoy"

aws s3 cp --no-progress --checksum-algorithm SHA256 "$binary" "s3://$bucket/$key"
echo "publish-cli: s3://$bucket/$key"
echo "Add to sam deploy's parameter overrides (samconfig.toml parameter_overrides):"
echo "  ConvoyBinaryBucket=\"$bucket\" ConvoyBinaryKey=\"$key\" ConvoyBinarySha256=\"$sha\""
