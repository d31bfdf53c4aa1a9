//! The pipeline's wiring, which the local stack cannot run (moto has no CodePipeline or CodeBuild):
//! the render project runs buildspec.yml verbatim; the release action starts the state machine with
//! the file the buildspec writes, from the artifact the render action puts out; the render role may
//! read the source artifacts and exactly the pinned convoy binary the project downloads; the
//! approval shows the plan the render step exported; and the buildspec's own commands, run in bash
//! as CodeBuild runs them (a fake `aws` serving the object and taking uploads, a fake `convoy`
//! recording its calls), run the binary only when its sha256 is the pinned one and render nothing
//! when the plan finds problems.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Value {
    serde_yaml_ng::from_str(&fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap()
}

fn buildspec_text() -> String {
    fs::read_to_string(root().join("buildspec.yml")).unwrap()
}

fn buildspec() -> Value {
    serde_yaml_ng::from_str(&buildspec_text()).unwrap()
}

/// `!Tag value` → (tag, value); anything else → ("", itself).
fn tagged(v: &Value) -> (String, &Value) {
    match v {
        Value::Tagged(t) => (t.tag.to_string(), &t.value),
        other => (String::new(), other),
    }
}

/// The pipeline's actions, every stage, `!If`-chosen ones included (both branches).
fn actions(doc: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut push = |v: &Value| match tagged(v) {
        (tag, args) if tag == "!If" => {
            for branch in &args.as_sequence().unwrap()[1..] {
                if branch.is_mapping() {
                    out.push(branch.clone());
                }
            }
        }
        _ => out.push(v.clone()),
    };
    for stage in doc["Resources"]["Pipeline"]["Properties"]["Stages"]
        .as_sequence()
        .unwrap()
    {
        let stages: Vec<&Value> = match tagged(stage) {
            (tag, args) if tag == "!If" => args.as_sequence().unwrap()[1..].iter().collect(),
            _ => vec![stage],
        };
        for stage in stages {
            for action in stage["Actions"].as_sequence().into_iter().flatten() {
                push(action);
            }
        }
    }
    out
}

fn action_by_provider(doc: &Value, provider: &str) -> Value {
    let found: Vec<Value> = actions(doc)
        .into_iter()
        .filter(|a| a["ActionTypeId"]["Provider"].as_str() == Some(provider))
        .collect();
    assert_eq!(found.len(), 1, "one {provider} action: {found:#?}");
    found.into_iter().next().unwrap()
}

fn artifact_names(v: &Value) -> Vec<String> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .map(|a| a["Name"].as_str().unwrap().to_owned())
        .collect()
}

/// The render project's environment variables for one side of its `!If [PrebuiltConvoy, …]`.
fn project_environment(doc: &Value, prebuilt: bool) -> Vec<(String, Value)> {
    let vars =
        &doc["Resources"]["RenderProject"]["Properties"]["Environment"]["EnvironmentVariables"];
    let (tag, args) = tagged(vars);
    assert_eq!(tag, "!If", "EnvironmentVariables chosen by PrebuiltConvoy");
    let args = args.as_sequence().unwrap();
    assert_eq!(args[0].as_str(), Some("PrebuiltConvoy"));
    args[if prebuilt { 1 } else { 2 }]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| (v["Name"].as_str().unwrap().to_owned(), v["Value"].clone()))
        .collect()
}

/// `!Sub "text"` → text.
fn sub(v: &Value) -> String {
    match tagged(v) {
        (tag, Value::String(s)) if tag == "!Sub" => s.clone(),
        other => panic!("expected a !Sub string, found {other:?}"),
    }
}

/// The render role's statements, each `!If` with its condition.
fn render_statements(doc: &Value) -> Vec<(Option<String>, Value)> {
    let mut out = Vec::new();
    for policy in doc["Resources"]["RenderProjectRole"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
    {
        for statement in policy["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            match tagged(statement) {
                (tag, args) if tag == "!If" => {
                    let args = args.as_sequence().unwrap();
                    assert!(
                        !args[2].is_mapping(),
                        "a statement only when its condition holds"
                    );
                    out.push((Some(args[0].as_str().unwrap().to_owned()), args[1].clone()));
                }
                _ => out.push((None, statement.clone())),
            }
        }
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![format!("{other:?}")],
    }
}

#[test]
fn the_render_project_runs_buildspec_yml_verbatim() {
    let doc = template();
    let source = &doc["Resources"]["RenderProject"]["Properties"]["Source"];
    assert_eq!(source["Type"].as_str(), Some("CODEPIPELINE"));
    assert_eq!(
        source["BuildSpec"].as_str(),
        Some(buildspec_text().as_str()),
        "template.yaml's RenderProject BuildSpec must be buildspec.yml verbatim (copy the file into the block)"
    );
}

#[test]
fn the_release_action_starts_the_execution_with_the_file_the_buildspec_writes() {
    let doc = template();
    let spec = buildspec();
    let render = action_by_provider(&doc, "CodeBuild");
    assert_eq!(
        tagged(&render["Configuration"]["ProjectName"]),
        ("!Ref".to_owned(), &Value::from("RenderProject"))
    );
    let release = action_by_provider(&doc, "StepFunctions");
    let config = &release["Configuration"];
    assert_eq!(config["InputType"].as_str(), Some("FilePath"));
    let input = config["Input"].as_str().unwrap();
    assert_eq!(
        artifact_names(&release["InputArtifacts"]),
        artifact_names(&render["OutputArtifacts"]),
        "the release action reads the render action's output artifact"
    );
    // The file lands at the artifact's root: listed, and its directories discarded or absent.
    let files = strings(&spec["artifacts"]["files"]);
    assert!(files.iter().any(|f| f == input), "{files:?} lacks {input}");
    assert!(
        !input.contains('/') || spec["artifacts"]["discard-paths"].as_str() == Some("yes"),
        "{input} must sit at the artifact's root"
    );
    // And the buildspec writes it: what `convoy render` prints.
    let run = CodeBuildRun::new("input-file");
    let out = run.run(true);
    assert!(out.ok, "{}", out.log);
    assert_eq!(
        fs::read_to_string(run.src.join(input)).unwrap(),
        FAKE_RELEASE,
        "{input} is what convoy render prints"
    );
}

#[test]
fn the_render_role_reads_the_source_and_exactly_the_pinned_binary() {
    let doc = template();
    let statements = render_statements(&doc);
    // The source: the pipeline's artifacts, in the artifact store.
    assert_eq!(
        tagged(&doc["Resources"]["Pipeline"]["Properties"]["ArtifactStore"]["Location"]),
        ("!Ref".to_owned(), &Value::from("ArtifactBucket"))
    );
    assert!(
        statements.iter().any(|(condition, s)| condition.is_none()
            && strings(&s["Action"]).contains(&"s3:GetObject".to_owned())
            && strings(&s["Action"]).contains(&"s3:PutObject".to_owned())
            && sub(&s["Resource"]) == "${ArtifactBucket.Arn}/*"),
        "the render role reads and writes the pipeline's artifacts: {statements:#?}"
    );
    // The binary: the object the project points CONVOY_BINARY_URI at, and nothing wider.
    let env = project_environment(&doc, true);
    let uri = env
        .iter()
        .find(|(name, _)| name == "CONVOY_BINARY_URI")
        .map(|(_, v)| sub(v))
        .unwrap();
    let object = uri.strip_prefix("s3://").unwrap();
    let binary: Vec<&(Option<String>, Value)> = statements
        .iter()
        .filter(|(_, s)| {
            s.as_mapping()
                .is_some_and(|_| format!("{s:?}").contains("ConvoyBinary"))
        })
        .collect();
    assert_eq!(binary.len(), 1, "one statement for the binary: {binary:#?}");
    let (condition, statement) = binary[0];
    assert_eq!(condition.as_deref(), Some("PrebuiltConvoy"));
    assert_eq!(strings(&statement["Action"]), ["s3:GetObject"]);
    assert_eq!(
        sub(&statement["Resource"]),
        format!("arn:${{AWS::Partition}}:s3:::{object}"),
        "the grant is the object CONVOY_BINARY_URI names"
    );
    assert!(!object.contains('*'), "exactly one object: {object}");
    // A prebuilt pipeline cannot be deployed without the three values.
    let rule = format!("{:?}", doc["Rules"]["ConvoyBinaryGiven"]);
    for parameter in [
        "ConvoyBinaryBucket",
        "ConvoyBinaryKey",
        "ConvoyBinarySha256",
    ] {
        assert!(object.contains(parameter) || parameter == "ConvoyBinarySha256");
        assert!(
            rule.contains(parameter),
            "ConvoyBinaryGiven asserts {parameter}"
        );
    }
}

/// A release above 32 KiB is written by `convoy render --bucket` to the records bucket's `inputs/`
/// (docs/manifest.md), the plan to its `plans/`: the render step gets the bucket and may write
/// there, and nowhere else in it.
#[test]
fn the_render_step_writes_to_the_records_bucket_inputs_and_plans_only() {
    let doc = template();
    let spec = buildspec();
    let render = commands(&spec)
        .into_iter()
        .find(|c| c.contains(" render "))
        .unwrap();
    assert!(
        render.contains("--bucket \"$CONVOY_RECORDS_BUCKET\" > release.json"),
        "{render}"
    );
    for prebuilt in [true, false] {
        let env = project_environment(&doc, prebuilt);
        let bucket = env
            .iter()
            .find(|(name, _)| name == "CONVOY_RECORDS_BUCKET")
            .map(|(_, v)| tagged(v));
        assert_eq!(
            bucket,
            Some(("!Ref".to_owned(), &Value::from("ReleaseRecordsBucket"))),
            "prebuilt={prebuilt}"
        );
    }
    let records: Vec<(Option<String>, Value)> = render_statements(&doc)
        .into_iter()
        .filter(|(_, s)| format!("{s:?}").contains("ReleaseRecordsBucket"))
        .collect();
    let mut written = Vec::new();
    for (condition, statement) in &records {
        assert_eq!(condition, &None);
        assert_eq!(
            strings(&statement["Action"]),
            ["s3:PutObject"],
            "{statement:?}"
        );
        written.push(sub(&statement["Resource"]));
    }
    assert_eq!(
        written,
        [
            format!(
                "${{ReleaseRecordsBucket.Arn}}/{}*",
                release_core::decide::release_ref::INPUTS_PREFIX
            ),
            format!("${{ReleaseRecordsBucket.Arn}}/{PLANS_PREFIX}*"),
        ]
    );
    // And the buildspec uploads the plan under that prefix.
    let upload = commands(&spec)
        .into_iter()
        .find(|c| c.contains("aws s3 cp") && c.contains("plan.md"))
        .unwrap();
    assert!(
        upload.contains(&format!("plan_key=\"{PLANS_PREFIX}")),
        "{upload}"
    );
}

#[test]
fn every_variable_the_buildspec_reads_is_set() {
    let doc = template();
    let spec = buildspec();
    let mut set: BTreeSet<String> = spec["env"]["variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    // CodeBuild's own.
    set.extend(["CODEBUILD_SRC_DIR", "AWS_REGION"].map(String::from));
    // What the pipeline's render action sets for the build.
    set.extend(action_environment(&doc).into_iter().map(|(name, _)| name));
    let commands = commands(&spec).join("\n");
    for line in commands.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((name, _)) = line.split_once('=') {
            if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                set.insert(name.to_owned()); // a shell variable the commands assign
            }
        }
    }
    for prebuilt in [true, false] {
        let mut known = set.clone();
        known.extend(
            project_environment(&doc, prebuilt)
                .into_iter()
                .map(|(n, _)| n),
        );
        let mut read = BTreeSet::new();
        let mut rest = commands.as_str();
        while let Some(i) = rest.find('$') {
            rest = &rest[i + 1..];
            let name: String = rest
                .trim_start_matches('{')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                read.insert(name);
            }
        }
        // With `source`, the binary's variables are read only on the branch not taken.
        let unset: Vec<&String> = read
            .iter()
            .filter(|n| !known.contains(*n))
            .filter(|n| prebuilt || !n.starts_with("CONVOY_BINARY_"))
            .collect();
        assert!(
            unset.is_empty(),
            "prebuilt={prebuilt}: the buildspec reads {unset:?}, which neither it nor RenderProject sets"
        );
    }
}

#[test]
fn the_binary_runs_only_with_its_pinned_sha256() {
    let run = CodeBuildRun::new("checksum");
    let wrong = run.run(false);
    assert!(
        !wrong.ok,
        "a binary with another sha256 ran:\n{}",
        wrong.log
    );
    assert!(
        wrong.log.contains("has sha256") && wrong.log.contains("ConvoyBinarySha256="),
        "the failure says why:\n{}",
        wrong.log
    );
    assert!(
        !run.calls().exists(),
        "the binary ran: {:?}",
        fs::read_to_string(run.calls())
    );
    assert!(!run.src.join("release.json").exists());

    let right = run.run(true);
    assert!(right.ok, "{}", right.log);
    assert_eq!(
        fs::read_to_string(run.calls()).unwrap(),
        format!(
            "--version\nvalidate deployment.yaml\nplan deployment.yaml --format json --markdown-out plan.md\nrender deployment.yaml --bucket {RECORDS_BUCKET}\n"
        )
    );
}

#[test]
fn a_binary_that_cannot_be_downloaded_fails_the_build() {
    let run = CodeBuildRun::new("missing");
    fs::remove_file(run.object()).unwrap();
    let out = run.run(true);
    assert!(!out.ok, "{}", out.log);
    assert!(out.log.contains("NoSuchKey"), "{}", out.log);
    assert!(!run.calls().exists());
}

#[test]
fn the_source_option_builds_the_cli_from_the_source_artifact() {
    let run = CodeBuildRun::new("source");
    let out = run.run_source();
    assert!(out.ok, "{}", out.log);
    assert_eq!(
        fs::read_to_string(run.dir.join("cargo.log")).unwrap(),
        format!(
            "install --path ./cli --locked --root {}/.convoy\n",
            run.src.display()
        )
    );
    assert_eq!(
        fs::read_to_string(run.src.join("release.json")).unwrap(),
        FAKE_RELEASE
    );
}

// ------------------------------------------------------------------------------------------------
// The approval shows the plan
// ------------------------------------------------------------------------------------------------

/// Where the render step uploads the plan in the records bucket (docs/operations.md).
const PLANS_PREFIX: &str = "plans/";
/// What `#{codepipeline.PipelineExecutionId}` stands for in these runs.
const PIPELINE_EXECUTION: &str = "3f1c2a9e-5b7d-4e0f-9a61-0c2d8e4b7f13";
const FAKE_PLAN_MARKDOWN: &str = "## release fake: 3 items to change, 7 unchanged\n";

/// The render action's `EnvironmentVariables` (JSON in its configuration): name, value.
fn action_environment(doc: &Value) -> Vec<(String, String)> {
    let render = action_by_provider(doc, "CodeBuild");
    let json = render["Configuration"]["EnvironmentVariables"]
        .as_str()
        .unwrap();
    let vars: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
    vars.iter()
        .map(|v| {
            assert_eq!(v["type"].as_str(), Some("PLAINTEXT"), "{v}");
            (
                v["name"].as_str().unwrap().to_owned(),
                v["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every `#{namespace.variable}` in `text`.
fn variable_references(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("#{") {
        rest = &rest[i + 2..];
        let end = rest.find('}').unwrap();
        let (namespace, variable) = rest[..end].split_once('.').unwrap();
        out.push((namespace.to_owned(), variable.to_owned()));
        rest = &rest[end + 1..];
    }
    out
}

/// `text` with each `#{namespace.variable}` of `namespace` replaced by its value in `values`.
fn resolve(text: &str, namespace: &str, values: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("#{{{namespace}.{name}}}"), value);
    }
    assert!(!out.contains("#{"), "unresolved: {out}");
    out
}

/// The approval action's configuration reads the variables the render action exports, in the
/// namespace the render action gives them, and nothing else.
#[test]
fn the_approval_reads_the_variables_the_render_action_exports() {
    let doc = template();
    let render = action_by_provider(&doc, "CodeBuild");
    let namespace = render["Namespace"].as_str().unwrap();
    let exported = strings(&buildspec()["env"]["exported-variables"]);
    let approval = action_by_provider(&doc, "Manual");
    let config = &approval["Configuration"];
    let custom = config["CustomData"].as_str().unwrap();
    let link = config["ExternalEntityLink"].as_str().unwrap();
    let mut read = Vec::new();
    for text in [custom, link] {
        for (ns, variable) in variable_references(text) {
            assert_eq!(ns, namespace, "{text} reads another action's variables");
            assert!(
                exported.contains(&variable),
                "{variable} is not in {exported:?}"
            );
            read.push(variable);
        }
    }
    read.sort();
    assert_eq!(
        read, exported,
        "the approval shows every exported variable once"
    );
    // The link is one variable: the URL, whole.
    assert_eq!(variable_references(link).len(), 1);
    assert!(link.starts_with("#{") && link.ends_with('}'), "{link}");
}

/// A plan that finds problems (5), that AWS did not answer (7) or that fails otherwise ends the
/// build before the release is rendered: no release.json for the release action, nothing
/// uploaded, no variables for an approval.
#[test]
fn a_plan_with_problems_fails_the_build_before_render_and_uploads_nothing() {
    let run = CodeBuildRun::new("plan-problems");
    for (format, status) in [("json", 5), ("json", 7), ("json", 1)] {
        run.answer_plan("json", &plan_json(0, 1, 0), 0);
        run.answer_plan("markdown", FAKE_PLAN_MARKDOWN, 0);
        run.answer_plan(format, "", status);
        let out = run.run(true);
        assert!(
            !out.ok,
            "plan --format {format} exiting {status} passed:\n{}",
            out.log
        );
        assert!(
            out.log.contains(&format!(
                "convoy plan exited {status}: the release is not rendered"
            )),
            "{}",
            out.log
        );
        let calls = fs::read_to_string(run.calls()).unwrap();
        assert!(
            calls.ends_with(&format!(
                "plan deployment.yaml --format {format} --markdown-out plan.md\n"
            )),
            "nothing runs after the failed plan: {calls}"
        );
        assert!(!calls.contains("render "), "{calls}");
        assert!(!run.src.join("release.json").exists());
        assert!(!run.records().exists(), "uploaded: {:?}", run.records());
        assert!(run.exported().is_empty());
    }
}

/// `{"changed": …, "unchanged": …, "warnings": […]}` as `convoy plan --format json` prints it
/// (cli/src/plan_view: `PlanView`, camelCase; `warnings` left out when empty).
fn plan_json(changed: usize, unchanged: usize, warnings: usize) -> String {
    let mut view = serde_json::json!({
        "releaseId": "fake",
        "source": "deployment.yaml",
        "changed": changed,
        "unchanged": unchanged,
        "waves": 1,
        "services": [],
        "rules": [],
    });
    if warnings > 0 {
        view["warnings"] =
            serde_json::json!(vec!["a job services of its wave do not wait for"; warnings]);
    }
    serde_json::to_string_pretty(&view).unwrap()
}

/// A plan with changes (exit 2) or without (0) passes: plan.md is an artifact and in the records
/// bucket, and the approval reads the summary and the plan's console URL.
#[test]
fn a_plan_passes_with_or_without_changes_and_the_approval_shows_it() {
    let doc = template();
    let namespace = action_by_provider(&doc, "CodeBuild")["Namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let approval = action_by_provider(&doc, "Manual")["Configuration"].clone();
    let run = CodeBuildRun::new("plan-shown");
    let key = format!("{PLANS_PREFIX}{PIPELINE_EXECUTION}/plan.md");
    for (status, (changed, unchanged, warnings), summary) in [
        (
            2,
            (3, 7, 1),
            "3 changed, 7 unchanged, 0 problems, 1 warning",
        ),
        (
            2,
            (1, 0, 2),
            "1 changed, 0 unchanged, 0 problems, 2 warnings",
        ),
        (0, (0, 10, 0), "0 changed, 10 unchanged, 0 problems"),
    ] {
        run.answer_plan("json", &plan_json(changed, unchanged, warnings), status);
        run.answer_plan("markdown", FAKE_PLAN_MARKDOWN, status);
        let out = run.run(true);
        assert!(out.ok, "plan exiting {status}:\n{}", out.log);
        assert!(fs::read_to_string(run.calls())
            .unwrap()
            .contains("\nrender "));
        assert_eq!(
            fs::read_to_string(run.src.join("plan.md")).unwrap(),
            FAKE_PLAN_MARKDOWN
        );
        assert_eq!(
            fs::read_to_string(run.records().join(&key)).unwrap(),
            FAKE_PLAN_MARKDOWN,
            "the approval's link finds the same plan"
        );
        let exported = run.exported();
        let url = format!(
            "https://console.aws.amazon.com/s3/object/{RECORDS_BUCKET}?region={REGION}&bucketType=general&prefix={key}"
        );
        assert_eq!(
            exported,
            [
                ("PLAN_SUMMARY".to_owned(), summary.to_owned()),
                ("PLAN_URL".to_owned(), url.clone())
            ]
        );
        let custom = resolve(
            approval["CustomData"].as_str().unwrap(),
            &namespace,
            &exported,
        );
        assert!(custom.contains(summary), "{custom}");
        assert!(
            custom.len() <= 500,
            "CustomData takes 500 characters: {custom}"
        );
        assert_eq!(
            resolve(
                approval["ExternalEntityLink"].as_str().unwrap(),
                &namespace,
                &exported
            ),
            url
        );
    }
    // The artifact the release action reads carries the plan beside release.json.
    let files = strings(&buildspec()["artifacts"]["files"]);
    assert!(files.contains(&"plan.md".to_owned()), "{files:?}");
}

/// CustomData holds at most 500 characters once resolved: the summary of a very large release with
/// many warnings still fits.
#[test]
fn the_approval_text_fits_for_a_large_release() {
    let doc = template();
    let namespace = action_by_provider(&doc, "CodeBuild")["Namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let approval = action_by_provider(&doc, "Manual")["Configuration"].clone();
    let run = CodeBuildRun::new("plan-large");
    run.answer_plan("json", &plan_json(100_000, 100_000, 1_000), 2);
    let out = run.run(true);
    assert!(out.ok, "{}", out.log);
    let custom = resolve(
        approval["CustomData"].as_str().unwrap(),
        &namespace,
        &run.exported(),
    );
    assert!(custom.contains("100000 changed, 100000 unchanged, 0 problems, 1000 warnings"));
    assert!(custom.len() <= 500, "{} characters: {custom}", custom.len());
}

/// The plan's console link is in the partition's console.
#[test]
fn the_plan_url_is_in_the_partitions_console() {
    let run = CodeBuildRun::new("plan-partition");
    for (region, console) in [
        ("eu-west-1", "console.aws.amazon.com"),
        ("cn-north-1", "console.amazonaws.cn"),
        ("us-gov-west-1", "console.amazonaws-us-gov.com"),
    ] {
        let out = run.execute_in(run.prebuilt_env(true), region);
        assert!(out.ok, "{}", out.log);
        let exported = run.exported();
        let url = &exported.iter().find(|(n, _)| n == "PLAN_URL").unwrap().1;
        assert!(
            url.starts_with(&format!(
                "https://{console}/s3/object/{RECORDS_BUCKET}?region={region}&"
            )),
            "{region}: {url}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// The buildspec in bash, as CodeBuild runs it
// ------------------------------------------------------------------------------------------------

const BUCKET: &str = "convoy-test-artifacts";
/// What the template's `!Ref ReleaseRecordsBucket` stands for in these runs.
const RECORDS_BUCKET: &str = "convoy-test-records";
const FAKE_RELEASE: &str = "{\"release\":{\"id\":\"fake\"}}\n";
/// The build's region (`AWS_REGION`, which CodeBuild sets).
const REGION: &str = "eu-west-1";

/// The install and build phases' commands, in order.
fn commands(spec: &Value) -> Vec<String> {
    ["install", "build"]
        .iter()
        .flat_map(|phase| strings(&spec["phases"][phase]["commands"]))
        .collect()
}

struct Outcome {
    ok: bool,
    log: String,
}

/// A CodeBuild container for one test: the source directory, an `aws` that serves one bucket from a
/// folder, the fake convoy at the key the template's parameters would name.
struct CodeBuildRun {
    dir: PathBuf,
    src: PathBuf,
    key: String,
    sha256: String,
}

fn write_executable(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A convoy that records its arguments (dir/calls.log), prints a release for `render`, and for
/// `plan … --format F [--markdown-out FILE]` prints dir/plan.F (and copies dir/plan.markdown to
/// FILE) and exits with the code in dir/plan.F.exit.
fn fake_convoy(dir: &Path) -> String {
    format!(
        "#!/bin/sh\necho \"$*\" >> '{dir}/calls.log'\n[ \"$1\" = render ] && printf '%s\\n' '{release}'\nif [ \"$1\" = plan ]; then\n  [ \"$5\" = --markdown-out ] && cp '{dir}'/plan.markdown \"$6\"\n  cat '{dir}'/plan.\"$4\"\n  exit \"$(cat '{dir}'/plan.\"$4\".exit)\"\nfi\nexit 0\n",
        dir = dir.display(),
        release = FAKE_RELEASE.trim_end()
    )
}

impl CodeBuildRun {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "convoy-pipeline-contract-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        let src = dir.join("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("deployment.yaml"), "services: []\n").unwrap();
        let binary = fake_convoy(&dir);
        let sha = Command::new("sha256sum")
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(binary.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        let sha256 = String::from_utf8(sha.stdout).unwrap()[..64].to_owned();
        let key = format!("convoy/0.1.0/{sha256}/convoy");
        write_executable(&dir.join("bucket").join(&key), &binary);
        // `aws s3 cp [options] s3://BUCKET/KEY DEST`, from dir/bucket; `aws s3 cp [options] FILE
        // s3://RECORDS_BUCKET/plans/KEY`, into dir/records (what the render role may write there);
        // anything else fails.
        write_executable(
            &dir.join("bin/aws"),
            &format!(
                r#"#!/bin/bash
args=("$@")
[ "${{args[0]}}" = s3 ] && [ "${{args[1]}}" = cp ] || {{ echo "fake aws: unexpected call: $*" >&2; exit 2; }}
from=${{args[-2]}}; to=${{args[-1]}}
case $to in
  s3://{RECORDS_BUCKET}/{PLANS_PREFIX}*)
    object='{records}'/${{to#s3://{RECORDS_BUCKET}/}}
    mkdir -p "$(dirname "$object")" && cp "$from" "$object"
    exit $?;;
  s3://*) echo "fake aws: AccessDenied on $to" >&2; exit 1;;
esac
case $from in s3://{BUCKET}/*) ;; *) echo "fake aws: AccessDenied on $from" >&2; exit 1;; esac
object='{root}'/${{from#s3://{BUCKET}/}}
[ -f "$object" ] || {{ echo "fatal error: An error occurred (404) when calling the HeadObject operation: NoSuchKey $from" >&2; exit 1; }}
cp "$object" "$to"
"#,
                root = dir.join("bucket").display(),
                records = dir.join("records").display()
            ),
        );
        // `cargo install --path P --locked --root R`: records the call, installs the fake convoy.
        write_executable(
            &dir.join("bin/cargo"),
            &format!(
                "#!/bin/bash\necho \"$*\" >> '{log}'\nroot=${{@: -1}}\nmkdir -p \"$root/bin\"\ncat > \"$root/bin/convoy\" <<'EOF'\n{binary}EOF\nchmod +x \"$root/bin/convoy\"\n",
                log = dir.join("cargo.log").display()
            ),
        );
        let run = CodeBuildRun {
            dir,
            src,
            key,
            sha256,
        };
        run.answer_plan("json", &plan_json(0, 1, 0), 0);
        run.answer_plan("markdown", FAKE_PLAN_MARKDOWN, 0);
        run
    }

    fn calls(&self) -> PathBuf {
        self.dir.join("calls.log")
    }

    /// What the fake `convoy plan --format <format>` prints, and its exit code.
    fn answer_plan(&self, format: &str, output: &str, status: u8) {
        fs::write(self.dir.join(format!("plan.{format}")), output).unwrap();
        fs::write(
            self.dir.join(format!("plan.{format}.exit")),
            status.to_string(),
        )
        .unwrap();
    }

    /// The records bucket, as the fake `aws` writes it.
    fn records(&self) -> PathBuf {
        self.dir.join("records")
    }

    /// The buildspec's exported variables as the last build's environment ended with them, in the
    /// buildspec's order; none when the build failed.
    fn exported(&self) -> Vec<(String, String)> {
        let Ok(env) = fs::read_to_string(self.dir.join("exported.env")) else {
            return Vec::new();
        };
        strings(&buildspec()["env"]["exported-variables"])
            .into_iter()
            .filter_map(|name| {
                let line = env.lines().find(|l| l.starts_with(&format!("{name}=")))?;
                Some((name.clone(), line[name.len() + 1..].to_owned()))
            })
            .collect()
    }

    fn object(&self) -> PathBuf {
        self.dir.join("bucket").join(&self.key)
    }

    /// The template's project environment with this run's bucket, key and (right or wrong) sha256.
    fn prebuilt_env(&self, right_sha: bool) -> Vec<(String, String)> {
        let sha = if right_sha {
            self.sha256.clone()
        } else {
            "0".repeat(64)
        };
        project_environment(&template(), true)
            .into_iter()
            .map(|(name, value)| {
                let value = match tagged(&value) {
                    (tag, Value::String(s)) if tag == "!Sub" => s
                        .replace("${ConvoyBinaryBucket}", BUCKET)
                        .replace("${ConvoyBinaryKey}", &self.key),
                    (tag, Value::String(p)) if tag == "!Ref" && p == "ConvoyBinarySha256" => {
                        sha.clone()
                    }
                    (tag, Value::String(p)) if tag == "!Ref" && p == "ReleaseRecordsBucket" => {
                        RECORDS_BUCKET.to_owned()
                    }
                    (_, Value::String(s)) => s.clone(),
                    other => panic!("{name}: {other:?}"),
                };
                (name, value)
            })
            .collect()
    }

    fn run(&self, right_sha: bool) -> Outcome {
        self.execute(self.prebuilt_env(right_sha))
    }

    fn execute(&self, project_env: Vec<(String, String)>) -> Outcome {
        self.execute_in(project_env, REGION)
    }

    fn run_source(&self) -> Outcome {
        let env = project_environment(&template(), false)
            .into_iter()
            .map(|(n, v)| match tagged(&v) {
                (tag, Value::String(p)) if tag == "!Ref" && p == "ReleaseRecordsBucket" => {
                    (n, RECORDS_BUCKET.to_owned())
                }
                _ => (n, v.as_str().unwrap().to_owned()),
            })
            .collect();
        self.execute(env)
    }

    /// Every command of the install and build phases in one bash session (CodeBuild keeps the
    /// shell between commands, `env.shell: bash`), ending at the first that fails; the
    /// environment it ends with goes to dir/exported.env, where CodeBuild reads the exported
    /// variables from.
    fn execute_in(&self, project_env: Vec<(String, String)>, region: &str) -> Outcome {
        let spec = buildspec();
        assert_eq!(spec["env"]["shell"].as_str(), Some("bash"));
        let _ = fs::remove_file(self.calls());
        let _ = fs::remove_file(self.dir.join("exported.env"));
        let _ = fs::remove_dir_all(self.records());
        for file in ["release.json", "plan.json", "plan.md"] {
            let _ = fs::remove_file(self.src.join(file));
        }
        let _ = fs::remove_dir_all(self.src.join(".convoy"));
        let mut script = String::new();
        for command in commands(&spec) {
            script.push_str(&format!("{{\n{command}\n}} || exit $?\n"));
        }
        script.push_str(&format!(
            "env > '{}'\n",
            self.dir.join("exported.env").display()
        ));
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(script).current_dir(&self.src);
        for (k, v) in spec["env"]["variables"].as_mapping().unwrap() {
            cmd.env(k.as_str().unwrap(), v.as_str().unwrap());
        }
        cmd.envs(project_env);
        for (name, value) in action_environment(&template()) {
            let value = value.replace("#{codepipeline.PipelineExecutionId}", PIPELINE_EXECUTION);
            assert!(!value.contains("#{"), "{name}: {value}");
            cmd.env(name, value);
        }
        cmd.env("CODEBUILD_SRC_DIR", &self.src);
        cmd.env("AWS_REGION", region);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", self.dir.join("bin").display()));
        let out = cmd.output().unwrap();
        Outcome {
            ok: out.status.success(),
            log: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}

impl Drop for CodeBuildRun {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
