"""Settings files are validated at the boundary: a bad value names the file, the line and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from environments import (
    ENVIRONMENT_NAMES,
    ENVIRONMENTS_DIR,
    CreateNetwork,
    SettingsError,
    check_account_reservations,
    check_against_bootstrap,
    check_shared_pools,
    load,
    load_bootstrap,
)


@pytest.fixture
def env_dir(tmp_path: Path) -> Path:
    """A copy of the environments folder a test may spoil."""
    for path in ENVIRONMENTS_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def spoil(env_dir: Path, name: str, old: str, new: str) -> None:
    path = env_dir / f"{name}.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}.toml"
    path.write_text(text.replace(old, new, 1))


def line_of(env_dir: Path, name: str, needle: str) -> int:
    lines = (env_dir / f"{name}.toml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


class TestCommittedSettings:
    @pytest.mark.parametrize("name", ENVIRONMENT_NAMES)
    def test_every_environment_loads(self, name: str) -> None:
        settings = load(name)
        assert settings.name == name
        assert settings.tags["Environment"] == name

    def test_bootstrap_loads(self) -> None:
        assert load_bootstrap().state_key("dev") == "dev/terraform.tfstate"

    def test_prod_protects_its_tables_and_the_others_do_not(self) -> None:
        assert load("prod").deletion_protection is True
        assert load("dev").deletion_protection is False

    def test_nat_modes_differ_per_environment(self) -> None:
        assert isinstance(load("prod").network, CreateNetwork) and load("prod").network.nat == "per_az"
        assert isinstance(load("dev").network, CreateNetwork) and load("dev").network.nat == "single"


class TestRejectedSettings:
    """Each case spoils one value of dev.toml and expects the message to name file, line and key."""

    @pytest.mark.parametrize(
        ("old", "new", "key", "says"),
        [
            ('nat = "single"', 'natt = "single"', "network.natt", "unknown key"),
            ('nat = "single"', 'nat = "singel"', "network.nat", "'none', 'single' or 'per_az'"),
            ("log_retention_days = 14", 'log_retention_days = "14"', "log_retention_days", "valid integer"),
            ("log_retention_days = 14", "log_retention_days = 13", "log_retention_days", "retention periods"),
            (
                "deletion_protection = false",
                'deletion_protection = "no"',
                "deletion_protection",
                "valid boolean",
            ),
            ('region = "eu-central-1"', 'region = "Frankfurt"', "region", "pattern"),
            (
                'alarm_email = "platform-alerts@example.com"',
                'alarm_email = "nobody"',
                "alarm_email",
                "pattern",
            ),
            ("memory_mb = 256", "memory_mb = 64", "functions.memory_mb", "greater than or equal to 128"),
            (
                'cors_extra_origins = ["http://localhost:5173"]',
                'cors_extra_origins = ["localhost"]',
                "api.cors_extra_origins.0",
                "pattern",
            ),
            ('account_id = "123456789012"', "account_id = 123456789012", "account_id", "valid string"),
            (
                "worker_parallel_tasks = 8",
                "worker_parallel_tasks = 17",
                "orchestration.worker_parallel_tasks",
                "less than or equal to 16",
            ),
            (
                "worker_parallel_tasks = 8",
                "worker_parallel_tasks = 0",
                "orchestration.worker_parallel_tasks",
                "greater than or equal to 1",
            ),
        ],
    )
    def test_bad_value_names_file_line_and_key(
        self, env_dir: Path, old: str, new: str, key: str, says: str
    ) -> None:
        spoil(env_dir, "dev", old, new)
        with pytest.raises(SettingsError) as raised:
            load("dev", env_dir)
        line = line_of(env_dir, "dev", new.split("=")[0].strip() + " =")
        assert f"dev.toml:{line}: {key}: " in str(raised.value)
        assert says in str(raised.value)

    def test_missing_key_names_its_table(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", "lambda_concurrency_quota = 1000\n", "")
        with pytest.raises(
            SettingsError,
            match=r"dev\.toml:17: account\.lambda_concurrency_quota: required key is missing",
        ):
            load("dev", env_dir)

    def test_missing_required_tag(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", 'CostCenter = "engineering"\n', "")
        with pytest.raises(SettingsError, match=r"tags: .*missing required tag\(s\) CostCenter"):
            load("dev", env_dir)

    @pytest.mark.parametrize("endpoints", ["", "\ninterface_endpoints = true"])
    def test_no_nat_is_refused_saying_why(self, env_dir: Path, endpoints: str) -> None:
        # The orchestrator must reach the public WebSocket API's @connections; with an execute-api
        # endpoint's private DNS those calls get 403, and nothing else reaches it without NAT.
        spoil(env_dir, "dev", 'nat = "single"', f'nat = "none"{endpoints}')
        with pytest.raises(
            SettingsError,
            match=r"dev\.toml:25: network\.nat: 'none' cannot work: the orchestrator posts to the WebSocket "
            r"API's @connections endpoint, which is public",
        ):
            load("dev", env_dir)

    def test_zone_outside_region(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", '"eu-central-1b"]', '"us-east-1b"]')
        with pytest.raises(
            SettingsError,
            match=r"dev\.toml:24: network\.availability_zones: 'us-east-1b' is not in region eu-central-1",
        ):
            load("dev", env_dir)

    def test_task_timeouts_stay_under_the_nat_idle_timeout(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", "timeout_seconds = 60", "timeout_seconds = 840")
        with pytest.raises(
            SettingsError,
            match=r"dev\.toml:29: functions\.timeout_seconds: 840 is above 300 s: the worker waits for a "
            r"task synchronously through NAT or an interface endpoint, which drop a connection idle for "
            r"350 s",
        ):
            load("dev", env_dir)
        spoil(env_dir, "dev", "timeout_seconds = 840", "timeout_seconds = 300")
        assert load("dev", env_dir).functions.timeout_seconds == 300

    def test_reservations_must_leave_100_of_the_declared_quota_unreserved(self, env_dir: Path) -> None:
        # A new account: quota 10, and the old dev reservations (worker 20, orchestrator 5, reaper 1).
        spoil(env_dir, "dev", "lambda_concurrency_quota = 1000", "lambda_concurrency_quota = 10")
        spoil(
            env_dir,
            "dev",
            "\n[api]",
            "[functions.reserved_concurrency]\nworker = 20\norchestrator = 5\nreaper = 1\n\n[api]",
        )
        line = line_of(env_dir, "dev", "worker = 20") - 1  # the table's header
        with pytest.raises(
            SettingsError,
            match=rf"dev\.toml:{line}: functions\.reserved_concurrency: reserves 26 concurrent executions, "
            r"but Lambda keeps 100 of account\.lambda_concurrency_quota \(10\) unreserved: at most 0",
        ):
            load("dev", env_dir)
        spoil(env_dir, "dev", "lambda_concurrency_quota = 10", "lambda_concurrency_quota = 126")
        assert load("dev", env_dir).functions.reserved_concurrency.total() == 26

    def test_reservations_of_the_environments_in_one_account_count_together(self, env_dir: Path) -> None:
        # staging (61) and prod (221) each fit a quota of 350 (at most 250 reserved); together (282) not.
        for name in ("staging", "prod"):
            spoil(env_dir, name, "lambda_concurrency_quota = 1000", "lambda_concurrency_quota = 350")
        environments = [load(name, env_dir) for name in ENVIRONMENT_NAMES]
        line = line_of(env_dir, "staging", "[functions.reserved_concurrency]")
        with pytest.raises(
            SettingsError,
            match=rf"staging\.toml:{line}: functions\.reserved_concurrency: the environments of account "
            r"123456789012 in eu-central-1 reserve 282 concurrent executions together \(dev 0, staging 61, "
            r"prod 221\), but Lambda keeps 100 of account\.lambda_concurrency_quota \(350\) unreserved: "
            r"at most 250",
        ):
            check_account_reservations(environments, env_dir)
        check_account_reservations([e for e in environments if e.name != "staging"], env_dir)
        # The committed settings (quota 1000) fit together.
        check_account_reservations([load(name) for name in ENVIRONMENT_NAMES])

    def test_a_name_prefix_whose_longest_name_does_not_fit_is_refused_naming_it(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", 'name_prefix = "orchestra-dev"', 'name_prefix = "orchestra-development-envir"')
        with pytest.raises(
            SettingsError,
            match=r"dev\.toml:5: name_prefix: 'orchestra-development-envir' is 2 character\(s\) too long: "
            r"the "
            r"s3 bucket name 'orchestra-development-envir-access-logs-123456789012-eu-central-1' has 65 "
            r"characters, AWS allows 63",
        ):
            load("dev", env_dir)

    def test_the_state_key_is_an_arn_of_the_bootstraps_account_and_region(self, env_dir: Path) -> None:
        spoil(env_dir, "bootstrap", ":123456789012:key/", ":210987654321:key/")
        with pytest.raises(
            SettingsError,
            match=r"bootstrap\.toml:9: state_kms_key_arn: must be a key of account 123456789012",
        ):
            load_bootstrap(env_dir)

    def test_the_placeholder_key_follows_the_account_until_the_first_apply(self, env_dir: Path) -> None:
        # README, Deploying, step 1: only account_id changed, the placeholder ARN still names the old one.
        spoil(env_dir, "bootstrap", 'account_id = "123456789012"', 'account_id = "111122223333"')
        with pytest.raises(
            SettingsError,
            match=r"bootstrap\.toml:9: state_kms_key_arn: must be a key of account 111122223333 in "
            r"eu-central-1 \(got 123456789012 in eu-central-1\); before the bootstrap stack's first apply, "
            r"keep the placeholder key id with your account and region \(arn:aws:kms:eu-central-1:"
            r"111122223333:key/00000000-0000-4000-8000-000000000000\)",
        ):
            load_bootstrap(env_dir)

    def test_replacing_the_account_id_everywhere_loads_every_stack(self, env_dir: Path) -> None:
        # What step 1 asks: the account id replaced in all four files (state_bucket and the
        # placeholder key ARN included).
        for path in env_dir.glob("*.toml"):
            path.write_text(path.read_text().replace("123456789012", "111122223333"))
        bootstrap = load_bootstrap(env_dir)
        assert bootstrap.state_kms_key_arn.startswith("arn:aws:kms:eu-central-1:111122223333:key/")
        environments = [load(name, env_dir) for name in ENVIRONMENT_NAMES]
        for settings in environments:
            check_against_bootstrap(settings, bootstrap, env_dir)
        check_account_reservations(environments, env_dir)

    def test_a_state_bucket_whose_access_log_bucket_does_not_fit_is_refused(self, env_dir: Path) -> None:
        long_name = "orchestra-terraform-states-123456789012-eu-central-1"  # 52: its log bucket has 64
        spoil(env_dir, "bootstrap", 'state_bucket = "orchestra-tfstate-', f'state_bucket = "{long_name}" #')
        line = line_of(env_dir, "bootstrap", "state_bucket = ")
        with pytest.raises(
            SettingsError,
            match=rf"bootstrap\.toml:{line}: state_bucket: '{long_name}' is 1 character\(s\) too long: the "
            rf"s3 bucket name '{long_name}-access-logs' has 64 characters, AWS allows 63",
        ):
            load_bootstrap(env_dir)

    def test_an_alias_is_not_a_key_arn(self, env_dir: Path) -> None:
        spoil(env_dir, "bootstrap", "key/00000000-0000-4000-8000-000000000000", "alias/orchestra-tfstate")
        with pytest.raises(
            SettingsError, match=r"bootstrap\.toml:9: state_kms_key_arn: String should match pattern"
        ):
            load_bootstrap(env_dir)

    def test_an_environment_in_another_region_than_the_registry_is_refused(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", 'region = "eu-central-1"', 'region = "eu-west-1"')
        spoil(env_dir, "dev", '["eu-central-1a", "eu-central-1b"]', '["eu-west-1a", "eu-west-1b"]')
        with pytest.raises(
            SettingsError, match=r"dev\.toml:4: region: must equal bootstrap\.toml's region 'eu-central-1'"
        ):
            check_against_bootstrap(load("dev", env_dir), load_bootstrap(env_dir), env_dir)

    def test_name_must_match_file(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", 'name = "dev"', 'name = "staging"')
        with pytest.raises(SettingsError, match=r"dev\.toml:2: name: must equal the file name 'dev'"):
            load("dev", env_dir)

    def test_existing_network_needs_its_ids(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", 'mode = "create"', 'mode = "existing"')
        with pytest.raises(SettingsError) as raised:
            load("dev", env_dir)
        message = str(raised.value)
        assert "network.vpc_id: required key is missing" in message
        assert "network.nat: unknown key" in message

    def test_invalid_toml_names_the_file(self, env_dir: Path) -> None:
        spoil(env_dir, "dev", 'name = "dev"', "name = ")
        with pytest.raises(SettingsError, match=r"dev\.toml: not valid TOML"):
            load("dev", env_dir)

    def test_missing_file(self, env_dir: Path) -> None:
        with pytest.raises(SettingsError, match=r"qa\.toml: no such settings file"):
            load("qa", env_dir)

    def test_bootstrap_bucket_name_is_checked(self, env_dir: Path) -> None:
        spoil(env_dir, "bootstrap", 'state_bucket = "', 'state_bucket = "Bad_')
        with pytest.raises(SettingsError, match=r"bootstrap\.toml:\d+: state_bucket: "):
            load_bootstrap(env_dir)


def replace_auth(env_dir: Path, name: str, section: str) -> None:
    """Replace the [auth] section (and its sub-tables) of an environment with `section`."""
    path = env_dir / f"{name}.toml"
    text = path.read_text()
    path.write_text(text[: text.index("[auth]")] + section)


class TestAuthSettings:
    def test_prod_refuses_no_sign_in(self, env_dir: Path) -> None:
        replace_auth(env_dir, "prod", '[auth]\nmode = "none"\n')
        with pytest.raises(SettingsError, match=r"prod\.toml:\d+: auth\.mode: 'none' is refused for prod"):
            load("prod", env_dir)

    def test_dev_may_run_without_sign_in(self, env_dir: Path) -> None:
        replace_auth(env_dir, "dev", '[auth]\nmode = "none"\n')
        assert load("dev", env_dir).auth_enabled is False

    @pytest.mark.parametrize(
        ("old", "new", "key", "says"),
        [
            (
                'domain_prefix = "orchestra-dev-123456789012"',
                'domain_prefix = "orchestra-aws-dev"',
                "auth.domain_prefix",
                "containing 'aws'",
            ),
            (
                'domain_prefix = "orchestra-dev-123456789012"',
                'domain_prefix = "Orchestra_Dev"',
                "auth.domain_prefix",
                "pattern",
            ),
            ('threat_protection = "off"', 'threat_protection = "enforced"', "auth.threat_protection", "plus"),
            ("access_token_minutes = 60", "access_token_minutes = 2", "auth.access_token_minutes", "5"),
            ('group = "viewers"', 'group = "admins"', "auth.local_users.viewer.group", "operators"),
        ],
    )
    def test_what_cognito_refuses_is_refused_at_load(
        self, env_dir: Path, old: str, new: str, key: str, says: str
    ) -> None:
        spoil(env_dir, "dev", old, new)
        with pytest.raises(SettingsError) as raised:
            load("dev", env_dir)
        assert f"{key}: " in str(raised.value)
        assert says in str(raised.value)
        assert "dev.toml:" in str(raised.value)

    def test_prod_declares_no_local_users(self, env_dir: Path) -> None:
        path = env_dir / "prod.toml"
        path.write_text(
            path.read_text()
            + '\n[auth.local_users.operator]\nusername = "op@example.com"\ngroup = "operators"\n'
        )
        with pytest.raises(SettingsError, match=r"auth\.local_users: prod declares no local users"):
            load("prod", env_dir)

    def test_an_existing_pool_needs_its_id_and_domain(self, env_dir: Path) -> None:
        replace_auth(
            env_dir,
            "staging",
            '[auth]\nmode = "existing"\nuser_pool_id = "eu-central-1_AbC123"\n'
            'domain = "https://login.example.com"\n',
        )
        assert load("staging", env_dir).auth_enabled
        replace_auth(env_dir, "staging", '[auth]\nmode = "existing"\nuser_pool_id = "us-east-1_AbC123"\n')
        with pytest.raises(SettingsError) as raised:
            load("staging", env_dir)
        assert "auth.domain: required key is missing" in str(raised.value)

    def test_two_environments_cannot_share_an_existing_pool(self, env_dir: Path) -> None:
        existing = (
            '[auth]\nmode = "existing"\nuser_pool_id = "eu-central-1_Platform1"\n'
            'domain = "https://login.example.com"\n'
        )
        for name in ("dev", "staging"):
            replace_auth(env_dir, name, existing)
        dev, staging = load("dev", env_dir), load("staging", env_dir)
        check_shared_pools([dev], env_dir)  # one environment per pool is fine
        with pytest.raises(SettingsError) as raised:
            check_shared_pools([dev, staging], env_dir)
        line = line_of(env_dir, "staging", "user_pool_id")
        assert f"staging.toml:{line}: auth.user_pool_id: eu-central-1_Platform1 is dev's pool too" in str(
            raised.value
        )
        assert "resource server 'orchestra'" in str(raised.value)


class TestExternalTasks:
    """[external_tasks.<id>] arn: a Lambda function ARN as Invoke takes it, checked on load."""

    @staticmethod
    def declare(env_dir: Path, arn: str) -> None:
        with (env_dir / "dev.toml").open("a") as file:
            file.write(f'\n[external_tasks.billing]\narn = "{arn}"\ntimeout_seconds = 40\n')

    @pytest.mark.parametrize(
        "arn",
        [
            "arn:aws:lambda:eu-central-1:210987654321:function:billing",
            "arn:aws:lambda:eu-central-1:210987654321:function:billing:live",
            "arn:aws:lambda:eu-central-1:210987654321:function:billing:7",
            "arn:aws:lambda:eu-central-1:210987654321:function:billing:$LATEST",
        ],
        ids=["unqualified", "alias", "version", "latest"],
    )
    def test_qualified_and_unqualified_arns_load_as_written(self, env_dir: Path, arn: str) -> None:
        self.declare(env_dir, arn)
        assert load("dev", env_dir).external_tasks["billing"].arn == arn

    @pytest.mark.parametrize(
        ("arn", "says"),
        [
            ("billing", "a function name or partial ARN: the worker's IAM policy needs the full ARN"),
            ("arn:aws:lambda:eu-central-1:210987654321:billing", "not a Lambda function ARN"),
            ("arn:aws:lambda:eu-central-1:210987654321:function:billing:live:1", "too many ':' parts"),
            ("arn:aws:lambda:eu-central-1:21098765432:function:billing", "'21098765432' is not a 12-digit"),
            ("arn:aws:lambda:eu-central-1:210987654321:function:" + "b" * 65, "1-64 letters"),
            ("arn:aws:lambda:eu-central-1:210987654321:function:billing:v.2", "qualifier 'v.2': $LATEST, a"),
        ],
    )
    def test_a_bad_arn_names_file_line_and_key_and_the_form(self, env_dir: Path, arn: str, says: str) -> None:
        self.declare(env_dir, arn)
        with pytest.raises(SettingsError) as raised:
            load("dev", env_dir)
        line = line_of(env_dir, "dev", "arn = ")
        assert f"dev.toml:{line}: external_tasks.billing.arn: " in str(raised.value)
        assert says in str(raised.value)
        assert "the form is arn:aws:lambda:<region>:<account id>:function:<name>[:<version or alias>]" in str(
            raised.value
        )

    def test_another_partition_is_refused(self, env_dir: Path) -> None:
        self.declare(env_dir, "arn:aws-cn:lambda:eu-central-1:210987654321:function:billing")
        with pytest.raises(
            SettingsError,
            match=r"dev\.toml:\d+: external_tasks\.billing\.arn: partition 'aws-cn': region eu-central-1 "
            r"is in partition 'aws'",
        ):
            load("dev", env_dir)

    def test_another_region_is_refused_with_lambdas_answer(self, env_dir: Path) -> None:
        self.declare(env_dir, "arn:aws:lambda:us-east-1:210987654321:function:billing")
        with pytest.raises(
            SettingsError,
            match=r"dev\.toml:\d+: external_tasks\.billing\.arn: the function is in us-east-1, the "
            r"environment in eu-central-1",
        ):
            load("dev", env_dir)
