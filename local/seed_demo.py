"""`python local/seed_demo.py [...]`: the demo world of convoy_local.seed, plus the demo's job family, as a script
(cli/tests/common and local/demo.sh run it by path).

    python local/seed_demo.py [--endpoint http://127.0.0.1:5000] [--no-reset] [--only-records-bucket]

On top of convoy_local.seed's world (its docstring), the family examples/deployment.yaml's `jobs:` entry runs:
convoy-demo-migrate, one essential container `app` running the api's image (migrations ship with the api's code,
public.ecr.aws/convoy-demo/api:1.0.0) with command `bin/migrate`, registered as the demo services' families are
(Fargate, awsvpc, ARM64, the same roles, tags and logging), so `networkFrom: convoy-demo-a/api` gives its task the
services' subnets and security group. No service runs it: a release runs it once with RunTask (the simulator's
job tasks, convoy_local/job_sim.py).
"""

import argparse

from convoy_local import seed
from convoy_local.control import ACCOUNT, DEFAULT_ENDPOINT, REGION, Moto

MIGRATE_FAMILY = "convoy-demo-migrate"
MIGRATE_CONTAINER = "app"
MIGRATE_IMAGE = "api"  # the image (repository) its container runs: the api's
MIGRATE_COMMAND = ["bin/migrate"]


def register_job_family(ecs, family: str = MIGRATE_FAMILY, container: str = MIGRATE_CONTAINER,
                        image: str = seed.image(MIGRATE_IMAGE), command: tuple = tuple(MIGRATE_COMMAND)) -> str:
    """A one-off task family like the demo services' (Fargate, awsvpc, ARM64, roles, tags, logging), with one
    essential container and no ports; returns the revision's ARN."""
    answer = ecs.register_task_definition(
        family=family,
        taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-task",
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-execution",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        ephemeralStorage={"sizeInGiB": 30},
        containerDefinitions=[{
            "name": container,
            "image": image,
            "essential": True,
            "cpu": 0,
            "command": list(command),
            "environment": [{"name": "APP", "value": container}, {"name": "LOG_LEVEL", "value": "info"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": f"/ecs/{family}", "awslogs-region": REGION,
                            "awslogs-stream-prefix": container},
            },
        }],
        tags=[{"key": "app", "value": "convoy-demo"}, {"key": "job", "value": family.removeprefix("convoy-demo-")}],
    )
    return answer["taskDefinition"]["taskDefinitionArn"]


def seed_jobs(moto: Moto) -> dict:
    """The demo's job families (on a world convoy_local.seed made): family -> revision ARN."""
    return {MIGRATE_FAMILY: register_job_family(moto.client("ecs"))}


def seed_demo(moto: Moto, reset: bool = True) -> dict:
    """convoy_local.seed's world and the job families; what seed.seed returns, with `jobs` (family -> ARN)."""
    world = seed.seed(moto, reset=reset)
    world["jobs"] = seed_jobs(moto)
    return world


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", default=DEFAULT_ENDPOINT)
    ap.add_argument("--no-reset", action="store_true", help="keep moto's current state")
    ap.add_argument("--only-records-bucket", action="store_true",
                    help="create the release records bucket only (no reset, no demo world)")
    args = ap.parse_args()
    moto = Moto(args.endpoint)
    if args.only_records_bucket:
        print(f"records bucket {seed.create_records_bucket(moto)}")
        return
    world = seed_demo(moto, reset=not args.no_reset)
    print(f"seeded {len(world['services'])} services in {len(seed.CLUSTERS)} clusters, rule {seed.RULE} "
          f"with {len(world['targets'])} ECS targets and job family {', '.join(world['jobs'])}, all on "
          f"{seed.VERSION}")


if __name__ == "__main__":
    main()
