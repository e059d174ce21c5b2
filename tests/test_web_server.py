"""The web process's settings (config/web.py): granian reads them, the operator overrides them."""

from granian.cli import cli

from config import web


def granian_env_vars() -> set[str]:
    """Every environment variable granian reads: GRANIAN_ + each option's name."""
    return {f"GRANIAN_{param.name.upper()}" for param in cli.params if param.name}


def test_every_default_is_a_variable_granian_reads():
    # A misspelt name would be ignored without a word, leaving granian's own default.
    assert set(web.DEFAULTS) <= granian_env_vars()


def test_the_operators_environment_wins_over_the_defaults():
    env = web.environ({"GRANIAN_WORKERS": "4", "PATH": "/usr/bin"})

    assert env["GRANIAN_WORKERS"] == "4"
    assert env["GRANIAN_BLOCKING_THREADS"] == web.DEFAULTS["GRANIAN_BLOCKING_THREADS"]
    assert env["PATH"] == "/usr/bin"


def test_the_web_process_is_started_through_this_module_on_the_given_address():
    command = web.command("0.0.0.0", 8000, "--workers", "1")

    assert command[1:] == [
        "-m",
        "config.web",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--workers",
        "1",
    ]


def test_the_command_serves_djangos_wsgi_application_with_the_given_arguments():
    argv = web.granian_argv("--host", "0.0.0.0", "--port", "8000")

    assert argv[1:3] == ["-m", "granian"]
    assert argv[3:-1] == ["--host", "0.0.0.0", "--port", "8000"]
    assert argv[-1] == "config.wsgi:application"
