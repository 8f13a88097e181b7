"""docs/scheduling.md: every command in it is one orgscan, the AWS CLI or the container engine accept, every template linted.

- `orgscan ...` lines (also inside `docker run ... orgscan ...` and `$(...)`) parse with orgscan's own argparse
  (tests/orgscan_commands.py);
- `aws SERVICE OPERATION --option ...` lines name an operation of the installed botocore service model and
  only its input members (plus the CLI's global options), with every required member given; the few AWS CLI
  commands that are customizations, not API operations, are listed here with the options AWS CLI documents;
- the JSON policy parses and trusts GitHub's OIDC provider for one repository and branch;
- the two templates the page deploys are the ones cfn-lint checks (tests/scanner/test_deploy.py, test_iam_policy.py).
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import botocore.session
import pytest

from tests.orgscan_commands import expand_build_variables, parse_orgscan

DOC = Path(__file__).resolve().parents[2] / "docs" / "scheduling.md"
#: Options of the AWS CLI itself (https://docs.aws.amazon.com/cli/latest/reference/#options).
AWS_GLOBAL_OPTIONS = {"--region", "--query", "--output", "--profile", "--endpoint-url", "--no-cli-pager"}
#: AWS CLI commands that are CLI customizations rather than API operations, with the options they take
#: (https://docs.aws.amazon.com/cli/latest/reference/ecr/get-login-password.html,
#:  https://docs.aws.amazon.com/cli/latest/reference/logs/tail.html).
AWS_CUSTOMIZATIONS = {("ecr", "get-login-password"): set(), ("logs", "tail"): {"--follow", "--since", "--format"}}
#: Other programs the page runs, with the subcommands it uses.
OTHER_PROGRAMS = {"export": None, "openssl": {"rand"}, "docker": {"build", "login", "tag", "push", "run"}}
DOCKER_FLAGS_WITHOUT_VALUE = {"--rm", "--read-only", "-i", "-t", "-it", "--password-stdin"}


def code_blocks(language: str) -> list[str]:
    """The fenced code blocks of the page in ``language``, indentation removed."""
    blocks = re.findall(r"^( *)```" + language + r"\n(.*?)^\1```", DOC.read_text(), re.M | re.S)
    return ["\n".join(line[len(indent):] for line in body.splitlines()) for indent, body in blocks]


def shell_commands() -> list[str]:
    """Every command of the page's sh blocks: continuation lines joined, comments dropped, pipes split, $(...) lifted."""
    commands = []
    for block in code_blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            commands.extend(re.findall(r"\$\(([^()]*)\)", line))
            line = re.sub(r"\$\(([^()]*)\)", "SUBSTITUTED", line)
            commands.extend(part.strip() for part in line.split("|"))
    return commands


def words(command: str) -> list[str]:
    argv = shlex.split(expand_build_variables(command))
    if ">" in argv:  # a redirection: the file is not an argument
        argv = argv[: argv.index(">")]
    return argv


def check_aws(argv: list[str]) -> None:
    service, operation, options = argv[1], argv[2], argv[3:]
    given = {o.split("=", 1)[0] for o in options if o.startswith("--")}
    if (service, operation) in AWS_CUSTOMIZATIONS:
        assert given <= AWS_CUSTOMIZATIONS[(service, operation)] | AWS_GLOBAL_OPTIONS, argv
        return
    session = botocore.session.get_session()
    model = session.get_service_model(service)
    if operation == "wait":
        waiters = session.get_waiter_model(service)
        assert options[0].replace("-", "") in {n.lower() for n in waiters.waiter_names}, argv
        operation_model = model.operation_model(waiters.get_waiter(
            next(n for n in waiters.waiter_names if n.lower() == options[0].replace("-", ""))).operation)
    else:
        names = {n.lower(): n for n in model.operation_names}
        assert operation.replace("-", "") in names, f"aws {service} has no operation {operation}"
        operation_model = model.operation_model(names[operation.replace("-", "")])
    members = {m.lower(): m for m in operation_model.input_shape.members}
    for option in given - AWS_GLOBAL_OPTIONS:
        assert option[2:].replace("-", "") in members, f"aws {service} {operation}: no parameter {option}"
    if operation != "wait":
        named = {members[o[2:].replace("-", "")] for o in given - AWS_GLOBAL_OPTIONS}
        assert set(operation_model.input_shape.required_members) <= named, f"aws {service} {operation}: misses a required parameter"


def check_docker(argv: list[str]) -> None:
    assert argv[1] in OTHER_PROGRAMS["docker"], argv
    if argv[1] != "run":
        return
    index = 2
    while argv[index].startswith("-"):
        index += 1 if argv[index] in DOCKER_FLAGS_WITHOUT_VALUE else 2
    image, orgscan_argv = argv[index], argv[index + 1:]
    assert image == "orgscan"
    parse_orgscan(["orgscan", *orgscan_argv])


def test_every_command_of_the_page_is_accepted():
    commands = shell_commands()
    seen = set()
    for command in commands:
        argv = words(command)
        if not argv or argv == ["SUBSTITUTED"]:
            continue
        program = argv[0]
        seen.add(program)
        if program == "orgscan":
            parse_orgscan(argv)
        elif program == "aws":
            check_aws(argv)
        elif program == "docker":
            check_docker(argv)
        else:
            assert program in OTHER_PROGRAMS, f"docs/scheduling.md runs {program!r}, which this test does not check"
            allowed = OTHER_PROGRAMS[program]
            assert allowed is None or argv[1] in allowed, argv
    assert {"orgscan", "aws", "docker"} <= seen


def test_the_page_deploys_both_templates_and_walks_every_step():
    commands = [" ".join(words(c)) for c in shell_commands()]
    assert "orgscan deploy --cloudformation" in commands
    assert "orgscan iam-policy --cloudformation" in commands
    creates = [c for c in commands if c.startswith("aws cloudformation create-stack")]
    assert any("--template-body file://orgscan-scanner.json" in c for c in creates)
    assert any("create-stack-set" in c and "--template-body file://orgscan-member-role.json" in c for c in creates)
    scans = [c for c in commands if c.startswith("orgscan scan")]
    assert scans and all("--history" in c for c in scans if "--org" in c)
    assert any(c.startswith("orgscan upload github") for c in commands)
    assert any(c.startswith("orgscan history list s3://") for c in commands)


def test_the_scan_command_on_the_page_is_the_one_the_template_runs():
    """The page quotes the build's commands; they must be the template's own, not a drifted copy."""
    from scanner.deploy import scan_command, upload_command

    quoted = [c for block in code_blocks("sh") for c in block.splitlines()]
    assert scan_command() in quoted and upload_command() in quoted


def test_the_github_trust_policy_trusts_one_repository_and_branch_through_oidc():
    """GitHub's OIDC guidance (https://docs.github.com/actions/deployment/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services):
    audience sts.amazonaws.com, the subject names the repository and ref."""
    (policy,) = [json.loads(block) for block in code_blocks("json")]
    (statement,) = policy["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    condition = statement["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert re.fullmatch(r"repo:[\w.-]+/[\w.-]+:ref:refs/heads/[\w.-]+", condition["token.actions.githubusercontent.com:sub"])


@pytest.mark.parametrize("command", ["aws ecr create-repository --no-such-option x",
                                     "aws cloudformation create-stack --template-body file://x.json",
                                     "aws codebuild start-builds --project-name x"])
def test_the_aws_check_refuses_what_the_cli_would(command):
    with pytest.raises(AssertionError):
        check_aws(words(command))
